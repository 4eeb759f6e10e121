"""One partition's work, the same on every engine: read, prepare, predict, write.

A batch goes through four steps:

1. **read** -- a batch of raw rows from the input file (:mod:`._dataset`);
2. **encode** -- the model contract's ``prepare`` turns the raw rows into the
   exact feature frame the model was trained on (blank numbers, yes/no words,
   dtypes), then, for a scikit-learn ``Pipeline``, every step before the final
   estimator transforms it (one-hot encoding, scaling: Python code that holds
   the GIL);
3. **predict** -- the final estimator's ``predict_proba`` (compiled code that
   mostly releases the GIL), column :func:`~churnlib._core.model_facts.positive_index`;
   for an uplift model its ``predict_uplift`` (and ``predict_outcomes``, the
   churn probability without and with the offer, when it has one);
4. **write** -- the keys, the scores (:func:`~._model.output_columns`), the
   decision and the run's labels as an Arrow table appended to the
   partition's part file (:mod:`._output`).

:func:`process_unit` runs them one after the other (a Dask task); the local
engine (:mod:`._engines`) runs them as overlapping stages on threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.contract import ModelContract
from churnlib.exceptions import DataValidationError
from churnlib.scoring._dataset import WorkUnit, iter_unit_batches
from churnlib.scoring._model import (
    PROBA_OFFER_COLUMN,
    UPLIFT_COLUMN,
    ModelInfo,
    output_columns,
)
from churnlib.scoring._output import (
    MonitorSpec,
    OutputCommitter,
    PartWriter,
    spool_table,
)
from churnlib.scoring._result import PartitionStats

__all__: list[str] = []


@dataclass(frozen=True, slots=True)
class Job:
    """Everything a task needs besides the model (pickled once per task)."""

    input_fs: Any
    read_columns: tuple[str, ...]
    contract: ModelContract  # the input rules (the model's, or inferred)
    features: tuple[str, ...]  # the model's input columns, in its order
    positional: bool  # a model fitted without feature names gets an array
    id_columns: tuple[str, ...]
    passthrough: tuple[str, ...]  # extra input columns copied to the output
    monitored: tuple[str, ...]  # monitor columns the model does not use
    dictionary: tuple[str, ...]  # text features read as categoricals (Parquet)
    info: ModelInfo
    scored_at: datetime
    batch_rows: int
    output_fs: Any
    committer: OutputCommitter
    monitor: MonitorSpec | None


@dataclass(slots=True)
class Batch:
    """One batch on its way through the steps."""

    unit: WorkUnit
    seq: int  # batch number within the unit
    first: int  # row number of its first row within the unit
    keys: pd.DataFrame  # id and pass-through columns, as read
    X: pd.DataFrame | None  # the prepared features (the model's input frame)
    Xt: Any = None  # after the pipeline's transform steps
    proba: np.ndarray | None = None  # P(churn) (uplift models: without the offer)
    proba_offer: np.ndarray | None = None  # uplift models: P(churn | offer)
    uplift: np.ndarray | None = None  # uplift models: P(churn) the offer removes
    times: list[float] = field(default_factory=lambda: [0.0] * 5)
    n: int = 0  # rows


@dataclass(frozen=True, slots=True)
class UnitResult:
    index: int
    temp_path: str | None
    stats: PartitionStats
    summary: Any = None
    error: tuple[str, tuple[str, ...]] | None = None
    spool_path: str | None = None


READ, ENCODE, PREDICT, MONITOR, WRITE = range(5)


def model_stages(model: Any, info: ModelInfo) -> tuple[Any, Any]:
    """``(transform steps or None, final estimator)`` of a model.

    A ``Pipeline`` is cut before its last step, so its transforms and its
    final ``predict_proba`` can run on different threads; ``pipe[:-1]``
    shares the fitted steps, so the result is exactly ``pipe.predict_proba``.
    """
    if info.split:
        return model[:-1], model[-1]
    return None, model


def _where(unit: WorkUnit, first: int, n: int) -> str:
    return f"{unit.describe()}, rows {first}-{first + max(n, 1) - 1}"


def _model_error(err: Exception, unit: WorkUnit, first: int, n: int) -> Exception:
    return DataValidationError(
        f"The model could not score {_where(unit, first, n)}: {err}. Check that "
        "the input has the columns and dtypes the model was trained on.",
        columns=[],
    )


def iter_batches(job: Job, unit: WorkUnit, times: list[float]) -> Iterator[Batch]:
    """Read and prepare the unit's batches (read and encode times added up)."""
    batches = iter_unit_batches(
        job.input_fs, unit, job.read_columns, job.batch_rows, job.dictionary
    )
    first = 0
    seq = 0
    while True:
        t0 = time.perf_counter()
        frame = next(batches, None)
        t1 = time.perf_counter()
        times[READ] += t1 - t0
        if frame is None:
            return
        X = job.contract.prepare(frame, source=_where(unit, first, len(frame)))
        X = X.reset_index(drop=True)
        if list(X.columns) != list(job.features):
            X = X[list(job.features)]
        keys = frame[
            list(dict.fromkeys(job.id_columns + job.passthrough + job.monitored))
        ]
        batch = Batch(unit, seq, first, keys.reset_index(drop=True), X, n=len(frame))
        frame = None  # only the keys and the prepared features live on
        times[ENCODE] += time.perf_counter() - t1
        yield batch
        first += batch.n
        seq += 1


def encode(pre: Any, batch: Batch, job: Job) -> None:
    """Run the pipeline's transform steps on the prepared batch."""
    assert batch.X is not None
    X_in: Any = batch.X.to_numpy() if job.positional else batch.X
    if pre is None:
        batch.Xt = X_in
    else:
        try:
            batch.Xt = pre.transform(X_in)
        except (ValueError, TypeError, KeyError) as err:
            raise _model_error(err, batch.unit, batch.first, batch.n) from err
    if job.monitor is None and pre is not None:
        batch.X = None  # only the monitor reads the prepared frame again


def predict(final: Any, batch: Batch, job: Job) -> None:
    """Set the batch's scores from the final estimator."""
    info = job.info
    try:
        if info.kind == "uplift":
            batch.uplift = np.asarray(final.predict_uplift(batch.Xt), np.float64)
            if info.outcomes:
                both = np.asarray(final.predict_outcomes(batch.Xt), np.float64)
                batch.proba, batch.proba_offer = both[:, 0], both[:, 1]
        else:
            proba = final.predict_proba(batch.Xt)
            batch.proba = np.asarray(proba, dtype=np.float64)[:, info.positive_index]
    except (ValueError, TypeError, KeyError) as err:
        raise _model_error(err, batch.unit, batch.first, batch.n) from err
    batch.Xt = None  # the encoded copy is not needed any more


def output_table(batch: Batch, job: Job) -> Any:
    """Return the batch's output rows as an Arrow table."""
    import pyarrow as pa

    keep = list(dict.fromkeys(job.id_columns + job.passthrough))
    table = pa.Table.from_pandas(batch.keys[keep], preserve_index=False)
    n = batch.n
    ts = pa.scalar(job.scored_at, type=pa.timestamp("us", tz="UTC"))
    proba = batch.proba
    columns = {
        "churn_probability": lambda: pa.array(proba, pa.float64()),
        PROBA_OFFER_COLUMN: lambda: pa.array(batch.proba_offer, pa.float64()),
        UPLIFT_COLUMN: lambda: pa.array(batch.uplift, pa.float64()),
        "churn_predicted": lambda: pa.array(
            np.asarray(proba) >= job.info.threshold, pa.bool_()
        ),
        "model_version": lambda: pa.repeat(pa.scalar(job.info.version, pa.string()), n),
        "scored_at": lambda: pa.repeat(ts, n),
    }
    for name in output_columns(job.info):
        table = table.append_column(name, columns[name]())
    return table


def monitor_rows(batch: Batch, spec: MonitorSpec) -> pd.DataFrame:
    """Return the rows the monitor logs: its features (as the model saw them), score."""
    X = batch.X
    assert X is not None  # kept for the monitor
    cols = {c: (X[c] if c in X.columns else batch.keys[c]) for c in spec.features}
    return pd.DataFrame(cols).assign(**{spec.score_feature: batch.proba})


class UnitSink:
    """Where one unit's scored batches go: its part file and monitor spool."""

    def __init__(self, job: Job, unit: WorkUnit) -> None:
        self.job, self.unit = job, unit
        self.temp = job.committer.temp_part(unit.index)
        self.writer = PartWriter(job.output_fs, self.temp, job.committer.fmt)
        self.spool = None
        if job.monitor is not None:
            self.spool = PartWriter(
                job.output_fs, job.committer.temp_spool(unit.index), "parquet"
            )
        self.rows = 0
        self.blank_ids = 0
        self.summary: Any = None
        self.times = [0.0] * 5

    def add(self, batch: Batch) -> None:
        spec = self.job.monitor
        for i in (READ, ENCODE, PREDICT):
            self.times[i] += batch.times[i]
        if self.spool is not None and spec is not None:
            t0 = time.perf_counter()
            logged = monitor_rows(batch, spec)
            part = spec.detector.summarize(logged)
            self.summary = part if self.summary is None else self.summary + part
            self.spool.write(spool_table(logged, batch.keys, self.job.id_columns, spec))
            self.times[MONITOR] += time.perf_counter() - t0
        t0 = time.perf_counter()
        self.writer.write(output_table(batch, self.job))
        self.times[WRITE] += time.perf_counter() - t0
        self.rows += batch.n
        self.blank_ids += _blank_ids(batch.keys, self.job.id_columns)

    def stats(self, worker: str) -> PartitionStats:
        t = self.times
        return PartitionStats(
            partition=self.unit.index,
            input_url=self.unit.url,
            rows=self.rows,
            read_seconds=t[READ],
            encode_seconds=t[ENCODE],
            predict_seconds=t[PREDICT],
            monitor_seconds=t[MONITOR],
            write_seconds=t[WRITE],
            worker=worker,
            blank_ids=self.blank_ids,
        )

    def close(self, worker: str) -> UnitResult:
        t0 = time.perf_counter()
        written = self.writer.close()
        spooled = (
            self.spool.path if self.spool is not None and self.spool.close() else None
        )
        self.times[WRITE] += time.perf_counter() - t0
        return UnitResult(
            self.unit.index,
            self.temp if written else None,
            self.stats(worker),
            self.summary,
            spool_path=spooled,
        )

    def discard(self) -> None:
        self.writer.discard()
        if self.spool is not None:
            self.spool.discard()


def _blank_ids(keys: pd.DataFrame, id_columns: Sequence[str]) -> int:
    """Rows whose every id column is missing or blank text."""
    if not id_columns:
        return 0
    blank = np.ones(len(keys), dtype=bool)
    for column in id_columns:  # a loop over the id columns, not rows
        values = keys[column]
        missing = np.asarray(values.isna(), dtype=bool)
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            text = values.astype("string").str.strip()
            missing = missing | (text == "").fillna(True).to_numpy(dtype=bool)
        blank &= missing
    return int(blank.sum())


def worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return threading.current_thread().name


def process_unit(
    model: Any, job: Job, unit: WorkUnit, cancel: threading.Event | None = None
) -> UnitResult:
    """Read, prepare, score and write one partition, step after step.

    Data errors come back as values (so a Dask task is not retried on them);
    anything else is raised.
    """
    worker = worker_name()
    pre, final = model_stages(model, job.info)
    sink = UnitSink(job, unit)
    read_times = [0.0] * 5
    try:
        for batch in iter_batches(job, unit, read_times):
            if cancel is not None and cancel.is_set():
                break
            batch.times[READ], batch.times[ENCODE] = (
                read_times[READ],
                read_times[ENCODE],
            )
            read_times[READ] = read_times[ENCODE] = 0.0
            t0 = time.perf_counter()
            encode(pre, batch, job)
            t1 = time.perf_counter()
            predict(final, batch, job)
            batch.times[ENCODE] += t1 - t0
            batch.times[PREDICT] = time.perf_counter() - t1
            sink.add(batch)
        sink.times[READ] += read_times[READ]
        return sink.close(worker)
    except DataValidationError as err:
        sink.discard()
        return UnitResult(
            unit.index, None, sink.stats(worker), error=(str(err), err.columns)
        )
    except BaseException:
        sink.discard()
        raise
