"""Fixtures of the dashboard tests: Streamlit's AppTest and a demo work directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from tests.dashboard._helpers import make_app


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty work directory the app reads from ``CHURNLIB_DASHBOARD_WORKDIR``."""
    import streamlit as st

    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.setenv("CHURNLIB_DASHBOARD_WORKDIR", str(folder))
    st.cache_data.clear()
    st.cache_resource.clear()
    return folder


@pytest.fixture
def app(workdir):
    """AppTest of the dashboard on an empty work directory, first page run."""
    at = make_app()
    at.run()
    return at


@pytest.fixture(scope="session")
def demo_workdir(tmp_path_factory):
    """A small ``churnlib demo`` work directory (run once per session)."""
    folder = tmp_path_factory.mktemp("demo") / "churnlib-demo"
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "churnlib",
            "demo",
            "--workdir",
            str(folder),
            "--n-customers",
            "1500",
            "--batches",
            "4",
            "--batch-size",
            "300",
            "--quiet",
        ],
        check=True,
        env=env,
        cwd=folder.parent,
        capture_output=True,
        timeout=400,
    )
    return folder
