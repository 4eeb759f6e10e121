"""The one home for facts about a fitted churn model.

Which ``predict_proba`` column means churn, which threshold decides, which
estimator sits at the end: every stage asks here, so no two stages can
disagree.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from churnlib._core.contract import get_contract
from churnlib._core.labels import infer_label_rule
from churnlib.exceptions import DataValidationError, InvalidParameterError

__all__ = [
    "churn_proba",
    "final_estimator",
    "model_fingerprint",
    "model_threshold",
    "positive_index",
    "through_pipeline",
]


def final_estimator(model: Any) -> Any:
    """Return the classifier at the end of a pipeline, unwrapped.

    Pipelines give their last step; threshold and calibration wrappers
    (``TunedThresholdClassifierCV``, ``FixedThresholdClassifier``) give the
    fitted estimator they wrap.
    """
    while True:
        steps = getattr(model, "steps", None)
        if isinstance(steps, list) and steps:
            model = steps[-1][1]
            continue
        inner = getattr(model, "estimator_", None)
        if inner is not None and type(model).__name__ in (
            "TunedThresholdClassifierCV",
            "FixedThresholdClassifier",
        ):
            model = inner
            continue
        return model


def _classes(model: Any) -> np.ndarray:
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise InvalidParameterError(
            f"The model must be a fitted binary classifier with predict_proba and "
            f"classes_. Got {type(model).__name__} without classes_: fit it first."
        )
    return np.asarray(classes)


def positive_index(model: Any) -> int:
    """Return the column of ``model.predict_proba`` holding P(churn).

    Decided from, in order: the model's contract (its label rule), a
    ``pos_label`` attribute, then the one label rule of
    :func:`churnlib.infer_label_rule` applied to ``classes_`` (``True``,
    ``1``, ``"Yes"``, ``"Left"``, ``"Attrited Customer"``...).

    Raises
    ------
    InvalidParameterError
        If the model is not a fitted binary classifier.
    DataValidationError
        If its classes do not say which one is churn (for example ``1``/``2``
        or ``"a"``/``"b"``): churnlib refuses rather than guesses.
    """
    classes = _classes(model)
    if len(classes) != 2:
        raise InvalidParameterError(
            "The model must be a binary classifier (churned or not). Got a model "
            f"with {len(classes)} classes {classes.tolist()!r}."
        )
    listed = [c.item() if isinstance(c, np.generic) else c for c in classes]
    contract = get_contract(model)
    candidates = []
    if contract is not None and contract.labels is not None:
        candidates.append(contract.labels.pos_label)
    candidates.append(getattr(model, "pos_label", None))
    for pos in candidates:
        if pos is None:
            continue
        for i, c in enumerate(listed):
            if type(c) is type(pos) and c == pos:
                return i
    if classes.dtype.kind == "b" or set(listed) <= {0, 1}:
        return listed.index(True) if True in listed else listed.index(1)
    try:
        rule = infer_label_rule(listed)
    except DataValidationError as err:
        raise DataValidationError(
            f"Cannot tell which class of the model means churn: its classes are "
            f"{listed!r}. Train it on churn labels churnlib can read (True/False, "
            "1/0, Yes/No, or text naming churn such as 'Left'), or with "
            "churnlib.training.ChurnTrainer, which records the churn label in the "
            "model's contract."
        ) from err
    return listed.index(rule.pos_label)


def model_threshold(model: Any) -> float | None:
    """Return the decision threshold a fitted model carries, if any.

    The contract's threshold first; then scikit-learn's
    ``TunedThresholdClassifierCV`` (``best_threshold_``) and
    ``FixedThresholdClassifier`` (numeric ``threshold``) when they threshold
    ``predict_proba``, and a ``threshold_`` attribute set by other wrappers.
    """
    contract = get_contract(model)
    if contract is not None:
        return contract.threshold
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        model = steps[-1][1]
    response = getattr(model, "response_method", "auto")
    if response not in ("auto", "predict_proba"):
        return None  # thresholds on decision_function do not apply to probabilities
    for attr in ("best_threshold_", "threshold_"):
        value = getattr(model, attr, None)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    if type(model).__name__ == "FixedThresholdClassifier":
        value = getattr(model, "threshold", None)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    return None


def churn_proba(model: Any, X: Any) -> np.ndarray:
    """Return P(churn) for each row: the positive column of ``predict_proba``.

    Parameters
    ----------
    model : fitted classifier
    X : array-like or DataFrame
        Rows as the model expects them (see
        :meth:`churnlib.ModelContract.prepare` for raw tables).

    Returns
    -------
    ndarray of float64, shape (n_samples,)
    """
    if not callable(getattr(model, "predict_proba", None)):
        raise InvalidParameterError(
            "The model must be a fitted classifier with predict_proba. Got "
            f"{type(model).__name__}."
        )
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    return proba[:, positive_index(model)]


def through_pipeline(model: Any, X: Any) -> tuple[Any, Any]:
    """Return the last step of (nested) pipelines and ``X`` transformed for it.

    For estimators whose method a ``Pipeline`` does not forward (an uplift
    model's ``predict_uplift``, ``predict_outcomes``): every step but the last
    transforms, then the caller calls the method on the last step.
    """
    from sklearn.pipeline import Pipeline

    final, Xt = model, X
    while isinstance(final, Pipeline):
        if len(final.steps) > 1:
            Xt = final[:-1].transform(Xt)
        final = final[-1]
    return final, Xt


def model_fingerprint(model: Any) -> str:
    """Return a content hash naming a fitted model (``"sha-<12 hex>"``)."""
    import joblib

    return "sha-" + str(joblib.hash(model))[:12]
