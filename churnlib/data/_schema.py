"""``ChurnSchema``: which columns of a churn table play which role."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any

__all__ = ["ChurnSchema"]

#: Field order of the releases that stored a schema, by number of fields: a
#: pickled slotted dataclass is the list of its values in that order. A new
#: field goes last, and the new layout gets a line here.
_LAYOUTS: dict[int, tuple[str, ...]] = {
    6: ("numeric", "categorical", "binary", "id_columns", "target", "positive"),
    7: ("numeric", "categorical", "binary", "id_columns", "datetime", "target",
        "positive"),
    11: ("numeric", "categorical", "binary", "id_columns", "datetime", "target",
         "positive", "constant", "leakage", "na_values", "key"),
    12: ("numeric", "categorical", "binary", "id_columns", "datetime", "target",
         "positive", "neg_labels", "constant", "leakage", "na_values", "key"),
    15: ("numeric", "categorical", "binary", "id_columns", "datetime", "target",
         "positive", "neg_labels", "constant", "leakage", "na_values", "key",
         "true_values", "false_values", "coded_categories"),
}  # fmt: skip


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
    neg_labels : tuple
        The raw label values meaning the customer stayed.
    constant : tuple of str
        Feature columns holding a single value (or none): no information.
    leakage : mapping of str to float
        Suspected target leaks: column -> single-feature ROC AUC.
    na_values : tuple of str
        Extra strings read as missing, on top of the standard placeholders.
    key : str or None
        The identifier the table was indexed by, if any.
    true_values, false_values : mapping of str to tuple of str
        Binary columns coded other than 0/1, yes/no or true/false (such as
        1/2): column -> the raw codes read as True / False. The model's
        contract carries them, so scoring reads raw codes the same way.
    coded_categories : tuple of str
        Categorical columns read from whole-number codes (area codes, tiers,
        region codes); their categories are the codes' text (``"408"``).
    ignored : mapping of str to str
        Columns that are neither features nor identifiers, left out of the
        data read: column -> reason, ``"saved index"`` (an empty header over
        unique integers: the row labels ``DataFrame.to_csv`` writes by
        default), ``"nested"`` (lists, structs, dicts or arrays in its
        cells) or ``"duration"`` (timedelta values).

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
    neg_labels: tuple[Any, ...] = ()
    constant: tuple[str, ...] = ()
    leakage: Mapping[str, float] = field(default_factory=dict)
    na_values: tuple[str, ...] = ()
    key: str | None = None
    true_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    false_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    coded_categories: tuple[str, ...] = ()
    ignored: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (
            "numeric",
            "categorical",
            "binary",
            "id_columns",
            "datetime",
            "constant",
            "na_values",
            "coded_categories",
        ):
            object.__setattr__(self, name, tuple(str(c) for c in getattr(self, name)))
        object.__setattr__(self, "neg_labels", tuple(self.neg_labels))
        object.__setattr__(
            self,
            "leakage",
            {str(k): float(v) for k, v in self.leakage.items()},
        )
        object.__setattr__(
            self, "ignored", {str(k): str(v) for k, v in self.ignored.items()}
        )
        for name in ("true_values", "false_values"):
            object.__setattr__(
                self,
                name,
                {
                    str(k): tuple(str(v) for v in vs)
                    for k, vs in getattr(self, name).items()
                },
            )

    def __setstate__(self, state: Any) -> None:
        """Restore a pickled or skops-stored schema, also one of an older release.

        The state is the list of field values (dataclass pickling of a slotted
        class), in the field order of the release that wrote it, or a mapping
        by name. Fields the writer did not have get their defaults, so models
        stored before a field was added keep loading, printing and cloning.
        """
        if isinstance(state, Mapping):
            values = dict(state)
        else:
            state = list(state)
            names = _LAYOUTS.get(len(state), tuple(self.__dataclass_fields__))
            values = dict(zip(names, state, strict=False))
        for name, spec in self.__dataclass_fields__.items():
            if name in values:
                value = values[name]
            elif spec.default_factory is not MISSING:
                value = spec.default_factory()
            else:
                value = spec.default
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        return hash(self.to_json())

    @property
    def pos_label(self) -> Any:
        """The raw label value meaning churn (the same as ``positive``)."""
        return self.positive

    @property
    def roles(self) -> dict[str, str]:
        """Map each feature column to its role (numeric, categorical, binary)."""
        out = dict.fromkeys(self.numeric, "numeric")
        out.update(dict.fromkeys(self.categorical, "categorical"))
        out.update(dict.fromkeys(self.binary, "binary"))
        return out

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns: numeric, then categorical, then binary."""
        return self.numeric + self.categorical + self.binary

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        d["leakage"] = dict(self.leakage)
        d["ignored"] = dict(self.ignored)
        for name in ("true_values", "false_values"):
            d[name] = {k: list(v) for k, v in getattr(self, name).items()}
        if hasattr(self.positive, "item"):  # numpy scalar -> Python scalar
            d["positive"] = self.positive.item()
        d["neg_labels"] = [
            v.item() if hasattr(v, "item") else v for v in self.neg_labels
        ]
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
