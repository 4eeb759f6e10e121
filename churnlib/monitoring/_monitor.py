"""``ChurnMonitor``: log predictions and outcomes, report drift and performance."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.monitoring._alerts import (
    DEFAULT_RULES,
    Alert,
    AlertRule,
    LoggingSink,
    deliver,
)
from churnlib.monitoring._detector import DriftDetector
from churnlib.monitoring._log import TIMESTAMP_COLUMN, open_log
from churnlib.monitoring._performance import (
    METRICS,
    PerformanceSummary,
    bootstrap_sd,
)
from churnlib.monitoring._report import MonitorReport, evaluate_rules
from churnlib.monitoring._summary import DriftSummary

__all__ = ["SCORE_FEATURE", "ChurnMonitor"]

#: Name of the model score in drift frames and alerts.
SCORE_FEATURE = "model_score"

_ID, _SCORE, _Y = "__id__", "__score__", "__y__"
# pyarrow-backed strings (pandas 3's default "str"; NA-aware on pandas 2 too)
_STRING = "str" if int(pd.__version__.split(".")[0]) >= 3 else pd.StringDtype("pyarrow")
_TS = TIMESTAMP_COLUMN
# rows read at a time by report(): bounds its memory whatever the batch sizes
_READ_ROWS = 262_144


def _to_utc(values: Any, n: int, what: str) -> np.ndarray:
    if values is None:
        values = pd.Timestamp.now(tz="UTC")
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
    if len(ts) != n:
        raise DataValidationError(
            f"timestamp of {what} has {len(ts)} values for {n} rows; pass one "
            "timestamp, or one per row."
        )
    if ts.isna().any():
        raise DataValidationError(f"timestamp of {what} has missing values.")
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    # microseconds since the epoch, UTC: a plain int64 column in memory, a
    # timestamp[us, UTC] column in Parquet (see _log.TIMESTAMP_COLUMN)
    micros: np.ndarray = ts.astype("datetime64[us]").to_numpy().view(np.int64)
    return micros


def _chunk_starts(naive: pd.Series, freq: str) -> np.ndarray:
    """Start of the ``freq`` window holding each (naive UTC) time.

    Fixed durations (``"6h"``, ``"1D"``) use a grid anchored at the epoch;
    calendar periods (``"W"``, ``"M"``, ``"Q"``, ``"Y"``) their period start.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    starts: np.ndarray
    if isinstance(offset, pd.offsets.Tick):
        starts = naive.dt.floor(offset).to_numpy()
    else:
        starts = naive.dt.to_period(freq).dt.start_time.to_numpy()
    return starts


class ChurnMonitor:
    """Log a deployed churn model's predictions and outcomes; report over time.

    Reference statistics (bin edges, histograms, category frequencies, the
    score distribution, reference performance and the calibration used for
    label-free estimates) are computed once, here. Each
    :meth:`log_predictions` / :meth:`log_outcomes` call appends one immutable
    batch to the log; :meth:`report` streams over the log and returns a
    :class:`MonitorReport`.

    Read more in the :doc:`monitoring guide </guide/monitoring>`.

    Parameters
    ----------
    reference : DataFrame
        The data the model was validated on: its features (the columns
        production batches will have), optionally the label column
        (``target``) and an id column (``id_column``), which are not features.
    model : estimator or None, default=None
        A fitted classifier with ``predict_proba``. Used for reference scores
        (when ``reference_scores`` is None) and to score batches logged
        without scores.
    reference_scores : array-like of shape (n_reference,) or None, default=None
        Churn probabilities of the reference rows.
    target : str, array-like or None, default=None
        Reference labels: a column of ``reference`` or an array. Needed for
        reference performance and to calibrate the estimates.
    store : str, path-like or None, default=None
        None keeps the log in memory; any fsspec URL or path persists it as
        Parquet (``predictions/part-*.parquet``, ``outcomes/part-*.parquet``).
    storage_options : dict or None, default=None
        Passed to fsspec with ``store``.
    rules : sequence of AlertRule or None, default=None
        Alert rules; None uses :data:`DEFAULT_RULES`; ``()`` disables alerts.
    sinks : sequence of callables or None, default=None
        Where new alerts go; each is called with an :class:`Alert`. None logs
        them (:class:`LoggingSink`).
    threshold : float, default=0.5
        Decision threshold on the score for accuracy, precision, recall, f1
        and the predicted rate.
    id_column : str or None, default="customer_id"
        Column holding the customer id; used to join outcomes when ``ids`` is
        not passed, and never treated as a feature.
    detector : DriftDetector or None, default=None
        An unfitted detector to use (its parameters); None uses
        ``DriftDetector(random_state=0)``.

    Attributes
    ----------
    features_ : tuple of str
        Feature columns expected in logged batches.
    detector_ : DriftDetector
        Fitted on the reference features plus ``model_score``.
    reference_metrics_ : dict of str to float
        Reference performance (realized if labels were given, else estimated).
    calibrator_ : IsotonicRegression or None
        Maps scores to calibrated probabilities for the estimates (None: the
        scores are taken as calibrated).

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
    ...     ids = monitor.log_predictions(
    ...         batch.X, batch.truth, timestamp=batch.timestamp
    ...     )
    ...     _ = monitor.log_outcomes(ids, batch.y, timestamp=batch.labels_at)
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
        threshold: float = 0.5,
        id_column: str | None = "customer_id",
        detector: DriftDetector | None = None,
    ) -> None:
        if not isinstance(reference, pd.DataFrame):
            raise DataValidationError(
                f"reference must be a pandas DataFrame; got {type(reference).__name__}."
            )
        if len(reference) < 2:
            raise DataValidationError(
                f"reference has {len(reference)} rows; at least 2 are needed."
            )
        if not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
            raise InvalidParameterError(
                "The 'threshold' parameter of ChurnMonitor must be a float in the "
                f"range [0.0, 1.0]. Got {threshold!r} instead."
            )
        if model is not None and not hasattr(model, "predict_proba"):
            raise InvalidParameterError(
                "The 'model' parameter of ChurnMonitor must have predict_proba. "
                f"Got {type(model).__name__} instead."
            )
        self.model = model
        self.threshold = float(threshold)
        self.id_column = id_column
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

        # ---- labels ---------------------------------------------------- #
        y_ref = None
        drop = []
        if isinstance(target, str):
            if target not in reference.columns:
                raise DataValidationError(
                    f"target column {target!r} is not in reference (columns: "
                    f"{list(reference.columns)}).",
                    columns=[target],
                )
            y_ref = reference[target]
            drop.append(target)
        elif target is not None:
            y_ref = pd.Series(np.asarray(target))
            if len(y_ref) != len(reference):
                raise DataValidationError(
                    f"target has {len(y_ref)} values for {len(reference)} "
                    "reference rows."
                )
        if id_column is not None and id_column in reference.columns:
            drop.append(id_column)
        features = reference.drop(columns=drop)
        if features.shape[1] == 0:
            raise DataValidationError("reference has no feature columns.")
        reserved = [
            c for c in features.columns if c == SCORE_FEATURE or str(c).startswith("__")
        ]
        if reserved:
            raise DataValidationError(
                f"reference columns {reserved} use reserved names; rename them.",
                columns=reserved,
            )
        self.features_ = tuple(str(c) for c in features.columns)
        self._feature_frame_dtypes = features.dtypes

        # ---- scores ---------------------------------------------------- #
        scores = None
        if reference_scores is not None:
            scores = self._check_scores(
                reference_scores, len(reference), "reference_scores"
            )
        elif model is not None:
            scores = self._model_scores(
                reference.drop(columns=[c for c in drop if c != id_column])
            )
        self._has_scores = scores is not None

        # ---- drift reference ------------------------------------------ #
        self.detector_ = (
            DriftDetector(random_state=0) if detector is None else _clone(detector)
        )
        ref_frame = self._normalize(features)
        if scores is not None:
            ref_frame[SCORE_FEATURE] = scores
        self.detector_.fit(ref_frame)
        self._kinds = {
            **dict.fromkeys(self.detector_.numeric_features_, "numeric"),
            **dict.fromkeys(self.detector_.categorical_features_, "categorical"),
        }
        ref_stats = self.detector_.reference_stats_
        self._ref_missing = self._missing_rates(ref_stats)

        # ---- performance reference ------------------------------------ #
        self.calibrator_ = None
        self.reference_metrics_: dict[str, float] = {}
        self._y_ref = None
        if y_ref is not None:
            self._y_ref = self._check_labels(y_ref, "target").astype(float)
        if scores is not None:
            if self._y_ref is not None and len(np.unique(self._y_ref)) == 2:
                from sklearn.isotonic import IsotonicRegression

                self.calibrator_ = IsotonicRegression(
                    y_min=0.0, y_max=1.0, out_of_bounds="clip"
                ).fit(scores, self._y_ref)
            self._ref_scores = scores
            self._ref_calibrated = self._calibrate(scores)
            ref_perf = PerformanceSummary.from_arrays(
                scores, self._y_ref, self._ref_calibrated, self.threshold
            )
            self.reference_metrics_ = (
                ref_perf.realized() if self._y_ref is not None else ref_perf.estimated()
            )
            self.reference_metrics_.update(ref_perf.observed())
        self._band_cache: dict[int, dict[str, float]] = {}
        self._log = open_log(store, storage_options)
        self._sent: set[str] = set()
        self._seen_alert_parts: set[str] = set()

    # ------------------------------------------------------------------ #
    # helpers
    # ------------------------------------------------------------------ #
    def __repr__(self) -> str:
        where = "memory" if self.store is None else "store"
        return (
            f"ChurnMonitor(features={len(self.features_)}, log={where}, "
            f"rules={len(self.rules)}, sinks={len(self.sinks)})"
        )

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        if self.calibrator_ is None:
            return scores
        return np.asarray(self.calibrator_.predict(scores), dtype=np.float64)

    def _model_scores(self, X: pd.DataFrame) -> np.ndarray:
        try:
            proba = self.model.predict_proba(X)
        except Exception as err:
            raise DataValidationError(
                f"model.predict_proba failed on the data: {type(err).__name__}: {err}"
            ) from err
        return self._check_scores(proba, len(X), "model.predict_proba output")

    @staticmethod
    def _check_scores(scores: Any, n: int, what: str) -> np.ndarray:
        arr = np.asarray(scores)
        if arr.ndim == 2 and arr.shape[1] == 2:
            arr = arr[:, 1]
        if arr.ndim != 1 or len(arr) != n:
            raise DataValidationError(
                f"{what} must hold one probability per row ({n}); got shape "
                f"{arr.shape}. Pass predict_proba(X)[:, 1]."
            )
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise DataValidationError(f"{what} must be numeric probabilities.") from err
        bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
        if bad.any():
            raise DataValidationError(
                f"{what} must be probabilities in [0, 1] without missing values; "
                f"{int(bad.sum())} value(s) are not (first: {arr[bad][0]!r})."
            )
        return arr

    @staticmethod
    def _check_labels(y: Any, what: str) -> np.ndarray:
        s = pd.Series(
            np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y
        )
        if s.isna().any():
            raise DataValidationError(f"{what} has missing labels; drop those rows.")
        values = s.to_numpy()
        flags: np.ndarray
        if pd.api.types.is_bool_dtype(s):
            flags = values.astype(bool)
            return flags
        try:
            num = values.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise DataValidationError(
                f"{what} must be booleans or 0/1; got values like "
                f"{values[:3].tolist()}."
            ) from err
        if not np.isin(num, (0.0, 1.0)).all():
            raise DataValidationError(
                f"{what} must be booleans or 0/1; got values like "
                f"{sorted(set(num.tolist()))[:5]}."
            )
        flags = num.astype(bool)
        return flags

    def _normalize(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features with stable dtypes: float64 numerics, strings or bools."""
        out = {}
        for name in self.features_:
            col = X[name]
            ref_dtype = self._feature_frame_dtypes[name]
            categorical = not pd.api.types.is_numeric_dtype(
                ref_dtype
            ) or pd.api.types.is_bool_dtype(ref_dtype)
            if not categorical:
                try:
                    out[name] = pd.to_numeric(col).astype(np.float64)
                except (TypeError, ValueError) as err:
                    raise DataValidationError(
                        f"Column {name!r} is numeric in the reference but holds "
                        f"non-numeric values (dtype {col.dtype}); fix the column.",
                        columns=[name],
                    ) from err
            elif pd.api.types.is_bool_dtype(ref_dtype):
                out[name] = col
            else:
                out[name] = col.astype(_STRING)
        return pd.DataFrame(out, index=X.index)

    def _missing_rates(self, summary: DriftSummary) -> dict[str, float]:
        n = max(summary.n_rows, 1)
        rates = dict(
            zip(summary.numeric_features, summary.numeric_missing / n, strict=True)
        )
        rates.update(
            zip(
                summary.categorical_features,
                summary.categorical_missing / n,
                strict=True,
            )
        )
        return rates

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
    ) -> pd.Index:
        """Append one batch of predictions to the log.

        Parameters
        ----------
        X : DataFrame
            The features the model saw: every reference feature column, and
            optionally ``id_column``. Other columns are refused.
        scores : array-like of shape (n_samples,) or (n_samples, 2), default=None
            Churn probabilities (``predict_proba`` output is accepted). None
            scores ``X`` with ``model``.
        ids : array-like of shape (n_samples,) or None, default=None
            Customer ids for joining outcomes; None takes ``X[id_column]``, or
            generates unique ids when there is no such column.
        timestamp : datetime, str or array-like, default=None
            Prediction time: one value or one per row; None is now (UTC).

        Returns
        -------
        pandas.Index
            The ids stored (strings): pass them to :meth:`log_outcomes`.

        Raises
        ------
        DataValidationError
            When ``X`` lacks reference columns or has unknown ones, a column's
            type changed, or scores, ids or timestamps are malformed. Nothing
            is written then.
        """
        if not isinstance(X, pd.DataFrame):
            raise DataValidationError(
                f"X must be a pandas DataFrame with the reference columns; got "
                f"{type(X).__name__}."
            )
        missing = [c for c in self.features_ if c not in X.columns]
        allowed = set(self.features_) | ({self.id_column} if self.id_column else set())
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
                + ". Pass exactly the reference feature columns (plus the id column).",
                columns=missing + extra,
            )
        n = len(X)
        if scores is None:
            if self.model is None:
                raise DataValidationError(
                    "scores is None and the monitor has no model; pass scores."
                )
            scores = self._model_scores(X)
        else:
            scores = self._check_scores(scores, n, "scores")
        if not self._has_scores:
            raise DataValidationError(
                "The monitor was built without reference scores, so scores cannot be "
                "monitored; pass reference_scores or model to ChurnMonitor."
            )
        features = self._normalize(X)
        ids_s = self._ids(X, ids, n)
        ts = _to_utc(timestamp, n, "log_predictions")
        frame = features.reset_index(drop=True)
        frame.insert(0, _SCORE, scores)
        frame.insert(0, _TS, ts)
        frame.insert(0, _ID, ids_s.to_numpy())
        self._log.write("predictions", frame)
        return pd.Index(ids_s.to_numpy(), name=self.id_column)

    def _ids(self, X: pd.DataFrame, ids: Any, n: int) -> pd.Series:
        if ids is None and self.id_column is not None and self.id_column in X.columns:
            ids = X[self.id_column]
        if ids is None:
            import uuid

            prefix = uuid.uuid4().hex[:12]
            return pd.Series(np.arange(n).astype(str), dtype=_STRING).radd(prefix + "-")
        s = pd.Series(np.asarray(ids, dtype=object))
        if len(s) != n:
            raise DataValidationError(f"ids has {len(s)} values for {n} rows.")
        if s.isna().any():
            raise DataValidationError("ids has missing values; every row needs an id.")
        return s.astype(_STRING)

    def log_outcomes(self, ids: Any, y_true: Any, *, timestamp: Any = None) -> int:
        """Append observed outcomes (labels), joined to predictions by id.

        Outcomes may arrive late and in any order. Ids that match no logged
        prediction are kept and counted (:attr:`MonitorReport.unmatched_outcomes`),
        since their prediction may simply be logged later; they never raise.
        When an id gets several outcomes, the latest one counts.

        Parameters
        ----------
        ids : array-like of shape (n_samples,)
            Customer ids, as returned by :meth:`log_predictions`.
        y_true : array-like of shape (n_samples,)
            True labels: booleans or 0/1 (1 = churned).
        timestamp : datetime, str or array-like, default=None
            When the outcomes were observed; None is now (UTC).

        Returns
        -------
        int
            Number of outcomes logged.
        """
        ids_s = pd.Series(np.asarray(ids, dtype=object))
        y = self._check_labels(y_true, "y_true")
        if len(ids_s) != len(y):
            raise DataValidationError(
                f"ids has {len(ids_s)} values but y_true has {len(y)}."
            )
        if ids_s.isna().any():
            raise DataValidationError("ids has missing values.")
        ts = _to_utc(timestamp, len(y), "log_outcomes")
        frame = pd.DataFrame({_ID: ids_s.astype(_STRING).to_numpy(), _TS: ts, _Y: y})
        if len(frame):
            self._log.write("outcomes", frame)
        return len(frame)

    # ------------------------------------------------------------------ #
    # report
    # ------------------------------------------------------------------ #
    def _outcomes(self) -> pd.DataFrame:
        parts = [self._log.read("outcomes", p) for p in self._log.parts("outcomes")]
        if not parts:
            return pd.DataFrame(
                {_ID: pd.Series(dtype=_STRING), _Y: pd.Series(dtype=bool)}
            )
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values(_TS, kind="stable").drop_duplicates(_ID, keep="last")
        return out[[_ID, _Y]].reset_index(drop=True)

    def report(
        self,
        *,
        freq: str | None = None,
        chunk_size: int | None = None,
        send_alerts: bool = True,
    ) -> MonitorReport:
        """Summarize the log per chunk: drift, performance, data quality, alerts.

        Streams over the stored batches one at a time (histograms merge), so
        memory stays bounded by the largest batch, not the log.

        Parameters
        ----------
        freq : str or None, default=None
            Chunk by prediction time: a fixed duration (``"6h"``, ``"1D"``,
            windows anchored at midnight UTC) or a calendar period (``"W"``,
            ``"M"``, ``"Q"``, ``"Y"``). Chunks are labelled by their start.
        chunk_size : int or None, default=None
            Chunk by count: consecutive logged rows (in logging order). With
            neither argument, the log is cut into 10 chunks of equal count.
        send_alerts : bool, default=True
            Deliver alerts that were not delivered before to the sinks.

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
        parts = self._log.parts("predictions")
        if freq is None and chunk_size is None:
            total = sum(self._log.n_rows("predictions", p) for p in parts)
            chunk_size = max(math.ceil(total / 10), 1)
        if freq is not None:
            try:
                _chunk_starts(pd.Series(pd.to_datetime(["2026-01-01"])), freq)
            except (TypeError, ValueError) as err:
                raise InvalidParameterError(
                    f"The 'freq' parameter of ChurnMonitor.report must be a pandas "
                    f"frequency like '1D', '6h', 'W', 'M' or 'Q'. Got {freq!r} "
                    f"instead ({err})."
                ) from err

        outcomes = self._outcomes()
        label_index = pd.Index(outcomes[_ID].to_numpy(dtype=object))
        labels = outcomes[_Y].to_numpy(dtype=np.float64)
        matched = np.zeros(len(outcomes), dtype=bool)

        acc: dict[Any, list[Any]] = {}  # chunk -> [drift, perf, start, end]
        offset = 0
        frames = (
            frame
            for part in parts
            for frame in self._log.iter_read("predictions", part, _READ_ROWS)
        )
        for frame in frames:
            n = len(frame)
            if n == 0:
                continue
            naive = pd.Series(
                frame[_TS].to_numpy(dtype=np.int64).view("datetime64[us]")
            )
            if freq is not None:
                keys = _chunk_starts(naive, freq)
            else:
                assert chunk_size is not None  # set above whenever freq is None
                keys = (offset + np.arange(n)) // chunk_size
            offset += n
            pos = (
                label_index.get_indexer(frame[_ID].to_numpy(dtype=object))
                if len(label_index)
                else np.full(n, -1)
            )
            hit = pos >= 0
            matched[pos[hit]] = True
            y = np.full(n, np.nan)
            y[hit] = labels[pos[hit]]
            scores = frame[_SCORE].to_numpy(dtype=np.float64)
            calibrated = self._calibrate(scores)
            features = frame.drop(columns=[_ID, _TS, _SCORE])
            features[SCORE_FEATURE] = scores
            uniq, inverse = np.unique(keys, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
            ts_values = naive.to_numpy()
            for i, key in enumerate(uniq):
                rows = order[bounds[i] : bounds[i + 1]]
                sub = features if len(uniq) == 1 else features.iloc[rows]
                drift = self.detector_.summarize(sub)
                perf = PerformanceSummary.from_arrays(
                    scores[rows], y[rows], calibrated[rows], self.threshold
                )
                start, end = ts_values[rows].min(), ts_values[rows].max()
                key = (
                    pd.Timestamp(key).tz_localize("UTC")
                    if freq is not None
                    else int(key)
                )
                start = pd.Timestamp(start).tz_localize("UTC")
                end = pd.Timestamp(end).tz_localize("UTC")
                if key in acc:
                    entry = acc[key]
                    entry[0] = entry[0] + drift
                    entry[1] = entry[1] + perf
                    entry[2] = min(entry[2], start)
                    entry[3] = max(entry[3], end)
                else:
                    acc[key] = [drift, perf, start, end]
        return self._assemble(
            acc,
            unmatched=int((~matched).sum()),
            freq=freq,
            chunk_size=chunk_size if freq is None else None,
            send_alerts=send_alerts,
        )

    def _send(self, alerts: Sequence[Alert]) -> None:
        """Deliver alerts not delivered before; record them in the log.

        The record lives in the store (``alerts/part-*.parquet``), so a monitor
        re-created on the same store next week does not send old alerts again.
        """
        for part in self._log.parts("alerts"):
            if part not in self._seen_alert_parts:
                frame = self._log.read("alerts", part, columns=["key"])
                self._sent.update(frame["key"].tolist())
                self._seen_alert_parts.add(part)
        new = []
        for alert in alerts:
            key = (
                "|".join(
                    map(str, (alert.metric, alert.feature, alert.op, alert.threshold))
                )
                + f"|{alert.chunk}"
            )
            if key not in self._sent:
                self._sent.add(key)
                new.append((key, alert))
        if not new:
            return
        deliver([a for _, a in new], self.sinks)
        record = pd.DataFrame(
            {
                _TS: _to_utc(None, len(new), "alerts"),
                "key": [k for k, _ in new],
                "severity": [a.severity for _, a in new],
                "message": [a.message for _, a in new],
            }
        )
        self._seen_alert_parts.add(self._log.write("alerts", record))

    def _band(self, size: int) -> dict[str, float]:
        if size not in self._band_cache:
            self._band_cache[size] = bootstrap_sd(
                self._ref_scores,
                self._y_ref,
                self._ref_calibrated,
                self.threshold,
                size,
            )
        return self._band_cache[size]

    def _assemble(
        self,
        acc: Mapping[Any, list[Any]],
        *,
        unmatched: int,
        freq: str | None,
        chunk_size: int | None,
        send_alerts: bool,
    ) -> MonitorReport:
        keys = sorted(acc)
        chunk_rows, drift_frames, perf_rows, dq_rows = [], [], [], []
        hists = []
        sizes = [acc[k][1].n for k in keys]
        typical = int(np.median(sizes)) if sizes else 0
        # standard deviations scale as 1/sqrt(n): bootstrap at a moderate size
        boot_n = min(max(typical, 2), 5000)
        sd0 = self._band(boot_n) if (keys and self._has_scores) else {}
        for key in keys:
            drift, perf, start, end = acc[key]
            chunk_rows.append(
                {
                    "chunk": key,
                    "start": start,
                    "end": end,
                    "n": perf.n,
                    "n_labeled": perf.n_labeled,
                }
            )
            frame = self.detector_.check(drift)
            frame.insert(0, "chunk", [key] * len(frame))
            drift_frames.append(frame)
            hists.append(perf.hist)
            # performance
            realized = perf.realized() if perf.n_labeled else {}
            estimated = perf.estimated()
            for kind, values, n_used in (
                ("realized", realized, perf.n_labeled),
                ("estimated", estimated, perf.n),
            ):
                for metric in METRICS if values else ():
                    ref = self.reference_metrics_.get(metric, np.nan)
                    sd = sd0.get(metric, np.nan) * math.sqrt(boot_n / max(n_used, 1))
                    perf_rows.append(
                        {
                            "chunk": key,
                            "metric": metric,
                            "kind": kind,
                            "value": values[metric],
                            "reference": ref,
                            "lower": ref - 3 * sd,
                            "upper": ref + 3 * sd,
                            "n": n_used,
                        }
                    )
            for metric, value in perf.observed().items():
                ref = self.reference_metrics_.get(metric, np.nan)
                sd = sd0.get(metric, np.nan) * math.sqrt(boot_n / max(perf.n, 1))
                perf_rows.append(
                    {
                        "chunk": key,
                        "metric": metric,
                        "kind": "observed",
                        "value": value,
                        "reference": ref,
                        "lower": ref - 3 * sd,
                        "upper": ref + 3 * sd,
                        "n": perf.n,
                    }
                )
            # data quality
            n = max(drift.n_rows, 1)
            for j, name in enumerate(drift.numeric_features):
                present = drift.n_rows - drift.numeric_missing[j]
                dq_rows.append(
                    {
                        "chunk": key,
                        "feature": name,
                        "missing_rate": drift.numeric_missing[j] / n,
                        "reference_missing_rate": self._ref_missing[name],
                        "unseen_rate": np.nan,
                        "out_of_range_rate": (
                            (drift.numeric_below[j] + drift.numeric_above[j]) / present
                            if present
                            else np.nan
                        ),
                        "n": drift.n_rows,
                    }
                )
            for j, name in enumerate(drift.categorical_features):
                present = drift.n_rows - drift.categorical_missing[j]
                dq_rows.append(
                    {
                        "chunk": key,
                        "feature": name,
                        "missing_rate": drift.categorical_missing[j] / n,
                        "reference_missing_rate": self._ref_missing[name],
                        "unseen_rate": (
                            drift.categorical_unseen[j] / present if present else np.nan
                        ),
                        "out_of_range_rate": np.nan,
                        "n": drift.n_rows,
                    }
                )
        drift_cols = ["chunk", "feature", "method", "statistic", "threshold", "drifted"]
        drift_df = (
            pd.concat(drift_frames, ignore_index=True)
            if drift_frames
            else pd.DataFrame(columns=drift_cols)
        )
        perf_df = pd.DataFrame(
            perf_rows,
            columns=[
                "chunk",
                "metric",
                "kind",
                "value",
                "reference",
                "lower",
                "upper",
                "n",
            ],
        )
        perf_df["outside_band"] = (perf_df["value"] < perf_df["lower"]) | (
            perf_df["value"] > perf_df["upper"]
        )
        dq_df = pd.DataFrame(
            dq_rows,
            columns=[
                "chunk",
                "feature",
                "missing_rate",
                "reference_missing_rate",
                "unseen_rate",
                "out_of_range_rate",
                "n",
            ],
        )
        chunks_df = pd.DataFrame(
            chunk_rows, columns=["chunk", "start", "end", "n", "n_labeled"]
        )
        alerts = evaluate_rules(self.rules, keys, drift_df, perf_df, dq_df)
        if send_alerts:
            self._send(alerts)
        hist = np.vstack(hists) if hists else np.zeros((0, 1000), dtype=np.int64)
        return MonitorReport(
            chunks=chunks_df,
            drift=drift_df,
            performance=perf_df,
            data_quality=dq_df,
            alerts=tuple(alerts),
            score_histograms=hist,
            reference_score_histogram=(
                PerformanceSummary.from_arrays(
                    self._ref_scores, None, self._ref_calibrated, self.threshold
                ).hist
                if self._has_scores
                else np.zeros(1000, dtype=np.int64)
            ),
            reference_metrics=dict(self.reference_metrics_),
            unmatched_outcomes=unmatched,
            freq=freq,
            chunk_size=chunk_size,
        )


def _clone(detector: DriftDetector) -> DriftDetector:
    from sklearn.base import clone

    cloned: DriftDetector = clone(detector)
    return cloned
