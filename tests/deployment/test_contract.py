"""The model contract in the store, MLflow interop of a version, idempotent publish."""

from __future__ import annotations

import json
import logging
import posixpath
from pathlib import Path

import numpy as np
import pytest

from churnlib._core.contract import (
    ModelContract,
    attach_contract,
    get_contract,
    infer_contract,
)
from churnlib.deployment import ModelStore
from churnlib.exceptions import IntegrityError, InvalidParameterError
from tests.deployment.conftest import make_pipeline_model
from tests.fixtures.cloud import backend_params

KEY = "a-signing-key-of-32-characters!!"


@pytest.fixture(scope="module")
def contracted(churn_data):
    """A fitted pipeline carrying its contract, with the raw frame and labels."""
    X, y = churn_data
    X = X.drop(columns="customer_id")
    model = make_pipeline_model(X, y)
    return attach_contract(model, infer_contract(X, y)), X, y


def _manifest(store, version):
    path = posixpath.join(store._root, "versions", version, "manifest.json")
    return json.loads(store.fs.cat_file(path))


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_contract_is_stored_signed_and_attached_on_load(cloud_store_url, contracted):
    url, options = cloud_store_url
    model, X, _ = contracted
    contract = get_contract(model)
    store = ModelStore(url, storage_options=options, signing_key=KEY)
    v = store.publish(model, alias="production")
    assert v.contract == contract
    manifest = _manifest(store, v.version)
    assert manifest["contract"] == contract.to_dict()
    assert "signature" in manifest
    loaded = store.load("production")
    assert get_contract(loaded) == contract
    assert store.get("production").contract == contract
    assert [x.contract for x in store.versions()] == [contract]
    np.testing.assert_allclose(
        loaded.predict_proba(X.head(30)), model.predict_proba(X.head(30))
    )
    # the contract is inside the signature: editing it is refused
    path = posixpath.join(store._root, "versions", v.version, "manifest.json")
    manifest["contract"]["threshold"] = 0.01
    store.fs.pipe_file(path, json.dumps(manifest).encode())
    with pytest.raises(IntegrityError, match="signature"):
        store.load(v.version)


def test_an_explicit_contract_is_attached_to_a_model_without_one(
    storage_url, model, churn_xy
):
    X, y = churn_xy
    contract = infer_contract(X, y, threshold=0.3)
    store = ModelStore(storage_url)
    assert get_contract(model) is None
    v = store.publish(model, contract=contract)
    assert get_contract(model) is None  # the caller's model is not modified
    assert v.contract.threshold == 0.3
    assert get_contract(store.load(v.version)) == contract
    with pytest.raises(InvalidParameterError, match="'contract' parameter"):
        store.publish(model, contract=contract.to_dict())


def test_versions_without_a_contract_still_load(storage_url, model):
    store = ModelStore(storage_url)
    v = store.publish(model)
    assert v.contract is None
    assert _manifest(store, v.version)["contract"] is None
    assert get_contract(store.load(v.version)) is None
    # a manifest from before contracts existed has no key at all
    manifest = _manifest(store, v.version)
    del manifest["contract"]
    path = posixpath.join(store._root, "versions", v.version, "manifest.json")
    store.fs.pipe_file(path, json.dumps(manifest).encode())
    assert store.get(v.version).contract is None
    assert store.load(v.version).predict is not None


def test_training_result_contract_is_used(storage_url, contracted):
    model, _, _ = contracted

    class Result:  # the shape of churnlib.training.TrainingResult
        def __init__(self):
            self.model = model
            self.run_id = "run-1"
            self.metrics = {"auc": 0.8}
            self.contract = get_contract(model).with_updates(threshold=0.42)

    v = ModelStore(storage_url).publish(Result())
    assert v.run_id == "run-1"
    assert v.contract.threshold == 0.42


# ------------------------------------------------------------- MLflow pyfunc
def test_mlflow_pyfunc_on_a_store_version_returns_churn_probabilities(
    tmp_path, contracted
):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    model, X, _ = contracted
    store = ModelStore(tmp_path / "store")
    v = store.publish(model, alias="production")
    folder = tmp_path / "store" / "versions" / v.version / "model"
    pyfunc = mlflow_pyfunc.load_model(str(folder))
    schema = pyfunc.metadata.get_input_schema()
    assert schema.input_names() == list(get_contract(model).feature_names)
    # raw values as a CSV reader gives them: categories as text, extra columns
    raw = X.head(40).astype(dict.fromkeys(X.select_dtypes("category"), str))
    got = np.asarray(pyfunc.predict(raw))
    assert got.shape == (40,)
    assert got.dtype == np.float64
    assert ((got >= 0) & (got <= 1)).all()
    np.testing.assert_allclose(got, model.predict_proba(X.head(40))[:, 1], rtol=1e-12)
    # the fitted pipeline is there too, with its contract
    raw_model = pyfunc.get_raw_model()
    assert type(raw_model) is type(model)
    assert get_contract(raw_model) == get_contract(model)
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    sk = mlflow_sklearn.load_model(str(folder))
    np.testing.assert_allclose(
        sk.predict_proba(X.head(5)), model.predict_proba(X.head(5))
    )


def test_mlflow_pyfunc_refuses_a_tampered_model_next_to_its_manifest(tmp_path, model):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    store = ModelStore(tmp_path / "store")
    v = store.publish(model)
    folder = Path(store._root) / "versions" / v.version / "model"
    blob = bytearray((folder / "model.skops").read_bytes())
    blob[len(blob) // 3] ^= 0x01
    (folder / "model.skops").write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match="does not match its manifest"):
        mlflow_pyfunc.load_model(str(folder))


def test_mlflow_pyfunc_checks_the_signature_when_a_key_is_set(
    tmp_path, model, monkeypatch
):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    store = ModelStore(tmp_path / "store")  # unsigned
    v = store.publish(model)
    monkeypatch.setenv("CHURNLIB_SIGNING_KEY", KEY)
    folder = Path(store._root) / "versions" / v.version / "model"
    with pytest.raises(IntegrityError, match="not signed"):
        mlflow_pyfunc.load_model(str(folder))


# ------------------------------------------------------------ idempotence
@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_publishing_the_same_run_twice_is_idempotent(cloud_store_url, model, caplog):
    url, options = cloud_store_url
    store = ModelStore(url, storage_options=options)
    caplog.set_level(logging.INFO, logger="churnlib")
    first = store.publish(model, run_id="run-a", metrics={"auc": 0.7})
    again = store.publish(model, run_id="run-a", metrics={"auc": 0.7}, alias="prod")
    assert again.version == first.version
    assert again.aliases == ("prod",)
    assert [v.version for v in store.versions()] == [first.version]
    assert "already version" in caplog.text
    # another run, or no run id, is a new publication
    other = store.publish(model, run_id="run-b")
    anonymous = store.publish(model)
    assert len({first.version, other.version, anonymous.version}) == 3
    # the same run with a different model (refitted) is new too
    refit = make_pipeline_model(*_xy(model), random_state=1)
    assert store.publish(refit, run_id="run-a").version != first.version


def _xy(model):
    from churnlib.data import generate_customers

    df = generate_customers(120, random_state=3)
    return df.drop(columns=["churned", "customer_id"]), df["churned"]


def test_contract_round_trips_through_json(contracted):
    contract = get_contract(contracted[0])
    assert (
        ModelContract.from_dict(json.loads(json.dumps(contract.to_dict()))) == contract
    )
