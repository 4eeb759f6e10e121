"""The model contract: what a trained churn model carries for every later stage.

A :class:`ModelContract` is decided once, when
:class:`~churnlib.training.ChurnTrainer` fits a model, and travels with it (an
attribute of the fitted pipeline, the model store's manifest, the MLflow run).
Scoring, monitoring, evaluation, the CLI, the dashboard and the service read
it and never re-infer: the features and how raw values are read, the
identifiers, the columns left out and why, how raw labels decode, and the
decision threshold.

- :class:`ModelContract`, :class:`FeatureSpec` -- the contract itself;
- :func:`get_contract` -- read the contract a fitted model carries;
- :func:`infer_contract` -- a contract for a model trained elsewhere;
- :class:`LabelRule`, :func:`infer_label_rule`, :func:`decode_labels` -- the
  one churn-label decoder.
"""

from churnlib._core.contract import (
    FeatureSpec,
    ModelContract,
    attach_contract,
    get_contract,
    infer_contract,
)
from churnlib._core.labels import LabelRule, decode_labels, infer_label_rule

__all__ = [
    "FeatureSpec",
    "LabelRule",
    "ModelContract",
    "attach_contract",
    "decode_labels",
    "get_contract",
    "infer_contract",
    "infer_label_rule",
]
