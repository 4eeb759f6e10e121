"""Read real churn tables: infer column roles, clean, split off the label.

One set of rules, no per-table code: the same functions handle the IBM Telco,
the bank "Churn Modelling" and the credit-card "BankChurners" tables.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from churnlib._core.cleaning import (
    COUNT_WORDS,
    PLACEHOLDERS,
    binary_code,
    describe_values,
    factorize_text,
    is_integer_code,
    is_text,
    name_words,
    number_text,
)
from churnlib._core.cleaning import (
    FALSE_WORDS as _FALSE,
)
from churnlib._core.cleaning import (
    TRUE_WORDS as _TRUE,
)
from churnlib._core.labels import infer_label_rule
from churnlib._core.tables import layout_hint, read_table
from churnlib._urls import redact_url
from churnlib.data._schema import ChurnSchema
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)

__all__ = ["LEAKAGE_AUC", "PLACEHOLDERS", "infer_schema", "read_churn_table"]

#: A feature whose single-feature ROC AUC (or 1 - AUC) exceeds this is
#: reported as suspected target leakage.
LEAKAGE_AUC: float = 0.98

#: Key of ``X.attrs`` holding the :class:`ChurnSchema` a table was read with,
#: so the trainer can carry the reader's decisions into the model contract.
SCHEMA_ATTR = "churnlib.schema"

_ID_TOKENS = frozenset(
    {"id", "ids", "identifier", "uuid", "guid", "key", "number", "num", "no", "nr"}
)
_NAME_TOKENS = frozenset(
    {"surname", "name", "firstname", "lastname", "fullname", "forename", "email"}
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?.*)?$")
#: Common non-ISO date shapes -> the formats they may be written in; a shape
#: with two formats (day and month swapped) is read only when exactly one of
#: them parses every distinct value.
_OTHER_DATES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), ("%m/%d/%Y", "%d/%m/%Y")),
    (re.compile(r"\d{1,2}-\d{1,2}-\d{4}"), ("%m-%d-%Y", "%d-%m-%Y")),
    (re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}"), ("%d.%m.%Y",)),
    (re.compile(r"\d{4}/\d{1,2}/\d{1,2}"), ("%Y/%m/%d",)),
)
_TIME_RE = re.compile(r" \d{1,2}:\d{2}(:\d{2})?")
_MIN_ROWS_UNNAMED_ID = 50
_MIN_CLASS_FOR_LEAKAGE = 20
_LEAKAGE_FOLDS = 5


@dataclass(frozen=True)
class _Column:
    kind: str  # "numeric", "binary", "categorical", "datetime"
    values: pd.Series  # cleaned values
    code: tuple[str, str] | None = None  # binary: raw (true, false) code texts
    coded: bool = False  # categorical read from whole-number codes
    # non-ISO date text: the one format a datetime was read with, or the
    # formats a categorical could be read with (day and month ambiguous)
    date_formats: tuple[str, ...] = ()


_tokens = name_words


def _id_hint(name: object) -> bool:
    return any(
        t in _ID_TOKENS or (len(t) > 4 and t.endswith(("id", "num", "number")))
        for t in _tokens(name)
    )


def _name_hint(name: object) -> bool:
    return any(t in _NAME_TOKENS for t in _tokens(name))


def _count_name(name: object) -> bool:
    """Tell whether a name says count or amount besides any id word."""
    return bool(set(_tokens(name)) & (COUNT_WORDS - _ID_TOKENS))


def _mostly_distinct_numbers(name: object, s: pd.Series) -> bool:
    """Tell whether ``s`` holds ids as whole numbers, >= 90 % distinct (may repeat).

    Integers, or floats whose present values are all whole (an integer id
    column with one blank row is read as float). Never under a name that
    also says count or amount (``NumOfProducts``, ``num_calls``).
    """
    n = len(s)
    if n < 20 or not _id_hint(name) or _count_name(name):
        return False
    if pd.api.types.is_integer_dtype(s):  # exact, also past 2**53
        return bool(s.nunique(dropna=True) >= 0.9 * n)
    values = s.to_numpy(dtype=float, na_value=np.nan)
    present = values[~np.isnan(values)]
    if present.size == 0 or not np.all(present == np.round(present)):
        return False
    return bool(np.unique(present).size >= 0.9 * n)


def _looks_like_id(name: object, s: pd.Series) -> bool:
    """Apply the identifier rule documented in :func:`infer_schema`.

    Cheap tests come first so that large tables are not hashed needlessly.
    """
    n = len(s)
    if n < 2 or pd.api.types.is_bool_dtype(s):
        return False
    if pd.api.types.is_float_dtype(s):  # whole-number ids with a blank row
        return _mostly_distinct_numbers(name, s)
    text = is_text(s)
    if not text and not pd.api.types.is_integer_dtype(s):
        return False
    id_hint, name_hint = _id_hint(name), _name_hint(name)
    if not text:  # integers: unique with a hint, mostly distinct ids, a row number
        if id_hint or name_hint:
            if not s.isna().any() and s.is_unique:
                return True
            return _mostly_distinct_numbers(name, s)
        return n >= _MIN_ROWS_UNNAMED_ID and _is_row_number(s)
    if not (id_hint or name_hint):  # unnamed text: unique in a large table
        if n < _MIN_ROWS_UNNAMED_ID or not s.iloc[:1000].is_unique:
            return False
        return bool(not s.isna().any() and s.is_unique)
    if isinstance(s.dtype, pd.CategoricalDtype):
        n_unique = int(
            np.unique(s.cat.codes.to_numpy()[s.cat.codes.to_numpy() >= 0]).size
        )
    else:
        n_unique = int(s.nunique(dropna=True))
    if n_unique == n and not s.isna().any():
        return True
    if id_hint and n >= 20 and n_unique >= 0.9 * n:
        return True
    return name_hint and n_unique > max(20, 0.05 * n)


#: pandas' name for a column with an empty header ("Unnamed: 0" is the
#: header ``DataFrame.to_csv`` writes above the row labels by default)
_UNNAMED_RE = re.compile(r"Unnamed: \d+")


def _saved_index(name: object, s: pd.Series) -> bool:
    """Tell whether ``s`` looks like saved row labels: no header, unique integers."""
    return bool(
        isinstance(name, str)
        and _UNNAMED_RE.fullmatch(name)
        and pd.api.types.is_integer_dtype(s)
        and not s.isna().any()
        and s.is_unique
    )


_NESTED_TYPES = (list, tuple, dict, set, frozenset, np.ndarray)


def _nested(s: pd.Series) -> bool:
    """Tell whether ``s`` holds lists, structs, dicts or arrays in its cells.

    Arrow list/struct/map columns by their type; object columns (Parquet
    nested columns as pandas reads them) only when pandas calls them mixed,
    by hashing them once and looking at their distinct values.
    """
    if isinstance(s.dtype, pd.ArrowDtype):
        import pyarrow as pa

        return bool(pa.types.is_nested(s.dtype.pyarrow_dtype))
    if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) != "mixed":
        return False
    try:
        uniques = pd.factorize(s)[1]
    except TypeError:  # unhashable cells: lists, dicts, arrays
        return True
    return any(isinstance(v, _NESTED_TYPES) for v in uniques)


def _duration(s: pd.Series) -> bool:
    """Tell whether ``s`` holds durations (timedelta64, or an Arrow duration)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        import pyarrow as pa

        return bool(pa.types.is_duration(s.dtype.pyarrow_dtype))
    return bool(pd.api.types.is_timedelta64_dtype(s.dtype))


def _is_row_number(s: pd.Series) -> bool:
    """Tell whether ``s`` holds unique integers k, k+1, ..., k+n-1 (any order)."""
    if not pd.api.types.is_integer_dtype(s) or s.isna().any() or len(s) == 0:
        return False
    # Python ints: uint64 ids past 2**63 neither wrap nor overflow
    if int(s.max()) - int(s.min()) != len(s) - 1:
        return False
    return bool(s.is_unique)


def _series(values: Any, s: pd.Series) -> pd.Series:
    return pd.Series(values, index=s.index, name=s.name)


def _analyze(s: pd.Series, na_values: frozenset[str] = frozenset()) -> _Column:
    """Classify one column and return its cleaned values (rules in infer_schema)."""
    if isinstance(s.dtype, pd.CategoricalDtype) and not is_text(s):
        s = _series(np.asarray(s, dtype=float), s)
    if pd.api.types.is_bool_dtype(s):
        if isinstance(s.dtype, np.dtype):
            return _Column("binary", s)
        return _numeric(_series(s.to_numpy(dtype=float, na_value=np.nan), s))
    if pd.api.types.is_datetime64_any_dtype(s):
        return _Column("datetime", s)
    if pd.api.types.is_numeric_dtype(s):
        if not isinstance(s.dtype, np.dtype):  # nullable Int64/Float64/Arrow
            s = _series(s.to_numpy(dtype=float, na_value=np.nan), s)
        return _numeric(s)
    codes, levels = factorize_text(s, na_values)
    present = codes >= 0
    if levels.size == 0:
        return _Column("numeric", _series(np.full(len(s), np.nan), s))
    numbers = pd.to_numeric(pd.Series(levels, dtype=object), errors="coerce")
    numbers = numbers.to_numpy(dtype=float, na_value=np.nan)
    if not np.isnan(numbers).any():
        values = np.where(present, numbers[np.maximum(codes, 0)], np.nan)
        # Whole numbers become int64 only where int64 can hold them exactly.
        if (
            present.all()
            and np.all(numbers == np.round(numbers))
            and np.all(np.abs(numbers) < 2.0**63)
        ):
            values = values.astype(np.int64)
        return _numeric(_series(values, s))
    folded = [str(v).casefold() for v in levels]
    if set(folded) <= (_TRUE | _FALSE):
        truth = np.array([f in _TRUE for f in folded], dtype=bool)
        return _Column(
            "binary", _binary_values(truth[np.maximum(codes, 0)], present, s)
        )
    if all(_DATE_RE.match(str(v)) for v in levels[:20]):
        parsed = pd.to_datetime(pd.Series(levels), errors="coerce", format="ISO8601")
        if parsed.notna().all():
            values = pd.DatetimeIndex(parsed).take(
                codes, allow_fill=True, fill_value=pd.NaT
            )
            return _Column("datetime", _series(values, s))
    ambiguous: tuple[str, ...] = ()
    formats = _date_formats(levels)
    if formats:
        parsed_any = [
            pd.to_datetime(pd.Series(levels), errors="coerce", format=f)
            for f in formats
        ]
        complete = [
            (f, p) for f, p in zip(formats, parsed_any, strict=True) if p.notna().all()
        ]
        if len(complete) == 1:
            values = pd.DatetimeIndex(complete[0][1]).take(
                codes, allow_fill=True, fill_value=pd.NaT
            )
            return _Column(
                "datetime", _series(values, s), date_formats=(complete[0][0],)
            )
        ambiguous = tuple(f for f, _ in complete)
    order = np.argsort(np.array([str(v) for v in levels], dtype=object), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    cat_codes = np.where(present, rank[np.maximum(codes, 0)], -1)
    categorical = pd.Categorical.from_codes(cat_codes, categories=list(levels[order]))
    return _Column("categorical", _series(categorical, s), date_formats=ambiguous)


def _date_formats(levels: np.ndarray) -> tuple[str, ...]:
    """Return the non-ISO date formats the first distinct values are shaped as."""
    head = [str(v) for v in levels[:20]]
    if not head:
        return ()
    times = [_TIME_RE.search(v) for v in head]
    with_time = times[0] is not None
    if any((m is not None) != with_time for m in times):
        return ()
    clock = ""
    if with_time:
        seconds = [m is not None and m.group(1) is not None for m in times]
        if len(set(seconds)) != 1:
            return ()
        clock = " %H:%M:%S" if seconds[0] else " %H:%M"
    dates = [
        v[: m.start()] if m is not None else v for v, m in zip(head, times, strict=True)
    ]
    for shape, formats in _OTHER_DATES:
        if all(shape.fullmatch(v) for v in dates):
            return tuple(f + clock for f in formats)
    return ()


def _numeric(s: pd.Series) -> _Column:
    """Classify a column of numbers (rules in infer_schema).

    Numeric; binary if it holds only 0/1 or a two-level code such as 1/2;
    categorical if its whole numbers are codes (see ``is_integer_code``).
    """
    v = s.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(v)
    if not missing.all() and bool(np.all((v == 0) | (v == 1) | missing)):
        return _Column("binary", _binary_values(v == 1, ~missing, s))
    if missing.all():
        return _Column("numeric", _series(v, s))
    levels = np.unique(v[~missing])
    code = binary_code(levels) if not set(name_words(s.name)) & COUNT_WORDS else None
    if code is not None:
        return _Column("binary", _binary_values(v == 1, ~missing, s), code=code)
    if is_integer_code(s.name, v):
        codes = np.searchsorted(levels, v[~missing])
        cat_codes = np.full(len(v), -1, dtype=np.intp)
        cat_codes[~missing] = codes
        texts = [number_text(x) for x in levels]
        categorical = pd.Categorical.from_codes(cat_codes, categories=texts)
        return _Column("categorical", _series(categorical, s), coded=True)
    if s.dtype.kind in "iuf":
        return _Column("numeric", s)
    return _Column("numeric", _series(v, s))


def _binary_values(truth: np.ndarray, present: np.ndarray, s: pd.Series) -> pd.Series:
    """Bool Series, or float 0/1 with NaN where values are missing."""
    if present.all():
        return _series(truth.astype(bool), s)
    return _series(np.where(present, truth.astype(float), np.nan), s)


def _target_labels(s: pd.Series, positive: Any) -> tuple[pd.Series, Any, np.ndarray]:
    """Boolean label, the raw positive value and the unlabelled-row mask.

    Labels are decoded by the one label rule; blank or placeholder labels
    (unlabelled rows) are False in the returned Series and True in the mask.
    """
    name = s.name
    rule = infer_label_rule(s, pos_label=positive, name=str(name))
    missing = np.asarray(rule.is_missing(s), dtype=bool)
    if missing.all():
        raise DataValidationError(
            f"The target column {name!r} has no label on any of its {len(s)} "
            "row(s) (blank or placeholder such as 'Unknown'); a churn table needs "
            "labelled rows to train on.",
            columns=[name],
        )
    values = np.zeros(len(s), dtype=bool)
    values[~missing] = rule.decode(s[~missing])
    y = pd.Series(values, index=s.index, name=name)
    return y, rule.pos_label, missing


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _pos_label(pos_label: Any, positive: Any, func: str) -> Any:
    """Return the churn label given as ``pos_label`` or by its former name."""
    if positive is not None and pos_label is not None and positive != pos_label:
        raise InvalidParameterError(
            f"{func} got pos_label={pos_label!r} and positive={positive!r}; pass "
            "only pos_label (positive is its former name)."
        )
    return pos_label if pos_label is not None else positive


def _check_columns(df: pd.DataFrame, names: Iterable[Any], what: str) -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{what} {describe_values(missing)} not found in the table; its "
            f"columns are {describe_values(list(df.columns), limit=30)}."
            f"{layout_hint(df)}",
            columns=missing,
        )


def _text_names(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return ``df`` with its column names as text (as the contract records them).

    An Excel header cell holding a number (a year such as 2019) is read as an
    int; every later stage names columns by text, so they become text once,
    here. Two names that only differ by type (2019 and "2019") are refused.
    """
    if all(isinstance(c, str) for c in df.columns):
        return df
    names = [str(c) for c in df.columns]
    if len(set(names)) < len(names) and df.columns.is_unique:
        seen: dict[str, list[Any]] = {}
        for c in df.columns:
            seen.setdefault(str(c), []).append(c)
        clash = {k: v for k, v in seen.items() if len(v) > 1}
        shown = "; ".join(
            " and ".join(repr(c) for c in cols) for cols in clash.values()
        )
        raise DataValidationError(
            f"Columns of {source} have the same name once written as text "
            f"({shown}): a number and a text header cell say the same thing. "
            "Rename one of each pair.",
            columns=list(clash),
        )
    return df.set_axis(names, axis=1)


def _infer(
    df: pd.DataFrame,
    *,
    target: Any,
    positive: Any,
    id_columns: Sequence[Any] | None,
    na_values: frozenset[str] = frozenset(),
) -> tuple[ChurnSchema, dict[Any, _Column], pd.Series | None]:
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterError(
            f"infer_schema expects a pandas DataFrame. Got {type(df).__name__} "
            f"instead; wrap arrays with pandas.DataFrame(X, columns=...)."
        )
    if df.columns.has_duplicates:
        dup = df.columns[df.columns.duplicated()].unique().tolist()
        raise DataValidationError(
            f"Duplicate column names {describe_values(dup)}: rename them first.",
            columns=dup,
        )
    if target is not None:
        _check_columns(df, [target], "Target column")
    if isinstance(id_columns, str):
        id_columns = [id_columns]
    if id_columns is not None:
        _check_columns(df, id_columns, "Identifier column(s)")
    named = set() if id_columns is None else set(id_columns)
    ignored: dict[Any, str] = {}
    for c in df.columns:
        if _nested(df[c]):
            ignored[c] = "nested"
        elif c not in named and c != target and _duration(df[c]):
            ignored[c] = "duration"
        elif c not in named and c != target and _saved_index(c, df[c]):
            ignored[c] = "saved index"
    unusable = [c for c in ignored if c == target or c in named]
    if unusable:
        raise DataValidationError(
            f"Column(s) {describe_values(unusable)} hold lists, structs or arrays "
            "in their cells, so they cannot be the "
            f"{'target' if target in unusable else 'identifier'}: pass a column "
            "holding one plain value per row.",
            columns=unusable,
        )
    if id_columns is None:
        ids = [
            c
            for c in df.columns
            if c != target and c not in ignored and _looks_like_id(c, df[c])
        ]
    else:
        ids = list(id_columns)
    if target is not None and target in ids:
        raise DataValidationError(
            f"The target column {target!r} cannot also be an identifier column.",
            columns=[target],
        )
    y, pos = (None, None)
    if target is not None:
        y, pos, unlabelled = _target_labels(df[target], positive)
        y.attrs["churnlib.unlabelled"] = unlabelled
    columns: dict[Any, _Column] = {}
    for c in df.columns:
        if c != target and c not in ids and c not in ignored:
            columns[c] = _analyze(df[c], na_values)
    kinds = {
        k: tuple(str(c) for c, col in columns.items() if col.kind == k)
        for k in ("numeric", "categorical", "binary", "datetime")
    }
    codes = {str(c): col.code for c, col in columns.items() if col.code is not None}
    schema = ChurnSchema(
        true_values={c: (code[0],) for c, code in codes.items()},
        false_values={c: (code[1],) for c, code in codes.items()},
        coded_categories=tuple(str(c) for c, col in columns.items() if col.coded),
        ignored={str(c): why for c, why in ignored.items()},
        numeric=kinds["numeric"],
        categorical=kinds["categorical"],
        binary=kinds["binary"],
        datetime=kinds["datetime"],
        id_columns=tuple(str(c) for c in ids),
        target=None if target is None else str(target),
        positive=pos,
        neg_labels=()
        if target is None
        else infer_label_rule(
            df[target], pos_label=positive, name=str(target)
        ).neg_labels,
    )
    return schema, columns, y


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    pos_label: Any = None,
    id_columns: Sequence[str] | None = None,
    positive: Any = None,
) -> ChurnSchema:
    """Infer the role of every column of a churn table.

    The rules are generic (no per-table code) and the same as
    :func:`read_churn_table` uses to clean the data.

    Parameters
    ----------
    df : pandas.DataFrame
        The raw table, as read (text columns may hold numbers, blanks, or
        placeholders such as ``"Unknown"``).
    target : str, default=None
        The label column, if any. It is never a feature.
    pos_label : object, default=None
        The label value that means churn. ``None`` decides it (see Notes) and
        raises :class:`~churnlib.exceptions.DataValidationError` when that is
        ambiguous.
    id_columns : sequence of str, default=None
        Identifier columns. ``None`` detects them (see Notes); a list (even
        empty) is taken as is and disables detection.
    positive : object, default=None
        Former name of ``pos_label``, still accepted.

    Returns
    -------
    ChurnSchema
        ``numeric``, ``categorical``, ``binary``, ``datetime`` and
        ``id_columns`` in table order, ``target`` and ``positive`` (the raw
        label value meaning churn, ``None`` when only non-churners occur).

    Raises
    ------
    DataValidationError
        If ``target``/``id_columns`` are not columns or hold nested cells, the
        target has missing values, or its churn label cannot be decided.
    InvalidParameterError
        If ``df`` is not a DataFrame.

    Warns
    -----
    DataQualityWarning
        For the columns left out in ``ignored`` (nested cells, durations, a
        saved pandas index).

    See Also
    --------
    read_churn_table : Read, clean and split a table with these rules.

    Notes
    -----
    Values are first cleaned: text is stripped; ``""`` and the
    case-insensitive placeholders of ``PLACEHOLDERS`` (``"Unknown"``,
    ``"N/A"``, ``"?"``...) count as missing. Then each column is:

    - **binary** if it is bool, holds only 0/1, only yes/no, y/n,
      true/false, t/f words (any case), or a two-level number code (only 1/2
      or only -1/1; 1 is True) unless its name says count or amount; the codes
      are recorded in ``true_values`` / ``false_values``;
    - **categorical** if its whole numbers are codes (area codes, tiers) on
      strong evidence (``churnlib._core.cleaning.is_integer_code``: few
      distinct values and a name saying code, or code-like values such as
      408/415/510; never a name saying count or amount), recorded in
      ``coded_categories``;
    - **numeric** if it has a numeric dtype or every present text value
      parses as a number (``" "`` becomes NaN);
    - **datetime** if it has a datetime dtype or ISO-formatted date text, or
      date text in one of the common other shapes (``03/14/2021``,
      ``14.03.2021``, ``2021/03/14``...) that exactly one format reads (day
      and month that cannot be told apart stay categorical);
    - **categorical** otherwise (text, including two-level text such as
      gender).

    A column is an **identifier** (excluded from features) when it is not
    bool and either: its values are unique integers or text and its name
    hints at an id (a word such as ``id``, ``number``, ``num``, ``no``,
    ``key``, or one ending in ``id``/``num``/``number``, e.g. ``customerID``,
    ``CLIENTNUM``) or a name (``surname``, ``name``, ``email``...); or it is
    unique text in a table of at least 50 rows; or it is a unique integer
    run ``k, k+1, ..., k+n-1`` (a row number) with at least 50 rows; or its
    name hints at an id and it holds at least 90 % distinct values in a
    table of at least 20 rows, as text or as whole numbers (integers, or
    floats whose values are all whole: an integer id with a blank row) and
    its name says no count or amount (``NumOfProducts`` is a count); or it is
    text with a name-like name and more than ``max(20, 5 % of rows)``
    distinct values (surnames repeat).

    Three kinds of column are neither features nor identifiers; they are
    listed in ``ignored`` with a
    :class:`~churnlib.exceptions.DataQualityWarning`: ``"nested"`` for
    lists, structs, dicts or arrays in the cells (Parquet nested columns),
    ``"duration"`` for timedelta columns, and ``"saved index"`` for an empty
    header (pandas' ``Unnamed: 0``) over unique integers, the row labels
    ``DataFrame.to_csv`` writes by default, unless ``id_columns`` names it.

    The churn label, when ``pos_label`` is None, is decided by the one label
    rule of :func:`churnlib.infer_label_rule` (shared by every stage):
    ``True`` for a bool target; the yes/true/1 value of a yes/no-style pair;
    of two text labels, the single one naming churn (``"Attrited Customer"``,
    ``"Left"``, ``"churner"``; not negated) or the one other than the single
    one naming staying (``"Existing"``, ``"loyal"``). Anything else is
    ambiguous and raises.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.data import infer_schema
    >>> df = pd.DataFrame(
    ...     {
    ...         "customerID": ["a1", "b2", "c3", "d4"],
    ...         "tenure": [1, 20, 3, 40],
    ...         "TotalCharges": ["20.5", " ", "60", "800.1"],
    ...         "Partner": ["Yes", "No", "No", "Yes"],
    ...         "Contract": ["One year", "Month-to-month", "Unknown", "Two year"],
    ...         "Churn": ["No", "Yes", "Yes", "No"],
    ...     }
    ... )
    >>> schema = infer_schema(df, target="Churn")
    >>> schema.numeric, schema.binary, schema.categorical
    (('tenure', 'TotalCharges'), ('Partner',), ('Contract',))
    >>> schema.id_columns, schema.positive
    (('customerID',), 'Yes')
    """
    pos_label = _pos_label(pos_label, positive, "infer_schema")
    schema, _, _ = _infer(df, target=target, positive=pos_label, id_columns=id_columns)
    _ignored_warnings(schema.ignored, "the table")
    return schema


def _out_of_fold_rates(
    codes: np.ndarray, fold: np.ndarray, y: np.ndarray, prior: float
) -> np.ndarray:
    """Each row's level churn rate from the other folds (m-estimate, weight 10).

    Rows of one level in one fold share their score, and a level the other
    folds never saw scores the prior.
    """
    n_levels = int(codes.max()) + 1 if codes.size else 0
    key = fold * n_levels + codes
    size = _LEAKAGE_FOLDS * n_levels
    counts = np.bincount(key, minlength=size).reshape(_LEAKAGE_FOLDS, n_levels)
    hits = np.bincount(key, weights=y, minlength=size).reshape(counts.shape)
    counts_out = counts.sum(axis=0) - counts
    hits_out = hits.sum(axis=0) - hits
    rates: np.ndarray = (hits_out[fold, codes] + 10.0 * prior) / (
        counts_out[fold, codes] + 10.0
    )
    return rates


def _auc(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ROC AUC of each column of ``scores`` against ``y`` (ties count half)."""
    n1 = int(y.sum())
    n0 = len(y) - n1
    ranks = rankdata(scores, axis=0)
    auc: np.ndarray = (ranks[y].sum(axis=0) - n1 * (n1 + 1) / 2.0) / (n1 * n0)
    return auc


def _leakage_scores(X: pd.DataFrame, y: np.ndarray) -> dict[Any, float]:
    """Single-feature ROC AUC of every feature (about 0.5: no signal), vectorized.

    Numeric and binary columns are ranked as they are (missing values rank
    lowest, so missingness that predicts churn counts too) and their AUC is
    folded to ``max(AUC, 1 - AUC)``: either direction is a leak.

    Categorical columns (missing as its own level) are scored out of fold,
    as a cross-validated AUC: the rows are dealt into 5 fixed folds, each
    row is scored by its level's smoothed churn rate in the *other* folds
    (m-estimate with weight 10), and the AUC counts the pairs of rows within
    a fold. A level seen once then tells nothing about its row, so a random
    mostly-distinct column (a postcode, free text, amounts read as text)
    scores about 0.5, while levels holding only churners (a churn reason or
    a cancellation date filled for churners only) still rank them first.
    That score says "more churn" by construction, so it is not folded.
    """
    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if min(n1, n0) < _MIN_CLASS_FOR_LEAKAGE:  # too few to tell luck from leakage
        return {}
    prior = n1 / len(y)
    own = y.astype(float)
    # a fixed fold per row: the same table always gets the same scores
    fold = np.random.default_rng(0).integers(0, _LEAKAGE_FOLDS, len(y))
    ranked: dict[Any, np.ndarray] = {}
    encoded: dict[Any, np.ndarray] = {}
    for c in X.columns:
        s = X[c]
        if is_text(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            # a raw frame (as pandas read it): score the values the reader
            # would read, so number text ranks as numbers, not as one level
            # per distinct value
            s = _analyze(s).values
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        ):
            if pd.api.types.is_datetime64_any_dtype(s):
                continue
            codes = pd.factorize(s, use_na_sentinel=False)[0]
            encoded[c] = _out_of_fold_rates(codes, fold, own, prior)
        else:
            col = s.to_numpy(dtype=float, na_value=np.nan)
            finite = col[~np.isnan(col)]
            low = (finite.min() - 1.0) if finite.size else 0.0
            ranked[c] = np.where(np.isnan(col), low, col)
    scores: dict[Any, float] = {}
    if ranked:
        auc = _auc(np.column_stack(list(ranked.values())), y)
        scores.update(zip(ranked, np.maximum(auc, 1.0 - auc).tolist(), strict=True))
    if encoded:
        matrix = np.column_stack(list(encoded.values()))
        total, weight = np.zeros(matrix.shape[1]), 0.0
        for k in range(_LEAKAGE_FOLDS):  # folds, not rows
            rows = fold == k
            pairs = float(y[rows].sum()) * float((~y[rows]).sum())
            if pairs:
                total += pairs * _auc(matrix[rows], y[rows])
                weight += pairs
        scores.update(zip(encoded, (total / weight).tolist(), strict=True))
    return {c: scores[c] for c in X.columns if c in scores}


def _ignored_warnings(ignored: Mapping[str, str], source: str) -> None:
    """Warn about the columns the reader leaves out as neither feature nor id."""
    nested = [c for c, why in ignored.items() if why == "nested"]
    if nested:
        warnings.warn(
            f"Column(s) {describe_values(nested)} of {source} hold lists, structs "
            "or arrays in their cells, which churnlib cannot use as features: they "
            "are left out of X, so ChurnTrainer never sees them and scoring does "
            "not need them. If they matter, flatten them into plain columns first "
            "(one column per struct field, a count of list items).",
            DataQualityWarning,
            stacklevel=4,
        )
    for c in (c for c, why in ignored.items() if why == "duration"):
        warnings.warn(
            f"Column {c!r} of {source} holds durations (timedelta), which "
            "churnlib does not read as a feature: it is left out of X, so "
            "ChurnTrainer never sees it and scoring does not need it. To use it, "
            f"store it as a number, e.g. days: df[{c!r}].dt.days.",
            DataQualityWarning,
            stacklevel=4,
        )
    for c in (c for c, why in ignored.items() if why == "saved index"):
        warnings.warn(
            f"Column {c!r} of {source} has no header and holds unique integers: it "
            "looks like the row labels pandas writes by default (DataFrame.to_csv "
            "without index=False), so it is left out of X and is not a feature; "
            "scoring does not need it. Write the file with index=False, or pass "
            f"id_columns=[{c!r}, ...] if it identifies your customers.",
            DataQualityWarning,
            stacklevel=4,
        )


def _repeated_id_warnings(
    raw: pd.DataFrame, ids: Sequence[str], labelled: np.ndarray, source: str
) -> None:
    """Warn when an identifier repeats: one customer's rows may be split apart."""
    for c in ids:
        if _name_hint(c) and not _id_hint(c):  # surnames, names repeat
            continue
        values = raw[c].iloc[np.flatnonzero(labelled)]
        values = values[values.notna().to_numpy()]
        repeated = values.duplicated(keep=False).to_numpy()
        if not repeated.any():
            continue
        n_values = int(values[repeated].nunique())
        warnings.warn(
            f"Identifier column {c!r} of {source} repeats: {n_values} value(s) "
            f"occur on more than one row ({int(repeated.sum())} of {len(values)} "
            "labelled rows). Training rows are split for validation at random "
            "(ChurnTrainer's stratified cv folds, the CLI's train/validation "
            "split), so one customer's rows may fall in both training and "
            "validation and the validation metrics come out optimistic. Keep one "
            "row per customer (e.g. the latest snapshot), or split by customer "
            "yourself and pass the held-out customers as X_valid/y_valid.",
            DataQualityWarning,
            stacklevel=3,
        )


def _date_warnings(columns: Mapping[Any, _Column], source: str) -> None:
    """Warn about date text that is not ISO: read with its format, or ambiguous."""
    for c, col in columns.items():
        if not col.date_formats:
            continue
        n_levels = int(col.values.nunique(dropna=True))
        if col.kind == "datetime":
            message = (
                f"Column {c!r} of {source} holds dates written as "
                f"{col.date_formats[0]!r} (the only format that reads all "
                f"{n_levels:,} distinct values): it is read as dates, which are "
                "kept in X and listed in schema.datetime but are not features, "
                "as ISO dates are."
            )
        else:
            message = (
                f"Column {c!r} of {source} looks like dates ("
                + " or ".join(repr(f) for f in col.date_formats)
                + f"), but none of its {n_levels:,} distinct values tells the day "
                "from the month (none is above 12): churnlib does not guess, so "
                "it is read as a category with one level per date. Write the "
                "dates as YYYY-MM-DD, or drop the column if it is not a feature."
            )
        warnings.warn(message, DataQualityWarning, stacklevel=3)


def _quality_warnings(
    X: pd.DataFrame, y: pd.Series, source: str
) -> tuple[tuple[str, ...], dict[str, float]]:
    """Warn about constant columns and suspected leakage; return both."""
    constant = []
    for c in X.columns:
        n_values = X[c].nunique(dropna=True)
        if n_values <= 1:
            constant.append(str(c))
            what = "only missing values" if n_values == 0 else "a single value"
            warnings.warn(
                f"Column {c!r} of {source} is constant ({what}): it carries no "
                f"information; ChurnTrainer leaves it out of the features.",
                DataQualityWarning,
                stacklevel=3,
            )
    scores = _leakage_scores(X, y.to_numpy(dtype=bool))
    leaks = {str(c): float(auc) for c, auc in scores.items() if auc > LEAKAGE_AUC}
    for c, auc in leaks.items():
        warnings.warn(
            f"Column {c!r} of {source} alone predicts the target {y.name!r} "
            f"almost perfectly (single-feature ROC AUC {auc:.3f} > "
            f"{LEAKAGE_AUC}): suspected target leakage. ChurnTrainer leaves it "
            f"out of the features; pass allow_leakage=True (--allow-leakage) "
            f"only if its value is known before churn happens.",
            DataQualityWarning,
            stacklevel=3,
        )
    return tuple(constant), leaks


@overload
def read_churn_table(
    path_or_url: str | os.PathLike[str],
    *,
    target: str,
    pos_label: Any = ...,
    id_columns: Sequence[str] | None = ...,
    na_values: Sequence[str] | None = ...,
    storage_options: Mapping[str, Any] | None = ...,
    positive: Any = ...,
    sheet: str | int | None = ...,
    sep: str | None = ...,
    encoding: str | None = ...,
    decimal: str | None = ...,
    thousands: str | None = ...,
    header_row: int | None = ...,
    return_unlabelled: Literal[False] = ...,
) -> tuple[pd.DataFrame, pd.Series, ChurnSchema]: ...


@overload
def read_churn_table(
    path_or_url: str | os.PathLike[str],
    *,
    target: str,
    pos_label: Any = ...,
    id_columns: Sequence[str] | None = ...,
    na_values: Sequence[str] | None = ...,
    storage_options: Mapping[str, Any] | None = ...,
    positive: Any = ...,
    sheet: str | int | None = ...,
    sep: str | None = ...,
    encoding: str | None = ...,
    decimal: str | None = ...,
    thousands: str | None = ...,
    header_row: int | None = ...,
    return_unlabelled: Literal[True],
) -> tuple[pd.DataFrame, pd.Series, ChurnSchema, pd.DataFrame]: ...


def read_churn_table(
    path_or_url: str | os.PathLike[str],
    *,
    target: str,
    pos_label: Any = None,
    id_columns: Sequence[str] | None = None,
    na_values: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    positive: Any = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    header_row: int | None = None,
    return_unlabelled: bool = False,
) -> (
    tuple[pd.DataFrame, pd.Series, ChurnSchema]
    | tuple[pd.DataFrame, pd.Series, ChurnSchema, pd.DataFrame]
):
    r"""Read a churn table from any fsspec URL and return clean ``(X, y, schema)``.

    CSV (optionally compressed, by extension) or Parquet (by extension or its
    ``PAR1`` magic bytes), local or remote (``s3://``, ``az://``, ``gs://``,
    ``memory://``, ``https://``...). The table is cleaned with the generic
    rules of :func:`infer_schema`, so no per-table code is needed.

    Parameters
    ----------
    path_or_url : str or os.PathLike
        Local path or fsspec URL.
    target : str
        The label column.
    pos_label : object, default=None
        The label value meaning churn; ``None`` decides it (see
        :func:`infer_schema`). ``positive=`` is accepted as its former name.
    id_columns : sequence of str, default=None
        Identifier columns; ``None`` detects them.
    na_values : sequence of str, default=None
        Extra strings to read as missing, on top of pandas' defaults and
        ``PLACEHOLDERS``.
    storage_options : mapping, default=None
        Passed to :func:`fsspec.open` (credentials, endpoint...). Never shown
        in messages.
    positive : object, default=None
        Former name of ``pos_label``.
    sheet : str, int or None, default=None
        Excel only: the sheet to read (None: the sheet holding the table).
    sep : str or None, default=None
        CSV only: the delimiter (None sniffs ``,`` ``;`` tab ``|``).
    encoding : str or None, default=None
        CSV only: the text encoding (None reads a byte-order mark, else UTF-8
        where bytes are UTF-8 and cp1252 where not, with a warning; see
        ``churnlib.read_table``).
    decimal : str or None, default=None
        CSV only: the decimal separator (``","`` for ``29,85``). None detects
        decimal commas column by column (see ``churnlib.read_table``).
    thousands : str or None, default=None
        CSV only: the thousands separator (``","`` for ``1,234.50``). None
        detects it with ``decimal``.
    header_row : int or None, default=None
        The 0-based line (CSV) or row (Excel) holding the header, for files
        with a title above the table. None: the first line.
    return_unlabelled : bool, default=False
        Also return the rows whose label is blank or a placeholder, as a
        fourth item (they are never in ``X``/``y``; score them with the
        trained model).

    Returns
    -------
    X : pandas.DataFrame
        The feature columns in table order: numeric as int64/float64 (number
        text with blanks becomes float64 with NaN), binary as bool (float
        0/1 with NaN when values are missing), categorical as pandas
        ``category`` (placeholders become NaN), datetime as datetime64.
        Identifier, target and ``schema.ignored`` columns are not in ``X``.
        The first unique identifier column becomes ``X.index`` (preferring a
        real id over a row number or a name); the other identifiers are
        dropped. Without a unique identifier the index is a RangeIndex.
    y : pandas.Series of bool
        True for churn, named after ``target``, same index as ``X``.
    schema : ChurnSchema
        The roles of the columns, with ``target`` and ``positive``.
    X_unlabelled : pandas.DataFrame
        Only with ``return_unlabelled=True``: the unlabelled rows, cleaned
        like ``X`` (same columns and dtypes), possibly empty.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path_or_url``.
    DataValidationError
        If the file cannot be parsed, is empty, or a column named in
        ``target``/``id_columns`` is missing, or the churn label is missing
        or ambiguous.

    Warns
    -----
    DataQualityWarning
        When some rows have no label: they are kept out of ``X`` and ``y`` (so
        out of training and validation) and counted in the warning.
        For each constant column, and for each column whose single-feature
        ROC AUC against ``y`` exceeds ``LEAKAGE_AUC`` (suspected target
        leakage; numbers folded as ``max(AUC, 1 - AUC)``, categories scored
        out of fold). The leakage check needs at least 20 churners and 20
        non-churners; smaller tables skip it. For the columns left out as
        neither feature nor identifier (``schema.ignored``: nested cells,
        durations, a saved pandas index). When an identifier other than a name repeats
        on labelled rows (one customer's rows may fall in both training and
        validation).

    See Also
    --------
    infer_schema : The rules used here.
    load_telco : The IBM Telco table shipped with churnlib.

    Examples
    --------
    >>> import fsspec
    >>> from churnlib.data import read_churn_table
    >>> csv = (
    ...     "CustomerId,Surname,Age,Balance,HasCrCard,Geography,Exited\n"
    ...     "1001,Hill,42,0.0,1,France,1\n"
    ...     "1002,Onio,41,838.5,0,Spain,0\n"
    ...     "1003,Kay,39,0.0,1,France,0\n"
    ... )
    >>> with fsspec.open("memory://example/bank.csv", "w") as f:
    ...     _ = f.write(csv)
    >>> X, y, schema = read_churn_table("memory://example/bank.csv", target="Exited")
    >>> X
                Age  Balance  HasCrCard Geography
    CustomerId
    1001         42      0.0       True    France
    1002         41    838.5      False     Spain
    1003         39      0.0       True    France
    >>> y.tolist(), schema.id_columns, schema.positive
    ([True, False, False], ('CustomerId', 'Surname'), 1)
    """
    if not isinstance(path_or_url, str | os.PathLike):
        raise InvalidParameterError(
            "The 'path_or_url' parameter of read_churn_table must be a str or "
            f"os.PathLike. Got {type(path_or_url).__name__} instead."
        )
    if not isinstance(target, str) or not target:
        raise InvalidParameterError(
            "The 'target' parameter of read_churn_table must be a column name "
            f"(str). Got {target!r} instead."
        )
    url = os.fspath(path_or_url)
    source = repr(redact_url(url))
    raw = read_table(
        url,
        na_values=na_values,
        storage_options=storage_options,
        sheet=sheet,
        sep=sep,
        encoding=encoding,
        decimal=decimal,
        thousands=thousands,
        header_row=header_row,
    )
    if raw.shape[0] == 0:
        raise DataValidationError(
            f"The table at {source} has no rows; a churn table needs at least one."
        )
    raw = _text_names(raw, source)
    schema, columns, y = _infer(
        raw,
        target=target,
        positive=_pos_label(pos_label, positive, "read_churn_table"),
        id_columns=id_columns,
        na_values=frozenset(na_values or ()),
    )
    assert y is not None  # target is set
    _ignored_warnings(schema.ignored, source)
    _date_warnings(columns, source)
    unlabelled = np.asarray(y.attrs.get("churnlib.unlabelled", np.zeros(len(y))), bool)
    _repeated_id_warnings(raw, schema.id_columns, ~unlabelled, source)
    index: pd.Index = pd.RangeIndex(len(raw))
    unique_ids = [
        c for c in schema.id_columns if raw[c].notna().all() and raw[c].is_unique
    ]
    # Prefer a real identifier over a row number (1, 2, 3, ...) and a name.
    unique_ids.sort(key=lambda c: (_name_hint(c), _is_row_number(raw[c])))
    if unique_ids:
        index = pd.Index(raw[unique_ids[0]].to_numpy(), name=unique_ids[0])
    X = pd.DataFrame({c: col.values.array for c, col in columns.items()}, index=index)
    y = pd.Series(y.to_numpy(dtype=bool), index=index, name=target)
    X_unlabelled = X.iloc[np.flatnonzero(unlabelled)]
    if unlabelled.any():
        n = int(unlabelled.sum())
        warnings.warn(
            f"The target column {target!r} of {source} has no label on {n} of "
            f"{len(unlabelled)} row(s) ({100 * n / len(unlabelled):.1f} %, blank or "
            "a placeholder such as 'Unknown'): they are kept out of X and y, so out "
            "of training and validation. Pass return_unlabelled=True to get them "
            "back for scoring.",
            DataQualityWarning,
            stacklevel=2,
        )
        keep = np.flatnonzero(~unlabelled)
        X, y = X.iloc[keep], y.iloc[keep]
    constant, leaks = _quality_warnings(X, y, source)
    schema = replace(
        schema,
        constant=constant,
        leakage=leaks,
        na_values=tuple(na_values or ()),
        key=None if not unique_ids else str(unique_ids[0]),
    )
    X.attrs[SCHEMA_ATTR] = schema
    if return_unlabelled:
        X_unlabelled = X_unlabelled.copy()
        X_unlabelled.attrs[SCHEMA_ATTR] = schema
        return X, y, schema, X_unlabelled
    return X, y, schema
