"""The store's I/O backend: one fsspec filesystem, bounded, atomic, secret-free.

Everything the model store does to storage goes through :class:`StoreBackend`:
opening the filesystem (with the timeouts of :mod:`churnlib._core.timeouts`),
creating the bucket or folder, whole-file reads, exclusive creates, atomic
replaces, listings and deletes. Every backend failure leaves it as a
:class:`~churnlib.exceptions.DeploymentError` whose message and chained causes
hold no credential; a storage request that does not answer fails after the
store's ``timeout``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from churnlib._core.timeouts import (
    StorageTimeoutError,
    bound_sdk_retries,
    bounded_call,
    bounded_storage_options,
    resolve_timeout,
)
from churnlib._urls import check_storage_url, redact_url, redact_urls_in
from churnlib.deployment._security import redact, secret_values
from churnlib.exceptions import ChurnlibError, DeploymentError

__all__ = ["StoreBackend", "check_store_url"]

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


def check_store_url(url: str) -> str:
    """Refuse store URLs that carry a credential; return the protocol.

    The rule for every location churnlib writes to:
    :func:`churnlib._urls.check_storage_url`.
    """
    return check_storage_url(url, "The model store URL")


class StoreBackend:
    """One filesystem location, with bounded, atomic and redacted operations.

    Parameters
    ----------
    url : str
        The store URL (already checked by :func:`check_store_url`).
    storage_options : mapping
        fsspec options; timeouts are added unless given.
    create : bool
        Create the bucket/container/folder on first write when missing.
    timeout : float or None
        Seconds one storage request may take (see :mod:`churnlib._core.timeouts`).
    extra_secrets : sequence of str or bytes
        More values to scrub from messages (the signing key).
    """

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any],
        *,
        create: bool,
        timeout: float | None,
        extra_secrets: Sequence[str | bytes] = (),
    ) -> None:
        import fsspec

        self.timeout = resolve_timeout(timeout)
        self.secrets = secret_values(storage_options, *extra_secrets)
        self.url = redact(redact_url(url.rstrip("/") or url), self.secrets)
        self.create = create
        protocol = check_store_url(url)
        options = bounded_storage_options(
            protocol, storage_options, timeout=self.timeout
        )
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
                f"{type(err).__name__}: {redact(str(err), self.secrets)}. "
                "Check the URL and storage_options.",
                url=self.url,
            ) from None
        self.fs: Any = fs
        with contextlib.suppress(Exception):
            bound_sdk_retries(fs)
        self.root: str = root.rstrip("/") or root
        from fsspec.implementations.local import LocalFileSystem

        self.local = isinstance(fs, LocalFileSystem)
        self._root_ready = False

    # -------------------------------------------------------------- naming
    def path(self, *parts: str) -> str:
        """Join ``parts`` below the store root."""
        return posixpath.join(self.root, *parts)

    def url_of(self, path: str) -> str:
        """Return the URL of ``path``, safe to show."""
        return redact(redact_url(self.fs.unstrip_protocol(path)), self.secrets)

    @property
    def identity(self) -> str:
        """A key naming this location in process-wide caches."""
        return str(self.fs.unstrip_protocol(self.root))

    # -------------------------------------------------------------- errors
    def error(
        self, err: BaseException, action: str, path: str | None = None
    ) -> DeploymentError:
        """Build a :class:`DeploymentError` for a backend failure, without secrets.

        The original error stays chained as ``__cause__`` only when neither it
        nor anything it chains holds a secret of this store.
        """
        where = self.url_of(path) if path else self.url
        if isinstance(err, StorageTimeoutError):
            out = DeploymentError(
                f"Could not {action} {where}: the storage did not answer within "
                f"{self.timeout:g} s. Check that the endpoint is reachable, or "
                "raise the bound with ModelStore(..., timeout=seconds) or the "
                "CHURNLIB_STORAGE_TIMEOUT environment variable.",
                url=where,
            )
        else:
            text = redact(redact_urls_in(f"{type(err).__name__}: {err}"), self.secrets)
            if isinstance(err, PermissionError):
                fix = "the credentials in storage_options do not allow it"
            else:
                fix = "check that the storage is reachable and the credentials allow it"
            out = DeploymentError(
                f"Could not {action} {where} ({text[:500]}); {fix}.", url=where
            )
        chain = "".join(traceback.format_exception(err))
        safe = not any(s in chain for s in self.secrets) and chain == redact_urls_in(
            chain
        )
        if not safe:
            # raising inside an except block sets __context__ to ``err`` anyway:
            # scrub the original chain itself so no link of it holds a secret
            self._scrub(err)
        out.__cause__ = err if safe else None
        out.__suppress_context__ = True
        return out

    def _scrub(self, err: BaseException) -> None:
        """Redact the messages of ``err`` and everything it chains, in place."""
        seen: set[int] = set()
        todo: list[BaseException | None] = [err]
        while todo:
            e = todo.pop()
            if e is None or id(e) in seen:
                continue
            seen.add(id(e))

            def clean(value: Any) -> Any:
                if isinstance(value, str | bytes):
                    text = (
                        value.decode(errors="replace")
                        if isinstance(value, bytes)
                        else value
                    )
                    return redact(redact_urls_in(text), self.secrets)
                return "***" if value is not None else None

            with contextlib.suppress(Exception):
                e.args = tuple(clean(a) for a in e.args)
            for attr in ("filename", "filename2", "strerror", "msg", "kwargs"):
                if getattr(e, attr, None) is not None:
                    with contextlib.suppress(Exception):
                        setattr(e, attr, clean(getattr(e, attr)))
            e.__traceback__ = None  # frames hold the secret in their locals
            todo.extend([e.__cause__, e.__context__])

    @contextlib.contextmanager
    def io(self, action: str, path: str | None = None) -> Iterator[None]:
        """Turn backend failures inside the block into a redacted DeploymentError.

        ``FileNotFoundError`` and ``FileExistsError`` pass through for the
        caller to handle (a missing alias, an exclusive create that lost).
        """
        try:
            yield
        except (ChurnlibError, FileNotFoundError, FileExistsError):
            raise
        except Exception as err:
            wrapped = self.error(err, action, path)
            if wrapped.__cause__ is None:  # the original text holds a secret
                raise wrapped from None
            raise wrapped from err

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``fs.<method>(...)`` within the store's time bound."""
        return bounded_call(self.fs, method, *args, timeout=self.timeout, **kwargs)

    # ------------------------------------------------------------ location
    def ensure_root(self) -> None:
        """Create (or with ``create=False``, check) the bucket/container/folder."""
        if self._root_ready:
            return
        fs, root = self.fs, self.root
        split = getattr(fs, "split_path", None)  # object stores: bucket/key
        container = split(root)[0] if callable(split) else root
        # info, not exists: exists() turns a dead endpoint into False (after
        # its retries), and the store would then try to create the bucket
        try:
            with (
                self.io("check the store location", container),
                warnings.catch_warnings(),
            ):
                # adlfs warns when it cannot read container properties
                warnings.simplefilter("ignore", UserWarning)
                self.call("info", container)
            exists = True
        except FileNotFoundError:
            exists = False
        if not exists and not self.create:
            raise DeploymentError(
                f"The model store location {self.url_of(container)} does not "
                "exist; create it or pass create=True.",
                url=self.url,
            )
        if not exists or self.local:
            try:
                with self.io("create the store location", container):
                    if container == root:
                        fs.makedirs(root, exist_ok=True)
                    else:
                        self.call("mkdir", container)
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

    def makedirs(self, path: str) -> None:
        """Create a local folder; object stores have none to create."""
        if self.local:
            with self.io("create the folder", path):
                self.fs.makedirs(path, exist_ok=True)

    # -------------------------------------------------------------- writes
    def _tmp(self, path: str) -> str:
        return f"{path}.tmp-{secrets.token_hex(6)}"

    def write_exclusive(self, path: str, data: bytes) -> None:
        """Create ``path`` holding ``data``; ``FileExistsError`` if it exists.

        Local files: a temporary file hard-linked into place (atomic and
        exclusive). Elsewhere one whole-object write in create mode
        (``If-None-Match: *`` on S3, ``overwrite=False`` on Azure), which
        object stores apply atomically.
        """
        if self.local:
            # no fsync: after a power loss a torn manifest or model file fails
            # its checks, so the version is invisible or refused, never wrong
            tmp = self._tmp(path)
            with open(tmp, "wb") as f:
                f.write(data)
            try:
                os.link(tmp, path)
            finally:
                os.unlink(tmp)
            return
        self.call("pipe_file", path, data, mode="create")

    def write_replace(self, path: str, data: bytes) -> None:
        """Replace ``path`` atomically: readers see the old or the new bytes."""
        if self.local:
            tmp = self._tmp(path)
            try:
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            return
        self.call("pipe_file", path, data)

    def write_many(self, files: Mapping[str, bytes]) -> None:
        """Write several whole files (concurrently on async backends)."""
        self.call("pipe", dict(files))

    # --------------------------------------------------------------- reads
    def cat(self, path: str) -> bytes:
        """Read a whole file (``FileNotFoundError`` if missing)."""
        with self.io("read", path):
            return bytes(self.call("cat_file", path))

    def find(self, folder: str) -> list[str]:
        """Every file below ``folder`` (no glob: paths may hold ``[`` or ``*``)."""
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(folder)
        try:
            return [p.rstrip("/") for p in self.call("find", folder)]
        except FileNotFoundError:
            return []

    def cat_many(self, paths: Sequence[str]) -> dict[str, bytes | Exception]:
        """Read many files (concurrently on async backends); errors as values."""
        fs = self.fs
        if getattr(fs, "async_impl", False) and len(paths) > 1:
            import asyncio

            from fsspec.asyn import sync
            from fsspec.exceptions import FSTimeoutError

            async def gather() -> list[Any]:
                return await asyncio.gather(
                    *(fs._cat_file(p) for p in paths), return_exceptions=True
                )

            try:
                results = sync(fs.loop, gather, timeout=self.timeout)
            except FSTimeoutError as err:
                raise StorageTimeoutError(
                    f"no answer within {self.timeout:g} s"
                ) from err
        else:
            results = []
            for p in paths:
                try:
                    results.append(self.call("cat_file", p))
                except Exception as err:
                    results.append(err)
        return dict(zip(paths, results, strict=True))

    # -------------------------------------------------------------- delete
    def rm_file(self, path: str) -> None:
        """Delete one file; a missing file is not an error."""
        with contextlib.suppress(FileNotFoundError):
            self.call("rm_file", path)

    def rm_tree(self, folder: str) -> None:
        """Delete every file below ``folder``, then its empty folders."""
        fs = self.fs
        files = self.find(folder)
        for path in files:
            self.rm_file(path)
        if self.local or not callable(getattr(fs, "split_path", None)):
            dirs = {posixpath.dirname(p) for p in files} | {folder}
            for d in sorted(dirs, key=len, reverse=True):
                if d.startswith(folder):
                    with contextlib.suppress(Exception):
                        fs.rmdir(d)
