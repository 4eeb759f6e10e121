"""Fixtures for scoring tests: a fitted pipeline, input datasets, a Dask cluster."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from churnlib.data import generate_customers


@pytest.fixture(scope="session")
def customers():
    """600 generated customers (features, id and label)."""
    return generate_customers(600, random_state=1)


@pytest.fixture(scope="session")
def churn_model(customers):
    """A small fitted RandomForest pipeline with feature names."""
    X = customers.drop(columns=["customer_id", "churned"])
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder="passthrough",
    )
    forest = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0)
    return make_pipeline(encode, forest).fit(X, customers["churned"])


def write_parts(frame, folder, n_files=3, row_group_size=70):
    """Write ``frame`` as ``n_files`` Parquet files with small row groups."""
    os.makedirs(folder, exist_ok=True)
    bounds = [len(frame) * i // n_files for i in range(n_files + 1)]
    for i in range(n_files):
        part = frame.iloc[bounds[i] : bounds[i + 1]]
        part.to_parquet(
            os.path.join(folder, f"part-{i}.parquet"), row_group_size=row_group_size
        )
    return str(folder)


@pytest.fixture(scope="session")
def customers_dir(customers, tmp_path_factory):
    """The customers (without label) as 3 Parquet files, 70-row row groups."""
    folder = tmp_path_factory.mktemp("customers") / "table"
    return write_parts(customers.drop(columns="churned"), folder)


@pytest.fixture(scope="session")
def dask_client():
    """A real LocalCluster: 2 worker processes on 127.0.0.1 (one per session)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        memory_limit="1GiB",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def read_all(url, **kwargs):
    """Read a completed output, in partition order."""
    from churnlib.scoring import read_scores

    return read_scores(url, **kwargs)


def scores_only(frame):
    """Drop the run-specific timestamp, for comparing two runs."""
    return frame.drop(columns="scored_at").reset_index(drop=True)


@pytest.fixture
def expected_scores(customers, churn_model):
    """The in-memory ``predict_proba`` of the whole customers table."""
    X = customers.drop(columns=["customer_id", "churned"])
    return pd.Series(churn_model.predict_proba(X)[:, 1], name="churn_probability")


def visible(folder):
    """Entries of an output folder a reader would see (no _ or . names)."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if not n.startswith(("_", ".")))


def assert_nothing_published(out):
    """A failed run: no marker, no visible part, no temporary attempt left."""
    assert not (out / "_SUCCESS").exists()
    assert visible(out) == []
    assert not list(out.glob("_temporary/*"))
