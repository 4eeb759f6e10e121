"""Faults and concurrency: failed publishes, tampering, parallel writers."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from churnlib.deployment import ModelStore
from churnlib.exceptions import IntegrityError


class FailingFS:
    """Delegate to a real filesystem, but fail the ``fail_on``-th write."""

    async_impl = False  # every call goes through the methods below

    def __init__(self, fs, fail_on):
        self._wrapped = fs
        self.fail_on = fail_on
        self.writes = 0

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def _tick(self):
        self.writes += 1
        if self.writes == self.fail_on:
            raise OSError(f"injected failure on write {self.writes}")

    def pipe_file(self, *args, **kwargs):
        self._tick()
        return self._wrapped.pipe_file(*args, **kwargs)

    def pipe(self, path, value=None, **kwargs):
        items = path.items() if isinstance(path, dict) else [(path, value)]
        for p, v in items:
            self.pipe_file(p, v, **kwargs)

    def open(self, path, mode="rb", **kwargs):
        if any(c in mode for c in "wxa"):
            self._tick()
        return self._wrapped.open(path, mode, **kwargs)


def _snapshot(store):
    return (
        [(v.version, v.aliases, v.sha256) for v in store.versions()],
        store.get("latest").version,
        store.get("production").version,
    )


@pytest.mark.parametrize("fail_on", [3, 6])
def test_publish_failing_halfway_leaves_nothing(cloud_store_url, model, fail_on):
    url, options = cloud_store_url
    store = ModelStore(url, storage_options=options)
    store.publish(model, alias="production")
    before = _snapshot(store)
    backend = store._backend
    real = backend.fs
    backend.fs = FailingFS(real, fail_on)
    if fail_on == 6 and store._local:
        # local manifests are written with os.link, not through fsspec
        def boom(path, data):
            raise OSError("injected failure on the manifest")

        backend.write_exclusive = boom
    with pytest.raises(Exception, match="injected failure"):
        store.publish(model, alias="production")
    backend.fs = real
    vars(backend).pop("write_exclusive", None)
    assert _snapshot(store) == before
    real.invalidate_cache()
    versions_dir = posixpath.join(store._root, "versions")
    leftovers = {
        posixpath.relpath(p, versions_dir).split("/")[0]
        for p in real.find(versions_dir)
    }
    assert leftovers == {v for v, _, _ in before[0]}  # cleaned up


def test_publish_interrupted_before_manifest_is_invisible(storage_url, model):
    store = ModelStore(storage_url)
    v1 = store.publish(model, alias="production")

    def interrupted(path, data):
        raise KeyboardInterrupt

    store._backend.write_exclusive = interrupted
    with pytest.raises(KeyboardInterrupt):
        store.publish(model, alias="production")
    del store._backend.write_exclusive
    assert [v.version for v in store.versions()] == [v1.version]
    assert store.get("production").version == v1.version


@pytest.mark.parametrize("target", ["model/model.skops", "model/MLmodel"])
def test_tampered_bytes_are_refused(store, model, target):
    v = store.publish(model)
    path = posixpath.join(store._root, "versions", v.version, target)
    blob = bytearray(store.fs.cat_file(path))
    blob[len(blob) // 2] ^= 0xFF
    store.fs.pipe_file(path, bytes(blob))
    store.fs.invalidate_cache()
    with pytest.raises(IntegrityError, match=re.escape(target)) as info:
        store.load(v.version)
    assert "does not match its manifest" in str(info.value)
    assert info.value.url.endswith(target)


def test_truncated_and_missing_files_are_refused(store, model):
    v = store.publish(model)
    vdir = posixpath.join(store._root, "versions", v.version)
    skops_path = posixpath.join(vdir, "model/model.skops")
    store.fs.pipe_file(skops_path, store.fs.cat_file(skops_path)[:-10])
    with pytest.raises(IntegrityError, match=r"model\.skops"):
        store.load()
    store.fs.rm_file(skops_path)
    store.fs.invalidate_cache()
    with pytest.raises(IntegrityError, match="is missing"):
        store.load()


def test_damaged_manifest(storage_url, model):
    store = ModelStore(storage_url)
    v1 = store.publish(model)
    v2 = store.publish(model)
    mpath = posixpath.join(store._root, "versions", v2.version, "manifest.json")
    store.fs.pipe_file(mpath, b"{not json")
    assert [v.version for v in store.versions()] == [v1.version]
    with pytest.raises(IntegrityError, match="not a valid churnlib manifest"):
        store.load(v2.version)
    # a manifest copied from another version is refused too
    other = store.fs.cat_file(
        posixpath.join(store._root, "versions", v1.version, "manifest.json")
    )
    store.fs.pipe_file(mpath, other)
    with pytest.raises(IntegrityError, match="belongs to version"):
        store.load(v2.version)


def test_manifest_with_unsafe_paths_is_refused(storage_url, model):
    store = ModelStore(storage_url)
    v = store.publish(model)
    mpath = posixpath.join(store._root, "versions", v.version, "manifest.json")
    manifest = json.loads(store.fs.cat_file(mpath))
    manifest["files"]["../../aliases/x.json"] = {"sha256": "0", "size": 1}
    store.fs.pipe_file(mpath, json.dumps(manifest).encode())
    with pytest.raises(IntegrityError, match="unsafe path"):
        store.load(v.version)


def test_concurrent_publishers_get_distinct_versions(store, model, churn_xy):
    X, _ = churn_xy
    with ThreadPoolExecutor(8) as pool:
        published = list(pool.map(lambda i: store.publish(model), range(8)))
    ids = [v.version for v in published]
    assert len(set(ids)) == 8
    assert sorted(ids) == [v.version for v in store.versions()]
    expected = model.predict_proba(X.head(20))
    for version in ids:
        np.testing.assert_allclose(
            store.load(version).predict_proba(X.head(20)), expected
        )


def test_concurrent_alias_updates_never_corrupt(store, model):
    start = store.publish(model, alias="production")
    targets = [store.publish(model).version for _ in range(8)]
    barrier = threading.Barrier(8)

    def promote(version):
        barrier.wait()
        return store.promote(version, "production").version

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(promote, targets)) == sorted(targets)
    history = store.alias_history("production")
    # no update lost: the first promote plus one entry per thread
    assert history[0]["version"] == start.version
    assert sorted(h["version"] for h in history[1:]) == sorted(targets)
    raw = store.fs.cat_file(posixpath.join(store._root, "aliases", "production.json"))
    state = json.loads(raw)
    assert state["version"] == history[-1]["version"] == store.get("production").version
    # every step can be rolled back, in order
    assert store.rollback("production").version == history[-2]["version"]
    leftovers = [p for p in store.fs.find(store._root) if p.endswith(".lock")]
    assert leftovers == []


_WORKER = textwrap.dedent(
    """
    import sys
    from sklearn.dummy import DummyClassifier
    from churnlib.deployment import ModelStore

    store = ModelStore(sys.argv[1])
    mine = store.publish(DummyClassifier().fit([[0], [1]], [0, 1]))
    print(mine.version)
    for version in sys.argv[2:]:
        store.promote(version, "production")
    """
)


def test_concurrent_publishers_and_alias_updates_across_processes(tmp_path, model):
    store = ModelStore(tmp_path / "store")
    store.publish(model, alias="production")
    targets = [store.publish(model).version for _ in range(6)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path / "store"), *pair],
            stdout=subprocess.PIPE,
            text=True,
        )
        for pair in (targets[0:3], targets[3:6])
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    # two processes published two distinct, loadable versions
    assert len(set(outputs)) == 2
    listed = [v.version for v in store.versions()]
    assert set(outputs) <= set(listed)
    assert len(listed) == 9
    for version in outputs:
        assert store.load(version).predict([[1]]) is not None
    # and their alias updates lost nothing
    history = store.alias_history("production")
    assert len(history) == 7
    assert sorted(h["version"] for h in history[1:]) == sorted(targets)
    assert store.get("production").version == history[-1]["version"]
