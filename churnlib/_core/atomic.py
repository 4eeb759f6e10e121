"""The one atomic writer: a file appears whole or not at all."""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Iterator
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_writer", "is_local"]


def is_local(fs: Any) -> bool:
    """Tell whether ``fs`` is a local file system (rename is atomic there)."""
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def atomic_write_bytes(fs: Any, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` on ``fs`` so readers never see a partial file.

    On a local file system the bytes go to a hidden sibling first, which is
    renamed over ``path`` (atomic on POSIX); the sibling is removed if anything
    fails. Object stores (S3, Azure, GCS, memory) make a single ``put``
    visible at once, so the bytes are written directly.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
    path : str
        Protocol-stripped path on ``fs``.
    data : bytes
    """
    parent = _parent(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    name = path.rsplit("/", 1)[-1]
    tmp = f"{parent}/.tmp-{secrets.token_hex(6)}-{name}" if parent else f".tmp-{name}"
    try:
        fs.pipe_file(tmp, data)
        fs.mv(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.rm(tmp)
        raise


@contextlib.contextmanager
def atomic_writer(fs: Any, path: str) -> Iterator[io.BytesIO]:
    """Context manager giving a buffer written to ``path`` atomically on exit.

    Nothing is written if the block raises.

    Examples
    --------
    >>> import fsspec
    >>> from churnlib._core.atomic import atomic_writer
    >>> fs = fsspec.filesystem("memory")
    >>> with atomic_writer(fs, "/atomic-doc/a.txt") as fh:
    ...     _ = fh.write(b"hello")
    >>> fs.cat_file("/atomic-doc/a.txt")
    b'hello'
    """
    buffer = io.BytesIO()
    yield buffer
    atomic_write_bytes(fs, path, buffer.getvalue())
