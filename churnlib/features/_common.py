"""Input handling shared by the churnlib transformers (private).

Every transformer turns its input into a :class:`pandas.DataFrame` with string
column names once, at the boundary: real names when the caller passed a frame
with string column names, ``x0, x1, ...`` (scikit-learn's generated names)
otherwise. Bad inputs raise :class:`~churnlib.exceptions.DataValidationError`
with a message naming what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from churnlib.exceptions import DataValidationError

__all__: list[str] = []

_POSITIONAL = re.compile(r"^x\d+$")


def positional_names(n: int) -> list[str]:
    """scikit-learn's generated feature names ``x0 ... x{n-1}``."""
    return [f"x{i}" for i in range(n)]


def to_frame(X: Any, *, caller: str) -> tuple[pd.DataFrame, bool]:
    """Return ``(frame, named)`` for any 2-D input.

    ``named`` is True when ``X`` was a DataFrame whose column names are all
    strings; the frame then keeps them. Otherwise the columns are renamed
    ``x0, x1, ...``. Raises DataValidationError for sparse, 1-D, 3-D, complex
    or otherwise unusable input.
    """
    if sparse.issparse(X):
        raise DataValidationError(
            f"{caller} does not accept sparse input: its checks are per column of "
            "a dense table. Pass a DataFrame or a dense array (X.toarray())."
        )
    if isinstance(X, pd.Series):
        raise DataValidationError(
            f"{caller} expects a 2D table, got a Series "
            f"{X.name!r}. Use X.to_frame() for a single column.",
            columns=() if X.name is None else (X.name,),
        )
    if isinstance(X, pd.DataFrame):
        cols = X.columns
        if isinstance(cols, pd.MultiIndex):
            raise DataValidationError(
                f"{caller} expects flat column names, got a MultiIndex. "
                "Flatten them first, e.g. "
                "X.columns = ['_'.join(map(str, c)) for c in X.columns]."
            )
        is_str = [isinstance(c, str) for c in cols]
        if len(cols) and all(is_str):
            if cols.has_duplicates:
                dup = sorted(set(cols[cols.duplicated()]))
                raise DataValidationError(
                    f"{caller} found duplicated column names {dup}. Rename them so "
                    "each column has one name.",
                    columns=dup,
                )
            return X, True
        if any(is_str):
            odd = [c for c in cols if not isinstance(c, str)][:5]
            raise DataValidationError(
                f"{caller} found column names that are not all strings (e.g. "
                f"{odd!r}). Use string names for every column "
                "(X.columns = X.columns.astype(str)) or none at all.",
                columns=[str(c) for c in odd],
            )
        return X.set_axis(positional_names(X.shape[1]), axis=1), False
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            f"{caller} could not read X of type {type(X).__name__} as a 2D table: "
            f"{err}. Pass a DataFrame or a 2D array."
        ) from err
    if arr.ndim != 2:
        raise DataValidationError(
            f"{caller} expects a 2D table, got an array with {arr.ndim} dimension(s) "
            f"(shape={arr.shape}). Reshape your data using X.reshape(-1, 1) if it "
            "has a single feature or X.reshape(1, -1) if it is a single sample."
        )
    if np.iscomplexobj(arr):
        raise DataValidationError(
            f"Complex data not supported by {caller}: pass real numbers."
        )
    return pd.DataFrame(arr, columns=positional_names(arr.shape[1]), copy=False), False


def check_not_empty(df: pd.DataFrame, *, caller: str) -> None:
    """Raise when the table has no rows or no columns."""
    n, k = df.shape
    if k == 0:
        raise DataValidationError(
            f"Found array with 0 feature(s) (shape=({n}, 0)) while a minimum of 1 "
            f"is required by {caller}. Pass at least one column."
        )
    if n == 0:
        raise DataValidationError(
            f"Found array with {n} sample(s) (shape=({n}, {k})) while a minimum of "
            f"1 is required by {caller}. The input is empty: check the "
            "filter or query that produced it.",
            columns=[str(c) for c in df.columns],
        )


def start_fit(estimator: Any, X: Any) -> pd.DataFrame:
    """Frame ``X`` for ``fit`` and record what scikit-learn records.

    Raises on unusable or empty input, sets ``n_features_in_`` and, when
    ``X`` is a frame with string column names, ``feature_names_in_`` (deleted
    otherwise, as a refit on an array must forget the old names).
    """
    caller = type(estimator).__name__
    df, named = to_frame(X, caller=caller)
    check_not_empty(df, caller=caller)
    estimator.n_features_in_ = df.shape[1]
    if named:
        estimator.feature_names_in_ = np.asarray(df.columns, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return df


def fitted_names(estimator: Any) -> list[str]:
    """Column names seen at fit: the real ones, or ``x0, x1, ...``."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return positional_names(estimator.n_features_in_)
    return list(names)


def align_for_transform(
    estimator: Any, df: pd.DataFrame, named: bool
) -> tuple[pd.DataFrame, bool]:
    """Give a transform-time frame the column names ``estimator`` saw at fit.

    A frame with string names, for an estimator fitted on one, is returned as
    is (columns are then matched by name). Anything else is matched by
    position, after checking the number of columns; the result then has the
    fitted names. Returns ``(frame, by_name)``.
    """
    if named and hasattr(estimator, "feature_names_in_"):
        return df, True
    expected = fitted_names(estimator)
    if df.shape[1] != len(expected):
        raise DataValidationError(
            f"X has {df.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {len(expected)} features as input. Columns of a plain array "
            "are matched by position; pass a DataFrame with the column names used "
            "at fit to match by name."
        )
    return df.set_axis(expected, axis=1), False


def is_numeric_dtype(dtype: Any) -> bool:
    """Tell whether ``dtype`` holds real numbers (bool excluded, extensions in)."""
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def output_names(fitted_names: Sequence[str], input_features: Any) -> dict[str, str]:
    """Map internal positional names to user-given ``input_features`` names."""
    if input_features is None:
        return {}
    given = [str(c) for c in input_features]
    return {
        old: new
        for old, new in zip(fitted_names, given, strict=False)
        if old != new and _POSITIONAL.match(old)
    }
