"""What one fit writes to a real SQLite store, and in how few store calls."""

from __future__ import annotations

import collections
import os
import re
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from churnlib.exceptions import TrackingError
from churnlib.training import ChurnTrainer
from churnlib.training._metrics import METRIC_NAMES
from churnlib.training._tracking import dataset_schema

from .conftest import search_runs


@pytest.fixture
def store_calls(monkeypatch):
    """Count the calls of every public method of MLflow's SQLAlchemy tracking store."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    calls: collections.Counter[str] = collections.Counter()
    for name in (
        "create_run",
        "log_batch",
        "log_inputs",
        "update_run_info",
        "get_run",
        "get_metric_history",
        "set_tag",
    ):
        method = getattr(SqlAlchemyStore, name)

        def counting(self, *args, _name=name, _method=method, **kwargs):
            calls[_name] += 1
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(SqlAlchemyStore, name, counting)
    return calls


@pytest.fixture(scope="module")
def valid_split(churn_data):
    X, y = churn_data
    return X.iloc[:220], y.iloc[:220], X.iloc[220:], y.iloc[220:]


def test_a_default_fit_writes_everything_in_few_store_calls(
    valid_split, mlflow_tracking_uri, experiment_name, store_calls
):
    X, y, X_valid, y_valid = valid_split
    result = ChurnTrainer(
        tracking_uri=mlflow_tracking_uri,
        experiment_name=experiment_name,
        random_state=0,
        log_model=False,
        log_report=False,
    ).fit(X, y, X_valid=X_valid, y_valid=y_valid)
    calls = dict(store_calls)
    runs = search_runs(mlflow_tracking_uri, experiment_name)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    (parent,) = [r for r in runs if r.info.run_id == result.run_id]
    n_children = len(children)
    assert n_children >= 3  # the model families tried (and the blend if it won)
    # the parent: created, params in one batch, both datasets in one call, the
    # metrics and tags in one batch, finished; each child: created with its
    # tags, params and metrics in one batch, finished
    assert calls["create_run"] == 1 + n_children
    assert calls["log_inputs"] == 1
    assert calls["log_batch"] == 2 + n_children
    assert calls["update_run_info"] == 1 + n_children
    assert calls.get("get_metric_history", 0) == 0
    assert calls.get("set_tag", 0) == 0
    # ... and everything promised is there
    assert parent.info.status == "FINISHED"
    assert {k: str(v) for k, v in result.params.items()} == parent.data.params
    for name in METRIC_NAMES:
        assert parent.data.metrics[name] == pytest.approx(result.metrics[name])
    assert parent.data.tags["churnlib.selected"] == result.selection.selected
    assert parent.data.tags["churnlib.calibration"] == result.selection.calibration
    assert "churnlib.report" not in parent.data.tags  # log_report=False
    contexts = sorted(
        t.value
        for d in parent.inputs.dataset_inputs
        for t in d.tags
        if t.key == "mlflow.data.context"
    )
    assert contexts == ["training", "validation"]
    for child in children:
        assert child.info.status == "FINISHED"
        status = child.data.tags["churnlib.selection"]
        assert child.data.tags["churnlib.selected"] == str(status == "selected")
        assert (
            child.data.tags["churnlib.data_fingerprint"]
            == (parent.data.tags["churnlib.data_fingerprint"])
        )
        assert child.data.params["candidate"] == child.info.run_name
        assert {"cv_roc_auc", "cv_roc_auc_std", "seconds"} <= set(child.data.metrics)


def test_the_logged_model_carries_the_run_metrics(
    make_trainer, split_data, mlflow_tracking_uri, store_calls
):
    from mlflow.tracking import MlflowClient

    X_train, X_valid, y_train, y_valid = split_data
    result = make_trainer(registered_model_name="carries-metrics").fit(
        X_train, y_train, X_valid=X_valid, y_valid=y_valid
    )
    # logged after the model, the metrics are linked to it without MLflow
    # reading every metric's history back
    assert store_calls.get("get_metric_history", 0) == 0
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    logged = client.get_logged_model(result.model_uri.removeprefix("models:/"))
    on_model = {m.key: m.value for m in logged.metrics}
    assert set(METRIC_NAMES) <= set(on_model)
    for name in METRIC_NAMES:
        assert on_model[name] == pytest.approx(result.metrics[name])
    # one value per metric on the run (not the run's and the model's copy)
    history = client.get_metric_history(result.run_id, "roc_auc")
    assert [m.value for m in history] == [pytest.approx(result.metrics["roc_auc"])]
    run = client.get_run(result.run_id)
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])


class _UnsavableClassifier(ClassifierMixin, BaseEstimator):
    """Fits and predicts, but keeps a generator, which skops cannot serialise."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        self.pending_ = (i for i in range(3))
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def test_metrics_are_kept_when_the_model_cannot_be_logged(
    make_trainer, split_data, mlflow_tracking_uri, experiment_name
):
    X_train, X_valid, y_train, y_valid = split_data
    trainer = make_trainer(estimator=_UnsavableClassifier())
    with pytest.raises(TrackingError, match=re.escape("Could not log the model")):
        trainer.fit(X_train, y_train, X_valid=X_valid, y_valid=y_valid)
    (run,) = search_runs(mlflow_tracking_uri, experiment_name)
    assert run.info.status == "FAILED"
    assert set(METRIC_NAMES) <= set(run.data.metrics)
    assert run.data.metrics["n_valid"] == len(X_valid)


def test_dataset_schema_is_mlflows_inference_over_every_row():
    from mlflow.types.utils import _infer_schema

    rng = np.random.default_rng(0)
    n = 3_000
    charges = rng.normal(50, 10, n)
    charges[::7] = np.nan
    plan = rng.choice(np.array(["month", "year", "two years"], dtype=object), n)
    plan[2_500] = None  # missing only after the first 2 000 rows
    notes = np.array([f"note {i}" for i in range(n)], dtype=object)
    notes[5] = None
    frame = pd.DataFrame(
        {
            "charges": charges,
            "calls": rng.integers(0, 9, n),
            "senior": rng.random(n) < 0.2,
            "plan": pd.Categorical(plan),
            "level": pd.Categorical(np.arange(n) % 3),
            "unused": pd.Categorical(["a"] * n, categories=["a", "b"]),
            "notes": notes,
            "empty": pd.Series([None] * n, dtype=object),
            "text": pd.Series([f"id{i}" for i in range(n)], dtype="string"),
            "since": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "D"),
        }
    )
    with pytest.warns(UserWarning, match="integer column"):
        expected = _infer_schema(frame)
    got = dataset_schema(frame)
    assert got == expected
    by_name = {c.name: c for c in got.inputs}
    assert not by_name["plan"].required  # its one missing value is past row 2 000
    assert by_name["calls"].required
    assert by_name["level"].type.name == "long"


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's"
)
def test_the_report_card_runs_below_the_process_priority():
    from churnlib.training._trainer import REPORT_NICENESS, _report_executor

    def priority():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    here = priority()
    there = _report_executor().submit(priority).result(timeout=60)
    assert there == min(19, here + REPORT_NICENESS)
    assert priority() == here  # the caller's own priority is untouched
