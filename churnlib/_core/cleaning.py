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
    "FALSE_WORDS",
    "PLACEHOLDERS",
    "TRUE_WORDS",
    "clean_text",
    "factorize_text",
    "is_text",
]

#: Text values read as missing (compared after stripping and case-folding).
PLACEHOLDERS: frozenset[str] = frozenset(
    {"", "unknown", "na", "n/a", "nan", "null", "?", "missing", "#n/a"}
)

#: Words read as True / False in two-level columns (after case-folding).
TRUE_WORDS: frozenset[str] = frozenset({"yes", "y", "true", "t", "1", "1.0"})
FALSE_WORDS: frozenset[str] = frozenset({"no", "n", "false", "f", "0", "0.0"})

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


def describe_values(values: Any, limit: int = 6) -> str:
    """Format values as ``'a', 'b', ... (n in all)`` for messages."""
    vals = list(values)
    text = ", ".join(repr(v) for v in vals[:limit])
    return text + (f", ... ({len(vals)} in all)" if len(vals) > limit else "")


def python_scalar(value: Any) -> Any:
    """Return a numpy scalar as the Python scalar JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
