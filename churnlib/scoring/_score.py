"""``score_table``: batch scoring of a whole table, locally or on Dask."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from churnlib._urls import redact_url
from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.scoring._dataset import (
    InputPlan,
    WorkUnit,
    check_batch,
    expected_kinds,
    iter_unit_batches,
    plan_input,
)
from churnlib.scoring._model import (
    ModelInfo,
    inspect_model,
    resolve_reference,
)
from churnlib.scoring._output import OutputCommitter

__all__ = ["PartitionStats", "ScoringResult", "score_table"]

OUTPUT_COLUMNS = ("churn_probability", "churn_predicted", "model_version", "scored_at")
_ID_PATTERN = re.compile(r"(^id$|_id$|id$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionStats:
    """What one partition (work unit) cost.

    Attributes
    ----------
    partition : int
        Partition number, in input order; also the output part number.
    input_url : str
        The input file the partition came from.
    rows : int
        Rows scored.
    read_seconds, predict_seconds, monitor_seconds, write_seconds : float
        Time spent reading and decoding, in ``predict_proba``, summarising for
        the monitor, and encoding and writing the part file.
    worker : str
        The thread (local engine) or Dask worker address that ran it.
    """

    partition: int
    input_url: str
    rows: int
    read_seconds: float
    predict_seconds: float
    monitor_seconds: float
    write_seconds: float
    worker: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringResult:
    """Outcome of :func:`score_table`.

    Attributes
    ----------
    output_url : str
        The completed output dataset (a directory with a ``_SUCCESS`` marker).
    rows : int
        Rows scored and written.
    n_partitions : int
        Partitions (work units, one output part file each).
    files : tuple of str
        The committed part files, in partition order.
    model_version : str
        The model-store version, or ``"sha-<hash>"`` for a fitted model.
    threshold : float
        The decision threshold used for ``churn_predicted``.
    threshold_source : {"argument", "model", "default"}
        Where the threshold came from.
    engine : {"local", "dask"}
        The engine that ran.
    scored_at : datetime
        The run's timestamp (UTC), also written in every row.
    seconds : float
        Wall time of the whole call, including logging to the monitor.
    plan_seconds, run_seconds, commit_seconds : float
        Its phases: loading the model and reading every file's schema;
        scoring every partition (on the engine); publishing the parts and
        ``_SUCCESS``.
    partitions : tuple of PartitionStats
        Per-partition costs, in partition order.
    drift : DriftSummary or None
        With ``monitor=``, the drift histograms of the monitor's features and
        the score, computed per partition and merged.
    drift_report : DataFrame or None
        With ``monitor=``, ``monitor.detector_.check(drift)``: one row per
        feature with its drift statistics against the monitor's reference.
    """

    output_url: str
    rows: int
    n_partitions: int
    files: tuple[str, ...]
    model_version: str
    threshold: float
    threshold_source: str
    engine: str
    scored_at: datetime
    seconds: float
    plan_seconds: float = field(default=0.0, repr=False)
    run_seconds: float = field(default=0.0, repr=False)
    commit_seconds: float = field(default=0.0, repr=False)
    partitions: tuple[PartitionStats, ...] = field(default=(), repr=False)
    drift: Any = field(default=None, repr=False)
    drift_report: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Per-partition costs as a DataFrame (one row per partition)."""
        cols = list(PartitionStats.__slots__)
        return pd.DataFrame(
            [[getattr(p, c) for c in cols] for p in self.partitions], columns=cols
        )


# -- one partition, the same on both engines --------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    """Everything a task needs besides the model (pickled once per task)."""

    input_fs: Any
    read_columns: tuple[str, ...]
    features: tuple[str, ...]
    id_columns: tuple[str, ...]
    passthrough: tuple[str, ...]
    kinds: Mapping[str, str]
    info: ModelInfo
    scored_at: datetime
    batch_rows: int
    output_fs: Any
    committer: OutputCommitter
    monitor: _MonitorSpec | None


@dataclass(frozen=True, slots=True)
class _UnitResult:
    index: int
    temp_path: str | None
    stats: PartitionStats
    summary: Any = None
    error: tuple[str, tuple[str, ...]] | None = None
    spool_path: str | None = None


def _predict(
    model: Any, X: pd.DataFrame, job: _Job, unit: WorkUnit, first: int
) -> np.ndarray:
    try:
        proba = model.predict_proba(X)
    except (ValueError, TypeError, KeyError) as err:
        raise DataValidationError(
            f"The model could not score {unit.describe()}, rows "
            f"{first}-{first + len(X) - 1}: {err}. Check that the input has the "
            "columns and dtypes the model was trained on.",
            columns=[],
        ) from err
    return np.asarray(proba, dtype=np.float64)[:, job.info.positive_index]


def _output_table(frame: pd.DataFrame, proba: np.ndarray, job: _Job) -> Any:
    import pyarrow as pa

    keep = list(job.id_columns) + [
        c for c in job.passthrough if c not in job.id_columns
    ]
    table = pa.Table.from_pandas(frame[keep], preserve_index=False)
    n = len(proba)
    ts = pa.scalar(job.scored_at, type=pa.timestamp("us", tz="UTC"))
    table = table.append_column("churn_probability", pa.array(proba, pa.float64()))
    table = table.append_column(
        "churn_predicted", pa.array(proba >= job.info.threshold, pa.bool_())
    )
    table = table.append_column(
        "model_version", pa.repeat(pa.scalar(job.info.version, pa.string()), n)
    )
    return table.append_column("scored_at", pa.repeat(ts, n))


class _PartWriter:
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
        try:
            if self._writer is not None:
                self._writer.close()
            if self._file is not None:
                self._file.close()
            if self.fs.exists(self.path):
                self.fs.rm_file(self.path)
        except Exception:  # best effort: the temp prefix goes anyway
            pass


@dataclass(frozen=True, slots=True)
class _MonitorSpec:
    """The picklable part of a ChurnMonitor that tasks need."""

    detector: Any  # the monitor's fitted DriftDetector
    features: tuple[str, ...]  # the monitor's reference feature columns
    score_feature: str  # the column name of the score in the detector


_SPOOL_ID, _SPOOL_SCORE = "__id__", "__score__"


def _monitor_rows(
    frame: pd.DataFrame, proba: np.ndarray, spec: _MonitorSpec
) -> pd.DataFrame:
    """Return the rows to log for the monitor: its features plus the score."""
    X = frame[list(spec.features)].reset_index(drop=True)
    return X.assign(**{spec.score_feature: proba})


def _spool_table(
    rows: pd.DataFrame, frame: pd.DataFrame, job: _Job, spec: _MonitorSpec
) -> Any:
    import pyarrow as pa

    ids = frame[list(job.id_columns)].astype("string")
    key = ids.iloc[:, 0]
    for col in ids.columns[1:]:
        key = key + "|" + ids[col]
    spool = rows.rename(columns={spec.score_feature: _SPOOL_SCORE})
    spool.insert(0, _SPOOL_ID, key.to_numpy())
    return pa.Table.from_pandas(spool, preserve_index=False)


def _stats(
    unit: WorkUnit, rows: int, times: list[float], worker: str
) -> PartitionStats:
    return PartitionStats(
        partition=unit.index,
        input_url=unit.url,
        rows=rows,
        read_seconds=times[0],
        predict_seconds=times[1],
        monitor_seconds=times[2],
        write_seconds=times[3],
        worker=worker,
    )


def _process_unit(
    model: Any, job: _Job, unit: WorkUnit, cancel: threading.Event | None = None
) -> _UnitResult:
    """Read, check, score and write one partition; errors come back as values."""
    worker = _worker_name()
    temp = job.committer.temp_part(unit.index)
    writer = _PartWriter(job.output_fs, temp, job.committer.fmt)
    spool = None
    if job.monitor is not None:
        spool = _PartWriter(
            job.output_fs, job.committer.temp_spool(unit.index), "parquet"
        )
    times = [0.0, 0.0, 0.0, 0.0]  # read, predict, monitor, write
    rows = 0
    summary = None
    batches = iter_unit_batches(job.input_fs, unit, job.read_columns, job.batch_rows)
    try:
        while True:
            t0 = time.perf_counter()
            frame = next(batches, None)
            times[0] += time.perf_counter() - t0
            if frame is None or (cancel is not None and cancel.is_set()):
                break
            check_batch(frame, job.kinds, unit, rows)
            X = frame[list(job.features)]
            t0 = time.perf_counter()
            # a model fitted without feature names gets the columns positionally
            X_in = X if job.info.features is not None else X.to_numpy()
            proba = _predict(model, X_in, job, unit, rows)
            times[1] += time.perf_counter() - t0
            if spool is not None and job.monitor is not None:
                t0 = time.perf_counter()
                logged = _monitor_rows(frame, proba, job.monitor)
                part = job.monitor.detector.summarize(logged)
                summary = part if summary is None else summary + part
                spool.write(_spool_table(logged, frame, job, job.monitor))
                times[2] += time.perf_counter() - t0
            t0 = time.perf_counter()
            writer.write(_output_table(frame, proba, job))
            times[3] += time.perf_counter() - t0
            rows += len(frame)
        t0 = time.perf_counter()
        written = writer.close()
        spooled = spool.path if spool is not None and spool.close() else None
        times[3] += time.perf_counter() - t0
    except DataValidationError as err:
        writer.discard()
        if spool is not None:
            spool.discard()
        stats = _stats(unit, rows, times, worker)
        return _UnitResult(unit.index, None, stats, error=(str(err), err.columns))
    except BaseException:
        writer.discard()
        if spool is not None:
            spool.discard()
        raise
    stats = _stats(unit, rows, times, worker)
    return _UnitResult(
        unit.index, temp if written else None, stats, summary, spool_path=spooled
    )


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return threading.current_thread().name


def _dask_unit(model: Any, job: _Job, unit: WorkUnit) -> _UnitResult:
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
        return _process_unit(model, job, unit)


# -- engines ------------------------------------------------------------------


def _run_local(
    model: Any, job: _Job, units: Sequence[WorkUnit], n_jobs: int
) -> list[_UnitResult]:
    cancel = threading.Event()
    results: list[_UnitResult] = []
    with ThreadPoolExecutor(
        max_workers=n_jobs, thread_name_prefix="churnlib-score"
    ) as pool:
        pending = {pool.submit(_process_unit, model, job, u, cancel) for u in units}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    res = fut.result()  # re-raises I/O errors
                    results.append(res)
                    if res.error is not None:
                        raise DataValidationError(res.error[0], columns=res.error[1])
        except BaseException:
            cancel.set()
            for fut in pending:
                fut.cancel()
            raise
    return results


def _start_local_cluster(n_workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    return cluster, Client(cluster)  # type: ignore[no-untyped-call]


def _run_dask(
    model: Any,
    job: _Job,
    units: Sequence[WorkUnit],
    client: Any,
    run_id: str,
) -> list[_UnitResult]:
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
    results: list[_UnitResult] = []
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


# -- the public function --------------------------------------------------------

_CONSTRAINTS: dict[str, list[Any]] = {
    "engine": [StrOptions({"local", "dask"})],
    "id_column": [str, list, tuple, None],
    "batch_rows": [Interval(Integral, 1, None, closed="left")],
    "storage_options": [Mapping, None],
    "threshold": [Interval(Real, 0, 1, closed="both"), None],
    "columns": [list, tuple, None],
    "input_format": [StrOptions({"parquet", "csv"}), None],
    "output_format": [StrOptions({"parquet", "csv"})],
    "overwrite": ["boolean"],
    "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
    "model_version": [str, None],
    "trusted_types": [list, tuple, None],
}


def _fs(url: Any, storage_options: Mapping[str, Any] | None) -> tuple[Any, str, str]:
    import fsspec

    url = os.fspath(url)
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    return fs, path, url


def _choose_ids(
    id_column: Any, available: Sequence[str], features: Sequence[str]
) -> tuple[str, ...]:
    if id_column is None:
        found = [c for c in available if _ID_PATTERN.search(c) and c not in features]
        if not found:
            raise DataValidationError(
                "Could not find an id column in the input (looked for a column named "
                "'id' or ending in 'id' that is not a model feature). Pass "
                "id_column='<name>' (or a list of names) so scores can be joined back."
            )
        return (found[0],)
    ids = (id_column,) if isinstance(id_column, str) else tuple(id_column)
    if not ids:
        raise InvalidParameterError(
            "The 'id_column' parameter of score_table must name at least one column."
        )
    return tuple(str(c) for c in ids)


def score_table(
    model: Any,
    input_url: str | os.PathLike[str],
    output_url: str | os.PathLike[str],
    *,
    engine: str = "local",
    id_column: str | Sequence[str] | None = None,
    batch_rows: int = 100_000,
    storage_options: Mapping[str, Any] | None = None,
    monitor: Any = None,
    client: Any = None,
    threshold: float | None = None,
    columns: Sequence[str] | None = None,
    input_format: str | None = None,
    output_format: str = "parquet",
    overwrite: bool = False,
    n_jobs: int | None = None,
    model_version: str | None = None,
    trusted_types: Sequence[str] | None = None,
) -> ScoringResult:
    """Score a whole table with a churn model and write the scores as a dataset.

    Streams the input in batches of at most ``batch_rows`` rows, so memory
    stays bounded whatever the table's size, and writes one output part file
    per partition under a temporary prefix; the output appears complete (its
    ``_SUCCESS`` marker is written) only once every part is in place.

    Read more in the :doc:`User Guide </guide/scoring>`.

    Parameters
    ----------
    model : estimator or str
        A fitted binary classifier with ``predict_proba`` (for example the
        pipeline from :class:`~churnlib.ChurnTrainer`), or a model-store
        reference ``"<store-url>@<version-or-alias>"`` such as
        ``"s3://bucket/models/churn@production"`` (without ``@``: ``latest``).
    input_url : str or path-like
        A Parquet or CSV file, a directory of part files (names starting with
        ``_`` or ``.`` are skipped), or a glob, at any fsspec URL.
    output_url : str or path-like
        Directory to write: ``part-NNNNN.parquet`` (or ``.csv``) files plus a
        ``_SUCCESS`` JSON manifest written last.
    engine : {"local", "dask"}, default="local"
        ``"local"`` scores partitions on a thread pool in this process;
        ``"dask"`` scores them as tasks on a ``dask.distributed`` cluster.
    id_column : str or list of str, default=None
        Identifier column(s) copied to the output. None picks the first input
        column named ``id`` or ending in ``id`` that is not a model feature.
    batch_rows : int, default=100_000
        Rows per batch held in memory (and target rows per partition).
    storage_options : mapping, default=None
        fsspec options (credentials, endpoint) for the input, the output and
        the model store.
    monitor : ChurnMonitor, default=None
        Each partition's monitored features and scores are summarised for
        drift with ``monitor.detector_`` and the summaries merged
        (``ScoringResult.drift``); after the output is committed, the scored
        rows are logged with ``monitor.log_predictions``, in input order.
    client : distributed.Client or str, default=None
        With ``engine="dask"``: a client, or a scheduler address
        (``"tcp://host:port"``). None starts a temporary local cluster.
    threshold : float in [0, 1], default=None
        Decision threshold for ``churn_predicted``. None uses the model's own
        threshold when it carries one (``TunedThresholdClassifierCV``,
        ``FixedThresholdClassifier``, or ``metadata["threshold"]`` of a store
        version), else 0.5.
    columns : list of str, default=None
        Extra input columns to copy into the output (for example a segment).
    input_format : {"parquet", "csv"}, default=None
        None infers it from the file names.
    output_format : {"parquet", "csv"}, default="parquet"
        Format of the output part files.
    overwrite : bool, default=False
        Replace an existing output. Otherwise an existing, non-empty output
        raises :class:`FileExistsError`.
    n_jobs : int, default=None
        Threads of the local engine; None uses every core.
    model_version : str, default=None
        Version label written with the scores. None uses the store version for
        a reference and a content hash (``"sha-..."``) for a fitted model.
    trusted_types : list of str, default=None
        With a model-store reference: extra type names you trust in the
        stored model, passed to :class:`~churnlib.deployment.ModelStore`.

    Returns
    -------
    ScoringResult
        Rows, files, model version, threshold, timings per partition.

    Raises
    ------
    DataValidationError
        If a file lacks a needed column, a column's type differs between files
        or batches, or the model rejects a batch. The message names the
        partition, the file and the column. No ``_SUCCESS`` is written and the
        temporary parts are removed.
    FileExistsError
        If the output exists and ``overwrite=False``.

    See Also
    --------
    read_scores : Read a completed output back.

    Notes
    -----
    An output is complete if and only if its ``_SUCCESS`` manifest exists:
    parts are written under ``<output>/_temporary/<run-id>/`` and moved into
    place only after every partition succeeded, then ``_SUCCESS`` is written.
    Both engines cut the input into the same partitions (runs of Parquet row
    groups of about ``batch_rows`` rows, or whole CSV files) and write one
    ``part-NNNNN`` file per partition, in input order.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import pandas as pd
    >>> from churnlib.scoring import read_scores, score_table
    >>> X = pd.DataFrame({"tenure": [1.0, 5, 20, 40], "calls": [9.0, 6, 1, 0]})
    >>> model = LogisticRegression().fit(X, [1, 1, 0, 0])
    >>> X.assign(customer_id=["a", "b", "c", "d"]).to_parquet(
    ...     "memory://doctest/scoring/customers.parquet"
    ... )
    >>> result = score_table(
    ...     model,
    ...     "memory://doctest/scoring/customers.parquet",
    ...     "memory://doctest/scoring/scores",
    ...     overwrite=True,
    ... )
    >>> result.rows, result.n_partitions, result.threshold
    (4, 1, 0.5)
    >>> read_scores("memory://doctest/scoring/scores")[
    ...     ["customer_id", "churn_predicted"]
    ... ]
      customer_id  churn_predicted
    0           a             True
    1           b             True
    2           c            False
    3           d            False
    """
    t_start = time.perf_counter()
    params = {
        "engine": engine,
        "id_column": id_column,
        "batch_rows": batch_rows,
        "storage_options": storage_options,
        "threshold": threshold,
        "columns": columns,
        "input_format": input_format,
        "output_format": output_format,
        "overwrite": overwrite,
        "n_jobs": n_jobs,
        "model_version": model_version,
        "trusted_types": trusted_types,
    }
    validate_params(_CONSTRAINTS, params, "score_table")
    if client is not None and engine != "dask":
        raise InvalidParameterError(
            "The 'client' parameter of score_table is only used with "
            f"engine='dask'. Got client={client!r} with engine={engine!r}."
        )
    so = dict(storage_options or {})

    # the model: resolve a reference once, here, to a concrete verified version
    if isinstance(model, str | os.PathLike):
        resolved = resolve_reference(os.fspath(model), so, trusted_types)
        fitted = resolved.model
        info = inspect_model(
            fitted,
            threshold=threshold,
            version=model_version or resolved.version,
            stored_threshold=resolved.threshold,
        )
    else:
        fitted = model
        info = inspect_model(fitted, threshold=threshold, version=model_version)

    in_fs, in_path, in_url = _fs(input_url, so)
    out_fs, out_path, out_url = _fs(output_url, so)
    if engine == "dask":
        for fs, url in ((in_fs, in_url), (out_fs, out_url)):
            if "memory" in _protocols(fs):
                raise InvalidParameterError(
                    f"engine='dask' cannot use {url!r}: memory:// lives in one "
                    "process and Dask workers are other processes. Use a shared "
                    "filesystem or an object store, or engine='local'."
                )

    # plan: list files, read schemas, cut partitions, check columns and types
    features = info.features
    passthrough = tuple(columns or ())
    spec = _monitor_spec(monitor)
    required_known = list(features or ()) + list(passthrough)
    if spec is not None:
        required_known += list(spec.features)
    if id_column is not None:
        required_known += [id_column] if isinstance(id_column, str) else list(id_column)
    plan: InputPlan = plan_input(
        in_fs,
        in_path,
        in_url,
        fmt=input_format,
        batch_rows=batch_rows,
        required=list(dict.fromkeys(required_known)),
    )
    ids = _choose_ids(id_column, plan.columns, features or ())
    if features is None:  # a model without feature names: every other column
        features = tuple(
            c for c in plan.columns if c not in ids and c not in passthrough
        )
    clash = [c for c in ids + passthrough if c in OUTPUT_COLUMNS]
    if clash:
        raise DataValidationError(
            f"The input column(s) {clash} would collide with score_table's output "
            f"columns {list(OUTPUT_COLUMNS)}. Rename them in the input.",
            columns=clash,
        )
    missing = [c for c in ids if c not in plan.columns]
    if missing:
        raise DataValidationError(
            f"The id column(s) {missing} are not in the input {in_url!r}.",
            columns=missing,
        )
    monitored = tuple(spec.features) if spec is not None else ()
    read_columns = tuple(dict.fromkeys(ids + passthrough + tuple(features) + monitored))
    kinds = expected_kinds(plan, list(dict.fromkeys(features + monitored)))

    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    committer = OutputCommitter(
        out_fs, out_path, out_url, fmt=output_format, overwrite=overwrite, run_id=run_id
    )
    scored_at = datetime.now(UTC).replace(microsecond=0)
    job = _Job(
        input_fs=in_fs,
        read_columns=read_columns,
        features=tuple(features),
        id_columns=ids,
        passthrough=passthrough,
        kinds=kinds,
        info=info,
        scored_at=scored_at,
        batch_rows=batch_rows,
        output_fs=out_fs,
        committer=committer,
        monitor=spec,
    )
    committer.prepare()
    t_run = time.perf_counter()
    try:
        if engine == "local":
            results = _run_local(fitted, job, plan.units, n_jobs or os.cpu_count() or 1)
        else:
            results = _with_client(
                client, lambda c: _run_dask(fitted, job, plan.units, c, run_id)
            )
        results.sort(key=lambda r: r.index)
        parts = [(r.index, r.temp_path, r.stats.rows) for r in results if r.temp_path]
        total = sum(r.stats.rows for r in results)
        drift = _merge_summaries([r.summary for r in results])
        manifest = {
            "format": output_format,
            "rows": total,
            "model_version": info.version,
            "threshold": info.threshold,
            "threshold_source": info.threshold_source,
            "scored_at": scored_at.isoformat(),
            "run_id": run_id,
            "engine": engine,
            "input": redact_url(in_url),
            "columns": list(ids + passthrough) + list(OUTPUT_COLUMNS),
            "churnlib_version": _churnlib_version(),
        }
        t_commit = time.perf_counter()
        files = committer.commit(parts, manifest, cleanup=spec is None)
        t_done = time.perf_counter()
    except BaseException:
        committer.abort()
        raise
    drift_report = None
    if spec is not None:
        # log in partition order from here, once per committed partition, so a
        # retried or failed task never logs twice and the log order (hence
        # the report) is the same on every engine
        try:
            _log_to_monitor(monitor, results, job)
            if drift is not None:
                drift_report = spec.detector.check(drift)
        finally:
            committer.abort()
    return ScoringResult(
        output_url=out_url,
        rows=total,
        n_partitions=len(plan.units),
        files=tuple(files),
        model_version=info.version,
        threshold=info.threshold,
        threshold_source=info.threshold_source,
        engine=engine,
        scored_at=scored_at,
        seconds=time.perf_counter() - t_start,
        plan_seconds=t_run - t_start,
        run_seconds=t_commit - t_run,
        commit_seconds=t_done - t_commit,
        partitions=tuple(r.stats for r in results),
        drift=drift,
        drift_report=drift_report,
    )


def _with_client(client: Any, fn: Any) -> Any:
    if client is None:
        cluster, own = _start_local_cluster(min(os.cpu_count() or 1, 4))
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


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _churnlib_version() -> str:
    import churnlib

    return churnlib.__version__


def _monitor_spec(monitor: Any) -> _MonitorSpec | None:
    if monitor is None:
        return None
    detector = getattr(monitor, "detector_", None)
    features = getattr(monitor, "features_", None)
    if (
        detector is None
        or features is None
        or not callable(getattr(monitor, "log_predictions", None))
    ):
        raise InvalidParameterError(
            "The 'monitor' parameter of score_table must be a "
            f"churnlib.monitoring.ChurnMonitor or None. Got {monitor!r} instead."
        )
    from churnlib.monitoring import SCORE_FEATURE

    return _MonitorSpec(detector, tuple(features), SCORE_FEATURE)


def _merge_summaries(parts: Sequence[Any]) -> Any:
    merged = None
    for p in parts:
        if p is None:
            continue
        merged = p if merged is None else merged + p
    return merged


def _log_to_monitor(monitor: Any, results: Sequence[_UnitResult], job: _Job) -> None:
    """Log every spooled partition to the monitor, in order, batch by batch."""
    import pyarrow.parquet as pq

    spec = job.monitor
    if spec is None:
        return
    for res in results:
        if res.spool_path is None:
            continue
        with job.output_fs.open(res.spool_path, "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=job.batch_rows):
                frame = batch.to_pandas()
                monitor.log_predictions(
                    frame[list(spec.features)],
                    frame[_SPOOL_SCORE].to_numpy(),
                    ids=frame[_SPOOL_ID].to_numpy(),
                    timestamp=job.scored_at,
                )
