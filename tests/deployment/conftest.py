"""Fixtures for the deployment tests: a small fitted churn pipeline and stores."""

from __future__ import annotations

import pytest


def make_pipeline_model(X, y, *, n_estimators=5, random_state=0):
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include="category"),
        ),
        ("passthrough", make_column_selector(dtype_include=["number", "bool"])),
    )
    forest = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=4, random_state=random_state
    )
    return make_pipeline(pre, forest).fit(X, y)


@pytest.fixture(scope="session")
def churn_xy(churn_data):
    X, y = churn_data
    return X.drop(columns="customer_id"), y


@pytest.fixture(scope="session")
def model(churn_xy):
    """A fitted ColumnTransformer + RandomForest pipeline (skops needs Tree)."""
    X, y = churn_xy
    return make_pipeline_model(X, y)


@pytest.fixture
def store(cloud_store_url):
    """A fresh ModelStore on each of memory, file, s3, az and gs."""
    from churnlib.deployment import ModelStore

    url, options = cloud_store_url
    return ModelStore(url, storage_options=options)
