"""``ChurnMonitor``: log predictions, outcomes and churn events; report; notify.

The monitor is a thin facade over its parts: the reference it compares with
(:mod:`._reference`), the prediction log (:mod:`._log`), the attribution of
outcomes to predictions (:mod:`._outcomes`), the streaming chunk assembly
(:mod:`._chunks`) and the incident rules (:mod:`._incidents`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.monitoring._alerts import DEFAULT_RULES, Alert, AlertRule, LoggingSink
from churnlib.monitoring._chunks import (
    EMPTY_EXTRACT,
    EVENT_AT,
    ID,
    SCORE,
    SCORED_AT,
    TS,
    Y,
    assemble,
    chunk_starts,
)
from churnlib.monitoring._detector import DriftDetector
from churnlib.monitoring._frames import build_report
from churnlib.monitoring._incidents import incident_key
from churnlib.monitoring._log import open_log
from churnlib.monitoring._outcomes import NO_SCORED_AT
from churnlib.monitoring._reference import (
    SCORE_FEATURE,
    STRING,
    Reference,
    check_labels,
    check_scores,
    check_segments,
)
from churnlib.monitoring._report import MonitorReport

__all__ = ["SCORE_FEATURE", "ChurnMonitor"]

_DEFAULT_HORIZON = "90D"


def _to_utc(values: Any, n: int, what: str) -> np.ndarray:
    """Convert times to int64 microseconds since the epoch (UTC); None is now."""
    if values is None:
        values = pd.Timestamp.now(tz="UTC")
    micros: np.ndarray | None = None
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind == "M":
        # NumPy times (naive: UTC), what a service hands over: no pandas trip
        micros = values.astype("datetime64[us]").view(np.int64)
        count, missing = len(micros), bool((micros == np.iinfo(np.int64).min).any())
    else:
        try:
            if np.ndim(values) == 0:
                ts = pd.Series(pd.Timestamp(values)).repeat(n).reset_index(drop=True)
            else:
                ts = pd.Series(pd.to_datetime(pd.Series(values).to_numpy()))
        except (TypeError, ValueError) as err:
            raise DataValidationError(
                f"timestamp of {what} could not be read as dates: {err}. Pass a "
                "datetime, a string like '2026-01-01', or one per row."
            ) from err
        count, missing = len(ts), bool(ts.isna().any())
    if count != n:
        raise DataValidationError(
            f"timestamp of {what} has {count} values for {n} rows; pass one "
            "timestamp, or one per row."
        )
    if missing:
        raise DataValidationError(f"timestamp of {what} has missing values.")
    if micros is None:
        if ts.dt.tz is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        micros = ts.astype("datetime64[us]").to_numpy().view(np.int64)
    return micros


def _horizon(value: Any) -> pd.Timedelta:
    try:
        td = pd.Timedelta(value)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            "The 'horizon' parameter of ChurnMonitor must be a duration like "
            f"'90D'. Got {value!r} instead."
        ) from err
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise InvalidParameterError(
            "The 'horizon' parameter of ChurnMonitor must be a positive duration. "
            f"Got {value!r} instead."
        )
    return td


def _horizon_text(td: pd.Timedelta) -> str:
    if td % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{td.days}D"
    return f"{int(td / pd.Timedelta(seconds=1))}s"


#: Column of the predictions log holding the model version that answered.
MODEL_VERSION = "__model_version__"


class ChurnMonitor:
    """Monitor a deployed churn model over a re-scored customer base.

    Each :meth:`log_predictions` call appends one immutable batch of
    predictions keyed by (customer id, scored at). Outcomes arrive later,
    either per prediction (:meth:`log_outcomes`) or as churn events per
    customer with a date (:meth:`log_churn_events`), which are attributed to
    that customer's predictions whose horizon contains them. :meth:`report`
    is a pure query over the log; :meth:`notify` delivers its new incidents to
    the sinks, exactly once per incident even across processes sharing the
    store.

    Read more in the :doc:`monitoring guide </guide/monitoring>`.

    Parameters
    ----------
    reference : DataFrame
        Rows the model was validated on (not trained on): their features,
        optionally the label column (``target``) and the id column. With a
        model carrying a contract, only the contract's features are watched.
    model : estimator or None, default=None
        A fitted classifier with ``predict_proba``. When it carries a model
        contract, the monitor watches exactly the contract's features plus the
        score (never identifiers or excluded columns), takes the id column,
        target and threshold from it and refuses a reference overlapping the
        training rows. Also scores the reference (when ``reference_scores``
        is None) and batches logged without scores.
    reference_scores : array-like of shape (n_reference,) or None, default=None
        Churn probabilities of the reference rows.
    target : str, array-like or None, default=None
        Reference labels: a column of ``reference`` or an array (bool, 0/1, or
        the raw labels the model's contract decodes).
    store : str, path-like or None, default=None
        None keeps the log in memory; any fsspec URL or path persists it as
        Parquet (``predictions/``, ``outcomes/``, ``events/``, ``alerts/``
        and ``monitor.json``).
    storage_options : dict or None, default=None
        Passed to fsspec with ``store``.
    timeout : float or None, default=None
        Seconds one request to ``store`` may take before the call fails with
        :class:`MonitorStoreError` (the model store's bound: None uses
        ``CHURNLIB_STORAGE_TIMEOUT``, else 60).
    rules : sequence of AlertRule or None, default=None
        Alert rules; None uses :data:`DEFAULT_RULES`; ``()`` disables alerts.
    sinks : sequence of callables or None, default=None
        Where :meth:`notify` delivers alerts; each is called with an
        :class:`Alert`. None logs them (:class:`LoggingSink`).
    threshold : float or None, default=None
        Decision threshold on the score; None takes the model contract's,
        else 0.5.
    id_column : str or None, default="customer_id"
        Column holding the customer id (the contract's id column wins). Never
        treated as a feature.
    detector : DriftDetector or None, default=None
        An unfitted detector to use (its parameters); None uses
        ``DriftDetector(random_state=0)``. Its ``alpha`` is the family-wise
        false-alarm level of one chunk over all features, segments included.
    horizon : str, timedelta or None, default=None
        How long after scoring a churn event counts for a prediction:
        ``"90D"`` means a customer scored at ``s`` who churns before
        ``s + 90 days`` is a positive. Recorded in the store; None uses the
        store's, else ``"90D"``.
    segments : list of str or None, default=None
        Feature columns to break drift, performance and estimates down by
        (one detector per value seen at least 50 times in the reference).
    max_segment_values : int, default=20
        Most frequent values monitored per segment column.
    allow_training_overlap : bool, default=False
        Accept a reference overlapping the model's training rows (with a
        warning); those rows then serve the drift reference only.

    Attributes
    ----------
    features_ : tuple of str
        Feature columns watched.
    detector_ : DriftDetector
        Fitted on the reference features plus ``model_score``.
    reference_metrics_ : dict of str to float
        Reference performance (realized if labels were given, else
        estimated), on rows the model did not fit on.
    calibrator_ : IsotonicRegression or None
        Maps scores to calibrated probabilities for the estimates.
    contract_ : ModelContract or None
        The model's contract, when it carries one.
    horizon_ : pandas.Timedelta
        The churn horizon.
    training_overlap_ : float
        Share of reference rows that were training rows (NaN: unknown).

    Examples
    --------
    >>> from churnlib.data import generate_customers, simulate_production
    >>> from churnlib.monitoring import ChurnMonitor
    >>> ref = generate_customers(2000, random_state=0, return_truth=True)
    >>> monitor = ChurnMonitor(
    ...     ref.drop(columns="churn_probability"),
    ...     reference_scores=ref["churn_probability"],
    ...     target="churned",
    ...     rules=(),
    ... )
    >>> for batch in simulate_production(3, 500, random_state=1):
    ...     keys = monitor.log_predictions(
    ...         batch.X, batch.truth, timestamp=batch.timestamp
    ...     )
    ...     _ = monitor.log_outcomes(keys, batch.y, timestamp=batch.labels_at)
    >>> report = monitor.report(chunk_size=500)
    >>> len(report.chunks)
    3
    >>> report.performance.query("metric == 'roc_auc'").shape[0]
    6
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        *,
        model: Any = None,
        reference_scores: Any = None,
        target: str | Any = None,
        store: str | os.PathLike[str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
        rules: Sequence[AlertRule] | None = None,
        sinks: Sequence[Callable[[Alert], Any]] | None = None,
        threshold: float | None = None,
        id_column: str | None = "customer_id",
        detector: DriftDetector | None = None,
        horizon: Any = None,
        segments: Sequence[str] | None = None,
        max_segment_values: int = 20,
        allow_training_overlap: bool = False,
        timeout: float | None = None,
    ) -> None:
        if threshold is not None and not (
            isinstance(threshold, int | float)
            and not isinstance(threshold, bool)
            and 0.0 <= threshold <= 1.0
        ):
            raise InvalidParameterError(
                "The 'threshold' parameter of ChurnMonitor must be a float in the "
                f"range [0.0, 1.0]. Got {threshold!r} instead."
            )
        if model is not None and not hasattr(model, "predict_proba"):
            raise InvalidParameterError(
                "The 'model' parameter of ChurnMonitor must have predict_proba. "
                f"Got {type(model).__name__} instead."
            )
        if (
            isinstance(max_segment_values, bool)
            or not isinstance(max_segment_values, int)
            or max_segment_values < 1
        ):
            raise InvalidParameterError(
                "The 'max_segment_values' parameter of ChurnMonitor must be an int "
                f"in the range [1, inf). Got {max_segment_values!r} instead."
            )
        self.model = model
        self.store = store
        self.storage_options = storage_options
        self.rules = tuple(DEFAULT_RULES if rules is None else rules)
        for rule in self.rules:
            if not isinstance(rule, AlertRule):
                raise InvalidParameterError(
                    "The 'rules' parameter of ChurnMonitor must hold AlertRule "
                    f"objects. Got {rule!r}."
                )
        default_sinks: list[Callable[[Alert], Any]] = [LoggingSink()]
        self.sinks = tuple(default_sinks if sinks is None else sinks)
        for sink in self.sinks:
            if not callable(sink):
                raise InvalidParameterError(
                    f"Every sink must be callable (called with an Alert). Got {sink!r}."
                )
        wanted = None if horizon is None else _horizon(horizon)
        self._ref = Reference(
            reference,
            model=model,
            reference_scores=reference_scores,
            target=target,
            id_column=id_column,
            detector=detector,
            threshold=threshold,
            segments=check_segments(segments),
            max_segment_values=max_segment_values,
            allow_training_overlap=bool(allow_training_overlap),
        )
        ref = self._ref
        self.threshold = ref.threshold
        self.id_column = ref.id_column
        self.segments = ref.segments
        self.features_ = ref.features
        self.detector_ = ref.detector
        self.reference_metrics_ = ref.metrics
        self.calibrator_ = ref.calibrator
        self.contract_ = ref.contract
        self.training_overlap_ = ref.training_overlap
        self._log = open_log(store, storage_options, timeout)
        meta = self._log.read_meta() or {}
        stored = meta.get("horizon")
        if stored is not None:
            stored_td = _horizon(stored)
            if wanted is not None and wanted != stored_td:
                raise DataValidationError(
                    f"The monitor store was created with horizon={stored!r}; got "
                    f"horizon={_horizon_text(wanted)!r}. Outcomes already "
                    "attributed with one horizon cannot change meaning: pass "
                    f"horizon={stored!r} (or None), or use a new store."
                )
            self.horizon_ = stored_td
        else:
            self.horizon_ = wanted if wanted is not None else _horizon(_DEFAULT_HORIZON)
            self._log.write_meta(
                {"format": 2, "horizon": _horizon_text(self.horizon_), **meta}
            )

    def __repr__(self) -> str:
        where = "memory" if self.store is None else "store"
        return (
            f"ChurnMonitor(features={len(self.features_)}, log={where}, "
            f"horizon={_horizon_text(self.horizon_)!r}, rules={len(self.rules)}, "
            f"sinks={len(self.sinks)})"
        )

    # ------------------------------------------------------------------ #
    # logging
    # ------------------------------------------------------------------ #
    def log_predictions(
        self,
        X: pd.DataFrame,
        scores: Any = None,
        *,
        ids: Any = None,
        timestamp: Any = None,
        generate_ids: bool = False,
        model_version: str | None = None,
    ) -> pd.MultiIndex:
        """Append one batch of predictions to the log.

        Parameters
        ----------
        X : DataFrame
            The rows scored. Without a model contract: exactly the reference
            feature columns (plus the id column). With one: any raw table
            holding the model's features (other columns are ignored, never
            watched).
        scores : array-like of shape (n_samples,) or (n_samples, 2), default=None
            Churn probabilities (``predict_proba`` output is accepted). None
            scores ``X`` with ``model``.
        ids : array-like of shape (n_samples,) or None, default=None
            Customer ids; None takes the id column of ``X``.
        timestamp : datetime, str or array-like, default=None
            When the rows were scored: one value or one per row; None is now
            (UTC). With the id, it keys the prediction.
        generate_ids : bool, default=False
            Without ids, invent unique ones (returned) instead of refusing the
            batch. Outcomes must then be logged with the returned keys.
        model_version : str, default=None
            The model version that produced ``scores`` (a store version id),
            kept with every row of the batch (column ``__model_version__``), so
            a log can be traced to the version that answered.

        Returns
        -------
        pandas.MultiIndex
            The prediction keys (``id``, ``scored_at``): pass them to
            :meth:`log_outcomes` for per-prediction outcomes.

        Raises
        ------
        DataValidationError
            When ``X`` lacks feature columns or has unknown ones (without a
            contract), a column's type changed, ids are missing, a key
            repeats, or scores or timestamps are malformed. Nothing is
            written then.
        """
        ref = self._ref
        if not isinstance(X, pd.DataFrame):
            raise DataValidationError(
                f"X must be a pandas DataFrame with the reference columns; got "
                f"{type(X).__name__}."
            )
        from churnlib.monitoring._reference import check_columns

        check_columns(X, "X")
        n = len(X)
        if ref.contract is not None:
            prepared = ref.contract.prepare(X, source="the logged batch")
            prepared = prepared.set_axis(X.index)
        else:
            missing = [c for c in self.features_ if c not in X.columns]
            allowed = set(self.features_) | (
                {self.id_column} if self.id_column else set()
            )
            extra = [c for c in X.columns if c not in allowed]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"missing columns {missing}")
                if extra:
                    parts.append(f"unknown columns {extra}")
                raise DataValidationError(
                    "X does not match the reference schema: "
                    + " and ".join(parts)
                    + ". Pass exactly the reference feature columns (plus the id "
                    "column).",
                    columns=missing + extra,
                )
            prepared = X
        if scores is None:
            if self.model is None:
                raise DataValidationError(
                    "scores is None and the monitor has no model; pass scores."
                )
            scores = ref.model_scores(
                prepared[list(self.features_)] if ref.contract is not None else X
            )
        else:
            scores = check_scores(scores, n, "scores")
        if not ref.has_scores:
            raise DataValidationError(
                "The monitor was built without reference scores, so scores cannot be "
                "monitored; pass reference_scores or model to ChurnMonitor."
            )
        features = ref.normalized_columns(prepared)
        ids_s = self._ids(X, ids, n, generate_ids)
        ts = _to_utc(timestamp, n, "log_predictions")
        keys = pd.MultiIndex.from_arrays(
            [ids_s.to_numpy(), pd.to_datetime(ts, unit="us", utc=True)],
            names=[self.id_column or "id", "scored_at"],
        )
        if keys.has_duplicates:
            dup = keys[keys.duplicated()][:5].tolist()
            raise DataValidationError(
                f"The batch repeats prediction keys (customer id, scored at): "
                f"{dup}. Each customer can be scored once per time stamp; drop the "
                "repeated rows.",
                columns=[self.id_column or "id"],
            )
        # one frame built at once (not three inserts into a reset copy)
        columns: dict[str, Any] = {ID: ids_s.to_numpy(), TS: ts, SCORE: scores}
        columns.update(features)
        frame = pd.DataFrame(columns)
        if model_version is not None:
            frame[MODEL_VERSION] = str(model_version)
        self._log.write("predictions", frame)
        return keys

    def _ids(self, X: pd.DataFrame, ids: Any, n: int, generate: bool) -> pd.Series:
        if ids is None and self._ref.contract is not None:
            found = self._ref.contract.ids(X)
            if found is not None:
                ids = found.to_numpy()
        if ids is None and self.id_column is not None:
            if self.id_column in X.columns:
                ids = X[self.id_column]
            elif X.index.name == self.id_column:
                ids = X.index.to_numpy()
        if ids is None:
            if not generate:
                where = (
                    f"X has no id column {self.id_column!r}"
                    if self.id_column
                    else "the monitor has no id column"
                )
                raise DataValidationError(
                    f"{where} and ids= was not passed. Outcomes and churn events "
                    "are matched to predictions by customer id, so every "
                    "prediction needs one: pass ids=<customer ids>, include the id "
                    "column, or pass generate_ids=True to have unique ids invented "
                    "(then log outcomes with the keys log_predictions returns).",
                    columns=[self.id_column] if self.id_column else [],
                )
            prefix = uuid.uuid4().hex[:12]
            return pd.Series(np.arange(n).astype(str), dtype=STRING).radd(prefix + "-")
        s = pd.Series(np.asarray(ids, dtype=object))
        if len(s) != n:
            raise DataValidationError(f"ids has {len(s)} values for {n} rows.")
        if s.isna().any():
            raise DataValidationError("ids has missing values; every row needs an id.")
        return s.astype(STRING)

    def log_outcomes(
        self,
        ids: Any,
        y_true: Any,
        *,
        timestamp: Any = None,
        scored_at: Any = None,
    ) -> int:
        """Append observed outcomes of individual predictions.

        Outcomes may arrive late and in any order; the latest outcome of a
        prediction wins. Outcomes that match no logged prediction are kept
        and counted (:attr:`MonitorReport.unmatched_outcomes`).

        Parameters
        ----------
        ids : pandas.MultiIndex or array-like of shape (n_samples,)
            The keys :meth:`log_predictions` returned, or customer ids. A
            customer id alone is only accepted for customers scored once
            (:meth:`report` refuses ambiguous ones): for a re-scored base pass
            the keys, ``scored_at``, or log churn events instead.
        y_true : array-like of shape (n_samples,)
            True labels: booleans, 0/1 (1 = churned) or the raw labels the
            model's contract decodes.
        timestamp : datetime, str or array-like, default=None
            When the outcomes were observed; None is now (UTC).
        scored_at : datetime, str or array-like, default=None
            The scoring time of the prediction each outcome belongs to (when
            ``ids`` are customer ids).

        Returns
        -------
        int
            Number of outcomes logged.
        """
        if isinstance(ids, pd.MultiIndex):
            if scored_at is not None:
                raise DataValidationError(
                    "ids are prediction keys (id, scored_at) already; do not pass "
                    "scored_at as well."
                )
            ids_s = pd.Series(ids.get_level_values(0).to_numpy(dtype=object))
            scored = _to_utc(ids.get_level_values(1), len(ids), "the keys")
        else:
            ids_s = pd.Series(np.asarray(ids, dtype=object))
            scored = (
                np.full(len(ids_s), NO_SCORED_AT, dtype=np.int64)
                if scored_at is None
                else _to_utc(scored_at, len(ids_s), "scored_at")
            )
        y = check_labels(y_true, "y_true", self._ref.contract)
        if len(ids_s) != len(y):
            raise DataValidationError(
                f"ids has {len(ids_s)} values but y_true has {len(y)}."
            )
        if ids_s.isna().any():
            raise DataValidationError("ids has missing values.")
        ts = _to_utc(timestamp, len(y), "log_outcomes")
        frame = pd.DataFrame(
            {ID: ids_s.astype(STRING).to_numpy(), TS: ts, Y: y, SCORED_AT: scored}
        )
        if len(frame):
            self._log.write("outcomes", frame)
        return len(frame)

    def log_churn_events(
        self, ids: Any, churned_at: Any, *, timestamp: Any = None
    ) -> int:
        """Append churn events: customer ``ids[i]`` left on ``churned_at[i]``.

        An event is attributed to each of that customer's predictions whose
        horizon (``[scored_at, scored_at + horizon)``) contains it. A
        prediction whose horizon ended before the time events are known up to
        (``timestamp`` of the latest event batch, or ``report(as_of=...)``)
        with no event inside is a matured negative; the others are pending.

        Parameters
        ----------
        ids : array-like of shape (n_events,)
            Customer ids.
        churned_at : datetime, str or array-like
            Churn date of each customer (one value or one per id).
        timestamp : datetime or str, default=None
            Events are complete up to this time (the extract date); None is
            now (UTC).

        Returns
        -------
        int
            Number of events logged.
        """
        ids_s = pd.Series(np.asarray(ids, dtype=object))
        if ids_s.isna().any():
            raise DataValidationError("ids has missing values.")
        when = _to_utc(churned_at, len(ids_s), "churned_at")
        if np.ndim(timestamp) != 0:
            raise DataValidationError(
                "timestamp of log_churn_events is one time: the time events are "
                "known up to."
            )
        known = _to_utc(timestamp, max(len(ids_s), 1), "log_churn_events")
        if len(ids_s) and (when > known[0]).any():
            raise DataValidationError(
                "Some churn dates lie after the time the events are known up to "
                f"(timestamp={pd.Timestamp(int(known[0]), unit='us')}); pass "
                "timestamp= as the extract date, after every churn date."
            )
        if len(ids_s):
            ids_out = ids_s.astype(STRING).to_numpy()
        else:  # an empty extract still says "no churn up to timestamp"
            ids_out = pd.Series([EMPTY_EXTRACT], dtype=STRING).to_numpy()
            when = np.array([np.iinfo(np.int64).min // 2], np.int64)
        frame = pd.DataFrame({ID: ids_out, TS: known[: len(ids_out)], EVENT_AT: when})
        self._log.write("events", frame)
        return len(ids_s)

    # ------------------------------------------------------------------ #
    # report
    # ------------------------------------------------------------------ #
    def report(
        self,
        *,
        freq: str | None = None,
        chunk_size: int | None = None,
        as_of: Any = None,
        strict: bool = False,
        send_alerts: bool = False,
    ) -> MonitorReport:
        """Summarize the log per scoring cohort (chunk): a pure query.

        Drift, realized performance on matured predictions, the label-free
        estimate, data quality, incidents and segments. Streams over the
        stored batches (histograms merge), so memory stays bounded by a slice,
        not the log. Sends nothing: pass the report to :meth:`notify`.

        Parameters
        ----------
        freq : str or None, default=None
            Chunk by scoring time: a fixed duration (``"6h"``, ``"1D"``) or a
            calendar period (``"W"``, ``"M"``, ``"Q"``, ``"Y"``).
        chunk_size : int or None, default=None
            Chunk by count of consecutive logged rows. With neither, the log
            is cut into 10 chunks of equal count.
        as_of : datetime, str or None, default=None
            Churn events are complete up to this time; None takes the
            ``timestamp`` of the latest :meth:`log_churn_events` batch.
        strict : bool, default=False
            Raise on a damaged log file instead of skipping it with a
            :class:`~churnlib.exceptions.DataQualityWarning`.
        send_alerts : bool, default=False
            Also :meth:`notify` (an explicit opt-in; prefer calling notify).

        Returns
        -------
        MonitorReport
        """
        if freq is not None and chunk_size is not None:
            raise InvalidParameterError("Pass freq or chunk_size, not both.")
        if chunk_size is not None and (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int)
            or chunk_size < 1
        ):
            raise InvalidParameterError(
                "The 'chunk_size' parameter of ChurnMonitor.report must be an int in "
                f"the range [1, inf). Got {chunk_size!r} instead."
            )
        if freq is not None:
            try:
                chunk_starts(pd.Series(pd.to_datetime(["2026-01-01"])), freq)
            except (TypeError, ValueError) as err:
                raise InvalidParameterError(
                    f"The 'freq' parameter of ChurnMonitor.report must be a pandas "
                    f"frequency like '1D', '6h', 'W', 'M' or 'Q'. Got {freq!r} "
                    f"instead ({err})."
                ) from err
        horizon_us = int(self.horizon_ / pd.Timedelta(microseconds=1))
        found, chunk_size = assemble(
            self._ref,
            self._log,
            freq=freq,
            chunk_size=chunk_size,
            as_of=as_of,
            horizon_us=horizon_us,
            strict=strict,
        )
        report = build_report(
            self._ref,
            found,
            rules=self.rules,
            horizon=self.horizon_,
            freq=freq,
            chunk_size=chunk_size if freq is None else None,
        )
        if send_alerts:
            self.notify(report)
        return report

    # ------------------------------------------------------------------ #
    # delivery
    # ------------------------------------------------------------------ #
    def notify(self, report: MonitorReport) -> tuple[Alert, ...]:
        """Deliver the report's new alerts to the sinks, once per incident.

        Each alert (an incident opening or escalating) is claimed in the
        store first (``alerts/claims/<key>``, created exclusively), so two
        processes notifying the same report deliver it once between them, and
        a monitor re-created next week does not send old alerts again. When
        every sink fails for an alert, its claim is released so a later call
        retries it.

        Parameters
        ----------
        report : MonitorReport
            A report of this monitor.

        Returns
        -------
        tuple of Alert
            The alerts delivered by this call.
        """
        from churnlib.monitoring._alerts import deliver

        if not isinstance(report, MonitorReport):
            raise InvalidParameterError(
                "The 'report' parameter of ChurnMonitor.notify must be a "
                f"MonitorReport. Got {type(report).__name__} instead."
            )
        sent = []
        for alert in report.alerts:
            key = incident_key(alert)
            if not self._log.claim(key):
                continue
            failures = deliver([alert], self.sinks)
            if self.sinks and failures >= len(self.sinks):
                self._log.release(key)
                continue
            sent.append((key, alert))
        if sent:
            record = pd.DataFrame(
                {
                    TS: _to_utc(None, len(sent), "alerts"),
                    "key": [k for k, _ in sent],
                    "severity": [a.severity for _, a in sent],
                    "message": [a.message for _, a in sent],
                }
            )
            self._log.write("alerts", record)
        return tuple(a for _, a in sent)
