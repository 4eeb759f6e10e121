"""``MonitorReport``: per-chunk frames, alerts, plots and a shareable HTML page."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnlib.monitoring._alerts import DRIFT_METRICS, QUALITY_METRICS, Alert, AlertRule
from churnlib.monitoring._performance import HIGHER_IS_BETTER, SCORE_EDGES

__all__ = ["MonitorReport", "evaluate_rules"]


def _check_matplotlib(caller: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{caller} requires matplotlib. Install it with "
            '`pip install "churnlib[plot]"`.'
        ) from err


@dataclass(frozen=True, eq=False, kw_only=True)
class MonitorReport:
    """What :meth:`ChurnMonitor.report` found, chunk by chunk.

    Attributes
    ----------
    chunks : DataFrame
        ``chunk``, ``start``, ``end`` (first and last prediction time, UTC),
        ``n`` (predictions) and ``n_labeled`` (with a known outcome).
    drift : DataFrame
        ``chunk``, ``feature``, ``method``, ``statistic``, ``threshold``,
        ``drifted``: one row per chunk, feature (and ``model_score``) and
        statistic, from :class:`DriftDetector`.
    performance : DataFrame
        ``chunk``, ``metric``, ``kind``, ``value``, ``reference``, ``lower``,
        ``upper``, ``n``, ``outside_band``. ``kind`` is ``"realized"`` (from
        the ``n`` labelled rows), ``"estimated"`` (label-free, confidence-based,
        over all rows) or ``"observed"`` (``predicted_rate``, ``mean_score``).
        ``lower``/``upper`` is the reference value +- 3 standard deviations of
        the metric on reference resamples of the chunk's size.
    data_quality : DataFrame
        ``chunk``, ``feature``, ``missing_rate``, ``reference_missing_rate``,
        ``unseen_rate`` (categorical: share of values never seen in the
        reference), ``out_of_range_rate`` (numeric: share outside the
        reference min-max), ``n``.
    alerts : tuple of Alert
        Alerts that started in these chunks (an alert that stays active is
        listed once, at its start).
    score_histograms : ndarray of shape (n_chunks, 1000)
        Counts of scores per 0.001-wide bin, per chunk.
    reference_score_histogram : ndarray of shape (1000,)
        The same for the reference scores.
    reference_metrics : dict of str to float
        Reference performance.
    unmatched_outcomes : int
        Logged outcomes whose id matches no logged prediction.
    freq, chunk_size : str or int or None
        How the log was chunked.
    """

    chunks: pd.DataFrame
    drift: pd.DataFrame
    performance: pd.DataFrame
    data_quality: pd.DataFrame
    alerts: tuple[Alert, ...]
    score_histograms: np.ndarray
    reference_score_histogram: np.ndarray
    reference_metrics: Mapping[str, float] = field(default_factory=dict)
    unmatched_outcomes: int = 0
    freq: str | None = None
    chunk_size: int | None = None

    def __repr__(self) -> str:
        flagged = int(self.drift["drifted"].sum()) if len(self.drift) else 0
        return (
            f"MonitorReport(chunks={len(self.chunks)}, "
            f"rows={int(self.chunks['n'].sum())}, "
            f"drifted_cells={flagged}, alerts={len(self.alerts)})"
        )

    def drifted_features(self) -> pd.DataFrame:
        """Chunks x features table: True where any statistic flagged drift."""
        if not len(self.drift):
            return pd.DataFrame()
        return self.drift.pivot_table(
            index="feature",
            columns="chunk",
            values="drifted",
            aggfunc="any",
            sort=False,
        ).astype(bool)

    def score_quantiles(
        self, q: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)
    ) -> pd.DataFrame:
        """Quantiles of the score per chunk (from the 0.001-wide histograms)."""
        centers = 0.5 * (SCORE_EDGES[:-1] + SCORE_EDGES[1:])
        cdf = np.cumsum(self.score_histograms, axis=1).astype(float)
        total = np.maximum(cdf[:, -1:], 1.0)
        out = {}
        for level in q:
            idx = (cdf / total < level).sum(axis=1)
            out[level] = centers[np.minimum(idx, len(centers) - 1)]
        return pd.DataFrame(out, index=self.chunks["chunk"].to_numpy())

    # ------------------------------------------------------------------ #
    # plots
    # ------------------------------------------------------------------ #
    def _x(self) -> tuple[np.ndarray, list[str]]:
        labels = [_label(c) for c in self.chunks["chunk"]]
        return np.arange(len(labels)), labels

    def plot_performance(self, metric: str = "roc_auc", *, ax: Any = None) -> Any:
        """Plot a metric over chunks with the reference and its sampling band.

        Realized values (solid) and label-free estimates (dashed).

        Parameters
        ----------
        metric : str, default="roc_auc"
            One of ``roc_auc``, ``accuracy``, ``precision``, ``recall``,
            ``f1``, ``brier``, ``churn_rate``, ``predicted_rate``,
            ``mean_score``.
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        matplotlib.axes.Axes
        """
        _check_matplotlib("MonitorReport.plot_performance")
        ax = _axes(ax)
        x, labels = self._x()
        pos = {c: i for i, c in enumerate(self.chunks["chunk"])}
        rows = self.performance[self.performance["metric"] == metric]
        if rows.empty:
            raise ValueError(
                f"No performance rows for metric {metric!r}; choose among "
                f"{sorted(self.performance['metric'].unique())}."
            )
        for kind, style in (
            ("realized", "-o"),
            ("estimated", "--s"),
            ("observed", "-o"),
        ):
            part = rows[rows["kind"] == kind]
            if part.empty:
                continue
            xs = part["chunk"].map(pos).to_numpy()
            ax.plot(xs, part["value"].to_numpy(), style, label=kind, markersize=4)
            if part["lower"].notna().any():
                ax.fill_between(
                    xs,
                    part["lower"].to_numpy(dtype=float),
                    part["upper"].to_numpy(dtype=float),
                    alpha=0.12,
                    label=f"reference band ({kind})",
                )
        ref = rows["reference"].dropna()
        if len(ref):
            ax.axhline(
                float(ref.iloc[0]), color="grey", lw=1, ls=":", label="reference"
            )
        ax.set_xticks(x, labels, rotation=45, ha="right")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} over time")
        ax.legend(fontsize="small")
        return ax

    def plot_score_distribution(self, *, ax: Any = None) -> Any:
        """Plot score quantiles (5-95 %, 25-75 %, median) per chunk.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        matplotlib.axes.Axes
        """
        _check_matplotlib("MonitorReport.plot_score_distribution")
        ax = _axes(ax)
        x, labels = self._x()
        q = self.score_quantiles()
        if len(q):
            ax.fill_between(x, q[0.05], q[0.95], alpha=0.2, label="5-95 %")
            ax.fill_between(x, q[0.25], q[0.75], alpha=0.35, label="25-75 %")
            ax.plot(x, q[0.5], "-o", markersize=4, label="median")
        ref = self.reference_score_histogram
        if ref.sum():
            cdf = np.cumsum(ref) / ref.sum()
            median = SCORE_EDGES[min(int((cdf < 0.5).sum()), len(ref) - 1)]
            ax.axhline(median, color="grey", ls=":", lw=1, label="reference median")
        ax.set_xticks(x, labels, rotation=45, ha="right")
        ax.set_ylabel("score")
        ax.set_title("Score distribution over time")
        ax.legend(fontsize="small")
        return ax

    def plot_drift(self, *, ax: Any = None) -> Any:
        """Heatmap of drift (statistic / threshold, max over methods).

        Features on rows, chunks on columns; cells above 1 were flagged and
        are marked with a dot.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        matplotlib.axes.Axes
        """
        _check_matplotlib("MonitorReport.plot_drift")
        ax = _axes(ax)
        ratio = drift_ratio(self.drift)
        if ratio.empty:
            ax.set_title("Drift (no data)")
            return ax
        values = ratio.to_numpy(dtype=float)
        im = ax.imshow(
            np.clip(values, 0, 3), aspect="auto", cmap="RdYlGn_r", vmin=0, vmax=3
        )
        ys, xs = np.nonzero(values > 1)
        ax.scatter(xs, ys, s=8, c="black", marker="o")
        ax.set_yticks(np.arange(len(ratio.index)), ratio.index)
        ax.set_xticks(
            np.arange(len(ratio.columns)),
            [_label(c) for c in ratio.columns],
            rotation=45,
            ha="right",
        )
        ax.figure.colorbar(im, ax=ax, label="statistic / threshold (clipped at 3)")
        ax.set_title("Drift per feature and chunk")
        return ax

    # ------------------------------------------------------------------ #
    # html
    # ------------------------------------------------------------------ #
    def to_html(self) -> str:
        """Render a self-contained HTML page (figures embedded as PNG)."""
        _check_matplotlib("MonitorReport.to_html")
        from matplotlib.figure import Figure

        images = []
        metrics = (
            ["roc_auc", "f1"] if (self.performance["metric"] == "roc_auc").any() else []
        )
        for name, draw in (
            *((m, lambda ax, m=m: self.plot_performance(m, ax=ax)) for m in metrics),
            ("scores", lambda ax: self.plot_score_distribution(ax=ax)),
            ("drift", lambda ax: self.plot_drift(ax=ax)),
        ):
            fig = Figure(figsize=(9, 4.5 if name != "drift" else 6), layout="tight")
            draw(fig.add_subplot())
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            images.append(
                f'<figure><img alt="{html.escape(name)}" '
                f'src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
                "</figure>"
            )
        alerts = (
            "<ul>"
            + "".join(f"<li>{html.escape(str(a))}</li>" for a in self.alerts)
            + "</ul>"
            if self.alerts
            else "<p>No alerts.</p>"
        )
        perf = self.performance[self.performance["kind"] != "observed"].pivot_table(
            index="chunk", columns=["kind", "metric"], values="value", sort=False
        )
        flagged = self.drift[self.drift["drifted"]]
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            "<title>churnlib monitoring report</title><style>",
            "body{font-family:sans-serif;margin:2em;max-width:1100px}",
            "table{border-collapse:collapse;font-size:12px}",
            "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}",
            "</style></head><body>",
            "<h1>Monitoring report</h1>",
            f"<p>{len(self.chunks)} chunks, {int(self.chunks['n'].sum())} predictions, "
            f"{int(self.chunks['n_labeled'].sum())} with outcomes, "
            f"{self.unmatched_outcomes} outcomes without a prediction.</p>",
            "<h2>Alerts</h2>",
            alerts,
            "<h2>Figures</h2>",
            *images,
            "<h2>Chunks</h2>",
            self.chunks.to_html(index=False),
            "<h2>Performance</h2>",
            perf.to_html(float_format=lambda v: f"{v:.4f}"),
            "<h2>Flagged drift</h2>",
            flagged.to_html(index=False, float_format=lambda v: f"{v:.4f}")
            if len(flagged)
            else "<p>No drift flagged.</p>",
            "</body></html>",
        ]
        return "\n".join(parts)

    def save_html(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Write :meth:`to_html` to a local path or any fsspec URL.

        Parameters
        ----------
        url : str or path-like
            Target file, e.g. ``"report.html"`` or ``"s3://bucket/report.html"``.
        storage_options : dict or None, default=None
            Passed to fsspec.
        """
        import fsspec

        page = self.to_html().encode()
        fs, path = fsspec.core.url_to_fs(os.fspath(url), **(storage_options or {}))
        parent = path.rsplit("/", 1)[0]
        if parent and parent != path:
            fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(path, page)


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4.5))
    return ax


def _label(chunk: Any) -> str:
    if isinstance(chunk, pd.Timestamp):
        return (
            chunk.strftime("%Y-%m-%d %H:%M")
            if (chunk.hour or chunk.minute)
            else chunk.strftime("%Y-%m-%d")
        )
    return str(chunk)


def drift_ratio(drift: pd.DataFrame) -> pd.DataFrame:
    """Features x chunks table of ``max(statistic / threshold)`` over methods."""
    if not len(drift):
        return pd.DataFrame()
    ratio = drift.assign(
        ratio=drift["statistic"].to_numpy(dtype=float)
        / drift["threshold"].to_numpy(dtype=float)
    )
    return ratio.pivot_table(
        index="feature", columns="chunk", values="ratio", aggfunc="max", sort=False
    )


# --------------------------------------------------------------------------- #
# rules
# --------------------------------------------------------------------------- #
def _rule_table(
    rule: AlertRule,
    keys: Sequence[Any],
    drift: pd.DataFrame,
    perf: pd.DataFrame,
    quality: pd.DataFrame,
) -> pd.DataFrame:
    """Chunks x features (or one ``None`` column) table of the rule's metric."""
    metric = rule.metric
    if metric == "drift":
        table = drift_ratio(drift).T
    elif metric in DRIFT_METRICS:
        rows = drift[drift["method"] == metric]
        rows = rows.assign(value=rows["statistic"].where(rows["drifted"]))
        table = rows.pivot_table(
            index="chunk", columns="feature", values="value", sort=False, dropna=False
        )
    elif metric in QUALITY_METRICS:
        q = quality
        if metric == "missing_rate_increase":
            q = q.assign(
                missing_rate_increase=q["missing_rate"] - q["reference_missing_rate"]
            )
        table = q.pivot_table(
            index="chunk", columns="feature", values=metric, sort=False, dropna=False
        )
    else:
        estimated = metric.startswith("estimated_")
        base = metric.removeprefix("estimated_")
        drop = base.endswith("_drop")
        shift = base.endswith("_shift")
        base = base.removesuffix("_drop").removesuffix("_shift")
        kind = "estimated" if estimated else "realized"
        if base in ("predicted_rate", "mean_score"):
            kind = "observed"
        rows = perf[(perf["metric"] == base) & (perf["kind"] == kind)]
        values = rows["value"]
        if drop:
            sign = 1.0 if HIGHER_IS_BETTER.get(base, True) else -1.0
            values = sign * (rows["reference"] - rows["value"])
        elif shift:
            values = (rows["value"] - rows["reference"]).abs()
        table = pd.DataFrame({None: values.to_numpy()}, index=rows["chunk"].to_numpy())
    table = table.reindex(index=list(keys))
    if rule.feature is not None and rule.per_feature:
        table = table.reindex(columns=[rule.feature])
    return table


def evaluate_rules(
    rules: Sequence[AlertRule],
    keys: Sequence[Any],
    drift: pd.DataFrame,
    perf: pd.DataFrame,
    quality: pd.DataFrame,
) -> list[Alert]:
    """Alerts at the chunks where each rule's condition starts to hold.

    A condition must hold ``consecutive`` chunks in a row; the alert then
    fires once and stays silent until the condition has been false again.
    """
    alerts: list[Alert] = []
    for rule in rules:
        table = _rule_table(rule, keys, drift, perf, quality)
        for feature in table.columns:
            values = table[feature].to_numpy(dtype=float)
            streak = 0
            for key, value in zip(keys, values, strict=True):
                if rule.holds(value):
                    streak += 1
                    if streak == rule.consecutive:
                        alerts.append(_make_alert(rule, feature, key, value))
                else:
                    streak = 0
    order = {k: i for i, k in enumerate(keys)}
    alerts.sort(key=lambda a: (order[a.chunk], a.metric, str(a.feature)))
    return alerts


def _make_alert(rule: AlertRule, feature: Any, chunk: Any, value: float) -> Alert:
    feature = (
        None
        if feature is None or (isinstance(feature, float) and np.isnan(feature))
        else str(feature)
    )
    subject = f"feature {feature!r}" if feature is not None else "the model"
    streak = f" for {rule.consecutive} chunks" if rule.consecutive > 1 else ""
    message = (
        f"{rule.severity.upper()}: {rule.metric} of {subject} is {value:.4g} "
        f"({rule.op} {rule.threshold:g}){streak} at chunk {_label(chunk)}"
    )
    return Alert(
        metric=rule.metric,
        feature=feature,
        chunk=chunk,
        value=float(value),
        threshold=float(rule.threshold),
        op=rule.op,
        severity=rule.severity,
        message=message,
    )
