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

from churnlib.evaluation import expected_calibration_error, lift_score
from churnlib.evaluation._metrics import calibration_error

__all__ = [
    "METRIC_NAMES",
    "UPLIFT_METRIC_NAMES",
    "churn_metrics",
    "expected_calibration_error",
    "uplift_metrics",
]

#: Names of the metrics every :class:`~churnlib.training.TrainingResult` carries.
METRIC_NAMES = (
    "roc_auc",
    "average_precision",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "ece",
    "log_loss",
    "top_decile_lift",
    "threshold",
)

#: Names of the metrics of an uplift model's run (plus the churn metrics of
#: :data:`METRIC_NAMES` but ``threshold`` when it predicts churn per arm).
UPLIFT_METRIC_NAMES = (
    "qini_coefficient",
    "auuc",
    "uplift_at_30",
    "mean_uplift",
    "treatment_share",
)


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
        ``recall``, ``f1``, ``brier``, ``ece`` (expected calibration error,
        10 bins), ``log_loss``, ``top_decile_lift`` and
        ``threshold``. Ranking metrics (and the lift) are NaN when the
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
        "ece": calibration_error(y.astype(bool), p),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        # tie-aware, exactly the evaluation layer's definition
        "top_decile_lift": float(lift_score(y, p, fraction=0.1)) if both else nan,
        "threshold": float(threshold),
    }


def uplift_metrics(
    y_true: np.ndarray,
    treatment: np.ndarray,
    uplift: np.ndarray,
    *,
    outcomes: np.ndarray | None = None,
) -> dict[str, float]:
    """Measure an uplift model on a campaign (its validation metrics).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    uplift : array-like of shape (n_samples,)
        Predicted uplift (churn probability the offer removes).
    outcomes : ndarray of shape (n_samples, 2) or None, default=None
        Predicted P(churn) without and with the offer (``predict_outcomes``
        of a two-model or X-learner); adds the churn metrics of
        :func:`churn_metrics` for each customer's own arm (the outcome that
        was observed), without ``threshold``.

    Returns
    -------
    dict of str to float
        ``qini_coefficient`` (0 random, 1 perfect), ``auuc`` (normalised:
        share of the base kept, averaged over campaign sizes), ``uplift_at_30``
        (churn rate prevented among the top 30 %; NaN when that top holds one
        arm only), ``mean_uplift``, ``treatment_share``, and the churn
        metrics when ``outcomes`` is given.

    Examples
    --------
    >>> from churnlib.training._metrics import uplift_metrics
    >>> m = uplift_metrics([0, 1, 0, 1, 1, 0], [1, 0, 1, 0, 1, 0], [6, 5, 4, 3, 2, 1])
    >>> round(m["qini_coefficient"], 4), m["treatment_share"]
    (0.3846, 0.5)
    """
    from churnlib.evaluation import auuc, qini_coefficient, uplift_at_k
    from churnlib.exceptions import DataValidationError

    y = np.asarray(y_true).astype(bool)
    t = np.asarray(treatment).astype(bool)
    u = np.asarray(uplift, dtype=float)
    try:
        at_30 = float(uplift_at_k(y, u, t, k=0.3))
    except DataValidationError:  # the top 30 % holds a single arm
        at_30 = float("nan")
    out = {
        "qini_coefficient": float(qini_coefficient(y, u, t)),
        "auuc": float(auuc(y, u, t)),
        "uplift_at_30": at_30,
        "mean_uplift": float(np.mean(u)),
        "treatment_share": float(np.mean(t)),
    }
    if outcomes is not None:
        p = np.asarray(outcomes, dtype=float)
        own_arm = np.where(t, p[:, 1], p[:, 0])
        churn = churn_metrics(y, own_arm)
        churn.pop("threshold")
        out.update(churn)
    return out
