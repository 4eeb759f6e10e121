"""Fixtures of the dashboard tests: Streamlit's AppTest and a demo work directory."""

from __future__ import annotations

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
def demo_workdir(demo_run):
    """A small ``churnlib demo`` work directory: 1,500 customers, 4 batches of
    300 (the session's one demo run, shared with the CLI smoke test)."""
    proc, folder = demo_run
    assert proc.returncode == 0, proc.stderr
    return folder
