"""Background writer: served predictions and outcomes to the monitor store.

Requests only append to an in-memory queue (a few microseconds); a daemon
thread writes the queue to the :class:`~churnlib.monitoring.ChurnMonitor`
in batches when ``flush_rows`` rows are waiting or the oldest has waited
``flush_seconds``. A failed write (store unreachable) is kept and retried, so
nothing is dropped while the process lives; :meth:`LogWriter.close` (on
SIGTERM) writes everything still queued. Past ``max_backlog`` queued rows the
service refuses new predictions (503) instead of serving unlogged ones.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._urls import redact_urls_in
from churnlib.exceptions import DataValidationError

__all__ = ["BacklogFullError", "LogWriter", "concat_frames"]

logger = logging.getLogger("churnlib.serve")


_KINDS = ("predictions", "outcomes", "events")


class BacklogFullError(RuntimeError):
    """The queue of rows waiting to be logged is full: try again later."""


@dataclass(slots=True)
class _Batch:
    kind: str  # "predictions" | "outcomes"
    monitor: Any
    version: str | None
    n: int
    X: pd.DataFrame | None
    values: np.ndarray  # scores or labels
    ids: np.ndarray
    micros: np.ndarray  # int64 µs since the epoch, UTC
    queued_at: float
    extra: np.ndarray | None = None  # outcomes: scored_at µs; events: churned_at


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack prepared feature frames (same columns, same dtypes) row-wise.

    Column by column on the arrays (categorical codes under their shared
    dtype): for a second's worth of small requests, :func:`pandas.concat`
    spends tens of milliseconds on per-frame bookkeeping while holding the
    GIL the event loop needs. Frames whose columns or dtypes differ go
    through :func:`pandas.concat`. The result has a fresh RangeIndex.
    """
    from churnlib._core.direct_route import column_getter

    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    first = frames[0]
    index = first.columns
    # Index.equals, not list(): iterating an Arrow string index is slow
    if not index.is_unique or not all(f.columns.equals(index) for f in frames[1:]):
        return pd.concat(frames, ignore_index=True)
    names = index.tolist()
    found = [getattr(f, "_get_column_array", None) for f in frames]
    getters: list[Callable[[Any], Any]] = [g for g in found if callable(g)]
    keys: list[Any] = list(range(len(names)))  # same columns, same places
    if len(getters) != len(frames):  # pragma: no cover - pandas without it
        getters, keys = [column_getter(f) for f in frames], names
    columns: dict[str, Any] = {}
    for name, key in zip(names, keys, strict=True):
        parts = [get(key) for get in getters]
        head = parts[0]
        if isinstance(head, pd.Categorical) and all(
            isinstance(p, pd.Categorical) and p.dtype is head.dtype for p in parts
        ):
            codes = np.concatenate([p.codes for p in parts])
            columns[name] = pd.Categorical.from_codes(codes, dtype=head.dtype)
        elif isinstance(head, np.ndarray) and all(
            isinstance(p, np.ndarray) and p.dtype == head.dtype for p in parts
        ):
            columns[name] = np.concatenate(parts)
        else:
            return pd.concat(frames, ignore_index=True)
    return pd.DataFrame(columns, columns=names)


def _accepts(func: Any, name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


class LogWriter:
    """Queue rows on the request path; write them to monitors in a thread.

    Parameters
    ----------
    flush_rows : int, default=10_000
        Write as soon as this many rows are queued.
    flush_seconds : float, default=1.0
        Write rows that have waited this long even if fewer are queued.
    max_backlog : int, default=200_000
        Queued rows beyond which :meth:`submit_predictions` raises
        :class:`BacklogFullError`.
    retry_seconds : float, default=1.0
        Pause after a failed write before retrying it.
    """

    def __init__(
        self,
        *,
        flush_rows: int = 10_000,
        flush_seconds: float = 1.0,
        max_backlog: int = 200_000,
        retry_seconds: float = 1.0,
    ) -> None:
        self.flush_rows = int(flush_rows)
        self.flush_seconds = float(flush_seconds)
        self.max_backlog = int(max_backlog)
        self.retry_seconds = float(retry_seconds)
        self._queue: deque[_Batch] = deque()
        self._cond = threading.Condition()
        self._queued_rows = 0  # queued + being written
        self._closing = False
        self._force = False
        self._close_deadline = float("inf")
        self._thread: threading.Thread | None = None
        self.written = dict.fromkeys(_KINDS, 0)
        self.dropped = dict.fromkeys(_KINDS, 0)
        self.failures = 0
        self.last_write_seconds = 0.0  # duration of the last successful write
        self.failing = False  # the last write attempt failed
        self.last_error: str | None = None
        #: applied to every error text before it is kept or logged
        self.redact: Callable[[str], str] = redact_urls_in

    # ------------------------------------------------------------ queueing
    @property
    def backlog(self) -> int:
        """Rows queued or being written."""
        return self._queued_rows

    def _put(self, batch: _Batch, *, limit: bool) -> None:
        with self._cond:
            if self._closing:
                raise BacklogFullError("the service is shutting down")
            if limit and self._queued_rows + batch.n > self.max_backlog:
                raise BacklogFullError(
                    f"{self._queued_rows} rows are waiting to be logged "
                    f"(limit {self.max_backlog})"
                )
            self._queue.append(batch)
            self._queued_rows += batch.n
            if self._queued_rows >= self.flush_rows:
                self._cond.notify()

    def submit_predictions(
        self,
        monitor: Any,
        version: str,
        X: pd.DataFrame,
        scores: np.ndarray,
        ids: np.ndarray,
        micros: np.ndarray,
    ) -> None:
        """Queue one request's predictions (raises BacklogFullError when full)."""
        self._put(
            _Batch(
                "predictions",
                monitor,
                version,
                len(X),
                X,
                scores,
                ids,
                micros,
                time.monotonic(),
            ),
            limit=True,
        )

    def submit_outcomes(
        self,
        monitor: Any,
        ids: np.ndarray,
        labels: np.ndarray,
        micros: np.ndarray,
        scored_at: np.ndarray | None = None,
    ) -> None:
        """Queue outcomes (never refused for backlog: they are small and late)."""
        kind = "outcomes" if scored_at is None else "keyed_outcomes"
        self._put(
            _Batch(
                kind,
                monitor,
                None,
                len(ids),
                None,
                labels,
                ids,
                micros,
                time.monotonic(),
                scored_at,
            ),
            limit=False,
        )

    def submit_events(
        self, monitor: Any, ids: np.ndarray, churned_at: np.ndarray
    ) -> None:
        """Queue churn events (customer ``ids[i]`` left at ``churned_at[i]``)."""
        now = np.full(len(ids), time.time_ns() // 1000, dtype=np.int64)
        self._put(
            _Batch(
                "events",
                monitor,
                None,
                len(ids),
                None,
                churned_at,
                ids,
                now,
                time.monotonic(),
            ),
            limit=False,
        )

    # ------------------------------------------------------------- writing
    def _due(self) -> bool:
        if not self._queue:
            return False
        if self._closing or self._force or self._queued_rows >= self.flush_rows:
            return True
        return time.monotonic() - self._queue[0].queued_at >= self.flush_seconds

    def _take(self) -> list[_Batch]:
        batches = list(self._queue)
        self._queue.clear()
        self._force = False
        return batches

    def _write_group(self, batches: list[_Batch]) -> None:
        first = batches[0]
        monitor = first.monitor
        micros = np.concatenate([b.micros for b in batches])
        stamps = micros.astype("datetime64[us]")
        ids = np.concatenate([b.ids for b in batches])
        values = np.concatenate([b.values for b in batches])
        if first.kind == "outcomes":
            monitor.log_outcomes(ids, values, timestamp=stamps)
            return
        if first.kind == "keyed_outcomes":
            scored = np.concatenate([b.extra for b in batches if b.extra is not None])
            monitor.log_outcomes(
                ids, values, timestamp=stamps, scored_at=scored.astype("datetime64[us]")
            )
            return
        if first.kind == "events":
            monitor.log_churn_events(
                ids,
                values.astype("datetime64[us]"),
                timestamp=stamps.max(),
            )
            return
        X = concat_frames([b.X for b in batches if b.X is not None])
        kwargs: dict[str, Any] = {"ids": ids, "timestamp": stamps}
        if _accepts(monitor.log_predictions, "model_version"):
            kwargs["model_version"] = first.version
        monitor.log_predictions(X, values, **kwargs)

    def _flush(self, batches: list[_Batch]) -> list[_Batch]:
        """Write ``batches``; return those that failed and must be retried."""
        groups: dict[tuple[str, int, str | None], list[_Batch]] = {}
        for b in batches:
            groups.setdefault((b.kind, id(b.monitor), b.version), []).append(b)
        retry: list[_Batch] = []
        for (batch_kind, _, _), group in groups.items():
            kind = "outcomes" if batch_kind == "keyed_outcomes" else batch_kind
            n = sum(b.n for b in group)
            try:
                started = time.perf_counter()
                self._write_group(group)
            except DataValidationError as err:
                # cannot succeed on retry; requests were validated, so this is a bug
                self.dropped[kind] += n
                self.last_error = self.redact(f"{type(err).__name__}: {err}")
                logger.error(
                    "dropped %d %s the monitor refused: %s", n, kind, self.last_error
                )
            except Exception as err:
                self.failures += 1
                self.last_error = self.redact(f"{type(err).__name__}: {err}")
                logger.warning(
                    "could not write %d %s to the monitor store (will retry): %s",
                    n,
                    kind,
                    self.last_error,
                )
                retry.extend(group)
                self.failing = True
                continue
            else:
                self.written[kind] += n
                self.failing = False
                self.last_write_seconds = time.perf_counter() - started
            with self._cond:
                self._queued_rows -= n
        return retry

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due():
                    if self._closing and not self._queue:
                        return
                    wait = self.flush_seconds
                    if self._queue:
                        age = time.monotonic() - self._queue[0].queued_at
                        wait = max(self.flush_seconds - age, 0.005)
                    self._cond.wait(wait)
                batches = self._take()
            retry = self._flush(batches)
            if retry:
                with self._cond:
                    self._queue.extendleft(reversed(retry))
                    if self._closing and self._retry_exhausted():
                        return
                    self._cond.wait(self.retry_seconds)

    def _retry_exhausted(self) -> bool:
        return time.monotonic() > self._close_deadline

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until everything queued now is written; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queued_rows > 0:
            if time.monotonic() > deadline:
                return False
            with self._cond:
                if self._queue:
                    self._force = True
                    self._cond.notify()
            time.sleep(0.01)
        return True

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="churnlib-serve-writer", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 30.0) -> int:
        """Refuse new rows, write everything queued; return rows left unwritten."""
        with self._cond:
            self._closing = True
            self._close_deadline = time.monotonic() + timeout
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout + 1.0)
            self._thread = None
        left = self._queued_rows
        if left:
            logger.error(
                "%d rows could not be written to the monitor store before shutdown "
                "(last error: %s)",
                left,
                self.last_error,
            )
        return left
