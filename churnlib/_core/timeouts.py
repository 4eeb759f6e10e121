"""Bound the time a dead or silent storage endpoint can cost.

One small helper every package that talks to fsspec storage can reuse
(deployment, monitoring, scoring): :func:`bounded_storage_options` puts connect
and read timeouts and a small retry budget into the ``storage_options`` of the
cloud backends (s3fs/botocore, adlfs/azure-sdk, gcsfs), and :func:`bounded_call`
runs one filesystem operation with a hard wall-clock bound. An endpoint that
accepts TCP connections and never answers then costs at most ``timeout``
seconds per storage request instead of botocore's read timeout times its
attempts times s3fs' retries (more than 10 minutes).
:class:`BoundedFileSystem` wraps a filesystem so that every call, and every
read and write of the files it opens, goes through :func:`bounded_call`: the
table reader and writer, the monitor store and batch scoring use it;
:func:`timeout_message` is the one wording of the failure.

The default bound is :data:`DEFAULT_TIMEOUT` (60 s); ``CHURNLIB_STORAGE_TIMEOUT``
overrides it process-wide, and an explicit ``timeout=`` argument wins over both.
"""

from __future__ import annotations

import copy
import functools
import io
import math
import os
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "BoundedFileSystem",
    "StorageTimeoutError",
    "bound_sdk_retries",
    "bounded_call",
    "bounded_storage_options",
    "resolve_timeout",
    "timeout_message",
]

#: Seconds one storage request may take before it fails (default).
DEFAULT_TIMEOUT = 60.0
#: Environment variable overriding :data:`DEFAULT_TIMEOUT`.
TIMEOUT_ENV = "CHURNLIB_STORAGE_TIMEOUT"


class StorageTimeoutError(TimeoutError):
    """A storage request did not finish within the bound (internal signal).

    Callers translate it into their own churnlib error, naming the URL.
    ``where`` is the label of the :class:`BoundedFileSystem` it came from, if
    it has one (kept when the error travels between processes).
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.where))


def resolve_timeout(timeout: float | None = None) -> float:
    """Return the bound in seconds: ``timeout``, else the environment, else 60.

    Parameters
    ----------
    timeout : float, default=None
        A positive number of seconds.

    Returns
    -------
    float

    Examples
    --------
    >>> resolve_timeout(5)
    5.0
    """
    from churnlib.exceptions import InvalidParameterError

    source = "timeout"
    if timeout is None:
        env = os.environ.get(TIMEOUT_ENV)
        if not env:
            return DEFAULT_TIMEOUT
        source = TIMEOUT_ENV
        try:
            timeout = float(env)
        except ValueError:
            timeout = math.nan
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise InvalidParameterError(
            f"The storage {source!r} must be a positive, finite number of seconds. "
            f"Got {timeout!r} instead."
        )
    return float(timeout)


def _defaults(protocol: str, timeout: float) -> dict[str, Any]:
    connect = min(10.0, timeout)
    if protocol in ("s3", "s3a"):
        return {
            "config_kwargs": {
                "connect_timeout": connect,
                "read_timeout": timeout,
                "retries": {"max_attempts": 2, "mode": "standard"},
            },
        }
    if protocol in ("az", "abfs", "abfss"):
        return {"connection_timeout": connect, "read_timeout": timeout}
    if protocol in ("gs", "gcs"):
        return {"timeout": timeout, "requests_timeout": timeout}
    return {}


def bounded_storage_options(
    protocol: str, options: Mapping[str, Any], *, timeout: float | None = None
) -> dict[str, Any]:
    """Return ``options`` over timeout and retry defaults for ``protocol``.

    User values win, one level deep (a user ``config_kwargs`` keeps churnlib's
    keys it does not set). Protocols without network access get ``options``
    unchanged.

    Parameters
    ----------
    protocol : str
        The fsspec protocol (``"s3"``, ``"az"``, ``"gs"``, ``"file"``...).
    options : mapping
        The caller's ``storage_options``.
    timeout : float, default=None
        Seconds per request; see :func:`resolve_timeout`.

    Returns
    -------
    dict

    Examples
    --------
    >>> opts = bounded_storage_options("s3", {"key": "k"}, timeout=5)
    >>> opts["config_kwargs"]["read_timeout"], opts["key"]
    (5.0, 'k')
    >>> bounded_storage_options("file", {"auto_mkdir": True})
    {'auto_mkdir': True}
    """
    # a deep copy: botocore rewrites the retries dict it is given, in place
    defaults = copy.deepcopy(_defaults(protocol, resolve_timeout(timeout)))
    merged: dict[str, Any] = {}
    for key, value in defaults.items():
        user = options.get(key)
        if isinstance(value, Mapping) and isinstance(user, Mapping):
            merged[key] = {**value, **user}
        elif key in options:
            merged[key] = options[key]
        else:
            merged[key] = value
    merged.update({k: v for k, v in options.items() if k not in merged})
    return merged


def bound_sdk_retries(fs: Any) -> None:
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


def bounded_call(
    fs: Any, method: str, *args: Any, timeout: float, **kwargs: Any
) -> Any:
    """Call ``fs.<method>(*args, **kwargs)``, failing after ``timeout`` seconds.

    On async filesystems (s3fs, adlfs, gcsfs) the coroutine ``fs._<method>``
    runs on fsspec's event loop under :func:`asyncio.wait_for`, so it is
    cancelled (its connection closed) when the bound passes. Synchronous
    filesystems (local, memory) are called directly: they have no endpoint
    to wait for.

    Raises
    ------
    StorageTimeoutError
        If the call did not finish in time.
    """
    coroutine = (
        getattr(fs, f"_{method}", None) if getattr(fs, "async_impl", False) else None
    )
    if coroutine is None or getattr(fs, "loop", None) is None:
        return getattr(fs, method)(*args, **kwargs)
    from fsspec.asyn import sync
    from fsspec.exceptions import FSTimeoutError

    try:
        return sync(fs.loop, coroutine, *args, timeout=timeout, **kwargs)
    except FSTimeoutError as err:
        raise StorageTimeoutError(f"no answer within {timeout:g} s") from err


def timeout_message(action: str, where: str, timeout: float, knob: str) -> str:
    """Say that the storage did not answer, and how to raise the bound.

    Parameters
    ----------
    action : str
        What was being done (``"read"``, ``"write"``...).
    where : str
        The location, already redacted.
    timeout : float
        The bound that passed, in seconds.
    knob : str
        How the caller raises the bound (``"read_table(..., timeout=seconds)"``).

    Examples
    --------
    >>> timeout_message("read", "'s3://b/t.csv'", 2, "read_table(..., timeout=s)")
    "Could not read 's3://b/t.csv': the storage did not answer within 2 s. Check
    that the endpoint is reachable, or raise the bound with
    read_table(..., timeout=s) or the CHURNLIB_STORAGE_TIMEOUT environment
    variable."
    """
    return (
        f"Could not {action} {where}: the storage did not answer within "
        f"{timeout:g} s. Check that the endpoint is reachable, or raise the bound "
        f"with {knob} or the {TIMEOUT_ENV} environment variable."
    )


#: Largest byte range one bounded read request asks for.
_READ_REQUEST = 16 * 2**20
#: Read-ahead buffer of bounded files (one request fills it).
_READ_BUFFER = 4 * 2**20


class _BoundedReader(io.RawIOBase):
    """A read-only, seekable file whose every range request is bounded."""

    def __init__(self, owner: BoundedFileSystem, path: str, size: int) -> None:
        super().__init__()
        self._owner, self._path, self._size = owner, path, size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}
        self._pos = max(0, base[whence] + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._pos + len(view), self._size, self._pos + _READ_REQUEST)
        if end <= self._pos:
            return 0
        data = self._owner.cat_file(self._path, start=self._pos, end=end)
        n = len(data)
        view[:n] = data
        self._pos += n
        return n


class _BoundedWriter(io.BytesIO):
    """Bytes kept in memory and sent in one bounded request on ``close()``.

    Object stores make one whole-object write visible at once, so a file
    appears complete or not at all; leaving a ``with`` block by an exception
    (or :meth:`abandon`) sends nothing.
    """

    def __init__(self, owner: BoundedFileSystem, path: str, exclusive: bool) -> None:
        super().__init__()
        self._owner, self._path, self._exclusive = owner, path, exclusive
        self._sent = False

    def abandon(self) -> None:
        """Close without writing anything."""
        self._sent = True
        super().close()

    def close(self) -> None:
        if self.closed or self._sent:
            super().close()
            return
        self._sent = True
        try:
            data = self.getvalue()
            if self._exclusive:
                self._owner.pipe_file(self._path, data, mode="create")
            else:
                self._owner.pipe_file(self._path, data)
        finally:
            super().close()

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            self.abandon()
        else:
            self.close()


class BoundedFileSystem:
    """An fsspec filesystem whose every storage request ends within the bound.

    On asynchronous filesystems (s3fs, adlfs, gcsfs, HTTP) the listing,
    reading, writing and deleting methods run through :func:`bounded_call`,
    so a silent endpoint fails after ``timeout`` seconds with
    :class:`StorageTimeoutError` whatever the client's own retries. Files
    opened for reading fetch bounded byte ranges (at most 16 MiB a request,
    through a 4 MiB read-ahead buffer); files opened for writing are sent in
    one bounded request when closed. Local and in-memory filesystems have no
    endpoint and are used as they are. Anything else is the wrapped
    filesystem's own attribute.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem (opened with :func:`bounded_storage_options`).
    timeout : float, default=None
        Seconds one request may take; see :func:`resolve_timeout`.
    where : str, default=None
        A label (the redacted URL) put on the :class:`StorageTimeoutError`
        this filesystem raises, so a caller with several can tell which one
        hung.

    Examples
    --------
    >>> import fsspec
    >>> fs = BoundedFileSystem(fsspec.filesystem("memory"), timeout=5)
    >>> fs.pipe_file("/bounded-doc/a.txt", b"hello")
    >>> with fs.open("/bounded-doc/a.txt", "rb") as f:
    ...     f.read()
    b'hello'
    >>> fs.timeout, fs.protocol
    (5.0, 'memory')
    """

    _BOUNDED = frozenset(
        {
            "cat",
            "cat_file",
            "copy",
            "cp_file",
            "du",
            "exists",
            "find",
            "get_file",
            "glob",
            "info",
            "isdir",
            "isfile",
            "ls",
            "makedirs",
            "mkdir",
            "pipe",
            "pipe_file",
            "put_file",
            "rm",
            "rm_file",
            "rmdir",
            "size",
        }
    )

    _PREDICATES = frozenset({"exists", "isdir", "isfile"})

    def __init__(
        self, fs: Any, timeout: float | None = None, *, where: str | None = None
    ) -> None:
        if isinstance(fs, BoundedFileSystem):
            fs = fs.fs
        self.fs: Any = fs
        self.timeout = resolve_timeout(timeout)
        self.where = where
        self.remote = bool(getattr(fs, "async_impl", False))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.fs, self.timeout, self.where))

    def __repr__(self) -> str:
        return f"BoundedFileSystem({self.fs!r}, timeout={self.timeout:g})"

    def __getattr__(self, name: str) -> Any:
        if name in ("fs", "where", "timeout", "remote") or name.startswith("__"):
            raise AttributeError(name)
        if self.remote and name in self._BOUNDED:
            return functools.partial(self._call, name)
        return getattr(self.fs, name)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            result = bounded_call(
                self.fs, method, *args, timeout=self.timeout, **kwargs
            )
        except StorageTimeoutError as err:
            if err.where is not None or self.where is None:
                raise
            raise StorageTimeoutError(str(err), self.where) from None
        if (
            result is False
            and method in self._PREDICATES
            and time.monotonic() - start >= 0.99 * self.timeout
        ):
            # some clients (adlfs' isfile) turn a cancelled request into
            # "no": an answer that took the whole bound is no answer
            raise StorageTimeoutError(
                f"no answer within {self.timeout:g} s", self.where
            )
        return result

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Move a file: a bounded copy, then a bounded delete on object stores."""
        if not self.remote:
            self.fs.mv(path1, path2, **kwargs)
            return
        self.copy(path1, path2, **kwargs)
        self.rm(path1, **kwargs)

    def open(
        self, path: str, mode: str = "rb", *, compression: str | None = None, **kw: Any
    ) -> Any:
        """Open ``path``; on remote filesystems every request is bounded.

        Modes ``"rb"``, ``"wb"`` and ``"xb"`` (exclusive create); ``compression``
        (or ``"infer"``) applies to reads, as in :func:`fsspec.open`.
        """
        if not self.remote:
            return self.fs.open(path, mode, compression=compression, **kw)
        if mode in ("wb", "xb"):
            if compression is not None:
                raise ValueError("bounded writes do not compress")
            return _BoundedWriter(self, path, exclusive=mode == "xb")
        if mode != "rb":
            raise ValueError(f"bounded files open in 'rb', 'wb' or 'xb', not {mode!r}")
        size = self.info(path).get("size")
        raw: Any
        if size is None:  # a server that does not say: one bounded request
            raw = io.BytesIO(bytes(self.cat_file(path)))
        else:
            raw = io.BufferedReader(
                _BoundedReader(self, path, int(size)), buffer_size=_READ_BUFFER
            )
        if compression is not None:
            from fsspec.compression import compr
            from fsspec.core import get_compression

            codec = get_compression(path, compression)
            if codec is not None:
                return compr[codec](raw, mode="rb")
        return raw


def _rebuild(fs: Any, timeout: float, where: str | None) -> BoundedFileSystem:
    return BoundedFileSystem(fs, timeout, where=where)
