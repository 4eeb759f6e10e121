"""``TrainingResult``: what one tracked training run produced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingResult"]


@dataclass(frozen=True, repr=False)
class TrainingResult:
    """What :meth:`ChurnTrainer.fit` (or :meth:`~ChurnTrainer.tune`) produced.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        The fitted pipeline ``preprocess -> classifier``, trained on all the
        training rows. With a decision threshold other than the default, the
        classifier step is a :class:`~sklearn.model_selection.FixedThresholdClassifier`
        or :class:`~sklearn.model_selection.TunedThresholdClassifierCV`, so
        ``model.predict`` applies it.
    run_id : str
        The MLflow run that recorded the training.
    model_uri : str or None
        ``models:/<model-id>`` of the logged model, or None when
        ``log_model=False``. Load it with ``mlflow.sklearn.load_model``.
    metrics : dict of str to float
        Validation metrics for the churn class (see :func:`churn_metrics`), on
        the validation data or on out-of-fold predictions.
    params : dict
        The flattened parameters logged to the run.
    registered_version : int or None
        Version in the MLflow model registry, when a name was given.
    threshold : float
        The decision threshold ``model.predict`` uses.
    tracking_uri : str or None, default=None
        The tracking URI (credentials removed).
    experiment_id : str or None, default=None
        The MLflow experiment holding the run.
    registered_model_name : str or None, default=None
        Name in the model registry, when registered.
    alias : str or None, default=None
        Registry alias pointing at ``registered_version``, when set.
    contract : ModelContract or None, default=None
        The model's contract (features, exclusions, labels, threshold), also
        attached to ``model`` (:func:`churnlib.contract.get_contract`).
    selection : ModelSelection or None, default=None
        How the default model was chosen (None for a given estimator).
    report : concurrent.futures.Future or None, default=None
        The report card being logged in the background; ``report.result()``
        waits for it (the run's ``churnlib.report`` tag says how it ended).
    task : {"churn", "uplift"}, default="churn"
        What the model predicts, as its contract says: ``"uplift"`` for an
        uplift model fitted with ``treatment=`` (``model.predict`` is then the
        uplift and ``metrics`` hold ``qini_coefficient``, ``auuc``,
        ``uplift_at_30``...).

    Examples
    --------
    >>> from churnlib.training import TrainingResult
    >>> r = TrainingResult(
    ...     model=None,
    ...     run_id="abc123",
    ...     model_uri=None,
    ...     metrics={"roc_auc": 0.84567, "f1": 0.6},
    ...     params={},
    ...     registered_version=None,
    ...     threshold=0.5,
    ... )
    >>> r
    TrainingResult(run_id='abc123', roc_auc=0.8457, f1=0.6, threshold=0.5, model=None)
    """

    model: Any
    run_id: str
    model_uri: str | None
    metrics: Mapping[str, float]
    params: Mapping[str, Any]
    registered_version: int | None
    threshold: float
    tracking_uri: str | None = None
    experiment_id: str | None = None
    registered_model_name: str | None = None
    alias: str | None = field(default=None)
    contract: Any = None
    selection: Any = None
    report: Any = field(default=None, compare=False)
    task: str = "churn"

    @property
    def registered_model_uri(self) -> str | None:
        """Registry URI ``models:/<name>@<alias>`` (or ``/<version>``), or None."""
        if self.registered_model_name is None or self.registered_version is None:
            return None
        if self.alias is not None:
            return f"models:/{self.registered_model_name}@{self.alias}"
        return f"models:/{self.registered_model_name}/{self.registered_version}"

    def __repr__(self) -> str:
        parts = [f"run_id={self.run_id!r}"]
        parts.extend(
            f"{key}={round(float(self.metrics[key]), 4)!r}"
            for key in ("qini_coefficient", "auuc", "roc_auc", "average_precision")
            + (("f1",) if self.task == "churn" else ())
            if key in self.metrics
        )
        if self.task == "churn":
            parts.append(f"threshold={round(float(self.threshold), 4)!r}")
        if self.registered_version is not None:
            parts.append(
                f"registered={self.registered_model_name!r} "
                f"v{self.registered_version}" + (f"@{self.alias}" if self.alias else "")
            )
        if self.model is None:
            parts.append("model=None")
        else:
            steps = getattr(self.model, "steps", None)
            shown = (
                " -> ".join(type(step).__name__ for _, step in steps)
                if steps
                else type(self.model).__name__
            )
            parts.append(f"model=<{shown}>")
        return f"TrainingResult({', '.join(parts)})"
