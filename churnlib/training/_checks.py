"""Input checks run before any MLflow run is created."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError

__all__ = ["check_training_data", "check_validation_data"]


def _as_frame(X: Any, name: str) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if X is None:
        raise DataValidationError(
            f"{name} is None; pass a pandas DataFrame of features."
        )
    try:
        arr = np.asarray(X)
    except Exception as err:  # pragma: no cover - exotic inputs
        raise DataValidationError(
            f"{name} of type {type(X).__name__} cannot be read as a table; pass a "
            "pandas DataFrame."
        ) from err
    if arr.ndim != 2:
        raise DataValidationError(
            f"{name} must be 2-dimensional (rows x feature columns); got an array "
            f"of shape {arr.shape}. Pass a pandas DataFrame."
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _as_labels(y: Any, name: str) -> pd.Series:
    if y is None:
        raise DataValidationError(f"{name} is None; pass the churn labels.")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataValidationError(
                f"{name} must be one column of labels; got a DataFrame with columns "
                f"{list(y.columns)}. Pass the label Series, e.g. df['churned'].",
                columns=y.columns,
            )
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        return y.reset_index(drop=True)
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataValidationError(
            f"{name} must be 1-dimensional; got an array of shape {arr.shape}."
        )
    return pd.Series(arr)


def _check_labels(y: pd.Series, name: str, *, need_both: bool) -> np.ndarray:
    missing = y.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataValidationError(
            f"{name} holds {rows.size} missing label(s) (NaN/None), first at row "
            f"position(s) {rows[:5].tolist()}. Drop those rows or fill in the labels "
            "before training."
        )
    values = y.to_numpy()
    if y.dtype == bool or pd.api.types.is_bool_dtype(y.dtype):
        labels = values.astype(bool)
    elif pd.api.types.is_numeric_dtype(y.dtype) and np.isin(values, (0, 1)).all():
        labels = values.astype(np.int64)
    else:
        seen = pd.unique(y)[:5].tolist()
        raise DataValidationError(
            f"{name} must hold churn labels as bool or 0/1 (True/1 = churned); got "
            f"values like {seen}. Encode them first, e.g. y = (y == 'Yes'), or read "
            "the table with churnlib.data.read_churn_table(..., positive=...)."
        )
    if need_both and np.unique(labels).size < 2:
        only = labels[0].item() if labels.size else None
        raise DataValidationError(
            f"{name} holds a single class ({only!r} for all {labels.size} rows); a "
            "churn model needs both churners and non-churners. Check the label "
            "column and any filtering applied before training."
        )
    return np.asarray(labels)


def _usable_columns(X: pd.DataFrame) -> list[str]:
    """Columns carrying information: not all-missing, not constant, not an id."""
    n = len(X)
    counts = X.nunique(dropna=True)
    usable = []
    for col, count in counts.items():  # a loop over columns, not rows
        if count <= 1:
            continue
        is_text = not pd.api.types.is_numeric_dtype(X[col].dtype) and not (
            pd.api.types.is_bool_dtype(X[col].dtype)
        )
        if is_text and n > 20 and count == n:  # every value unique: an identifier
            continue
        usable.append(str(col))
    return usable


def check_shape(X: pd.DataFrame, y: pd.Series) -> None:
    """Check what must hold before columns are looked at: rows, columns, lengths."""
    if len(X) != len(y):
        raise DataValidationError(
            f"X has {len(X)} rows but y has {len(y)} labels; they must "
            "describe the same customers, one label per row."
        )
    if len(X) == 0:
        raise DataValidationError("X is empty (0 rows); pass at least a few customers.")
    if X.shape[1] == 0:
        raise DataValidationError(
            "X has no columns; pass the customer feature columns (tenure, contract, "
            "charges, ...)."
        )


def check_training_data(X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Validate training data; return ``(X as DataFrame, labels as bool/0-1 array)``.

    Raises
    ------
    DataValidationError
        Empty data, length mismatch, missing or non-binary labels, a single
        class, or no usable feature column.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.training._checks import check_training_data
    >>> X, y = check_training_data(pd.DataFrame({"a": [1, 2, 3]}), [0, 1, 0])
    >>> y
    array([0, 1, 0])
    >>> check_training_data(pd.DataFrame({"a": [1, 2]}), [1, 1])
    Traceback (most recent call last):
    ...
    churnlib.exceptions.DataValidationError: y holds a single class (1 for all...
    """
    X = _as_frame(X, "X")
    y_series = _as_labels(y, "y")
    if len(X) != len(y_series):
        raise DataValidationError(
            f"X has {len(X)} rows but y has {len(y_series)} labels; they must "
            "describe the same customers, one label per row."
        )
    if len(X) == 0:
        raise DataValidationError("X is empty (0 rows); pass at least a few customers.")
    labels = _check_labels(y_series, "y", need_both=True)
    if X.shape[1] == 0:
        raise DataValidationError(
            "X has no columns; pass the customer feature columns (tenure, contract, "
            "charges, ...)."
        )
    if not _usable_columns(X):
        raise DataValidationError(
            f"X has no usable feature column: every column of {list(X.columns)[:10]} "
            "is empty, constant or an identifier (a unique text value per row). "
            "Pass the customer features, not only their ids.",
            columns=X.columns,
        )
    return X, labels


def check_validation_data(
    X_valid: Any, y_valid: Any, columns: pd.Index
) -> tuple[pd.DataFrame, np.ndarray] | tuple[None, None]:
    """Validate the optional validation pair against the training columns."""
    if X_valid is None and y_valid is None:
        return None, None
    if X_valid is None or y_valid is None:
        given, missing = (
            ("X_valid", "y_valid") if y_valid is None else ("y_valid", "X_valid")
        )
        raise DataValidationError(
            f"{given} was given without {missing}; pass both or neither."
        )
    X_valid = _as_frame(X_valid, "X_valid")
    y_series = _as_labels(y_valid, "y_valid")
    if len(X_valid) != len(y_series):
        raise DataValidationError(
            f"X_valid has {len(X_valid)} rows but y_valid has {len(y_series)} "
            "labels; pass one label per row."
        )
    if len(X_valid) == 0:
        raise DataValidationError("X_valid is empty (0 rows).")
    absent = [c for c in columns if c not in X_valid.columns]
    if absent:
        raise DataValidationError(
            f"X_valid lacks training column(s) {absent[:10]}; validate on data "
            "with the same columns as X.",
            columns=absent,
        )
    labels = _check_labels(y_series, "y_valid", need_both=False)
    return X_valid, labels
