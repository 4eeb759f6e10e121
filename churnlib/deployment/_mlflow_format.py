"""The small files of an MLflow-format scikit-learn model directory.

A version folder's ``model/`` has the layout ``mlflow.sklearn.save_model(...,
serialization_format="skops")`` writes: ``MLmodel``, ``model.skops``,
``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``. Two flavors: the
``sklearn`` flavor (``mlflow.sklearn.load_model`` gives the fitted pipeline)
and a ``python_function`` flavor served by :mod:`churnlib.deployment.pyfunc`,
whose ``predict`` returns P(churn) as one float column, with an input
signature made from the model contract's features. churnlib writes
these files itself, without importing MLflow: ``save_model`` serializes the
model and then loads it back in full to check it, which for a large forest
costs twice the serialization again, and a store should publish without MLflow
installed. The layout and keys are MLflow's own; ``mlflow.pyfunc.load_model``
and ``mlflow models serve`` read the result (tested against MLflow 3).
"""

from __future__ import annotations

import functools
import json
import platform
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = [
    "MODEL_FILE",
    "PYFUNC_LOADER",
    "input_signature",
    "library_versions",
    "mlflow_files",
    "requirements",
]

#: Path of the serialized model inside a version folder.
MODEL_FILE = "model/model.skops"
#: The module MLflow imports to serve a stored model (a stable name: MLmodel
#: files written today reference it).
PYFUNC_LOADER = "churnlib.deployment.pyfunc"

_LIBRARIES = ("churnlib", "scikit-learn", "skops", "numpy", "scipy", "pandas", "mlflow")


@functools.lru_cache(maxsize=64)
def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Python and library versions recorded in every manifest."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    out.update({name: _dist_version(name) for name in _LIBRARIES})
    return out


def requirements(types: Iterable[str]) -> list[str]:
    """Pinned pip requirements to serve the model (``requirements.txt``)."""
    names = ["mlflow", "scikit-learn", "skops", "numpy", "scipy", "pandas"]
    if any(t.startswith("churnlib.") for t in types):
        names.append("churnlib")
    out = []
    for name in names:
        v = _dist_version(name)
        out.append(f"{name}=={v}" if v else name)
    return out


def _q(value: str) -> str:
    """Quote ``value`` as a YAML double-quoted scalar (JSON strings are YAML)."""
    return json.dumps(value)


def _yaml_list(items: Iterable[str], indent: int) -> str:
    pad = " " * indent
    return "".join(f"{pad}- {_q(item)}\n" for item in items)


#: pandas dtype (as in the contract or an input example) -> MLflow column type
_MLFLOW_TYPES = {
    "bool": "boolean",
    "boolean": "boolean",
    "int64": "long",
    "Int64": "long",
    "int32": "integer",
    "Int32": "integer",
    "float32": "float",
    "Float32": "float",
}
_OUTPUTS = json.dumps(
    [{"type": "double", "name": "churn_probability", "required": True}]
)
_ROLE_TYPES = {"numeric": "double", "binary": "boolean", "categorical": "string"}


def input_signature(
    contract: Any = None, features: Mapping[str, Any] | None = None
) -> str | None:
    """Return the MLflow input schema (JSON text) of a model, or None if unknown.

    From the contract's features (numeric -> ``double``, or ``long`` for
    integer columns, binary -> ``boolean``, categorical -> ``string``), else
    from the dtypes of the
    publish call's input example. Columns are optional (``required: false``)
    because churn tables have missing values.
    """
    columns: list[dict[str, Any]] = []
    if contract is not None:
        for spec in contract.features:
            kind = _ROLE_TYPES[spec.role]
            if spec.role == "numeric":  # MLflow refuses int -> float as unsafe
                kind = _MLFLOW_TYPES.get(spec.dtype, "double")
            columns.append({"type": kind, "name": spec.name, "required": False})
    elif features and features.get("dtypes"):
        for name, dtype in features["dtypes"].items():
            text = str(dtype)
            fallback = "double" if text.startswith(("float", "Float")) else "string"
            kind = _MLFLOW_TYPES.get(text, fallback)
            columns.append({"type": kind, "name": name, "required": False})
    return json.dumps(columns) if columns else None


def mlflow_files(
    *,
    trusted_types: list[str],
    model_size: int,
    created_at: datetime,
    contract: Any = None,
    features: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """Render the MLflow directory's metadata files, keyed by file name."""
    py = platform.python_version()
    # the python_function flavor is served by churnlib.deployment.pyfunc
    reqs = requirements([*trusted_types, PYFUNC_LOADER])
    sklearn_version = _dist_version("scikit-learn") or "unknown"
    trusted = (
        "    skops_trusted_types:\n" + _yaml_list(trusted_types, 4)
        if trusted_types
        else "    skops_trusted_types: []\n"
    )
    mlflow_version = _dist_version("mlflow")
    inputs = input_signature(contract, features)
    signature = (
        "signature:\n"
        f"  inputs: {_q(inputs)}\n"
        f"  outputs: {_q(_OUTPUTS)}\n"
        "  params: null\n"
        if inputs
        else ""
    )
    mlmodel = (
        "flavors:\n"
        "  python_function:\n"
        "    data: model.skops\n"
        "    env:\n"
        "      conda: conda.yaml\n"
        "      virtualenv: python_env.yaml\n"
        f"    loader_module: {PYFUNC_LOADER}\n"
        f"    python_version: {_q(py)}\n"
        "  sklearn:\n"
        "    code: null\n"
        "    pickled_model: model.skops\n"
        "    serialization_format: skops\n"
        f"    sklearn_version: {_q(sklearn_version)}\n"
        f"{trusted}"
        + (f"mlflow_version: {_q(mlflow_version)}\n" if mlflow_version else "")
        + f"model_size_bytes: {int(model_size)}\n"
        f"model_uuid: {_q(uuid.uuid4().hex)}\n"
        + signature
        + f"utc_time_created: {_q(created_at.strftime('%Y-%m-%d %H:%M:%S.%f'))}\n"
    )
    conda = (
        "channels:\n"
        "- conda-forge\n"
        "dependencies:\n"
        f"- python={py}\n"
        "- pip\n"
        "- pip:\n" + _yaml_list(reqs, 2) + "name: mlflow-env\n"
    )
    python_env = (
        f"python: {_q(py)}\n"
        "build_dependencies:\n"
        "- pip\n"
        "- setuptools\n"
        "- wheel\n"
        "dependencies:\n"
        "- -r requirements.txt\n"
    )
    return {
        "MLmodel": mlmodel.encode(),
        "conda.yaml": conda.encode(),
        "python_env.yaml": python_env.encode(),
        "requirements.txt": ("\n".join(reqs) + "\n").encode(),
    }
