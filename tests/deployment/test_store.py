"""ModelStore behaviour on every backend: memory, file, s3, az and gs."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from churnlib.deployment import ModelStore, ModelVersion
from churnlib.exceptions import (
    DeploymentError,
    InvalidParameterError,
    ModelNotFoundError,
)

VERSION_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}$")
MODEL_FILES = {
    "model/MLmodel",
    "model/model.skops",
    "model/requirements.txt",
    "model/python_env.yaml",
    "model/conda.yaml",
}


def _vdir(store, version):
    return posixpath.join(store._root, "versions", version)


def test_publish_then_load_round_trip(store, model, churn_xy):
    X, _ = churn_xy
    v = store.publish(
        model,
        metrics={"roc_auc": 0.87, "n": np.int64(3)},
        metadata={"owner": "growth-team", "tags": ["weekly"]},
        run_id="abc123",
        input_example=X.head(),
    )
    assert isinstance(v, ModelVersion)
    assert VERSION_RE.match(v.version)
    assert v.metrics == {"roc_auc": 0.87, "n": 3.0}
    assert v.metadata == {"owner": "growth-team", "tags": ["weekly"]}
    assert v.run_id == "abc123"
    assert v.aliases == ()
    assert v.url.endswith(f"/versions/{v.version}")
    assert "://" in v.url

    for ref in ("latest", v.version, v):
        loaded = store.load(ref)
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
        assert (
            loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
        )
        assert type(loaded[-1]) is type(model[-1])


def test_version_folder_layout_and_manifest(store, model, churn_xy):
    X, _ = churn_xy
    v = store.publish(model, metrics={"auc": 0.5}, input_example=X.head())
    fs, vdir = store.fs, _vdir(store, v.version)
    fs.invalidate_cache()
    found = {posixpath.relpath(p, vdir) for p in fs.find(vdir) if not p.endswith("/")}
    assert found == MODEL_FILES | {"manifest.json"}
    raw = fs.cat_file(posixpath.join(vdir, "manifest.json"))
    assert hashlib.sha256(raw).hexdigest() == v.sha256
    manifest = json.loads(raw)
    assert manifest["version"] == v.version
    assert set(manifest["files"]) == MODEL_FILES
    for name, entry in manifest["files"].items():
        blob = fs.cat_file(posixpath.join(vdir, name))
        assert entry == {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
    assert manifest["features"]["names"] == list(X.columns)
    assert manifest["features"]["dtypes"]["contract"] == "category"
    assert manifest["metrics"] == {"auc": 0.5}
    assert manifest["libraries"]["scikit-learn"]
    assert manifest["libraries"]["skops"]
    assert manifest["created_at"].startswith(v.created_at.strftime("%Y-%m-%dT%H:%M"))
    assert "sklearn.tree._tree.Tree" in manifest["trusted_types"]
    mlmodel = fs.cat_file(posixpath.join(vdir, "model/MLmodel")).decode()
    assert "serialization_format: skops" in mlmodel
    assert "loader_module: churnlib.deployment.pyfunc" in mlmodel
    assert "pickled_model: model.skops" in mlmodel  # the sklearn flavor stays


def test_versions_are_oldest_first_and_latest_is_newest(store, model):
    assert store.versions() == []
    published = [store.publish(model) for _ in range(3)]
    listed = store.versions()
    assert [v.version for v in listed] == [v.version for v in published]
    assert [v.version for v in listed] == sorted(v.version for v in published)
    assert store.get("latest").version == published[-1].version
    assert store.get().sha256 == published[-1].sha256


def test_promote_rollback_keep_history(store, model):
    v1, v2, v3 = (store.publish(model) for _ in range(3))
    assert store.promote(v1.version, "production").aliases == ("production",)
    store.promote(v2, "production")
    store.promote("latest", "production")  # v3
    store.promote(v3.version, "production")  # no-op: already there
    store.promote(v1.version, "staging")
    assert store.get("production").version == v3.version
    by_version = {v.version: v.aliases for v in store.versions()}
    assert by_version == {
        v1.version: ("staging",),
        v2.version: (),
        v3.version: ("production",),
    }

    assert store.rollback("production").version == v2.version
    assert store.rollback("production").version == v1.version
    with pytest.raises(DeploymentError, match="no previous version"):
        store.rollback("production")
    assert store.get("production").version == v1.version
    history = store.alias_history("production")
    assert [h["action"] for h in history] == [
        "promote",
        "promote",
        "promote",
        "rollback",
        "rollback",
    ]
    assert [h["version"] for h in history] == [
        v1.version,
        v2.version,
        v3.version,
        v2.version,
        v1.version,
    ]
    # the alias file itself is plain JSON with the current version
    raw = store.fs.cat_file(posixpath.join(store._root, "aliases", "production.json"))
    assert json.loads(raw)["version"] == v1.version


def test_publish_with_alias_promotes(store, model):
    v1 = store.publish(model, alias="production")
    assert v1.aliases == ("production",)
    v2 = store.publish(model, alias="production")
    assert store.get("production").version == v2.version
    assert store.get(v1.version).aliases == ()
    assert store.rollback("production").version == v1.version


def test_prune_never_deletes_aliased_versions(store, model):
    vs = [store.publish(model) for _ in range(5)]
    store.promote(vs[0].version, "production")
    store.promote(vs[1].version, "production")  # vs[0] stays as rollback target
    store.promote(vs[2].version, "staging")
    removed = store.prune(keep=1)
    assert removed == [vs[3].version]
    remaining = [v.version for v in store.versions()]
    assert remaining == [vs[0].version, vs[1].version, vs[2].version, vs[4].version]
    assert store.rollback("production").version == vs[0].version
    assert store.prune(keep=10) == []
    with pytest.raises(InvalidParameterError, match="'keep' parameter"):
        store.prune(keep=-1)


def test_unknown_reference_lists_what_exists(store, model):
    with pytest.raises(ModelNotFoundError, match=r"no versions yet|no model store at"):
        store.load()
    v = store.publish(model, alias="production")
    with pytest.raises(ModelNotFoundError) as info:
        store.load("staging")
    message = str(info.value)
    assert "alias 'staging'" in message
    assert v.version in message
    assert "production" in message
    assert info.value.url == store.url
    missing = "20000101T000000.000000Z-00000000"
    with pytest.raises(ModelNotFoundError, match=re.escape(missing)):
        store.get(missing)
    with pytest.raises(ModelNotFoundError, match="not a/valid"):
        store.load("not a/valid")
    with pytest.raises(ModelNotFoundError):
        store.rollback("staging")
    with pytest.raises(ModelNotFoundError):
        store.promote(missing, "production")
    assert isinstance(info.value, FileNotFoundError)


def test_version_without_manifest_is_invisible(store, model):
    v = store.publish(model)
    # a publish that died before its manifest: files but no manifest.json
    ghost = "20990101T000000.000000Z-deadbeef"
    fs = store.fs
    src, dst = _vdir(store, v.version), _vdir(store, ghost)
    for name in MODEL_FILES:
        if store._local:
            fs.makedirs(posixpath.dirname(posixpath.join(dst, name)), exist_ok=True)
        fs.pipe_file(posixpath.join(dst, name), fs.cat_file(posixpath.join(src, name)))
    assert [x.version for x in store.versions()] == [v.version]
    assert store.get("latest").version == v.version
    with pytest.raises(ModelNotFoundError, match=ghost):
        store.load(ghost)
    with pytest.raises(ModelNotFoundError):
        store.promote(ghost, "production")


def test_create_makes_the_bucket(cloud_store_url, model):
    url, options = cloud_store_url
    scheme = url.partition("://")[0]
    if scheme in {"s3", "az", "gs"}:
        from tests.fixtures.cloud import fresh_bucket_name

        url = f"{scheme}://{fresh_bucket_name('new')}/deep/models"
    else:
        url = url.rstrip("/") + "/not/yet/here"
    with pytest.raises(DeploymentError, match="does not exist"):
        ModelStore(url, storage_options=options, create=False).publish(model)
    store = ModelStore(url, storage_options=options)
    v = store.publish(model)
    again = ModelStore(url, storage_options=options, create=False)
    assert [x.version for x in again.versions()] == [v.version]
    assert again.load(v.version).predict  # loads


def test_publish_training_result(store, model):
    class Result:  # the shape of churnlib.training.TrainingResult
        def __init__(self, model):
            self.model = model
            self.run_id = "run-42"
            self.metrics = {"roc_auc": 0.9}

    v = store.publish(Result(model))
    assert v.run_id == "run-42"
    assert v.metrics == {"roc_auc": 0.9}
    v2 = store.publish(Result(model), metrics={"x": 1.0}, run_id="other")
    assert (v2.run_id, dict(v2.metrics)) == ("other", {"x": 1.0})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alias": "latest"}, "'alias' parameter"),
        ({"alias": "bad name"}, "'alias' parameter"),
        ({"alias": "20990101T000000.000000Z-deadbeef"}, "'alias' parameter"),
        ({"metrics": {"auc": float("nan")}}, "Metric 'auc' must be a finite"),
        ({"metrics": {"auc": "high"}}, "Metric 'auc' must be a finite"),
        ({"metrics": [0.5]}, "'metrics' parameter"),
        ({"metadata": {"when": object()}}, "Metadata 'when' is not JSON"),
        ({"metadata": "x"}, "'metadata' parameter"),
        ({"run_id": 3}, "'run_id' parameter"),
        ({"input_example": [[1, 2]]}, "'input_example' parameter"),
    ],
)
def test_publish_rejects_bad_arguments(storage_url, model, kwargs, match):
    store = ModelStore(storage_url)
    with pytest.raises(InvalidParameterError, match=match):
        store.publish(model, **kwargs)
    assert store.versions() == []


def test_publish_rejects_unfitted_and_non_models(storage_url):
    store = ModelStore(storage_url)
    with pytest.raises(NotFittedError) as info:
        store.publish(LogisticRegression())
    assert isinstance(info.value, InvalidParameterError)  # a churnlib error too
    with pytest.raises(InvalidParameterError, match="fitted scikit-learn estimator"):
        store.publish({"not": "a model"})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"storage_options": "key=1"}, "'storage_options' parameter"),
        ({"signing_key": 12}, "'signing_key' parameter"),
        ({"signing_key": "short"}, "at least 16 bytes"),
        ({"create": "yes"}, "'create' parameter"),
        ({"trusted_types": "sklearn.X"}, "'trusted_types' parameter"),
    ],
)
def test_constructor_rejects_bad_arguments(storage_url, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        ModelStore(storage_url, **kwargs)


def test_plain_local_path_and_pathlike(tmp_path, model):
    store = ModelStore(tmp_path / "models")
    v = store.publish(model)
    same = ModelStore(str(tmp_path / "models"))
    assert same.get().version == v.version
    assert repr(store) == f"ModelStore({str(tmp_path / 'models')!r})"


def test_dummy_and_linear_models_round_trip(storage_url, churn_xy):
    X, y = churn_xy
    num = X.select_dtypes("number")
    store = ModelStore(storage_url)
    for est in (DummyClassifier(strategy="prior"), LogisticRegression(max_iter=500)):
        fitted = est.fit(num, y)
        v = store.publish(fitted)
        np.testing.assert_allclose(
            store.load(v.version).predict_proba(num), fitted.predict_proba(num)
        )
        assert store.get(v.version).version == v.version


def test_a_url_naming_no_store_says_so_and_what_is_often_wrong(tmp_path):
    # a mistyped URL must not send the user to publish into the wrong place
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="The store has no versions yet"):
        ModelStore(tmp_path / "empty").load("production")
    cases = {
        str(tmp_path / "nope"): "there is no model store at",
        f"file://{tmp_path}/my%20store": "Percent-escapes (%20) in a local path",
        # two slashes: "file:/" + "/tmp/..." reads "tmp" as a host
        "file:/" + str(tmp_path) + "/x": "three slashes",
    }
    for url, fragment in cases.items():
        with pytest.raises(ModelNotFoundError, match="no model store at") as info:
            ModelStore(url).load("production")
        assert fragment in str(info.value)
        assert "Check the URL (a store is created by its first publish)" in str(
            info.value
        )
    assert not (tmp_path / "nope").exists()  # looking created nothing
