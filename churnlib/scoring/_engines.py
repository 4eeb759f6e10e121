"""The engines that run the partitions: a local stage pipeline, or Dask tasks.

**Local** -- one process, three overlapping stages on threads, joined by
bounded queues (so at most a few batches are in memory)::

    readers (n_jobs threads)     predictors          writer (1 thread)
    read + prepare + transform -> predict_proba   -> Arrow table, part file,
    (pandas, one-hot: GIL)       (compiled: GIL     monitor summary + spool
                                  released, the
                                  model's own threads)

While the forest predicts batch *i* on every core, the next batches are read
and one-hot encoded, and the previous one is written: the plain loop (read,
encode, predict, write one after the other) leaves cores idle during every
step but ``predict``. Each unit's batches reach its part file in order.

**Dask** -- one task per partition on a ``distributed`` cluster; the model
and the job are broadcast to the workers once, each task runs the steps one
after the other (:func:`~churnlib.scoring._partition.process_unit`); the
parallelism is across partitions.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from churnlib._core.model_facts import final_estimator
from churnlib.exceptions import DataValidationError
from churnlib.scoring._dataset import WorkUnit
from churnlib.scoring._partition import (
    ENCODE,
    PREDICT,
    READ,
    Batch,
    Job,
    UnitResult,
    UnitSink,
    encode,
    iter_batches,
    model_stages,
    predict,
    process_unit,
)

__all__: list[str] = []


# -- local: a pipeline of stages ------------------------------------------------


@dataclass(slots=True)
class _UnitEnd:
    """Sent after a unit's last batch: how many batches it had."""

    unit: WorkUnit
    n_batches: int
    read_seconds: float  # reading after the last batch (end of file)
    worker: str


@dataclass(slots=True)
class _Failure:
    """The first error of any stage; the others stop and drain."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    error: BaseException | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def set(self, err: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = err
        self.cancel.set()


_STOP = object()


def _parallel_by_itself(final: Any) -> bool:
    """Whether the final estimator already uses every core in ``predict_proba``."""
    est = final_estimator(final)
    n_jobs = getattr(est, "n_jobs", None)
    if isinstance(n_jobs, int) and n_jobs not in (0, 1):
        return True
    # OpenMP-parallel predictors (HistGradientBoosting*) use every core
    return type(est).__name__.startswith("HistGradientBoosting")


def run_local(
    model: Any, job: Job, units: Sequence[WorkUnit], n_jobs: int
) -> list[UnitResult]:
    """Score every unit on this machine with overlapping stages.

    Raises the first error of any stage (a data error as
    :class:`~churnlib.exceptions.DataValidationError`) after every thread
    has stopped and every unfinished part file is removed.
    """
    pre, final = model_stages(model, job.info)
    if pre is not None:
        # the pipeline's transforms through the direct route (its one-hot
        # kernel picks columns by code instead of comparing strings under the
        # GIL), trusted only once its output equals theirs bit for bit
        from churnlib._core.direct_route import CheckedTransform

        pre = CheckedTransform(pre)
    if _parallel_by_itself(final):
        # the forest's own threads fill the cores while one reader encodes
        # the next batch: more readers would only hold more batches in memory
        n_read, n_predict = max(1, min(n_jobs // 2, len(units))), 1
    else:
        n_read, n_predict = max(1, min(n_jobs, len(units))), max(1, n_jobs)
    # bounded hand-offs: at most ~2 batches per stage thread are alive
    encoded: queue.Queue[Any] = queue.Queue(maxsize=n_predict)
    scored: queue.Queue[Any] = queue.Queue(maxsize=1)
    failure = _Failure()
    todo: Iterator[WorkUnit] = iter(units)
    todo_lock = threading.Lock()
    results: list[UnitResult] = []
    sinks: dict[int, UnitSink] = {}

    def next_unit() -> WorkUnit | None:
        with todo_lock:
            return next(todo, None)

    def reader() -> None:
        name = threading.current_thread().name
        try:
            while not failure.cancel.is_set():
                unit = next_unit()
                if unit is None:
                    return
                times = [0.0] * 5
                n = 0
                for batch in iter_batches(job, unit, times):
                    t0 = time.perf_counter()
                    encode(pre, batch, job)
                    batch.times[READ] = times[READ]
                    batch.times[ENCODE] = times[ENCODE] + time.perf_counter() - t0
                    times[READ] = times[ENCODE] = 0.0
                    if failure.cancel.is_set():
                        return
                    encoded.put(batch)
                    n += 1
                encoded.put(_UnitEnd(unit, n, times[READ], name))
        except BaseException as err:
            failure.set(err)

    def predictor() -> None:
        while True:
            item = encoded.get()
            if item is _STOP:
                return
            if failure.cancel.is_set():
                continue  # drain
            try:
                if isinstance(item, Batch):
                    t0 = time.perf_counter()
                    predict(final, item, job)
                    item.times[PREDICT] = time.perf_counter() - t0
                scored.put(item)
            except BaseException as err:
                failure.set(err)

    def writer() -> None:
        pending: dict[int, dict[int, Batch]] = {}
        ends: dict[int, _UnitEnd] = {}
        written: dict[int, int] = {}
        while True:
            item = scored.get()
            if item is _STOP:
                return
            if failure.cancel.is_set():
                continue  # drain
            try:
                index = item.unit.index
                if index not in sinks:
                    sinks[index] = UnitSink(job, item.unit)
                    pending[index], written[index] = {}, 0
                if isinstance(item, _UnitEnd):
                    ends[index] = item
                else:
                    pending[index][item.seq] = item
                waiting = pending[index]
                while written[index] in waiting:  # in order within the unit
                    sinks[index].add(waiting.pop(written[index]))
                    written[index] += 1
                end = ends.get(index)
                if end is not None and written[index] == end.n_batches:
                    sink = sinks.pop(index)
                    sink.times[READ] += end.read_seconds
                    results.append(sink.close(end.worker))
                    del pending[index], written[index], ends[index]
            except BaseException as err:
                failure.set(err)

    def start(fn: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=fn, name=name, daemon=True)
        thread.start()
        return thread

    readers = [start(reader, f"churnlib-score-read-{i}") for i in range(n_read)]
    predictors = [
        start(predictor, f"churnlib-score-predict-{i}") for i in range(n_predict)
    ]
    write_thread = start(writer, "churnlib-score-write")
    try:
        for t in readers:
            _join(t, failure)
        for _ in predictors:
            encoded.put(_STOP)
        for t in predictors:
            _join(t, failure)
        scored.put(_STOP)
        _join(write_thread, failure)
    except BaseException as err:  # KeyboardInterrupt while waiting
        failure.set(err)
        raise
    finally:
        if failure.error is not None:
            for sink in sinks.values():
                sink.discard()
    if failure.error is not None:
        raise failure.error
    return results


def _join(thread: threading.Thread, failure: _Failure) -> None:
    # short waits keep the main thread responsive to KeyboardInterrupt
    while thread.is_alive():
        thread.join(timeout=0.2)


# -- Dask -------------------------------------------------------------------------


def _dask_unit(model: Any, job: Job, unit: WorkUnit) -> UnitResult:
    """Task body on a Dask worker (the model and job arrive already scattered).

    Parallelism on Dask is across partitions, so a model's own ``n_jobs`` runs
    with one thread inside a (daemonic) worker; joblib says so on every call,
    which would flood the worker logs: that one warning is silenced here.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Inside a Dask worker with daemon=True",
            category=UserWarning,
        )
        return process_unit(model, job, unit)


def start_local_cluster(n_workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    return cluster, Client(cluster)  # type: ignore[no-untyped-call]


def run_dask(
    model: Any,
    job: Job,
    units: Sequence[WorkUnit],
    client: Any,
    run_id: str,
) -> list[UnitResult]:
    """Score every unit as one task on the cluster behind ``client``."""
    from distributed import as_completed

    # one copy of the model on every worker, deserialised once there; tasks
    # receive that copy instead of the model travelling with each task
    [model_future] = client.scatter([model], broadcast=True, hash=False)
    [job_future] = client.scatter([job], broadcast=True, hash=False)
    keys = [f"churnlib-score-{run_id}-{u.index:05d}" for u in units]
    futures = client.map(
        _dask_unit,
        [model_future] * len(units),
        [job_future] * len(units),
        list(units),
        key=keys,
        pure=False,
    )
    results: list[UnitResult] = []
    try:
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            res = fut.result()
            results.append(res)
            if res.error is not None:
                raise DataValidationError(res.error[0], columns=res.error[1])
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        del job_future, model_future
    return results


def with_client(client: Any, fn: Callable[[Any], Any]) -> Any:
    """Call ``fn`` with the given client, one for an address, or a temporary one."""
    if client is None:
        cluster, own = start_local_cluster(min(os.cpu_count() or 1, 4))
        try:
            return fn(own)
        finally:
            own.close()
            cluster.close()
    if isinstance(client, str):
        from distributed import Client

        remote: Any = Client(client)  # type: ignore[no-untyped-call]
        try:
            return fn(remote)
        finally:
            remote.close()
    return fn(client)
