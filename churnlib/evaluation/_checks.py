"""Input checks shared by the evaluation metrics, Displays and the report.

Every function here turns user input into plain numpy arrays or raises a
:class:`~churnlib.exceptions.DataValidationError` that says what is wrong and
how to fix it -- never a cryptic numpy error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.cleaning import python_scalar
from churnlib._core.model_facts import final_estimator as _final_estimator
from churnlib.exceptions import DataValidationError, InvalidParameterError


def _as_1d(values: Any, name: str, caller: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataValidationError(
                f"{caller}: {name} must be one-dimensional, got a DataFrame with "
                f"{values.shape[1]} columns {list(values.columns)[:5]}. Pass one "
                "column, e.g. df['churned'].",
                columns=values.columns,
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        hint = ""
        if name == "y_score" and arr.ndim == 2 and arr.shape[1] == 2:
            hint = (
                " This looks like the output of predict_proba: pass the column of "
                "the churn class, e.g. model.predict_proba(X)[:, 1]."
            )
        raise DataValidationError(
            f"{caller}: {name} must be one-dimensional, got an array of shape "
            f"{arr.shape}.{hint}"
        )
    return arr


def check_scores(
    y_score: Any,
    *,
    name: str = "y_score",
    caller: str,
    probabilities: bool = False,
) -> np.ndarray:
    """Return ``y_score`` as a finite float64 vector (in [0, 1] if required)."""
    arr = _as_1d(y_score, name, caller)
    try:
        scores = arr.astype(np.float64, copy=False)
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            f"{caller}: {name} must contain numbers (predicted churn scores); got "
            f"values of dtype {arr.dtype} such as {arr[:3].tolist()!r}."
        ) from err
    finite = np.isfinite(scores)
    if not finite.all():
        bad = int(np.size(finite) - np.count_nonzero(finite))
        raise DataValidationError(
            f"{caller}: {name} contains {bad} NaN or infinite value(s). Impute or "
            "drop those rows before evaluating."
        )
    if probabilities and scores.size:
        lo, hi = float(scores.min()), float(scores.max())
        if lo < 0.0 or hi > 1.0:
            raise DataValidationError(
                f"{caller}: {name} must be probabilities in [0, 1], got values in "
                f"[{lo:.6g}, {hi:.6g}]. Use predict_proba (not decision_function) "
                "or calibrate the scores."
            )
    return scores


def check_binary_target(
    y_true: Any, *, pos_label: Any = None, caller: str
) -> tuple[np.ndarray, Any]:
    """Return ``(y == pos_label as bool array, pos_label)``; both classes present."""
    y = _as_1d(y_true, "y_true", caller)
    if y.dtype == np.bool_:
        classes = [c for c in (False, True) if (y.any() if c else not y.all())]
    else:
        if y.size and pd.isna(y).any():
            raise DataValidationError(
                f"{caller}: y_true contains {int(pd.isna(y).sum())} missing "
                "value(s). Drop the rows whose outcome is unknown."
            )
        classes = sorted(pd.unique(y).tolist(), key=repr)
    if len(classes) > 2:
        raise DataValidationError(
            f"{caller}: y_true must be binary (churned or not), got {len(classes)} "
            f"classes such as {classes[:5]!r}."
        )
    if len(classes) < 2:
        present = python_scalar(classes[0]) if classes else "nothing"
        raise DataValidationError(
            f"{caller}: y_true contains a single class ({present!r}); these "
            "metrics need both churners and non-churners. Evaluate on a larger "
            "or stratified sample."
        )
    if pos_label is None:
        if y.dtype == np.bool_ or set(classes) <= {0, 1, -1}:
            pos_label = True if y.dtype == np.bool_ else 1
        else:
            raise DataValidationError(
                f"{caller}: y_true has classes {classes!r}; cannot tell which one "
                "means 'churned'. Pass pos_label, e.g. pos_label="
                f"{classes[-1]!r}."
            )
    if pos_label not in classes:
        raise DataValidationError(
            f"{caller}: pos_label={pos_label!r} is not a class of y_true "
            f"(classes {classes!r}). Pass the label that means 'churned'."
        )
    if y.dtype == np.bool_:
        y_bool = y if pos_label else ~y
    else:
        y_bool = np.asarray(y == pos_label, dtype=bool)
    return y_bool, pos_label


def check_sample_weight(
    sample_weight: Any, n: int, *, caller: str
) -> np.ndarray | None:
    """Return ``sample_weight`` as a non-negative float vector of length ``n``."""
    if sample_weight is None:
        return None
    w = check_scores(sample_weight, name="sample_weight", caller=caller)
    if w.shape[0] != n:
        raise DataValidationError(
            f"{caller}: sample_weight has {w.shape[0]} values but y_true has {n}."
        )
    if (w < 0).any():
        raise DataValidationError(f"{caller}: sample_weight must be non-negative.")
    return w


def check_binary_scores(
    y_true: Any,
    y_score: Any,
    *,
    sample_weight: Any = None,
    pos_label: Any = None,
    caller: str,
    probabilities: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate a (labels, scores, weights) triple for the binary churn metrics."""
    n_true = len(y_true) if hasattr(y_true, "__len__") else None
    n_score = len(y_score) if hasattr(y_score, "__len__") else None
    if n_true is not None and n_score is not None and n_true != n_score:
        raise DataValidationError(
            f"{caller}: y_true and y_score have different lengths ({n_true} and "
            f"{n_score}). Pass one score per customer."
        )
    y, _ = check_binary_target(y_true, pos_label=pos_label, caller=caller)
    scores = check_scores(y_score, caller=caller, probabilities=probabilities)
    if scores.shape[0] != y.shape[0]:
        raise DataValidationError(
            f"{caller}: y_true and y_score have different lengths ({y.shape[0]} and "
            f"{scores.shape[0]}). Pass one score per customer."
        )
    w = check_sample_weight(sample_weight, y.shape[0], caller=caller)
    if w is not None and (w[y].sum() <= 0 or w[~y].sum() <= 0):
        raise DataValidationError(
            f"{caller}: sample_weight gives zero total weight to one class; "
            "both churners and non-churners need positive weight."
        )
    return y, scores, w


def positive_proba(
    estimator: Any, X: Any, *, pos_label: Any = None, caller: str
) -> tuple[np.ndarray, Any]:
    """Return the predicted probability of the positive (churn) class."""
    if not hasattr(estimator, "predict_proba"):
        raise InvalidParameterError(
            f"{caller} needs a classifier with predict_proba; "
            f"{type(estimator).__name__} has none. Use a probabilistic classifier "
            "or wrap it in sklearn.calibration.CalibratedClassifierCV."
        )
    proba = np.asarray(estimator.predict_proba(X))
    classes = list(getattr(estimator, "classes_", [0, 1]))
    if proba.ndim != 2 or proba.shape[1] != 2 or len(classes) != 2:
        raise DataValidationError(
            f"{caller}: the model must be a binary classifier; predict_proba "
            f"returned shape {proba.shape} for classes {classes!r}."
        )
    if pos_label is None:
        pos_label = classes[-1]
        if not set(classes) <= {0, 1, -1}:  # False/True compare equal to 0/1
            raise DataValidationError(
                f"{caller}: the model's classes are {classes!r}; cannot tell which "
                f"one means 'churned'. Pass pos_label, e.g. pos_label={classes[-1]!r}."
            )
    if pos_label not in classes:
        raise DataValidationError(
            f"{caller}: pos_label={pos_label!r} is not one of the model's classes "
            f"{classes!r}."
        )
    return proba[:, classes.index(pos_label)], pos_label


def final_estimator(model: Any) -> Any:
    """Return the estimator doing the work: last pipeline step, unwrapped.

    The one rule lives in :func:`churnlib._core.model_facts.final_estimator`
    (threshold wrappers are unwrapped to their fitted ``estimator_``, so names
    and impurity importances refer to the real model).
    """
    return _final_estimator(model)
