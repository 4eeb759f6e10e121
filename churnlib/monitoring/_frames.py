"""Report assembly: from per-chunk summaries to the frames of a MonitorReport.

Drift per chunk (and per segment value), realized / estimated / observed
performance with the reference band, data quality, and the incidents the
rules find (:mod:`._incidents`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnlib.monitoring._alerts import AlertRule
from churnlib.monitoring._chunks import Assembled, performance_rows
from churnlib.monitoring._incidents import evaluate_rules
from churnlib.monitoring._reference import Reference
from churnlib.monitoring._report import MonitorReport

__all__ = ["build_report", "quality_rows", "segment_frames"]


def build_report(
    ref: Reference,
    found: Assembled,
    *,
    rules: Sequence[AlertRule],
    horizon: pd.Timedelta,
    freq: str | None,
    chunk_size: int | None,
) -> MonitorReport:
    """Turn the accumulated summaries into the report's frames and incidents."""
    acc = found.acc
    keys = sorted(acc)
    chunk_rows, drift_frames, perf_rows, dq_rows, hists = [], [], [], [], []
    sizes = [acc[k][1].n for k in keys]
    typical = int(np.median(sizes)) if sizes else 0
    boot_n = min(max(typical, 2), 5000)
    sd0 = ref.band(boot_n) if (keys and ref.has_scores) else {}
    for key in keys:
        drift, perf, start, end, n_excl = acc[key]
        chunk_rows.append(
            {
                "chunk": key,
                "start": start,
                "end": end,
                "n": perf.n,
                "n_labeled": perf.n_labeled,
                "n_pending": perf.n - perf.n_labeled - n_excl,
                "n_excluded": n_excl,
            }
        )
        frame = ref.detector.check(drift)
        frame.insert(0, "chunk", [key] * len(frame))
        drift_frames.append(frame)
        hists.append(perf.hist)
        perf_rows += performance_rows(key, perf, ref.metrics, sd0, boot_n)
        dq_rows += quality_rows(key, drift, ref.missing)
    drift_cols = ["chunk", "feature", "method", "statistic", "threshold", "drifted"]
    drift_df = (
        pd.concat(drift_frames, ignore_index=True)
        if drift_frames
        else pd.DataFrame(columns=drift_cols)
    )
    perf_df = pd.DataFrame(
        perf_rows,
        columns=[
            "chunk",
            "metric",
            "kind",
            "value",
            "reference",
            "lower",
            "upper",
            "n",
            "outside_band",
            "direction",
        ],
    )
    perf_df["outside_band"] = perf_df["outside_band"].astype(bool)
    dq_df = pd.DataFrame(
        dq_rows,
        columns=[
            "chunk",
            "feature",
            "missing_rate",
            "reference_missing_rate",
            "unseen_rate",
            "out_of_range_rate",
            "n",
        ],
    )
    chunks_df = pd.DataFrame(
        chunk_rows,
        columns=[
            "chunk",
            "start",
            "end",
            "n",
            "n_labeled",
            "n_pending",
            "n_excluded",
        ],
    )
    alerts, incidents = evaluate_rules(rules, keys, drift_df, perf_df, dq_df)
    seg_summary, seg_drift = segment_frames(ref, found.seg_acc, keys)
    hist = np.vstack(hists) if hists else np.zeros((0, 1000), dtype=np.int64)
    attribution = found.attribution
    return MonitorReport(
        chunks=chunks_df,
        drift=drift_df,
        performance=perf_df,
        data_quality=dq_df,
        alerts=tuple(alerts),
        score_histograms=hist,
        reference_score_histogram=ref.score_histogram,
        reference_metrics=dict(ref.metrics),
        unmatched_outcomes=attribution.unmatched_outcomes,
        unmatched_events=attribution.unmatched_events,
        freq=freq,
        chunk_size=chunk_size,
        incidents=incidents,
        segments=seg_summary,
        segment_drift=seg_drift,
        damaged_files=tuple(found.damaged),
        horizon=horizon,
        as_of=attribution.as_of,
    )


def segment_frames(
    ref: Reference, seg_acc: Mapping[Any, list[Any]], keys: Sequence[Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per segment value: the summary table and the drift rows behind it."""
    rows, drift_frames = [], []
    order = {k: i for i, k in enumerate(keys)}
    for (key, col, value), (drift, perf) in sorted(
        seg_acc.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2])
    ):
        det = ref.segment_detectors[col, value]
        frame = det.check(drift)
        flagged = frame.loc[frame["drifted"], "feature"].unique().tolist()
        ratio = (frame["statistic"] / frame["threshold"]).max()
        frame.insert(0, "value", value)
        frame.insert(0, "segment", col)
        frame.insert(0, "chunk", key)
        drift_frames.append(frame)
        realized = perf.realized() if perf.n_labeled else {}
        estimated = perf.estimated()
        seg_ref = ref.segment_metrics.get((col, value), {})
        rows.append(
            {
                "chunk": key,
                "segment": col,
                "value": value,
                "n": perf.n,
                "n_labeled": perf.n_labeled,
                "drifted": bool(flagged),
                "drifted_features": ", ".join(flagged),
                "max_drift_ratio": float(ratio) if np.isfinite(ratio) else np.nan,
                "roc_auc": realized.get("roc_auc", np.nan),
                "estimated_roc_auc": estimated.get("roc_auc", np.nan),
                "reference_roc_auc": seg_ref.get("roc_auc", np.nan),
                "churn_rate": realized.get("churn_rate", np.nan),
                "estimated_churn_rate": estimated.get("churn_rate", np.nan),
            }
        )
    cols = [
        "chunk",
        "segment",
        "value",
        "n",
        "n_labeled",
        "drifted",
        "drifted_features",
        "max_drift_ratio",
        "roc_auc",
        "estimated_roc_auc",
        "reference_roc_auc",
        "churn_rate",
        "estimated_churn_rate",
    ]
    summary = pd.DataFrame(rows, columns=cols)
    drift = (
        pd.concat(drift_frames, ignore_index=True)
        if drift_frames
        else pd.DataFrame(
            columns=[
                "chunk",
                "segment",
                "value",
                "feature",
                "method",
                "statistic",
                "threshold",
                "drifted",
            ]
        )
    )
    return summary, drift


def quality_rows(
    key: Any, drift: Any, ref_missing: Mapping[str, float]
) -> list[dict[str, Any]]:
    rows = []
    n = max(drift.n_rows, 1)
    for j, name in enumerate(drift.numeric_features):
        present = drift.n_rows - drift.numeric_missing[j]
        rows.append(
            {
                "chunk": key,
                "feature": name,
                "missing_rate": drift.numeric_missing[j] / n,
                "reference_missing_rate": ref_missing[name],
                "unseen_rate": np.nan,
                "out_of_range_rate": (
                    (drift.numeric_below[j] + drift.numeric_above[j]) / present
                    if present
                    else np.nan
                ),
                "n": drift.n_rows,
            }
        )
    for j, name in enumerate(drift.categorical_features):
        present = drift.n_rows - drift.categorical_missing[j]
        rows.append(
            {
                "chunk": key,
                "feature": name,
                "missing_rate": drift.categorical_missing[j] / n,
                "reference_missing_rate": ref_missing[name],
                "unseen_rate": (
                    drift.categorical_unseen[j] / present if present else np.nan
                ),
                "out_of_range_rate": np.nan,
                "n": drift.n_rows,
            }
        )
    return rows
