"""The prediction log: in memory, or Parquet part files on any fsspec URL.

Layout of a store::

    <store>/predictions/part-<ns-timestamp>-<pid>-<random>.parquet
    <store>/outcomes/part-<ns-timestamp>-<pid>-<random>.parquet
    <store>/alerts/part-<ns-timestamp>-<pid>-<random>.parquet   (alerts sent)

One immutable file per logged batch. File names sort in logging order and are
unique across threads and processes, so concurrent loggers never collide. A
file is published in one step: on a local disk it is written under a hidden
temporary name in the same folder and renamed (atomic on POSIX); on object
stores (S3, GCS, Azure, memory) a single ``pipe_file`` PUT is atomic. Readers
list only ``part-*.parquet``, so they never see a half-written batch.
"""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

__all__ = ["KINDS", "TIMESTAMP_COLUMN", "MemoryLog", "ParquetLog", "open_log"]

KINDS = ("predictions", "outcomes", "alerts")
#: Column of prediction/outcome times: int64 microseconds since the epoch (UTC)
#: in memory, ``timestamp[us, tz=UTC]`` in Parquet.
TIMESTAMP_COLUMN = "__timestamp__"
# Parquet row groups: readers can stream big batches in slices of this size
_ROW_GROUP = 131_072


def _part_name() -> str:
    return (
        f"part-{time.time_ns():020d}-{os.getpid():07d}-{uuid.uuid4().hex[:12]}.parquet"
    )


class MemoryLog:
    """Batches kept in this process (``store=None``)."""

    url = None

    def __init__(self) -> None:
        self._parts: dict[str, dict[str, pd.DataFrame]] = {k: {} for k in KINDS}
        self._lock = threading.Lock()

    def write(self, kind: str, frame: pd.DataFrame) -> str:
        name = _part_name()
        with self._lock:
            self._parts[kind][name] = frame.reset_index(drop=True)
        return name

    def parts(self, kind: str) -> list[str]:
        with self._lock:
            return sorted(self._parts[kind])

    def n_rows(self, kind: str, part: str) -> int:
        return len(self._parts[kind][part])

    def read(
        self, kind: str, part: str, columns: list[str] | None = None
    ) -> pd.DataFrame:
        frame = self._parts[kind][part]
        return frame if columns is None else frame[columns]

    def iter_read(self, kind: str, part: str, rows: int) -> Iterator[pd.DataFrame]:
        frame = self._parts[kind][part]
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows]


class ParquetLog:
    """Batches as Parquet files under an fsspec URL."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None) -> None:
        import fsspec

        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/")
        for kind in KINDS:
            self.fs.makedirs(f"{self.root}/{kind}", exist_ok=True)

    def _dir(self, kind: str) -> str:
        return f"{self.root}/{kind}"

    def write(self, kind: str, frame: pd.DataFrame) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(
            frame.drop(columns=TIMESTAMP_COLUMN), preserve_index=False
        )
        micros = pa.array(frame[TIMESTAMP_COLUMN].to_numpy(dtype="int64"))
        table = table.add_column(
            0, TIMESTAMP_COLUMN, micros.cast(pa.timestamp("us", tz="UTC"))
        )
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=_ROW_GROUP)
        data = buf.getvalue()
        name = _part_name()
        final = f"{self._dir(kind)}/{name}"
        if getattr(self.fs, "local_file", False):
            tmp = f"{self._dir(kind)}/.tmp-{name}"
            self.fs.pipe_file(tmp, data)
            try:
                os.replace(tmp, final)  # atomic rename on the same file system
            except BaseException:
                self.fs.rm_file(tmp)
                raise
        else:
            self.fs.pipe_file(final, data)
        return name

    def parts(self, kind: str) -> list[str]:
        folder = self._dir(kind)
        self.fs.invalidate_cache(folder)
        try:
            paths = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return []
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in paths]
        return sorted(
            n for n in names if n.startswith("part-") and n.endswith(".parquet")
        )

    def n_rows(self, kind: str, part: str) -> int:
        import pyarrow.parquet as pq

        with self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f:
            return int(pq.ParquetFile(f).metadata.num_rows)

    def read(
        self, kind: str, part: str, columns: list[str] | None = None
    ) -> pd.DataFrame:
        import pyarrow.parquet as pq

        with self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f:
            table = pq.read_table(f, columns=columns)
        return _to_frame(table)

    def iter_read(self, kind: str, part: str, rows: int) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=rows):
                yield _to_frame(pa.Table.from_batches([batch]))


def _to_frame(table: Any) -> pd.DataFrame:
    """Arrow table to pandas, with the time column as int64 microseconds."""
    import pyarrow as pa

    names = table.column_names
    if TIMESTAMP_COLUMN in names:
        i = names.index(TIMESTAMP_COLUMN)
        micros = table.column(i).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        table = table.set_column(i, TIMESTAMP_COLUMN, micros)
    return table.to_pandas()


def open_log(
    store: str | os.PathLike[str] | None, storage_options: Mapping[str, Any] | None
) -> MemoryLog | ParquetLog:
    """``MemoryLog`` for None, else a ``ParquetLog`` on the URL or path."""
    if store is None:
        return MemoryLog()
    return ParquetLog(os.fspath(store), storage_options)
