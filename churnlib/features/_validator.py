"""``SchemaValidator``: the contract between training data and later data."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from churnlib._core.cleaning import is_text, python_scalar
from churnlib._core.contract import binary_codes_of, read_binary
from churnlib._validation import StrOptions, validate_estimator_params
from churnlib.data import PLACEHOLDERS, ChurnSchema
from churnlib.exceptions import DataQualityWarning, DataValidationError
from churnlib.features._common import (
    align_for_transform,
    check_not_empty,
    fitted_names,
    is_numeric_dtype,
    output_names,
    start_fit,
    to_frame,
)
from churnlib.features._roles import resolve_schema

__all__ = ["ColumnReport", "SchemaValidator", "ValidationReport"]

_N_EXAMPLES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnReport:
    """Non-fatal findings for one column of a validated table.

    Parameters
    ----------
    column : str
        Column name.
    kind : {"numeric", "categorical", "binary", "id"}
        The role learned at fit.
    n_missing : int
        Missing values (NaN, None, blank text) in this table.
    new_missing : bool
        True when the column has missing values but had none at fit.
    n_unseen : int
        Values of a categorical or binary column not seen at fit.
    unseen_examples : tuple
        Up to five distinct unseen values.
    n_below, n_above : int
        Numeric values below the fitted minimum / above the fitted maximum.
    """

    column: str
    kind: str
    n_missing: int = 0
    new_missing: bool = False
    n_unseen: int = 0
    unseen_examples: tuple[Any, ...] = ()
    n_below: int = 0
    n_above: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing unusual was found."""
        return not (self.new_missing or self.n_unseen or self.n_below or self.n_above)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport:
    """Non-fatal findings of :meth:`SchemaValidator.report` for one table.

    Parameters
    ----------
    n_rows : int
        Rows in the table.
    columns : tuple of ColumnReport
        One entry per fitted column, in fitted order.
    extra_columns : tuple of str
        Columns of the table that were not seen at fit (dropped on transform).
    """

    n_rows: int
    columns: tuple[ColumnReport, ...]
    extra_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no column has findings and there are no extra columns."""
        return not self.extra_columns and all(c.ok for c in self.columns)

    def to_frame(self) -> pd.DataFrame:
        """One row per fitted column, indexed by column name."""
        rows = [
            {
                "column": c.column,
                "kind": c.kind,
                "n_missing": c.n_missing,
                "new_missing": c.new_missing,
                "n_unseen": c.n_unseen,
                "unseen_examples": list(c.unseen_examples),
                "n_below": c.n_below,
                "n_above": c.n_above,
            }
            for c in self.columns
        ]
        return pd.DataFrame(rows).set_index("column")

    def summary(self) -> str:
        """One line per finding, or ``"no findings"``."""
        lines = []
        for c in self.columns:
            if c.n_unseen:
                lines.append(
                    f"{c.column!r}: {c.n_unseen} value(s) unseen at fit, "
                    f"e.g. {list(c.unseen_examples)!r}"
                )
            if c.new_missing:
                lines.append(
                    f"{c.column!r}: {c.n_missing} missing value(s), none at fit"
                )
            if c.n_below or c.n_above:
                lines.append(
                    f"{c.column!r}: {c.n_below} value(s) below and {c.n_above} "
                    "above the range seen at fit"
                )
        if self.extra_columns:
            lines.append(f"extra column(s) ignored: {list(self.extra_columns)!r}")
        return "\n".join(lines) if lines else "no findings"


def _value_kind(s: pd.Series) -> str:
    """How a categorical column's values are typed: number, bool or text."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        dt = dt.categories.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if is_numeric_dtype(dt):
        return "number"
    if pd.api.types.is_object_dtype(dt):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "boolean":
            return "bool"
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "number"
    return "text"


def _first_bad(s: pd.Series, bad: pd.Series) -> tuple[Any, Any, int]:
    pos = int(np.flatnonzero(bad.to_numpy())[0])
    return s.iloc[pos], s.index[pos], int(bad.sum())


def _check_finite(values: np.ndarray, s: pd.Series, caller: str) -> None:
    if values.dtype.kind == "f":
        inf = np.isinf(values)
        if inf.any():
            value, row, n = _first_bad(s, pd.Series(inf, index=s.index))
            raise DataValidationError(
                f"{caller}: column {s.name!r} holds {n} infinite value(s), e.g. "
                f"{python_scalar(value)!r} at row {python_scalar(row)!r}. Replace "
                "them with NaN (missing) or a "
                "finite number.",
                columns=[s.name],
            )


def _as_float(s: pd.Series) -> pd.Series:
    return pd.Series(
        s.to_numpy(dtype="float64", na_value=np.nan), index=s.index, name=s.name
    )


def coerce_numeric(s: pd.Series, caller: str) -> pd.Series:
    """Numbers out of any column; blanks become NaN, garbage raises."""
    dt = s.dtype
    if pd.api.types.is_complex_dtype(dt):
        raise DataValidationError(
            f"Complex data not supported by {caller}: column {s.name!r} holds "
            "complex numbers.",
            columns=[s.name],
        )
    if is_numeric_dtype(dt):
        if isinstance(dt, pd.api.extensions.ExtensionDtype):
            s = _as_float(s)
        _check_finite(s.to_numpy(), s, caller)
        return s
    if pd.api.types.is_bool_dtype(dt):
        return _as_float(s)
    if isinstance(dt, pd.CategoricalDtype):
        s = s.astype(object)
    text = s.astype(str).where(s.notna(), np.nan).str.strip()
    blank = text.str.lower().isin(PLACEHOLDERS).to_numpy(dtype=bool)
    text = text.mask(blank)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        value, row, n = _first_bad(s, bad)
        raise DataValidationError(
            f"{caller}: column {s.name!r} should hold numbers, but {n} value(s) "
            f"are not numeric, e.g. {value!r} at row {row!r}. Clean the column "
            "(blanks and placeholders such as 'Unknown' are fine: they become NaN) "
            f"or declare {s.name!r} categorical in the schema.",
            columns=[s.name],
        )
    values = _as_float(values)
    _check_finite(values.to_numpy(), values, caller)
    return values


def _normalize_missing(s: pd.Series) -> pd.Series:
    """Object/extension text columns: every missing value becomes ``np.nan``."""
    dt = s.dtype
    if pd.api.types.is_object_dtype(dt) or isinstance(
        dt, pd.StringDtype | pd.BooleanDtype
    ):
        if s.isna().any():
            return s.astype(object).where(s.notna(), np.nan)
        if not pd.api.types.is_object_dtype(s.dtype):
            return s.astype(object)
    return s


def coerce_categorical(s: pd.Series, kind: str, caller: str) -> pd.Series:
    """Give a categorical column the value type it had at fit."""
    dt = s.dtype
    if kind == "number":
        if isinstance(dt, pd.CategoricalDtype) and is_numeric_dtype(
            dt.categories.dtype
        ):
            return s
        return coerce_numeric(s, caller)
    if isinstance(dt, pd.CategoricalDtype):
        return s
    if kind == "bool" and isinstance(dt, np.dtype) and dt.kind == "b":
        return s
    if kind == "text" and pd.api.types.is_object_dtype(dt):
        if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
            return s.astype(str).where(s.notna(), np.nan)
        return _normalize_missing(s)
    if is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt):
        if kind == "text":
            return s.astype(str).where(s.notna(), np.nan)
        return _normalize_missing(s.astype(object))
    return _normalize_missing(s)


#: How a binary column reads: (raw true codes, raw false codes, fitted as bool).
#: Plain tuples, so skops persists the fitted validator without a trusted type.
_Truth = tuple[tuple[str, ...], tuple[str, ...], bool]


def _truth_reading(s: pd.Series, df: pd.DataFrame) -> _Truth | None:
    """Learn how a fit column reads as binary; None when the rule cannot read it.

    0/1 numbers need no reading (0/1 and the booleans a contract makes of them
    encode alike), nor does anything the rule cannot read.
    """
    if pd.api.types.is_numeric_dtype(s.dtype) and not is_text(s):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        if not pd.api.types.is_bool_dtype(s.dtype) and bool(
            np.all((v == 0) | (v == 1) | np.isnan(v))
        ):
            return None
    true_values, false_values = binary_codes_of(s)
    schema = df.attrs.get("churnlib.schema")  # the reader's codes (1/2), if any
    if not true_values and schema is not None:
        true_values = tuple(getattr(schema, "true_values", {}).get(str(s.name), ()))
        false_values = tuple(getattr(schema, "false_values", {}).get(str(s.name), ()))
    try:
        read = _read_truth(s, (true_values, false_values, True))
    except DataValidationError:
        return None  # a binary role given for values the rule does not know
    return (true_values, false_values, bool(read.dtype == bool))


def _read_truth(s: pd.Series, reading: _Truth) -> pd.Series:
    true_values, false_values, as_bool = reading
    out = read_binary(s, true_values=true_values, false_values=false_values)
    out.name = s.name
    if not as_bool and out.dtype == bool:
        out = out.astype(float)  # the fitted representation: float 0/1
    return out


def _sorted_unique(s: pd.Series) -> np.ndarray:
    if isinstance(s.dtype, pd.CategoricalDtype):  # observed categories, fast
        codes = s.cat.codes.to_numpy()
        seen = np.unique(codes[codes >= 0])
        values = np.asarray(s.cat.categories.to_numpy()[seen])
    else:
        values = pd.unique(s.dropna().to_numpy())
    try:
        return np.sort(values)
    except TypeError:
        return np.asarray(sorted(values, key=str), dtype=object)


class SchemaValidator(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Check that a table matches the one seen at fit, and pass it through.

    At ``fit`` the validator learns the columns, their role (numeric,
    categorical, binary or identifier), the categories of each categorical
    column and the range of each numeric column. At ``transform`` it checks a
    new table against that contract and returns the fitted columns, in fitted
    order, with numbers parsed: text such as ``" 12.5"`` becomes ``12.5``
    and blank text becomes NaN.

    Fatal problems raise :class:`~churnlib.exceptions.DataValidationError`
    naming the column(s) in ``.columns``: a fitted column is missing, a numeric
    column holds text that is not a number (the message shows an example), a
    numeric column holds an infinite value, or the table is empty. Unseen
    categories, values outside the fitted range and missing values are not
    fatal: downstream encoders and imputers handle them. They are summarised
    by :meth:`report` and, with ``unseen="warn"``, in a
    :class:`~churnlib.exceptions.DataQualityWarning`.

    Parameters
    ----------
    schema : ChurnSchema, default=None
        Column roles to enforce. ``None`` infers them at fit with
        :func:`churnlib.data.infer_schema`. With an explicit schema, columns it
        does not name are not part of the contract.
    extra : {"ignore", "warn", "raise"}, default="ignore"
        What to do with columns at transform that were not seen at fit. They
        are dropped from the output in every case; ``"warn"`` also emits a
        ``DataQualityWarning`` and ``"raise"`` raises ``DataValidationError``.
    unseen : {"ignore", "warn"}, default="ignore"
        ``"warn"`` emits one ``DataQualityWarning`` per transformed table with
        unseen categories, out-of-range numbers or missing values in a column
        that had none at fit. The default stays quiet; call :meth:`report`.

    Attributes
    ----------
    columns_ : ndarray of str
        The fitted columns, in order (also the output columns).
    kinds_ : dict of str to str
        Role of each fitted column: ``"numeric"``, ``"categorical"``,
        ``"binary"`` or ``"id"``.
    categories_ : dict of str to ndarray
        Sorted values seen at fit in each categorical and binary column.
    ranges_ : dict of str to tuple of float
        ``(min, max)`` seen at fit in each numeric column (NaN if all missing).
    missing_counts_ : dict of str to int
        Missing values per column at fit.
    schema_ : ChurnSchema
        The roles in force (given or inferred), restricted to fitted columns.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit, when they were all strings.

    See Also
    --------
    ChurnPreprocessor : Validation, imputation, scaling and one-hot encoding.
    churnlib.data.infer_schema : How column roles are inferred.

    Notes
    -----
    Columns are matched by name when a DataFrame with string column names is
    given (the order may differ and extra columns are allowed), and by
    position otherwise. The output is a DataFrame for DataFrame input and an
    array for array input, unless ``set_output`` says otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.features import SchemaValidator
    >>> train = pd.DataFrame({"tenure": [1, 24, 60], "contract": ["m", "y", "m"]})
    >>> v = SchemaValidator().fit(train)
    >>> v.kinds_
    {'tenure': 'numeric', 'contract': 'categorical'}
    >>> v.transform(pd.DataFrame({"contract": ["y"], "tenure": [" 12"]}))
       tenure contract
    0    12.0        y
    >>> v.transform(pd.DataFrame({"contract": ["m"], "tenure": ["ten"]}))
    Traceback (most recent call last):
    ...
    churnlib.exceptions.DataValidationError: SchemaValidator: column 'tenure' \
should hold numbers, but 1 value(s) are not numeric, e.g. 'ten' at row 0. ...
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "schema": [None, ChurnSchema],
        "extra": [StrOptions({"ignore", "warn", "raise"})],
        "unseen": [StrOptions({"ignore", "warn"})],
    }

    def __init__(
        self,
        *,
        schema: ChurnSchema | None = None,
        extra: str = "ignore",
        unseen: str = "ignore",
    ) -> None:
        self.schema = schema
        self.extra = extra
        self.unseen = unseen

    def fit(self, X: Any, y: Any = None) -> SchemaValidator:
        """Learn columns, roles, categories and ranges from ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training table.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : SchemaValidator
            The fitted validator.
        """
        validate_estimator_params(self)
        caller = type(self).__name__
        df = start_fit(self, X)
        schema = resolve_schema(df, self.schema, caller=caller)
        role = dict.fromkeys(schema.numeric, "numeric")
        role.update(dict.fromkeys(schema.categorical, "categorical"))
        role.update(dict.fromkeys(schema.binary, "binary"))
        role.update(dict.fromkeys(schema.id_columns, "id"))
        columns = [c for c in df.columns if c in role]
        if not columns:
            raise DataValidationError(
                f"{caller}: no column of X is part of the schema (X has "
                f"{list(df.columns)[:20]}). Pass a schema naming the columns.",
                columns=list(df.columns),
            )
        kinds, categories, ranges, value_kinds, missing = {}, {}, {}, {}, {}
        truth: dict[str, _Truth] = {}
        for c in columns:
            s = df[c]
            kinds[c] = role[c]
            if role[c] == "numeric":
                s = coerce_numeric(s, caller)
                v = s.to_numpy(dtype="float64", na_value=np.nan)
                finite = v[~np.isnan(v)]
                ranges[c] = (
                    (float(finite.min()), float(finite.max()))
                    if finite.size
                    else (np.nan, np.nan)
                )
            elif role[c] == "binary" and (reading := _truth_reading(s, df)):
                # read by the one binary rule (bool, yes/no words, 1/2 codes)
                # at fit and at transform, so raw text and cleaned input agree
                truth[c] = reading
                s = _read_truth(s, reading)
                value_kinds[c] = _value_kind(s)
                categories[c] = _sorted_unique(s)
            elif role[c] in ("categorical", "binary"):
                value_kinds[c] = _value_kind(s)
                s = coerce_categorical(s, value_kinds[c], caller)
                categories[c] = _sorted_unique(s)
            missing[c] = int(s.isna().sum())
        self.columns_ = np.asarray(columns, dtype=object)
        self.kinds_ = kinds
        self.categories_ = categories
        self.ranges_ = ranges
        self.missing_counts_ = missing
        self._value_kinds = value_kinds
        self._truth = truth
        self.schema_ = ChurnSchema(
            numeric=tuple(c for c in columns if kinds[c] == "numeric"),
            categorical=tuple(c for c in columns if kinds[c] == "categorical"),
            binary=tuple(c for c in columns if kinds[c] == "binary"),
            id_columns=tuple(c for c in columns if kinds[c] == "id"),
            target=schema.target,
            positive=schema.positive,
        )
        return self

    # -- transform ---------------------------------------------------------
    def _prepare(self, X: Any) -> tuple[pd.DataFrame, bool, list[str]]:
        """Frame with fitted names; raise on missing columns/empty input."""
        caller = type(self).__name__
        df, by_name = align_for_transform(self, *to_frame(X, caller=caller))
        check_not_empty(df, caller=caller)
        wanted = set(self.columns_)
        missing = [c for c in self.columns_ if c not in df.columns]
        extra = [c for c in df.columns if c not in wanted] if by_name else []
        if missing:
            hint = f" Columns not seen at fit: {extra[:10]}." if extra else ""
            raise DataValidationError(
                f"X is missing column(s) {missing} that {caller} was fitted with."
                f"{hint} Add them (NaN is fine when a value is unknown) or refit on "
                "the new columns.",
                columns=missing,
            )
        return df, isinstance(X, pd.DataFrame), extra

    def _coerced(self, df: pd.DataFrame) -> pd.DataFrame:
        caller = type(self).__name__
        out: dict[str, pd.Series] = {}
        changed = False
        for c in self.columns_:
            s = df[c]
            kind = self.kinds_[c]
            if kind == "numeric":
                new = coerce_numeric(s, caller)
            elif kind == "id":
                new = s
            elif c in getattr(self, "_truth", {}) and not (
                self._truth[c][2] and isinstance(s.dtype, np.dtype) and s.dtype == bool
            ):  # (bool already, as fitted: the hot path makes no copy)
                try:
                    new = _read_truth(s, self._truth[c])
                except DataValidationError:  # an unseen value: report, not raise
                    new = coerce_categorical(s, self._value_kinds[c], caller)
            else:
                new = coerce_categorical(s, self._value_kinds[c], caller)
            changed = changed or new is not s
            out[c] = new
        if not changed:
            if list(df.columns) == list(self.columns_):
                return df
            return df[list(self.columns_)]
        return pd.DataFrame(out, index=df.index, copy=False)

    def _handle_extra(self, extra: list[str]) -> None:
        if not extra or self.extra == "ignore":
            return
        msg = (
            f"X has column(s) {extra[:20]} that {type(self).__name__} did not see "
            "at fit; they are dropped."
        )
        if self.extra == "raise":
            raise DataValidationError(
                msg + " Remove them, or set extra='ignore' to drop them silently.",
                columns=extra,
            )
        warnings.warn(
            msg + " Set extra='ignore' to silence this warning.",
            DataQualityWarning,
            stacklevel=3,
        )

    def transform(self, X: Any) -> Any:
        """Validate ``X`` and return the fitted columns in fitted order.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table to check.

        Returns
        -------
        X_out : DataFrame or ndarray of shape (n_samples, len(columns_))
            A DataFrame for DataFrame input, an array otherwise; numeric
            columns parsed to numbers.

        Raises
        ------
        DataValidationError
            Missing columns, non-numeric text in a numeric column, infinite
            values, an empty table, or (``extra="raise"``) extra columns.
        """
        check_is_fitted(self)
        df, was_frame, extra = self._prepare(X)
        self._handle_extra(extra)
        out = self._coerced(df)
        if self.unseen == "warn":
            report = self._report(out, extra)
            if not report.ok:
                warnings.warn(
                    f"{type(self).__name__} found unusual values "
                    "(set unseen='ignore' to silence):\n" + report.summary(),
                    DataQualityWarning,
                    stacklevel=2,
                )
        if was_frame:
            return out
        return out.to_numpy()

    def report(self, X: Any) -> ValidationReport:
        """Non-fatal findings for ``X``: unseen categories, ranges, missing values.

        Fatal problems raise exactly as in :meth:`transform`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Table to check.

        Returns
        -------
        ValidationReport
            One :class:`ColumnReport` per fitted column.

        Examples
        --------
        >>> import pandas as pd
        >>> from churnlib.features import SchemaValidator
        >>> v = SchemaValidator().fit(
        ...     pd.DataFrame({"age": [30, 40, 50], "plan": ["a", "b", "c"]})
        ... )
        >>> r = v.report(pd.DataFrame({"age": [35, 90], "plan": ["a", "z"]}))
        >>> r.ok
        False
        >>> print(r.summary())
        'age': 0 value(s) below and 1 above the range seen at fit
        'plan': 1 value(s) unseen at fit, e.g. ['z']
        """
        check_is_fitted(self)
        df, _, extra = self._prepare(X)
        return self._report(self._coerced(df), extra)

    def _report(self, out: pd.DataFrame, extra: list[str]) -> ValidationReport:
        reports = []
        for c in self.columns_:
            s = out[c]
            kind = self.kinds_[c]
            isna = s.isna()
            n_missing = int(isna.sum())
            fields: dict[str, Any] = {
                "column": c,
                "kind": kind,
                "n_missing": n_missing,
                "new_missing": bool(n_missing and not self.missing_counts_[c]),
            }
            if kind == "numeric":
                lo, hi = self.ranges_[c]
                v = s.to_numpy(dtype="float64", na_value=np.nan)
                if not np.isnan(lo):
                    fields["n_below"] = int(np.sum(v < lo))
                    fields["n_above"] = int(np.sum(v > hi))
            elif kind in ("categorical", "binary"):
                unseen = ~s.isin(self.categories_[c]) & ~isna
                n_unseen = int(unseen.sum())
                if n_unseen:
                    examples = pd.unique(s[unseen].to_numpy())[:_N_EXAMPLES]
                    fields["n_unseen"] = n_unseen
                    fields["unseen_examples"] = tuple(
                        v.item() if hasattr(v, "item") else v for v in examples
                    )
            reports.append(ColumnReport(**fields))
        return ValidationReport(
            n_rows=len(out), columns=tuple(reports), extra_columns=tuple(extra)
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: the fitted columns, in order.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; only needed (and only allowed to differ from the
            generated ``x0, x1, ...``) when fitted on an array.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The fitted column names.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        mapping = output_names(fitted_names(self), names)
        return np.asarray([mapping.get(c, c) for c in self.columns_], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
