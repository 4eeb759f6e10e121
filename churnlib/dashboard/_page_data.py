"""Data page: generate or read a churn table, its schema, its distributions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from churnlib.dashboard import _ui
from churnlib.dashboard._data import churn_rate_by, distribution, schema_frame

_AUTO = "(decide automatically)"


def _generate_form() -> None:
    with st.form("generate"):
        cols = st.columns(4)
        n = cols[0].number_input(
            "Customers", min_value=100, max_value=200_000, value=5_000, step=500
        )
        seed = cols[1].number_input("Seed", min_value=0, value=0, step=1)
        balanced = cols[2].checkbox("Balanced (50 % churn)", value=False)
        rate = cols[3].slider(
            "Churn rate (0 = the generator's own, about 26 %)",
            min_value=0.0,
            max_value=0.9,
            value=0.0,
            step=0.01,
        )
        if st.form_submit_button("Generate", type="primary"):
            churn_rate = 0.5 if balanced else (float(rate) or None)
            with _ui.guard("generate customers"):
                frame = _ui.generate(int(n), churn_rate, int(seed))
                state = _ui.read_table(
                    _ui.frame_bytes(frame),
                    f"generated-{int(n)}-{int(seed)}.parquet",
                    source=f"generated: {int(n):,} customers, seed {int(seed)}",
                    target="churned",
                )
                st.session_state[_ui.DATA] = state
                st.success(
                    f"Generated {len(state.X):,} customers, "
                    f"{float(np.mean(state.y)):.1%} churned."
                )


def _read_form() -> None:
    uploaded = st.file_uploader(
        "Upload a churn table (CSV, Excel or Parquet)",
        type=["csv", "txt", "xlsx", "parquet", "pq"],
    )
    if uploaded is not None and st.session_state.get("data.uploaded") != (
        uploaded.file_id
    ):
        with _ui.guard(f"read the uploaded file {uploaded.name!r}"):
            state = _ui.read_table(
                uploaded.getvalue(), uploaded.name, source=f"upload: {uploaded.name}"
            )
            st.session_state[_ui.DATA] = state
            st.session_state["data.uploaded"] = uploaded.file_id
    with st.form("read-url"):
        url = st.text_input(
            "...or read a path or URL (file, s3://, az://, gs://, https://)",
            value=str(_ui.paths().customers) if _ui.paths().customers.exists() else "",
            key="data.url",
        )
        if st.form_submit_button("Read"):
            with _ui.guard(f"read {url!r}"):
                data, name = _ui.file_bytes(url)
                st.session_state[_ui.DATA] = _ui.read_table(data, name, source=name)


def _label_options(values: pd.Series) -> dict[str, Any]:
    uniques = [v.item() if hasattr(v, "item") else v for v in values.dropna().unique()]
    return {_AUTO: None, **{repr(v): v for v in uniques[:20]}}


def _schema_editor(state: _ui.DataState) -> None:
    raw = state.raw
    columns = [str(c) for c in raw.columns]
    with st.form("schema"):
        st.markdown(
            "**Schema** -- change the target, its churn value or the ids, then re-read."
        )
        cols = st.columns(3)
        target = cols[0].selectbox(
            "Target (churn label)",
            columns,
            index=columns.index(str(state.schema.target))
            if str(state.schema.target) in columns
            else 0,
        )
        labels = _label_options(
            raw[target] if target in raw.columns else raw.iloc[:, 0]
        )
        keys = list(labels)
        current = state.options.get("positive")
        positive = cols[1].selectbox(
            "Value meaning churn",
            keys,
            index=keys.index(repr(current)) if repr(current) in keys else 0,
        )
        ids = cols[2].multiselect(
            "Identifier columns (empty: detect)",
            [c for c in columns if c != target],
            default=[c for c in state.options.get("id_columns") or [] if c in columns],
        )
        if st.form_submit_button("Re-read with this schema"):
            with _ui.guard("read the table with this schema"):
                new = _ui.read_table(
                    state.blob,
                    state.name,
                    source=state.source,
                    target=target,
                    positive=labels[positive],
                    id_columns=list(ids) or None,
                )
                st.session_state[_ui.DATA] = new
                st.rerun()
    roles = schema_frame(state.schema, raw.columns)
    if state.truth is not None:
        truth = roles["column"] == _ui.TRUTH_COLUMN
        roles.loc[truth, "role"] = "truth"
        roles.loc[truth, "note"] = (
            "the generator's true churn probability: kept for the report card "
            "(best possible ROC AUC), never a feature"
        )
    st.dataframe(_ui.shown(roles), hide_index=True)


def _charts(state: _ui.DataState) -> None:
    X, y = state.X, state.y
    features = [c for c in X.columns if not pd.api.types.is_datetime64_any_dtype(X[c])]
    if not features:
        st.info("The table has no feature columns to chart.")
        return
    default = features.index("tenure_months") if "tenure_months" in features else 0
    feature = st.selectbox("Feature", features, index=default, key="data.feature")
    rates = churn_rate_by(X, y, feature)
    left, right = st.columns(2)
    counts = distribution(X, y, feature)
    fig = px.bar(
        counts,
        x="value",
        y="n",
        color="churned",
        barmode="overlay",
        opacity=0.75,
        title=f"Distribution of {feature}",
        labels={"value": feature, "n": "customers"},
        color_discrete_map={True: "#d62728", False: "#1f77b4"},
    )
    if "width" in counts:
        fig.update_traces(width=float(counts["width"].iloc[0]))
    left.plotly_chart(fig, key="data.histogram")
    fig = px.bar(
        rates,
        x="value",
        y="churn_rate",
        hover_data=["n", "churners"],
        title=f"Churn rate by {feature}",
        labels={"value": feature, "churn_rate": "churn rate"},
    )
    fig.add_hline(y=float(np.mean(y)), line_dash="dot", annotation_text="overall")
    fig.update_yaxes(tickformat=".0%")
    right.plotly_chart(fig, key="data.churn_rate")


def render() -> None:
    """Draw the Data page."""
    st.title("Data")
    tab_generate, tab_read = st.tabs(["Generate customers", "Upload or read a table"])
    with tab_generate:
        _generate_form()
    with tab_read:
        _read_form()
    state = _ui.ensure_data()
    if state is None:
        st.info("Generate customers or read a table to start.")
        return
    st.subheader(state.source)
    cols = st.columns(5)
    cols[0].metric("Rows", f"{len(state.X):,}")
    cols[1].metric("Features", f"{state.X.shape[1]}")
    cols[2].metric("Churn rate", f"{float(np.mean(state.y)):.1%}")
    cols[3].metric("Target", f"{state.schema.target}")
    positive = state.schema.positive
    positive = positive.item() if hasattr(positive, "item") else positive
    cols[4].metric("Churn value", f"{positive!r}")
    _schema_editor(state)
    with st.expander("First rows"):
        st.dataframe(_ui.shown(state.raw.head(20)))
    _charts(state)
