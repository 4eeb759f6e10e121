"""A few runs in a fresh interpreter, exactly as a user or a scheduler runs them.

Everything else in ``tests/cli`` calls ``main([...])`` in-process; these check
what only a real process shows: the console script, ``python -m churnlib``,
exit statuses, a clean stderr, and the whole demo.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from churnlib.deployment import ModelStore
from tests.cli.conftest import ENV, run


def test_help_and_version_through_python_m():
    from churnlib._core.version import __version__

    proc = run("--help")
    assert proc.returncode == 0
    assert "    demo " in proc.stdout
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"churnlib {__version__}"


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("churnlib")
    if not script.exists():
        pytest.skip("churnlib is not installed as a console script here")
    proc = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=ENV, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: churnlib")


def test_usage_error_through_subprocess():
    proc = run("train", "--data", "x.csv")
    assert proc.returncode == 2
    assert "the following arguments are required: --target" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_failure_is_one_line_and_debug_adds_the_traceback(tmp_path):
    proc = run("train", "--data", tmp_path / "missing.csv", "--target", "y")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("churnlib: error: ")
    proc = run("--debug", "train", "--data", tmp_path / "missing.csv", "--target", "y")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("churnlib: error: ")


#: What MLflow itself prints when the demo registers its model (registry notices).
REGISTRY_NOTICES = re.compile(
    r"(Successfully registered model 'churnlib-demo'\.|"
    r"Created version '\d+' of model 'churnlib-demo'\.)"
)


def _unexpected_stderr(stderr):
    """The stderr lines a clean run must not print.

    Allowed: MLflow's own two registry notices, and -- only where this Python
    has no pip (virtualenvs made by uv) -- MLflow's "Failed to resolve
    installed pip version", which is true about such an environment, not
    about churnlib. nox's sessions install pip (see noxfile.py), so there it
    never shows.
    """
    pip_missing = importlib.util.find_spec("pip") is None
    return [
        line
        for line in stderr.splitlines()
        if not REGISTRY_NOTICES.fullmatch(line)
        and not (pip_missing and "Failed to resolve installed pip version" in line)
    ]


def test_demo_runs_the_whole_loop(demo_run):
    proc, workdir = demo_run  # run from workdir.parent (tests/conftest.py)
    assert proc.returncode == 0, proc.stderr
    assert _unexpected_stderr(proc.stderr) == []
    out = proc.stdout
    stages = [
        "generate",
        "validate",
        "preprocess",
        "split",
        "train",
        "evaluate",
        "publish",
        "simulate production",
        "monitor",
    ]
    for i, stage in enumerate(stages, start=1):
        assert f"[{i}/9] {stage}" in out
    for name in [
        "customers.parquet",
        "mlflow.db",
        "report_card.html",
        "models/",
        "monitor/",
        "monitor_report.html",
    ]:
        assert f"  {name}" in out
        assert (workdir / name.rstrip("/")).exists(), name
    assert f"mlflow ui --backend-store-uri sqlite:///{workdir / 'mlflow.db'}" in out
    assert "Alerts" in out
    # only the work folder was written
    assert sorted(p.name for p in workdir.parent.iterdir()) == ["demo"]
    # the model is promoted to production in the store ...
    (version,) = ModelStore(workdir / "models").versions()
    assert version.aliases == ("production",)
    # ... and in MLflow's model registry (the UI's Models tab)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    registered = client.get_model_version_by_alias("churnlib-demo", "production")
    assert str(registered.version) == "1"
    assert "registered as models:/churnlib-demo@production" in out
    assert "The Models tab shows 'churnlib-demo' with the alias 'production'" in out


def test_demo_stderr_check_is_precise():
    pip_line = (
        "2026/12/01 09:00:00 WARNING mlflow.utils.environment: Failed to resolve "
        "installed pip version. ``pip`` will be added to conda.yaml environment "
        "spec without a version specifier."
    )
    other = "churnlib: warning: something else"
    notice = "Successfully registered model 'churnlib-demo'."
    pip_missing = importlib.util.find_spec("pip") is None
    assert _unexpected_stderr(f"{pip_line}\n{notice}\n{other}\n") == (
        [other] if pip_missing else [pip_line, other]
    )
    assert _unexpected_stderr("Successfully registered model 'other'.") != []
