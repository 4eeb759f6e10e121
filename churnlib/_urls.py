"""URLs safe to show: one scrubber for every message, log, repr and manifest."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["check_storage_url", "redact_url", "redact_urls_in"]

# Schemes where ``name@host`` is an address, not a credential
# (``abfs://container@account.dfs.core.windows.net/path``).
_ADDRESS_USERINFO = frozenset({"abfs", "abfss", "az", "adl", "wasb", "wasbs"})
_LOCAL = frozenset({"", "file", "local", "memory"})


def check_storage_url(url: str, what: str, *, query_allowed: bool = False) -> str:
    """Refuse a location churnlib writes to if it carries a secret; return the protocol.

    ``s3://KEY:SECRET@bucket/...`` is not understood by any fsspec backend
    (the credential would become part of the bucket name, and of every object
    key and error message), and a query string (``?sig=...``) would be
    written into every object key. Both must travel in ``storage_options``.
    One rule for every location written to: the model store, the monitor
    store, scoring output; and, for credentials, for the scoring input.

    Parameters
    ----------
    url : str
        The location (a local path passes as it is).
    what : str
        What it is, for the message ("The model store URL", ...).
    query_allowed : bool, default=False
        Accept a query string: a location only read from (a pre-signed URL)
        names no object after it.

    Returns
    -------
    str
        The protocol (``"file"`` for local paths).

    Raises
    ------
    InvalidParameterError
        The URL carries a credential or a query string, or cannot be parsed.

    Examples
    --------
    >>> from churnlib._urls import check_storage_url
    >>> check_storage_url("s3://bucket/monitor", "The monitor store URL")
    's3'
    >>> check_storage_url("az://c/m?sig=abc", "The monitor store URL")
    Traceback (most recent call last):
    ...
    churnlib.exceptions.InvalidParameterError: The monitor store URL ... query string...
    """
    from churnlib.exceptions import InvalidParameterError

    protocol = url.split("://", 1)[0].lower() if "://" in url else ""
    if protocol in _LOCAL:
        return protocol or "file"
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidParameterError(
            f"{what} {redact_url(url)} cannot be parsed."
        ) from None
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and (":" in userinfo or protocol not in _ADDRESS_USERINFO):
        raise InvalidParameterError(
            f"{what} {redact_url(url)} carries a credential before '@'. Pass "
            "credentials in storage_options (for S3: key=..., secret=...), "
            "never in the URL."
        )
    if not query_allowed and (parts.query or url.endswith("?")):
        raise InvalidParameterError(
            f"{what} {redact_url(url)} has a query string, which would become "
            "part of every object name. Pass tokens (SAS, signatures) in "
            "storage_options instead."
        )
    return protocol


def redact_url(url: object) -> str:
    """Return ``url`` without credentials, for messages, logs and reprs.

    ``user:password@`` (or any user part of an HTTP URL) becomes ``***@``, and
    the query string of a remote URL -- where Azure SAS signatures, presigned
    S3 URLs and tokens travel -- becomes ``***``. Local paths are kept as
    they are (a ``?`` in a file name is not a query).

    Parameters
    ----------
    url : str or os.PathLike
        Any fsspec URL, tracking URI or path.

    Returns
    -------
    str
        The URL as it may be shown.

    Examples
    --------
    >>> from churnlib._urls import redact_url
    >>> redact_url("https://alice:s3cret@mlflow.example.org/?token=abc")
    'https://***@mlflow.example.org/?***'
    >>> redact_url("abfs://container@account.dfs.core.windows.net/models")
    'abfs://container@account.dfs.core.windows.net/models'
    >>> redact_url("data/odd?name.csv")
    'data/odd?name.csv'
    """
    text = os.fspath(url) if isinstance(url, os.PathLike) else str(url)
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unparseable URL>"
    userinfo, at, host = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and (":" in userinfo or parts.scheme not in _ADDRESS_USERINFO):
        netloc = "***@" + host
    query = "***" if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return text
    return urlunsplit(parts._replace(netloc=netloc, query=query))


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_urls_in(text: str) -> str:
    """Return ``text`` with every URL-looking word passed through :func:`redact_url`.

    For free text such as a third-party error message, which may quote the URL
    it was given (credentials and query tokens included).

    Examples
    --------
    >>> from churnlib._urls import redact_urls_in
    >>> redact_urls_in("GET 'https://u:pw@host/x?sig=abc' failed")
    "GET 'https://***@host/x?***' failed"
    """
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
