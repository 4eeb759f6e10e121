"""How raw table values are read: one set of rules for every stage.

The reader (:func:`churnlib.data.read_churn_table`) uses these rules to decide
the role of each column; a trained model's contract
(:meth:`churnlib.ModelContract.prepare`) applies the same rules to a raw table
at scoring time, with the roles already decided.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BINARY_CODES",
    "FALSE_WORDS",
    "PLACEHOLDERS",
    "TRUE_WORDS",
    "binary_code",
    "clean_text",
    "factorize_text",
    "is_integer_code",
    "is_text",
    "name_words",
    "number_text",
]

#: Text values read as missing (compared after stripping and case-folding).
PLACEHOLDERS: frozenset[str] = frozenset(
    {"", "unknown", "na", "n/a", "nan", "null", "?", "missing", "#n/a"}
)

#: Words read as True / False in two-level columns (after case-folding).
TRUE_WORDS: frozenset[str] = frozenset({"yes", "y", "true", "t", "1", "1.0"})
FALSE_WORDS: frozenset[str] = frozenset({"no", "n", "false", "f", "0", "0.0"})

#: Two-level number codes read as booleans (besides 0/1): 1 is True, the other
#: code False (yes = 1, no = 2, as surveys code them). 1 is True in every code
#: and in the generic words, so a column already read (0/1) reads the same
#: again: no value means one thing raw and another prepared.
BINARY_CODES: frozenset[tuple[float, float]] = frozenset({(1.0, 2.0), (-1.0, 1.0)})

#: Name words of a count or an amount: such a column stays numeric even when
#: it holds few distinct whole numbers ("number of calls", "NumOfProducts").
COUNT_WORDS: frozenset[str] = frozenset(
    {
        "count", "counts", "cnt", "num", "number", "nr", "n", "qty", "quantity",
        "calls", "call", "amount", "amt", "total", "sum", "avg", "mean", "max",
        "age", "tenure", "day", "days", "week", "weeks", "month", "months",
        "mon", "year", "years", "hour", "hours", "minutes", "mins", "min",
        "balance", "charge", "charges", "fee", "fees", "price", "cost", "salary",
        "income", "score", "rating", "products", "lines", "times", "visits",
        "messages", "contacts", "dependents", "size", "length", "duration",
        "limit", "rate", "pct", "percent", "ratio",
    }
)  # fmt: skip

#: Name words of a code: a column of few whole numbers so named is a category
#: ("area code", "region", "tier", "plan_type").
CODE_WORDS: frozenset[str] = frozenset(
    {
        "code", "codes", "area", "zip", "zipcode", "postcode", "postal",
        "region", "type", "tier", "plan", "class", "category", "segment",
        "group", "cluster", "branch", "channel", "zone", "district", "state",
        "country", "county", "city", "territory", "market", "sector",
        "industry", "division", "dept", "department", "store", "site",
        "office", "status", "kind",
    }
)  # fmt: skip

#: A named code column becomes a category with 3 to this many distinct values.
MAX_CODE_LEVELS = 30
#: An unnamed one needs code-like values: 3 to this many distinct values...
MAX_UNNAMED_CODE_LEVELS = 12
#: ... each of at least three digits (408, 415, 510: area codes).
MIN_UNNAMED_CODE = 100
#: Every code column needs this many rows per distinct value, on average.
MIN_ROWS_PER_CODE = 10

#: Words that name churn in a label value ("Attrited Customer", "Left").
CHURN_WORDS = re.compile(
    r"churn|attrit|exit|\bleft\b|leav|cancel|lost|quit|closed|terminat|defect|lapse"
    r"|\bgone\b|departed|inactive",
    re.IGNORECASE,
)
#: Words that name staying ("Existing Customer", "Stayed", "loyal").
STAY_WORDS = re.compile(
    r"\bstay|retain|retention|existing|\bactive\b|loyal|current|remain|renew",
    re.IGNORECASE,
)
#: A negation in front of a churn word ("Not churned", "No churn", "non-churner").
NEGATION = re.compile(r"\b(not|no|non|never|didn'?t)\b|^non", re.IGNORECASE)


def is_text(s: pd.Series) -> bool:
    """Tell whether ``s`` holds text (object, string or text-category dtype)."""
    return (
        s.dtype == object
        or isinstance(s.dtype, pd.StringDtype)
        or (
            isinstance(s.dtype, pd.CategoricalDtype)
            and not pd.api.types.is_numeric_dtype(s.dtype.categories.dtype)
        )
    )


def factorize_text(
    s: pd.Series, na_values: frozenset[str] = frozenset()
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) and distinct cleaned strings of a text column.

    Text is stripped and placeholders (``PLACEHOLDERS``, case-insensitive, and
    ``na_values``, exact) become missing; the work is done on the distinct
    values only, so it costs one factorization of the column.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.intp)
        uniques = np.asarray(s.cat.categories, dtype=object)
    else:
        codes, raw = pd.factorize(s, use_na_sentinel=True)
        uniques = np.asarray(raw, dtype=object)
    cleaned = [str(u).strip() for u in uniques]
    keep = [not (u.casefold() in PLACEHOLDERS or u in na_values) for u in cleaned]
    distinct: dict[str, int] = {}
    for u, k in zip(cleaned, keep, strict=True):
        if k and u not in distinct:
            distinct[u] = len(distinct)
    remap = np.array(
        [distinct[u] if k else -1 for u, k in zip(cleaned, keep, strict=True)],
        dtype=np.intp,
    )
    if remap.size:
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    levels = np.empty(len(distinct), dtype=object)
    levels[:] = list(distinct)
    return codes, levels


def clean_text(s: pd.Series, na_values: frozenset[str] = frozenset()) -> pd.Series:
    """Strip text and turn placeholders into None (object Series)."""
    codes, levels = factorize_text(s, na_values)
    out = np.full(len(s), None, dtype=object)
    present = codes >= 0
    out[present] = levels[codes[present]]
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def name_words(name: object) -> list[str]:
    """Split ``customerID``/``Customer_Id``/``area code`` into lowercase words."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [t for t in re.split(r"[^A-Za-z0-9]+", text.lower()) if t]


def number_text(value: float) -> str:
    """Format a number code as text: ``408`` for 408.0, ``2.5`` for 2.5."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def binary_code(levels: np.ndarray) -> tuple[str, str] | None:
    """Return ``(true, false)`` texts when sorted distinct numbers are a code.

    0/1 is not a code here (it reads as booleans without one); 1/2 and -1/1
    are, and 1 is True in both.

    Examples
    --------
    >>> import numpy as np
    >>> binary_code(np.array([1.0, 2.0])), binary_code(np.array([-1.0, 1.0]))
    (('1', '2'), ('1', '-1'))
    >>> binary_code(np.array([0.0, 1.0])) is None
    True
    """
    if levels.size != 2 or (float(levels[0]), float(levels[1])) not in BINARY_CODES:
        return None
    other = levels[0] if float(levels[1]) == 1.0 else levels[1]
    return "1", number_text(other)


def is_integer_code(name: object, values: np.ndarray) -> bool:
    """Tell whether a column of whole numbers holds codes (a category), not amounts.

    The evidence must be strong, as a category loses the numbers' order:

    - never when the name says count or amount (``calls``, ``num``, ``age``,
      ``balance``...: ``COUNT_WORDS``), nor for fractions, nor with fewer than
      3 distinct values, nor with fewer than ``MIN_ROWS_PER_CODE`` rows per
      distinct value on average;
    - a name saying code (``code``, ``area``, ``region``, ``tier``, ``plan``,
      ``type``...: ``CODE_WORDS``) with at most ``MAX_CODE_LEVELS`` distinct
      values;
    - any other name: at most ``MAX_UNNAMED_CODE_LEVELS`` distinct values, all
      of at least three digits, irregularly spaced and never adjacent (408,
      415, 510), which amounts, counts and ordinal scales rarely are.

    Parameters
    ----------
    name : object
        The column name.
    values : ndarray
        Its values as floats (NaN for missing).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([408.0, 415.0, 510.0] * 20)
    >>> is_integer_code("AreaCode", codes), is_integer_code("x", codes)
    (True, True)
    >>> is_integer_code("calls", codes), is_integer_code("x", codes - 400)
    (False, False)
    """
    words = set(name_words(name))
    if words & COUNT_WORDS:
        return False
    present = values[~np.isnan(values)]
    if present.size == 0 or not np.all(present == np.round(present)):
        return False
    levels = np.unique(present)
    k = levels.size
    if k < 3 or present.size < MIN_ROWS_PER_CODE * k:
        return False
    if words & CODE_WORDS:
        return k <= MAX_CODE_LEVELS
    gaps = np.diff(levels)
    return bool(
        k <= MAX_UNNAMED_CODE_LEVELS
        and np.abs(levels).min() >= MIN_UNNAMED_CODE
        and gaps.min() >= 2
        and np.unique(gaps).size > 1
    )


def describe_values(values: Any, limit: int = 6) -> str:
    """Format values as ``'a', 'b', ... (n in all)`` for messages.

    A value whose repr is longer than 60 characters (a pasted paragraph, a
    5,000-digit number) is cut, with its length, so one cell cannot flood a
    message, a log line or an HTTP response.
    """
    vals = list(values)
    text = ", ".join(_short_repr(v) for v in vals[:limit])
    return text + (f", ... ({len(vals)} in all)" if len(vals) > limit else "")


def _short_repr(value: Any, width: int = 60) -> str:
    text = repr(value)
    if len(text) <= width:
        return text
    return f"{text[: width - 20]}... ({len(text)} characters)"


def python_scalar(value: Any) -> Any:
    """Return a numpy scalar as the Python scalar JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
