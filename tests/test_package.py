"""The package face: light import, lazy names, exception tree."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import churnlib
from churnlib import exceptions as exc

HEAVY = ("mlflow", "matplotlib", "seaborn", "s3fs", "adlfs", "gcsfs", "dask")


def test_import_is_light():
    # A fresh interpreter: other tests may already have imported heavy modules.
    code = (
        "import json, sys, churnlib; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_subpackages_do_not_import_heavy_modules():
    code = (
        "import json, sys, churnlib.data, churnlib.features, churnlib.training, "
        "churnlib.evaluation, churnlib.deployment, churnlib.monitoring; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_all_is_sorted_and_complete():
    assert churnlib.__all__ == sorted(churnlib.__all__)
    assert set(churnlib.__all__) == {"__version__", "exceptions", *churnlib._LAZY}
    assert set(dir(churnlib)) == set(churnlib.__all__)


@pytest.mark.parametrize("name", sorted(churnlib._LAZY))
def test_lazy_names_resolve_to_their_module(name):
    module = importlib.import_module(churnlib._LAZY[name])
    assert getattr(churnlib, name) is getattr(module, name)
    assert name in module.__all__


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        churnlib.nope  # noqa: B018


@pytest.mark.parametrize(
    "module",
    [
        "churnlib.data",
        "churnlib.features",
        "churnlib.training",
        "churnlib.evaluation",
        "churnlib.deployment",
        "churnlib.monitoring",
        "churnlib.scoring",
    ],
)
def test_subpackage_all_is_unique_and_importable(module):
    # Order is ruff's RUF022 (isort-style), checked by the lint session.
    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists missing {name!r}"


def test_version():
    assert churnlib.__version__.count(".") >= 2


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (exc.InvalidParameterError, (exc.ChurnlibError, ValueError, TypeError)),
        (exc.DataValidationError, (exc.ChurnlibError, ValueError)),
        (exc.TrackingError, (exc.ChurnlibError, RuntimeError)),
        (exc.DeploymentError, (exc.ChurnlibError,)),
        (exc.ModelNotFoundError, (exc.DeploymentError, FileNotFoundError)),
        (exc.IntegrityError, (exc.DeploymentError, ValueError)),
        (exc.DriftWarning, (UserWarning,)),
        (exc.DataQualityWarning, (UserWarning,)),
    ],
)
def test_exception_tree(cls, bases):
    for base in bases:
        assert issubclass(cls, base)


def test_exception_context_attributes():
    err = exc.DataValidationError("missing 'tenure'", columns=["tenure", 3])
    assert err.columns == ("tenure", "3")
    assert str(err) == "missing 'tenure'"
    assert exc.TrackingError("x", tracking_uri="sqlite:///m.db").tracking_uri == (
        "sqlite:///m.db"
    )
    assert exc.ModelNotFoundError("x", url="memory://s").url == "memory://s"
