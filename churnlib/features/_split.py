"""``train_test_split_churn``: stratified or out-of-time train/test splits."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing

from churnlib._core.cleaning import python_scalar
from churnlib._validation import Interval, validate_params
from churnlib.exceptions import DataValidationError

__all__ = ["train_test_split_churn"]


def _n_test(test_size: float, n: int) -> int:
    if isinstance(test_size, Integral):
        n_test = int(test_size)
    else:
        n_test = math.ceil(test_size * n)
    if not 1 <= n_test <= n - 1:
        raise DataValidationError(
            f"test_size={test_size!r} leaves {n_test} test and {n - n_test} train "
            f"rows out of {n}; both parts need at least one row. Use a test_size "
            "between 0 and 1 or pass more rows."
        )
    return n_test


def _labels(y: Any) -> np.ndarray:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataValidationError(
                f"y must be one label column, got a DataFrame with {y.shape[1]} "
                "columns. Pass the churn column as a Series.",
                columns=list(y.columns),
            )
        y = y.iloc[:, 0]
    values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1:
        raise DataValidationError(
            f"y must be one-dimensional, got shape {values.shape}. Pass the churn "
            "label as a Series or a 1D array."
        )
    if pd.isna(values).any():
        raise DataValidationError(
            f"y has {int(pd.isna(values).sum())} missing label(s). Drop the rows "
            "without a label (they are not yet known to churn or stay) first."
        )
    return values


def train_test_split_churn(
    X: Any,
    y: Any,
    *,
    test_size: float = 0.2,
    random_state: Any = None,
    time_column: str | None = None,
    stratify: bool = True,
) -> tuple[Any, Any, Any, Any]:
    """Split a churn table into train and test parts.

    By default the split is random and **stratified** on ``y``: both parts
    keep the churn rate of the whole table, which matters because churners
    are usually a minority. With ``time_column`` the split is **out of
    time**: the model trains on the earliest rows and is tested on the
    latest, as it will be used in production. No test row is older than any
    train row; rows sharing the cut-off time all go to the test part, so the
    test part may be slightly larger than ``test_size``.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Features. Must be a DataFrame when ``time_column`` is given.
    y : Series or array-like of shape (n_samples,)
        Churn labels.
    test_size : float or int, default=0.2
        Fraction of rows in (0, 1), or number of rows, for the test part.
    random_state : int, RandomState instance or None, default=None
        Seed of the random split (unused with ``time_column``).
    time_column : str, default=None
        Column of ``X`` holding each row's time (dates or numbers) for an
        out-of-time split. It stays in the returned frames.
    stratify : bool, default=True
        Keep the class balance in both parts of a random split.

    Returns
    -------
    X_train, X_test, y_train, y_test
        The parts, of the same types as ``X`` and ``y`` (pandas indexes kept).

    Raises
    ------
    DataValidationError
        ``X`` and ``y`` are empty or differ in length, ``y`` has a single class,
        more than two classes or missing labels, a class has too few rows to
        stratify, or the time column is
        missing or has too few distinct values.

    Examples
    --------
    >>> from churnlib.data import generate_customers
    >>> from churnlib.features import train_test_split_churn
    >>> df = generate_customers(1000, random_state=0)
    >>> X, y = df.drop(columns="churned"), df["churned"]
    >>> X_train, X_test, y_train, y_test = train_test_split_churn(X, y, random_state=0)
    >>> len(X_train), len(X_test)
    (800, 200)
    >>> bool(abs(y_train.mean() - y_test.mean()) < 0.01)
    True
    """
    validate_params(
        {
            "test_size": [
                Interval(Real, 0, 1, closed="neither"),
                Interval(Integral, 1, None, closed="left"),
            ],
            "random_state": ["random_state"],
            "time_column": [str, None],
            "stratify": ["boolean"],
        },
        {
            "test_size": test_size,
            "random_state": random_state,
            "time_column": time_column,
            "stratify": stratify,
        },
        "train_test_split_churn",
    )
    if not hasattr(X, "__len__") or isinstance(X, str):
        raise DataValidationError(
            f"X must be a table (DataFrame or 2D array), got {type(X).__name__}."
        )
    labels = _labels(y)
    n = len(X)
    if n != len(labels):
        raise DataValidationError(
            f"X has {n} rows but y has {len(labels)} labels; they must describe the "
            "same customers, row for row."
        )
    if n == 0:
        raise DataValidationError(
            "X and y are empty: there are no customers to split. Check the filter "
            "or file that produced the table."
        )
    classes, counts = np.unique(labels.astype(str), return_counts=True)
    if len(classes) > 2:
        raise DataValidationError(
            f"y has {len(classes)} classes ({', '.join(map(repr, classes[:5]))}): a "
            "churn label has two (churned or not). Decode it first, e.g. with "
            "churnlib.decode_labels(y, pos_label=<the churn label>)."
        )
    if len(classes) < 2:
        raise DataValidationError(
            f"y has a single class ({python_scalar(labels[0])!r} for all {n} rows): "
            "a churn model "
            "needs both churners and non-churners. Check the label column and the "
            "filter that produced the table."
        )
    n_test = _n_test(test_size, n)

    if time_column is not None:
        if not isinstance(X, pd.DataFrame) or time_column not in X.columns:
            have = list(X.columns)[:20] if isinstance(X, pd.DataFrame) else "no names"
            raise DataValidationError(
                f"time_column={time_column!r} is not a column of X (X has {have}). "
                "Pass a DataFrame holding the time of each row.",
                columns=[time_column],
            )
        t = X[time_column]
        if t.isna().any():
            raise DataValidationError(
                f"time column {time_column!r} has {int(t.isna().sum())} missing "
                "value(s); every row needs a time for an out-of-time split.",
                columns=[time_column],
            )
        try:
            order = np.sort(t.to_numpy())
        except TypeError as err:
            raise DataValidationError(
                f"time column {time_column!r} holds values that cannot be ordered "
                f"({err}). Convert it with pd.to_datetime or to numbers.",
                columns=[time_column],
            ) from err
        cutoff = order[n - n_test]
        test_mask = (t >= cutoff).to_numpy()
        if test_mask.all():
            raise DataValidationError(
                f"time column {time_column!r} has too few distinct values to put "
                f"the latest {n_test} rows in the test part without sharing a time "
                "with the train part. Use a smaller test_size or a finer clock.",
                columns=[time_column],
            )
        train_idx = np.flatnonzero(~test_mask)
        test_idx = np.flatnonzero(test_mask)
        if len(np.unique(labels[train_idx].astype(str))) < 2:
            raise DataValidationError(
                f"the train part (rows before {cutoff!r}) has a single class; an "
                "out-of-time split needs both churners and non-churners in the past.",
                columns=[time_column],
            )
        return (
            _safe_indexing(X, train_idx),
            _safe_indexing(X, test_idx),
            _safe_indexing(y, train_idx),
            _safe_indexing(y, test_idx),
        )

    strat = None
    if stratify:
        small = classes[counts < 2]
        if len(small):
            raise DataValidationError(
                f"class(es) {small.tolist()} of y have fewer than 2 rows; a "
                "stratified split needs at least 2 rows per class (one per part). "
                "Collect more data or pass stratify=False."
            )
        n_classes = len(classes)
        if n_test < n_classes or n - n_test < n_classes:
            raise DataValidationError(
                f"test_size={test_size!r} gives {n_test} test and {n - n_test} train "
                f"rows, too few to hold each of the {n_classes} classes. Use a "
                "test_size closer to 0.5 or pass more rows."
            )
        strat = labels
    return tuple(
        train_test_split(
            X, y, test_size=n_test, random_state=random_state, stratify=strat
        )
    )
