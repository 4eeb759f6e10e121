"""Validation metrics for the churn class (the positive label) explicitly."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

__all__ = ["METRIC_NAMES", "churn_metrics", "top_decile_lift"]

#: Names of the metrics every :class:`~churnlib.training.TrainingResult` carries.
METRIC_NAMES = (
    "roc_auc",
    "average_precision",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "log_loss",
    "top_decile_lift",
    "threshold",
)


def top_decile_lift(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Churn rate among the 10 % highest scores divided by the overall churn rate.

    Exactly ``n / 10`` customers are targeted. When the cut falls inside a group
    of tied scores, the group contributes its expected share of churners (as if
    the tied customers were drawn in random order), so the value never depends
    on how ties are ordered; this is the definition of
    :func:`churnlib.evaluation.lift_score`. 1.0 means no better than random
    targeting; the maximum is ``1 / churn_rate``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 (or True) for churners.
    scores : array-like of shape (n_samples,)
        Churn scores, higher meaning more likely to churn.

    Returns
    -------
    float
        The lift, or NaN when there is no churner at all.

    Examples
    --------
    >>> import numpy as np
    >>> from churnlib.training import top_decile_lift
    >>> y = np.array([1] + [0] * 9 + [1] + [0] * 9)
    >>> s = np.linspace(1, 0, 20)
    >>> float(top_decile_lift(y, s))  # top 2 holds 1 of the 2 churners
    5.0
    >>> float(top_decile_lift(y, np.zeros(20)))  # all tied: no better than random
    1.0
    """
    y_true = np.asarray(y_true, dtype=float)
    scores = np.asarray(scores, dtype=float)
    n = y_true.size
    if n == 0 or y_true.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y_true[order]
    # one entry per group of tied scores, highest first
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    group_size = np.diff(np.r_[starts, n])
    group_pos = np.add.reduceat(sorted_y, starts)
    cum_size = np.r_[0, np.cumsum(group_size)]
    cum_pos = np.r_[0.0, np.cumsum(group_pos)]
    k = n / 10
    churners_reached = np.interp(k, cum_size, cum_pos)  # linear inside a tie group
    return float((churners_reached / k) / (y_true.sum() / n))


def churn_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    threshold: float = 0.5,
    y_pred: np.ndarray | None = None,
) -> dict[str, float]:
    """All validation metrics for the churn class, at a decision ``threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 (or True) for churners, 0 (or False) otherwise.
    proba : array-like of shape (n_samples,)
        Predicted churn probabilities.
    threshold : float, default=0.5
        A customer is predicted to churn when ``proba >= threshold``.
    y_pred : array-like of shape (n_samples,) or None, default=None
        Predicted labels to use instead of thresholding ``proba`` (for
        out-of-fold predictions, where each fold has its own threshold).

    Returns
    -------
    dict of str to float
        ``roc_auc``, ``average_precision``, ``accuracy``, ``precision``,
        ``recall``, ``f1``, ``brier``, ``log_loss``, ``top_decile_lift`` and
        ``threshold``. Ranking metrics are NaN when the
        labels hold a single class.

    Examples
    --------
    >>> from churnlib.training._metrics import churn_metrics
    >>> m = churn_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> m["roc_auc"], m["precision"], m["recall"], m["threshold"]
    (0.75, 0.5, 0.5, 0.5)
    """
    y = np.asarray(y_true).astype(int)
    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    if y_pred is None:
        pred = (p >= threshold).astype(int)
    else:
        pred = np.asarray(y_pred).astype(int)
    both = np.unique(y).size == 2
    nan = float("nan")
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else nan,
        "average_precision": float(average_precision_score(y, p)) if both else nan,
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0.0)),
        "recall": float(recall_score(y, pred, zero_division=0.0)),
        "f1": float(f1_score(y, pred, zero_division=0.0)),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "top_decile_lift": top_decile_lift(y, p),
        "threshold": float(threshold),
    }
