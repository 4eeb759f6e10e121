"""Training: fit churn pipelines and track them in MLflow.

:class:`ChurnTrainer` builds ``Pipeline(preprocessor, estimator)``, measures it
on validation data or out-of-fold predictions, and records parameters,
metrics, tags, the dataset and the model in an MLflow run (optionally
registered with an alias). MLflow is imported only when a run is written.
"""

from churnlib.training._metrics import churn_metrics
from churnlib.training._result import TrainingResult
from churnlib.training._trainer import ChurnTrainer, default_estimator

__all__ = [
    "ChurnTrainer",
    "TrainingResult",
    "churn_metrics",
    "default_estimator",
]
