"""Find a model for a command: ``STORE@REF`` or an MLflow URI; its contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from churnlib._urls import redact_url
from churnlib.cli._common import one_line

__all__ = [
    "load_mlflow_model",
    "load_model",
    "model_contract",
    "model_features",
    "run_metrics",
]


def load_model(
    ref: str,
    tracking_uri: str | None,
    storage_options: Mapping[str, Any] | None,
) -> tuple[Any, str]:
    """Load a model from ``STORE@REF`` or an MLflow URI; return it and a label."""
    if ref.startswith(("runs:/", "models:/")):
        return load_mlflow_model(ref, tracking_uri), ref
    from churnlib.deployment import ModelStore

    store, which = ModelStore.from_reference(ref, storage_options=storage_options)
    version = store.get(which)
    return store.load(version), f"{store.url}@{version.version}"


def load_mlflow_model(uri: str, tracking_uri: str | None) -> Any:
    """Load an sklearn model logged in MLflow, on the given tracking server."""
    import mlflow.sklearn

    from churnlib.exceptions import TrackingError
    from churnlib.training._tracking import resolve_tracking_uri, tracking_context

    resolved = resolve_tracking_uri(tracking_uri)
    try:
        with tracking_context(resolved):  # restores the user's MLflow settings
            return mlflow.sklearn.load_model(uri)
    except Exception as err:
        raise TrackingError(
            f"cannot load the MLflow model {uri!r} from {redact_url(resolved)}: "
            f"{one_line(err)}. Check the URI (mlflow ui lists the runs) and "
            "--tracking-uri",
            tracking_uri=redact_url(resolved),
        ) from err


def run_metrics(
    uri: str, tracking_uri: str | None
) -> tuple[dict[str, float], str | None]:
    """Return the metrics and run id behind an MLflow model URI (empty if unknown)."""
    import mlflow

    from churnlib.training._tracking import resolve_tracking_uri, tracking_context

    try:
        with tracking_context(resolve_tracking_uri(tracking_uri)):
            if uri.startswith("runs:/"):
                run_id = uri[len("runs:/") :].split("/", 1)[0]
            else:
                from mlflow.models import get_model_info

                run_id = get_model_info(uri).run_id
            if not run_id:
                return {}, None
            return dict(mlflow.get_run(run_id).data.metrics), run_id
    except Exception:  # metrics are a courtesy; the model itself loaded fine
        return {}, None


def model_contract(model: Any) -> Any:
    """Return the :class:`~churnlib.ModelContract` a model carries, or None.

    Models trained by churnlib carry one (decided once, in training); models
    trained elsewhere, or published before contracts existed, do not: the
    commands then fall back to reading tables the way the reader does.
    """
    from churnlib._core.contract import get_contract

    return get_contract(model)


def model_features(model: Any, frame: Any, source: str) -> list[str]:
    """Columns of ``frame`` a model without a contract was fitted on.

    sklearn records them as ``feature_names_in_``; a model fitted on a plain
    array records none, and then every column of ``frame`` is passed.
    """
    from churnlib.exceptions import DataValidationError

    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [str(c) for c in frame.columns]
    features = [str(n) for n in names]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{source} lacks column(s) {missing} that the model was fitted on",
            columns=missing,
        )
    return features
