"""Churn-class metrics, tracking helpers and the light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

import churnlib.training
from churnlib.evaluation import lift_score
from churnlib.training import churn_metrics
from churnlib.training._metrics import METRIC_NAMES
from churnlib.training._tracking import (
    data_fingerprint,
    flatten_params,
    resolve_tracking_uri,
    skops_bytes,
)


def test_all_is_sorted_and_importable():
    assert churnlib.training.__all__ == sorted(churnlib.training.__all__)
    for name in churnlib.training.__all__:
        assert getattr(churnlib.training, name) is not None


def test_importing_training_does_not_import_mlflow():
    code = (
        "import sys, churnlib.training; "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- metrics ----------------------------------------------------------------------


def test_metrics_are_for_the_churn_class():
    y = np.array([0] * 8 + [1] * 2)
    proba = np.array([0.1] * 7 + [0.6, 0.7, 0.2])
    m = churn_metrics(y, proba)
    pred = proba >= 0.5
    assert m["precision"] == precision_score(y, pred) == 0.5
    assert m["recall"] == recall_score(y, pred) == 0.5
    assert m["f1"] == f1_score(y, pred)
    assert m["roc_auc"] == roc_auc_score(y, proba)
    assert m["accuracy"] == 0.8
    assert set(m) == set(METRIC_NAMES)


def test_metrics_with_given_predictions_and_threshold():
    y = np.array([0, 1, 1, 0])
    proba = np.array([0.2, 0.4, 0.9, 0.6])
    m = churn_metrics(y, proba, threshold=0.3, y_pred=np.array([0, 1, 1, 0]))
    assert m["accuracy"] == 1.0
    assert m["threshold"] == 0.3


def test_single_class_validation_gives_nan_ranking_metrics():
    m = churn_metrics(np.zeros(5), np.linspace(0, 1, 5))
    assert np.isnan(m["roc_auc"])
    assert np.isnan(m["average_precision"])
    assert np.isnan(m["top_decile_lift"])
    assert m["precision"] == 0.0


def test_top_decile_lift_is_the_evaluation_lift():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200), 1)  # many ties
    m = churn_metrics(y, s)
    assert m["top_decile_lift"] == pytest.approx(lift_score(y, s, fraction=0.1))


# --- tracking helpers ------------------------------------------------------------


def test_resolve_tracking_uri(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None) == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert resolve_tracking_uri(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_tracking_uri("runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert resolve_tracking_uri(None) == "http://127.0.0.1:1"
    assert resolve_tracking_uri("sqlite:///y.db") == "sqlite:///y.db"


def test_flatten_params_keeps_simple_types():
    flat = flatten_params(
        {
            "n": np.int64(3),
            "f": 0.5,
            "s": "x",
            "none": None,
            "est": RandomForestClassifier(),
        }
    )
    assert flat == {
        "n": 3,
        "f": 0.5,
        "s": "x",
        "none": None,
        "est": "RandomForestClassifier",
    }
    assert type(flat["n"]) is int


def test_data_fingerprint_sees_values_names_and_order():
    X = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    y = np.array([0, 1, 0])
    base = data_fingerprint(X, y)
    assert data_fingerprint(X.copy(), y.copy()) == base
    assert data_fingerprint(X.rename(columns={"a": "c"}), y) != base
    assert data_fingerprint(X.iloc[::-1].reset_index(drop=True), y[::-1]) != base
    assert data_fingerprint(X.assign(a=[1, 2, 4]), y) != base


def test_skops_bytes_are_skops_dumps_without_the_indent(churn_data):
    import io
    import json
    import zipfile

    skops = pytest.importorskip("skops.io")
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import make_pipeline

    from tests.training.conftest import simple_preprocessor

    X, y = churn_data
    model = make_pipeline(
        simple_preprocessor(),
        FixedThresholdClassifier(RandomForestClassifier(n_estimators=5), threshold=0.3),
    ).fit(X, y)
    ours, theirs = skops_bytes(model), skops.dumps(model)

    def schema(blob):
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return archive.read("schema.json"), sorted(archive.namelist())

    def unnamed(state):  # object ids (and array file names) differ per save
        if isinstance(state, dict):
            return {
                k: unnamed(v) for k, v in state.items() if k not in ("file", "__id__")
            }
        if isinstance(state, list):
            return [unnamed(v) for v in state]
        return state

    (our_schema, our_files), (their_schema, their_files) = schema(ours), schema(theirs)
    assert unnamed(json.loads(our_schema)) == unnamed(json.loads(their_schema))
    assert len(our_files) == len(their_files) > 1  # the same arrays
    assert len(our_schema) < len(their_schema)  # only the indent is gone
    trusted = skops.get_untrusted_types(data=ours)
    assert trusted == skops.get_untrusted_types(data=theirs)
    assert "sklearn.tree._tree.Tree" in trusted
    again = skops.loads(ours, trusted=trusted)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_git_commit_of_the_working_folder(tmp_path):
    import shutil

    from churnlib.training._tracking import git_commit

    assert git_commit() is None  # tmp_path is not a checkout
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True, cwd=tmp_path)
    subprocess.run(
        [*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True, cwd=tmp_path
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=tmp_path
    ).stdout.strip()
    assert git_commit() == head
