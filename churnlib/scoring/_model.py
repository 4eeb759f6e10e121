"""What scoring needs to know about a model: features, positive class, threshold."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from churnlib.exceptions import InvalidParameterError

__all__: list[str] = []

# Labels that mean "churned" when a model's classes are text.
_POSITIVE_WORDS = ("yes", "true", "churn", "churned", "1")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Facts about a fitted binary classifier, learned once on the client."""

    features: tuple[str, ...] | None  # feature_names_in_, if the model has them
    positive_index: int  # column of predict_proba holding P(churn)
    threshold: float  # decision threshold on that column
    threshold_source: str  # "argument", "model" or "default"
    version: str


def _classes(model: Any) -> np.ndarray:
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise InvalidParameterError(
            f"The 'model' parameter of score_table must be a fitted binary "
            f"classifier with predict_proba and classes_. Got {type(model).__name__} "
            "without classes_: fit it first, or pass a model-store reference "
            "such as 's3://bucket/models/churn@production'."
        )
    return np.asarray(classes)


def _positive_index(model: Any, classes: np.ndarray) -> int:
    if len(classes) != 2:
        raise InvalidParameterError(
            "The 'model' parameter of score_table must be a binary classifier "
            f"(churned or not). Got a model with {len(classes)} classes "
            f"{classes.tolist()!r}."
        )
    pos_label = getattr(model, "pos_label", None)
    if pos_label is not None and pos_label in classes.tolist():
        return int(classes.tolist().index(pos_label))
    if classes.dtype.kind in "OUS":
        words = [str(c).strip().lower() for c in classes]
        for i, w in enumerate(words):
            if w in _POSITIVE_WORDS:
                return i
    return 1  # scikit-learn's convention: the greater label is positive


def model_threshold(model: Any) -> float | None:
    """Return the decision threshold a fitted model carries, if any.

    Recognises scikit-learn's ``TunedThresholdClassifierCV`` (``best_threshold_``)
    and ``FixedThresholdClassifier`` (numeric ``threshold``) when they threshold
    ``predict_proba``, and a ``threshold_`` attribute set by other wrappers.
    """
    response = getattr(model, "response_method", "auto")
    if response not in ("auto", "predict_proba"):
        return None  # thresholds on decision_function do not apply to probabilities
    for attr in ("best_threshold_", "threshold_"):
        value = getattr(model, attr, None)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    if type(model).__name__ == "FixedThresholdClassifier":
        value = getattr(model, "threshold", None)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    return None


def model_fingerprint(model: Any) -> str:
    """Return a content hash naming a fitted model (``"sha-<12 hex>"``)."""
    import joblib

    return "sha-" + str(joblib.hash(model))[:12]


def inspect_model(
    model: Any,
    *,
    threshold: float | None,
    version: str | None,
    stored_threshold: float | None = None,
) -> ModelInfo:
    """Check a fitted model and learn what scoring needs from it."""
    if not callable(getattr(model, "predict_proba", None)):
        raise InvalidParameterError(
            "The 'model' parameter of score_table must be a fitted classifier with "
            f"predict_proba, or a model-store reference string. Got {model!r}."
        )
    classes = _classes(model)
    pos = _positive_index(model, classes)
    names = getattr(model, "feature_names_in_", None)
    features = None if names is None else tuple(str(c) for c in names)
    own = model_threshold(model)
    if own is None:
        own = stored_threshold
    if threshold is not None:
        value, source = float(threshold), "argument"
    elif own is not None:
        value, source = own, "model"
    else:
        value, source = 0.5, "default"
    return ModelInfo(
        features=features,
        positive_index=pos,
        threshold=value,
        threshold_source=source,
        version=version if version is not None else model_fingerprint(model),
    )


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
) -> ResolvedModel:
    """Load ``"<store url>@<version | alias | latest>"``, verified by the store.

    The alias is resolved to a version id once, here, so every partition of a
    run is scored by the same version even if the alias moves meanwhile.
    """
    from churnlib.deployment import ModelStore

    store, ref = ModelStore.from_reference(
        reference, storage_options=storage_options, trusted_types=trusted_types
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
