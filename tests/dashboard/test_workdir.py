"""``churnlib demo`` output opens in the dashboard; bad stores fail cleanly; secrets."""

from __future__ import annotations

import pytest

from churnlib.deployment import ModelStore
from tests.dashboard._helpers import (
    by_label,
    click,
    figures,
    frame_with,
    make_app,
    metrics,
    no_errors,
    texts,
)


@pytest.fixture
def demo_app(demo_workdir, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CHURNLIB_DASHBOARD_WORKDIR", str(demo_workdir))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = make_app()
    at.run()
    return at


@pytest.mark.slow  # runs churnlib demo once per session
def test_demo_workdir_opens_on_every_page(demo_app, demo_workdir):
    at = demo_app
    no_errors(at)
    shown = metrics(at)
    assert shown["Rows"] == "1,500"
    assert at.get("plotly_chart")

    store = ModelStore((demo_workdir / "models").as_uri())
    production = store.get("production")

    at.switch_page("pages/deploy.py").run()
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["version"]) == [production.version]
    assert table.loc[0, "aliases"] == "production"
    assert table.loc[0, "roc_auc"] == pytest.approx(production.metrics["roc_auc"])

    at.switch_page("pages/evaluate.py").run()
    no_errors(at)
    assert f"@production ({production.version})" in at.caption[-1].value or any(
        production.version in c.value for c in at.caption
    )
    assert 0.5 < float(metrics(at)["ROC AUC"]) <= 1.0
    assert "Profit curve" in figures(at)

    at.switch_page("pages/monitor.py").run()
    no_errors(at)
    shown = metrics(at)
    assert shown["Chunks"] == "4"
    assert shown["Predictions"] == "1,200"
    assert "roc_auc over time: realized vs estimated" in figures(at)

    at.switch_page("pages/train.py").run()
    no_errors(at)
    runs = frame_with(at, "run_id")
    demo_runs = runs[runs["experiment"] == "churnlib-demo"]
    assert len(demo_runs) == 1
    run_id = demo_runs["run_id"].iloc[0]
    assert run_id == (production.run_id or production.metadata["mlflow_run_id"])
    click(at, "Use this run")
    no_errors(at)
    assert any(run_id in m.value for m in at.markdown)
    assert float(metrics(at)["ROC AUC"]) == pytest.approx(
        float(demo_runs["roc_auc"].iloc[0]), abs=5e-4
    )


SECRET = "AKIA-DASHBOARD-SECRET-42"


def test_unreachable_store_is_an_error_and_typed_secrets_never_show(app, workdir):
    app.switch_page("pages/deploy.py").run()
    by_label(app.radio, "Storage options").set_value("Typed for this session only")
    app.run()
    options = (
        f'{{"key": "{SECRET}", "secret": "{SECRET}-2", '
        '"client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}}'
    )
    by_label(
        app.text_input,
        "Storage options: a JSON object or KEY=VALUE lines (hidden; kept in this "
        "browser session only)",
    ).input(options)
    click(app, "Use for this session")
    assert any(
        "3 storage option(s) set for this session: client_kwargs, key, secret"
        in c.value
        for c in app.caption
    )
    by_label(
        app.text_input, "Model store URL (file://, s3://, az://, gs://, memory://)"
    ).input("s3://churnlib-unreachable/models")
    app.run()
    assert not app.exception
    assert len(app.error) == 1
    assert "Could not open the model store s3://churnlib-unreachable/models" in (
        app.error[0].value
    )
    # the secret is nowhere on the page: not in any element, not in any input
    assert SECRET not in repr(app._tree)
    for widget in app.text_input:
        assert SECRET not in str(widget.value)
    # ... nor on disk
    for path in workdir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    # forgetting them goes back to the environment
    click(app, "Forget them")
    assert not any("set for this session" in c.value for c in app.caption)


def test_bad_storage_options_are_refused_without_echo(app):
    app.switch_page("pages/deploy.py").run()
    by_label(app.radio, "Storage options").set_value("Typed for this session only")
    app.run()
    by_label(
        app.text_input,
        "Storage options: a JSON object or KEY=VALUE lines (hidden; kept in this "
        "browser session only)",
    ).input('{"key": "' + SECRET)
    click(app, "Use for this session")
    assert not app.exception
    errors = texts(app.error)
    assert any("not valid JSON" in e for e in errors)
    assert SECRET not in repr(app._tree)
