"""The model side of a scoring run, decided once on the client.

Every fact about the model comes from the shared core: the positive class and
the threshold from :mod:`churnlib._core.model_facts`, the input rules (feature
columns, roles, cleaning, id column) from the model contract
(:mod:`churnlib._core.contract`). This module only gathers them, and loads a
model-store reference.

Two kinds of model score: a churn classifier (``predict_proba``) writes
``churn_probability`` and ``churn_predicted``; an uplift model
(:mod:`churnlib.uplift`, or a pipeline ending in one: ``predict_uplift``)
writes ``churn_reduction_if_offered`` -- the churn probability the offer
removes, ``P(churn | no offer) - P(churn | offer)`` -- and, when it models
both arms (``predict_outcomes``), ``churn_probability`` (without the offer),
``churn_probability_if_offered`` and ``churn_predicted``.
:func:`output_columns` is the one list of what a run writes.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.contract import FeatureSpec, ModelContract, get_contract
from churnlib._core.model_facts import (
    final_estimator,
    model_fingerprint,
    model_threshold,
    positive_index,
)
from churnlib.exceptions import InvalidParameterError

__all__: list[str] = []

#: The churn probability the offer removes: P(churn | no offer) - P(churn | offer).
UPLIFT_COLUMN = "churn_reduction_if_offered"
#: P(churn | offer), from uplift models that model both arms.
PROBA_OFFER_COLUMN = "churn_probability_if_offered"
#: Written by every run, after the scores.
RUN_COLUMNS = ("model_version", "scored_at")
#: Every column name score_table may write (inputs must not use them).
RESERVED_COLUMNS = (
    "churn_probability",
    PROBA_OFFER_COLUMN,
    UPLIFT_COLUMN,
    "churn_predicted",
    *RUN_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Facts about a fitted binary classifier, learned once on the client."""

    features: tuple[str, ...] | None  # feature_names_in_, if the model has them
    positive_index: int  # column of predict_proba holding P(churn)
    threshold: float  # decision threshold on that column
    threshold_source: str  # "argument", "model" or "default"
    version: str
    contract: ModelContract | None  # the contract the model carries, if any
    split: bool  # a Pipeline: transform steps run apart from the final estimator
    kind: str = "churn"  # "churn" (predict_proba) or "uplift" (predict_uplift)
    outcomes: bool = True  # churn probabilities are written (uplift: both arms)


def output_columns(info: ModelInfo) -> tuple[str, ...]:
    """Return the score columns a run with this model writes, after the keys."""
    if info.kind == "churn":
        return ("churn_probability", "churn_predicted", *RUN_COLUMNS)
    if info.outcomes:
        return (
            "churn_probability",
            PROBA_OFFER_COLUMN,
            UPLIFT_COLUMN,
            "churn_predicted",
            *RUN_COLUMNS,
        )
    return (UPLIFT_COLUMN, *RUN_COLUMNS)


def _check_classifier(model: Any) -> None:
    if not callable(getattr(model, "predict_proba", None)):
        raise InvalidParameterError(
            "The 'model' parameter of score_table must be a fitted classifier with "
            "predict_proba, an uplift model with predict_uplift (churnlib.uplift, "
            "or a Pipeline ending in one), or a model-store reference string. "
            f"Got {model!r}."
        )
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise InvalidParameterError(
            f"The 'model' parameter of score_table must be a fitted binary "
            f"classifier with predict_proba and classes_. Got {type(model).__name__} "
            "without classes_: fit it first, or pass a model-store reference "
            "such as 's3://bucket/models/churn@production'."
        )
    classes = np.asarray(classes)
    if len(classes) != 2:
        raise InvalidParameterError(
            "The 'model' parameter of score_table must be a binary classifier "
            f"(churned or not). Got a model with {len(classes)} classes "
            f"{classes.tolist()!r}."
        )


def _is_pipeline(model: Any) -> bool:
    from sklearn.pipeline import Pipeline

    return isinstance(model, Pipeline) and len(model.steps) > 1


def inspect_model(
    model: Any,
    *,
    threshold: float | None,
    version: str | None,
    stored_threshold: float | None = None,
) -> ModelInfo:
    """Check a fitted model and learn what scoring needs from it.

    The positive class is :func:`~churnlib._core.model_facts.positive_index`
    (the contract's label rule, else the one label decoder on ``classes_``),
    which refuses to guess: a model whose churn class is unknowable raises
    :class:`~churnlib.exceptions.DataValidationError` before anything is read.
    The threshold is the argument, else the model's own (its contract, or a
    threshold wrapper), else the store version's metadata, else 0.5.
    """
    final = final_estimator(model)
    contract = get_contract(model)
    uplift = callable(getattr(final, "predict_uplift", None))
    if contract is not None and contract.task == "uplift" and not uplift:
        raise InvalidParameterError(
            f"The model's contract says it is an uplift model, but its final "
            f"step {type(final).__name__} has no predict_uplift. Score the uplift "
            "model the contract was made for (churnlib.uplift, or a Pipeline "
            "ending in one)."
        )
    # the contract's task decides; contracts from before tasks (all "churn")
    # and models without one: an estimator with predict_uplift and no
    # predict_proba is an uplift model
    if uplift and (
        (contract is not None and contract.task == "uplift")
        or not callable(getattr(model, "predict_proba", None))
    ):
        return _inspect_uplift(
            model,
            final,
            threshold=threshold,
            version=version,
            stored_threshold=stored_threshold,
        )
    _check_classifier(model)
    pos = positive_index(model)
    features, contract, value, source = _features_and_threshold(
        model, threshold, stored_threshold
    )
    return ModelInfo(
        features=features,
        positive_index=pos,
        threshold=value,
        threshold_source=source,
        version=version if version is not None else model_fingerprint(model),
        contract=contract,
        split=_is_pipeline(model),
    )


def _features_and_threshold(
    model: Any, threshold: float | None, stored_threshold: float | None
) -> tuple[tuple[str, ...] | None, Any, float, str]:
    """Return the model's feature names, contract, and threshold with its source.

    Features: what the model saw in ``fit``, else its contract's. Threshold:
    the argument, else the model's own (contract or wrapper), else the store
    version's metadata, else 0.5.
    """
    names = getattr(model, "feature_names_in_", None)
    features = None if names is None else tuple(str(c) for c in names)
    contract = get_contract(model)
    if contract is not None and features is None:
        features = contract.feature_names
    own = model_threshold(model)
    if own is None:
        own = stored_threshold
    if threshold is not None:
        return features, contract, float(threshold), "argument"
    if own is not None:
        return features, contract, float(own), "model"
    return features, contract, 0.5, "default"


def _inspect_uplift(
    model: Any,
    final: Any,
    *,
    threshold: float | None,
    version: str | None,
    stored_threshold: float | None,
) -> ModelInfo:
    """Check a fitted uplift model (or a pipeline ending in one) for scoring.

    Uplift models decode churn labels to ``True`` themselves, so there is no
    positive column to find; the threshold applies to ``churn_probability``
    and only models of both arms (``predict_outcomes``) have one.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(final)
    except NotFittedError:
        raise InvalidParameterError(
            f"The 'model' parameter of score_table must be fitted: this "
            f"{type(final).__name__} is not. Fit it with fit(X, y, treatment=...) "
            "first, or pass a model-store reference."
        ) from None
    outcomes = callable(getattr(final, "predict_outcomes", None))
    if threshold is not None and not outcomes:
        raise InvalidParameterError(
            f"The 'threshold' parameter of score_table applies to churn "
            f"probabilities, which {type(final).__name__} does not give (it "
            f"writes {UPLIFT_COLUMN!r} only). Leave threshold=None, or use a "
            "TwoModelUplift or XLearnerUplift, which model churn with and "
            "without the offer."
        )
    features, contract, value, source = _features_and_threshold(
        model, threshold, stored_threshold
    )
    return ModelInfo(
        features=features,
        positive_index=-1,  # unused: uplift models give P(churn) directly
        threshold=value,
        threshold_source=source,
        version=version if version is not None else model_fingerprint(model),
        contract=contract,
        split=_is_pipeline(model),
        kind="uplift",
        outcomes=outcomes,
    )


def fallback_contract(
    features: Sequence[str], sample: pd.DataFrame | None, kinds: Mapping[str, str]
) -> ModelContract:
    """Infer a contract for a model that carries none, from the input's first rows.

    Used for models trained outside :class:`~churnlib.ChurnTrainer` or
    published before contracts existed. The roles are the ones the training
    reader (:func:`~churnlib.data.infer_schema`) gives the same raw columns:
    number text with blanks (Telco's ``TotalCharges``) is numeric, yes/no
    words and 0/1 columns are binary (read as booleans), other text is
    categorical; the cleaning rules are the reader's (blanks and placeholders
    are missing). Without a sample (an empty input) the input's column types
    decide.
    """
    roles: dict[str, str] = {}
    if sample is not None and len(sample):
        from churnlib.data import infer_schema

        roles = dict(infer_schema(sample[list(features)], id_columns=[]).roles)
    specs = []
    for name in features:
        role = roles.get(name)
        if role is None:
            kind = kinds.get(name, "string")
            role = {"numeric": "numeric", "bool": "binary"}.get(kind, "categorical")
        dtype = {"numeric": "float64", "binary": "bool"}.get(role, "object")
        specs.append(FeatureSpec(name=name, role=role, dtype=dtype))
    return ModelContract(features=tuple(specs))


# -- model-store references ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model loaded from a store, with the concrete version it came from."""

    model: Any
    version: str
    threshold: float | None  # ``metadata["threshold"]`` of the version, if any


def resolve_reference(
    reference: str,
    storage_options: Mapping[str, Any] | None,
    trusted_types: Sequence[str] | None = None,
    timeout: float | None = None,
) -> ResolvedModel:
    """Load ``"<store url>@<version | alias | latest>"``, verified by the store.

    The alias is resolved to a version id once, here, so every partition of a
    run is scored by the same version even if the alias moves meanwhile. The
    store attaches the version's contract to the model it loads.
    """
    from churnlib.deployment import ModelStore

    store, ref = ModelStore.from_reference(
        reference,
        storage_options=storage_options,
        trusted_types=trusted_types,
        timeout=timeout,
    )
    described = store.get(ref)
    model = store.load(described.version)
    threshold = described.metadata.get("threshold")
    if (
        not isinstance(threshold, numbers.Real)
        or isinstance(threshold, bool)
        or not 0.0 <= float(threshold) <= 1.0
    ):
        threshold = None
    return ResolvedModel(
        model, described.version, None if threshold is None else float(threshold)
    )
