"""The fsspec model store: publish, list, load, promote, roll back, prune."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import posixpath
import random
import secrets
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from numbers import Integral
from typing import Any, ClassVar

from churnlib._urls import redact_url
from churnlib._validation import Interval, validate_params
from churnlib.deployment._mlflow_format import (
    MODEL_FILE,
    library_versions,
    mlflow_files,
)
from churnlib.deployment._security import (
    load_trusted,
    redact,
    secret_values,
    sign,
    trusted_types_for,
    untrusted_types,
    verify,
)
from churnlib.deployment._version import (
    RESERVED,
    ModelVersion,
    is_version_id,
    new_version_id,
    parse_reference,
    validate_alias,
    version_time,
)
from churnlib.exceptions import (
    ChurnlibError,
    DeploymentError,
    IntegrityError,
    InvalidParameterError,
    ModelNotFoundError,
)

__all__ = ["ModelStore", "load_model"]

logger = logging.getLogger("churnlib.deployment")

MANIFEST = "manifest.json"
FORMAT = "churnlib.model-store/1"
SIGNING_KEY_ENV = "CHURNLIB_SIGNING_KEY"

#: protocol -> the churnlib extra that installs its fsspec backend
_EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "adl": "azure",
    "gs": "gcs",
    "gcs": "gcs",
}
#: protocol -> storage_options defaults that bound the time a dead endpoint costs
_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "s3": {
        "config_kwargs": {
            "connect_timeout": 10,
            "read_timeout": 120,
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
    },
    "az": {"connection_timeout": 10, "read_timeout": 120},
}
_DEFAULT_OPTIONS["s3a"] = _DEFAULT_OPTIONS["s3"]
for _p in ("abfs", "abfss"):
    _DEFAULT_OPTIONS[_p] = _DEFAULT_OPTIONS["az"]

#: an incomplete version folder older than this is garbage for ``prune``
_INCOMPLETE_AFTER = timedelta(days=1)
_LOCK_STALE_SECONDS = 30.0
_LOCK_WAIT_SECONDS = 60.0
_thread_locks: dict[tuple[str, str], threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _with_defaults(protocol: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over the protocol's defaults (user values win, one level deep)."""
    merged: dict[str, Any] = {}
    # a deep copy: botocore rewrites the retries dict it is given, in place
    defaults = copy.deepcopy(_DEFAULT_OPTIONS.get(protocol, {}))
    for key, value in defaults.items():
        user = options.get(key)
        if isinstance(value, Mapping) and isinstance(user, Mapping):
            merged[key] = {**value, **user}
        else:
            merged[key] = value
    merged.update({k: v for k, v in options.items() if k not in merged})
    return merged


def _bound_sdk_retries(fs: Any) -> None:
    """Cap an Azure SDK client's connection retries (adlfs cannot pass them).

    The SDK default retries a refused connection with 15 s + 3**n s pauses, so a
    dead endpoint costs minutes a call; one retry after 1-3 s keeps failures
    within seconds. Other clients are left alone.
    """
    client = getattr(fs, "service_client", None)
    policy = getattr(getattr(client, "_config", None), "retry_policy", None)
    if policy is None or not hasattr(policy, "connect_retries"):
        return
    policy.connect_retries = min(policy.connect_retries, 1)
    policy.read_retries = min(policy.read_retries, 2)
    if hasattr(policy, "initial_backoff"):
        policy.initial_backoff = min(policy.initial_backoff, 1)
        policy.increment_base = min(policy.increment_base, 2)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _alias_stack(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Replay an alias history: ``promote`` pushes, ``rollback`` pops."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(str(entry["version"]))
    return stack


def _clean_metrics(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise InvalidParameterError(
            "The 'metrics' parameter of ModelStore.publish must be a mapping of "
            f"str to float or None. Got {type(metrics).__name__} instead."
        )
    out = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or isinstance(value, bool):
            value_ok = False
        else:
            try:
                value = float(value)
                value_ok = value == value and abs(value) != float("inf")
            except (TypeError, ValueError):
                value_ok = False
        if not value_ok:
            raise InvalidParameterError(
                f"Metric {name!r} must be a finite number with a str name; got "
                f"{value!r}. Drop it or replace it with a finite value."
            )
        out[name] = value
    return out


def _clean_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidParameterError(
            "The 'metadata' parameter of ModelStore.publish must be a mapping or "
            f"None. Got {type(metadata).__name__} instead."
        )
    out = {}
    for key, value in metadata.items():
        try:
            out[str(key)] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise InvalidParameterError(
                f"Metadata {key!r} is not JSON-serializable ({err}); store plain "
                "strings, numbers, booleans, lists or dicts."
            ) from err
    return out


def _feature_schema(model: Any, input_example: Any) -> dict[str, Any]:
    """Input column names and dtypes (dtypes only when an example is given)."""
    if input_example is not None:
        columns = getattr(input_example, "columns", None)
        dtypes = getattr(input_example, "dtypes", None)
        if columns is None or dtypes is None:
            raise InvalidParameterError(
                "The 'input_example' parameter of ModelStore.publish must be a "
                f"pandas DataFrame or None. Got {type(input_example).__name__} "
                "instead."
            )
        return {
            "names": [str(c) for c in columns],
            "dtypes": {str(c): str(t) for c, t in dtypes.items()},
        }
    names = getattr(model, "feature_names_in_", None)
    n = getattr(model, "n_features_in_", None)
    return {
        "names": None if names is None else [str(c) for c in names],
        "n_features": None if n is None else int(n),
        "dtypes": None,
    }


class ModelStore:
    """Immutable, verifiable model versions on any fsspec URL.

    A store is a folder (local, ``memory://``, ``s3://``, ``az://``/``abfs://``,
    ``gs://``...) holding one sub-folder per published version. Each version is
    an MLflow-format model directory (the model serialized with skops, never
    pickle) plus a ``manifest.json`` holding the SHA-256 of every file. The
    manifest is written last, so a version without one does not exist.

    Read more in the :doc:`deployment guide </guide/deployment>`.

    Parameters
    ----------
    url : str or os.PathLike
        Where the store lives: any fsspec URL or a local path.
    storage_options : mapping, default=None
        Passed straight to fsspec (credentials, endpoint...). churnlib adds
        connect timeouts and bounded retries for S3 and Azure unless you set
        them. Never stored, logged or shown.
    signing_key : str or bytes, default=None
        Key for HMAC-SHA256 signatures of manifests. Defaults to the
        ``CHURNLIB_SIGNING_KEY`` environment variable. With a key, ``publish``
        signs and ``load`` refuses unsigned or wrongly signed versions.
    create : bool, default=True
        Create the bucket, container or folder on first write when missing.
        With ``False`` a missing location raises :class:`DeploymentError`.
    trusted_types : sequence of str, default=None
        Extra type names your code trusts in a skops file, on top of
        churnlib's own list (``churnlib.deployment.TRUSTED_TYPES``). A list
        is never read from the artifact itself.

    Attributes
    ----------
    url : str
        The store URL without credentials.

    See Also
    --------
    load_model : Load ``"<store url>@<version or alias>"`` in one call.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.deployment import ModelStore
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> store = ModelStore("memory://doctest/models")
    >>> v1 = store.publish(model, metrics={"roc_auc": 0.91}, alias="production")
    >>> store.load("production").predict([[2.5]])
    array([1])
    >>> [v.aliases for v in store.versions()]
    [('production',)]
    >>> v2 = store.publish(model, alias="production")
    >>> store.rollback("production").version == v1.version
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "storage_options": [Mapping, None],
        "signing_key": [str, bytes, None],
        "create": ["boolean"],
        "trusted_types": [list, tuple, None],
    }

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        signing_key: str | bytes | None = None,
        create: bool = True,
        trusted_types: Sequence[str] | None = None,
    ) -> None:
        import fsspec

        validate_params(
            self._parameter_constraints,
            {
                "storage_options": storage_options,
                "signing_key": signing_key,
                "create": create,
                "trusted_types": trusted_types,
            },
            "ModelStore",
        )
        url = fsspec.utils.stringify_path(url)
        if not isinstance(url, str) or not url:
            raise InvalidParameterError(
                "The 'url' parameter of ModelStore must be a non-empty str or "
                f"os.PathLike. Got {url!r} instead."
            )
        if signing_key is None:
            signing_key = os.environ.get(SIGNING_KEY_ENV) or None
        if isinstance(signing_key, str):
            signing_key = signing_key.encode()
        if signing_key is not None and len(signing_key) < 16:
            raise InvalidParameterError(
                "The signing key must be at least 16 bytes long; generate one "
                "with `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        self._key: bytes | None = signing_key
        self._secrets = secret_values(
            storage_options or {}, *([signing_key] if signing_key else [])
        )
        self.url = redact(redact_url(url.rstrip("/") or url), self._secrets)
        self.create = create
        self._trusted = tuple(trusted_types or ())
        protocol = fsspec.core.split_protocol(url)[0] or "file"
        options = _with_defaults(protocol, storage_options or {})
        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except ImportError as err:
            extra = _EXTRAS.get(protocol)
            hint = (
                f'pip install "churnlib[{extra}]"'
                if extra
                else "install the fsspec backend for this protocol"
            )
            raise ImportError(
                f"The model store {self.url} needs the {protocol!r} filesystem "
                f"backend, which is not installed: {hint}."
            ) from err
        except Exception as err:
            raise DeploymentError(
                f"Could not open the model store {self.url}: "
                f"{type(err).__name__}: {redact(str(err), self._secrets)}. "
                "Check the URL and storage_options.",
                url=self.url,
            ) from None
        self._fs = fs
        with contextlib.suppress(Exception):
            _bound_sdk_retries(fs)
        self._root = root.rstrip("/") or root
        from fsspec.implementations.local import LocalFileSystem

        self._local = isinstance(fs, LocalFileSystem)
        self._root_ready = False

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        signed = ", signed=True" if self._key else ""
        return f"ModelStore({self.url!r}{signed})"

    @property
    def fs(self) -> Any:
        """The fsspec filesystem the store writes through."""
        return self._fs

    @property
    def signed(self) -> bool:
        """Whether this store signs and requires signed manifests."""
        return self._key is not None

    def _path(self, *parts: str) -> str:
        return posixpath.join(self._root, *parts)

    def _url(self, path: str) -> str:
        return redact(redact_url(self._fs.unstrip_protocol(path)), self._secrets)

    def _error(
        self, err: BaseException, action: str, path: str | None = None
    ) -> DeploymentError:
        """Build a :class:`DeploymentError` for a backend failure, without secrets."""
        where = self._url(path) if path else self.url
        text = redact(f"{type(err).__name__}: {err}", self._secrets)[:500]
        if isinstance(err, PermissionError):
            fix = "the credentials in storage_options do not allow it"
        else:
            fix = "check that the storage is reachable and the credentials allow it"
        out = DeploymentError(f"Could not {action} {where} ({text}); {fix}.", url=where)
        chain = "".join(traceback.format_exception(err))
        out.__cause__ = None if any(s in chain for s in self._secrets) else err
        out.__suppress_context__ = True
        return out

    @contextlib.contextmanager
    def _io(self, action: str, path: str | None = None) -> Iterator[None]:
        try:
            yield
        except (ChurnlibError, FileNotFoundError, FileExistsError):
            raise
        except Exception as err:
            wrapped = self._error(err, action, path)
            if wrapped.__cause__ is None:  # the original text holds a secret
                raise wrapped from None
            raise wrapped from err

    # --------------------------------------------------------------- low level
    def _ensure_root(self) -> None:
        """Create (or with ``create=False``, check) the bucket/container/folder."""
        if self._root_ready:
            return
        fs, root = self._fs, self._root
        split = getattr(fs, "split_path", None)  # object stores: bucket/key
        container = split(root)[0] if callable(split) else root
        # info, not exists: exists() turns a dead endpoint into False (after
        # its retries), and the store would then try to create the bucket
        try:
            with (
                self._io("check the store location", container),
                warnings.catch_warnings(),
            ):
                # adlfs warns when it cannot read container properties
                warnings.simplefilter("ignore", UserWarning)
                fs.info(container)
            exists = True
        except FileNotFoundError:
            exists = False
        if not exists and not self.create:
            raise DeploymentError(
                f"The model store location {self._url(container)} does not "
                "exist; create it or pass create=True.",
                url=self.url,
            )
        if not exists or self._local:
            try:
                with self._io("create the store location", container):
                    if container == root:
                        fs.makedirs(root, exist_ok=True)
                    else:
                        fs.mkdir(container)
            except FileExistsError:
                pass  # created meanwhile by someone else
            except DeploymentError as err:
                raise DeploymentError(
                    f"{err} Create the bucket/container yourself, or use "
                    "credentials allowed to create it.",
                    url=self.url,
                ) from err.__cause__
            with contextlib.suppress(Exception):
                fs.invalidate_cache(container)
        self._root_ready = True

    def _makedirs(self, path: str) -> None:
        if self._local:  # object stores have no folders to create
            self._fs.makedirs(path, exist_ok=True)

    def _local_tmp(self, path: str) -> str:
        return f"{path}.tmp-{secrets.token_hex(6)}"

    def _write_exclusive(self, path: str, data: bytes) -> None:
        """Create ``path`` holding ``data``; ``FileExistsError`` if it exists.

        Local files: a temporary file hard-linked into place (atomic and
        exclusive). Elsewhere a single whole-object write in exclusive mode
        (``"xb"``), which object stores apply atomically.
        """
        fs = self._fs
        if self._local:
            # no fsync: after a power loss a torn manifest or model file fails
            # its checks, so the version is invisible or refused, never wrong
            tmp = self._local_tmp(path)
            with open(tmp, "wb") as f:
                f.write(data)
            try:
                os.link(tmp, path)
            finally:
                os.unlink(tmp)
            return
        try:
            with fs.open(path, "xb") as f:
                f.write(data)
        except (NotImplementedError, ValueError) as err:
            if "mode" not in str(err):
                raise
            if fs.exists(path):  # backend without exclusive create
                raise FileExistsError(path) from None
            fs.pipe_file(path, data)

    def _write_replace(self, path: str, data: bytes) -> None:
        """Replace ``path`` atomically: readers see the old or the new bytes."""
        if self._local:
            tmp = self._local_tmp(path)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return
        self._fs.pipe_file(path, data)

    def _find(self, folder: str) -> list[str]:
        """Every file below ``folder`` (no glob: paths may hold ``[`` or ``*``)."""
        with contextlib.suppress(Exception):
            self._fs.invalidate_cache(folder)
        try:
            return [p.rstrip("/") for p in self._fs.find(folder)]
        except FileNotFoundError:
            return []

    def _cat_many(self, paths: Sequence[str]) -> dict[str, bytes | Exception]:
        """Read many files (concurrently on async backends); errors as values."""
        fs = self._fs
        if getattr(fs, "async_impl", False) and len(paths) > 1:
            import asyncio

            from fsspec.asyn import sync

            async def gather() -> list[Any]:
                return await asyncio.gather(
                    *(fs._cat_file(p) for p in paths), return_exceptions=True
                )

            results = sync(fs.loop, gather)
        else:
            results = []
            for p in paths:
                try:
                    results.append(fs.cat_file(p))
                except Exception as err:
                    results.append(err)
        return dict(zip(paths, results, strict=True))

    def _rm_tree(self, folder: str) -> None:
        """Delete every file below ``folder``, then its empty folders."""
        fs = self._fs
        files = self._find(folder)
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(path)
        if self._local or not callable(getattr(fs, "split_path", None)):
            dirs = {posixpath.dirname(p) for p in files} | {folder}
            for d in sorted(dirs, key=len, reverse=True):
                if d.startswith(folder):
                    with contextlib.suppress(Exception):
                        fs.rmdir(d)

    def _cat(self, path: str) -> bytes:
        with self._io("read", path):
            return bytes(self._fs.cat_file(path))

    # ------------------------------------------------------------- manifests
    def _manifest_path(self, version: str) -> str:
        return self._path("versions", version, MANIFEST)

    def _read_manifest(self, version: str) -> tuple[dict[str, Any], bytes]:
        path = self._manifest_path(version)
        try:
            raw = self._cat(path)
        except FileNotFoundError:
            raise self._not_found(f"version {version!r}") from None
        try:
            manifest = json.loads(raw)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError("not a churnlib manifest")
        except ValueError as err:
            raise IntegrityError(
                f"The manifest {self._url(path)} is not a valid churnlib manifest "
                f"({err}); the version is damaged: publish it again.",
                url=self._url(path),
            ) from None
        if manifest.get("version") != version:
            raise IntegrityError(
                f"The manifest {self._url(path)} belongs to version "
                f"{manifest.get('version')!r}, not {version!r}: it was copied or "
                "tampered with.",
                url=self._url(path),
            )
        return manifest, raw

    def _version_from(
        self, manifest: Mapping[str, Any], raw: bytes, aliases: Sequence[str]
    ) -> ModelVersion:
        version = str(manifest["version"])
        try:
            created = datetime.fromisoformat(str(manifest["created_at"]))
        except (KeyError, ValueError):
            created = version_time(version)
        return ModelVersion(
            version=version,
            url=self._url(self._path("versions", version)),
            created_at=created,
            sha256=hashlib.sha256(raw).hexdigest(),
            metrics=manifest.get("metrics") or {},
            aliases=tuple(sorted(aliases)),
            run_id=manifest.get("run_id"),
            metadata=manifest.get("metadata") or {},
        )

    # --------------------------------------------------------------- aliases
    def _alias_path(self, alias: str) -> str:
        return self._path("aliases", f"{alias}.json")

    def _read_alias(self, alias: str) -> dict[str, Any] | None:
        path = self._alias_path(alias)
        try:
            raw = self._cat(path)
        except FileNotFoundError:
            return None
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or not isinstance(state["history"], list):
                raise ValueError("no history")
        except (ValueError, KeyError) as err:
            raise IntegrityError(
                f"The alias file {self._url(path)} is damaged ({err}); promote "
                "a version to this alias again to rewrite it.",
                url=self._url(path),
            ) from None
        return state

    def _all_aliases(self) -> dict[str, dict[str, Any]]:
        folder = self._path("aliases")
        with self._io("list aliases in", folder):
            paths = [
                p
                for p in self._find(folder)
                if p.endswith(".json") and posixpath.dirname(p) == folder
            ]
            blobs = self._cat_many(paths)
        out = {}
        for path, raw in blobs.items():
            name = posixpath.basename(path)[: -len(".json")]
            if isinstance(raw, FileNotFoundError):
                continue  # deleted meanwhile
            if isinstance(raw, Exception):
                raise self._error(raw, "read", path)
            try:
                out[name] = json.loads(raw)
            except ValueError:
                logger.warning("skipping damaged alias file %s", self._url(path))
        return out

    @contextlib.contextmanager
    def _alias_lock(self, alias: str) -> Iterator[None]:
        """Serialize updates of one alias: a thread lock plus a lease file.

        The lease (``aliases/<alias>.lock``, created exclusively) keeps
        processes from losing each other's history entries; a lease older than
        30 s is considered abandoned. Correctness of the alias file itself never
        depends on it: every write replaces the whole file atomically.
        """
        key = (self._fs.unstrip_protocol(self._root), alias)
        with _thread_locks_guard:
            tlock = _thread_locks.setdefault(key, threading.Lock())
        with tlock:
            lock_path = self._path("aliases", f"{alias}.lock")
            token = secrets.token_hex(8)
            deadline = time.monotonic() + _LOCK_WAIT_SECONDS
            self._makedirs(self._path("aliases"))
            while True:
                payload = json.dumps({"token": token, "at": time.time()}).encode()
                try:
                    with self._io("lock alias in", lock_path):
                        self._write_exclusive(lock_path, payload)
                    break
                except FileExistsError:
                    try:
                        held = json.loads(self._cat(lock_path))
                        age = time.time() - float(held["at"])
                    except FileNotFoundError:
                        continue
                    except (ValueError, KeyError, TypeError):
                        age = _LOCK_STALE_SECONDS + 1
                    if age > _LOCK_STALE_SECONDS:
                        with contextlib.suppress(FileNotFoundError):
                            self._fs.rm_file(lock_path)
                        continue
                    if time.monotonic() > deadline:
                        raise DeploymentError(
                            f"The alias {alias!r} stayed locked by another writer "
                            f"for {_LOCK_WAIT_SECONDS:.0f}s ({self._url(lock_path)});"
                            " retry later.",
                            url=self.url,
                        ) from None
                    time.sleep(0.02 + 0.08 * random.random())
            try:
                yield
            finally:
                # ours unless it went stale (> 30 s) and another writer took it
                with contextlib.suppress(Exception):
                    self._fs.rm_file(lock_path)

    def _set_alias(self, alias: str, version: str, action: str) -> None:
        state = self._read_alias(alias) or {"alias": alias, "history": []}
        state["history"].append({"version": version, "action": action, "at": _now()})
        state["alias"] = alias
        state["version"] = version
        state["updated_at"] = _now()
        data = json.dumps(state, indent=2, sort_keys=True).encode()
        path = self._alias_path(alias)
        with self._io(f"update alias {alias!r} at", path):
            self._write_replace(path, data)

    # ---------------------------------------------------------------- lookup
    def _not_found(self, what: str) -> ModelNotFoundError:
        try:
            versions = [v.version for v in self.versions()]
            aliases = sorted(self._all_aliases())
        except DeploymentError:
            versions, aliases = [], []
        if not versions:
            listing = "the store has no versions yet; publish one first"
        else:
            shown = versions[-10:]
            more = f" (and {len(versions) - 10} older)" if len(versions) > 10 else ""
            listing = (
                f"versions: {', '.join(shown)}{more}; "
                f"aliases: {', '.join(aliases) or 'none'}; or 'latest'"
            )
        return ModelNotFoundError(
            f"No {what} in the model store {self.url}. Available {listing}.",
            url=self.url,
        )

    def _resolve(self, ref: Any) -> str:
        """Resolve a version id, alias, ``"latest"`` or ModelVersion to an id."""
        if isinstance(ref, ModelVersion):
            return ref.version
        if not isinstance(ref, str) or not ref:
            raise InvalidParameterError(
                "A model reference must be a version id, an alias name or "
                f"'latest'. Got {ref!r} instead."
            )
        if ref == "latest":
            versions = self._complete_versions()
            if not versions:
                raise self._not_found("version ('latest')")
            return versions[-1]
        if is_version_id(ref):
            return ref
        if ref in RESERVED:
            raise self._not_found(f"model {ref!r}")
        try:
            validate_alias(ref)
        except InvalidParameterError:
            raise self._not_found(f"version or alias {ref!r}") from None
        state = self._read_alias(ref)
        if state is None or not _alias_stack(state["history"]):
            raise self._not_found(f"alias {ref!r}")
        return _alias_stack(state["history"])[-1]

    def _complete_versions(self) -> list[str]:
        """Ids of versions that have a manifest, oldest first."""
        folder = self._path("versions")
        with self._io("list versions in", folder):
            paths = self._find(folder)
        ids = {
            posixpath.basename(posixpath.dirname(p))
            for p in paths
            if posixpath.basename(p) == MANIFEST
            and posixpath.dirname(posixpath.dirname(p)) == folder
        }
        return sorted(v for v in ids if is_version_id(v))

    # ---------------------------------------------------------------- public
    def versions(self) -> list[ModelVersion]:
        """Every complete version, oldest first.

        A folder without a readable manifest (a publish in progress, or one that
        died midway) is not a version and is not listed.

        Returns
        -------
        list of ModelVersion
        """
        ids = self._complete_versions()
        if not ids:
            return []
        paths = [self._manifest_path(v) for v in ids]
        with self._io("read manifests in", self._path("versions")):
            blobs = self._cat_many(paths)
        by_version: dict[str, list[str]] = {}
        for name, state in self._all_aliases().items():
            stack = _alias_stack(state.get("history", []))
            if stack:
                by_version.setdefault(stack[-1], []).append(name)
        out = []
        for version, path in zip(ids, paths, strict=True):
            raw = blobs[path]
            if isinstance(raw, FileNotFoundError):
                continue  # pruned meanwhile
            if isinstance(raw, Exception):
                raise self._error(raw, "read", path)
            try:
                manifest = json.loads(raw)
                if manifest.get("format") != FORMAT or manifest["version"] != version:
                    raise ValueError("not a manifest of this version")
            except (ValueError, KeyError, AttributeError):
                logger.warning("skipping damaged manifest %s", self._url(path))
                continue
            out.append(self._version_from(manifest, raw, by_version.get(version, [])))
        return out

    def get(self, ref: str | ModelVersion = "latest") -> ModelVersion:
        """Describe the version a reference points to, without loading it.

        Parameters
        ----------
        ref : str or ModelVersion, default="latest"
            A version id, an alias name or ``"latest"``.

        Returns
        -------
        ModelVersion

        Raises
        ------
        ModelNotFoundError
            If nothing matches; the message lists what exists.
        """
        version = self._resolve(ref)
        manifest, raw = self._read_manifest(version)
        return self._version_from(manifest, raw, self._aliases_of(version))

    def _aliases_of(self, version: str) -> list[str]:
        return [
            name
            for name, state in self._all_aliases().items()
            if (stack := _alias_stack(state.get("history", [])))
            and stack[-1] == version
        ]

    def publish(
        self,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        metadata: Mapping[str, Any] | None = None,
        alias: str | None = None,
        run_id: str | None = None,
        input_example: Any = None,
    ) -> ModelVersion:
        """Publish a fitted model as a new immutable version.

        Parameters
        ----------
        model : estimator or TrainingResult
            A fitted scikit-learn estimator (usually a ``Pipeline``). A
            ``TrainingResult`` (anything with ``.model``, ``.run_id`` and
            ``.metrics``) is unpacked: its metrics and run id are recorded
            unless given here.
        metrics : mapping of str to float, default=None
            Finite numbers recorded in the manifest.
        metadata : mapping, default=None
            JSON-serializable facts to keep with the version (never secrets:
            publishing refuses metadata that contains a credential of this store).
        alias : str, default=None
            Promote the new version to this alias once it is complete.
        run_id : str, default=None
            The MLflow run that trained the model.
        input_example : pandas.DataFrame, default=None
            A few input rows; their column names and dtypes become the feature
            schema of the manifest (otherwise only ``feature_names_in_``).

        Returns
        -------
        ModelVersion

        Raises
        ------
        DeploymentError
            If the storage cannot be written, or the model holds types churnlib
            would refuse to load. A publish that fails leaves no version behind.
        """
        if (
            hasattr(model, "model")
            and hasattr(model, "run_id")
            and not hasattr(model, "predict")
        ):
            result = model
            model = result.model
            run_id = run_id if run_id is not None else result.run_id
            if metrics is None:
                metrics = getattr(result, "metrics", None)
        if not hasattr(model, "predict"):
            raise InvalidParameterError(
                "The 'model' parameter of ModelStore.publish must be a fitted "
                "scikit-learn estimator (with predict) or a TrainingResult. Got "
                f"{type(model).__name__} instead."
            )
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)
        if alias is not None:
            validate_alias(alias)
        if run_id is not None and not isinstance(run_id, str):
            raise InvalidParameterError(
                f"The 'run_id' parameter of ModelStore.publish must be a str or "
                f"None. Got {run_id!r} instead."
            )
        metrics = _clean_metrics(metrics)
        metadata = _clean_metadata(metadata)
        features = _feature_schema(model, input_example)
        described = json.dumps([metrics, metadata, run_id, features])
        if any(s in described for s in self._secrets):
            raise InvalidParameterError(
                "The metadata passed to ModelStore.publish contains a credential "
                "from this store's storage_options or signing key; remove it."
            )

        import skops.io as sio

        data = sio.dumps(model)
        # hash the model bytes in a thread (hashlib releases the GIL) while
        # the type audit runs here
        digest: dict[str, str] = {}
        hasher = threading.Thread(
            target=lambda: digest.update(sha256=hashlib.sha256(data).hexdigest())
        )
        hasher.start()
        try:
            accepted, refused = trusted_types_for(untrusted_types(data), self._trusted)
        finally:
            hasher.join()
        if refused:
            raise DeploymentError(
                f"The model contains types churnlib does not trust when loading: "
                f"{refused}. If you trust them, pass "
                f"ModelStore(..., trusted_types={refused!r}).",
                url=self.url,
            )

        version = new_version_id()
        created_at = version_time(version)
        files: dict[str, bytes] = {
            f"model/{name}": blob
            for name, blob in mlflow_files(
                trusted_types=accepted, model_size=len(data), created_at=created_at
            ).items()
        }
        files[MODEL_FILE] = data
        vdir = self._path("versions", version)
        self._ensure_root()
        try:
            entries = {}
            with self._io("write version files to", vdir):
                self._makedirs(posixpath.join(vdir, "model"))
                for name, blob in files.items():
                    entries[name] = {
                        "sha256": digest["sha256"]
                        if blob is data
                        else hashlib.sha256(blob).hexdigest(),
                        "size": len(blob),
                    }
                # one call: async backends upload the files concurrently
                self._fs.pipe(
                    {posixpath.join(vdir, name): blob for name, blob in files.items()}
                )
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "version": version,
                "created_at": created_at.isoformat(),
                "run_id": run_id,
                "model_file": MODEL_FILE,
                "serialization": "skops",
                "trusted_types": accepted,
                "files": entries,
                "metrics": metrics,
                "metadata": metadata,
                "features": features,
                "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
                "libraries": library_versions(),
            }
            if self._key is not None:
                manifest["signature"] = {
                    "algorithm": "hmac-sha256",
                    "value": sign(manifest, self._key),
                }
            raw = json.dumps(manifest, indent=2, sort_keys=True).encode()
            path = self._manifest_path(version)
            with self._io("write the manifest", path):
                self._write_exclusive(path, raw)
        except FileExistsError:
            raise DeploymentError(
                f"Version {version} already exists in {self.url}; publish again.",
                url=self.url,
            ) from None
        except FileNotFoundError as err:
            with contextlib.suppress(Exception):
                self._rm_tree(vdir)
            raise DeploymentError(
                f"Could not write version {version} to {self.url}: the location "
                "does not exist (was the bucket or folder deleted?). Create it, "
                "or use create=True.",
                url=self.url,
            ) from err
        except BaseException:
            with contextlib.suppress(Exception):
                self._rm_tree(vdir)
            raise
        logger.info("published %s to %s", version, self.url)
        published = self._version_from(manifest, raw, [])
        if alias is not None:
            try:
                return self.promote(version, alias)
            except DeploymentError as err:
                raise DeploymentError(
                    f"Version {version} was published to {self.url}, but setting "
                    f"alias {alias!r} failed: {err} Run "
                    f"store.promote({version!r}, {alias!r}) to retry.",
                    url=self.url,
                ) from err
        return published

    def _verified(self, version: str) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
        """Read a version: its manifest and every file, all checked.

        Checks the signature (when the store has a key), that file names are
        safe relative paths, and every file's size and SHA-256.
        """
        manifest, raw = self._read_manifest(version)
        mpath = self._manifest_path(version)
        if self._key is not None:
            if "signature" not in manifest:
                raise IntegrityError(
                    f"Version {version} in {self.url} is not signed, and this store "
                    "requires signatures (a signing key is set). Publish it again "
                    "with the signing key.",
                    url=self._url(mpath),
                )
            if not verify(manifest, self._key):
                raise IntegrityError(
                    f"The signature of {self._url(mpath)} does not match: the "
                    "manifest was altered or signed with another key. Refusing to "
                    "load it.",
                    url=self._url(mpath),
                )
        files = manifest.get("files")
        if not isinstance(files, dict) or manifest.get("model_file") not in files:
            raise IntegrityError(
                f"The manifest {self._url(mpath)} does not list the model file.",
                url=self._url(mpath),
            )
        vdir = self._path("versions", version)
        for name in files:
            norm = posixpath.normpath(str(name))
            if name.startswith("/") or norm != name or norm.startswith(".."):
                raise IntegrityError(
                    f"The manifest {self._url(mpath)} lists an unsafe path "
                    f"{name!r}; refusing to load it.",
                    url=self._url(mpath),
                )
        names = list(files)
        paths = [posixpath.join(vdir, n) for n in names]
        with self._io("read version files from", vdir):
            blobs = self._cat_many(paths)
        out: dict[str, bytes] = {}
        for name, path in zip(names, paths, strict=True):
            blob = blobs[path]
            if isinstance(blob, FileNotFoundError):
                raise IntegrityError(
                    f"The file {self._url(path)} listed in the manifest is missing; "
                    "the version is damaged.",
                    url=self._url(path),
                )
            if isinstance(blob, Exception):
                raise self._error(blob, "read", path)
            expected = files[name]
            if not isinstance(expected, Mapping) or (
                len(blob) != expected.get("size")
                or hashlib.sha256(blob).hexdigest() != expected.get("sha256")
            ):
                raise IntegrityError(
                    f"The file {self._url(path)} does not match its manifest "
                    "(SHA-256 or size differs): it was altered or damaged. "
                    "Refusing to load it.",
                    url=self._url(path),
                )
            out[name] = bytes(blob)
        return manifest, raw, out

    def download(
        self, ref: str | ModelVersion, path: str | os.PathLike[str]
    ) -> ModelVersion:
        """Copy a verified version to a local folder.

        ``<path>/model`` is then an MLflow model directory
        (``mlflow.pyfunc.load_model(f"{path}/model")``, ``mlflow models serve
        -m <path>/model``) and ``<path>/manifest.json`` its manifest. Every file
        is checked against the manifest (and the signature) before anything is
        written.

        Parameters
        ----------
        ref : str or ModelVersion
            A version id, an alias name or ``"latest"``.
        path : str or os.PathLike
            A local folder; created if missing. Existing files are overwritten.

        Returns
        -------
        ModelVersion
        """
        from pathlib import Path

        version = self._resolve(ref)
        manifest, raw, blobs = self._verified(version)
        dest = Path(path)
        for name, blob in {**blobs, MANIFEST: raw}.items():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        return self._version_from(manifest, raw, self._aliases_of(version))

    def load(self, ref: str | ModelVersion = "latest") -> Any:
        """Verify and load a model.

        Every file's size and SHA-256 is checked against the manifest (and the
        manifest's HMAC signature when the store has a signing key) **before**
        anything is deserialized. The model is rebuilt with :func:`skops.io.loads`
        and churnlib's own trusted-type list; nothing is unpickled and MLflow is
        not needed.

        Parameters
        ----------
        ref : str or ModelVersion, default="latest"
            A version id, an alias name or ``"latest"``.

        Returns
        -------
        estimator
            The fitted model.

        Raises
        ------
        ModelNotFoundError
            If ``ref`` matches nothing (the message lists what exists).
        IntegrityError
            If a file is missing, differs from its manifest, the signature is
            missing or wrong, or the model holds untrusted types.
        """
        version = self._resolve(ref)
        manifest, _, blobs = self._verified(version)
        model_bytes = blobs[manifest["model_file"]]
        vdir = self._path("versions", version)
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        trusted = load_trusted(manifest.get("trusted_types") or [], self._trusted)
        try:
            model = sio.loads(model_bytes, trusted=trusted)
        except UntrustedTypesFoundException as err:
            refused = str(err).split("\n", 1)[0]
            raise IntegrityError(
                f"The model of version {version} contains types churnlib does not "
                f"trust ({refused}). If you trust them, pass "
                "ModelStore(..., trusted_types=[...]) with their names.",
                url=self._url(vdir),
            ) from None
        except Exception as err:
            raise IntegrityError(
                f"The model file of version {version} is not a readable skops "
                f"file ({type(err).__name__}: {err}).",
                url=self._url(vdir),
            ) from err
        logger.info("loaded %s from %s", version, self.url)
        return model

    def promote(self, version: str | ModelVersion, alias: str) -> ModelVersion:
        """Point ``alias`` at ``version``, keeping the alias's history.

        Parameters
        ----------
        version : str or ModelVersion
            A version id, another alias, ``"latest"`` or a ModelVersion.
        alias : str
            Alias name: letters, digits, ``_``, ``.``, ``-``; starts with a letter.

        Returns
        -------
        ModelVersion
            The version, with its aliases updated.
        """
        alias = validate_alias(alias)
        target = self._resolve(version)
        manifest, raw = self._read_manifest(target)  # must be a real version
        self._ensure_root()
        with self._alias_lock(alias):
            state = self._read_alias(alias)
            stack = _alias_stack(state["history"]) if state else []
            if not stack or stack[-1] != target:
                self._set_alias(alias, target, "promote")
                logger.info("alias %s -> %s in %s", alias, target, self.url)
        return self._version_from(manifest, raw, self._aliases_of(target))

    def rollback(self, alias: str) -> ModelVersion:
        """Point ``alias`` back at the version it pointed to before.

        Rolling back again goes further back; the history keeps every step.

        Parameters
        ----------
        alias : str

        Returns
        -------
        ModelVersion
            The version the alias now points to.

        Raises
        ------
        ModelNotFoundError
            If the alias does not exist.
        DeploymentError
            If the alias has no earlier version.
        """
        alias = validate_alias(alias)
        with self._alias_lock(alias):
            state = self._read_alias(alias)
            if state is None:
                raise self._not_found(f"alias {alias!r}")
            stack = _alias_stack(state["history"])
            if len(stack) < 2:
                raise DeploymentError(
                    f"The alias {alias!r} in {self.url} has no previous version to "
                    f"roll back to (it points to {stack[-1] if stack else None})."
                    " Promote a version instead.",
                    url=self.url,
                )
            target = stack[-2]
            self._read_manifest(target)
            self._set_alias(alias, target, "rollback")
            logger.info("alias %s rolled back to %s in %s", alias, target, self.url)
        return self.get(target)

    def alias_history(self, alias: str) -> list[dict[str, Any]]:
        """Return the alias's history, oldest first (``version``/``action``/``at``)."""
        alias = validate_alias(alias)
        state = self._read_alias(alias)
        if state is None:
            raise self._not_found(f"alias {alias!r}")
        return [dict(entry) for entry in state["history"]]

    def prune(self, keep: int = 5) -> list[str]:
        """Delete old versions, keeping the newest ``keep`` and every aliased one.

        A version an alias points to, or could roll back to, is never deleted.
        Folders of publishes that never completed are removed once they are more
        than a day old (younger ones may be a publish in progress).

        Parameters
        ----------
        keep : int, default=5
            How many of the newest versions to keep regardless of aliases.

        Returns
        -------
        list of str
            The ids of the deleted versions, oldest first.
        """
        validate_params(
            {"keep": [Interval(Integral, 0, None, closed="left")]},
            {"keep": keep},
            "ModelStore.prune",
        )
        complete = self._complete_versions()
        protected = set(complete[len(complete) - keep :] if keep else [])
        for state in self._all_aliases().values():
            protected.update(_alias_stack(state.get("history", [])))
        doomed = [v for v in complete if v not in protected]
        fs = self._fs
        folder = self._path("versions")
        with self._io("list versions in", folder):
            present = {
                posixpath.relpath(p, folder).split("/", 1)[0]
                for p in self._find(folder)
            }
        cutoff = datetime.now(UTC) - _INCOMPLETE_AFTER
        stale = [
            v
            for v in present
            if is_version_id(v) and v not in complete and version_time(v) < cutoff
        ]
        removed = []
        for version in doomed + stale:
            vdir = self._path("versions", version)
            with self._io("delete", vdir):
                with contextlib.suppress(FileNotFoundError):
                    fs.rm_file(self._manifest_path(version))  # invisible first
                self._rm_tree(vdir)
            if version in complete:
                removed.append(version)
        if removed:
            logger.info("pruned %d versions from %s", len(removed), self.url)
        return removed

    @classmethod
    def from_reference(
        cls,
        reference: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        signing_key: str | bytes | None = None,
        create: bool = False,
        trusted_types: Sequence[str] | None = None,
    ) -> tuple[ModelStore, str]:
        """Split ``"<store url>@<ref>"`` into a store and a reference.

        Parameters
        ----------
        reference : str
            For example ``"s3://bucket/models/churn@production"``. Without
            ``@``, the reference is ``"latest"``.
        storage_options, signing_key, create, trusted_types
            As for :class:`ModelStore` (``create`` defaults to False here).

        Returns
        -------
        store : ModelStore
        ref : str

        Examples
        --------
        >>> store, ref = ModelStore.from_reference("memory://models/churn@production")
        >>> store, ref
        (ModelStore('memory://models/churn'), 'production')
        """
        url, ref = parse_reference(str(reference))
        store = cls(
            url,
            storage_options=storage_options,
            signing_key=signing_key,
            create=create,
            trusted_types=trusted_types,
        )
        return store, ref


def load_model(
    reference: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    signing_key: str | bytes | None = None,
    trusted_types: Sequence[str] | None = None,
) -> Any:
    """Load ``"<store url>@<version id | alias | latest>"`` from a model store.

    Parameters
    ----------
    reference : str
        For example ``"s3://bucket/models/churn@production"``; without ``@``
        the newest version is loaded.
    storage_options : mapping, default=None
        Passed to fsspec.
    signing_key : str or bytes, default=None
        As for :class:`ModelStore` (``CHURNLIB_SIGNING_KEY`` by default).
    trusted_types : sequence of str, default=None
        As for :class:`ModelStore`.

    Returns
    -------
    estimator
        The verified, fitted model.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from churnlib.deployment import ModelStore, load_model
    >>> model = DummyClassifier().fit([[0], [1]], [0, 1])
    >>> _ = ModelStore("memory://doctest/load").publish(model, alias="prod")
    >>> load_model("memory://doctest/load@prod")
    DummyClassifier()
    """
    store, ref = ModelStore.from_reference(
        reference,
        storage_options=storage_options,
        signing_key=signing_key,
        trusted_types=trusted_types,
    )
    return store.load(ref)
