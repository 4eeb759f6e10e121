"""Column roles for the feature layer (private).

Roles come from the caller's :class:`~churnlib.data.ChurnSchema` when given,
otherwise from :func:`churnlib.data.infer_schema`, the one place churnlib
infers them (identifier and datetime columns are never features).

Large tables: roles are a property of a column's type, not of every row, so
above :data:`ROLE_SAMPLE_ROWS` rows ``infer_schema`` sees that many evenly
spaced rows. The columns whose role could depend on the sample are then
re-inferred on the full column: numbers stored as text (garbage may hide
outside the sample), 0/1 codes (other values may), whole-number codes read
as categories (more levels may), and integer columns that are unique in the
sample (a shuffled row-number column is only a run of consecutive integers as
a whole).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from churnlib.data import ChurnSchema, infer_schema
from churnlib.exceptions import DataValidationError

__all__: list[str] = []

#: Rows seen by ``infer_schema`` when a table is larger (evenly spaced).
ROLE_SAMPLE_ROWS = 20_000

_ROLES = ("numeric", "categorical", "binary", "id_columns", "datetime")


def _role_of(schema: ChurnSchema, column: str) -> str | None:
    for role in _ROLES:
        if column in getattr(schema, role):
            return role
    return None


def _needs_full_look(
    df: pd.DataFrame, sample: pd.DataFrame, c: str, role: str, schema: ChurnSchema
) -> bool:
    s = df[c]
    numeric_dtype = pd.api.types.is_numeric_dtype(s.dtype) and not (
        pd.api.types.is_bool_dtype(s.dtype)
    )
    if role == "numeric":
        if not numeric_dtype and not isinstance(s.dtype, pd.CategoricalDtype):
            return True  # numbers parsed from text
        return bool(pd.api.types.is_integer_dtype(s.dtype) and sample[c].is_unique)
    if role == "binary" and numeric_dtype:
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        return not bool(np.all((v == 0) | (v == 1) | np.isnan(v)))
    # whole-number codes read as categories: more levels may hide outside
    return role == "categorical" and c in schema.coded_categories


def _infer(df: pd.DataFrame) -> ChurnSchema:
    n = len(df)
    if n <= ROLE_SAMPLE_ROWS:
        return infer_schema(df)
    rows = np.linspace(0, n - 1, ROLE_SAMPLE_ROWS).astype(np.intp)
    sample = df.iloc[rows]
    schema = infer_schema(sample)
    moved: dict[str, str] = {}
    codes: dict[str, ChurnSchema] = {}  # the full look of each moved column
    for c in df.columns:
        role = _role_of(schema, c)
        if role is not None and _needs_full_look(df, sample, c, role, schema):
            whole = infer_schema(df[[c]])
            full = _role_of(whole, c)
            if full is not None and full != role:
                moved[c] = full
                codes[c] = whole
    if not moved:
        return schema

    def columns(role: str) -> tuple[str, ...]:
        return tuple(c for c in df.columns if moved.get(c, _role_of(schema, c)) == role)

    def coded(name: str) -> dict[str, tuple[str, ...]]:
        out = {c: v for c, v in getattr(schema, name).items() if c not in moved}
        for whole in codes.values():
            out.update(getattr(whole, name))
        return out

    return dataclasses.replace(
        schema,
        numeric=columns("numeric"),
        categorical=columns("categorical"),
        binary=columns("binary"),
        id_columns=columns("id_columns"),
        datetime=columns("datetime"),
        true_values=coded("true_values"),
        false_values=coded("false_values"),
        coded_categories=tuple(
            c
            for c in columns("categorical")
            if (c in codes and c in codes[c].coded_categories)
            or (c not in moved and c in schema.coded_categories)
        ),
    )


def resolve_schema(
    df: pd.DataFrame, schema: ChurnSchema | None, *, caller: str
) -> ChurnSchema:
    """Return the schema to fit with: ``schema`` checked against ``df``, or inferred."""
    if schema is None:
        return _infer(df)
    wanted = [*schema.features, *schema.id_columns]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{caller}: the schema names column(s) {missing} that X does not "
            f"have (X has {list(df.columns)[:20]}). Fix the schema or the data.",
            columns=missing,
        )
    return schema
