"""Training: fit churn pipelines and track them in MLflow.

:class:`ChurnTrainer` decides the model's contract (features, exclusions,
labels), builds ``Pipeline(preprocessor, estimator)`` (by default choosing and
calibrating the model by cross-validation), measures it on validation data or
out-of-fold predictions, and records parameters, metrics, tags, the dataset,
the contract, the selection and the model in an MLflow run (optionally
registered with an alias). MLflow is imported only when a run is written.
An uplift model (:mod:`churnlib.uplift`) fitted with ``treatment=`` is tracked
the same way, with its Qini coefficient, AUUC and uplift@30 % as metrics.
"""

from churnlib.training._estimators import CalibratedChurnClassifier
from churnlib.training._metrics import churn_metrics, expected_calibration_error
from churnlib.training._result import TrainingResult
from churnlib.training._selection import CandidateResult, ModelSelection
from churnlib.training._trainer import ChurnTrainer, default_estimator

__all__ = [
    "CalibratedChurnClassifier",
    "CandidateResult",
    "ChurnTrainer",
    "ModelSelection",
    "TrainingResult",
    "churn_metrics",
    "default_estimator",
    "expected_calibration_error",
]
