"""Bound the time a dead or silent storage endpoint can cost.

One small helper every package that talks to fsspec storage can reuse
(deployment, monitoring, scoring): :func:`bounded_storage_options` puts connect
and read timeouts and a small retry budget into the ``storage_options`` of the
cloud backends (s3fs/botocore, adlfs/azure-sdk, gcsfs), and :func:`bounded_call`
runs one filesystem operation with a hard wall-clock bound. An endpoint that
accepts TCP connections and never answers then costs at most ``timeout``
seconds per storage request instead of botocore's read timeout times its
attempts times s3fs' retries (more than 10 minutes).

The default bound is :data:`DEFAULT_TIMEOUT` (60 s); ``CHURNLIB_STORAGE_TIMEOUT``
overrides it process-wide, and an explicit ``timeout=`` argument wins over both.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "StorageTimeoutError",
    "bound_sdk_retries",
    "bounded_call",
    "bounded_storage_options",
    "resolve_timeout",
]

#: Seconds one storage request may take before it fails (default).
DEFAULT_TIMEOUT = 60.0
#: Environment variable overriding :data:`DEFAULT_TIMEOUT`.
TIMEOUT_ENV = "CHURNLIB_STORAGE_TIMEOUT"


class StorageTimeoutError(TimeoutError):
    """A storage request did not finish within the bound (internal signal).

    Callers translate it into their own churnlib error, naming the URL.
    """


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
