"""Mergeable performance summaries: realized and confidence-based estimates.

Scores are counted on ``N_SCORE_BINS`` equal-width bins of ``[0, 1]``; per bin
we keep the labelled positives and negatives (realized metrics) and the sum of
calibrated probabilities over all rows (estimated metrics, as NannyML's CBPE:
each row counts as ``p`` of a positive and ``1 - p`` of a negative). Everything
is a sum, so summaries of slices add up and a report can stream.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

__all__ = ["METRICS", "PerformanceSummary"]

N_SCORE_BINS = 1000
SCORE_EDGES = np.linspace(0.0, 1.0, N_SCORE_BINS + 1)

#: Metrics reported per chunk, in order.
METRICS = (
    "roc_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "churn_rate",
)
#: Metrics where higher is better (a drop is bad); brier: lower is better.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "brier": False,
    "churn_rate": True,
}


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Bin index in ``[0, N_SCORE_BINS)`` of probabilities in ``[0, 1]``."""
    idx = (scores * N_SCORE_BINS).astype(np.intp)
    np.clip(idx, 0, N_SCORE_BINS - 1, out=idx)
    return idx


@dataclass(frozen=True, eq=False, kw_only=True)
class PerformanceSummary:
    """Sums needed for realized and estimated metrics of one slice."""

    n: int
    n_labeled: int
    n_predicted_positive: int
    score_sum: float
    hist: np.ndarray  # all rows per score bin
    pos: np.ndarray  # labelled churners per score bin
    neg: np.ndarray  # labelled non-churners per score bin
    tp: int
    fp: int
    fn: int
    tn: int
    brier_sum: float
    exp_pos: np.ndarray  # sum of calibrated p per score bin (all rows)
    exp_tp: float
    exp_fp: float
    exp_fn: float
    exp_tn: float
    exp_brier_sum: float

    @classmethod
    def empty(cls) -> PerformanceSummary:
        """Return a summary of zero rows (the neutral element of ``+``)."""
        z = np.zeros(N_SCORE_BINS, dtype=np.int64)
        return cls(
            n=0,
            n_labeled=0,
            n_predicted_positive=0,
            score_sum=0.0,
            hist=z,
            pos=z,
            neg=z,
            tp=0,
            fp=0,
            fn=0,
            tn=0,
            brier_sum=0.0,
            exp_pos=np.zeros(N_SCORE_BINS),
            exp_tp=0.0,
            exp_fp=0.0,
            exp_fn=0.0,
            exp_tn=0.0,
            exp_brier_sum=0.0,
        )

    @classmethod
    def from_arrays(
        cls,
        scores: np.ndarray,
        y: np.ndarray | None,
        calibrated: np.ndarray,
        threshold: float,
    ) -> PerformanceSummary:
        """Summarize scores, labels (NaN = not known yet) and calibrated p."""
        scores = np.asarray(scores, dtype=np.float64)
        bins = score_bins(scores)
        pred = scores >= threshold
        hist = np.bincount(bins, minlength=N_SCORE_BINS)
        p = np.asarray(calibrated, dtype=np.float64)
        exp_pos = np.bincount(bins, weights=p, minlength=N_SCORE_BINS)
        exp_tp = float(p[pred].sum())
        exp_fp = float((1 - p[pred]).sum())
        exp_fn = float(p[~pred].sum())
        exp_tn = float((1 - p[~pred]).sum())
        exp_brier = float((p * (1 - scores) ** 2 + (1 - p) * scores**2).sum())
        if y is None:
            y = np.full(len(scores), np.nan)
        y = np.asarray(y, dtype=np.float64)
        labeled = ~np.isnan(y)
        yl = y[labeled] > 0.5
        bl, pl, sl = bins[labeled], pred[labeled], scores[labeled]
        pos = np.bincount(bl[yl], minlength=N_SCORE_BINS)
        neg = np.bincount(bl[~yl], minlength=N_SCORE_BINS)
        return cls(
            n=len(scores),
            n_labeled=int(labeled.sum()),
            n_predicted_positive=int(pred.sum()),
            score_sum=float(scores.sum()),
            hist=hist,
            pos=pos,
            neg=neg,
            tp=int((pl & yl).sum()),
            fp=int((pl & ~yl).sum()),
            fn=int((~pl & yl).sum()),
            tn=int((~pl & ~yl).sum()),
            brier_sum=float(((sl - yl) ** 2).sum()),
            exp_pos=exp_pos,
            exp_tp=exp_tp,
            exp_fp=exp_fp,
            exp_fn=exp_fn,
            exp_tn=exp_tn,
            exp_brier_sum=exp_brier,
        )

    def __add__(self, other: object) -> PerformanceSummary:
        if not isinstance(other, PerformanceSummary):
            return NotImplemented
        return replace(
            self,
            **{
                f.name: getattr(self, f.name) + getattr(other, f.name)
                for f in fields(self)
            },
        )

    # ------------------------------------------------------------------ #
    def realized(self) -> dict[str, float]:
        """Metrics on the labelled rows (NaN where undefined)."""
        return _metrics(
            self.pos.astype(float),
            self.neg.astype(float),
            self.tp,
            self.fp,
            self.fn,
            self.tn,
            self.brier_sum,
            self.n_labeled,
        )

    def estimated(self) -> dict[str, float]:
        """Confidence-based estimates of the same metrics on all rows."""
        exp_neg = self.hist - self.exp_pos
        return _metrics(
            self.exp_pos,
            exp_neg,
            self.exp_tp,
            self.exp_fp,
            self.exp_fn,
            self.exp_tn,
            self.exp_brier_sum,
            self.n,
        )

    def observed(self) -> dict[str, float]:
        """Label-free facts: predicted positive rate and mean score."""
        if self.n == 0:
            return {"predicted_rate": np.nan, "mean_score": np.nan}
        return {
            "predicted_rate": self.n_predicted_positive / self.n,
            "mean_score": self.score_sum / self.n,
        }


def binned_roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC from per-bin (weighted) positive and negative counts.

    Pairs in the same bin count one half, as tied scores do.
    """
    p_total, n_total = pos.sum(), neg.sum()
    if p_total <= 0 or n_total <= 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (p_total * n_total))


def _metrics(
    pos: np.ndarray,
    neg: np.ndarray,
    tp: float,
    fp: float,
    fn: float,
    tn: float,
    brier_sum: float,
    n: float,
) -> dict[str, float]:
    def div(a: float, b: float) -> float:
        return float(a / b) if b > 0 else float("nan")

    precision = div(tp, tp + fp)
    recall = div(tp, tp + fn)
    return {
        "roc_auc": binned_roc_auc(pos, neg),
        "accuracy": div(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "f1": div(2 * tp, 2 * tp + fp + fn),
        "brier": div(brier_sum, n),
        "churn_rate": div(tp + fn, n),
    }


def bootstrap_sd(
    scores: np.ndarray,
    y: np.ndarray | None,
    calibrated: np.ndarray,
    threshold: float,
    size: int,
    *,
    n_boot: int = 100,
    random_state: int = 0,
) -> dict[str, float]:
    """Compute each metric's standard deviation over resamples of ``size``.

    Realized metrics when the reference has labels, estimated ones otherwise.
    """
    rng = np.random.default_rng(random_state)
    names = (*METRICS, "predicted_rate", "mean_score")
    values: dict[str, list[float]] = {m: [] for m in names}
    n = len(scores)
    for _ in range(n_boot):
        rows = rng.integers(0, n, size=size)
        s = PerformanceSummary.from_arrays(
            scores[rows],
            None if y is None else y[rows],
            calibrated[rows],
            threshold,
        )
        metrics = s.realized() if y is not None else s.estimated()
        metrics.update(s.observed())
        for m in names:
            values[m].append(metrics[m])
    return {
        m: float(np.nanstd(v)) if np.isfinite(v).any() else np.nan
        for m, v in values.items()
    }


def to_builtin(value: Any) -> Any:
    """Numpy scalars to Python scalars (for JSON)."""
    return value.item() if hasattr(value, "item") else value
