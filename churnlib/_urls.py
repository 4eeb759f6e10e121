"""URLs safe to show: one scrubber for every message, log, repr and manifest."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact_url", "redact_urls_in"]

# Schemes where ``name@host`` is an address, not a credential
# (``abfs://container@account.dfs.core.windows.net/path``).
_ADDRESS_USERINFO = frozenset({"abfs", "abfss", "az", "adl", "wasb", "wasbs"})


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
