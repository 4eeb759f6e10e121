"""The small files of an MLflow-format scikit-learn model directory.

A version folder's ``model/`` is what ``mlflow.sklearn.save_model(...,
serialization_format="skops")`` writes: ``MLmodel``, ``model.skops``,
``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``. churnlib writes
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
from collections.abc import Iterable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

__all__ = ["MODEL_FILE", "library_versions", "mlflow_files", "requirements"]

#: Path of the serialized model inside a version folder.
MODEL_FILE = "model/model.skops"

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


def mlflow_files(
    *, trusted_types: list[str], model_size: int, created_at: datetime
) -> dict[str, bytes]:
    """Render the MLflow directory's metadata files, keyed by file name."""
    py = platform.python_version()
    reqs = requirements(trusted_types)
    sklearn_version = _dist_version("scikit-learn") or "unknown"
    trusted = (
        "    skops_trusted_types:\n" + _yaml_list(trusted_types, 4)
        if trusted_types
        else "    skops_trusted_types: []\n"
    )
    mlflow_version = _dist_version("mlflow")
    mlmodel = (
        "flavors:\n"
        "  python_function:\n"
        "    env:\n"
        "      conda: conda.yaml\n"
        "      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.sklearn\n"
        "    model_path: model.skops\n"
        "    predict_fn: predict\n"
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
        f"utc_time_created: {_q(created_at.strftime('%Y-%m-%d %H:%M:%S.%f'))}\n"
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
