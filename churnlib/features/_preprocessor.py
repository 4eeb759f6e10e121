"""``ChurnPreprocessor``: validation, imputation, scaling, one-hot encoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from churnlib._validation import Interval, StrOptions, validate_estimator_params
from churnlib.data import ChurnSchema
from churnlib.exceptions import DataValidationError
from churnlib.features._common import (
    align_for_transform,
    fitted_names,
    output_names,
    start_fit,
    to_frame,
)
from churnlib.features._roles import resolve_schema
from churnlib.features._validator import SchemaValidator, ValidationReport

__all__ = ["ChurnPreprocessor"]

_SCALERS = {
    "standard": StandardScaler,
    "robust": RobustScaler,
    "minmax": MinMaxScaler,
}
_OUT_NAME = re.compile(r"^(missingindicator_)?(x\d+)(=.*)?$", re.DOTALL)


@dataclass(frozen=True)
class _Transformer:
    """Constraint: an object with ``fit`` and ``transform`` methods."""

    def is_satisfied_by(self, value: Any) -> bool:
        return callable(getattr(value, "fit", None)) and callable(
            getattr(value, "transform", None)
        )

    def __str__(self) -> str:
        return "an object implementing 'fit' and 'transform'"


def feature_name(column: str, category: Any) -> str:
    """Readable one-hot feature name: ``contract=month-to-month``."""
    if category is None or (isinstance(category, float) and np.isnan(category)):
        return f"{column}=<missing>"
    if isinstance(category, str) and category == "infrequent_sklearn":
        return f"{column}=<infrequent>"
    if isinstance(category, np.generic):
        category = category.item()
    return f"{column}={category}"


class ChurnPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Turn a raw churn table into a numeric model matrix, with no set-up.

    The steps, each a scikit-learn estimator:

    1. :class:`SchemaValidator` -- columns present, numbers parsed (text such
       as ``" 12.5"`` becomes 12.5, blanks become NaN), garbage rejected;
    2. numeric columns: :class:`~sklearn.impute.SimpleImputer` then a scaler
       (:class:`~sklearn.preprocessing.StandardScaler` by default);
    3. categorical and binary columns:
       :class:`~sklearn.preprocessing.OneHotEncoder` with
       ``handle_unknown="infrequent_if_exist"``: categories rarer than
       ``min_frequency`` share one ``<infrequent>`` column, categories unseen
       at fit go there too (or to all zeros when nothing was infrequent), and
       missing values seen at fit get their own ``<missing>`` column;
    4. readable names: ``tenure_months``, ``contract=month-to-month``.

    Column roles come from ``schema`` or, by default, from
    :func:`churnlib.data.infer_schema` at fit; identifier columns (such as
    ``customer_id``) and datetime columns are dropped.

    Parameters
    ----------
    schema : ChurnSchema, default=None
        Column roles. ``None`` infers them at fit.
    impute_strategy : {"median", "mean"}, default="median"
        How missing numbers are filled.
    add_indicator : bool, default=False
        Add a ``missingindicator_<column>`` 0/1 feature for each numeric
        column that had missing values at fit.
    scaler : {"standard", "robust", "minmax"}, transformer or None, \
default="standard"
        Scaling of numeric columns: a name, any transformer (cloned at fit),
        or ``None`` to leave numbers unscaled (trees do not need scaling).
    min_frequency : int, float or None, default=10
        Categories seen fewer times (an int) or in a smaller fraction of rows
        (a float in (0, 1)) are grouped into ``<column>=<infrequent>``.
        ``None`` keeps every category.
    max_categories : int or None, default=None
        At most this many output columns per categorical column, counting the
        infrequent group.
    extra : {"ignore", "warn", "raise"}, default="ignore"
        Columns at transform that were not seen at fit; passed to the
        validator. Identifier columns seen at fit never count as extra.

    Attributes
    ----------
    schema_ : ChurnSchema
        Column roles used (given or inferred).
    validator_ : SchemaValidator
        Fitted validator of the feature columns.
    column_transformer_ : ~sklearn.compose.ColumnTransformer
        Fitted imputation, scaling and encoding.
    numeric_features_ : list of str
        Numeric input columns.
    categorical_features_ : list of str
        Categorical and binary input columns.
    dropped_columns_ : list of str
        Input columns left out (identifiers, datetimes, columns outside an
        explicit schema).
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they were all strings.

    See Also
    --------
    SchemaValidator : The validation step alone.
    churnlib.data.infer_schema : How column roles are inferred.

    Examples
    --------
    >>> from churnlib.data import generate_customers
    >>> from churnlib.features import ChurnPreprocessor
    >>> df = generate_customers(500, random_state=0)
    >>> X, y = df.drop(columns="churned"), df["churned"]
    >>> pre = ChurnPreprocessor().set_output(transform="pandas")
    >>> Xt = pre.fit_transform(X)
    >>> "customer_id" in pre.dropped_columns_
    True
    >>> [c for c in Xt.columns if c.startswith("contract=")]
    ['contract=month-to-month', 'contract=one year', 'contract=two year']
    >>> bool(Xt.notna().all().all())
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "schema": [None, ChurnSchema],
        "impute_strategy": [StrOptions({"median", "mean"})],
        "add_indicator": ["boolean"],
        "scaler": [StrOptions(set(_SCALERS)), None, _Transformer()],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "extra": [StrOptions({"ignore", "warn", "raise"})],
    }

    def __init__(
        self,
        *,
        schema: ChurnSchema | None = None,
        impute_strategy: str = "median",
        add_indicator: bool = False,
        scaler: Any = "standard",
        min_frequency: float | None = 10,
        max_categories: int | None = None,
        extra: str = "ignore",
    ) -> None:
        self.schema = schema
        self.impute_strategy = impute_strategy
        self.add_indicator = add_indicator
        self.scaler = scaler
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.extra = extra

    def _make_scaler(self) -> Any:
        if self.scaler is None:
            return "passthrough"
        if isinstance(self.scaler, str):
            return _SCALERS[self.scaler]()
        return clone(self.scaler)

    def _build(self, numeric: list[str], categorical: list[str]) -> ColumnTransformer:
        transformers = []
        if numeric:
            steps = [
                (
                    "impute",
                    SimpleImputer(
                        strategy=self.impute_strategy,
                        add_indicator=self.add_indicator,
                        keep_empty_features=True,
                    ),
                ),
                ("scale", self._make_scaler()),
            ]
            transformers.append(("numeric", Pipeline(steps), numeric))
        if categorical:
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=self.min_frequency,
                max_categories=self.max_categories,
                sparse_output=False,
                feature_name_combiner=feature_name,
            )
            transformers.append(("categorical", encoder, categorical))
        ct = ColumnTransformer(
            transformers,
            remainder="drop",
            sparse_threshold=0.0,
            verbose_feature_names_out=False,
        )
        return ct.set_output(transform="default")

    def _fit(self, X: Any) -> np.ndarray:
        validate_estimator_params(self)
        caller = type(self).__name__
        df = start_fit(self, X)
        schema = resolve_schema(df, self.schema, caller=caller)
        wanted = set(schema.features)
        features = [c for c in df.columns if c in wanted]
        if not features:
            raise DataValidationError(
                f"{caller}: no feature column left in X after dropping identifier "
                f"columns {list(schema.id_columns)}. Pass a schema that names the "
                "feature columns.",
                columns=list(df.columns),
            )
        self.schema_ = schema
        self.dropped_columns_ = [c for c in df.columns if c not in wanted]
        feature_schema = ChurnSchema(
            numeric=tuple(c for c in schema.numeric if c in features),
            categorical=tuple(c for c in schema.categorical if c in features),
            binary=tuple(c for c in schema.binary if c in features),
        )
        self.validator_ = SchemaValidator(schema=feature_schema, extra=self.extra)
        valid = self.validator_.fit_transform(df[features])
        self.numeric_features_ = list(self.validator_.schema_.numeric)
        self.categorical_features_ = [
            c
            for c in self.validator_.columns_
            if self.validator_.kinds_[c] in ("categorical", "binary")
        ]
        self.column_transformer_ = self._build(
            self.numeric_features_, self.categorical_features_
        )
        Xt: np.ndarray = self.column_transformer_.fit_transform(valid)
        return Xt

    def fit(self, X: Any, y: Any = None) -> ChurnPreprocessor:
        """Infer roles, then fit the validator, imputers, scaler and encoder.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training table (without the label).
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : ChurnPreprocessor
            The fitted preprocessor.
        """
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit and transform in one pass over the data.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training table (without the label).
        y : Ignored
            Not used, present for API consistency by convention.
        **fit_params : dict
            Not used.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out)
            The model matrix (a DataFrame with ``set_output(transform="pandas")``).
        """
        return self._fit(X)

    def transform(self, X: Any) -> np.ndarray:
        """Validate, impute, scale and encode ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table with the columns seen at fit (in any order, when named;
            identifier and extra columns are ignored).

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out)
            The model matrix (a DataFrame with ``set_output(transform="pandas")``).

        Raises
        ------
        DataValidationError
            Missing columns, non-numeric text in a numeric column, infinite
            values or an empty table.
        """
        check_is_fitted(self)
        valid = self.validator_.transform(self._features(X))
        Xt: np.ndarray = self.column_transformer_.transform(valid)
        return Xt

    def _features(self, X: Any) -> Any:
        """``X`` as a frame with fitted names, dropped columns removed."""
        df, _ = align_for_transform(self, *to_frame(X, caller=type(self).__name__))
        dropped = [c for c in self.dropped_columns_ if c in df.columns]
        return df.drop(columns=dropped) if dropped else df

    def report(self, X: Any) -> ValidationReport:
        """Non-fatal findings for ``X``: unseen categories, ranges, missing values.

        The validator's :meth:`SchemaValidator.report` on the feature columns
        (identifier columns seen at fit are not counted as extra).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table to check.

        Returns
        -------
        ValidationReport
            One :class:`ColumnReport` per feature column.

        Examples
        --------
        >>> from churnlib.data import generate_customers
        >>> from churnlib.features import ChurnPreprocessor
        >>> X = generate_customers(300, random_state=0).drop(columns="churned")
        >>> pre = ChurnPreprocessor().fit(X)
        >>> pre.report(X).ok
        True
        >>> batch = X.head(3).assign(monthly_charges=[10.0, 50.0, 999.0])
        >>> print(pre.report(batch).summary())
        'monthly_charges': 1 value(s) below and 1 above the range seen at fit
        """
        check_is_fitted(self)
        return self.validator_.report(self._features(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Readable output names: ``tenure_months``, ``contract=one year``, ...

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; only needed (and only allowed to differ from the
            generated ``x0, x1, ...``) when fitted on an array.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out: np.ndarray = self.column_transformer_.get_feature_names_out()
        mapping = output_names(fitted_names(self), names)
        if not mapping:
            return out
        renamed = []
        for name in out:
            m = _OUT_NAME.match(name)
            if m and m.group(2) in mapping:
                name = (m.group(1) or "") + mapping[m.group(2)] + (m.group(3) or "")
            renamed.append(name)
        return np.asarray(renamed, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags
