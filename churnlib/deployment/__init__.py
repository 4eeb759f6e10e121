"""Publish, list, load, promote and roll back models on any fsspec storage.

:class:`ModelStore` keeps immutable, verifiable model versions in a folder on
local disk, ``memory://``, S3, Azure Blob or Google Cloud Storage. Each version
is an MLflow-format model directory serialized with skops (never pickle) plus a
``manifest.json`` with the SHA-256 of every file and the model contract, written
last. Aliases such as ``production`` point to versions and keep their history
for roll-backs; with a signing key, manifests and alias records are signed and
verified on every read. ``mlflow.pyfunc.load_model("<version>/model")`` gives a
model whose ``predict`` returns P(churn) (``churnlib.deployment.pyfunc``).
Every storage request is bounded in time (60 s by default).
"""

from churnlib.deployment._security import TRUSTED_TYPES
from churnlib.deployment._store import ModelStore, load_model
from churnlib.deployment._version import ModelVersion, parse_reference

__all__ = [
    "TRUSTED_TYPES",
    "ModelStore",
    "ModelVersion",
    "load_model",
    "parse_reference",
]
