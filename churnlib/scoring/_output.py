"""Output datasets: part files under a temporary prefix, committed with ``_SUCCESS``.

The contract (see ``docs/guide/scoring.md``)::

    <output>/_temporary/<run-id>/part-00003-<attempt>.parquet   while running
    <output>/part-00003.parquet                                 after commit
    <output>/_SUCCESS                                           written last

An output is complete if and only if ``_SUCCESS`` exists; it is a JSON manifest
listing every part file and its row count. Readers that ignore names starting
with ``_`` (pyarrow, pandas, Dask, Spark) never see the temporary parts.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from churnlib.exceptions import DataValidationError

__all__ = ["read_scores"]

SUCCESS = "_SUCCESS"
TEMPORARY = "_temporary"


class OutputCommitter:
    """Write part files under a temporary prefix; publish them all at once."""

    def __init__(
        self, fs: Any, path: str, url: str, *, fmt: str, overwrite: bool, run_id: str
    ) -> None:
        self.fs = fs
        self.path = path.rstrip("/")
        self.url = url
        self.fmt = fmt
        self.overwrite = overwrite
        self.run_id = run_id
        self.temp_dir = posixpath.join(self.path, TEMPORARY, run_id)

    def _visible_files(self) -> list[str]:
        if not self.fs.isdir(self.path):
            return []
        out = []
        for p in self.fs.ls(self.path, detail=False):
            name = posixpath.basename(p.rstrip("/"))
            if name != TEMPORARY:
                out.append(p)
        return out

    def prepare(self) -> None:
        """Refuse an existing output unless ``overwrite``; make the prefix."""
        if self.fs.isfile(self.path):
            raise FileExistsError(
                f"The output {self.url!r} is a file. score_table writes a directory "
                "of part files: pass a directory URL."
            )
        existing = self._visible_files()
        if existing and not self.overwrite:
            raise FileExistsError(
                f"The output {self.url!r} already exists and is not empty. Pass "
                "overwrite=True to replace it, or choose another output URL."
            )
        self.fs.makedirs(self.temp_dir, exist_ok=True)

    def temp_part(self, index: int) -> str:
        """Return a fresh temporary path for one attempt at part ``index``."""
        ext = "parquet" if self.fmt == "parquet" else "csv"
        name = f"part-{index:05d}-{uuid.uuid4().hex[:8]}.{ext}"
        return posixpath.join(self.temp_dir, name)

    def temp_spool(self, index: int) -> str:
        """Return a fresh temporary path for one attempt at a monitor spool."""
        name = f"monitor-{index:05d}-{uuid.uuid4().hex[:8]}.parquet"
        return posixpath.join(self.temp_dir, name)

    def final_part(self, index: int) -> str:
        """Where part ``index`` lives once committed."""
        ext = "parquet" if self.fmt == "parquet" else "csv"
        return posixpath.join(self.path, f"part-{index:05d}.{ext}")

    def commit(
        self,
        parts: Iterable[tuple[int, str, int]],
        manifest: Mapping[str, Any],
        *,
        cleanup: bool = True,
    ) -> list[str]:
        """Move ``(index, temp, rows)`` parts into place, then write ``_SUCCESS``."""
        parts = sorted(parts)
        fs = self.fs
        success = posixpath.join(self.path, SUCCESS)
        # 1. an overwritten output stops being complete before it changes
        if fs.exists(success):
            fs.rm_file(success)
        for old in self._visible_files():
            fs.rm(old, recursive=True)
        # 2. move every part into place
        files = []
        for index, temp, _rows in parts:
            final = self.final_part(index)
            fs.mv(temp, final)
            files.append(final)
        # 3. the marker, last
        body = dict(manifest)
        body["files"] = [
            {"name": posixpath.basename(self.final_part(i)), "rows": int(rows)}
            for i, _temp, rows in parts
        ]
        fs.pipe_file(success, (json.dumps(body, indent=2, default=str) + "\n").encode())
        if cleanup:
            self._remove_temp()
        return files

    def abort(self) -> None:
        """Delete this run's temporary prefix; published files are untouched."""
        self._remove_temp()

    def _remove_temp(self) -> None:
        try:
            if self.fs.exists(self.temp_dir):
                self.fs.rm(self.temp_dir, recursive=True)
            parent = posixpath.dirname(self.temp_dir)
            if self.fs.isdir(parent) and not self.fs.ls(parent, detail=False):
                self.fs.rmdir(parent)
        except (FileNotFoundError, OSError, NotImplementedError):
            pass  # best effort: the prefix is invisible to readers anyway


def read_scores(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Read a completed scoring output into one DataFrame.

    Only outputs whose ``_SUCCESS`` manifest exists are read, and only the
    part files that manifest lists, in partition order (the input's order).

    Parameters
    ----------
    url : str or path-like
        The ``output_url`` given to :func:`score_table`.
    storage_options : mapping, default=None
        Options for the fsspec filesystem (credentials, endpoint, ...).
    columns : list of str, default=None
        Read only these columns.

    Returns
    -------
    pandas.DataFrame
        The scored rows.

    Raises
    ------
    DataValidationError
        If ``url`` has no ``_SUCCESS`` marker: the run did not finish (or is
        still running) and its output must not be used.

    Examples
    --------
    >>> from churnlib.scoring import read_scores
    >>> read_scores("memory://doctest/scoring/never-written")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    churnlib.exceptions.DataValidationError: The scoring output ... is not complete...
    """
    import os

    import fsspec

    url = os.fspath(url)
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    path = path.rstrip("/")
    marker = posixpath.join(path, SUCCESS)
    try:
        manifest = json.loads(fs.cat_file(marker))
    except FileNotFoundError as err:
        raise DataValidationError(
            f"The scoring output {url!r} is not complete: it has no {SUCCESS} "
            "marker (the run failed, was interrupted, or is still running). "
            "Run score_table again."
        ) from err
    fmt = manifest.get("format", "parquet")
    frames = []
    for entry in manifest["files"]:
        p = posixpath.join(path, entry["name"])
        with fs.open(p, "rb") as f:
            if fmt == "parquet":
                frames.append(pd.read_parquet(f, columns=columns))
            else:
                frames.append(pd.read_csv(f, usecols=columns))
    if not frames:
        return pd.DataFrame(columns=columns or manifest.get("columns", []))
    return pd.concat(frames, ignore_index=True)
