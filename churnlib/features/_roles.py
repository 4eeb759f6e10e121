"""Column roles for the feature layer (private).

Roles come from the caller's :class:`~churnlib.data.ChurnSchema` when given,
otherwise from :func:`churnlib.data.infer_schema`, the one place churnlib
infers them (identifier and datetime columns are never features).
"""

from __future__ import annotations

import pandas as pd

from churnlib.data import ChurnSchema, infer_schema
from churnlib.exceptions import DataValidationError

__all__: list[str] = []


def resolve_schema(
    df: pd.DataFrame, schema: ChurnSchema | None, *, caller: str
) -> ChurnSchema:
    """Return the schema to fit with: ``schema`` checked against ``df``, or inferred."""
    if schema is None:
        return infer_schema(df)
    wanted = [*schema.features, *schema.id_columns]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{caller}: the schema names column(s) {missing} that X does not "
            f"have (X has {list(df.columns)[:20]}). Fix the schema or the data.",
            columns=missing,
        )
    return schema
