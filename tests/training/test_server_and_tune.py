"""The same trainer against a real ``mlflow server`` over HTTP; tune(); the report."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from churnlib.exceptions import InvalidParameterError
from churnlib.training import ChurnTrainer
from tests.training.conftest import search_runs, simple_preprocessor, small_forest


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


@pytest.mark.slow
def test_fit_and_register_over_http(mlflow_server, split_data):
    import mlflow

    X_train, X_valid, y_train, y_valid = split_data
    trainer = ChurnTrainer(
        small_forest(),
        preprocessor=simple_preprocessor(),
        tracking_uri=mlflow_server,
        experiment_name="http-test",
        registered_model_name="http-churn",
        alias="candidate",
        random_state=0,
        log_report=False,
    )
    result = trainer.fit(X_train, y_train, X_valid=X_valid, y_valid=y_valid)
    assert result.tracking_uri == mlflow_server
    assert result.registered_version == 1

    client = _client(mlflow_server)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    # the server proxies artifacts: nothing is written beside the client
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert run.data.params["classifier__n_estimators"] == "15"
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert {d.dataset.name for d in run.inputs.dataset_inputs} == {"train", "valid"}
    assert client.get_model_version_by_alias("http-churn", "candidate").run_id == (
        result.run_id
    )

    expected = result.model.predict_proba(X_valid)
    mlflow.set_tracking_uri(mlflow_server)
    try:
        by_uri = mlflow.sklearn.load_model(result.model_uri)
        by_alias = mlflow.sklearn.load_model("models:/http-churn@candidate")
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(by_uri.predict_proba(X_valid), expected)
    np.testing.assert_allclose(by_alias.predict_proba(X_valid), expected)


@pytest.mark.slow
def test_bad_input_over_http_creates_no_run(mlflow_server, split_data):
    from churnlib.exceptions import DataValidationError

    X_train, _, _, _ = split_data
    trainer = ChurnTrainer(
        small_forest(),
        preprocessor=simple_preprocessor(),
        tracking_uri=mlflow_server,
        experiment_name="http-bad-input",
    )
    with pytest.raises(DataValidationError, match="single class"):
        trainer.fit(X_train, np.ones(len(X_train), dtype=bool))
    assert search_runs(mlflow_server, "http-bad-input") == []


# --- tune -------------------------------------------------------------------------


def test_tune_logs_parent_and_nested_children(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, _, y_train, _ = split_data
    name = f"{experiment_name}-tuned"
    trainer = make_trainer(registered_model_name=name, alias="candidate")
    best = trainer.tune(
        X_train,
        y_train,
        {"max_depth": [2, 6], "min_samples_leaf": [3, 10]},
        n_iter=2,
        cv=2,
    )
    runs = search_runs(mlflow_tracking_uri, experiment_name)
    parents = [r for r in runs if r.data.tags.get("churnlib.tuning") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert len(children) == 2
    parent = parents[0]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert all(r.info.status == "FINISHED" for r in runs)
    # the best child is the one with the highest out-of-fold ROC AUC
    scores = {c.info.run_id: c.data.metrics["roc_auc"] for c in children}
    assert best.run_id == max(scores, key=scores.get)
    assert parent.data.tags["churnlib.best_run_id"] == best.run_id
    assert parent.data.metrics["best_roc_auc"] == pytest.approx(max(scores.values()))
    assert best.params["parent_run_id"] == parent.info.run_id
    # its model is refitted on all rows, logged in its run and registered
    assert best.registered_version == 1
    assert best.model[-1].max_depth == int(
        _client(mlflow_tracking_uri)
        .get_run(best.run_id)
        .data.params["classifier__max_depth"]
    )
    assert len(best.model[-1].estimators_) == 15
    best_run = _client(mlflow_tracking_uri).get_run(best.run_id)
    assert best_run.data.tags["churnlib.tuning"] == "best"
    assert best_run.outputs.model_outputs  # the logged model belongs to this run


def test_tune_on_validation_data_with_smaller_is_better_metric(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, X_valid, y_train, y_valid = split_data
    best = make_trainer(log_model=False).tune(
        X_train,
        y_train,
        {"classifier__min_samples_leaf": [1, 20]},
        n_iter=5,  # more than the grid holds: the grid size wins, no warning
        scoring="brier",
        X_valid=X_valid,
        y_valid=y_valid,
    )
    children = [
        r
        for r in search_runs(mlflow_tracking_uri, experiment_name)
        if "mlflow.parentRunId" in r.data.tags
    ]
    assert len(children) == 2
    briers = {c.info.run_id: c.data.metrics["brier"] for c in children}
    assert best.run_id == min(briers, key=briers.get)
    assert best.model_uri is None


def test_tune_with_tuned_threshold_addresses_the_inner_estimator(
    make_trainer, split_data
):
    X_train, _, y_train, _ = split_data
    best = make_trainer(threshold=0.4, log_model=False, cv=3).tune(
        X_train, y_train, {"max_depth": [3]}, n_iter=1
    )
    assert best.model[-1].estimator_.max_depth == 3
    assert best.threshold == 0.4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"param_distributions": {"no_such_param": [1]}}, "unknown parameter"),
        ({"n_iter": 0}, "The 'n_iter' parameter of ChurnTrainer.tune"),
        ({"scoring": "mse"}, "The 'scoring' parameter of ChurnTrainer.tune"),
        ({"cv": 1}, "The 'cv' parameter of ChurnTrainer"),
    ],
)
def test_tune_invalid_arguments(make_trainer, split_data, kwargs, message):
    X_train, _, y_train, _ = split_data
    arguments = {"param_distributions": {"max_depth": [2]}, **kwargs}
    params = arguments.pop("param_distributions")
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        make_trainer().tune(X_train, y_train, params, **arguments)


def test_tune_needs_a_way_to_score(make_trainer, split_data):
    X_train, _, y_train, _ = split_data
    with pytest.raises(InvalidParameterError, match="needs a way to score"):
        make_trainer(cv=None).tune(X_train, y_train, {"max_depth": [2]})


# --- the evaluation report -------------------------------------------------------


def test_evaluation_report_is_logged_with_validation_data(
    make_trainer, split_data, mlflow_tracking_uri, pyplot
):
    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(log_model=False, log_report=True).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    # the report card is written in the background, off the fit's path
    assert result.report is not None
    result.report.result(timeout=300)
    client = _client(mlflow_tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.tags["churnlib.report"] == "logged"
    files = {f.path for f in client.list_artifacts(result.run_id, "evaluation")}
    assert "evaluation/report.html" in files
    assert any(f.endswith(".png") for f in files)
    # the report's metrics sit beside the trainer's, prefixed, and agree
    assert run.data.metrics["report_roc_auc"] == pytest.approx(
        result.metrics["roc_auc"]
    )
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])


def test_no_report_without_validation_data(
    make_trainer, split_data, mlflow_tracking_uri
):
    X_train, _, y_train, _ = split_data
    result = make_trainer(log_model=False, log_report=True).fit(X_train, y_train)
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    assert "churnlib.report" not in run.data.tags
    assert result.report is None


def test_report_without_matplotlib_logs_metrics_only(
    make_trainer, split_data, mlflow_tracking_uri, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(log_model=False, log_report=True).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    result.report.result(timeout=300)
    client = _client(mlflow_tracking_uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["churnlib.report"] == "logged without figures (no matplotlib)"
    files = {f.path for f in client.list_artifacts(result.run_id, "evaluation")}
    assert files == {"evaluation/metrics.json"}
    assert run.data.metrics["report_roc_auc"] == pytest.approx(
        result.metrics["roc_auc"]
    )


def test_report_is_skipped_when_the_evaluation_layer_is_missing(
    make_trainer, split_data, mlflow_tracking_uri, monkeypatch
):
    monkeypatch.setitem(sys.modules, "churnlib.evaluation", None)
    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(log_model=False, log_report=True).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    result.report.result(timeout=300)
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["churnlib.report"].startswith("skipped:")
