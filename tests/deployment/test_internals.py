"""Store mechanics: type audit, option defaults, alias leases, prune of leftovers."""

from __future__ import annotations

import json
import posixpath
import time

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import churnlib.deployment._aliases as aliases_module
from churnlib._core.timeouts import bounded_storage_options
from churnlib.deployment import TRUSTED_TYPES, ModelStore
from churnlib.deployment._security import (
    load_trusted,
    redact,
    secret_values,
    trusted_types_for,
    untrusted_types,
)
from churnlib.deployment._version import new_version_id
from churnlib.exceptions import DeploymentError


def triple(X):
    return X * 3


def test_fast_type_audit_matches_skops(model):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    models = [
        model,
        HistGradientBoostingClassifier(max_iter=3).fit(X, y),
        KNeighborsClassifier().fit(X, y),
        make_pipeline(FunctionTransformer(triple), KNeighborsClassifier()).fit(X, y),
    ]
    for m in models:
        data = sio.dumps(m)
        assert untrusted_types(data) == sorted(sio.get_untrusted_types(data=data))


def test_trust_policy():
    accepted, refused = trusted_types_for(
        ["sklearn.tree._tree.Tree", "os.system", "churnlib.nope.Thing"], ["x.Y"]
    )
    assert accepted == ["sklearn.tree._tree.Tree"]
    assert refused == ["churnlib.nope.Thing", "os.system"]
    assert trusted_types_for(["x.Y"], ["x.Y"]) == (["x.Y"], [])
    # candidates from an artifact cannot widen the list
    listed = load_trusted(["os.system", "builtins.eval", "churnlib.deployment.X"])
    assert set(listed) == set(TRUSTED_TYPES)


def test_secret_collection_and_redaction():
    options = {
        "key": "AKIDEXAMPLE",
        "secret": "s3cr3t-value",
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"},
        "connection_string": "AccountName=acct;AccountKey=ZmFrZWtleWZha2U=;X=1",
        "token": "anon",
    }
    found = secret_values(options, b"signing-key-bytes")
    assert {
        "AKIDEXAMPLE",
        "s3cr3t-value",
        "ZmFrZWtleWZha2U=",
        "signing-key-bytes",
    } <= found
    assert "http://127.0.0.1:9000" not in found
    assert "anon" not in found  # too short to be a secret, too common to mask
    assert redact("key=s3cr3t-value!", found) == "key=***!"


def test_storage_option_defaults_yield_to_the_user():
    merged = bounded_storage_options(
        "s3", {"config_kwargs": {"connect_timeout": 1}, "key": "k"}
    )
    assert merged["config_kwargs"]["connect_timeout"] == 1
    assert merged["config_kwargs"]["read_timeout"] == 60.0
    assert merged["config_kwargs"]["retries"] == {"max_attempts": 2, "mode": "standard"}
    assert merged["key"] == "k"
    assert bounded_storage_options("memory", {"a": 1}) == {"a": 1}
    assert bounded_storage_options("az", {"read_timeout": 5}, timeout=9) == {
        "connection_timeout": 9.0,
        "read_timeout": 5,
    }
    assert bounded_storage_options("gs", {}, timeout=7)["requests_timeout"] == 7.0


def _lock_path(store):
    return posixpath.join(store._root, "aliases", ".lock")


def test_abandoned_alias_lease_is_broken(storage_url, model):
    store = ModelStore(storage_url)
    v1 = store.publish(model, alias="production")
    v2 = store.publish(model)
    stale = json.dumps({"token": "dead", "at": time.time() - 120}).encode()
    store.fs.pipe_file(_lock_path(store), stale)
    t0 = time.perf_counter()
    assert store.promote(v2.version, "production").version == v2.version
    assert time.perf_counter() - t0 < 5
    assert not store.fs.exists(_lock_path(store))
    assert store.rollback("production").version == v1.version


def test_held_alias_lease_times_out_with_a_clear_error(storage_url, model, monkeypatch):
    store = ModelStore(storage_url)
    store.publish(model, alias="production")
    v2 = store.publish(model)
    live = json.dumps({"token": "other", "at": time.time()}).encode()
    store.fs.pipe_file(_lock_path(store), live)
    monkeypatch.setattr(aliases_module, "LOCK_WAIT_SECONDS", 0.3)
    with pytest.raises(DeploymentError, match="stayed locked by another writer"):
        store.promote(v2.version, "production")
    assert store.fs.exists(_lock_path(store))  # not ours: left alone


def test_prune_removes_old_incomplete_folders_only(storage_url, model):
    store = ModelStore(storage_url)
    v = store.publish(model)
    fs = store.fs
    old = "20000101T000000.000000Z-0000dead"
    fresh = new_version_id()
    for ghost in (old, fresh):
        path = posixpath.join(store._root, "versions", ghost, "model", "MLmodel")
        if store._local:
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
        fs.pipe_file(path, b"half")
    assert store.prune(keep=0) == [v.version]
    left = {
        posixpath.relpath(p, posixpath.join(store._root, "versions")).split("/")[0]
        for p in fs.find(posixpath.join(store._root, "versions"))
    }
    assert left == {fresh}
    assert store.versions() == []
