"""Prune races, silent endpoints, secrets, signed aliases, names, bad input."""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from churnlib.deployment import ModelStore
from churnlib.deployment._version import is_version_id, new_version_id
from churnlib.exceptions import (
    ChurnlibError,
    DeploymentError,
    IntegrityError,
    InvalidParameterError,
    ModelNotFoundError,
)
from tests.fixtures.cloud import AZURITE_KEY, backend_params, fresh_bucket_name
from tests.fixtures.silent import silent_options, silent_server

KEY = "a-signing-key-of-32-characters!!"
SECRET = "planted-secret-Zq8Vv1xY"


def _all_text(exc):
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def _tiny():
    return DummyClassifier(strategy="prior").fit([[0], [1], [1]], [0, 1, 1])


# ------------------------------------------------------- 2. prune races promote
def _alias_target_exists(store, alias):
    try:
        version = store.get(alias).version
    except ModelNotFoundError:
        return True  # the alias was never set: nothing dangles
    manifest = posixpath.join(store._root, "versions", version, "manifest.json")
    store.fs.invalidate_cache()
    return store.fs.exists(manifest) and store.load(alias) is not None


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_promote_during_prune_never_points_at_a_deleted_version(cloud_store_url):
    """A promote arriving after prune read the aliases, before it deleted."""
    url, options = cloud_store_url
    store = ModelStore(url, storage_options=options)
    model = _tiny()
    old = store.publish(model).version
    newest = store.publish(model).version
    promoted = []
    read_aliases = store._alias_names

    def read_then_let_a_promote_in():
        names = read_aliases()  # prune has decided from these
        promoter = threading.Thread(
            target=lambda: promoted.append(_try_promote(store, old, "staging"))
        )
        promoter.start()
        promoter.join(0.5)  # the promote waits for prune's lease
        promoted.insert(0, promoter)
        return names

    store._alias_names = read_then_let_a_promote_in
    assert store.prune(keep=1) == [old]
    del store._alias_names
    promoted[0].join(30)
    assert isinstance(promoted[1], ModelNotFoundError)  # refused, not dangling
    assert _alias_target_exists(store, "staging")
    assert [v.version for v in store.versions()] == [newest]
    # and the other order: the alias set first protects its version
    store.promote(newest, "staging")
    store.publish(model)
    assert newest not in store.prune(keep=1)
    assert store.load("staging") is not None


def _try_promote(store, version, alias):
    try:
        return store.promote(version, alias)
    except ModelNotFoundError as err:
        return err


_PRUNER = textwrap.dedent(
    """
    import json, sys
    from churnlib.deployment import ModelStore

    store = ModelStore(sys.argv[1], storage_options=json.loads(sys.argv[3]))
    for _ in range(int(sys.argv[2])):
        store.prune(keep=1)
    """
)


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_prune_and_promote_across_processes(cloud_store_url):
    url, options = cloud_store_url
    store = ModelStore(url, storage_options=options)
    model = _tiny()
    olds = [store.publish(model).version for _ in range(6)]
    store.publish(model)
    proc = subprocess.Popen(
        [sys.executable, "-c", _PRUNER, url, "4", json.dumps(options)]
    )
    try:
        for version in olds:
            with contextlib.suppress(ModelNotFoundError):
                store.promote(version, "staging")
            assert _alias_target_exists(store, "staging")
    finally:
        assert proc.wait(timeout=120) == 0
    assert _alias_target_exists(store, "staging")
    # every version the alias history names and that still exists is loadable
    for entry in store.alias_history("staging"):
        with contextlib.suppress(ModelNotFoundError):
            assert store.load(entry["version"]) is not None


# --------------------------------------------------------------- 3. silent hangs
@pytest.mark.parametrize("backend", ["s3", "az", "gs"])
def test_silent_endpoint_fails_within_the_bound(backend, model):
    bound = 2.0
    with silent_server() as port:
        options = silent_options(backend, port, SECRET)
        store = ModelStore(
            f"{backend}://bucket-silent/models", storage_options=options, timeout=bound
        )
        assert store.timeout == bound
        calls = {
            "load": lambda: store.load("production"),
            "versions": store.versions,
            "publish": lambda: store.publish(_tiny()),
        }
        for name, call in calls.items():
            t0 = time.perf_counter()
            with pytest.raises(DeploymentError) as info:
                call()
            elapsed = time.perf_counter() - t0
            # one request times out; the slack covers client set-up and the
            # one-second polling of fsspec's sync()
            assert elapsed < bound + 3.5, (name, elapsed)
            message = str(info.value)
            assert "did not answer within 2 s" in message, (name, message)
            assert "timeout=" in message
            text = _all_text(info.value)
            assert SECRET not in text
            assert AZURITE_KEY not in text


def test_timeout_default_and_environment(monkeypatch):
    from churnlib._core.timeouts import DEFAULT_TIMEOUT

    assert DEFAULT_TIMEOUT == 60.0
    assert ModelStore("memory://t/a").timeout == 60.0
    monkeypatch.setenv("CHURNLIB_STORAGE_TIMEOUT", "7.5")
    assert ModelStore("memory://t/a").timeout == 7.5
    assert ModelStore("memory://t/a", timeout=3).timeout == 3.0
    monkeypatch.setenv("CHURNLIB_STORAGE_TIMEOUT", "soon")
    with pytest.raises(InvalidParameterError, match="CHURNLIB_STORAGE_TIMEOUT"):
        ModelStore("memory://t/a")
    monkeypatch.delenv("CHURNLIB_STORAGE_TIMEOUT")
    with pytest.raises(InvalidParameterError, match="'timeout' parameter"):
        ModelStore("memory://t/a", timeout=0)


# ------------------------------------------------------------- 4. secrets in URLs
@pytest.mark.parametrize(
    "url",
    [
        f"s3://AKIDPLANTED:{SECRET}@bucket/models",
        f"gs://user:{SECRET}@bucket/models",
        f"s3://bucket/models?sig={SECRET}",
        f"az://container/models?sv=2024&sig={SECRET}",
    ],
)
def test_credentials_in_the_url_are_refused_without_showing_them(url):
    with pytest.raises(InvalidParameterError, match="storage_options") as info:
        ModelStore(url)
    assert SECRET not in _all_text(info.value)
    assert "AKIDPLANTED" not in _all_text(info.value)


def test_local_paths_with_question_marks_and_azure_hosts_are_fine(tmp_path):
    odd = tmp_path / "odd?name"
    store = ModelStore(odd)
    v = store.publish(_tiny())
    assert store.get().version == v.version
    assert (odd / "versions" / v.version / "manifest.json").exists()
    pytest.importorskip("adlfs")
    # container@account is an address, not a credential
    ModelStore(
        "abfs://models@account.dfs.core.windows.net/churn",
        storage_options={"account_name": "account", "anon": True},
    )


def test_raw_backend_errors_are_wrapped_with_secrets_removed(s3_server):
    options = {
        "key": "AKIDPLANTED",
        "secret": SECRET,
        "client_kwargs": {"endpoint_url": s3_server},
    }
    store = ModelStore(
        f"s3://{fresh_bucket_name()}/models", storage_options=options, create=False
    )
    assert store.versions() == []  # a missing bucket holds no versions
    for call in (lambda: store.publish(_tiny()), store.load, store.prune):
        with pytest.raises(ChurnlibError) as info:
            call()
        text = _all_text(info.value)
        assert SECRET not in text
        assert "AKIDPLANTED" not in text
        # no raw botocore/aiohttp error escapes without a churnlib wrapper
        assert isinstance(info.value, DeploymentError)


# ------------------------------------------------------------ 5. signed aliases
def _alias_path(store, alias):
    return posixpath.join(store._root, "aliases", f"{alias}.json")


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_alias_records_are_signed_and_verified_on_every_read(cloud_store_url, caplog):
    url, options = cloud_store_url
    store = ModelStore(url, storage_options=options, signing_key=KEY)
    v1 = store.publish(_tiny(), alias="production")
    v2 = store.publish(_tiny(), alias="production")
    fs, path = store.fs, _alias_path(store, "production")
    record = json.loads(fs.cat_file(path))
    assert record["signature"]["algorithm"] == "hmac-sha256"
    assert record["sequence"] == 2

    # 1) edited to point at the older (signed) version: refused everywhere
    edited = dict(record, version=v1.version)
    edited["history"] = record["history"][:1]
    fs.pipe_file(path, json.dumps(edited).encode())
    for read in (
        lambda: store.load("production"),
        lambda: store.get("production"),
        lambda: store.alias_history("production"),
    ):
        with pytest.raises(IntegrityError, match="production"):
            read()
    # listings do not show unverified aliases (a warning is logged instead)
    caplog.set_level(logging.WARNING, logger="churnlib")
    assert all(v.aliases == () for v in store.versions())
    assert "skipping alias 'production'" in caplog.text

    # 2) a replay of the old record, byte for byte: the log's newer step wins
    fs.pipe_file(path, json.dumps(record).encode())  # restore step 2
    assert store.get("production").version == v2.version
    old_bytes = fs.cat_file(
        posixpath.join(store._root, "aliases", ".log", "production", "0000000001.json")
    )
    fs.pipe_file(path, old_bytes)
    assert store.get("production").version == v2.version
    assert "its log holds step 2" in caplog.text

    # 3) record and log both rewound: this process has seen step 2 already
    fs.rm_file(
        posixpath.join(store._root, "aliases", ".log", "production", "0000000002.json")
    )
    fs.invalidate_cache()
    with pytest.raises(IntegrityError, match="went back from step 2 to step 1"):
        store.load("production")


def test_alias_records_cannot_be_copied_or_unsigned(storage_url):
    store = ModelStore(storage_url, signing_key=KEY)
    v1 = store.publish(_tiny(), alias="staging")
    store.publish(_tiny(), alias="production")
    fs = store.fs
    fs.pipe_file(
        _alias_path(store, "production"), fs.cat_file(_alias_path(store, "staging"))
    )
    with pytest.raises(IntegrityError, match="belongs to alias 'staging'"):
        store.load("production")
    # an unsigned store's record is refused by a signed store
    plain = ModelStore(storage_url)
    plain.promote(v1.version, "canary")
    with pytest.raises(IntegrityError, match="not signed"):
        store.get("canary")
    # a wrong key does not verify
    other = ModelStore(storage_url, signing_key=KEY[::-1])
    with pytest.raises(IntegrityError, match="signature"):
        other.get("staging")


def test_signed_listing_hides_tampered_manifests(storage_url, caplog):
    store = ModelStore(storage_url, signing_key=KEY)
    v1 = store.publish(_tiny(), metrics={"auc": 0.6})
    v2 = store.publish(_tiny(), metrics={"auc": 0.7})
    path = posixpath.join(store._root, "versions", v1.version, "manifest.json")
    manifest = json.loads(store.fs.cat_file(path))
    manifest["metrics"]["auc"] = 0.99
    store.fs.pipe_file(path, json.dumps(manifest).encode())
    caplog.set_level(logging.WARNING, logger="churnlib")
    assert [v.version for v in store.versions()] == [v2.version]
    with pytest.raises(IntegrityError, match="signature"):
        store.get(v1.version)
    # an unsigned store shows it (hashes of files still match), as documented
    assert ModelStore(storage_url).get(v1.version).metrics == {"auc": 0.99}


# ---------------------------------------------------------------------- 6. names
@pytest.mark.parametrize("alias", ["prod\n", "prod\r\n", "prod/x", "../prod", "prod "])
def test_alias_names_must_match_in_full(storage_url, alias):
    store = ModelStore(storage_url)
    v = store.publish(_tiny())
    with pytest.raises(InvalidParameterError, match="'alias' parameter"):
        store.promote(v.version, alias)
    with pytest.raises(InvalidParameterError):
        store.publish(_tiny(), alias=alias)
    store.fs.invalidate_cache()
    names = [posixpath.basename(p) for p in store.fs.find(store._root)]
    assert not any("\n" in n or n.startswith("prod") for n in names)


def test_version_ids_must_match_in_full(storage_url):
    store = ModelStore(storage_url)
    v = store.publish(_tiny())
    assert is_version_id(v.version)
    for bad in (v.version + "\n", v.version + "\r", " " + v.version, v.version + "/"):
        assert not is_version_id(bad)
        with pytest.raises(ModelNotFoundError):
            store.load(bad)
    assert not is_version_id(new_version_id() + "0")


# ----------------------------------------------------- 8. raw errors from input
def test_non_pandas_input_example_is_a_churnlib_error(storage_url, churn_xy, model):
    pa = pytest.importorskip("pyarrow")
    X, _ = churn_xy
    store = ModelStore(storage_url)
    table = pa.Table.from_pandas(X.head())
    with pytest.raises(InvalidParameterError, match=r"to_pandas\(\)"):
        store.publish(model, input_example=table)
    assert store.versions() == []


def test_polars_input_example_is_a_churnlib_error(storage_url, churn_xy, model):
    pl = pytest.importorskip("polars")
    X, _ = churn_xy
    store = ModelStore(storage_url)
    with pytest.raises(InvalidParameterError, match=r"polars\.DataFrame"):
        store.publish(model, input_example=pl.from_pandas(X.head()))


def test_download_into_an_unwritable_place_is_a_churnlib_error(tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(_tiny())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DeploymentError, match="Could not write version") as info:
        store.download("latest", blocker / "copy")
    assert isinstance(info.value.__cause__, OSError)


def test_missing_versions_and_aliases_are_churnlib_errors(storage_url):
    store = ModelStore(storage_url)
    # nothing published yet: object stores hold no "folder" until then
    with pytest.raises(ModelNotFoundError, match=r"no model store at|no versions yet"):
        store.load()
    v = store.publish(_tiny())
    missing = new_version_id()
    for call in (
        lambda: store.load(missing),
        lambda: store.promote(missing, "prod"),
        lambda: store.rollback("prod"),
        lambda: store.alias_history("prod"),
    ):
        with pytest.raises(ModelNotFoundError, match=v.version):
            call()
    np.testing.assert_array_equal(store.load(v).predict([[0]]), [1])


class _LeakyFS:
    """A filesystem whose errors quote a credential, chained two deep."""

    async_impl = False

    def __init__(self, fs):
        self._wrapped = fs

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def cat_file(self, path, **kwargs):
        try:
            raise KeyError(f"token={SECRET}")
        except KeyError:
            raise OSError(f"GET https://{SECRET}@host/x?sig={SECRET} failed") from None

    def find(self, path, **kwargs):
        return self.cat_file(path)


def test_no_link_of_an_error_chain_holds_a_secret(storage_url):
    store = ModelStore(storage_url, storage_options={"token": SECRET})
    store._backend.fs = _LeakyFS(store._backend.fs)
    for call in (store.versions, lambda: store.get("production")):
        with pytest.raises(DeploymentError) as info:
            call()
        link, seen = info.value, 0
        while link is not None and seen < 10:
            assert SECRET not in str(link)
            assert SECRET not in repr(link.args)
            for attr in ("filename", "strerror"):
                assert SECRET not in str(getattr(link, attr, "") or "")
            link, seen = link.__cause__ or link.__context__, seen + 1
        assert SECRET not in _all_text(info.value)


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_store_where_a_file_is_raises_churnlib_errors_only(tmp_path, below):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = ModelStore(blocker / below if below else blocker)
    calls = [
        lambda: store.publish(_tiny()),
        store.load,
        lambda: store.promote("latest", "prod"),
        lambda: store.rollback("prod"),
        lambda: store.alias_history("prod"),
        store.prune,
        lambda: store.download("latest", tmp_path / "copy"),
    ]
    for call in calls:
        with pytest.raises(ChurnlibError) as info:
            call()
        assert isinstance(info.value, DeploymentError), type(info.value)
    assert store.versions() == []


def test_alias_records_from_before_sequences_still_read_and_upgrade(storage_url):
    store = ModelStore(storage_url)
    v1, v2 = store.publish(_tiny()).version, store.publish(_tiny()).version
    legacy = {  # what churnlib wrote before alias records were sequenced
        "alias": "production",
        "version": v1,
        "updated_at": "2026-11-01T00:00:00.000000Z",
        "history": [
            {"version": v1, "action": "promote", "at": "2026-11-01T00:00:00.000000Z"}
        ],
    }
    path = _alias_path(store, "production")
    if store._local:
        store.fs.makedirs(posixpath.dirname(path), exist_ok=True)
    store.fs.pipe_file(path, json.dumps(legacy).encode())
    assert store.get("production").version == v1
    store.promote(v2, "production")
    record = json.loads(store.fs.cat_file(path))
    assert record["sequence"] == 2
    assert [h["version"] for h in record["history"]] == [v1, v2]
    assert store.rollback("production").version == v1
    # a signed store refuses the legacy, unsigned record
    store.fs.pipe_file(path, json.dumps(legacy).encode())
    for step in store.fs.find(posixpath.join(store._root, "aliases", ".log")):
        store.fs.rm_file(step)
    with pytest.raises(IntegrityError, match="not signed"):
        ModelStore(storage_url, signing_key=KEY).get("production")
