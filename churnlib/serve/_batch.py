"""Score concurrent requests together: one prepare and one predict per batch.

A fitted sklearn pipeline costs about the same for 1 row as for 1,000 (the
per-call overhead of ``ColumnTransformer``, encoders and validation
dominates), and so does :meth:`ModelContract.prepare`. When several requests
are waiting at once, :class:`Batcher` concatenates their tables and scores them
in one call, then hands each request its own slice. Nothing waits on purpose:
the batch is whatever arrived while the event loop was busy, so a lone request
is scored at once and a busy server scores in bigger batches.

If the batch as a whole is refused (one request holds an unknown category,
say), every request of it is scored on its own, so each gets its own answer
or its own error, exactly as without batching. All requests of a batch are
answered by the same model version.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError
from churnlib.serve._model import ServedModel
from churnlib.serve._parse import RequestError
from churnlib.serve._writer import LogWriter

__all__ = ["Batcher", "Clock", "Scored"]

logger = logging.getLogger("churnlib.serve")


class Clock:
    """Scoring times in µs since the epoch, strictly increasing in this process.

    A prediction is keyed by (customer id, scored at): giving every row its own
    microsecond keeps keys unique even when one customer is scored twice in
    the same instant (or the same request).
    """

    def __init__(self) -> None:
        self._next = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> np.ndarray:
        """Return ``n`` consecutive, never reused microsecond stamps."""
        with self._lock:
            start = max(time.time_ns() // 1000, self._next)
            self._next = start + n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Scored:
    """One request's answer: the model that scored it and its rows."""

    served: ServedModel
    proba: np.ndarray
    prediction_ids: np.ndarray
    ids: np.ndarray | None  # customer ids (str) when the request had them
    micros: np.ndarray


@dataclass(slots=True)
class _Job:
    raw: pd.DataFrame
    future: asyncio.Future[Scored]


class Batcher:
    """Collect requests waiting at the same time and score them in one call.

    Parameters
    ----------
    current : callable
        Returns the :class:`ServedModel` to use (or None before loading).
    writer : LogWriter
        Where scored rows are queued for the monitor.
    clock : Clock
        Source of unique scoring times.
    max_batch_rows : int, default=20_000
        Most rows scored in one call.
    """

    def __init__(
        self,
        current: Callable[[], ServedModel | None],
        writer: LogWriter,
        clock: Clock,
        *,
        max_batch_rows: int = 20_000,
    ) -> None:
        self._current = current
        self._writer = writer
        self._clock = clock
        self.max_batch_rows = int(max_batch_rows)
        self._pending: list[_Job] = []
        self._scheduled = False
        self.batches = 0
        self.batched_requests = 0

    async def score(self, raw: pd.DataFrame) -> Scored:
        """Score one request's table (raises RequestError, BacklogFullError)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Scored] = loop.create_future()
        self._pending.append(_Job(raw, future))
        if not self._scheduled:
            self._scheduled = True
            # after the callbacks already ready: requests that arrived together
            loop.call_soon(self._drain)
        return await future

    # ------------------------------------------------------------------ #
    def _drain(self) -> None:
        jobs, self._pending = self._pending, []
        self._scheduled = False
        chunk: list[_Job] = []
        rows = 0
        for job in jobs:
            if chunk and rows + len(job.raw) > self.max_batch_rows:
                self._process(chunk)
                chunk, rows = [], 0
            chunk.append(job)
            rows += len(job.raw)
        if chunk:
            self._process(chunk)

    def _process(self, jobs: list[_Job]) -> None:
        served = self._current()
        if served is None:
            for job in jobs:
                _fail(
                    job,
                    RequestError(
                        503,
                        "No model is loaded yet; retry shortly.",
                        headers={"Retry-After": "1"},
                    ),
                )
            return
        names = served.contract.feature_names
        whole = [j for j in jobs if all(n in j.raw.columns for n in names)]
        alone = [j for j in jobs if j not in whole] if len(whole) < len(jobs) else []
        if len(whole) > 1:
            try:
                results = self._score(served, [j.raw for j in whole])
            except Exception:  # one request spoils the batch: score each alone
                alone = jobs
            else:
                self.batches += 1
                self.batched_requests += len(whole)
                for job, result in zip(whole, results, strict=True):
                    _done(job, result)
        else:
            alone = jobs
        for job in alone:
            try:
                (result,) = self._score(served, [job.raw])
            except DataValidationError as err:
                _fail(job, RequestError(422, str(err), columns=err.columns))
            except RequestError as err:
                _fail(job, err)
            except (TypeError, ValueError) as err:
                _fail(
                    job,
                    RequestError(
                        422,
                        f"The request could not be read as the model's features: {err}",
                    ),
                )
            except Exception as err:
                if type(err).__name__ == "BacklogFullError":
                    _fail(job, err)
                    continue
                logger.exception("version %s failed on a request", served.version)
                _fail(
                    job,
                    RequestError(
                        500,
                        f"Model version {served.version} failed on this request "
                        f"({type(err).__name__}).",
                    ),
                )
            else:
                _done(job, result)

    def _score(self, served: ServedModel, raws: list[pd.DataFrame]) -> list[Scored]:
        raw = raws[0] if len(raws) == 1 else pd.concat(raws, ignore_index=True)
        X = served.features(raw)
        proba = served.proba(X)
        micros = self._clock.take(len(proba))
        prefix = uuid.uuid4().hex[:16]
        results = []
        logged = []
        start = 0
        for i, part in enumerate(raws):
            n = len(part)
            pids = np.char.add(f"{prefix}{i:04x}-", np.arange(n).astype("U"))
            found = served.contract.ids(part)
            ids = None if found is None else found.astype(str).to_numpy(dtype=object)
            logged.append(pids.astype(object) if ids is None else ids)
            end = start + n
            results.append(
                Scored(served, proba[start:end], pids, ids, micros[start:end])
            )
            start = end
        if served.monitor is not None:
            self._writer.submit_predictions(
                served.monitor,
                served.version,
                X,
                proba,
                logged[0] if len(logged) == 1 else np.concatenate(logged),
                micros,
            )
        return results


def _done(job: _Job, result: Scored) -> None:
    if not job.future.done():
        job.future.set_result(result)


def _fail(job: _Job, err: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(err)
