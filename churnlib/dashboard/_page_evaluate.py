"""Evaluate page: the report card as interactive charts, and the campaign view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from churnlib.dashboard import _ui
from churnlib.dashboard._data import (
    calibration_frame,
    lift_gain_frame,
    pr_frame,
    profit_frame,
    roc_frame,
    thin,
)

_HEADLINE = (
    ("ROC AUC", "roc_auc"),
    ("Average precision", "average_precision"),
    ("Top-decile lift", "top_decile_lift"),
    ("Brier score", "brier"),
    ("F1 at threshold", "f1"),
)


@st.cache_resource(show_spinner="Scoring...", max_entries=8)
def _evaluate(
    model_key: str,
    data_key: str,
    threshold: float,
    label: str,
    _model: Any,
    _X: Any,
    _y: Any,
    _truth: Any,
) -> Any:
    """Run ``evaluate`` once per (model, table, threshold), for every session."""
    from churnlib.evaluation import evaluate

    return evaluate(_model, _X, _y, threshold=threshold, truth=_truth, name=label)


def report() -> tuple[Any, str] | None:
    """Return the EvaluationReport of the selected model (computed once)."""
    model = _ui.ensure_model()
    if model is None:
        st.info(
            "Train a model on the Train page (or publish one to the work "
            "directory's model store as 'production')."
        )
        return None
    if model.holdout is not None:
        X, y, truth = model.holdout
        where = f"the {len(X):,} held-out rows of its training"
        data_key = f"holdout:{model.key}"
    else:
        data = _ui.ensure_data()
        if data is None:
            st.info("Read a table on the Data page to evaluate the model on.")
            return None
        X, y, truth = data.X, data.y, data.truth
        data_key = data.key
        where = (
            f"the Data page's table ({data.source}, {len(X):,} rows; it may "
            "include rows the model was trained on)"
        )
    key = (model.key, data_key, model.threshold)
    cached = st.session_state.get(_ui.REPORT)
    if cached is not None and cached[0] == key:
        return cached[1], where
    with _ui.guard("evaluate the model") as ok:
        result = _evaluate(
            model.key, data_key, model.threshold, model.label, model.model, X, y, truth
        )
    if not ok[0]:
        return None
    st.session_state[_ui.REPORT] = (key, result)
    return result, where


def _roc(rep: Any) -> None:
    """Draw the ROC curve of the report."""
    y, s = rep.y_true, rep.y_score
    roc = thin(roc_frame(y, s))
    fig = px.line(
        roc,
        x="fpr",
        y="tpr",
        hover_data=["threshold"],
        title=f"ROC curve (AUC {rep.metrics['roc_auc']:.3f})",
        labels={"fpr": "false positive rate", "tpr": "true positive rate"},
    )
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot"})
    st.plotly_chart(fig, key="eval.roc")


def _pr(rep: Any) -> None:
    """Draw the precision-recall curve of the report."""
    y, s = rep.y_true, rep.y_score
    pr = thin(pr_frame(y, s))
    fig = px.line(
        pr,
        x="recall",
        y="precision",
        hover_data=["threshold"],
        title=f"Precision-recall (AP {rep.metrics['average_precision']:.3f})",
    )
    fig.add_hline(y=float(np.mean(y)), line_dash="dot", annotation_text="churn rate")
    st.plotly_chart(fig, key="eval.pr")


def _calibration(rep: Any) -> None:
    """Draw the calibration curve of the report."""
    y, s = rep.y_true, rep.y_score
    cal = calibration_frame(y, s)
    fig = px.line(
        cal,
        x="predicted",
        y="observed",
        markers=True,
        hover_data=["n"],
        title=f"Calibration (Brier {rep.metrics['brier']:.3f})",
        labels={"predicted": "mean predicted", "observed": "observed churn rate"},
    )
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot"})
    st.plotly_chart(fig, key="eval.calibration")


def _lift_gain(rep: Any) -> None:
    """Draw the cumulative gain and lift of the report."""
    y, s = rep.y_true, rep.y_score
    lg = thin(lift_gain_frame(y, s))
    left, right = st.columns(2)
    fig = px.line(lg, x="fraction", y="gain", title="Cumulative gain")
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot"})
    fig.update_xaxes(tickformat=".0%", title="customers targeted")
    left.plotly_chart(fig, key="eval.gain")
    fig = px.line(lg[lg["fraction"] > 0], x="fraction", y="lift", title="Lift")
    fig.add_hline(y=1.0, line_dash="dot")
    fig.update_xaxes(tickformat=".0%", title="customers targeted")
    right.plotly_chart(fig, key="eval.lift")


def _importance(rep: Any) -> None:
    """Draw the permutation feature importance of the report."""
    with _ui.guard("compute the feature importance") as ok:
        n_rows = len(rep.y_true)
        importance = rep.feature_importance(
            max_samples=None if n_rows <= 2_000 else 2_000
        )
    if ok[0]:
        top = importance.sort_values("importance_mean").tail(20).reset_index()
        name = top.columns[0]
        fig = px.bar(
            top,
            x="importance_mean",
            y=name,
            error_x="importance_std" if "importance_std" in top else None,
            orientation="h",
            title="Feature importance",
        )
        st.plotly_chart(fig, key="eval.importance")


CURVES: dict[str, Callable[[Any], None]] = {
    "ROC": _roc,
    "Precision-recall": _pr,
    "Calibration": _calibration,
    "Lift & gain": _lift_gain,
    "Importance": _importance,
}


def _curves(rep: Any) -> None:
    # Lazy tabs: only the open tab runs and reaches the browser. Each Plotly
    # chart costs the browser far more than the server (about a second of
    # JavaScript per chart on 2 cores), and the importance tab computes a
    # permutation importance; drawing all five on every page load was most
    # of the Evaluate page's load time.
    tabs = st.tabs(list(CURVES), key="eval.curves", on_change="rerun")
    for tab, draw in zip(tabs, CURVES.values(), strict=True):
        if tab.open:
            with tab:
                draw(rep)


def _campaign(rep: Any) -> None:
    st.subheader("Campaign")
    st.caption(
        "Whom to offer a retention incentive: the profit of contacting the "
        "highest-scored customers first, under your economics."
    )
    cols = st.columns(4)
    value = cols[0].slider(
        "Customer value", 10.0, 2_000.0, 200.0, 10.0, key="camp.value"
    )
    offer = cols[1].slider("Offer cost", 0.0, 200.0, 10.0, 1.0, key="camp.offer")
    contact = cols[2].slider("Contact cost", 0.0, 50.0, 1.0, 0.5, key="camp.contact")
    accept = cols[3].slider("Acceptance rate", 0.0, 1.0, 0.3, 0.01, key="camp.accept")
    with _ui.guard("compute the profit curve") as ok:
        curve, best = profit_frame(
            rep.y_true,
            rep.y_score,
            customer_value=value,
            incentive_cost=offer,
            contact_cost=contact,
            acceptance_rate=accept,
        )
    if not ok[0]:
        return
    out = st.columns(3)
    if np.isfinite(best.threshold) and best.fraction > 0:
        out[0].metric("Recommended cutoff", f"{best.threshold:.3f}")
        out[1].metric("Customers contacted", f"{best.fraction:.1%}")
    else:
        out[0].metric("Recommended cutoff", "none")
        out[1].metric("Customers contacted", "0%")
        st.warning(
            "No campaign is profitable with these economics: contacting anyone "
            "costs more than it saves."
        )
    out[2].metric("Expected profit", f"{best.profit:,.0f}")
    curve = thin(curve)
    fig = go.Figure()
    fig.add_scatter(
        x=curve["fraction"],
        y=curve["profit"],
        mode="lines",
        name="expected profit",
        customdata=curve["threshold"],
        hovertemplate=(
            "contact %{x:.1%}<br>profit %{y:,.0f}<br>cutoff %{customdata:.3f}"
        ),
    )
    fig.add_scatter(
        x=[best.fraction],
        y=[best.profit],
        mode="markers",
        marker={"size": 12, "color": "#d62728"},
        name="recommended",
    )
    fig.update_layout(title="Profit curve", xaxis_title="customers contacted")
    fig.update_xaxes(tickformat=".0%")
    st.plotly_chart(fig, key="eval.profit")


def render() -> None:
    """Draw the Evaluate page."""
    st.title("Evaluate")
    found = report()
    if found is None:
        return
    rep, where = found
    model = _ui.current_model()
    st.caption(f"{model.label if model else rep.name} on {where}.")
    cols = st.columns(len(_HEADLINE))
    for col, (label, key) in zip(cols, _HEADLINE, strict=True):
        col.metric(label, f"{rep.metrics[key]:.3f}")
    if "bayes_optimal_roc_auc" in rep.metrics:
        st.caption(
            f"Best possible ROC AUC on these customers (the true churn "
            f"probabilities): {rep.metrics['bayes_optimal_roc_auc']:.3f}."
        )
    _curves(rep)
    _campaign(rep)
    with st.expander("Every metric"):
        st.dataframe(_ui.shown(rep.to_frame()))
