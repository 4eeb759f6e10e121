"""Helpers of the CLI tests: run ``main([...])`` in-process, or a real subprocess.

Most tests call :func:`churnlib.cli.main` in this process (no interpreter
start, no re-import of sklearn and MLflow: much faster); a few smoke tests in
``test_smoke.py`` run ``python -m churnlib`` exactly as a user or a scheduler
would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from churnlib.cli import main

#: The public churn tables, next to the repository (see shared/data/README.md).
SHARED = Path(__file__).parents[2].parent / "shared" / "data"

ENV = {
    **os.environ,
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PYTHONWARNINGS": "ignore",
    "COLUMNS": "100",
}
ENV.pop("MLFLOW_TRACKING_URI", None)


@dataclass
class Result:
    """What a command did: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Call ``churnlib ARGS`` in-process; return a :class:`Result`."""
    # main() sets this default for MLflow; keep it out of the test session.
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "100")

    def call(*args):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse: --help, usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call


def run(*args, cwd=None, timeout=300, env=None):
    """Run ``python -m churnlib ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "churnlib", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or ENV,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(result, *fragments):
    """Exit status 1 and exactly one ``churnlib: error:`` line, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [
        line
        for line in result.stderr.strip().splitlines()
        if not line.startswith("churnlib: warning: ")
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("churnlib: error: "), lines[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def shared_table(name):
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared churn table {name} not found next to the repository")
    return path
