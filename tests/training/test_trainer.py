"""ChurnTrainer against a real SQLite MLflow store."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    FixedThresholdClassifier,
    KFold,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import Pipeline

from churnlib import get_contract
from churnlib.exceptions import (
    DataValidationError,
    InvalidParameterError,
    TrackingError,
)
from churnlib.training import ChurnTrainer, TrainingResult
from churnlib.training._metrics import METRIC_NAMES
from churnlib.training._tracking import data_fingerprint
from tests.fixtures.mlflow_server import free_port
from tests.training.conftest import search_runs, simple_preprocessor, small_forest

MODEL_NAME = "churn-test-model"


@pytest.fixture(scope="module")
def registered(split_data, mlflow_tracking_uri):
    """One registered fit with validation data, shared by the read-only tests."""
    X_train, X_valid, y_train, y_valid = split_data
    trainer = ChurnTrainer(
        small_forest(),
        preprocessor=simple_preprocessor(),
        tracking_uri=mlflow_tracking_uri,
        experiment_name="test-registered",
        registered_model_name=MODEL_NAME,
        alias="candidate",
        random_state=0,
        run_name="registered-run",
        log_report=False,
    )
    result = trainer.fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid, tags={"team": "retention"}
    )
    return result, trainer


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


# --- what one run records ------------------------------------------------------


def test_result_fields(registered, split_data):
    result, _ = registered
    _, X_valid, _, y_valid = split_data
    assert isinstance(result, TrainingResult)
    assert isinstance(result.model, Pipeline)
    assert [name for name, _ in result.model.steps] == ["preprocess", "classifier"]
    assert set(METRIC_NAMES) <= set(result.metrics)
    assert result.threshold == 0.5 == result.metrics["threshold"]
    assert result.registered_version >= 1
    assert result.model_uri.startswith("models:/")
    assert result.registered_model_uri == f"models:/{MODEL_NAME}@candidate"
    # metrics are for the churn class, on the validation data
    proba = result.model.predict_proba(X_valid)[:, 1]
    assert result.metrics["roc_auc"] == pytest.approx(roc_auc_score(y_valid, proba))
    assert result.metrics["n_valid"] == len(X_valid)
    with pytest.raises(AttributeError):
        result.run_id = "other"  # frozen


def test_result_repr_is_short_and_readable(registered):
    result, trainer = registered
    text = repr(result)
    assert text.startswith(f"TrainingResult(run_id={result.run_id!r}, roc_auc=")
    assert "ColumnTransformer -> RandomForestClassifier" in text
    assert f"v{result.registered_version}@candidate" in text
    assert "registered_model_name='churn-test-model'" in repr(trainer)


def test_run_params_metrics_tags(registered, mlflow_tracking_uri, split_data):
    result, _ = registered
    X_train, _, y_train, _ = split_data
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "registered-run"
    params = run.data.params
    assert params["classifier__n_estimators"] == "15"
    assert params["classifier__min_samples_leaf"] == "5"
    assert params["estimator"] == "RandomForestClassifier"
    assert params["preprocessor"] == "ColumnTransformer"
    assert params == {k: str(v) for k, v in result.params.items()}
    for name in METRIC_NAMES:
        assert run.data.metrics[name] == pytest.approx(result.metrics[name])
    tags = run.data.tags
    import churnlib

    assert tags["churnlib.version"] == churnlib.__version__
    # the fingerprint covers what the model is fitted on: the identifier is left out
    features = X_train.drop(columns="customer_id").reset_index(drop=True)
    fingerprint = data_fingerprint(features, y_train.to_numpy())
    assert tags["churnlib.data_fingerprint"] == fingerprint
    assert tags["team"] == "retention"
    assert tags["churnlib.n_rows"] == str(len(X_train))


def test_run_dataset_inputs(registered, mlflow_tracking_uri):
    result, _ = registered
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    inputs = {
        next(t.value for t in d.tags if t.key == "mlflow.data.context"): d.dataset
        for d in run.inputs.dataset_inputs
    }
    assert set(inputs) == {"training", "validation"}
    train = inputs["training"]
    assert train.name == "train"
    assert train.digest == run.data.tags["churnlib.data_fingerprint"]
    assert "churned" in train.schema
    assert '"num_rows": 225' in train.profile


def test_model_loads_back_by_uri_and_alias(registered, mlflow_tracking_uri, split_data):
    import mlflow

    result, _ = registered
    X_valid = split_data[1]
    expected = result.model.predict_proba(X_valid)
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    try:
        by_uri = mlflow.sklearn.load_model(result.model_uri)
        by_alias = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@candidate")
        pyfunc = mlflow.pyfunc.load_model(result.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(by_uri.predict_proba(X_valid), expected)
    np.testing.assert_allclose(by_alias.predict_proba(X_valid), expected)
    # the pyfunc flavour returns churn probabilities too; its schema check
    # wants plain strings where pandas has categoricals
    categorical = X_valid.select_dtypes("category").columns
    plain = X_valid.astype(dict.fromkeys(categorical, object))
    np.testing.assert_allclose(np.asarray(pyfunc.predict(plain)), expected)


def test_logged_model_is_skops_with_signature_and_requirements(
    registered, mlflow_tracking_uri
):
    import mlflow

    result, _ = registered
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    try:
        info = mlflow.models.get_model_info(result.model_uri)
        local = Path(mlflow.artifacts.download_artifacts(result.model_uri))
    finally:
        mlflow.set_tracking_uri(None)
    flavor = info.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert "sklearn.tree._tree.Tree" in flavor["skops_trusted_types"]
    assert info.signature is not None
    assert "tenure_months" in info.signature.inputs.input_names()
    assert (local / "model.skops").exists()
    assert any(p.name.startswith("input_example") for p in local.iterdir())
    requirements = (local / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("skops==") for r in requirements)


def test_artifacts_live_beside_the_sqlite_file(registered, mlflow_tracking_uri):
    result, _ = registered
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    db_folder = Path(mlflow_tracking_uri.removeprefix("sqlite:///")).parent
    assert run.info.artifact_uri.startswith((db_folder / "mlartifacts").as_uri())
    assert not Path("mlruns").exists()


def test_registry_versions_and_alias_move(make_trainer, split_data, experiment_name):
    X_train, _, y_train, _ = split_data
    name = f"{experiment_name}-model"
    trainer = make_trainer(
        registered_model_name=name, alias="candidate", cv=None, log_report=False
    )
    first = trainer.fit(X_train, y_train)
    second = trainer.fit(X_train, y_train)
    assert (first.registered_version, second.registered_version) == (1, 2)
    client = _client(trainer.tracking_uri)
    assert str(client.get_model_version_by_alias(name, "candidate").version) == "2"
    assert client.get_model_version(name, "1").run_id == first.run_id
    versions = client.search_model_versions(f"name='{name}'")
    assert {str(v.version) for v in versions} == {"1", "2"}


def test_log_model_false_logs_no_model(make_trainer, split_data):
    X_train, _, y_train, _ = split_data
    result = make_trainer(log_model=False, cv=None).fit(X_train, y_train)
    assert result.model_uri is None
    assert result.registered_version is None
    assert result.metrics == {
        "threshold": 0.5,
        "n_train": len(X_train),
        "fit_seconds": pytest.approx(result.metrics["fit_seconds"]),
    }


# --- validation metrics --------------------------------------------------------


def test_cross_validated_metrics_without_validation_data(make_trainer, split_data):
    X_train, _, y_train, _ = split_data
    result = make_trainer(cv=4, log_model=False).fit(X_train, y_train)
    assert result.metrics["cv_folds"] == 4
    assert 0 <= result.metrics["roc_auc_cv_std"] < 0.3
    assert 0.5 < result.metrics["roc_auc"] <= 1
    # the returned model is refitted on all the training rows
    assert result.model[-1].n_features_in_ > 0
    assert len(result.model[-1].estimators_) == 15


def test_the_validation_plan_is_a_param_of_the_result_and_the_run(
    make_trainer, split_data, mlflow_tracking_uri, caplog
):
    import logging

    X_train, X_valid, y_train, y_valid = split_data
    with caplog.at_level(logging.INFO, logger="churnlib"):
        by_cv = make_trainer(cv=4, log_model=False).fit(X_train, y_train)
    plan = (
        "out-of-fold: 4-fold cross-validation (4 extra fits before the final one; "
        "pass X_valid/y_valid or cv=None to skip them)"
    )
    assert by_cv.params["validation"] == plan
    run = _client(mlflow_tracking_uri).get_run(by_cv.run_id)
    assert run.data.params["validation"] == plan
    assert "4 more fits" in caplog.text  # said before the fits start
    held_out = make_trainer(log_model=False).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    assert held_out.params["validation"] == f"holdout: X_valid ({len(X_valid)} rows)"
    skipped = make_trainer(cv=None, log_model=False).fit(X_train, y_train)
    assert skipped.params["validation"] == "none: cv=None and no X_valid"
    assert "cv_folds" not in skipped.metrics


def test_cv_splitter_and_too_few_churners(make_trainer, split_data):
    X_train, _, y_train, _ = split_data
    result = make_trainer(cv=KFold(3), log_model=False).fit(X_train, y_train)
    assert result.metrics["cv_folds"] == 3
    y = np.zeros(len(X_train), dtype=int)
    y[:2] = 1
    with pytest.raises(DataValidationError, match="only 2 customers in its smaller"):
        make_trainer(cv=3, log_model=False).fit(X_train, y)


def test_fixed_threshold(make_trainer, split_data):
    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(threshold=0.3, log_model=False).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    assert isinstance(result.model[-1], FixedThresholdClassifier)
    assert result.threshold == 0.3 == result.metrics["threshold"]
    proba = result.model.predict_proba(X_valid)[:, 1]
    np.testing.assert_array_equal(result.model.predict(X_valid), proba >= 0.3)
    assert result.params["threshold"] == 0.3


@pytest.mark.parametrize("objective", ["f1", {"tp": 80.0, "fp": -20.0}])
def test_tuned_threshold(make_trainer, split_data, objective):
    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(threshold=objective, log_model=False).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    final = result.model[-1]
    assert isinstance(final, TunedThresholdClassifierCV)
    assert result.threshold == pytest.approx(final.best_threshold_)
    assert 0 < result.threshold < 1
    assert result.metrics["threshold"] == pytest.approx(result.threshold)
    proba = result.model.predict_proba(X_valid)[:, 1]
    np.testing.assert_array_equal(
        result.model.predict(X_valid), proba >= result.threshold
    )


def test_cost_objective_prefers_recall_when_misses_are_expensive(
    make_trainer, split_data
):
    X_train, _, y_train, _ = split_data
    cheap_offer = make_trainer(
        threshold={"tp": 100.0, "fp": -1.0}, log_model=False, cv=None
    )
    dear_offer = make_trainer(
        threshold={"tp": 10.0, "fp": -50.0}, log_model=False, cv=None
    )
    cheap = cheap_offer.fit(X_train, y_train)
    dear = dear_offer.fit(X_train, y_train)
    assert cheap.threshold < dear.threshold
    # cv=None: the tuning still cross-validates inside (3 folds)
    assert cheap.model[-1].cv.get_n_splits() == 5


def test_bool_and_int_labels_give_the_same_metrics(make_trainer, split_data):
    X_train, X_valid, y_train, y_valid = split_data
    as_bool = make_trainer(log_model=False).fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    as_int = make_trainer(log_model=False).fit(
        X_train, y_train.astype(int), X_valid=X_valid, y_valid=y_valid.astype(int)
    )
    for name in METRIC_NAMES:
        assert as_bool.metrics[name] == pytest.approx(as_int.metrics[name])


def test_labels_are_paired_with_rows_by_index_not_position(make_trainer, split_data):
    # the same customers' labels in another order (after a sort or a merge)
    # train the same model; labels for other rows are refused
    X_train, X_valid, y_train, y_valid = split_data
    kwargs = {"estimator": LogisticRegression(max_iter=1000), "log_model": False}
    plain = make_trainer(**kwargs).fit(X_train, y_train).model
    shuffled = y_train.sample(frac=1, random_state=0)
    assert not shuffled.index.equals(y_train.index)
    moved = make_trainer(**kwargs).fit(X_train, shuffled).model
    np.testing.assert_array_equal(
        moved.predict_proba(X_valid), plain.predict_proba(X_valid)
    )
    with pytest.raises(DataValidationError, match="the index of y_valid does not"):
        make_trainer(**kwargs).fit(
            X_train,
            y_train,
            X_valid=X_valid,
            y_valid=y_valid.set_axis(y_valid.index + 10**6),
        )


def test_non_text_column_names_are_read_as_text(make_trainer, split_data):
    # Excel headers such as years arrive as ints; the contract records text
    X_train, X_valid, y_train, y_valid = split_data
    numeric = X_train.select_dtypes("number").columns[:2]
    names = {c: 2019 + i for i, c in enumerate(numeric)}
    result = make_trainer(log_model=False).fit(
        X_train.rename(columns=names), y_train,
        X_valid=X_valid.rename(columns=names), y_valid=y_valid,
    )  # fmt: skip
    contract = get_contract(result.model)
    assert {"2019", "2020"} <= set(contract.feature_names)
    scored = result.model.predict_proba(contract.prepare(X_valid.rename(columns=names)))
    assert scored.shape == (len(X_valid), 2)
    clash = X_train.rename(columns=names).assign(**{"2019": 1.0})
    with pytest.raises(DataValidationError, match="duplicate column names '2019'"):
        make_trainer(log_model=False).fit(clash, y_train)


def test_numpy_features_are_accepted(make_trainer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + rng.normal(scale=0.5, size=120) > 0.5).astype(int)
    from sklearn.preprocessing import StandardScaler

    result = make_trainer(
        estimator=LogisticRegression(), preprocessor=StandardScaler(), log_model=False
    ).fit(X, y)
    assert result.metrics["roc_auc"] > 0.8


# --- tracking URI resolution ---------------------------------------------------


def test_default_store_is_sqlite_in_working_folder(split_data, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    X_train, _, y_train, _ = split_data
    before = mlflow.get_tracking_uri()
    result = ChurnTrainer(
        small_forest(), preprocessor=simple_preprocessor(), cv=None
    ).fit(X_train, y_train)
    assert (tmp_path / "mlflow.db").exists()
    assert (tmp_path / "mlartifacts").is_dir()
    assert not (tmp_path / "mlruns").exists()
    assert result.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    # the process-wide MLflow configuration is left as it was
    assert mlflow.get_tracking_uri() == before
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_environment_variable_is_used(
    make_trainer, split_data, mlflow_tracking_uri, monkeypatch, experiment_name
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_tracking_uri)
    X_train, _, y_train, _ = split_data
    result = make_trainer(tracking_uri=None, cv=None, log_model=False).fit(
        X_train, y_train
    )
    assert result.tracking_uri == mlflow_tracking_uri
    assert [
        r.info.run_id for r in search_runs(mlflow_tracking_uri, experiment_name)
    ] == [result.run_id]
    assert os.environ["MLFLOW_TRACKING_URI"] == mlflow_tracking_uri


def test_nested_under_the_users_active_run(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name, monkeypatch
):
    import mlflow
    import mlflow.tracking.fluent

    # set_experiment below is the user's process state: undo it afterwards
    # (the active experiment and MLFLOW_EXPERIMENT_ID), so later tests in this
    # process do not inherit it
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    X_train, _, y_train, _ = split_data
    trainer = make_trainer(cv=None, log_model=False)
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    try:
        experiment = mlflow.set_experiment(experiment_name + "-outer")
        with mlflow.start_run() as outer:
            result = trainer.fit(X_train, y_train)
            assert mlflow.active_run().info.run_id == outer.info.run_id
    finally:
        mlflow.set_tracking_uri(None)
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    assert run.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert experiment.experiment_id != result.experiment_id


# --- bad input: DataValidationError before any run -----------------------------


def _bad_inputs():
    X = pd.DataFrame(
        {
            "tenure": np.arange(40),
            "plan": ["a", "b"] * 20,
            "customer_id": [f"c{i}" for i in range(40)],
        }
    )
    y = np.array([0, 1] * 20)
    y_nan = pd.Series(y, dtype=float)
    y_nan[[3, 7]] = np.nan
    return [
        pytest.param(X, np.zeros(40, dtype=int), "single class", id="single-class"),
        pytest.param(X, y_nan, "2 missing label(s)", id="nan-labels"),
        pytest.param(X, y[:-1], "X has 40 rows but y has 39 labels", id="mismatch"),
        pytest.param(
            X, np.array([0, 1, 2, 1] * 10), "Cannot tell which value", id="3-classes"
        ),
        pytest.param(X[["customer_id"]], y, "no usable feature", id="only-ids"),
        pytest.param(
            X.assign(tenure=1, plan="a")[["tenure", "plan"]],
            y,
            "no usable feature",
            id="constant-columns",
        ),
        pytest.param(X.iloc[:, :0], y, "X has no columns", id="no-columns"),
        pytest.param(X.iloc[:0], y[:0], "X is empty", id="empty"),
        pytest.param(np.arange(40), y, "2-dimensional", id="1d-X"),
    ]


@pytest.mark.parametrize(("X", "y", "message"), _bad_inputs())
def test_bad_input_raises_before_any_run(
    make_trainer, mlflow_tracking_uri, experiment_name, X, y, message
):
    trainer = make_trainer(cv=None)
    with pytest.raises(DataValidationError, match=re.escape(message)):
        trainer.fit(X, y)
    assert search_runs(mlflow_tracking_uri, experiment_name) == []


def test_bad_validation_data(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, X_valid, y_train, y_valid = split_data
    trainer = make_trainer()
    with pytest.raises(DataValidationError, match="X_valid was given without y_valid"):
        trainer.fit(X_train, y_train, X_valid=X_valid)
    with pytest.raises(
        DataValidationError, match=r"lacks training column\(s\) \['age'\]"
    ):
        trainer.fit(
            X_train, y_train, X_valid=X_valid.drop(columns="age"), y_valid=y_valid
        )
    with pytest.raises(DataValidationError, match="X_valid has 75 rows but y_valid"):
        trainer.fit(X_train, y_train, X_valid=X_valid, y_valid=y_valid[:-1])
    assert search_runs(mlflow_tracking_uri, experiment_name) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alias": "candidate"}, "without registered_model_name"),
        ({"registered_model_name": "m", "log_model": False}, "log_model=False"),
        ({"threshold": 1.5}, "The 'threshold' parameter of ChurnTrainer must be"),
        ({"threshold": "not-a-scorer"}, "The 'threshold' parameter"),
        ({"threshold": {"tp": 1, "oops": 2}}, "The 'threshold' parameter"),
        ({"cv": 1}, "The 'cv' parameter of ChurnTrainer must be"),
        ({"estimator": LinearRegression()}, "must be a scikit-learn classifier"),
        ({"log_model": "yes"}, "The 'log_model' parameter"),
        ({"experiment_name": 3}, "The 'experiment_name' parameter"),
    ],
)
def test_invalid_parameters(make_trainer, split_data, kwargs, message):
    X_train, _, y_train, _ = split_data
    trainer = make_trainer(**kwargs)  # __init__ never validates
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        trainer.fit(X_train, y_train)


# --- faults ----------------------------------------------------------------------


class _ExplodingClassifier(ClassifierMixin, BaseEstimator):
    """Fails in fit, like a real model running out of memory would."""

    def fit(self, X, y):
        raise MemoryError("simulated failure while fitting")

    def predict_proba(self, X):  # pragma: no cover - never fitted
        raise AssertionError


def test_failed_fit_marks_the_run_failed(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, _, y_train, _ = split_data
    trainer = make_trainer(estimator=_ExplodingClassifier(), cv=None)
    with pytest.raises(MemoryError, match="simulated failure"):
        trainer.fit(X_train, y_train)
    (run,) = search_runs(mlflow_tracking_uri, experiment_name)
    assert run.info.status == "FAILED"
    assert run.data.params["estimator"] == "_ExplodingClassifier"


def test_unreachable_server_raises_tracking_error_quickly(make_trainer, split_data):
    import time

    X_train, _, y_train, _ = split_data
    uri = f"http://127.0.0.1:{free_port()}"
    trainer = make_trainer(tracking_uri=uri)
    start = time.monotonic()
    with pytest.raises(TrackingError, match=re.escape(uri)) as info:
        trainer.fit(X_train, y_train)
    assert time.monotonic() - start < 30  # bounded retries, not minutes
    assert info.value.tracking_uri == uri


def test_unwritable_sqlite_folder_raises_tracking_error(
    make_trainer, split_data, tmp_path
):
    X_train, _, y_train, _ = split_data
    (tmp_path / "a-file").write_text("not a folder")
    uri = f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}"
    with pytest.raises(TrackingError, match="Could not reach the tracking store"):
        make_trainer(tracking_uri=uri).fit(X_train, y_train)


def test_credentials_never_appear_in_errors(make_trainer, split_data):
    X_train, _, y_train, _ = split_data
    uri = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    trainer = make_trainer(tracking_uri=uri)
    assert "s3cret" not in repr(trainer)
    with pytest.raises(TrackingError) as info:
        trainer.fit(X_train, y_train)
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in str(info.value.tracking_uri)


def test_deleted_experiment(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, _, y_train, _ = split_data
    client = _client(mlflow_tracking_uri)
    client.delete_experiment(client.create_experiment(experiment_name))
    with pytest.raises(TrackingError, match="is deleted"):
        make_trainer().fit(X_train, y_train)


def test_single_class_validation_data_logs_nan_ranking_metrics(
    make_trainer, split_data, mlflow_tracking_uri
):
    X_train, X_valid, y_train, y_valid = split_data
    keep = ~y_valid.to_numpy()
    result = make_trainer(log_model=False).fit(
        X_train, y_train, X_valid=X_valid[keep], y_valid=y_valid[keep]
    )
    assert np.isnan(result.metrics["roc_auc"])
    run = _client(mlflow_tracking_uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert np.isnan(run.data.metrics["roc_auc"])
    assert run.data.metrics["accuracy"] == result.metrics["accuracy"]


def test_defaults_end_to_end(churn_data, mlflow_tracking_uri):
    """No estimator, no preprocessor: ChurnPreprocessor + the selected model."""
    import mlflow

    from churnlib.features import ChurnPreprocessor
    from churnlib.training import CalibratedChurnClassifier

    X, y = churn_data
    result = ChurnTrainer(
        tracking_uri=mlflow_tracking_uri,
        experiment_name="test-defaults",
        cv=None,
        random_state=0,
        time_budget=30,
    ).fit(X, y)
    preprocess, chosen = (step for _, step in result.model.steps)
    assert isinstance(preprocess, ChurnPreprocessor)
    assert isinstance(chosen, CalibratedChurnClassifier)
    assert result.params["estimator"] == "auto (selected by cross-validation)"
    assert result.selection.selected in result.selection.to_frame().index
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    try:
        info = mlflow.models.get_model_info(result.model_uri)
        loaded = mlflow.sklearn.load_model(result.model_uri)
        local = Path(mlflow.artifacts.download_artifacts(result.model_uri))
    finally:
        mlflow.set_tracking_uri(None)
    trusted = info.flavors["sklearn"]["skops_trusted_types"]
    assert "churnlib.features._preprocessor.ChurnPreprocessor" in trusted
    assert "churnlib.training._estimators.CalibratedChurnClassifier" in trusted
    requirements = (local / "requirements.txt").read_text().split()
    assert any(r.startswith("churnlib==") for r in requirements)
    np.testing.assert_allclose(loaded.predict_proba(X), result.model.predict_proba(X))


def test_missing_mlflow_says_what_to_install(make_trainer, split_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    X_train, _, y_train, _ = split_data
    with pytest.raises(ImportError, match=re.escape('pip install "churnlib[mlflow]"')):
        make_trainer().fit(X_train, y_train)


def test_one_process_reuses_one_store_per_tracking_uri(
    make_trainer, split_data, tmp_path, monkeypatch
):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    created = []
    init = SqlAlchemyStore.__init__

    def counting(self, *args, **kwargs):
        created.append(args[0] if args else kwargs.get("db_uri"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(SqlAlchemyStore, "__init__", counting)
    X_train, _, y_train, _ = split_data
    uri = f"sqlite:///{tmp_path / 'reuse.db'}"
    for _ in range(3):
        make_trainer(tracking_uri=uri, cv=None, log_model=False).fit(X_train, y_train)
    assert created == [uri]  # one SQLAlchemy store (one engine) for the three fits
