"""The prediction log: in memory, or Parquet part files on any fsspec URL.

Layout of a store::

    <store>/monitor.json                                         (horizon, format)
    <store>/predictions/part-<ns-timestamp>-<pid>-<random>.parquet
    <store>/outcomes/part-<ns-timestamp>-<pid>-<random>.parquet  (per prediction)
    <store>/events/part-<ns-timestamp>-<pid>-<random>.parquet    (churn events)
    <store>/alerts/part-<ns-timestamp>-<pid>-<random>.parquet    (incidents sent)
    <store>/alerts/claims/<incident-key-hash>                    (exactly-once)

One immutable file per logged batch. File names sort in logging order and are
unique across threads and processes, so concurrent loggers never collide. A
file is published in one step: on a local disk it is written under a hidden
temporary name in the same folder and renamed (atomic on POSIX); on object
stores (S3, GCS, Azure, memory) a single ``pipe_file`` PUT is atomic. Readers
list only ``part-*.parquet``, so they never see a half-written batch. A write
that fails (disk full, permission, network) raises :class:`MonitorStoreError`
and leaves no temporary file behind.

Every storage request is bounded in time (:mod:`churnlib._core.timeouts`, the
model store's setting): against an endpoint that accepts connections and
never answers, each call fails after ``timeout`` seconds (60 by default,
``CHURNLIB_STORAGE_TIMEOUT``) with a :class:`MonitorStoreError`.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from churnlib._core.timeouts import (
    BoundedFileSystem,
    StorageTimeoutError,
    bounded_storage_options,
    resolve_timeout,
    timeout_message,
)
from churnlib._urls import check_storage_url, redact_url
from churnlib.exceptions import ChurnlibError

__all__ = [
    "KINDS",
    "TIMESTAMP_COLUMN",
    "MemoryLog",
    "MonitorStoreError",
    "ParquetLog",
    "open_log",
]

KINDS = ("predictions", "outcomes", "events", "alerts")


class MonitorStoreError(ChurnlibError, OSError):
    """A monitor store could not be written or read (disk full, permissions...).

    Also raised when the storage does not answer within the bound
    (``ChurnMonitor(..., timeout=seconds)``).

    Parameters
    ----------
    message : str
        What failed and what to do.
    url : str or None, default=None
        The store (credentials redacted).
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


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
        self._claims: set[str] = set()
        self.meta: dict[str, Any] = {}

    def where(self, kind: str, part: str) -> str:
        return f"{kind}/{part} (in memory)"

    def read_meta(self) -> dict[str, Any] | None:
        return dict(self.meta) if self.meta else None

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        self.meta = dict(meta)

    def claim(self, key: str) -> bool:
        with self._lock:
            if key in self._claims:
                return False
            self._claims.add(key)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._claims.discard(key)

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
        if columns is None:
            return frame
        return frame[[c for c in columns if c in frame.columns]]

    def iter_read(
        self, kind: str, part: str, rows: int, columns: list[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        frame = self._parts[kind][part]
        if columns is not None:
            frame = frame[[c for c in columns if c in frame.columns]]
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows]


class ParquetLog:
    """Batches as Parquet files under an fsspec URL, every request bounded."""

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None,
        timeout: float | None = None,
        *,
        create: bool = True,
    ) -> None:
        import fsspec

        self.url = url
        self.timeout = resolve_timeout(timeout)
        check_storage_url(url, "The monitor store URL")
        protocol = fsspec.core.split_protocol(url)[0] or "file"
        options = bounded_storage_options(
            protocol, storage_options or {}, timeout=self.timeout
        )
        fs, root = fsspec.core.url_to_fs(url, **options)
        self.fs = BoundedFileSystem(fs, self.timeout)
        self.root = root.rstrip("/")
        if not create:
            return  # a query opens the store as it is (see exists)
        try:
            for kind in KINDS:
                self.fs.makedirs(f"{self.root}/{kind}", exist_ok=True)
        except StorageTimeoutError:
            raise self._timeout("create the monitor store", None) from None
        except OSError as err:
            raise MonitorStoreError(
                f"Cannot create the monitor store {redact_url(url)}: "
                f"{type(err).__name__}: {redact_url(str(err))}. Check the URL, "
                "the credentials and that the location is writable.",
                url=redact_url(url),
            ) from None

    def _timeout(self, action: str, what: str | None) -> MonitorStoreError:
        where = redact_url(self.url.rstrip("/") + (f"/{what}" if what else ""))
        return MonitorStoreError(
            timeout_message(
                action, repr(where), self.timeout, "ChurnMonitor(..., timeout=seconds)"
            ),
            url=redact_url(self.url),
        )

    @contextlib.contextmanager
    def _bounded(self, action: str, what: str | None = None) -> Iterator[None]:
        """Turn a request that did not answer in time into a MonitorStoreError."""
        try:
            yield
        except StorageTimeoutError:
            raise self._timeout(action, what) from None

    def _dir(self, kind: str) -> str:
        return f"{self.root}/{kind}"

    def where(self, kind: str, part: str) -> str:
        return redact_url(f"{self.url.rstrip('/')}/{kind}/{part}")

    def exists(self) -> bool:
        """Whether a monitor store is here (its ``monitor.json``)."""
        with self._bounded("read", "monitor.json"):
            return bool(self.fs.exists(f"{self.root}/monitor.json"))

    def read_meta(self) -> dict[str, Any] | None:
        import json

        path = f"{self.root}/monitor.json"
        try:
            with self._bounded("read", "monitor.json"):
                raw = self.fs.cat_file(path)
        except FileNotFoundError:
            return None
        try:
            meta = json.loads(raw)
        except ValueError:
            return None
        return meta if isinstance(meta, dict) else None

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        import json

        from churnlib._core.atomic import atomic_write_bytes

        data = json.dumps(dict(meta), sort_keys=True).encode()
        try:
            atomic_write_bytes(self.fs, f"{self.root}/monitor.json", data)
        except OSError as err:
            raise self._write_error("monitor.json", err) from None

    def claim(self, key: str) -> bool:
        """Create ``alerts/claims/<key>`` exclusively; False if it exists."""
        path = f"{self._dir('alerts')}/claims/{key}"
        try:
            self.fs.makedirs(f"{self._dir('alerts')}/claims", exist_ok=True)
            with self.fs.open(path, "xb") as f:
                f.write(b"1")
        except FileExistsError:
            return False
        except OSError as err:
            raise self._write_error(f"alerts/claims/{key}", err) from None
        return True

    def release(self, key: str) -> None:
        import contextlib

        with contextlib.suppress(OSError):
            self.fs.rm_file(f"{self._dir('alerts')}/claims/{key}")

    def _write_error(self, what: str, err: BaseException) -> MonitorStoreError:
        if isinstance(err, StorageTimeoutError):
            return self._timeout("write", what)
        where = redact_url(f"{self.url.rstrip('/')}/{what}")
        return MonitorStoreError(
            f"Could not write {where}: {type(err).__name__}: "
            f"{redact_url(str(err))}. Nothing was logged; free space or fix the "
            "permissions, then log the batch again.",
            url=redact_url(self.url),
        )

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
            try:
                self.fs.pipe_file(tmp, data)
                os.replace(tmp, final)  # atomic rename on the same file system
            except BaseException as err:
                with contextlib.suppress(OSError):
                    os.remove(tmp)
                if isinstance(err, OSError):
                    raise self._write_error(f"{kind}/{name}", err) from None
                raise
        else:
            try:
                self.fs.pipe_file(final, data)
            except OSError as err:
                raise self._write_error(f"{kind}/{name}", err) from None
        return name

    def parts(self, kind: str) -> list[str]:
        folder = self._dir(kind)
        self.fs.invalidate_cache(folder)
        try:
            with self._bounded("list", kind):
                paths = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return []
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in paths]
        return sorted(
            n for n in names if n.startswith("part-") and n.endswith(".parquet")
        )

    def n_rows(self, kind: str, part: str) -> int:
        import pyarrow.parquet as pq

        with (
            self._bounded("read", f"{kind}/{part}"),
            self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f,
        ):
            return int(pq.ParquetFile(f).metadata.num_rows)

    def read(
        self, kind: str, part: str, columns: list[str] | None = None
    ) -> pd.DataFrame:
        import pyarrow.parquet as pq

        with (
            self._bounded("read", f"{kind}/{part}"),
            self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f,
        ):
            pf = pq.ParquetFile(f)
            if columns is not None:
                names = set(pf.schema_arrow.names)
                columns = [c for c in columns if c in names]
            table = pf.read(columns=columns)
        return _to_frame(table)

    def iter_read(
        self, kind: str, part: str, rows: int, columns: list[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with (
            self._bounded("read", f"{kind}/{part}"),
            self.fs.open(f"{self._dir(kind)}/{part}", "rb") as f,
        ):
            pf = pq.ParquetFile(f)
            if columns is not None:
                names = set(pf.schema_arrow.names)
                columns = [c for c in columns if c in names]
            for batch in pf.iter_batches(batch_size=rows, columns=columns):
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
    store: str | os.PathLike[str] | None,
    storage_options: Mapping[str, Any] | None,
    timeout: float | None = None,
) -> MemoryLog | ParquetLog:
    """``MemoryLog`` for None, else a ``ParquetLog`` on the URL or path.

    ``timeout`` bounds every storage request (see :mod:`churnlib._core.timeouts`).
    """
    if store is None:
        resolve_timeout(timeout)  # a bad value is refused either way
        return MemoryLog()
    return ParquetLog(os.fspath(store), storage_options, timeout)
