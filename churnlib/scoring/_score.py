"""``score_table``: the public entry point of batch scoring.

It decides everything once, on the client -- the model (a store reference is
resolved to one verified version), its contract (the input rules training
decided: features, roles, cleaning, id column), the positive class and the
threshold, the input's partitions -- then hands the partitions to an engine
(:mod:`._engines`) and commits the output (:mod:`._output`).
"""

from __future__ import annotations

import os
import re
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from numbers import Integral, Real
from typing import Any

import pandas as pd

from churnlib._core.timeouts import (
    BoundedFileSystem,
    StorageTimeoutError,
    bounded_storage_options,
    resolve_timeout,
    timeout_message,
)
from churnlib._core.version import __version__
from churnlib._urls import check_storage_url, redact_url
from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
    StorageError,
)
from churnlib.scoring._dataset import (
    InputPlan,
    expected_kinds,
    iter_unit_batches,
    keys_as_text,
    plan_input,
)
from churnlib.scoring._engines import run_dask, run_local, with_client
from churnlib.scoring._model import (
    RESERVED_COLUMNS,
    UPLIFT_COLUMN,
    ModelInfo,
    fallback_contract,
    inspect_model,
    output_columns,
    resolve_reference,
)
from churnlib.scoring._output import MonitorSpec, OutputCommitter, log_spools
from churnlib.scoring._partition import Job
from churnlib.scoring._result import ScoringResult

__all__ = ["score_table"]

_ID_PATTERN = re.compile(r"(^id$|_id$|id$)", re.IGNORECASE)


# -- the public function --------------------------------------------------------

_CONSTRAINTS: dict[str, list[Any]] = {
    "engine": [StrOptions({"local", "dask"})],
    "id_column": [str, list, tuple, None],
    "batch_rows": [Interval(Integral, 1, None, closed="left")],
    "storage_options": [Mapping, None],
    "threshold": [Interval(Real, 0, 1, closed="both"), None],
    "columns": [list, tuple, None],
    "input_format": [StrOptions({"parquet", "csv", "excel"}), None],
    "output_format": [StrOptions({"parquet", "csv"})],
    "overwrite": ["boolean"],
    "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
    "model_version": [str, None],
    "trusted_types": [list, tuple, None],
    "timeout": [Interval(Real, 0, None, closed="neither"), None],
}
#: How a user raises the bound, in timeout messages.
_KNOB = "score_table(..., timeout=seconds)"


def _fs(
    url: Any, storage_options: Mapping[str, Any] | None, timeout: float
) -> tuple[BoundedFileSystem, str, str]:
    """Open ``url``: its filesystem (every request bounded), path, and the URL.

    The filesystem is labelled with the redacted URL, so a request that hangs
    on a worker still says which location it was.
    """
    import fsspec

    url = os.fspath(url)
    protocol = fsspec.core.split_protocol(url)[0] or "file"
    options = bounded_storage_options(
        protocol, dict(storage_options or {}), timeout=timeout
    )
    fs, path = fsspec.core.url_to_fs(url, **options)
    return BoundedFileSystem(fs, timeout, where=redact_url(url)), path, url


def _timed_out(err: StorageTimeoutError, fallback: str, timeout: float) -> StorageError:
    """Build the churnlib error for a storage request that did not answer."""
    where = err.where or redact_url(fallback)
    return StorageError(
        timeout_message("reach", repr(where), timeout, _KNOB), url=where
    )


def _explicit_ids(id_column: Any) -> tuple[str, ...] | None:
    if id_column is None:
        return None
    ids = (id_column,) if isinstance(id_column, str) else tuple(id_column)
    if not ids:
        raise InvalidParameterError(
            "The 'id_column' parameter of score_table must name at least one column."
        )
    return tuple(str(c) for c in ids)


def _choose_ids(
    explicit: tuple[str, ...] | None, info: ModelInfo, plan: InputPlan, url: str
) -> tuple[str, ...]:
    """Choose the output's key: ``id_column=``, else the contract's id, else a guess.

    The guess (a column named ``id`` or ending in ``id`` that is not a model
    feature) is only for models without a contract, or whose training table
    had no identifier.
    """
    features = set(info.features or ())
    if explicit is not None:
        ids = explicit
    elif info.contract is not None and info.contract.id_columns:
        ids = (info.contract.id_columns[0],)
        if ids[0] not in plan.columns:
            raise DataValidationError(
                f"The input {url!r} lacks the id column {ids[0]!r} the model was "
                "trained with, which keys the scores. Add it, or pass "
                "id_column='<name>' to key the output by another column.",
                columns=list(ids),
            )
    else:
        found = [c for c in plan.columns if _ID_PATTERN.search(c) and c not in features]
        if not found:
            raise DataValidationError(
                "Could not find an id column in the input (the model records none, "
                "and no column is named 'id' or ends in 'id'). Pass "
                "id_column='<name>' (or a list of names) so scores can be joined back."
            )
        ids = (found[0],)
    missing = [c for c in ids if c not in plan.columns]
    if missing:
        raise DataValidationError(
            f"The id column(s) {missing} are not in the input {url!r}.",
            columns=missing,
        )
    return ids


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
    timeout: float | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    na_values: Sequence[str] | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
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
        The model's contract (:func:`~churnlib.get_contract`) says how to read
        the raw input: the same cleaning as in training (``' '`` blanks in
        number columns, placeholders such as ``"Unknown"``, yes/no words), the
        feature columns and their dtypes, and the id column. A model without
        a contract is read with rules inferred from its feature names and the
        input's column types.

        An uplift model (:mod:`churnlib.uplift`, or a ``Pipeline`` ending in
        one) writes ``churn_reduction_if_offered``: the churn probability the
        retention offer removes, ``P(churn | no offer) - P(churn | offer)``
        (positive: the offer keeps the customer; negative: a sleeping dog it
        pushes away). ``TwoModelUplift`` and ``XLearnerUplift`` also write
        ``churn_probability`` (the risk without the offer),
        ``churn_probability_if_offered`` and ``churn_predicted``;
        ``ClassTransformationUplift`` gives no churn probability, so it writes
        the reduction only.
    input_url : str or path-like
        A Parquet, CSV or Excel file, a directory of part files (names
        starting with ``_`` or ``.`` are skipped), or a glob, at any fsspec
        URL. CSV files are read by the training reader's rules
        (``churnlib.read_table``: encoding, delimiter, decimal commas,
        zero-padded ids kept as text) decided from each file's first rows; an
        Excel file is one partition, read whole. Credentials belong in
        ``storage_options``, never in the URL (``s3://KEY:SECRET@...`` is
        refused).
    output_url : str or path-like
        Directory to write: ``part-NNNNN.parquet`` (or ``.csv``) files plus a
        ``_SUCCESS`` JSON manifest written last.
    engine : {"local", "dask"}, default="local"
        ``"local"`` scores partitions on a thread pool in this process;
        ``"dask"`` scores them as tasks on a ``dask.distributed`` cluster.
    id_column : str or list of str, default=None
        Identifier column(s) copied to the output, first in every row. None
        uses the id column the model contract recorded in training (for
        example Telco's ``customerID``); for a model without one, the first
        input column named ``id`` or ending in ``id`` that is not a feature.
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
        threshold when it carries one (its contract, ``TunedThresholdClassifierCV``,
        ``FixedThresholdClassifier``, or ``metadata["threshold"]`` of a store
        version), else 0.5.
    columns : list of str, default=None
        Extra input columns to copy into the output (for example a segment).
    input_format : {"parquet", "csv", "excel"}, default=None
        None infers it from the file names (a single file without a known
        suffix: from its first bytes).
    output_format : {"parquet", "csv"}, default="parquet"
        Format of the output part files.
    overwrite : bool, default=False
        Replace an existing output. Otherwise an existing, non-empty output
        raises :class:`~churnlib.exceptions.StorageError`.
    n_jobs : int, default=None
        Threads of the local engine; None uses every core.
    model_version : str, default=None
        Version label written with the scores. None uses the store version for
        a reference and a content hash (``"sha-..."``) for a fitted model.
    trusted_types : list of str, default=None
        With a model-store reference: extra type names you trust in the
        stored model, passed to :class:`~churnlib.deployment.ModelStore`.
    timeout : float, default=None
        Seconds one storage request (input, output, model store) may take,
        whatever the storage client's own retries; a run against an endpoint
        that stops answering fails after about this long with
        :class:`~churnlib.exceptions.StorageError`. None uses
        ``CHURNLIB_STORAGE_TIMEOUT``, else 60 -- the model store's setting.
    sep, encoding, decimal, thousands, na_values, header_row : default=None
        CSV read options, as for ``churnlib.read_table``, applied to
        every input file (None: decided per file, as training does).
        ``na_values`` and ``header_row`` apply to Excel too.
    sheet : str or int, default=None
        Excel: the sheet (None: the one holding the table).

    Returns
    -------
    ScoringResult
        Rows, files, model version, threshold, timings per partition.

    Raises
    ------
    DataValidationError
        If a file lacks a needed column, a value cannot be read the way the
        model was trained (text in a number column, an unknown code in a yes/no
        column), or the model rejects a batch. The message names the
        partition, the file, the rows and the column. No ``_SUCCESS`` is
        written, the temporary parts are removed, and an output folder the
        run created is removed again. Also raised, before anything is read,
        when the model's churn class cannot be told from its classes (text
        labels matching no churn word): train it with churnlib, or set
        ``model.pos_label``.
    TableNotFoundError
        If the input does not exist (also a :class:`FileNotFoundError`).
    StorageError
        If the output exists and ``overwrite=False``, or is a file (also a
        :class:`FileExistsError`); or if the input, the output or the model
        store did not answer within ``timeout`` (the message names which).

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
        "timeout": timeout,
    }
    validate_params(_CONSTRAINTS, params, "score_table")
    read_options = {
        "sep": sep,
        "encoding": encoding,
        "decimal": decimal,
        "thousands": thousands,
        "na_values": None if na_values is None else list(na_values),
        "sheet": sheet,
        "header_row": header_row,
    }
    bound = resolve_timeout(timeout)
    if client is not None and engine != "dask":
        raise InvalidParameterError(
            "The 'client' parameter of score_table is only used with "
            f"engine='dask'. Got client={client!r} with engine={engine!r}."
        )
    so = dict(storage_options or {})

    # the model: resolve a reference once, here, to a concrete verified version
    if isinstance(model, str | os.PathLike):
        resolved = resolve_reference(os.fspath(model), so, trusted_types, bound)
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

    # a query token or credential in the output URL would be written into
    # every part's object key: refused, as for the model and monitor stores
    check_storage_url(os.fspath(output_url), "The scoring output URL")
    # credentials before '@' would reach the driver and its errors; a query
    # string (a pre-signed URL) is fine for reading
    check_storage_url(os.fspath(input_url), "The scoring input URL", query_allowed=True)
    in_fs, in_path, in_url = _fs(input_url, so, bound)
    out_fs, out_path, out_url = _fs(output_url, so, bound)
    try:
        return _run(
            fitted,
            info,
            in_fs=in_fs,
            in_path=in_path,
            in_url=in_url,
            out_fs=out_fs,
            out_path=out_path,
            out_url=out_url,
            engine=engine,
            id_column=id_column,
            batch_rows=batch_rows,
            monitor=monitor,
            client=client,
            columns=columns,
            input_format=input_format,
            output_format=output_format,
            overwrite=overwrite,
            n_jobs=n_jobs,
            t_start=t_start,
            read_options=read_options,
        )
    except StorageTimeoutError as err:
        raise _timed_out(err, in_url, bound) from None


def _run(
    fitted: Any,
    info: ModelInfo,
    *,
    in_fs: BoundedFileSystem,
    in_path: str,
    in_url: str,
    out_fs: BoundedFileSystem,
    out_path: str,
    out_url: str,
    engine: str,
    id_column: Any,
    batch_rows: int,
    monitor: Any,
    client: Any,
    columns: Sequence[str] | None,
    input_format: str | None,
    output_format: str,
    overwrite: bool,
    n_jobs: int | None,
    t_start: float,
    read_options: Mapping[str, Any] | None = None,
) -> ScoringResult:
    """Plan, run and commit a scoring run (storage timeouts raise through)."""
    if engine == "dask":
        for fs, url in ((in_fs, in_url), (out_fs, out_url)):
            if "memory" in _protocols(fs):
                raise InvalidParameterError(
                    f"engine='dask' cannot use {redact_url(url)!r}: memory:// lives "
                    "in one process and Dask workers are other processes. Use a shared "
                    "filesystem or an object store, or engine='local'."
                )

    # plan: list files, read schemas, cut partitions, check columns
    contract = info.contract
    passthrough = tuple(str(c) for c in columns or ())
    spec = _monitor_spec(monitor)
    if spec is not None and not info.outcomes:
        raise InvalidParameterError(
            "The 'monitor' parameter of score_table logs churn probabilities, "
            f"which this uplift model does not give (it writes {UPLIFT_COLUMN!r} "
            "only). Score without monitor=, or use a TwoModelUplift or "
            "XLearnerUplift, which model churn with and without the offer."
        )
    explicit_ids = _explicit_ids(id_column)
    required_known = list(info.features or ()) + list(passthrough)
    if explicit_ids is not None:
        required_known += list(explicit_ids)
    plan: InputPlan = plan_input(
        in_fs,
        in_path,
        redact_url(in_url),
        fmt=input_format,
        batch_rows=batch_rows,
        required=list(dict.fromkeys(required_known)),
        read_options=read_options,
        passthrough=passthrough,
    )
    ids = _choose_ids(explicit_ids, info, plan, redact_url(in_url))
    features = info.features
    if features is None:  # a model without feature names: every other column
        features = tuple(
            c for c in plan.columns if c not in ids and c not in passthrough
        )
    plan = keys_as_text(plan, [c for c in ids + passthrough if c not in features])
    if contract is None:
        kinds = expected_kinds(plan, list(features), check=False)
        sample = _sample(in_fs, plan, features, batch_rows)
        contract = fallback_contract(features, sample, kinds)
    clash = [c for c in ids + passthrough if c in RESERVED_COLUMNS]
    if clash:
        raise DataValidationError(
            f"The input column(s) {clash} would collide with score_table's output "
            f"columns {list(RESERVED_COLUMNS)}. Rename them in the input.",
            columns=clash,
        )
    monitored: tuple[str, ...] = ()
    if spec is not None:
        monitored = tuple(c for c in spec.features if c not in contract.feature_names)
        missing = [c for c in monitored if c not in plan.columns]
        if missing:
            raise DataValidationError(
                f"The monitor watches column(s) {missing} that neither the model "
                f"uses nor the input {redact_url(in_url)!r} has.",
                columns=missing,
            )
    read_columns = tuple(
        dict.fromkeys(ids + passthrough + contract.feature_names + monitored)
    )
    # text features with few levels are read as categoricals (less memory,
    # cleaning per level); ids and pass-through columns are read as they are
    kinds = expected_kinds(plan, list(contract.feature_names), check=False)
    dictionary = tuple(
        spec.name
        for spec in contract.features
        if spec.role in ("categorical", "binary")
        and kinds.get(spec.name) == "string"
        and spec.name not in ids + passthrough + monitored
    )

    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    committer = OutputCommitter(
        out_fs,
        out_path,
        redact_url(out_url),
        fmt=output_format,
        overwrite=overwrite,
        run_id=run_id,
    )
    scored_at = datetime.now(UTC).replace(microsecond=0)
    job = Job(
        input_fs=in_fs,
        read_columns=read_columns,
        contract=contract,
        features=tuple(features),
        positional=info.features is None,
        id_columns=ids,
        passthrough=passthrough,
        monitored=monitored,
        dictionary=dictionary,
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
            results = run_local(fitted, job, plan.units, n_jobs or os.cpu_count() or 1)
        else:
            results = with_client(
                client, lambda c: run_dask(fitted, job, plan.units, c, run_id)
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
            "contract": "model" if info.contract is not None else "inferred",
            "id_columns": list(ids),
            "scored_at": scored_at.isoformat(),
            "run_id": run_id,
            "engine": engine,
            "input": redact_url(in_url),
            "kind": info.kind,
            "columns": list(dict.fromkeys(ids + passthrough))
            + list(output_columns(info)),
            "churnlib_version": __version__,
        }
        t_commit = time.perf_counter()
        files = committer.commit(parts, manifest, cleanup=spec is None)
        committer.done()
        t_done = time.perf_counter()
    except BaseException as err:
        if not (isinstance(err, StorageTimeoutError) and err.where == out_fs.where):
            committer.abort()
        # else the output does not answer: its temporary prefix (invisible to
        # readers) is left rather than waiting out the bound again per file
        raise
    drift_report = None
    if spec is not None:
        # log in partition order from here, once per committed partition, so a
        # retried or failed task never logs twice and the log order (hence
        # the report) is the same on every engine
        try:
            log_spools(
                monitor,
                out_fs,
                [r.spool_path for r in results],
                spec,
                batch_rows=batch_rows,
                timestamp=scored_at,
            )
            if drift is not None:
                drift_report = spec.detector.check(drift)
        finally:
            committer.abort()
    blank = sum(r.stats.blank_ids for r in results)
    if blank:
        warnings.warn(
            f"{blank:,} of {total:,} scored rows of {redact_url(in_url)!r} have no "
            f"id (blank {', '.join(map(repr, ids))}): their scores are written but "
            "cannot be joined back to a customer. Fill in the ids, or drop those "
            "rows before scoring.",
            DataQualityWarning,
            stacklevel=2,
        )
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
        id_columns=ids,
        contract="model" if info.contract is not None else "inferred",
        kind=info.kind,
        columns=tuple(dict.fromkeys(ids + passthrough)) + output_columns(info),
    )


def _sample(
    fs: Any, plan: InputPlan, features: Sequence[str], batch_rows: int
) -> pd.DataFrame | None:
    """Read the first rows of the input's features (at most 10,000), raw."""
    for unit in plan.units:
        batch = next(
            iter_unit_batches(fs, unit, list(features), min(batch_rows, 10_000)), None
        )
        if batch is not None:
            return batch
    return None


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _monitor_spec(monitor: Any) -> MonitorSpec | None:
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

    return MonitorSpec(detector, tuple(features), SCORE_FEATURE)


def _merge_summaries(parts: Sequence[Any]) -> Any:
    merged = None
    for p in parts:
        if p is None:
            continue
        merged = p if merged is None else merged + p
    return merged
