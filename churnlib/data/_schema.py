"""``ChurnSchema``: which columns of a churn table play which role."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ChurnSchema"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChurnSchema:
    """Roles of the columns of a churn table.

    Parameters
    ----------
    numeric : tuple of str
        Continuous or count features.
    categorical : tuple of str
        Nominal features with more than two levels (or text labels).
    binary : tuple of str
        Two-level features (yes/no, 0/1, bool).
    id_columns : tuple of str
        Identifiers, never used as features.
    datetime : tuple of str
        Date/time columns: kept in the data (for time-based splits) but not
        features.
    target : str or None
        The label column, if the table had one.
    positive : object or None
        The raw label value meaning "churned" (for example ``"Yes"``).

    Examples
    --------
    >>> from churnlib.data import ChurnSchema
    >>> s = ChurnSchema(numeric=("tenure",), categorical=("contract",), target="churn")
    >>> s.features
    ('tenure', 'contract')
    >>> ChurnSchema.from_json(s.to_json()) == s
    True
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    id_columns: tuple[str, ...] = ()
    datetime: tuple[str, ...] = ()
    target: str | None = None
    positive: Any = field(default=None)

    def __post_init__(self) -> None:
        for name in ("numeric", "categorical", "binary", "id_columns", "datetime"):
            object.__setattr__(self, name, tuple(str(c) for c in getattr(self, name)))

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns: numeric, then categorical, then binary."""
        return self.numeric + self.categorical + self.binary

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        if hasattr(self.positive, "item"):  # numpy scalar -> Python scalar
            d["positive"] = self.positive.item()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChurnSchema:
        """Inverse of :meth:`to_dict`."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> str:
        """Serialize to a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ChurnSchema:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
