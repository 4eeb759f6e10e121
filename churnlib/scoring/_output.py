"""Output datasets: part files under a temporary prefix, committed with ``_SUCCESS``.

The output layout (see ``docs/guide/scoring.md``)::

    <output>/_temporary/<run-id>/part-00003-<attempt>.parquet   while running
    <output>/part-00003.parquet                                 after commit
    <output>/_SUCCESS                                           written last

An output is complete if and only if ``_SUCCESS`` exists; it is a JSON manifest
listing every part file and its row count. Readers that ignore names starting
with ``_`` (pyarrow, pandas, Dask, Spark) never see the temporary parts. A
failed run removes its temporary prefix, and the output folder too when the
run created it: nothing half-written is left behind.

Also here: the part-file writer, and the monitor *spool* (the monitored rows
of each partition, kept next to the parts until the run has committed and
the rows are logged to the monitor in input order).
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from churnlib.exceptions import DataValidationError, StorageError

__all__ = ["read_scores"]

SUCCESS = "_SUCCESS"
TEMPORARY = "_temporary"


class OutputExistsError(StorageError, FileExistsError):
    """The output of :func:`~churnlib.scoring.score_table` exists already.

    A :class:`~churnlib.exceptions.StorageError` that is also the built-in
    :class:`FileExistsError` existing ``except`` clauses expect.
    """


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
        self._created = False  # this run made the output folder

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
            raise OutputExistsError(
                f"The output {self.url!r} is a file. score_table writes a directory "
                "of part files: pass a directory URL.",
                url=self.url,
            )
        existing = self._visible_files()
        if existing and not self.overwrite:
            raise OutputExistsError(
                f"The output {self.url!r} already exists and is not empty. Pass "
                "overwrite=True to replace it, or choose another output URL.",
                url=self.url,
            )
        self._created = not self.fs.exists(self.path)
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
        """Delete this run's temporary prefix; published files are untouched.

        An output folder this run created is removed too once it is empty, so
        a failed first run leaves no trace.
        """
        self._remove_temp()
        if self._created:
            try:
                if self.fs.isdir(self.path) and not self.fs.ls(self.path, detail=False):
                    self.fs.rmdir(self.path)
            except (FileNotFoundError, OSError, NotImplementedError):
                pass  # best effort, as for the prefix

    def done(self) -> None:
        """After a successful commit: the folder is the run's result now."""
        self._created = False

    def _remove_temp(self) -> None:
        try:
            if self.fs.exists(self.temp_dir):
                self.fs.rm(self.temp_dir, recursive=True)
            parent = posixpath.dirname(self.temp_dir)
            if self.fs.isdir(parent) and not self.fs.ls(parent, detail=False):
                self.fs.rmdir(parent)
        except (FileNotFoundError, OSError, NotImplementedError):
            pass  # best effort: the prefix is invisible to readers anyway


class PartWriter:
    """Stream pyarrow tables into one Parquet or CSV part file."""

    def __init__(self, fs: Any, path: str, fmt: str) -> None:
        self.fs, self.path, self.fmt = fs, path, fmt
        self._file: Any = None
        self._writer: Any = None
        self._schema: Any = None

    def write(self, table: Any) -> None:
        if self._writer is None:
            self._file = self.fs.open(self.path, "wb")
            self._schema = table.schema
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self._file, table.schema)
            else:
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(self._file, table.schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self) -> bool:
        """Finish the file; True if anything was written."""
        if self._writer is None:
            return False
        self._writer.close()
        self._file.close()
        return True

    def discard(self) -> None:
        abandon = getattr(self._file, "abandon", None)
        if callable(abandon):
            # a bounded remote file is sent on close only: nothing to remove,
            # and no request to wait for if the storage is the reason
            try:
                if self._writer is not None:
                    self._writer.close()  # into memory only
            except Exception:
                pass
            abandon()
            return
        try:
            if self._writer is not None:
                self._writer.close()
            if self._file is not None:
                self._file.close()
            if self.fs.exists(self.path):
                self.fs.rm_file(self.path)
        except Exception:  # best effort: the temp prefix goes anyway
            pass


# -- the monitor spool -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """The picklable part of a ChurnMonitor that tasks need."""

    detector: Any  # the monitor's fitted DriftDetector
    features: tuple[str, ...]  # the monitor's reference feature columns
    score_feature: str  # the column name of the score in the detector


SPOOL_ID, SPOOL_SCORE = "__id__", "__score__"


def spool_table(
    rows: pd.DataFrame, keys: pd.DataFrame, id_columns: Sequence[str], spec: MonitorSpec
) -> Any:
    """Return a batch's monitored rows, keyed by the id column(s) joined by ``|``."""
    import pyarrow as pa

    ids = keys[list(id_columns)].astype("string")
    key = ids.iloc[:, 0]
    for col in ids.columns[1:]:
        key = key + "|" + ids[col]
    spool = rows.rename(columns={spec.score_feature: SPOOL_SCORE})
    spool.insert(0, SPOOL_ID, key.to_numpy())
    return pa.Table.from_pandas(spool, preserve_index=False)


def log_spools(
    monitor: Any,
    fs: Any,
    spool_paths: Sequence[str | None],
    spec: MonitorSpec,
    *,
    batch_rows: int,
    timestamp: datetime,
) -> None:
    """Log every spooled partition to the monitor, in order, batch by batch."""
    import pyarrow.parquet as pq

    for path in spool_paths:
        if path is None:
            continue
        with fs.open(path, "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_rows):
                frame = batch.to_pandas()
                monitor.log_predictions(
                    frame[list(spec.features)],
                    frame[SPOOL_SCORE].to_numpy(),
                    ids=frame[SPOOL_ID].to_numpy(),
                    timestamp=timestamp,
                )


def read_scores(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    columns: list[str] | None = None,
    timeout: float | None = None,
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
    timeout : float, default=None
        Seconds one storage request may take (as in :func:`score_table`).

    Returns
    -------
    pandas.DataFrame
        The scored rows.

    Raises
    ------
    DataValidationError
        If ``url`` has no ``_SUCCESS`` marker: the run did not finish (or is
        still running) and its output must not be used.
    StorageError
        If the storage did not answer within ``timeout``.

    Examples
    --------
    >>> from churnlib.scoring import read_scores
    >>> read_scores("memory://doctest/scoring/never-written")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    churnlib.exceptions.DataValidationError: The scoring output ... is not complete...
    """
    import os

    from churnlib._core.timeouts import (
        StorageTimeoutError,
        resolve_timeout,
        timeout_message,
    )
    from churnlib._urls import redact_url

    url = os.fspath(url)
    bound = resolve_timeout(timeout)
    try:
        return _read_scores(url, storage_options, columns, bound)
    except StorageTimeoutError:
        where = repr(redact_url(url))
        knob = "read_scores(..., timeout=seconds)"
        raise StorageError(
            timeout_message("read", where, bound, knob), url=redact_url(url)
        ) from None


def _read_scores(
    url: str,
    storage_options: Mapping[str, Any] | None,
    columns: list[str] | None,
    timeout: float,
) -> pd.DataFrame:
    import fsspec

    from churnlib._core.timeouts import BoundedFileSystem, bounded_storage_options
    from churnlib._urls import redact_url

    protocol = fsspec.core.split_protocol(url)[0] or "file"
    options = bounded_storage_options(
        protocol, dict(storage_options or {}), timeout=timeout
    )
    raw, path = fsspec.core.url_to_fs(url, **options)
    fs = BoundedFileSystem(raw, timeout)
    path = path.rstrip("/")
    marker = posixpath.join(path, SUCCESS)
    try:
        manifest = json.loads(fs.cat_file(marker))
    except FileNotFoundError:
        raise DataValidationError(
            f"The scoring output {redact_url(url)!r} is not complete: it has no "
            f"{SUCCESS} marker (the run failed, was interrupted, or is still "
            "running). Run score_table again."
        ) from None
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
