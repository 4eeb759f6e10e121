"""Fixtures shared by the whole suite.

Real components only: a SQLite MLflow store, a real ``mlflow server``, moto in
server mode, Azurite and fake-gcs-server, each on 127.0.0.1 with a free port
(see ``tests/fixtures``).
"""

from __future__ import annotations

import os

# Set before any test module imports mlflow or gcsfs (see RECIPES.md).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Never track into a user's server by accident.
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("CHURNLIB_SIGNING_KEY", None)

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.fixtures.cloud", "tests.fixtures.mlflow_server"]

settings.register_profile(
    "default",
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")


@pytest.fixture(scope="session")
def churn_data():
    """A small seeded generated table: ``(X, y)`` with 300 customers."""
    from churnlib.data import generate_customers

    df = generate_customers(300, random_state=0)
    return df.drop(columns="churned"), df["churned"]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One small ``churnlib demo`` in a fresh interpreter, shared by the session.

    ``(completed process, work directory)``: the CLI smoke test checks what it
    printed and wrote, the dashboard tests open the work directory (the demo
    is the slowest single step of the suite; it runs once). It runs from an
    empty folder of its own, the work directory's parent.
    """
    from tests.cli.conftest import run

    cwd = tmp_path_factory.mktemp("demo-run")
    workdir = cwd / "demo"
    proc = run(
        "demo",
        "--workdir",
        workdir,
        "--n-customers",
        1_500,
        "--batches",
        4,
        "--batch-size",
        300,
        cwd=cwd,
        timeout=600,
    )
    return proc, workdir


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; closes figures before and after."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture
def memory_fs():
    """The fsspec memory filesystem, emptied before and after the test."""
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


@pytest.fixture(params=["memory", "file"])
def storage_url(request, tmp_path, memory_fs):
    """A fresh store URL, once on ``memory://`` and once on ``file://``."""
    if request.param == "memory":
        return f"memory://churnlib-test/{request.node.name}"
    return (tmp_path / "store").as_uri()


@pytest.fixture(scope="session")
def mlflow_tracking_uri(tmp_path_factory):
    """A SQLite MLflow tracking URI in a temporary folder (one per session)."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def _no_litter(monkeypatch, tmp_path):
    """Run every test from its own temp folder so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
