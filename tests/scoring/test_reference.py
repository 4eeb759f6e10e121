"""score_table with a model-store reference instead of a fitted model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnlib.deployment import ModelStore
from churnlib.exceptions import ModelNotFoundError
from churnlib.scoring import read_scores, score_table
from tests.scoring.conftest import scores_only


@pytest.fixture(scope="module")
def store_url(churn_model, tmp_path_factory):
    url = (tmp_path_factory.mktemp("models") / "churn").as_uri()
    store = ModelStore(url)
    store.publish(churn_model, alias="production", metadata={"threshold": 0.35})
    return url


def test_reference_resolves_alias_to_a_version(
    store_url, customers_dir, expected_scores, tmp_path
):
    store = ModelStore(store_url)
    version = store.get("production").version
    result = score_table(f"{store_url}@production", customers_dir, tmp_path / "o")
    assert result.model_version == version
    # the threshold published with the version is the model's own
    assert (result.threshold, result.threshold_source) == (0.35, "model")
    scores = read_scores(tmp_path / "o")
    assert (scores["model_version"] == version).all()
    np.testing.assert_array_equal(scores["churn_probability"], expected_scores)
    np.testing.assert_array_equal(
        scores["churn_predicted"], expected_scores.to_numpy() >= 0.35
    )
    manifest = json.loads((tmp_path / "o" / "_SUCCESS").read_text())
    assert manifest["model_version"] == version


def test_reference_on_dask_matches_local(
    store_url, customers_dir, dask_client, tmp_path
):
    local = score_table(
        f"{store_url}@production", customers_dir, tmp_path / "l", batch_rows=100
    )
    dask = score_table(
        f"{store_url}@production",
        customers_dir,
        tmp_path / "d",
        engine="dask",
        client=dask_client,
        batch_rows=100,
    )
    assert dask.model_version == local.model_version
    pd.testing.assert_frame_equal(
        scores_only(read_scores(tmp_path / "d")),
        scores_only(read_scores(tmp_path / "l")),
    )


def test_unknown_alias_fails_before_anything_is_written(
    store_url, customers_dir, tmp_path
):
    with pytest.raises(ModelNotFoundError):
        score_table(f"{store_url}@staging", customers_dir, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_trusted_types_reach_the_store(tmp_path):
    from churnlib.exceptions import DeploymentError
    from tests.scoring._models import RecordingClassifier

    trusted = ["tests.scoring._models.RecordingClassifier"]

    frame = pd.DataFrame({"id": [1, 2, 3], "x": [0.1, 0.6, 0.9]})
    frame.to_parquet(tmp_path / "in.parquet")
    url = (tmp_path / "store").as_uri()
    store = ModelStore(url, trusted_types=trusted)
    store.publish(RecordingClassifier().fit(frame[["x"]], None))
    with pytest.raises(DeploymentError, match="RecordingClassifier"):
        score_table(url, tmp_path / "in.parquet", tmp_path / "o")
    result = score_table(
        url,
        tmp_path / "in.parquet",
        tmp_path / "o",
        trusted_types=trusted,
    )
    assert result.rows == 3
    np.testing.assert_allclose(
        read_scores(tmp_path / "o")["churn_probability"], frame["x"]
    )


@pytest.fixture(scope="module")
def telco_slice(tmp_path_factory):
    """The first 1,500 raw Telco rows and a model carrying their contract."""
    from churnlib import infer_contract
    from churnlib._core.contract import attach_contract
    from churnlib.data import read_churn_table
    from tests.scoring.test_contract import TELCO, _pipeline

    raw = pd.read_csv(TELCO).iloc[:1500]
    path = tmp_path_factory.mktemp("telco") / "telco.csv"
    raw.to_csv(path, index=False)
    X, y, schema = read_churn_table(path, target="Churn")
    model = _pipeline("category").fit(X, y)
    contract = infer_contract(X, y, id_columns=schema.id_columns, threshold=0.3)
    attach_contract(model, contract)
    expected = model.predict_proba(X)[:, list(model.classes_).index(True)]
    return path, raw, model, expected


def _publish(url, model, storage_options=None):
    store = ModelStore(url, storage_options=storage_options, trusted_types=[TREE])
    return store.publish(model, alias="production").version


TREE = "sklearn.tree._tree.Tree"


@pytest.mark.parametrize(
    "backend", ["file", pytest.param("s3", marks=pytest.mark.cloud)]
)
def test_published_contract_scores_raw_input_from_the_store(
    telco_slice, backend, tmp_path, request
):
    path, raw, model, expected = telco_slice
    options = None
    if backend == "file":
        url = (tmp_path / "store").as_uri()
        out = str(tmp_path / "o")
    else:
        from tests.fixtures.cloud import fresh_bucket_name, make_bucket

        options = request.getfixturevalue("s3_storage_options")
        bucket = fresh_bucket_name()
        make_bucket("s3", options, bucket)
        url, out = f"s3://{bucket}/models", f"s3://{bucket}/scores"
    version = _publish(url, model, options)
    # only the reference, the raw input and the output
    result = score_table(
        f"{url}@production",
        path,
        out,
        storage_options=options,
        trusted_types=[TREE],
    )
    assert result.model_version == version
    assert result.contract == "model"
    assert result.id_columns == ("customerID",)
    # the contract's threshold travels with the version
    assert (result.threshold, result.threshold_source) == (0.3, "model")
    scores = read_scores(out, storage_options=options)
    assert scores["customerID"].tolist() == raw["customerID"].tolist()
    np.testing.assert_allclose(scores["churn_probability"], expected)
    np.testing.assert_array_equal(scores["churn_predicted"], expected >= 0.3)


def test_contract_travels_to_dask_workers(telco_slice, dask_client, tmp_path):
    path, _, model, expected = telco_slice
    result = score_table(
        model, path, tmp_path / "d", engine="dask", client=dask_client, batch_rows=500
    )
    assert result.id_columns == ("customerID",)
    scores = read_scores(tmp_path / "d")
    np.testing.assert_allclose(scores["churn_probability"], expected)
