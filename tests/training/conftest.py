"""Fixtures for the training tests: small seeded data, fast models, one store."""

from __future__ import annotations

import itertools

import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

_names = itertools.count()


def simple_preprocessor():
    """Plain scikit-learn preprocessing (scaled numbers, one-hot categories)."""
    return make_column_transformer(
        (StandardScaler(), make_column_selector(dtype_include="number")),
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include=["category", "bool"]),
        ),
    )


def small_forest():
    return RandomForestClassifier(n_estimators=15, min_samples_leaf=5, random_state=0)


@pytest.fixture(scope="session")
def split_data(churn_data):
    """``(X_train, X_valid, y_train, y_valid)``: 225 / 75 generated customers."""
    X, y = churn_data
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture
def experiment_name(request):
    """A fresh experiment name per test, so run counts are exact."""
    return f"test-{request.node.name[:40]}-{next(_names)}"


@pytest.fixture
def make_trainer(mlflow_tracking_uri, experiment_name):
    """Build a fast ChurnTrainer on the session SQLite store."""
    from churnlib.training import ChurnTrainer

    def make(**kwargs):
        kwargs.setdefault("preprocessor", simple_preprocessor())
        kwargs.setdefault("tracking_uri", mlflow_tracking_uri)
        kwargs.setdefault("experiment_name", experiment_name)
        kwargs.setdefault("cv", 3)
        kwargs.setdefault("random_state", 0)
        kwargs.setdefault("log_report", False)  # tested on its own: figures are slow
        estimator = kwargs.pop("estimator", small_forest())
        return ChurnTrainer(estimator, **kwargs)

    return make


def search_runs(uri, experiment_name):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], order_by=["start_time ASC"])
