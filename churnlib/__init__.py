"""churnlib: from raw customer data to a monitored churn model.

The loop, one subpackage a stage:

- :mod:`churnlib.contract` -- what a trained model carries for every stage;
- :mod:`churnlib.data` -- synthetic customers, drift scenarios, real tables;
- :mod:`churnlib.features` -- scikit-learn transformers and the split;
- :mod:`churnlib.training` -- :class:`ChurnTrainer`, tracked in MLflow;
- :mod:`churnlib.evaluation` -- metrics, Displays and the HTML report card;
- :mod:`churnlib.deployment` -- :class:`ModelStore` on any fsspec URL;
- :mod:`churnlib.monitoring` -- :class:`ChurnMonitor`, drift and alerts;
- :mod:`churnlib.scoring` -- batch scoring, locally or on Dask;
- :mod:`churnlib.uplift` -- uplift models: whom a retention offer will keep.

``import churnlib`` is cheap: the names below are imported on first use, so
scikit-learn, MLflow, matplotlib and the cloud SDKs load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from churnlib import exceptions
from churnlib._core.version import __version__

# public name -> submodule that defines it (imported lazily, PEP 562)
_LAZY: dict[str, str] = {
    "ModelContract": "churnlib.contract",
    "FeatureSpec": "churnlib.contract",
    "get_contract": "churnlib.contract",
    "infer_contract": "churnlib.contract",
    "LabelRule": "churnlib.contract",
    "decode_labels": "churnlib.contract",
    "infer_label_rule": "churnlib.contract",
    "read_table": "churnlib._core.tables",
    "write_table": "churnlib._core.tables",
    "generate_customers": "churnlib.data",
    "simulate_production": "churnlib.data",
    "read_churn_table": "churnlib.data",
    "load_telco": "churnlib.data",
    "ChurnSchema": "churnlib.data",
    "infer_schema": "churnlib.data",
    "ChurnPreprocessor": "churnlib.features",
    "SchemaValidator": "churnlib.features",
    "train_test_split_churn": "churnlib.features",
    "ChurnTrainer": "churnlib.training",
    "TrainingResult": "churnlib.training",
    "evaluate": "churnlib.evaluation",
    "EvaluationReport": "churnlib.evaluation",
    "ModelStore": "churnlib.deployment",
    "ModelVersion": "churnlib.deployment",
    "ChurnMonitor": "churnlib.monitoring",
    "MonitorReport": "churnlib.monitoring",
    "score_table": "churnlib.scoring",
    "generate_campaign": "churnlib.data",
    "TwoModelUplift": "churnlib.uplift",
    "XLearnerUplift": "churnlib.uplift",
    "ClassTransformationUplift": "churnlib.uplift",
}

__all__ = [
    "ChurnMonitor",
    "ChurnPreprocessor",
    "ChurnSchema",
    "ChurnTrainer",
    "ClassTransformationUplift",
    "EvaluationReport",
    "FeatureSpec",
    "LabelRule",
    "ModelContract",
    "ModelStore",
    "ModelVersion",
    "MonitorReport",
    "SchemaValidator",
    "TrainingResult",
    "TwoModelUplift",
    "XLearnerUplift",
    "__version__",
    "decode_labels",
    "evaluate",
    "exceptions",
    "generate_campaign",
    "generate_customers",
    "get_contract",
    "infer_contract",
    "infer_label_rule",
    "infer_schema",
    "load_telco",
    "read_churn_table",
    "read_table",
    "score_table",
    "simulate_production",
    "train_test_split_churn",
    "write_table",
]

if TYPE_CHECKING:  # pragma: no cover
    from churnlib._core.contract import (
        FeatureSpec,
        ModelContract,
        get_contract,
        infer_contract,
    )
    from churnlib._core.labels import LabelRule, decode_labels, infer_label_rule
    from churnlib._core.tables import read_table, write_table
    from churnlib.data import (
        ChurnSchema,
        generate_campaign,
        generate_customers,
        infer_schema,
        load_telco,
        read_churn_table,
        simulate_production,
    )
    from churnlib.deployment import ModelStore, ModelVersion
    from churnlib.evaluation import EvaluationReport, evaluate
    from churnlib.features import (
        ChurnPreprocessor,
        SchemaValidator,
        train_test_split_churn,
    )
    from churnlib.monitoring import ChurnMonitor, MonitorReport
    from churnlib.scoring import score_table
    from churnlib.training import ChurnTrainer, TrainingResult
    from churnlib.uplift import (
        ClassTransformationUplift,
        TwoModelUplift,
        XLearnerUplift,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'churnlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
