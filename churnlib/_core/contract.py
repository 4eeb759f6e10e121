"""``ModelContract``: what a trained model carries for every later stage.

Decided once, in training, and travelling with the model (an attribute of the
fitted pipeline, the store's manifest, the MLflow run): the features with
their roles and dtypes, identifiers, excluded columns and why, the target and
how raw labels decode, the decision threshold, the reader's cleaning rules,
and a fingerprint of the training rows. Scoring, monitoring, the CLI, the
dashboard and the service read it and never re-infer.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.cleaning import (
    FALSE_WORDS,
    TRUE_WORDS,
    binary_code,
    describe_values,
    factorize_text,
    is_text,
    number_text,
    python_scalar,
)
from churnlib._core.labels import LabelRule
from churnlib._core.version import __version__
from churnlib.exceptions import DataValidationError, InvalidParameterError

__all__ = [
    "CONTRACT_ATTRIBUTE",
    "EXCLUSION_REASONS",
    "FeatureSpec",
    "ModelContract",
    "attach_contract",
    "get_contract",
    "infer_contract",
    "with_text_names",
]


def with_text_names(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return ``raw`` with its column names as text, as contracts record them.

    Excel headers such as years (``2019``) and frames with integer columns
    arrive with non-text names; training and scoring read them as text, so a
    name means the same column at every stage.

    Raises
    ------
    DataValidationError
        If two names are the same text (``1`` and ``"1"``, or a repeat).
    """
    given = raw.columns.tolist()  # one conversion, not an Index iteration
    columns = [str(c) for c in given]
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise DataValidationError(
            f"{source} has duplicate column names {describe_values(dup)}: "
            "rename them first.",
            columns=dup,
        )
    return raw.set_axis(columns, axis=1) if columns != given else raw


#: Name of the fitted-model attribute holding the contract (as JSON text, so
#: skops persists it without any trusted type).
CONTRACT_ATTRIBUTE = "churnlib_contract_"

#: Why a column of the training table is not a feature.
EXCLUSION_REASONS = (
    "identifier",
    "leakage",
    "datetime",
    "constant",
    "dropped",
    "nested",
    "saved index",
    "duration",
)

_ROLES = ("numeric", "binary", "categorical")
_MAX_CATEGORIES = 1000
#: Key of ``X.attrs`` where the reader leaves its schema (see churnlib.data).
_SCHEMA_ATTR = "churnlib.schema"
#: Training rows remembered for overlap checks (a bottom-k sketch of row hashes).
_MAX_ROW_HASHES = 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSpec:
    """One feature column of a trained model.

    Parameters
    ----------
    name : str
        The column.
    role : {"numeric", "binary", "categorical"}
        How it is read.
    dtype : str
        The dtype the model was fitted on (``"float64"``, ``"bool"``,
        ``"category"``...).
    categories : tuple of str
        Categorical levels seen in training (at most 1000).
    true_values, false_values : tuple of str
        Binary: raw tokens (case-folded) read as True / False, on top of the
        yes/no, true/false, y/n, t/f and 1/0 words.
    """

    name: str
    role: str
    dtype: str
    categories: tuple[str, ...] = ()
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise InvalidParameterError(
                f"The 'role' of feature {self.name!r} must be one of {_ROLES}. "
                f"Got {self.role!r} instead."
            )
        for name in ("categories", "true_values", "false_values"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (empty fields left out)."""
        out: dict[str, Any] = {
            "name": self.name,
            "role": self.role,
            "dtype": self.dtype,
        }
        for name in ("categories", "true_values", "false_values"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    # A private copy (plain dict, so contracts deep-copy and pickle).
    return dict(mapping or {})


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelContract:
    """Everything the loop must agree on about one trained churn model.

    Made by :class:`~churnlib.training.ChurnTrainer` (or
    :func:`infer_contract` for a model trained elsewhere), attached to the
    fitted pipeline, persisted by :class:`~churnlib.deployment.ModelStore` and
    logged to MLflow. Read it back with :func:`get_contract`.

    Parameters
    ----------
    features : tuple of FeatureSpec
        Exactly the columns the model is fitted on, in order.
    id_columns : tuple of str
        Identifier columns found in training; the first keys scoring output
        and monitoring.
    excluded : mapping of str to str
        Training-table columns that are not features, and why
        (``"identifier"``, ``"leakage"``, ``"datetime"``, ``"constant"``,
        ``"dropped"``; for a raw frame also ``"nested"``, ``"saved index"``
        and ``"duration"``, the columns the reader leaves out).
    leakage : mapping of str to float
        Suspected target leaks (single-feature ROC AUC); excluded unless
        ``allow_leakage``.
    allow_leakage : bool
        True when the user kept suspected leaks on purpose.
    target : str or None
        The label column.
    labels : LabelRule or None
        How raw labels decode (the churn value is ``labels.pos_label``).
    threshold : float
        The decision threshold on the churn probability.
    na_values : tuple of str
        Extra strings read as missing, on top of the standard placeholders.
    fingerprint : str or None
        Content hash of the training rows and labels.
    row_hashes : str or None
        A compact sketch of the training rows (base64 of sorted 32-bit row
        hashes, at most 20,000) for :meth:`training_overlap`.
    n_train : int
        Training rows.
    reference : mapping or None
        Reference statistics for monitoring, when recorded.
    task : {"churn", "uplift"}
        What the model predicts: ``"churn"`` (``predict_proba`` gives the churn
        probability) or ``"uplift"`` (an uplift model fitted on a campaign:
        ``predict_uplift`` gives the churn probability the offer removes).
    schema_version : int
        Version of this layout.
    churnlib_version : str
        churnlib release that made it.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib import FeatureSpec, ModelContract
    >>> contract = ModelContract(
    ...     features=(
    ...         FeatureSpec(name="tenure", role="numeric", dtype="float64"),
    ...         FeatureSpec(name="partner", role="binary", dtype="bool"),
    ...     ),
    ...     id_columns=("customerID",),
    ... )
    >>> raw = pd.DataFrame(
    ...     {"customerID": ["a", "b"], "tenure": ["3", " "], "partner": ["Yes", "No"]}
    ... )
    >>> contract.prepare(raw)
                tenure  partner
    customerID
    a              3.0     True
    b              NaN    False
    >>> ModelContract.from_json(contract.to_json()) == contract
    True
    """

    features: tuple[FeatureSpec, ...]
    id_columns: tuple[str, ...] = ()
    excluded: Mapping[str, str] = field(default_factory=dict)
    leakage: Mapping[str, float] = field(default_factory=dict)
    allow_leakage: bool = False
    target: str | None = None
    labels: LabelRule | None = None
    threshold: float = 0.5
    na_values: tuple[str, ...] = ()
    fingerprint: str | None = None
    row_hashes: str | None = None
    n_train: int = 0
    reference: Mapping[str, Any] | None = None
    task: str = "churn"
    schema_version: int = 1
    churnlib_version: str = __version__

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "id_columns", tuple(str(c) for c in self.id_columns))
        object.__setattr__(self, "na_values", tuple(str(v) for v in self.na_values))
        object.__setattr__(self, "excluded", _frozen(self.excluded))
        object.__setattr__(
            self, "leakage", _frozen({k: float(v) for k, v in self.leakage.items()})
        )
        if self.reference is not None:
            object.__setattr__(self, "reference", _frozen(self.reference))
        if self.task not in ("churn", "uplift"):
            raise InvalidParameterError(
                "The 'task' of a ModelContract must be 'churn' or 'uplift'. "
                f"Got {self.task!r} instead."
            )
        threshold = self.threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0.0 <= float(threshold) <= 1.0
        ):
            raise InvalidParameterError(
                "The 'threshold' of a ModelContract must be a float in [0, 1]. "
                f"Got {threshold!r} instead."
            )
        object.__setattr__(self, "threshold", float(threshold))
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise DataValidationError(
                f"Duplicate feature names {describe_values(dup)} in a contract.",
                columns=dup,
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelContract):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        return (
            f"ModelContract(features={list(self.feature_names)!r}, "
            f"id_columns={list(self.id_columns)!r}, "
            f"excluded={dict(self.excluded)!r}, target={self.target!r}, "
            f"pos_label={self.pos_label!r}, threshold={self.threshold:g})"
        )

    # --- facts ----------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature columns, in the order the model was fitted on."""
        return tuple(f.name for f in self.features)

    @property
    def id_column(self) -> str | None:
        """The identifier that keys outputs and monitoring (first of ``id_columns``)."""
        return self.id_columns[0] if self.id_columns else None

    @property
    def pos_label(self) -> Any:
        """The raw label value meaning churn (True when labels were booleans)."""
        return True if self.labels is None else self.labels.pos_label

    def feature(self, name: str) -> FeatureSpec:
        """Return the spec of one feature.

        Raises
        ------
        KeyError
            If ``name`` is not a feature.
        """
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_updates(self, **changes: Any) -> ModelContract:
        """Return a copy with some fields replaced (contracts are immutable)."""
        return replace(self, **changes)

    # --- applying it ----------------------------------------------------------

    def ids(self, raw: pd.DataFrame) -> pd.Series | None:
        """Return the identifier values of a raw table, if it has the id column.

        The column is found among the columns or as the index name (what
        :func:`~churnlib.data.read_churn_table` returns).
        """
        col = self.id_column
        if col is None:
            return None
        if col in raw.columns:
            return raw[col]
        if raw.index.name == col:
            return pd.Series(raw.index, index=raw.index, name=col)
        return None

    def prepare(self, raw: pd.DataFrame, *, source: str = "the table") -> pd.DataFrame:
        """Turn a raw table into the exact feature frame the model expects.

        The same cleaning rules the reader applied in training are applied
        with the roles already decided: text is stripped, blanks and
        placeholders become missing, number text becomes numbers, yes/no
        words (or the binary codes seen in training) become booleans.
        Columns that are not features are ignored.

        Parameters
        ----------
        raw : pandas.DataFrame
            The table as read (CSV, Parquet, Excel, JSON records...).
        source : str, default="the table"
            What to call it in messages (a redacted URL, a file name).

        Returns
        -------
        pandas.DataFrame
            ``feature_names`` in order; indexed by the id column when the
            table has it, else by ``raw``'s index.

        Raises
        ------
        DataValidationError
            If feature columns are missing, duplicated, or hold values their
            role cannot read (text in a numeric column, an unknown code in a
            binary column, infinite numbers).
        """
        if not isinstance(raw, pd.DataFrame):
            raise InvalidParameterError(
                "ModelContract.prepare expects a pandas DataFrame. Got "
                f"{type(raw).__name__} instead."
            )
        raw = with_text_names(raw, source)
        missing = [n for n in self.feature_names if n not in raw.columns]
        if missing:
            raise DataValidationError(
                f"{source} lacks the feature column(s) {describe_values(missing)} "
                f"the model was trained on. Add them (missing values are fine: "
                f"leave the cells empty); the model needs "
                f"{describe_values(self.feature_names, limit=40)}.",
                columns=missing,
            )
        na = frozenset(self.na_values)
        array_of = _array_getter(raw)
        out: dict[str, Any] = {}
        for spec in self.features:
            # the common dtypes straight from the column's array; None: the
            # general reading below (which also raises every error)
            col = (
                None
                if array_of is None
                else _prepare_array(array_of(spec.name), spec, na)
            )
            if col is None:
                col = _prepare_column(raw[spec.name], spec, na, source)
            out[spec.name] = col
        index = raw.index
        ids = self.ids(raw)
        if ids is not None and self.id_column in raw.columns:
            index = pd.Index(ids.to_numpy(), name=self.id_column)
        return pd.DataFrame(
            {
                name: col.array if isinstance(col, pd.Series) else col
                for name, col in out.items()
            },
            index=index,
        )

    def decode_labels(self, values: Any) -> np.ndarray:
        """Decode raw labels with the training rule (True = churned)."""
        rule = self.labels or LabelRule(
            pos_label=True, neg_labels=(False,), name=self.target
        )
        return rule.decode(values)

    def training_overlap(self, X: pd.DataFrame) -> float:
        """Estimated share of ``X``'s rows that were training rows.

        Compares hashes of the feature values against the training sketch.
        NaN when the contract has no sketch or ``X`` has no comparable rows.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the feature columns (raw or prepared).
        """
        if not self.row_hashes or len(X) == 0:
            return float("nan")
        known = np.frombuffer(base64.b64decode(self.row_hashes), dtype=np.uint32)
        if known.size == 0:
            return float("nan")
        frame = self.prepare(X)  # idempotent: raw or prepared rows hash alike
        hashes = row_hashes(frame, self)
        if known.size >= _MAX_ROW_HASHES:  # a bottom-k sketch: compare below its top
            hashes = hashes[hashes <= known[-1]]
        if hashes.size == 0:
            return float("nan")
        return float(np.isin(hashes, known).mean())

    # --- serialization --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {
            "schema_version": self.schema_version,
            "churnlib_version": self.churnlib_version,
            "features": [f.to_dict() for f in self.features],
            "id_columns": list(self.id_columns),
            "excluded": dict(self.excluded),
            "leakage": dict(self.leakage),
            "allow_leakage": self.allow_leakage,
            "target": self.target,
            "labels": None if self.labels is None else self.labels.to_dict(),
            "threshold": self.threshold,
            "na_values": list(self.na_values),
            "fingerprint": self.fingerprint,
            "row_hashes": self.row_hashes,
            "n_train": self.n_train,
            "reference": None if self.reference is None else _plain(self.reference),
            # only uplift models say so: churn contracts keep their JSON as before
            **({"task": self.task} if self.task != "churn" else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelContract:
        """Inverse of :meth:`to_dict`; unknown keys are ignored (forward compatible).

        Raises
        ------
        DataValidationError
            If ``data`` is not a contract.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
            raise DataValidationError(
                "Not a churnlib model contract: expected a mapping with a "
                "'features' list."
            )
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["features"] = tuple(FeatureSpec.from_dict(f) for f in data["features"])
        labels = data.get("labels")
        kwargs["labels"] = None if labels is None else LabelRule.from_dict(labels)
        for name in ("id_columns", "na_values"):
            kwargs[name] = tuple(kwargs.get(name) or ())
        return cls(**kwargs)

    def to_json(self) -> str:
        """Serialize to JSON text (sorted keys, so equal contracts give equal text)."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelContract:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except ValueError as err:
            raise DataValidationError(
                f"Not a churnlib model contract: invalid JSON ({err})."
            ) from err
        return cls.from_dict(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return python_scalar(value)


# --- reading one column with its role ----------------------------------------


def _bad_values(
    s: pd.Series, mask: np.ndarray, spec: FeatureSpec, source: str, what: str
) -> DataValidationError:
    bad = pd.unique(s[mask].astype(str))[:6].tolist()
    return DataValidationError(
        f"Column {spec.name!r} of {source} holds {describe_values(bad)}, which "
        f"cannot be read as {what} (the model was trained on it as a "
        f"{spec.role} feature). Fix or blank those cells.",
        columns=[spec.name],
    )


def _prepare_numeric(
    s: pd.Series, spec: FeatureSpec, na: frozenset[str], source: str
) -> pd.Series:
    if pd.api.types.is_bool_dtype(s) and not is_text(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(s) and not is_text(s):
        if isinstance(s.dtype, pd.CategoricalDtype):
            values = np.asarray(s, dtype=float)
        else:
            values = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        codes, levels = factorize_text(s, na)
        numbers = pd.to_numeric(pd.Series(levels, dtype=object), errors="coerce")
        numbers = numbers.to_numpy(dtype=float, na_value=np.nan)
        bad_levels = np.isnan(numbers)
        if bad_levels.any():
            mask = (
                (codes >= 0) & bad_levels[np.maximum(codes, 0)]
                if levels.size
                else np.zeros(len(s), bool)
            )
            raise _bad_values(s, mask, spec, source, "numbers")
        values = np.where(
            codes >= 0, numbers[np.maximum(codes, 0)] if levels.size else np.nan, np.nan
        )
    if np.isinf(values).any():
        raise _bad_values(s, np.isinf(values), spec, source, "finite numbers")
    return pd.Series(_training_numbers(values, spec.dtype), index=s.index)


def _training_numbers(values: np.ndarray, dtype: str) -> np.ndarray:
    """Finite float64 ``values`` in the training dtype where that is exact.

    An integer feature gets its integer dtype back when every value is a
    whole number inside that dtype's range; otherwise (missing values,
    fractions, or numbers the dtype cannot hold, such as 300 in a ``uint8``
    feature or 1e20 in an ``int64`` one) the values stay float64, the same
    numbers, never wrapped around.
    """
    if not dtype.startswith(("int", "uint")) or len(values) == 0:
        return values
    info = np.iinfo(dtype)
    # float(info.max) + 1 is exactly 2**bits: a strict bound that float
    # rounding cannot let through (2**63 does not fit int64)
    low, high = float(info.min), float(info.max) + 1.0
    if (
        np.isnan(values).any()
        or not np.all(values == np.round(values))
        or values.min() < low
        or values.max() >= high
    ):
        return values
    return values.astype(dtype)


def _code_text(value: object) -> str:
    """Fold a raw value to its code text (``"Yes"``: ``"yes"``, ``"2.0"``: ``"2"``)."""
    text = str(value).strip().casefold()
    try:
        number = float(text)
    except ValueError:
        return text
    return number_text(number) if np.isfinite(number) else text


def _prepare_binary(
    s: pd.Series, spec: FeatureSpec, na: frozenset[str], source: str
) -> pd.Series:
    if pd.api.types.is_bool_dtype(s) and isinstance(s.dtype, np.dtype):
        return pd.Series(s.to_numpy(dtype=bool), index=s.index)
    # The codes seen in training win over the generic words ("2" means False
    # in a 1/2-coded column; 1 is True in every code, as in the words).
    own_true, own_false = frozenset(spec.true_values), frozenset(spec.false_values)
    true_words = own_true | (TRUE_WORDS - own_false)
    false_words = own_false | (FALSE_WORDS - own_true)
    if is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
        codes, levels = factorize_text(s, na)
        folded = np.array([_code_text(v) for v in levels], dtype=object)
    else:
        values = s.to_numpy(dtype=float, na_value=np.nan)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.intp)
        folded = np.array([number_text(u) for u in uniques], dtype=object)
    truth = np.array([f in true_words for f in folded], dtype=bool)
    falsity = np.array([f in false_words for f in folded], dtype=bool)
    unknown = ~(truth | falsity)
    present = codes >= 0
    if unknown.any():
        mask = present & unknown[np.maximum(codes, 0)]
        if spec.true_values or spec.false_values:
            expected = (
                f"{' or '.join(spec.true_values)} for True, "
                f"{' or '.join(spec.false_values)} for False"
            )
        else:
            expected = "yes/no, true/false, y/n, t/f or 1/0"
        raise _bad_values(s, mask, spec, source, f"a two-level value ({expected})")
    t = truth[np.maximum(codes, 0)] if truth.size else np.zeros(len(s), dtype=bool)
    if present.all():
        return pd.Series(t.astype(bool), index=s.index)
    return pd.Series(np.where(present, t.astype(float), np.nan), index=s.index)


def binary_codes_of(s: pd.Series) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the raw ``(true_values, false_values)`` of a two-level number code.

    Numbers (or number text) holding only 1/2 or -1/1 are a code (see
    ``churnlib._core.cleaning.binary_code``); anything else gives ``((), ())``.
    """
    if pd.api.types.is_bool_dtype(s) and not is_text(s):
        return (), ()
    if is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
        _, levels = factorize_text(s)
        numbers = pd.to_numeric(pd.Series(levels, dtype=object), errors="coerce")
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        return (), ()
    if values.size == 0 or np.isnan(values).all():
        return (), ()
    if np.isnan(values).any() and (
        is_text(s) or isinstance(s.dtype, pd.CategoricalDtype)
    ):
        return (), ()  # some text is not a number: words, not a code
    code = binary_code(np.unique(values[~np.isnan(values)]))
    return ((code[0],), (code[1],)) if code is not None else ((), ())


def read_binary(
    s: pd.Series,
    *,
    true_values: Iterable[str] = (),
    false_values: Iterable[str] = (),
    na_values: frozenset[str] = frozenset(),
    source: str = "the table",
) -> pd.Series:
    """Read a binary column as :meth:`ModelContract.prepare` does.

    Bool stays bool; yes/no, true/false, y/n, t/f, 1/0 words or numbers, and
    the given raw codes (``true_values=("2",)``, ``false_values=("1",)``)
    become bool, or float 0/1 with NaN where values are missing.

    Raises
    ------
    DataValidationError
        If a value is none of those.
    """
    spec = FeatureSpec(
        name=str(s.name),
        role="binary",
        dtype="bool",
        true_values=tuple(true_values),
        false_values=tuple(false_values),
    )
    return _prepare_binary(s, spec, na_values, source)


def _as_known_codes(levels: np.ndarray, known: frozenset[str]) -> np.ndarray:
    """Read number text as the training code it spells (``"408.0"`` -> ``"408"``).

    Duplicates after the mapping are fine: the caller maps levels by text.
    """
    out = levels.copy()
    for i, v in enumerate(levels):  # a loop over distinct values, not rows
        text = str(v)
        if text in known:
            continue
        code = _code_text(text)
        if code in known:
            out[i] = code
    return out


@functools.lru_cache(maxsize=512)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """One dtype object per level list, reused by every batch prepared.

    A service prepares thousands of small batches with the same levels;
    building a new ``CategoricalDtype`` each time re-hashes the levels, in
    ``prepare`` and again whenever the batches are concatenated (the monitor
    log writer); the same object compares by identity.
    """
    return pd.CategoricalDtype(list(categories))


def _prepare_categorical(
    s: pd.Series, spec: FeatureSpec, na: frozenset[str]
) -> pd.Series:
    if (
        not is_text(s)
        and pd.api.types.is_numeric_dtype(s)
        and not pd.api.types.is_bool_dtype(s)
    ):
        # Number codes (area codes, tiers) read as the text the training table had.
        values = s.to_numpy(dtype=float, na_value=np.nan)
        text = np.array(
            [None if np.isnan(v) else number_text(v) for v in pd.unique(values)],
            dtype=object,
        )
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        mapping = dict(zip(pd.unique(values), text, strict=True))
        levels = np.array([mapping[u] for u in uniques], dtype=object)
    else:
        codes, levels = factorize_text(s, na)
        if spec.categories and levels.size:
            levels = _as_known_codes(levels, frozenset(spec.categories))
    codes = np.asarray(codes, dtype=np.intp)
    if spec.dtype == "category":
        known = list(spec.categories)
        extra = sorted(set(map(str, levels)) - set(known))
        cats = known + extra
        position = {c: i for i, c in enumerate(cats)}
        remap = np.array([position[str(v)] for v in levels], dtype=np.intp)
        cat_codes = np.where(
            codes >= 0, remap[np.maximum(codes, 0)] if remap.size else -1, -1
        )
        return pd.Series(
            pd.Categorical.from_codes(cat_codes, dtype=_category_dtype(tuple(cats))),
            index=s.index,
        )
    out = np.full(len(s), None, dtype=object)
    present = codes >= 0
    out[present] = levels[codes[present]]
    return pd.Series(out, index=s.index, dtype=object)


def _array_getter(raw: pd.DataFrame) -> Any:
    """``name -> the column's array`` without building a Series, or None."""
    get = getattr(raw, "_get_column_array", None)  # pandas >= 1.3
    if get is None or not raw.columns.is_unique:  # pragma: no cover - old pandas
        return None
    loc = raw.columns.get_loc
    return lambda name: get(loc(name))


@functools.lru_cache(maxsize=512)
def _clean_levels(
    categories: tuple[str, ...], na: frozenset[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the levels :func:`_prepare_categorical` reads as themselves.

    A training level is read as itself when the cleaning rules leave its
    text unchanged (no surrounding blanks, not a placeholder): asked of
    :func:`factorize_text` itself, so the rule has one home. Returns those
    levels sorted (an object array, for :func:`numpy.searchsorted`) and each
    one's place in ``categories``; None when the levels repeat or none is
    left.
    """
    if len(set(categories)) != len(categories):
        return None
    codes, levels = factorize_text(pd.Series(list(categories), dtype=object), na)
    places = [
        i
        for i, (code, level) in enumerate(zip(codes, categories, strict=True))
        if code >= 0 and levels[code] == level
    ]
    if not places:
        return None
    order = sorted(places, key=lambda i: categories[i])
    clean = np.empty(len(order), dtype=object)
    clean[:] = [categories[i] for i in order]
    return clean, np.asarray(order, dtype=np.intp)


def _prepare_array(values: Any, spec: FeatureSpec, na: frozenset[str]) -> Any:
    """:func:`_prepare_column` for the dtypes a service sees most, or None.

    The same result as :func:`_prepare_column` (the values, their dtype and,
    for categories, the one cached dtype object), computed on the column's
    array without the per-call cost of Series and dtype dispatch, which
    dominates for a few rows. Handles: numbers and booleans (NumPy) in a
    numeric feature, NumPy booleans in a binary one, and text holding only
    training levels (or already prepared categorical codes) in a categorical
    one. Anything else, and every value that would be refused, returns None:
    the caller reads the column the general way, which raises the same errors
    as always.
    """
    if spec.role == "numeric":
        if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
            return None
        numbers = values.astype(np.float64)
        if np.isinf(numbers).any():
            return None  # refused, with its message, by the general reading
        return _training_numbers(numbers, spec.dtype)
    if spec.role == "binary":
        if isinstance(values, np.ndarray) and values.dtype.kind == "b":
            return values.copy()
        return None
    if not spec.categories or spec.dtype not in ("category", "object"):
        return None
    known = tuple(spec.categories)
    if isinstance(values, pd.Categorical):
        # a prepared column read again (the monitor logs prepared frames):
        # the training levels, under the one cached dtype, read as themselves
        dtype = _category_dtype(known)
        lookup = _clean_levels(known, na)
        if (
            spec.dtype != "category"
            or values.dtype is not dtype
            or lookup is None
            or len(lookup[1]) != len(known)
        ):
            return None
        return pd.Categorical.from_codes(values.codes, dtype=dtype)
    if isinstance(values, np.ndarray):
        if values.dtype != object:
            return None  # number codes: the general reading
        text = values
    elif isinstance(getattr(values, "dtype", None), pd.StringDtype):
        text = np.asarray(values, dtype=object)
    else:
        return None
    lookup = _clean_levels(known, na)
    if lookup is None:
        return None
    clean, places = lookup
    missing = np.asarray(pd.isna(text), dtype=bool)
    probe = text[~missing] if missing.any() else text
    try:  # compares as Python does; anything but text raises TypeError
        at = np.minimum(np.searchsorted(clean, probe), len(clean) - 1)
        hit = np.asarray(clean[at] == probe, dtype=bool)
    except (TypeError, ValueError):
        return None
    if hit.shape != probe.shape or not hit.all():
        return None  # a level to clean, read as a code, or unseen: the general way
    codes = np.full(len(text), -1, dtype=np.intp)
    codes[~missing] = places[at]
    if spec.dtype == "category":
        return pd.Categorical.from_codes(codes, dtype=_category_dtype(known))
    out = np.full(len(text), None, dtype=object)
    present = ~missing
    out[present] = np.asarray(known, dtype=object)[codes[present]]
    return out


def _prepare_column(
    s: pd.Series, spec: FeatureSpec, na: frozenset[str], source: str
) -> pd.Series:
    if isinstance(s, pd.DataFrame):  # pragma: no cover - duplicates are refused above
        raise DataValidationError(
            f"Duplicate column {spec.name!r}.", columns=[spec.name]
        )
    if spec.role == "numeric":
        return _prepare_numeric(s, spec, na, source)
    if spec.role == "binary":
        return _prepare_binary(s, spec, na, source)
    return _prepare_categorical(s, spec, na)


# --- making one ---------------------------------------------------------------


def _role_of(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s) and not is_text(s):
        return "binary"
    if is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        present = v[~np.isnan(v)]
        if present.size and np.all((present == 0) | (present == 1)):
            return "binary"
        return "numeric"
    return "categorical"


def feature_specs(
    X: pd.DataFrame, roles: Mapping[str, str] | None = None
) -> tuple[FeatureSpec, ...]:
    """Specs of every column of a (clean) training frame.

    Parameters
    ----------
    X : pandas.DataFrame
        The frame the model is fitted on.
    roles : mapping of str to str, default=None
        Roles already decided (by the reader's schema); others are read from
        the dtypes.

    Notes
    -----
    A frame from :func:`churnlib.data.read_churn_table` keeps the reader's
    schema in ``X.attrs["churnlib.schema"]``: the raw codes of its binary
    columns coded other than 0/1 or yes/no (such as 1/2) become the specs'
    ``true_values`` / ``false_values``, so :meth:`ModelContract.prepare`
    reads raw codes at scoring time as the reader did in training.
    """
    # the reader's schema (kept in X.attrs) knows the raw binary codes (1/2)
    schema = X.attrs.get(_SCHEMA_ATTR)
    true_values = dict(getattr(schema, "true_values", None) or {})
    false_values = dict(getattr(schema, "false_values", None) or {})
    specs = []
    for c in X.columns:
        s = X[c]
        role = (roles or {}).get(str(c)) or _role_of(s)
        categories: Iterable[Any] = ()
        if role == "categorical":
            if isinstance(s.dtype, pd.CategoricalDtype):
                categories = [str(v) for v in s.cat.categories]
            else:
                categories = sorted({str(v) for v in pd.unique(s.dropna())})
            categories = list(categories)[:_MAX_CATEGORIES]
        dtype = "category" if isinstance(s.dtype, pd.CategoricalDtype) else str(s.dtype)
        if role == "categorical" and dtype != "category":
            dtype = "object"
        binary = role == "binary"
        if binary and str(c) not in true_values:  # a raw frame: read its codes
            true_values[str(c)], false_values[str(c)] = binary_codes_of(s)
        specs.append(
            FeatureSpec(
                name=str(c),
                role=role,
                dtype=dtype,
                categories=tuple(categories),
                true_values=true_values.get(str(c), ()) if binary else (),
                false_values=false_values.get(str(c), ()) if binary else (),
            )
        )
    return tuple(specs)


def _canonical(frame: pd.DataFrame, contract: ModelContract | None) -> pd.DataFrame:
    """Feature values in one representation, so hashes match across dtypes."""
    out = {}
    na = frozenset(contract.na_values) if contract is not None else frozenset()
    for c in frame.columns:
        s = frame[c]
        spec = (
            contract.feature(str(c))
            if contract is not None and str(c) in contract.feature_names
            else None
        )
        role = spec.role if spec is not None else _role_of(s)
        if role == "categorical":
            out[c] = s.astype(object).where(s.notna(), None).astype(str)
            continue
        if is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
            # raw text (a frame trained on as read by pandas): read it by its role
            try:
                s = _prepare_column(s, spec or _text_spec(str(c), role), na, "")
            except DataValidationError:
                out[c] = s.astype(object).where(s.notna(), None).astype(str)
                continue
        out[c] = pd.Series(s.to_numpy(dtype=float, na_value=np.nan), index=s.index)
    return pd.DataFrame(out, index=frame.index)


def _text_spec(name: str, role: str) -> FeatureSpec:
    return FeatureSpec(name=name, role=role, dtype="float64")


def row_hashes(
    frame: pd.DataFrame, contract: ModelContract | None = None
) -> np.ndarray:
    """32-bit hashes of the rows' feature values (index ignored), uint32."""
    if frame.shape[1] == 0:
        return np.zeros(0, dtype=np.uint32)
    h = pd.util.hash_pandas_object(_canonical(frame, contract), index=False)
    out: np.ndarray = (h.to_numpy(dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)
    return out


def row_sketch(frame: pd.DataFrame, contract: ModelContract | None = None) -> str:
    """Base64 of the smallest distinct row hashes (a bottom-k sketch)."""
    hashes = np.unique(row_hashes(frame, contract))[:_MAX_ROW_HASHES]
    return base64.b64encode(hashes.astype("<u4").tobytes()).decode("ascii")


def infer_contract(
    X: pd.DataFrame,
    y: Any = None,
    *,
    threshold: float | None = None,
    id_columns: Iterable[str] = (),
    labels: LabelRule | None = None,
) -> ModelContract:
    """Build the contract of a model fitted outside the trainer.

    Roles come from the dtypes of ``X`` (the frame the model was fitted on):
    bool and 0/1 columns are binary, numbers numeric, text and categories
    categorical.

    Parameters
    ----------
    X : pandas.DataFrame
        The features the model was fitted on.
    y : array-like, default=None
        Labels, to record the label rule.
    threshold : float, default=None
        The decision threshold (0.5 when None).
    id_columns : iterable of str, default=()
    labels : LabelRule, default=None

    Returns
    -------
    ModelContract
    """
    if labels is None and y is not None:
        from churnlib._core.labels import infer_label_rule

        labels = infer_label_rule(y, name=getattr(y, "name", None))
    specs = feature_specs(X)
    ids = [str(c) for c in id_columns]
    if X.index.name in ids:  # the reader's key: the id outputs are keyed by
        ids.remove(X.index.name)
        ids.insert(0, X.index.name)
    contract = ModelContract(
        features=specs,
        id_columns=tuple(ids),
        target=None if labels is None else labels.name,
        labels=labels,
        threshold=0.5 if threshold is None else float(threshold),
        n_train=len(X),
    )
    return contract.with_updates(row_hashes=row_sketch(X, contract))


def attach_contract(model: Any, contract: ModelContract) -> Any:
    """Attach ``contract`` to a fitted model (in place) and return the model.

    The contract is stored as JSON text in the ``churnlib_contract_``
    attribute, which skops and MLflow persist with the model and
    :func:`sklearn.base.clone` leaves behind.
    """
    if not isinstance(contract, ModelContract):
        raise InvalidParameterError(
            "The 'contract' parameter of attach_contract must be a ModelContract. "
            f"Got {type(contract).__name__} instead."
        )
    setattr(model, CONTRACT_ATTRIBUTE, contract.to_json())
    return model


def get_contract(model: Any) -> ModelContract | None:
    """Return the contract a fitted model carries, or None.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from churnlib import get_contract
    >>> get_contract(DummyClassifier()) is None
    True
    """
    text = getattr(model, CONTRACT_ATTRIBUTE, None)
    if text is None:
        return None
    if isinstance(text, ModelContract):
        return text
    return ModelContract.from_json(text)
