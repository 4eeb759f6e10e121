"""The dashboard's pages and actions, driven with Streamlit's AppTest.

Real components: generated customers, a SQLite MLflow store and a file model
store in the test's work directory. Assertions are on the values shown.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from churnlib.dashboard._data import churn_rate_by
from churnlib.data import generate_customers
from churnlib.deployment import ModelStore
from tests.dashboard._helpers import (
    array,
    by_label,
    click,
    figures,
    frame_with,
    metrics,
    no_errors,
    texts,
)


def _generate(at, n=2000, seed=0):
    by_label(at.number_input, "Customers").set_value(n)
    by_label(at.number_input, "Seed").set_value(seed)
    return click(at, "Generate")


def _train(at, estimator="Logistic regression"):
    at.switch_page("pages/train.py").run()
    by_label(at.selectbox, "Estimator").set_value(estimator)
    return click(at, "Train")


def test_empty_workdir_pages_say_what_to_do_first(app):
    no_errors(app)
    assert "Generate customers or read a table to start." in texts(app.info)
    for page, hint in [
        ("pages/train.py", "Generate or read a table on the Data page first."),
        ("pages/evaluate.py", "Train a model on the Train page"),
        ("pages/monitor.py", "Select a model first"),
        ("pages/deploy.py", "No versions yet: publish one below."),
    ]:
        app.switch_page(page).run()
        no_errors(app)
        assert any(hint in t for t in texts(app.info)), (page, texts(app.info))


def test_generate_shows_the_table_its_schema_and_charts(app):
    _generate(app, n=2000, seed=3)
    no_errors(app)
    expected = generate_customers(2000, random_state=3)
    shown = metrics(app)
    assert shown["Rows"] == "2,000"
    assert shown["Churn rate"] == f"{expected['churned'].mean():.1%}"
    assert shown["Target"] == "churned"
    assert shown["Churn value"] == "True"
    assert any("Generated 2,000 customers" in t for t in texts(app.success))
    schema = app.dataframe[0].value.set_index("column")
    assert schema.loc["customer_id", "role"] == "identifier"
    assert schema.loc["churned", "role"] == "target"
    assert schema.loc["tenure_months", "role"] == "numeric"
    assert schema.loc["contract", "role"] == "categorical"
    # the truth column of the generator is set aside, not a feature
    assert schema.loc["churn_probability", "role"] == "truth"
    shown = figures(app)
    assert set(shown) == {
        "Distribution of tenure_months",
        "Churn rate by tenure_months",
    }
    # churn rate by feature: the bars are the churn rates per tenure decile
    bars = shown["Churn rate by tenure_months"]["data"][0]
    expected_rates = churn_rate_by(expected, expected["churned"], "tenure_months")
    np.testing.assert_allclose(array(bars["y"]), expected_rates["churn_rate"])
    assert list(bars["x"]) == list(expected_rates["value"])


def test_balanced_option_gives_half_churners(app):
    by_label(app.number_input, "Customers").set_value(1000)
    by_label(app.checkbox, "Balanced (50 % churn)").check()
    click(app, "Generate")
    no_errors(app)
    expected = generate_customers(1000, churn_rate=0.5, random_state=0)
    assert metrics(app)["Churn rate"] == f"{expected['churned'].mean():.1%}"
    assert abs(expected["churned"].mean() - 0.5) < 0.05


def test_schema_edit_rereads_with_another_positive_value(app, workdir):
    frame = generate_customers(600, random_state=1)
    frame["churned"] = np.where(frame["churned"], "gone", "active")
    frame.to_csv(workdir / "custom.csv", index=False)
    by_label(
        app.text_input, "...or read a path or URL (file, s3://, az://, gs://, https://)"
    ).input(str(workdir / "custom.csv"))
    click(app, "Read")
    no_errors(app)
    before = metrics(app)["Churn rate"]
    assert before == f"{(frame['churned'] == 'gone').mean():.1%}"
    by_label(app.selectbox, "Value meaning churn").set_value("'active'")
    click(app, "Re-read with this schema")
    no_errors(app)
    assert metrics(app)["Churn value"] == "'active'"
    assert metrics(app)["Churn rate"] == f"{(frame['churned'] == 'active').mean():.1%}"


def test_suspected_leak_is_flagged_in_the_schema(app, workdir):
    frame = generate_customers(800, random_state=4)
    frame["retention_call_outcome"] = np.where(frame["churned"], "lost", "kept")
    frame.to_csv(workdir / "leaky.csv", index=False)
    field = "...or read a path or URL (file, s3://, az://, gs://, https://)"
    by_label(app.text_input, field).input(str(workdir / "leaky.csv"))
    click(app, "Read")
    assert not app.exception
    assert not app.error
    schema = app.dataframe[0].value.set_index("column")
    note = schema.loc["retention_call_outcome", "note"]
    assert note == "suspected leak: alone it predicts churn with ROC AUC 1.000"
    assert any("retention_call_outcome" in t for t in texts(app.warning))


def test_excel_table_is_read_like_csv(app, workdir):
    pytest.importorskip("openpyxl")
    frame = generate_customers(300, random_state=2)
    frame["churned"] = frame["churned"].map({True: "Yes", False: "No"})
    frame.to_excel(workdir / "customers.xlsx", index=False)
    field = "...or read a path or URL (file, s3://, az://, gs://, https://)"
    by_label(app.text_input, field).input(str(workdir / "customers.xlsx"))
    click(app, "Read")
    no_errors(app)
    shown = metrics(app)
    assert shown["Rows"] == "300"
    assert shown["Target"] == "churned"
    assert shown["Churn value"] == "'Yes'"
    assert shown["Churn rate"] == f"{(frame['churned'] == 'Yes').mean():.1%}"


def test_broken_table_shows_an_error_and_keeps_the_current_table(app, workdir):
    _generate(app, n=1000)
    (workdir / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    field = "...or read a path or URL (file, s3://, az://, gs://, https://)"
    by_label(app.text_input, field).input(str(workdir / "broken.parquet"))
    click(app, "Read")
    assert not app.exception
    assert len(app.error) == 1
    assert "Could not read" in app.error[0].value
    assert "broken.parquet" in app.error[0].value
    assert metrics(app)["Rows"] == "1,000"  # unchanged


def test_table_without_usable_target_is_refused_with_the_fix(app, workdir):
    pd.DataFrame({"a": range(50), "b": np.arange(50) * 2.0}).to_csv(
        workdir / "no_target.csv", index=False
    )
    field = "...or read a path or URL (file, s3://, az://, gs://, https://)"
    by_label(app.text_input, field).input(str(workdir / "no_target.csv"))
    click(app, "Read")
    assert not app.exception
    assert len(app.error) == 1
    message = app.error[0].value
    assert "no column that looks like a churn label" in message
    assert "Pick the target column" in message
    assert "Generate customers or read a table to start." in texts(app.info)


def test_missing_file_names_the_path(app, workdir):
    field = "...or read a path or URL (file, s3://, az://, gs://, https://)"
    by_label(app.text_input, field).input(str(workdir / "nope.csv"))
    click(app, "Read")
    assert not app.exception
    assert "nope.csv" in app.error[0].value


def test_generate_train_evaluate_publish_promote_monitor(app, workdir):
    """The whole loop in one session, asserting on what each page shows."""
    _generate(app, n=2000, seed=0)
    no_errors(app)

    # --- train ---------------------------------------------------------
    _train(app)
    no_errors(app)
    shown = metrics(app)
    auc = float(shown["ROC AUC"])
    assert 0.75 < auc < 0.95
    assert shown["Threshold"] == "0.500"
    contract = [e.label for e in app.expander if e.label.startswith("Model contract")]
    assert len(contract) == 1
    assert re.fullmatch(
        r"Model contract: 1[0-9] features, \d+ columns excluded, threshold 0\.500",
        contract[0],
    )
    run_line = next(
        m.value for m in app.markdown if m.value.startswith("MLflow run id")
    )
    run_id = run_line.split("`")[1]
    assert len(run_id) == 32
    link = next(
        m.value for m in app.markdown if "Open the run in the MLflow UI" in m.value
    )
    assert f"/runs/{run_id}" in link
    assert link.startswith("[Open the run")
    runs = frame_with(app, "run_id")
    assert runs.loc[0, "run_id"] == run_id
    assert runs.loc[0, "experiment"] == "churnlib-dashboard"
    assert bool(runs.loc[0, "has_model"])
    assert (workdir / "mlflow.db").exists()
    assert (workdir / "mlartifacts").is_dir()

    # --- evaluate --------------------------------------------------------
    app.switch_page("pages/evaluate.py").run()
    no_errors(app)
    shown = metrics(app)
    assert float(shown["ROC AUC"]) == pytest.approx(auc, abs=5e-4)
    # the curve tabs are lazy: only the open one is drawn; open each in turn
    charts = {title.split(" (")[0] for title in figures(app)}
    assert "ROC curve" in charts
    assert "Feature importance" not in charts
    for tab in ("Precision-recall", "Calibration", "Lift & gain", "Importance"):
        app.session_state["eval.curves"] = tab
        app.run()
        no_errors(app)
        shown_now = {title.split(" (")[0] for title in figures(app)}
        assert "ROC curve" not in shown_now
        charts |= shown_now
    app.session_state["eval.curves"] = "ROC"
    app.run()
    assert {
        "ROC curve",
        "Precision-recall",
        "Calibration",
        "Cumulative gain",
        "Lift",
        "Feature importance",
        "Profit curve",
    } <= charts
    cutoff = float(shown["Recommended cutoff"])
    contacted = shown["Customers contacted"]
    # campaign sliders move the recommended cutoff live
    app.slider(key="camp.value").set_value(1500.0).run()
    no_errors(app)
    moved = metrics(app)
    assert float(moved["Recommended cutoff"]) < cutoff
    assert float(moved["Customers contacted"].rstrip("%")) > float(
        contacted.rstrip("%")
    )
    app.slider(key="camp.value").set_value(10.0)
    app.slider(key="camp.offer").set_value(50.0).run()
    assert metrics(app)["Recommended cutoff"] == "none"
    assert any("No campaign is profitable" in t for t in texts(app.warning))

    # --- deploy: publish, promote, roll back ------------------------------
    app.switch_page("pages/deploy.py").run()
    no_errors(app)
    by_label(app.text_input, "Point this alias at the new version (optional)").input(
        "staging"
    )
    click(app, "Publish")
    no_errors(app)
    store = ModelStore((workdir / "models").as_uri())
    first = store.versions()
    assert len(first) == 1
    v1 = first[0].version
    assert first[0].run_id == run_id
    assert texts(app.success) == [
        f"Published version {v1} and pointed 'staging' at it."
    ]
    table = app.dataframe[0].value
    assert list(table["version"]) == [v1]
    assert table.loc[0, "aliases"] == "staging"
    assert table.loc[0, "roc_auc"] == pytest.approx(auc, abs=5e-4)

    click(app, "Publish")  # the same model again: no second copy
    assert texts(app.success) == [
        f"This model is already version {v1}: nothing new was published; "
        "pointed 'staging' at it."
    ]
    assert len(store.versions()) == 1
    # a second version (another model) to promote and roll back between
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    v2 = store.publish(LogisticRegression().fit(X, [0, 0, 1, 1])).version
    app.run()
    assert len(app.dataframe[0].value) == 2
    by_label(app.selectbox, "Version").set_value(v1)
    by_label(app.text_input, "Alias").input("production")
    click(app, "Promote")
    no_errors(app)
    assert texts(app.success) == [f"Alias 'production' now points to {v1}."]
    by_label(app.selectbox, "Version").set_value(v2)
    by_label(app.text_input, "Alias").input("production")
    click(app, "Promote")
    assert store.get("production").version == v2
    table = app.dataframe[0].value.set_index("version")
    assert table.loc[v2, "aliases"] == "production"
    by_label(app.selectbox, "Alias").set_value("production")
    click(app, "Roll back")
    no_errors(app)
    assert texts(app.success) == [f"Alias 'production' rolled back to {v1}."]
    assert store.get("production").version == v1
    table = app.dataframe[0].value.set_index("version")
    assert table.loc[v1, "aliases"] == "production, staging"

    # --- monitor: simulate production into a scratch store ----------------
    app.switch_page("pages/monitor.py").run()
    no_errors(app)
    assert any("has no predictions yet" in t for t in texts(app.info))
    by_label(app.selectbox, "Scenario").set_value("covariate_shift")
    by_label(app.number_input, "Batches").set_value(4)
    by_label(app.number_input, "Batch size").set_value(300)
    click(app, "Simulate into a scratch store")
    no_errors(app)
    shown = metrics(app)
    assert shown["Chunks"] == "4"
    assert shown["Predictions"] == "1,200"
    assert shown["With outcomes"] == "600"  # the last two batches have no labels yet
    scratch = list((workdir / "scratch").iterdir())
    assert len(scratch) == 1
    assert (scratch[0] / "predictions").is_dir()
    shown = figures(app)
    performance = shown["roc_auc over time: realized vs estimated"]
    names = {trace.get("name") for trace in performance["data"]}
    assert {"realized", "estimated"} <= names
    assert any(str(n).startswith("reference band") for n in names)
    heat = shown["Drift per feature and chunk (above 1: flagged)"]["data"][0]
    assert "tenure_months" in list(heat["y"])
    assert len(heat["x"]) == 4
    cells = array(heat["z"]).astype(float)
    rows = list(heat["y"])
    # covariate shift from batch 2 on: tenure drifts after, not before
    tenure = cells[rows.index("tenure_months")]
    assert tenure[-1] > 1.0 > tenure[0]
