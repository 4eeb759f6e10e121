"""Signatures, trusted types, secrets hygiene and storage errors."""

from __future__ import annotations

import json
import logging
import pickle
import posixpath
import sys
import time
import traceback

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from churnlib.deployment import ModelStore, load_model
from churnlib.exceptions import DeploymentError, IntegrityError
from tests.fixtures.cloud import AZURITE_KEY, _free_port, fresh_bucket_name

KEY = "a-signing-key-of-32-characters!!"


def scale_by_two(X):
    """A user function: skops does not trust it by default."""
    return X * 2


def _manifest_path(store, version):
    return posixpath.join(store._root, "versions", version, "manifest.json")


def test_signed_versions_round_trip_and_refusals(cloud_store_url, model, monkeypatch):
    url, options = cloud_store_url
    signed = ModelStore(url, storage_options=options, signing_key=KEY)
    plain = ModelStore(url, storage_options=options)
    other = ModelStore(url, storage_options=options, signing_key=KEY[::-1])
    assert signed.signed
    assert not plain.signed

    v_signed = signed.publish(model, metrics={"auc": 0.8})
    manifest = json.loads(signed.fs.cat_file(_manifest_path(signed, v_signed.version)))
    assert manifest["signature"]["algorithm"] == "hmac-sha256"
    assert signed.load(v_signed.version).predict  # verified
    assert plain.load(v_signed.version).predict  # no key: hashes only
    with pytest.raises(IntegrityError, match=r"signature .* does not match"):
        other.load(v_signed.version)

    v_plain = plain.publish(model)
    with pytest.raises(IntegrityError, match="is not signed"):
        signed.load(v_plain.version)

    # the environment variable is the default key
    monkeypatch.setenv("CHURNLIB_SIGNING_KEY", KEY)
    from_env = ModelStore(url, storage_options=options)
    assert from_env.signed
    assert from_env.load(v_signed.version).predict
    with pytest.raises(IntegrityError, match="is not signed"):
        from_env.load(v_plain.version)


def test_signature_covers_the_manifest(storage_url, model):
    store = ModelStore(storage_url, signing_key=KEY)
    v = store.publish(model, metrics={"auc": 0.7})
    path = _manifest_path(store, v.version)
    manifest = json.loads(store.fs.cat_file(path))
    manifest["metrics"]["auc"] = 0.99  # hashes of the files still match
    store.fs.pipe_file(path, json.dumps(manifest).encode())
    with pytest.raises(IntegrityError, match="does not match"):
        store.load(v.version)


def test_untrusted_types_are_never_loaded(storage_url, churn_xy):
    X, y = churn_xy
    num = X.select_dtypes("number")
    custom = make_pipeline(
        FunctionTransformer(scale_by_two), LogisticRegression(max_iter=300)
    ).fit(num, y)
    name = next(
        t for t in sio.get_untrusted_types(data=sio.dumps(custom)) if "scale" in t
    )
    store = ModelStore(storage_url)
    with pytest.raises(DeploymentError, match="does not trust") as info:
        store.publish(custom)
    assert name in str(info.value)
    assert store.versions() == []

    trusting = ModelStore(storage_url, trusted_types=[name])
    v = trusting.publish(custom)
    np.testing.assert_allclose(
        trusting.load(v.version).predict_proba(num), custom.predict_proba(num)
    )
    # the trust list comes from the caller's code, never from the artifact
    manifest = json.loads(store.fs.cat_file(_manifest_path(store, v.version)))
    assert name in manifest["trusted_types"]
    with pytest.raises(IntegrityError, match="does not trust"):
        store.load(v.version)


def test_swapped_model_with_rewritten_hashes_is_not_executed(storage_url, model):
    """An attacker with write access but no signing key swaps the model file."""
    store = ModelStore(storage_url)
    v = store.publish(model)
    evil = sio.dumps(make_pipeline(FunctionTransformer(scale_by_two)))
    vdir = posixpath.join(store._root, "versions", v.version)
    store.fs.pipe_file(posixpath.join(vdir, "model/model.skops"), evil)
    mpath = _manifest_path(store, v.version)
    manifest = json.loads(store.fs.cat_file(mpath))
    import hashlib

    manifest["files"]["model/model.skops"] = {
        "sha256": hashlib.sha256(evil).hexdigest(),
        "size": len(evil),
    }
    manifest["trusted_types"].append("tests.anything")
    store.fs.pipe_file(mpath, json.dumps(manifest).encode())
    with pytest.raises(IntegrityError, match="does not trust"):
        store.load(v.version)
    # with a signing key the rewrite is caught even earlier
    signed = ModelStore(storage_url, signing_key=KEY)
    with pytest.raises(IntegrityError, match="not signed"):
        signed.load(v.version)


def test_load_never_unpickles_and_needs_no_mlflow(storage_url, model, monkeypatch):
    store = ModelStore(storage_url)
    v = store.publish(model)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must not be used")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    assert store.load(v.version).predict
    v2 = store.publish(model)  # publishing does not need MLflow either
    assert store.load(v2.version).predict
    mlmodel = store.fs.cat_file(
        posixpath.join(store._root, "versions", v2.version, "model/MLmodel")
    )
    assert b"serialization_format: skops" in mlmodel


SECRET = "planted-secret-Zq8Vv1xY"
SIGNING = "planted-signing-key-Kp3Ww9aB"


def _all_text(exc):
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.mark.cloud
def test_secrets_never_leak(s3_server, model, caplog):
    caplog.set_level(logging.DEBUG, logger="churnlib")
    options = {
        "key": "AKIDPLANTEDACCESS",
        "secret": SECRET,
        "client_kwargs": {"endpoint_url": s3_server},
    }
    url = f"s3://{fresh_bucket_name()}/models"
    store = ModelStore(url, storage_options=options, signing_key=SIGNING)
    v = store.publish(
        model, metrics={"auc": 0.5}, metadata={"note": "hello"}, alias="production"
    )
    store.promote(v.version, "staging")
    store.load("production")
    texts = [repr(store), str(store.url), repr(v), repr(store.versions())]
    for path in store.fs.find(f"{url[5:]}"):
        blob = store.fs.cat_file(path)
        if not path.endswith(".skops"):
            texts.append(blob.decode())
    with pytest.raises(DeploymentError) as missing:
        store.load("nope")
    texts.append(_all_text(missing.value))
    with pytest.raises(ValueError, match="credential") as leak:
        store.publish(model, metadata={"oops": SECRET})
    texts.append(_all_text(leak.value))

    dead = dict(
        options, client_kwargs={"endpoint_url": f"http://127.0.0.1:{_free_port()}"}
    )
    with pytest.raises(DeploymentError) as unreachable:
        ModelStore(url, storage_options=dead, signing_key=SIGNING).versions()
    texts.append(_all_text(unreachable.value))
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text
        assert SIGNING not in text
    assert "published" in caplog.text


def test_secret_in_url_userinfo_is_hidden(tmp_path):
    store = ModelStore(
        "memory://user:planted-password@somewhere/models?sig=planted-sas-token"
    )
    assert "planted" not in repr(store)
    assert "planted" not in store.url


@pytest.mark.cloud
@pytest.mark.parametrize("backend", ["s3", "az"])
def test_unreachable_storage_fails_fast_naming_the_url(backend, model):
    port = _free_port()  # nothing listens there
    if backend == "s3":
        options = {
            "key": "k",
            "secret": SECRET,
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
        }
    else:
        pytest.importorskip("adlfs")
        options = {
            "connection_string": (
                "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey={AZURITE_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
            )
        }
    store = ModelStore(f"{backend}://bucket-x/models", storage_options=options)
    # one call each (every call pays the retry pauses): listing on Azure,
    # publishing (bucket check, then writes) on S3
    actions = [store.versions] if backend == "az" else [lambda: store.publish(model)]
    for action in actions:
        t0 = time.perf_counter()
        with pytest.raises(DeploymentError) as info:
            action()
        assert time.perf_counter() - t0 < 30
        message = str(info.value)
        assert "bucket-x" in message
        assert "reachable" in message
        assert SECRET not in _all_text(info.value)
        assert AZURITE_KEY not in _all_text(info.value)


@pytest.mark.cloud
def test_denied_access_is_a_deployment_error(azurite_server, model):
    wrong = azurite_server.replace(
        AZURITE_KEY, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="
    )
    store = ModelStore(
        f"az://{fresh_bucket_name()}/models",
        storage_options={"connection_string": wrong},
    )
    with pytest.raises(DeploymentError, match="credentials") as info:
        store.publish(model)
    assert "az://" in str(info.value) or "abfs://" in str(info.value)
    with pytest.raises(DeploymentError):
        store.versions()
    assert "d3Jvbmcta2V5" not in _all_text(info.value)


@pytest.mark.parametrize(
    ("url", "extra"),
    [("s3://b/models", "s3"), ("gs://b/models", "gcs"), ("az://c/models", "azure")],
)
def test_missing_backend_names_the_extra(url, extra, monkeypatch):
    from fsspec.registry import _registry, known_implementations

    protocol = url.split(":")[0]
    module = known_implementations[protocol]["class"].split(".")[0]
    monkeypatch.delitem(_registry, protocol, raising=False)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf'pip install "churnlib\[{extra}\]"'):
        ModelStore(url)


def test_load_model_and_from_reference(storage_url, model, churn_xy):
    X, _ = churn_xy
    store = ModelStore(storage_url)
    v1 = store.publish(model, alias="production")
    store.publish(model)
    again, ref = ModelStore.from_reference(f"{storage_url}@production")
    assert ref == "production"
    assert again.get(ref).version == v1.version
    np.testing.assert_allclose(
        load_model(f"{storage_url}@production").predict_proba(X),
        model.predict_proba(X),
    )
    assert load_model(f"{storage_url}@{v1.version}") is not None
    assert load_model(storage_url) is not None  # latest


def test_spline_models_publish_and_load(tmp_path):
    # The default model's spline-logistic candidate holds scipy B-splines.
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    from churnlib.deployment import ModelStore

    X = np.random.default_rng(0).normal(size=(200, 3))
    model = make_pipeline(SplineTransformer(), LogisticRegression()).fit(X, X[:, 0] > 0)
    store = ModelStore(tmp_path.as_uri())
    version = store.publish(model)
    loaded = store.load(version.version)
    np.testing.assert_allclose(loaded.predict_proba(X * 3), model.predict_proba(X * 3))
