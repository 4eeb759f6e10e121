"""What scoring needs to know about a model: features, positive class, threshold."""

from __future__ import annotations

import numbers
import threading
from collections.abc import Mapping
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

    return "sha-" + joblib.hash(model)[:12]


def inspect_model(
    model: Any, *, threshold: float | None, version: str | None
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

_CACHE: dict[tuple[str, str], Any] = {}
_CACHE_LOCK = threading.Lock()


def split_reference(ref: str) -> tuple[str, str]:
    """Split ``"s3://b/models/churn@production"`` into store URL and version.

    Without ``@`` the reference is the store URL and the version is ``"latest"``.
    """
    head, sep, tail = ref.rpartition("@")
    if not sep or "/" in tail or not head:
        return ref, "latest"
    return head, tail


def resolve_reference(
    ref: str, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str]:
    """Load a model from a store reference; return ``(model, concrete version)``."""
    from churnlib.deployment import ModelStore

    store_url, which = split_reference(ref)
    store = ModelStore(store_url, storage_options=storage_options)
    return _load_from_store(store, store_url, which)


def _load_from_store(store: Any, store_url: str, which: str) -> tuple[Any, str]:
    version = _concrete_version(store, which)
    model = store.load(version)
    return model, version


def _concrete_version(store: Any, which: str) -> str:
    resolve = getattr(store, "resolve", None)
    if callable(resolve):
        resolved = resolve(which)
        return str(getattr(resolved, "version", resolved))
    return which


def load_cached(
    store_url: str, version: str, storage_options: Mapping[str, Any] | None
) -> Any:
    """Load a store version once per process (a Dask worker's model cache)."""
    key = (store_url, version)
    with _CACHE_LOCK:
        if key not in _CACHE:
            from churnlib.deployment import ModelStore

            store = ModelStore(store_url, storage_options=storage_options)
            _CACHE.clear()  # keep one model per worker process
            _CACHE[key] = store.load(version)
        return _CACHE[key]
