"""``MonitorReport``: per-chunk frames, alerts, plots and a shareable HTML page."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnlib._html import created_stamp, esc, figure_html, figure_png, page, table_html
from churnlib._optional import check_matplotlib_support
from churnlib.monitoring._alerts import Alert
from churnlib.monitoring._incidents import drift_ratio
from churnlib.monitoring._incidents import label as _label
from churnlib.monitoring._performance import SCORE_EDGES

__all__ = ["MonitorReport"]


@dataclass(frozen=True, eq=False, kw_only=True)
class MonitorReport:
    """What :meth:`ChurnMonitor.report` found, chunk by chunk.

    Attributes
    ----------
    chunks : DataFrame
        One row per scoring cohort: ``chunk``, ``start``, ``end`` (first and
        last scoring time, UTC), ``n`` (predictions), ``n_labeled`` (with a
        known or matured outcome), ``n_pending`` (horizon not over yet, no
        outcome) and ``n_excluded`` (scored after the customer's churn date).
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
        the metric on reference resamples of the chunk's size;
        ``direction`` says whether a value outside it is ``"worse"`` or
        ``"better"`` than the reference (improvements never alert).
    data_quality : DataFrame
        ``chunk``, ``feature``, ``missing_rate``, ``reference_missing_rate``,
        ``unseen_rate`` (categorical: share of values never seen in the
        reference), ``out_of_range_rate`` (numeric: share outside the
        reference min-max), ``n``.
    alerts : tuple of Alert
        One per incident opening or escalation, in chunk order (an incident
        that stays open is not repeated).
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
    incidents : DataFrame
        ``subject``, ``feature``, ``opened_at``, ``closed_at`` (None: still
        open), ``severity`` (highest reached), ``n_chunks``, ``n_alerts``.
    segments : DataFrame
        Per chunk and segment value: ``n``, ``n_labeled``, ``drifted``,
        ``drifted_features``, ``max_drift_ratio``, realized and estimated
        ``roc_auc`` and ``churn_rate``, ``reference_roc_auc``.
    segment_drift : DataFrame
        The drift rows behind ``segments`` (``chunk``, ``segment``, ``value``
        and the ``drift`` columns).
    damaged_files : tuple of str
        Log files that could not be read and were skipped.
    unmatched_events : int
        Churn events of customers never scored.
    horizon : pandas.Timedelta or None
        The churn horizon of the monitor.
    as_of : pandas.Timestamp or None
        Churn events were taken as complete up to this time.
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
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    segment_drift: pd.DataFrame = field(default_factory=pd.DataFrame)
    damaged_files: tuple[str, ...] = ()
    unmatched_events: int = 0
    horizon: pd.Timedelta | None = None
    as_of: pd.Timestamp | None = None

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
        check_matplotlib_support("MonitorReport.plot_performance")
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
        check_matplotlib_support("MonitorReport.plot_score_distribution")
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
        check_matplotlib_support("MonitorReport.plot_drift")
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
    # plain words
    # ------------------------------------------------------------------ #
    def summary(self) -> str:
        """Explain the report in plain language, for a non-specialist.

        Says how much was logged, whether and when drift started and in which
        features, how the model performed where outcomes are known, what the
        label-free estimate says where they are not, and which alerts fired.

        Returns
        -------
        str
            A few short paragraphs separated by blank lines.
        """
        return "\n\n".join(self._summary_paragraphs())

    def _summary_paragraphs(self) -> list[str]:
        k = len(self.chunks)
        if not k:
            return [
                "No predictions have been logged yet, so there is nothing to "
                "compare with the reference data."
            ]
        segments = self._segments_text()
        return [
            self._volume_text(),
            self._drift_text(),
            *self._performance_texts(),
            *([segments] if segments else []),
            self._alerts_text(),
        ]

    def _volume_text(self) -> str:
        k = len(self.chunks)
        n = int(self.chunks["n"].sum())
        labeled = int(self.chunks["n_labeled"].sum())
        with_labels = int((self.chunks["n_labeled"] > 0).sum())
        if self.freq is not None:
            how = f"one chunk per {self.freq!r} period"
        elif self.chunk_size is not None:
            how = f"chunks of {self.chunk_size:,} predictions"
        else:
            how = "chunks of equal size"
        start = _label(self.chunks["start"].min())
        end = _label(self.chunks["end"].max())
        text = (
            f"This report covers {n:,} predictions in {_plural(k, 'chunk')} "
            f"({how}), made between {start} and {end}. The real outcome "
            f"(churned or stayed) is known for {labeled:,} of them "
            f"({labeled / n:.0%}), in {with_labels} of the {k} chunks."
        )
        pending = (
            int(self.chunks["n_pending"].sum()) if "n_pending" in self.chunks else 0
        )
        if pending:
            horizon = "" if self.horizon is None else f" ({_days(self.horizon)})"
            text += (
                f" {pending:,} predictions are still pending: their churn horizon"
                f"{horizon} has not passed, so only the label-free estimate "
                "covers them."
            )
        if self.unmatched_outcomes:
            text += (
                f" {_plural(self.unmatched_outcomes, 'logged outcome')} matched no "
                "logged prediction and were left out."
            )
        if self.damaged_files:
            text += (
                f" {_plural(len(self.damaged_files), 'damaged log file')} could not "
                "be read and were skipped (listed under Data quality)."
            )
        return text

    def _drift_text(self) -> str:
        flagged = self.drift.loc[self.drift["drifted"].astype(bool)]
        if flagged.empty:
            return (
                "No drift: in every chunk, the customers' data and the model's "
                "scores look like the reference data the model was checked on."
            )
        keys = list(self.chunks["chunk"])
        order = {c: i for i, c in enumerate(keys)}
        first_pos = int(flagged["chunk"].map(order).min())
        first = keys[first_pos]
        at_first = _names(flagged.loc[flagged["chunk"] == first, "feature"])
        later = keys[first_pos:]
        n_drifted = int(flagged["chunk"].nunique())
        every = _names(flagged["feature"])
        spread = (
            "every chunk from then on shows drift"
            if n_drifted == len(later)
            else f"{n_drifted} of the {len(later)} chunks from then on "
            + ("shows drift" if n_drifted == 1 else "show drift")
        )
        # one feature "looks"; several, or the model's scores, "look"
        verb = "looks" if at_first != [_SCORE_WORDS] and len(at_first) == 1 else "look"
        text = (
            f"Drift started at chunk {_label(first)} (chunk {first_pos + 1} of "
            f"{len(keys)}): {_join(at_first)} no longer {verb} like the "
            f"reference data; {spread}"
        )
        if set(every) != set(at_first):
            text += f", in {_join(every)} overall"
        return text + (
            ". Drift means the customers look different; it does not by itself "
            "mean the model got worse, which the performance below tells."
        )

    def _performance_texts(self) -> list[str]:
        perf = self.performance
        auc = perf[perf["metric"] == "roc_auc"]
        realized = auc[(auc["kind"] == "realized") & auc["value"].notna()]
        keys = list(self.chunks["chunk"])
        measured = set(realized["chunk"])
        out = []
        if realized.empty:
            out.append(
                "No chunk has outcomes yet, so the model's real accuracy cannot "
                "be measured."
            )
        else:
            out.append(
                f"Where outcomes are known ({_plural(len(realized), 'chunk')}), "
                "the model ranked a churner above a customer who stays with a "
                + _range_text(realized)
            )
        missing = [c for c in keys if c not in measured]
        if not missing:
            out.append(
                "Every chunk has outcomes, so the label-free estimate (in the "
                "estimated table) is only there for comparison."
            )
            return out
        estimated = auc[
            (auc["kind"] == "estimated")
            & auc["chunk"].isin(missing)
            & auc["value"].notna()
        ]
        span = (
            _label(missing[0])
            if len(missing) == 1
            else f"{_label(missing[0])} to {_label(missing[-1])}"
        )
        if estimated.empty:
            out.append(
                f"For the {_plural(len(missing), 'chunk')} without outcomes "
                f"({span}) no label-free estimate is available."
            )
        else:
            out.append(
                f"For the {_plural(len(missing), 'chunk')} without outcomes yet "
                f"({span}), the label-free estimate, computed from the model's "
                "own probabilities, puts it at a "
                + _range_text(estimated)
                + " The estimate trusts those probabilities, so it cannot see a "
                "change in how customers behave (concept drift): treat it as an "
                "early signal until the outcomes arrive."
            )
        return out

    def _segments_text(self) -> str | None:
        seg = self.segments
        if seg is None or not len(seg):
            return None
        moved = seg[seg["drifted"]]
        if moved.empty:
            return (
                "Broken down by "
                + _join([f"'{c}'" for c in dict.fromkeys(seg["segment"])])
                + ", no segment moved."
            )
        names = [
            f"{r.segment} = {r.value}"
            for r in moved.drop_duplicates(["segment", "value"]).itertuples()
        ]
        return (
            f"Segments that moved: {_join(names[:6])}"
            + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            + " (see the Segments table)."
        )

    def _alerts_text(self) -> str:
        if not self.alerts:
            return "No alert fired."
        counts = pd.Series([a.severity for a in self.alerts]).value_counts()
        n_inc = len(self.incidents) if self.incidents is not None else 0
        parts = [
            f"{int(counts[s])} {s}"
            for s in (*_SEVERITIES, *sorted(set(counts.index) - set(_SEVERITIES)))
            if s in counts.index
        ]
        worst = next(s for s in (*_SEVERITIES, *counts.index) if s in counts.index)
        first = next(a for a in self.alerts if a.severity == worst)
        inc = f" for {_plural(n_inc, 'incident')}" if n_inc else ""
        return (
            f"{_plural(len(self.alerts), 'alert')} fired{inc} ({', '.join(parts)}). "
            f"The earliest {worst} one: {first.message}."
        )

    # ------------------------------------------------------------------ #
    # html
    # ------------------------------------------------------------------ #
    def _figures(self) -> list[tuple[str, str, str, bytes, bool]]:
        """Draw every figure off-screen: ``(key, title, caption, png, wide)``."""
        from matplotlib.figure import Figure

        specs: list[tuple[str, str, str, Any, bool]] = []
        if (self.performance["metric"] == "roc_auc").any():
            specs += [
                (
                    "roc_auc",
                    "ROC AUC over time",
                    "How well the model ranks churners above customers who stay "
                    "(solid: measured on outcomes; dashed: label-free estimate). "
                    "The shaded band is the range expected from sampling noise "
                    "around the reference value (dotted).",
                    lambda ax: self.plot_performance("roc_auc", ax=ax),
                    False,
                ),
                (
                    "f1",
                    "F1 over time",
                    "Balance of precision and recall at the decision threshold, "
                    "measured and estimated, with the same reference band.",
                    lambda ax: self.plot_performance("f1", ax=ax),
                    False,
                ),
            ]
        n_features = self.drift["feature"].nunique() if len(self.drift) else 1
        specs += [
            (
                "scores",
                "Score distribution",
                "Spread of the model's churn scores per chunk (median, middle "
                "half and middle 90 %); the dotted line is the reference median.",
                lambda ax: self.plot_score_distribution(ax=ax),
                False,
            ),
            (
                "drift",
                "Drift per feature and chunk",
                "Each cell is the drift statistic divided by its threshold; cells "
                "above 1 (dotted) were flagged as drift.",
                lambda ax: self.plot_drift(ax=ax),
                True,
            ),
        ]
        out = []
        for key, title, caption, draw, wide in specs:
            size = (11, 1.6 + 0.35 * n_features) if wide else (6.4, 4.4)
            fig = Figure(figsize=size, layout="constrained")
            draw(fig.add_subplot())
            out.append((key, title, caption, figure_png(fig, dpi=90), wide))
        return out

    def _alerts_table(self) -> str:
        if not self.alerts:
            return "<p>No alerts.</p>"
        frame = pd.DataFrame(
            {
                "severity": [a.severity for a in self.alerts],
                "chunk": [_label(a.chunk) for a in self.alerts],
                "why": [a.status or "opened" for a in self.alerts],
                "subject": [a.subject or a.metric for a in self.alerts],
                "feature": [a.feature or "the model" for a in self.alerts],
                "value": [f"{a.value:.3g} {a.unit}".strip() for a in self.alerts],
                "threshold": [
                    f"{a.op} {a.threshold:g} {a.unit}".strip() for a in self.alerts
                ],
                "details": [a.message.split(": ", 1)[-1] for a in self.alerts],
            }
        )
        return table_html(
            frame,
            formatters={
                "severity": lambda s: f"<span class='sev sev-{esc(s)}'>{esc(s)}</span>"
            },
            raw=("severity",),
        )

    def _performance_table(self, kinds: tuple[str, ...]) -> str:
        perf = self.performance[self.performance["kind"].isin(kinds)]
        if perf.empty:
            return "<p>No performance figures.</p>"
        keys = list(self.chunks["chunk"])
        values = perf.pivot_table(
            index="chunk", columns="metric", values="value", sort=False, dropna=False
        )
        perf = perf.assign(
            worse=perf["direction"].eq("worse")
            if "direction" in perf
            else perf["outside_band"]
        )
        outside = perf.pivot_table(
            index="chunk",
            columns="metric",
            values="worse",
            aggfunc="any",
            sort=False,
            dropna=False,
        )
        metrics = list(dict.fromkeys(perf["metric"]))
        values = values.reindex(index=keys, columns=metrics)
        outside = (
            outside.reindex(index=keys, columns=metrics)
            .astype("boolean")
            .fillna(False)
            .astype(bool)
        )
        reference = perf.groupby("metric", sort=False)["reference"].first()
        table = pd.concat(
            [
                pd.DataFrame([reference.reindex(metrics).to_numpy()], columns=metrics),
                values.reset_index(drop=True),
            ],
            ignore_index=True,
        )
        table.insert(0, "chunk", ["reference", *(_label(c) for c in keys)])
        table.insert(1, "predictions", [None, *self.chunks["n"].tolist()])
        counts = ["predictions"]
        if kinds == ("realized",):
            counts.append("with outcome")
            table.insert(2, "with outcome", [None, *self.chunks["n_labeled"].tolist()])
            if "n_pending" in self.chunks:
                counts.append("pending")
                table.insert(3, "pending", [None, *self.chunks["n_pending"].tolist()])
        table[counts] = table[counts].astype("Int64")
        flags = pd.concat(
            [
                pd.DataFrame([[False] * len(metrics)], columns=metrics),
                outside.reset_index(drop=True),
            ],
            ignore_index=True,
        )
        row_na = None
        if kinds == ("realized",):
            row_na = [None] + [
                "no labels yet" if m == 0 else None for m in self.chunks["n_labeled"]
            ]
        return table_html(table, row_na=row_na, flags=flags, digits=3)

    def _incidents_table(self) -> str:
        inc = self.incidents
        if inc is None or not len(inc):
            return ""
        frame = inc.assign(
            opened_at=[_label(c) for c in inc["opened_at"]],
            closed_at=[
                "still open" if pd.isna(c) else _label(c) for c in inc["closed_at"]
            ],
            feature=[f if isinstance(f, str) else "the model" for f in inc["feature"]],
        ).rename(columns={"n_chunks": "chunks", "n_alerts": "alerts"})
        return "<h3>Incidents</h3>\n" + table_html(frame)

    def _segments_html(self) -> str:
        seg = self.segments
        if seg is None or not len(seg):
            return ""
        frame = seg.assign(chunk=[_label(c) for c in seg["chunk"]])
        frame = frame.drop(columns=["n_labeled"]).rename(
            columns={
                "drifted_features": "what moved",
                "max_drift_ratio": "drift (x threshold)",
            }
        )
        flags = pd.DataFrame(False, index=frame.index, columns=frame.columns)
        flags["drifted"] = frame["drifted"].to_numpy()
        flags["what moved"] = frame["drifted"].to_numpy()
        moved = frame.loc[frame["drifted"], ["segment", "value"]].drop_duplicates()
        intro = (
            "<p>No segment moved.</p>"
            if moved.empty
            else "<p>Segments that moved (highlighted): "
            + esc(", ".join(f"{r.segment} = {r.value}" for r in moved.itertuples()))
            + ".</p>"
        )
        return (
            "<h2>Segments</h2>\n"
            + intro
            + "\n"
            + table_html(frame, flags=flags, digits=3)
        )

    def _quality_html(self) -> str:
        parts = []
        if self.damaged_files:
            items = "".join(
                f"<li><code>{esc(f)}</code></li>" for f in self.damaged_files
            )
            files = _plural(len(self.damaged_files), "damaged log file")
            parts.append(
                f"<p class='target'>{files} could not be read and were "
                f"skipped:</p><ul>{items}</ul>"
            )
        dq = self.data_quality
        if len(dq):
            worst = dq.assign(
                increase=dq["missing_rate"] - dq["reference_missing_rate"]
            ).sort_values("increase", ascending=False)
            worst = worst[worst["increase"] > 0.01].head(10)
            if len(worst):
                worst = worst.assign(chunk=[_label(c) for c in worst["chunk"]])
                parts.append(table_html(worst, digits=3))
        if self.unmatched_events:
            parts.append(
                f"<p>{_plural(self.unmatched_events, 'churn event')} belong to "
                "customers never scored.</p>"
            )
        return (
            "\n".join(parts) or "<p>No damaged files and no rise in missing values.</p>"
        )

    def to_html(self) -> str:
        """Render a self-contained HTML page (figures embedded as PNG).

        The page opens with a plain-language summary (:meth:`summary`), then
        the alerts, the figures and the tables; it references nothing outside
        itself.

        Returns
        -------
        str
            The HTML document.
        """
        check_matplotlib_support("MonitorReport.to_html")
        from churnlib._core.version import __version__

        figures = "\n".join(
            figure_html(key, title, caption, png, wide=wide)
            for key, title, caption, png, wide in self._figures()
        )
        paragraphs = self._summary_paragraphs()
        # the alerts, when any fired, are the conclusion: set them apart
        highlight = len(paragraphs) - 1 if self.alerts else -1
        summary = "\n".join(
            f"<p class='target'>{esc(p)}</p>" if i == highlight else f"<p>{esc(p)}</p>"
            for i, p in enumerate(paragraphs)
        )
        flagged = self.drift.loc[self.drift["drifted"].astype(bool)].drop(
            columns="drifted"
        )
        flagged = flagged.assign(chunk=[_label(c) for c in flagged["chunk"]])
        chunks = self.chunks.assign(
            chunk=[_label(c) for c in self.chunks["chunk"]]
        ).rename(
            columns={
                "n": "predictions",
                "n_labeled": "with outcome",
                "n_pending": "pending",
                "n_excluded": "scored after churn",
            }
        )
        n = int(self.chunks["n"].sum()) if len(self.chunks) else 0
        body = f"""<h1>Monitoring report</h1>
<p class="meta">{_plural(len(self.chunks), "chunk")} &middot; {n:,} predictions
{"" if self.horizon is None else "&middot; churn horizon " + esc(_days(self.horizon))}
&middot; {_plural(len(self.alerts), "alert")} &middot; created {created_stamp()}
&middot; churnlib {esc(__version__)}</p>
<h2>In plain words</h2>
<div class="summary">
{summary}
</div>
<h2>Alerts</h2>
<p>One alert per incident opening or escalation; an incident stays open while its
condition holds and is not repeated.</p>
{self._alerts_table()}
{self._incidents_table()}
<h2>Figures</h2>
<div class="grid">
{figures}
</div>
<h2>Realized performance</h2>
<p>Measured on the predictions whose outcome is known. Highlighted cells are
outside the range expected from sampling noise around the reference.</p>
{self._performance_table(("realized",))}
<h2>Estimated performance</h2>
<p>Label-free: estimated from the model's probabilities on every prediction
(assumes they are still calibrated), plus the observed share flagged and mean
score.</p>
{self._performance_table(("estimated", "observed"))}
{self._segments_html()}
<h2>Flagged drift</h2>
{table_html(flagged) if len(flagged) else "<p>No drift flagged.</p>"}
<h2>Data quality</h2>
{self._quality_html()}
<h2>Chunks</h2>
{table_html(chunks)}"""
        return page("churnlib monitoring report", body)

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


_SEVERITIES = ("critical", "warning", "info")
_SCORE_WORDS = "the model's scores"


def _days(td: pd.Timedelta) -> str:
    return (
        f"{td.days} days" if td % pd.Timedelta(days=1) == pd.Timedelta(0) else str(td)
    )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _names(features: pd.Series) -> list[str]:
    """Distinct features in order of appearance, the score named in words."""
    return [
        _SCORE_WORDS if f == "model_score" else f"'{f}'"
        for f in dict.fromkeys(features.astype(str))
    ]


def _range_text(rows: pd.DataFrame) -> str:
    """'ROC AUC of a to b (reference r), ...' for rows of one metric and kind."""
    lo, hi = float(rows["value"].min()), float(rows["value"].max())
    last = rows.iloc[-1]
    text = (
        f"ROC AUC of {lo:.3f}"
        + (f" to {hi:.3f}" if len(rows) > 1 else "")
        + (
            f" (latest {float(last['value']):.3f} at chunk {_label(last['chunk'])})"
            if len(rows) > 1
            else ""
        )
    )
    ref = rows["reference"].dropna()
    if len(ref):
        text += f", against {float(ref.iloc[0]):.3f} on the reference data"
    low = rows[rows["value"] < rows["lower"]]
    if len(ref) and low.empty:
        text += "; within the range expected from sampling noise alone."
    elif len(low):
        text += (
            "; below that range at chunk"
            + ("s " if len(low) > 1 else " ")
            + _join([_label(c) for c in low["chunk"]])
            + "."
        )
    else:
        text += "."
    return text
