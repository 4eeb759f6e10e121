"""Small churn-domain transformers that append features to a table.

Each transformer reads a few named columns, appends its new column(s) and
passes every input column through, so they chain in a
:class:`~sklearn.pipeline.Pipeline` in front of :class:`ChurnPreprocessor`.
DataFrame in, DataFrame out; an array in gives an array out (columns are then
referred to by position).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from churnlib._validation import validate_estimator_params
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.features._common import (
    align_for_transform,
    check_not_empty,
    start_fit,
    to_frame,
)
from churnlib.features._validator import coerce_numeric

__all__ = ["ChargeRatios", "ServiceCount", "TenureBucketer"]

# Text values meaning "does not have the service" (compared lower-cased).
_NO_SERVICE = frozenset({"", "no", "none", "false", "0", "n", "0.0"})


class _ColumnSpec:
    """Constraint: a column name (str) or position (int >= 0)."""

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        return isinstance(value, str) or (
            isinstance(value, Integral) and int(value) >= 0
        )

    def __str__(self) -> str:
        return "a column name (str) or a column position (int >= 0)"


class _ColumnSpecs:
    """Constraint: a non-empty list or tuple of column names or positions."""

    def is_satisfied_by(self, value: Any) -> bool:
        return (
            isinstance(value, list | tuple)
            and len(value) > 0
            and all(_ColumnSpec().is_satisfied_by(v) for v in value)
        )

    def __str__(self) -> str:
        return "a non-empty list or tuple of column names or positions"


class _AppendingTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Fit/transform plumbing: resolve input columns, append outputs."""

    _new_names: tuple[str, ...] = ()

    def _specs(self) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, df: pd.DataFrame, *, as_frame: bool) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _check_params(self) -> None:
        """Extra parameter checks beyond the constraint table."""

    def _resolve(self, df: pd.DataFrame, named: bool, spec: Any) -> str:
        caller = type(self).__name__
        if isinstance(spec, str):
            if named and spec in df.columns:
                return spec
            where = (
                f"X has columns {list(df.columns)[:20]}"
                if named
                else f"X has {df.shape[1]} feature(s) and no column names "
                "(refer to columns by position with an int)"
            )
            raise DataValidationError(
                f"{caller} needs column {spec!r}, but {where}. Pass the column "
                "name(s) your table uses, e.g. "
                f"{caller}({self._example_kwarg()}).",
                columns=[spec],
            )
        pos = int(spec)
        if pos >= df.shape[1]:
            raise DataValidationError(
                f"{caller} needs the column at position {pos}, but X has "
                f"{df.shape[1]} feature(s).",
                columns=[str(pos)],
            )
        return str(df.columns[pos])

    def _example_kwarg(self) -> str:
        return ""

    def fit(self, X: Any, y: Any = None) -> Any:
        """Find the input columns and check that they hold usable values.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Input table.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        validate_estimator_params(self)
        self._check_params()
        caller = type(self).__name__
        df = start_fit(self, X)
        named = hasattr(self, "feature_names_in_")
        resolved = [self._resolve(df, named, spec) for spec in self._specs()]
        clash = [n for n in self._new_names if n in df.columns]
        if clash:
            raise DataValidationError(
                f"{caller} would add column(s) {clash}, which X already has. "
                "Rename or drop them first.",
                columns=clash,
            )
        self.input_columns_ = resolved
        self._compute(df, as_frame=named)  # fail at fit on unusable values
        return self

    def transform(self, X: Any) -> Any:
        """Append the new column(s) to ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table with the columns seen at fit, in the same order.

        Returns
        -------
        X_out : DataFrame or ndarray of shape (n_samples, n_features + n_new)
            ``X`` with the new column(s) appended: a DataFrame for DataFrame
            input, a float array otherwise.
        """
        check_is_fitted(self)
        caller = type(self).__name__
        df, named = to_frame(X, caller=caller)
        check_not_empty(df, caller=caller)
        # plain arrays are matched by position; named frames strictly, as
        # scikit-learn does: same names in the same order
        df, by_name = align_for_transform(self, df, named)
        if by_name:
            validate_data(self, X, reset=False, skip_check_array=True)
        new = self._compute(df, as_frame=isinstance(X, pd.DataFrame))
        if isinstance(X, pd.DataFrame):
            extra = pd.DataFrame(new, index=df.index)
            return pd.concat([df, extra], axis=1)
        arr = df.to_numpy()
        cols = [np.asarray(v, dtype="float64") for v in new.values()]
        if arr.dtype.kind in "biuf":
            return np.column_stack([arr.astype("float64", copy=False), *cols])
        return np.column_stack([arr.astype(object), *cols])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Input names followed by the appended column name(s).

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; defaults to the names seen at fit.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.asarray([*names, *self._new_names], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


def _numbers(df: pd.DataFrame, column: str, caller: str) -> np.ndarray:
    s = coerce_numeric(df[column], caller)
    values: np.ndarray = s.to_numpy(dtype="float64", na_value=np.nan)
    return values


def _bucket_labels(edges: Sequence[float]) -> list[str]:
    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    integral = all(float(e).is_integer() for e in edges)
    labels = [f"<{fmt(edges[0])}"]
    for lo, hi in itertools.pairwise(edges):
        if integral:
            top = int(hi) - 1
            labels.append(fmt(lo) if top == lo else f"{fmt(lo)}-{top}")
        else:
            labels.append(f"[{fmt(lo)}, {fmt(hi)})")
    labels.append(f"{fmt(edges[-1])}+")
    return labels


class TenureBucketer(_AppendingTransformer):
    """Append a tenure bucket (new, settling in, loyal, ...) to the table.

    Churn risk falls steeply over a customer's first year and flattens
    later, so a few tenure buckets capture most of the shape a linear model
    would otherwise miss. Bucket ``i`` holds tenures in
    ``[edges[i-1], edges[i])``; the first bucket is everything below
    ``edges[0]`` and the last everything from ``edges[-1]`` on.

    For DataFrame input the new column is an ordered categorical with labels
    such as ``"<6"``, ``"6-11"``, ``"12-23"``, ``"24-47"`` and ``"48+"``
    (for integer edges); :class:`ChurnPreprocessor` one-hot encodes it. For
    array input it holds the bucket number ``0 .. len(edges)`` as a float.
    Missing tenures give a missing bucket.

    Parameters
    ----------
    column : str or int, default="tenure_months"
        Tenure column (months), by name or position.
    edges : tuple of float, default=(6, 12, 24, 48)
        Strictly increasing bucket boundaries.
    name : str, default="tenure_bucket"
        Name of the appended column.

    Attributes
    ----------
    input_columns_ : list of str
        The resolved tenure column.
    labels_ : list of str
        Bucket labels, in order.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they were all strings.

    See Also
    --------
    ChargeRatios : Billing-history ratios.
    ServiceCount : Number of subscribed services.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.features import TenureBucketer
    >>> X = pd.DataFrame({"tenure_months": [0, 7, 30, 72]})
    >>> TenureBucketer().fit_transform(X)
       tenure_months tenure_bucket
    0              0            <6
    1              7          6-11
    2             30         24-47
    3             72           48+
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "column": [_ColumnSpec()],
        "edges": [tuple, list],
        "name": [str],
    }

    def __init__(
        self,
        column: str | int = "tenure_months",
        *,
        edges: Sequence[float] = (6, 12, 24, 48),
        name: str = "tenure_bucket",
    ) -> None:
        self.column = column
        self.edges = edges
        self.name = name

    @property
    def _new_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.name,)

    def _specs(self) -> list[Any]:
        return [self.column]

    def _example_kwarg(self) -> str:
        return "column='tenure'"

    def _check_params(self) -> None:
        edges = list(self.edges)
        ok = (
            len(edges) > 0
            and all(
                isinstance(e, Real) and not isinstance(e, bool) and np.isfinite(e)
                for e in edges
            )
            and all(a < b for a, b in itertools.pairwise(edges))
        )
        if not ok:
            raise InvalidParameterError(
                "The 'edges' parameter of TenureBucketer must be a non-empty, "
                f"strictly increasing sequence of finite numbers. Got {self.edges!r} "
                "instead."
            )
        self.labels_ = _bucket_labels(edges)

    def _compute(self, df: pd.DataFrame, *, as_frame: bool) -> dict[str, Any]:
        tenure = _numbers(df, self.input_columns_[0], type(self).__name__)
        codes = np.searchsorted(np.asarray(self.edges, dtype=float), tenure, "right")
        if as_frame:
            codes = np.where(np.isnan(tenure), -1, codes)
            dtype = pd.CategoricalDtype(self.labels_, ordered=True)
            return {self.name: pd.Categorical.from_codes(codes, dtype=dtype)}
        return {self.name: np.where(np.isnan(tenure), np.nan, codes)}


class ChargeRatios(_AppendingTransformer):
    """Append billing-history features built from total and monthly charges.

    Three columns are added:

    - ``charge_ratio`` = total / (tenure x monthly): about 1 when the bill
      has been stable, below 1 when the price went up recently (a classic
      churn trigger), above 1 when it went down;
    - ``avg_monthly_charges`` = total / tenure: what the customer paid per
      month on average (the current monthly charge when tenure is 0);
    - ``charge_increase`` = monthly - avg_monthly_charges: how much more the
      customer pays now than on average.

    Division is safe: where tenure or the monthly charge is 0 (new
    customers) ``charge_ratio`` is ``fill_value``; missing inputs give
    missing outputs, which :class:`ChurnPreprocessor` imputes.

    Parameters
    ----------
    total : str or int, default="total_charges"
        Total charges to date, by name or position.
    monthly : str or int, default="monthly_charges"
        Current monthly charge.
    tenure : str or int, default="tenure_months"
        Months as a customer.
    fill_value : float, default=nan
        ``charge_ratio`` where tenure x monthly is 0.

    Attributes
    ----------
    input_columns_ : list of str
        The resolved total, monthly and tenure columns.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they were all strings.

    See Also
    --------
    TenureBucketer : Tenure buckets.
    ServiceCount : Number of subscribed services.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.features import ChargeRatios
    >>> X = pd.DataFrame(
    ...     {
    ...         "tenure_months": [0, 10, 10],
    ...         "monthly_charges": [50.0, 50.0, 80.0],
    ...         "total_charges": [0.0, 500.0, 500.0],
    ...     }
    ... )
    >>> ChargeRatios().fit_transform(X)[
    ...     ["charge_ratio", "avg_monthly_charges", "charge_increase"]
    ... ]
       charge_ratio  avg_monthly_charges  charge_increase
    0           NaN                 50.0              0.0
    1         1.000                 50.0              0.0
    2         0.625                 50.0             30.0
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "total": [_ColumnSpec()],
        "monthly": [_ColumnSpec()],
        "tenure": [_ColumnSpec()],
        "fill_value": [Real],
    }
    _new_names = ("charge_ratio", "avg_monthly_charges", "charge_increase")

    def __init__(
        self,
        *,
        total: str | int = "total_charges",
        monthly: str | int = "monthly_charges",
        tenure: str | int = "tenure_months",
        fill_value: float = np.nan,
    ) -> None:
        self.total = total
        self.monthly = monthly
        self.tenure = tenure
        self.fill_value = fill_value

    def _specs(self) -> list[Any]:
        return [self.total, self.monthly, self.tenure]

    def _example_kwarg(self) -> str:
        return "total='TotalCharges', monthly='MonthlyCharges', tenure='tenure'"

    def _compute(self, df: pd.DataFrame, *, as_frame: bool) -> dict[str, Any]:
        caller = type(self).__name__
        total, monthly, tenure = (_numbers(df, c, caller) for c in self.input_columns_)
        expected = tenure * monthly
        zero = expected == 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = total / np.where(zero, 1.0, expected)
            ratio = np.where(zero, self.fill_value, ratio)
            new = tenure == 0
            avg = np.where(new, monthly, total / np.where(new, 1.0, tenure))
        ratio[~np.isfinite(ratio) & ~np.isnan(ratio)] = np.nan
        avg[~np.isfinite(avg) & ~np.isnan(avg)] = np.nan
        return {
            "charge_ratio": ratio,
            "avg_monthly_charges": avg,
            "charge_increase": monthly - avg,
        }


def _has_service(s: pd.Series) -> np.ndarray:
    """Vectorised "is subscribed": True, non-zero, or text not meaning no."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        per_category = _has_service(pd.Series(s.cat.categories))
        codes = s.cat.codes.to_numpy()
        return np.where(codes >= 0, per_category[np.maximum(codes, 0)], False)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        nonzero: np.ndarray = np.nan_to_num(v, nan=0.0) != 0
        return nonzero
    text = s.astype(str).str.strip().str.lower()
    no = text.isin(_NO_SERVICE) | text.str.startswith("no ")
    has: np.ndarray = (~no & s.notna()).to_numpy(dtype=bool)
    return has


class ServiceCount(_AppendingTransformer):
    """Append the number of services a customer subscribes to.

    Customers with more services are more tied in and churn less. A value
    counts as a subscribed service when it is ``True``, a non-zero number,
    or text other than "no"-like answers (``"No"``, ``"No internet
    service"``, ``"none"``, ``"false"``, ``"0"``, blank). Missing values
    count as not subscribed.

    Parameters
    ----------
    columns : list or tuple of str or int, \
default=("phone_service", "internet_service", "tech_support", "streaming")
        Service columns, by name or position.
    name : str, default="n_services"
        Name of the appended column.

    Attributes
    ----------
    input_columns_ : list of str
        The resolved service columns.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they were all strings.

    See Also
    --------
    TenureBucketer : Tenure buckets.
    ChargeRatios : Billing-history ratios.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.features import ServiceCount
    >>> X = pd.DataFrame(
    ...     {
    ...         "PhoneService": ["Yes", "No", "Yes"],
    ...         "InternetService": ["DSL", "Fiber optic", "No"],
    ...         "TechSupport": ["Yes", "No", "No internet service"],
    ...     }
    ... )
    >>> ServiceCount(["PhoneService", "InternetService", "TechSupport"]).fit_transform(
    ...     X
    ... )["n_services"].tolist()
    [3, 1, 1]
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "columns": [_ColumnSpecs()],
        "name": [str],
    }

    def __init__(
        self,
        columns: Sequence[str | int] = (
            "phone_service",
            "internet_service",
            "tech_support",
            "streaming",
        ),
        *,
        name: str = "n_services",
    ) -> None:
        self.columns = columns
        self.name = name

    @property
    def _new_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.name,)

    def _specs(self) -> list[Any]:
        return list(self.columns)

    def _example_kwarg(self) -> str:
        return "['PhoneService', 'InternetService']"

    def _compute(self, df: pd.DataFrame, *, as_frame: bool) -> dict[str, Any]:
        total = np.zeros(len(df), dtype=np.int64)
        for c in self.input_columns_:
            total += _has_service(df[c])
        return {self.name: total}
