"""Chunk assembly: stream the prediction log into per-chunk summaries and frames.

Two passes over the log. The first reads only the key columns (customer id,
scored at) of every prediction part to check keys and attribute outcomes and
churn events (:mod:`churnlib.monitoring._outcomes`). The second streams the
features and scores part by part, in slices, into mergeable drift and
performance summaries per chunk (and per segment value), so memory is bounded
by a slice, not by the log.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataQualityWarning, DataValidationError
from churnlib.monitoring._log import TIMESTAMP_COLUMN, MonitorStoreError
from churnlib.monitoring._outcomes import NO_SCORED_AT, Attribution, KeyIndex, attribute
from churnlib.monitoring._performance import (
    HIGHER_IS_BETTER,
    METRICS,
    PerformanceSummary,
)
from churnlib.monitoring._reference import SCORE_FEATURE, STRING, Reference

__all__ = ["EVENT_AT", "ID", "SCORE", "SCORED_AT", "Assembled", "Y", "assemble"]

ID, SCORE, Y = "__id__", "__score__", "__y__"
SCORED_AT, EVENT_AT = "__scored_at__", "__event_at__"
#: Id of the placeholder row an empty churn-event extract is stored as.
EMPTY_EXTRACT = "__no_events__"
TS = TIMESTAMP_COLUMN
# rows read at a time: bounds memory whatever the batch sizes
READ_ROWS = 262_144


def chunk_starts(naive: pd.Series, freq: str) -> np.ndarray:
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


@dataclass
class Damaged:
    """Parts that could not be read, and what to do about them."""

    strict: bool
    where: Callable[[str, str], str]
    parts: list[str] = field(default_factory=list)

    def handle(self, kind: str, part: str, err: BaseException) -> None:
        if isinstance(err, MonitorStoreError):  # the store failed, not the file
            raise err
        name = self.where(kind, part)
        message = (
            f"Monitor log file {name} cannot be read ({type(err).__name__}: "
            f"{str(err)[:200]}); it is truncated, empty or not Parquet."
        )
        if self.strict:
            raise DataValidationError(
                message + " Move it out of the store (or restore it from a backup) "
                "and report again; pass strict=False to skip damaged files."
            ) from None
        self.parts.append(name)
        warnings.warn(
            message + " It was skipped; its rows are missing from this report "
            "(MonitorReport.damaged_files).",
            DataQualityWarning,
            stacklevel=5,
        )


_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError)


def _read_errors() -> tuple[type[BaseException], ...]:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover
        return _READ_ERRORS
    return (*_READ_ERRORS, pa.ArrowException)


def read_small(log: Any, kind: str, damaged: Damaged) -> pd.DataFrame | None:
    """Concatenate every part of a small kind (outcomes, events)."""
    errors = _read_errors()
    frames = []
    for part in log.parts(kind):
        try:
            frames.append(log.read(kind, part))
        except errors as err:
            damaged.handle(kind, part, err)
    return pd.concat(frames, ignore_index=True) if frames else None


@dataclass
class Assembled:
    """What the streaming pass found, before frames are built."""

    acc: dict[Any, list[Any]]
    seg_acc: dict[tuple[Any, str, str], list[Any]]
    attribution: Attribution
    damaged: list[str]


def assemble(
    ref: Reference,
    log: Any,
    *,
    freq: str | None,
    chunk_size: int | None,
    as_of: Any,
    horizon_us: int | None,
    strict: bool,
) -> tuple[Assembled, int | None]:
    """Stream the log; return the per-chunk accumulators (and the chunk size)."""
    damaged = Damaged(strict, log.where)
    errors = _read_errors()
    # ---- pass 1: keys -------------------------------------------------- #
    ids, times, parts, sizes = [], [], [], []
    for part in log.parts("predictions"):
        try:
            frame = log.read("predictions", part, columns=[ID, TS])
        except errors as err:
            damaged.handle("predictions", part, err)
            continue
        import pyarrow as pa

        ids.append(
            pa.array(frame[ID])
            if not hasattr(frame[ID].array, "_pa_array")
            else frame[ID]
        )
        times.append(frame[TS].to_numpy(dtype=np.int64))
        parts.append(part)
        sizes.append(len(frame))
    keys = KeyIndex.build(ids, times)
    del ids, times
    keys.check_unique("The prediction log")
    outcomes = read_small(log, "outcomes", damaged)
    if outcomes is None:
        outcomes = pd.DataFrame({ID: [], SCORED_AT: [], TS: [], Y: []})
    elif SCORED_AT not in outcomes.columns:  # logs written before keyed outcomes
        outcomes[SCORED_AT] = NO_SCORED_AT
    events = read_small(log, "events", damaged)
    as_of_us = None
    if events is None:
        events = pd.DataFrame({ID: [], EVENT_AT: [], TS: []})
    elif len(events):
        as_of_us = int(events[TS].max())
        events = events[events[ID] != EMPTY_EXTRACT]
    if as_of is not None:
        as_of_us = int(_micros(as_of))
    attribution = attribute(
        keys, outcomes, events, horizon_us=horizon_us, as_of_us=as_of_us
    )
    if freq is None and chunk_size is None:
        chunk_size = max(math.ceil(sum(sizes) / 10), 1)

    # ---- pass 2: summaries --------------------------------------------- #
    acc: dict[Any, list[Any]] = {}  # chunk -> [drift, perf, start, end, excluded]
    seg_acc: dict[tuple[Any, str, str], list[Any]] = {}
    offset = 0
    labels_all = attribution.labels
    excluded_all = attribution.excluded
    columns = [TS, SCORE, *ref.features]
    for part, size in zip(parts, sizes, strict=True):
        start_offset = offset
        try:
            for frame in _slices(log, part, columns):
                _add_frame(
                    ref,
                    frame,
                    offset,
                    freq,
                    chunk_size,
                    labels_all,
                    excluded_all,
                    acc,
                    seg_acc,
                )
                offset += len(frame)
        except errors as err:
            damaged.handle("predictions", part, err)
        offset = start_offset + size
    return Assembled(acc, seg_acc, attribution, damaged.parts), chunk_size


def _slices(log: Any, part: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    yield from log.iter_read("predictions", part, READ_ROWS, columns)


def _micros(value: Any) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.to_datetime64().astype("datetime64[us]").astype(np.int64))


def _add_frame(
    ref: Reference,
    frame: pd.DataFrame,
    offset: int,
    freq: str | None,
    chunk_size: int | None,
    labels_all: np.ndarray,
    excluded_all: np.ndarray,
    acc: dict[Any, list[Any]],
    seg_acc: dict[tuple[Any, str, str], list[Any]],
) -> None:
    n = len(frame)
    if n == 0:
        return
    naive = pd.Series(frame[TS].to_numpy(dtype=np.int64).view("datetime64[us]"))
    if freq is not None:
        keys = chunk_starts(naive, freq)
    else:
        assert chunk_size is not None
        keys = (offset + np.arange(n)) // chunk_size
    y = labels_all[offset : offset + n]
    excluded = excluded_all[offset : offset + n]
    scores = frame[SCORE].to_numpy(dtype=np.float64)
    calibrated = ref.calibrate(scores)
    features = frame.drop(columns=[TS, SCORE])
    features[SCORE_FEATURE] = scores
    uniq, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    ts_values = naive.to_numpy()
    seg_codes = {
        col: _segment_codes(features[col], values)
        for col, values in ref.segment_values.items()
    }
    for i, key in enumerate(uniq):
        rows = order[bounds[i] : bounds[i + 1]]
        whole = len(uniq) == 1
        sub = features if whole else features.iloc[rows]
        drift = ref.detector.summarize(sub)
        perf = PerformanceSummary.from_arrays(
            scores[rows], y[rows], calibrated[rows], ref.threshold
        )
        start, end = ts_values[rows].min(), ts_values[rows].max()
        key = pd.Timestamp(key).tz_localize("UTC") if freq is not None else int(key)
        start = pd.Timestamp(start).tz_localize("UTC")
        end = pd.Timestamp(end).tz_localize("UTC")
        n_excl = int(excluded[rows].sum())
        if key in acc:
            entry = acc[key]
            entry[0] = entry[0] + drift
            entry[1] = entry[1] + perf
            entry[2] = min(entry[2], start)
            entry[3] = max(entry[3], end)
            entry[4] += n_excl
        else:
            acc[key] = [drift, perf, start, end, n_excl]
        for col, codes in seg_codes.items():
            sub_codes = codes[rows]
            for j, value in enumerate(ref.segment_values[col]):
                take = rows[sub_codes == j]
                if not len(take):
                    continue
                det = ref.segment_detectors[col, value]
                s_drift = det.summarize(features.iloc[take])
                s_perf = PerformanceSummary.from_arrays(
                    scores[take], y[take], calibrated[take], ref.threshold
                )
                skey = (key, col, value)
                if skey in seg_acc:
                    seg_acc[skey][0] = seg_acc[skey][0] + s_drift
                    seg_acc[skey][1] = seg_acc[skey][1] + s_perf
                else:
                    seg_acc[skey] = [s_drift, s_perf]


# which way is good, for painting a change: more churn is never "better"
_GOOD_HIGH = {**HIGHER_IS_BETTER, "churn_rate": False}


def _segment_codes(col: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    """Position of each row's segment value in ``values`` (-1: other)."""
    from churnlib.monitoring._categories import category_codes

    if not pd.api.types.is_string_dtype(col.dtype):
        col = col.astype(STRING)
    codes, _ = category_codes(col, pd.Index(values, dtype=object))
    return codes


def performance_rows(
    key: Any,
    perf: PerformanceSummary,
    reference: dict[str, float],
    sd0: dict[str, float],
    boot_n: int,
) -> list[dict[str, Any]]:
    """Realized (matured rows), estimated (all rows) and observed metrics."""
    rows = []
    realized = perf.realized() if perf.n_labeled else {}
    estimated = perf.estimated()
    for kind, values, n_used in (
        ("realized", realized, perf.n_labeled),
        ("estimated", estimated, perf.n),
        ("observed", perf.observed(), perf.n),
    ):
        for metric in values:
            if kind != "observed" and metric not in METRICS:
                continue
            ref = reference.get(metric, np.nan)
            sd = sd0.get(metric, np.nan) * math.sqrt(boot_n / max(n_used, 1))
            value = values[metric]
            lower, upper = ref - 3 * sd, ref + 3 * sd
            outside = bool(value < lower or value > upper)
            high_is_good = _GOOD_HIGH.get(metric)
            if not outside or high_is_good is None:
                direction = ""
            elif (value < lower) == high_is_good:
                direction = "worse"
            else:
                direction = "better"
            rows.append(
                {
                    "chunk": key,
                    "metric": metric,
                    "kind": kind,
                    "value": value,
                    "reference": ref,
                    "lower": lower,
                    "upper": upper,
                    "n": n_used,
                    "outside_band": outside,
                    "direction": direction,
                }
            )
    return rows
