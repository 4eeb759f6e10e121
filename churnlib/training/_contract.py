"""Decide, once, which columns a model is fitted on and how its labels decode.

:class:`~churnlib.training.ChurnTrainer` calls :func:`decide_contract` before
any fit: identifiers, datetime and constant columns, suspected target leaks
(unless ``allow_leakage``) and the user's ``drop=`` columns are left out, each
with its reason, and the raw labels are decoded by the one label rule
(:func:`churnlib.contract.decode_labels`). The result becomes the model's
:class:`~churnlib.contract.ModelContract`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.contract import ModelContract, feature_specs, row_sketch
from churnlib._core.labels import LabelRule, decode_labels
from churnlib.exceptions import DataQualityWarning, DataValidationError

__all__ = [
    "ContractDecision",
    "contract_params",
    "contract_tags",
    "decide_contract",
    "decode_valid_labels",
]

logger = logging.getLogger(__name__)

#: Key of ``X.attrs`` where :func:`churnlib.data.read_churn_table` leaves its schema.
SCHEMA_ATTR = "churnlib.schema"
#: Reasons that always raise a warning (the user may not expect them).
_SURPRISING = frozenset({"leakage", "constant", "datetime"})


@dataclass(frozen=True)
class ContractDecision:
    """What :func:`decide_contract` decided (the contract before fitting)."""

    X: pd.DataFrame  # the feature frame the model is fitted on
    y: np.ndarray  # decoded labels (bool)
    labels: LabelRule
    roles: dict[str, str]
    id_columns: tuple[str, ...]
    excluded: dict[str, str]
    leakage: dict[str, float]
    allow_leakage: bool
    target: str | None
    na_values: tuple[str, ...]

    def contract(
        self, *, threshold: float, fingerprint: str | None = None
    ) -> ModelContract:
        """Build the :class:`~churnlib.contract.ModelContract` of a model fit on X."""
        specs = feature_specs(self.X, roles=self.roles)
        contract = ModelContract(
            features=specs,
            id_columns=self.id_columns,
            excluded=self.excluded,
            leakage=self.leakage,
            allow_leakage=self.allow_leakage,
            target=self.target,
            labels=self.labels,
            threshold=float(threshold),
            na_values=self.na_values,
            fingerprint=fingerprint,
            n_train=len(self.X),
        )
        return contract.with_updates(row_hashes=row_sketch(self.X, contract))


def _schema_of(X: pd.DataFrame, schema: Any) -> Any:
    if schema is not None:
        return schema
    return X.attrs.get(SCHEMA_ATTR)


def _label_rule(y: Any, schema: Any) -> tuple[np.ndarray, LabelRule]:
    name = getattr(y, "name", None)
    target = getattr(schema, "target", None) if schema is not None else None
    positive = getattr(schema, "positive", None) if schema is not None else None
    name = str(name) if name is not None else target
    values = y if isinstance(y, pd.Series) else np.asarray(y)
    decoded_by_reader = (
        positive is not None
        and target is not None
        and pd.api.types.is_bool_dtype(getattr(values, "dtype", None))
    )
    # booleans the reader decoded mean churn, whatever the target's name says
    # (a "Retained" column decoded once must not be turned over again)
    decoded, rule = decode_labels(values, name=None if decoded_by_reader else name)
    if positive is not None and rule.pos_label is True and target is not None:
        # the reader already decoded the labels: record its raw churn value
        negs = tuple(getattr(schema, "neg_labels", ()) or ())
        rule = LabelRule(pos_label=positive, neg_labels=negs, name=target)
    return np.asarray(decoded, dtype=bool), rule


def decode_valid_labels(y_valid: Any, rule: LabelRule) -> np.ndarray:
    """Decode validation labels with the training rule (bool array)."""
    values = y_valid if isinstance(y_valid, pd.Series) else np.asarray(y_valid)
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values
    if isinstance(values, pd.Series) and pd.api.types.is_bool_dtype(values.dtype):
        out: np.ndarray = values.to_numpy(dtype=bool)
        return out
    return np.asarray(rule.decode(values), dtype=bool)


def _constant(X: pd.DataFrame) -> list[str]:
    counts = X.nunique(dropna=True)
    return [str(c) for c, n in counts.items() if n <= 1]


def decide_contract(
    X: pd.DataFrame,
    y: Any,
    *,
    schema: Any = None,
    allow_leakage: bool = False,
    drop: Iterable[str] | None = None,
) -> ContractDecision:
    """Choose the feature columns of ``X`` and decode ``y``; warn about exclusions.

    Parameters
    ----------
    X : pandas.DataFrame
        The training table (identifiers and all).
    y : array-like
        Raw labels (bool, 0/1 or text such as ``"Yes"``/``"No"``).
    schema : ChurnSchema or None
        The reader's schema; None reads ``X.attrs["churnlib.schema"]`` or
        infers the roles from ``X``.
    allow_leakage : bool, default=False
        Keep suspected leaks as features.
    drop : iterable of str or None
        Columns the user leaves out.

    Returns
    -------
    ContractDecision

    Raises
    ------
    DataValidationError
        ``drop`` names a column ``X`` lacks, or nothing is left to fit on.
    """
    from churnlib.data._reader import LEAKAGE_AUC, _leakage_scores
    from churnlib.features._roles import resolve_schema

    schema = _schema_of(X, schema)
    y_bool, rule = _label_rule(y, schema)
    columns = [str(c) for c in X.columns]
    dropped = [str(c) for c in (drop or ())]
    unknown = [c for c in dropped if c not in columns]
    if unknown:
        raise DataValidationError(
            f"ChurnTrainer.fit got drop={unknown!r}, which X does not have (X has "
            f"{columns[:20]}). Pass column names of X.",
            columns=unknown,
        )
    if schema is None:
        schema = resolve_schema(X, None, caller="ChurnTrainer")
        leakage: dict[str, float] = {}
        constant: list[str] = []
    else:
        leakage = {str(k): float(v) for k, v in getattr(schema, "leakage", {}).items()}
        constant = [str(c) for c in getattr(schema, "constant", ())]
        known = set(schema.features) | set(schema.id_columns) | set(schema.datetime)
        extra = [c for c in columns if c not in known]
        if extra:  # columns the schema does not cover: infer their roles
            more = resolve_schema(X[extra], None, caller="ChurnTrainer")
            schema = type(schema)(
                numeric=(*schema.numeric, *more.numeric),
                categorical=(*schema.categorical, *more.categorical),
                binary=(*schema.binary, *more.binary),
                id_columns=(*schema.id_columns, *more.id_columns),
                datetime=(*schema.datetime, *more.datetime),
                target=schema.target,
                positive=schema.positive,
                ignored={**getattr(schema, "ignored", {}), **more.ignored},
            )
    roles: dict[str, str] = {}
    for role in ("numeric", "categorical", "binary"):
        roles.update(dict.fromkeys(getattr(schema, role), role))
    excluded: dict[str, str] = {}
    id_columns = [str(c) for c in schema.id_columns]
    key = getattr(schema, "key", None) or X.index.name
    if key is not None and str(key) in id_columns:
        id_columns.remove(str(key))
    if key is not None and (str(key) in schema.id_columns or X.index.name == key):
        id_columns.insert(0, str(key))
    for c in columns:
        if c in dropped:
            excluded[c] = "dropped"
        elif c in schema.id_columns:
            excluded[c] = "identifier"
        elif c in schema.datetime:
            excluded[c] = "datetime"
        elif c in (ignored := getattr(schema, "ignored", {})):
            excluded[c] = str(ignored[c])  # nested cells, a saved index, durations
        elif c not in roles:
            excluded[c] = "identifier"  # neither feature nor date: an id column
    candidates = [c for c in columns if c not in excluded]
    constant = [c for c in constant if c in candidates] or _constant(X[candidates])
    for c in constant:
        excluded[c] = "constant"
    candidates = [c for c in candidates if c not in excluded]
    if not leakage and candidates:
        scores = _leakage_scores(X[candidates], y_bool)
        leakage = {str(c): float(a) for c, a in scores.items() if a > LEAKAGE_AUC}
    leakage = {c: a for c, a in leakage.items() if c in candidates}
    if not allow_leakage:
        for c in leakage:
            excluded[c] = "leakage"
    features = [c for c in columns if c not in excluded]
    if not features:
        raise DataValidationError(
            f"X has no usable feature column left to fit on: every column of "
            f"{columns[:20]} is "
            f"excluded ({_describe(excluded)}). Pass the customer features, fewer "
            "drop= columns, or allow_leakage=True.",
            columns=columns,
        )
    _announce(excluded, leakage)
    target = rule.name if rule.name is not None else getattr(schema, "target", None)
    return ContractDecision(
        X=X[features],
        y=y_bool,
        labels=rule,
        roles={c: roles[c] for c in features if c in roles},
        id_columns=tuple(id_columns),
        excluded=excluded,
        leakage=leakage,
        allow_leakage=bool(allow_leakage),
        target=target,
        na_values=tuple(str(v) for v in getattr(schema, "na_values", ()) or ()),
    )


def contract_tags(decision: ContractDecision) -> dict[str, str]:
    """Run tags naming the contract's exclusions, id column and churn label."""
    tags = {
        f"churnlib.excluded.{col}"[:250]: reason
        for col, reason in decision.excluded.items()
    }
    tags.update(
        {
            f"churnlib.leakage.{col}"[:250]: f"{auc:.4f}"
            for col, auc in decision.leakage.items()
        }
    )
    if decision.id_columns:
        tags["churnlib.id_column"] = decision.id_columns[0]
    tags["churnlib.pos_label"] = str(decision.labels.pos_label)
    return tags


def contract_params(decision: ContractDecision) -> dict[str, Any]:
    """Run params of the contract (known before the fit)."""
    return {
        "contract.n_features": decision.X.shape[1],
        "contract.allow_leakage": decision.allow_leakage,
    }


def _describe(excluded: Mapping[str, str]) -> str:
    return ", ".join(f"{c!r} ({why})" for c, why in excluded.items())


def _announce(excluded: Mapping[str, str], leakage: Mapping[str, float]) -> None:
    if not excluded:
        return
    text = _describe(excluded)
    if _SURPRISING & set(excluded.values()):
        leaks = [c for c, why in excluded.items() if why == "leakage"]
        hint = (
            " Suspected leaks (single-feature ROC AUC "
            + ", ".join(f"{c!r} {leakage[c]:.3f}" for c in leaks)
            + ") predict the label almost perfectly, which a value known before "
            "churn rarely does; keep them with allow_leakage=True only if they are."
            if leaks
            else ""
        )
        warnings.warn(
            f"ChurnTrainer leaves {len(excluded)} column(s) out of the features: "
            f"{text}.{hint} Recorded in the model's contract and the MLflow run.",
            DataQualityWarning,
            stacklevel=4,
        )
    else:
        logger.info("ChurnTrainer leaves out of the features: %s.", text)
