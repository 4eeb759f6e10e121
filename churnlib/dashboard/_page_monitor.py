"""Monitor page: a monitor store's report; optionally a simulated production run."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from churnlib._urls import redact_url
from churnlib.dashboard import _ui
from churnlib.dashboard._data import (
    alerts_frame,
    drift_matrix,
    performance_frame,
    quality_frame,
)

_GENERATED = "Fresh generated customers (for generated data)"
_TABLE = "A table (path or URL)"
_SESSION = "The held-out rows of the model trained in this session"
SCENARIOS = ("covariate_shift", "concept_drift", "prior_shift", "none")


def _churn_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    try:
        from churnlib._core.model_facts import churn_proba
    except ImportError:  # pragma: no cover - before the shared core landed
        return np.asarray(model.predict_proba(X)[:, 1], dtype=float)
    return np.asarray(churn_proba(model, X), dtype=float)


def _parts(url: str) -> int:
    """Count the files of the log (a new batch means a new report)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url, **(_ui.storage_options() or {}))
    n = 0
    for kind in ("predictions", "outcomes"):
        try:
            n += len(fs.ls(f"{root.rstrip('/')}/{kind}", detail=False))
        except FileNotFoundError:
            continue
    return n


@st.cache_data(show_spinner="Generating reference customers...", max_entries=4)
def _generated_reference(n: int, seed: int) -> pd.DataFrame:
    from churnlib.data import generate_customers

    return generate_customers(n, random_state=seed)


def _reference(source: str, url: str, target: str) -> tuple[pd.DataFrame, str]:
    """Return the reference frame (features, target, ids) and a key naming it."""
    model = _ui.current_model()
    if source == _SESSION and model is not None and model.holdout is not None:
        X, y, _ = model.holdout
        frame = X.reset_index() if X.index.name else X.reset_index(drop=True)
        frame = frame.assign(**{target: np.asarray(y)})
        return frame, f"holdout:{model.key}"
    if source == _GENERATED:
        return _generated_reference(5_000, 12_345), "generated:5000:12345"
    data, name = _ui.file_bytes(url)
    frame = _ui.read_raw(data, name)
    return frame.drop(columns=[_ui.TRUTH_COLUMN], errors="ignore"), f"table:{url}"


def make_monitor(
    reference: pd.DataFrame,
    model: _ui.ModelState,
    *,
    target: str,
    store: str | None,
) -> Any:
    """Build a ChurnMonitor on ``store`` that delivers nothing (the page shows)."""
    from churnlib.exceptions import DataValidationError
    from churnlib.monitoring import ChurnMonitor

    if target not in reference.columns:
        raise DataValidationError(
            f"The reference table has no target column {target!r} (columns: "
            f"{', '.join(map(str, reference.columns[:12]))}). Type the label "
            "column's name.",
            columns=[target],
        )
    kwargs: dict[str, Any] = {
        "model": model.model,
        "target": target,
        "store": store,
        "storage_options": _ui.storage_options(),
        "sinks": (),
        "threshold": model.threshold,
    }
    accepted = inspect.signature(ChurnMonitor).parameters
    return ChurnMonitor(reference, **{k: v for k, v in kwargs.items() if k in accepted})


def _report_now(monitor: Any, freq: str) -> Any:
    params = inspect.signature(monitor.report).parameters
    kwargs: dict[str, Any] = {"freq": freq}
    if "send_alerts" in params:
        kwargs["send_alerts"] = False
    return monitor.report(**kwargs)


@st.cache_resource(show_spinner="Reading the monitor log...", max_entries=8)
def _cached_report(
    monitor_url: str,
    model_key: str,
    reference_key: str,
    target: str,
    freq: str,
    n_parts: int,
    _model: Any,
    _reference: pd.DataFrame,
) -> Any:
    monitor = make_monitor(_reference, _model, target=target, store=monitor_url)
    return _report_now(monitor, freq)


def _performance(report: Any) -> None:
    metrics = (
        sorted(report.performance["metric"].unique()) if len(report.performance) else []
    )
    if not metrics:
        st.info("No performance rows yet.")
        return
    metric = st.selectbox(
        "Metric",
        metrics,
        index=metrics.index("roc_auc") if "roc_auc" in metrics else 0,
        key="monitor.metric",
    )
    rows = performance_frame(report, metric)
    fig = go.Figure()
    colors = {"realized": "#1f77b4", "estimated": "#ff7f0e", "observed": "#2ca02c"}
    for kind in ("realized", "estimated", "observed"):
        part = rows[rows["kind"] == kind]
        if part.empty:
            continue
        if part["lower"].notna().any():
            fig.add_scatter(
                x=list(part["label"]) + list(part["label"])[::-1],
                y=list(part["upper"]) + list(part["lower"])[::-1],
                fill="toself",
                mode="lines",
                line={"width": 0},
                fillcolor=colors[kind],
                opacity=0.15,
                name=f"reference band ({kind})",
                hoverinfo="skip",
            )
        fig.add_scatter(
            x=part["label"],
            y=part["value"],
            mode="lines+markers",
            name=kind,
            line={
                "color": colors[kind],
                "dash": "dash" if kind == "estimated" else "solid",
            },
        )
    reference = rows["reference"].dropna()
    if len(reference):
        fig.add_hline(
            y=float(reference.iloc[0]), line_dash="dot", annotation_text="reference"
        )
    fig.update_layout(title=f"{metric} over time: realized vs estimated")
    st.plotly_chart(fig, key="monitor.performance")


def _drift(report: Any) -> None:
    matrix = drift_matrix(report.drift)
    if matrix.empty:
        st.info("No drift statistics yet.")
        return
    fig = px.imshow(
        matrix.clip(upper=3.0),
        zmin=0.0,
        zmax=3.0,
        color_continuous_scale="RdYlGn_r",
        aspect="auto",
        labels={"color": "statistic / threshold"},
        title="Drift per feature and chunk (above 1: flagged)",
    )
    st.plotly_chart(fig, key="monitor.drift")


def _open_incidents(report: Any) -> pd.DataFrame:
    incidents = getattr(report, "incidents", None)
    if isinstance(incidents, pd.DataFrame) and len(incidents.columns):
        if "closed_at" in incidents.columns:
            return incidents[incidents["closed_at"].isna()].reset_index(drop=True)
        return incidents
    return alerts_frame(report.alerts)


def _show(report: Any, where: str) -> None:
    chunks = report.chunks
    cols = st.columns(4)
    cols[0].metric("Chunks", f"{len(chunks)}")
    cols[1].metric("Predictions", f"{int(chunks['n'].sum()) if len(chunks) else 0:,}")
    labelled = (
        int(chunks["n_labeled"].sum()) if "n_labeled" in chunks and len(chunks) else 0
    )
    cols[2].metric("With outcomes", f"{labelled:,}")
    incidents = _open_incidents(report)
    cols[3].metric("Open alerts", f"{len(incidents)}")
    st.caption(f"Monitor store {where}")
    _performance(report)
    _drift(report)
    left, right = st.columns(2)
    with left:
        st.markdown("**Data quality** (worst chunk)")
        st.dataframe(
            _ui.shown(quality_frame(report)), hide_index=True, key="monitor.quality"
        )
    with right:
        st.markdown("**Open alerts**")
        if incidents.empty:
            st.success("No open alerts.")
        else:
            st.dataframe(_ui.shown(incidents), hide_index=True, key="monitor.alerts")
    with st.expander("In plain words"), _ui.guard("summarize the report"):
        st.text(report.summary())


def _simulate(
    model: _ui.ModelState, reference: pd.DataFrame, target: str, form: dict[str, Any]
) -> str:
    from churnlib.data import simulate_production

    scratch = (
        _ui.paths().workdir
        / "scratch"
        / ("monitor-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f"))
    )
    url = scratch.as_uri()
    n = int(form["batches"])
    with st.status("Simulating production...", expanded=True) as status:
        monitor = make_monitor(reference, model, target=target, store=url)
        bar = st.progress(0.0, text="batch 0")
        labelled = n - min(2, n // 2)
        batches = simulate_production(
            n,
            int(form["batch_size"]),
            scenario=form["scenario"],
            onset=n // 2,
            freq="1D",
            random_state=int(form["seed"]),
        )
        for i, batch in enumerate(batches):
            scores = _churn_proba(model.model, batch.X[list(monitor.features_)])
            monitor.log_predictions(
                batch.X, scores, ids=batch.ids, timestamp=batch.timestamp
            )
            if batch.index < labelled:
                monitor.log_outcomes(batch.ids, batch.y, timestamp=batch.labels_at)
            bar.progress((i + 1) / n, text=f"batch {i + 1} of {n}")
        status.update(label=f"Simulated {n} batches into {url}", state="complete")
    return url


def render() -> None:
    """Draw the Monitor page."""
    st.title("Monitor")
    p = _ui.paths()
    model = _ui.ensure_model()
    if model is None:
        st.info(
            "Select a model first: train one, or publish one to the work "
            "directory's store as 'production' (churnlib demo does)."
        )
        return
    st.caption(f"Model: {model.label}")
    default_url = st.session_state.get("monitor.url.value", p.monitor_url)
    data = _ui.current_data()
    sources = [_TABLE, _GENERATED]
    if model.holdout is not None:
        sources.insert(0, _SESSION)
    if p.reference.exists():
        default_source = _TABLE
    elif model.holdout is not None:
        default_source = _SESSION
    elif (data is not None and data.truth is not None) or p.customers.exists():
        default_source = _GENERATED
    else:
        default_source = _TABLE
    with st.form("monitor.inputs"):
        url = st.text_input("Monitor store", value=default_url)
        cols = st.columns([2, 2, 1, 1])
        source = cols[0].selectbox(
            "Reference (rows the model did not train on)",
            sources,
            index=sources.index(default_source),
        )
        ref_url = cols[1].text_input(
            "Reference table",
            value=str(p.reference if p.reference.exists() else p.customers),
        )
        target = cols[2].text_input(
            "Target",
            value=str(data.schema.target) if data is not None else "churned",
        )
        freq = cols[3].text_input("Chunk", value="1D", help="a pandas frequency")
        submitted = st.form_submit_button("Show the report")
    if submitted:
        st.session_state["monitor.url.value"] = url
    with _ui.guard("read the reference") as ok:
        reference, ref_key = _reference(source, ref_url, target)
    if not ok[0]:
        return
    report = None
    with _ui.guard(f"report on the monitor store {redact_url(url)}") as ok:
        n_parts = _parts(url)
        if n_parts == 0:
            st.info(
                f"The monitor store {redact_url(url)} has no predictions yet. "
                "Run 'churnlib demo', or simulate production below."
            )
        elif _ui.storage_options():
            monitor = make_monitor(reference, model, target=target, store=url)
            report = _report_now(monitor, freq)
        else:
            report = _cached_report(
                url, model.key, ref_key, target, freq, n_parts, model, reference
            )
    if report is not None:
        _show(report, redact_url(url))
    st.subheader("Simulate production")
    with st.form("monitor.simulate"):
        row = st.columns(4)
        scenario = row[0].selectbox("Scenario", SCENARIOS)
        batches = row[1].number_input("Batches", 2, 30, 6)
        size = row[2].number_input("Batch size", 100, 20_000, 500, step=100)
        seed = row[3].number_input("Seed", 0, value=1)
        if st.form_submit_button("Simulate into a scratch store"):
            with _ui.guard("simulate production"):
                scratch = _simulate(
                    model,
                    reference,
                    target,
                    {
                        "scenario": scenario,
                        "batches": batches,
                        "batch_size": size,
                        "seed": seed,
                    },
                )
                st.session_state["monitor.url.value"] = scratch
                st.rerun()
