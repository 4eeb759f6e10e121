"""``DriftDetector``: univariate drift of every column, vectorized over columns."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from churnlib._validation import Interval, StrOptions, validate_estimator_params
from churnlib.exceptions import DataValidationError
from churnlib.monitoring._categories import (
    category_counts,
    counted_without_gil,
    value_counts,
)
from churnlib.monitoring._stats import (
    _chi2_from_counts,
    _js_from_counts,
    _ks_from_counts,
    _psi_from_counts,
)
from churnlib.monitoring._summary import DriftSummary

__all__ = ["DEFAULT_THRESHOLDS", "DriftDetector"]

METHODS = ("psi", "ks", "jensen_shannon", "chi2")

#: Effect-size floors: a column is flagged only when its statistic exceeds
#: both this floor and the sample-size-aware critical value. KS 0.05 is the KS
#: distance of a mean shift of about 0.13 standard deviations of a normal
#: variable; for ``chi2`` the floor is Cohen's *w* (0.1, Cohen's "small"
#: effect; the threshold on the statistic is ``w**2 * n_eff``); PSI keeps the
#: industry's 0.1. Set so that shifts of 0.2 sd and more are caught at least
#: as often as Evidently's and NannyML's defaults catch them, at <= 1 % false
#: alarms (see the monitoring guide's sensitivity table).
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "psi": 0.1,
    "ks": 0.05,
    "jensen_shannon": 0.05,
    "chi2": 0.1,
}

_AUTO = {"numeric": ("psi", "ks"), "categorical": ("psi", "chi2")}
#: Largest integer magnitude below which every integer is a float64 exactly.
_EXACT_FLOAT_INT = 2**53
_GRID = 2048  # cells of the binning lookup table
_MAX_PASSES = 6  # edges per lookup cell before falling back to searchsorted
#: Fewest rows for which columns are summarized on several threads: below it
#: a column takes well under a millisecond and threads cost more than they save.
_THREADED_ROWS = 100_000
#: Values binned per step: the step's intermediates (a few arrays of this
#: length) stay in cache, so the ~10 numpy passes of the binning read memory
#: about once. Smaller steps are a little faster on one thread but hand the
#: GIL over so often that two threads gain little (1M x 20 check, quiet, 2
#: cores: 16,384 -> 0.28 s on one thread, 0.24 s on two; 65,536 -> 0.29 s on
#: one thread, 0.17 s on two).
_CHUNK = 65_536
_T = TypeVar("_T")
_R = TypeVar("_R")


def _is_categorical_dtype(series: pd.Series) -> bool:
    if _numeric_kind(series.dtype) != "number":
        return False  # datetimes and durations: numbers of seconds
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(
        series
    )


def _numeric_kind(dtype: Any) -> str:
    """``"datetime"``, ``"timedelta"`` or ``"number"``: how a column is read."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    return "number"


_KIND_WORDS = {
    "number": "numbers",
    "datetime": "dates and times",
    "timedelta": "durations",
    # what a numeric column may hold now but never in a reference
    "booleans": "booleans",
    "complex": "complex numbers",
}


class _Binner:
    """Maps a numeric column to reference-quantile bins with a lookup table.

    ``searchsorted`` on a million unsorted values costs ~10 binary-search steps
    each; here one multiply-and-truncate finds a cell of a uniform grid over
    the edge range, a table gives the number of edges left of that cell, and a
    few vectorized comparisons add the edges inside the cell. The cell function
    is monotone, so the result is exactly ``searchsorted(edges, x, "right")``.
    """

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.n_bins = len(edges) + 1
        self.fallback = True
        if len(edges) >= 2 and np.isfinite(edges).all():
            lo, hi = float(edges[0]), float(edges[-1])
            scale = (_GRID - 1) / (hi - lo)
            if np.isfinite(scale):
                cells = self._cells(edges, lo, scale)
                per_cell = np.bincount(cells, minlength=_GRID)
                if per_cell.max() <= _MAX_PASSES:
                    self.lo, self.scale = lo, scale
                    self.n_passes = int(per_cell.max())
                    # number of edges strictly in cells left of each cell
                    self.lut = np.concatenate([[0], np.cumsum(per_cell)[:-1]])
                    self.padded = np.concatenate([edges, [np.nan]])  # x >= nan is False
                    self.fallback = False

    @staticmethod
    def _cells(x: np.ndarray, lo: float, scale: float) -> np.ndarray:
        c = (x - lo) * scale
        np.clip(c, 0, _GRID - 1, out=c)
        return c.astype(np.intp)

    def counts(
        self, x: np.ndarray, lo: float, hi: float
    ) -> tuple[np.ndarray, int, int, int]:
        """Bin counts of ``x``, its NaN count, and values below lo / above hi.

        Equal to ``bincount(searchsorted(edges, x[~isnan(x)], "right"))``
        and two comparisons, done in cache-sized steps with preallocated
        buffers.
        """
        out = np.zeros(self.n_bins, dtype=np.int64)
        n_nan = below = above = 0
        cells = np.empty(min(_CHUNK, len(x)))
        index = np.empty(len(cells), dtype=np.intp)
        flags = np.empty(len(cells), dtype=bool)
        at_edge = np.empty(len(cells))
        for start in range(0, len(x), _CHUNK):
            part = x[start : start + _CHUNK]
            mask = np.isnan(part, out=flags[: len(part)])
            missing = int(np.count_nonzero(mask))
            if missing:
                n_nan += missing
                part = part[~mask]
            k = len(part)
            if self.fallback:
                idx = np.searchsorted(self.edges, part, side="right")
            else:
                c = np.subtract(part, self.lo, out=cells[:k])
                c *= self.scale
                np.clip(c, 0, _GRID - 1, out=c)
                cell = index[:k]
                cell[...] = c  # truncates, as astype does
                idx = self.lut.take(cell)
                edge, ge = at_edge[:k], flags[:k]
                for _ in range(self.n_passes):
                    np.take(self.padded, idx, out=edge)
                    idx += np.greater_equal(part, edge, out=ge)
            out += np.bincount(idx, minlength=self.n_bins)
            below += int(np.count_nonzero(part < lo))
            above += int(np.count_nonzero(part > hi))
        return out, n_nan, below, above


class _IntegerBinner:
    """Exact bins of an integer column whose reference range is small.

    Integers are bucketed by value (one ``clip``, one subtraction and one
    ``bincount``, no conversion to float), and a table made once maps each
    value's bucket to its bin: the same bins as ``searchsorted(edges, v,
    "right")``. The buckets just below and above the reference range count
    the out-of-range values, so those come for free too.
    """

    #: Widest reference range (max - min) bucketed by value.
    MAX_RANGE = 1 << 16

    def __init__(self, edges: np.ndarray, lo: int, hi: int) -> None:
        self.n_bins = len(edges) + 1
        self.lo, self.hi = lo - 1, hi + 1  # buckets 0 and -1: out of range
        values = np.arange(self.lo, self.hi + 1, dtype=np.float64)
        self.table = np.searchsorted(edges, values, side="right")

    @classmethod
    def maybe(cls, edges: np.ndarray, dtype: Any, lo: float, hi: float) -> Any:
        """Return an integer binner if the column qualifies, else None."""
        if not (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
            return None
        if dtype.itemsize == 8 and dtype.kind == "u":
            return None  # uint64 - int64 would go through float64
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > cls.MAX_RANGE:
            return None
        if max(abs(lo), abs(hi)) > _EXACT_FLOAT_INT:
            # lo and hi are the float extremes; past 2**53 they are rounded,
            # and buckets cut at the rounded values would count the
            # reference's own extremes as out of range
            return None
        info = np.iinfo(dtype)
        if lo - 1 < info.min or hi + 1 > info.max:
            return None  # the out-of-range buckets must fit the dtype
        return cls(edges, int(lo), int(hi))

    def counts(self, v: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Bin counts, values below and values above the reference range."""
        per_value = np.zeros(len(self.table), dtype=np.int64)
        clipped = np.empty(min(_CHUNK, len(v)), dtype=v.dtype)
        buckets = np.empty(len(clipped), dtype=np.intp)
        for start in range(0, len(v), _CHUNK):  # cache-sized steps, as floats
            part = v[start : start + _CHUNK]
            k = len(part)
            np.clip(part, self.lo, self.hi, out=clipped[:k])
            # in intp: 126 - (-2) would wrap in int8
            np.subtract(clipped[:k], self.lo, out=buckets[:k], dtype=np.intp)
            per_value += np.bincount(buckets[:k], minlength=len(self.table))
        counts = np.bincount(self.table, weights=per_value, minlength=self.n_bins)
        return counts.astype(np.int64), int(per_value[0]), int(per_value[-1])


class _Learned(NamedTuple):
    """What fit learns of a numeric column."""

    edges: np.ndarray  # fine bin edges (reference quantiles)
    coarse: np.ndarray  # coarse bin edges
    lo: float  # reference minimum (NaN: no finite value)
    hi: float  # reference maximum
    binner: _Binner
    exact: _IntegerBinner | None  # integer buckets, when they qualify
    counts: np.ndarray  # the reference histogram on the fine bins
    n_nan: int  # missing values of the reference


class DriftDetector(BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Univariate drift of every column against a reference, from histograms.

    ``fit`` learns, once, the reference bins (quantile edges of numeric
    columns, frequent categories of categorical ones) and the reference
    histograms. ``check`` bins the current data on the same bins, for all
    columns at once, and compares histograms. Because everything is counts on
    fixed bins, the summaries of slices add up (:meth:`summarize` and
    :class:`DriftSummary`), so data can be summarized in pieces, in parallel
    or streamed from storage, and checked once.

    A (feature, method) cell is flagged when its statistic exceeds **both** an
    effect-size floor (``threshold``) and the critical value of the statistic
    under no drift at the family-wise level ``alpha`` (Bonferroni over all the
    cells of one ``check``). The floor keeps large samples from flagging
    negligible shifts; the critical value keeps small samples from flagging
    noise.

    Read more in the :doc:`monitoring guide </guide/monitoring>`.

    Parameters
    ----------
    method : {"auto", "psi", "ks", "jensen_shannon", "chi2"} or list of those, \
            default="auto"
        Statistics to compute. ``"auto"`` uses PSI and KS for numeric columns
        and PSI and chi-square for categorical ones. ``"ks"`` applies to
        numeric columns only; the others apply to both (numeric columns use
        ``n_bins`` reference-quantile bins).
    threshold : float, dict or None, default=None
        Effect-size floor per method. None uses :data:`DEFAULT_THRESHOLDS`
        (PSI 0.1, KS 0.05, Jensen-Shannon distance 0.05, chi-square Cohen's w
        0.1); a dict overrides some of them; a float applies to every method.
    alpha : float, default=0.01
        Family-wise false-alarm level of one ``check`` (all cells together).
    n_bins : int, default=10
        Reference-quantile bins for PSI, Jensen-Shannon and chi-square on
        numeric columns.
    n_quantiles : int, default=100
        Finer reference-quantile bins on which the KS statistic is evaluated.
    categorical_features : list of str or None, default=None
        Columns to treat as categorical. None treats non-numeric and boolean
        columns as categorical; dates, times and durations are numeric
        (seconds).
    max_categories : int, default=50
        Most frequent reference categories kept per column; the rest share an
        "other" bin. Values the reference never held have a bin of their own.
    subsample : int or None, default=200_000
        Rows sampled to compute quantile edges (histograms always use every
        row). None uses every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsampling for the edges.
    n_jobs : int or None, default=-1
        Threads that summarize columns at once for 100,000 rows or more
        (numpy and Arrow release the GIL, so the columns really run in
        parallel; Python object columns of pandas < 3 do not). ``-1`` uses
        every CPU this process may run on, ``None`` or ``1`` the calling
        thread only. The result does not depend on it.

    Attributes
    ----------
    reference_stats_ : DriftSummary
        The reference histograms.
    bin_edges_ : dict of str to ndarray
        Interior reference-quantile edges per numeric column (fine grid).
    categories_ : dict of str to ndarray
        Kept reference categories per categorical column, most frequent first.
    numeric_features_, categorical_features_ : tuple of str
        Columns by kind.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``.

    See Also
    --------
    population_stability_index, ks_statistic, jensen_shannon_distance,
    chi2_statistic : the statistics, one column at a time.
    ChurnMonitor : logs predictions and reports drift over time with this.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from churnlib.monitoring import DriftDetector
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"age": rng.normal(40, 10, 5000),
    ...                     "plan": rng.choice(["a", "b", "c"], 5000)})
    >>> cur = pd.DataFrame({"age": rng.normal(48, 10, 2000),
    ...                     "plan": rng.choice(["a", "b", "c"], 2000)})
    >>> det = DriftDetector().fit(ref)
    >>> det.check(cur)[["feature", "method", "drifted"]]
      feature method  drifted
    0     age    psi     True
    1     age     ks     True
    2    plan    psi    False
    3    plan   chi2    False
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [StrOptions({"auto", *METHODS}), list, tuple],
        "threshold": [None, dict, Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "n_quantiles": [Interval(Integral, 2, None, closed="left")],
        "categorical_features": [None, list, tuple],
        "max_categories": [Interval(Integral, 1, None, closed="left")],
        "subsample": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }

    def __init__(
        self,
        *,
        method: str | Sequence[str] = "auto",
        threshold: float | Mapping[str, float] | None = None,
        alpha: float = 0.01,
        n_bins: int = 10,
        n_quantiles: int = 100,
        categorical_features: Sequence[str] | None = None,
        max_categories: int = 50,
        subsample: int | None = 200_000,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = -1,
    ) -> None:
        self.method = method
        self.threshold = threshold
        self.alpha = alpha
        self.n_bins = n_bins
        self.n_quantiles = n_quantiles
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.subsample = subsample
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.required = False
        tags.requires_fit = True
        return tags

    # ------------------------------------------------------------------ #
    # parameters
    # ------------------------------------------------------------------ #
    def _methods(self) -> tuple[str, ...]:
        if isinstance(self.method, str):
            return ("auto",) if self.method == "auto" else (self.method,)
        methods = tuple(self.method)
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods:
            from churnlib.exceptions import InvalidParameterError

            raise InvalidParameterError(
                f"The 'method' parameter of DriftDetector must be 'auto', one of "
                f"{list(METHODS)} or a non-empty list of them. Got {self.method!r} "
                "instead."
            )
        return methods

    def _floors(self) -> dict[str, float]:
        floors = dict(DEFAULT_THRESHOLDS)
        if isinstance(self.threshold, Mapping):
            unknown = sorted(set(self.threshold) - set(METHODS))
            if unknown:
                from churnlib.exceptions import InvalidParameterError

                raise InvalidParameterError(
                    f"The 'threshold' parameter of DriftDetector has unknown methods "
                    f"{unknown}; use keys among {list(METHODS)}."
                )
            floors.update({k: float(v) for k, v in self.threshold.items()})
        elif self.threshold is not None:
            floors = dict.fromkeys(METHODS, float(self.threshold))
        return floors

    # ------------------------------------------------------------------ #
    # input handling
    # ------------------------------------------------------------------ #
    def _as_frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            if X.shape[1] == 0:
                raise DataValidationError(
                    "DriftDetector needs at least one column; got 0 columns."
                )
            given = X.columns.tolist()
            names = [str(c) for c in given]
            dup = []
            if len(set(names)) != len(names):
                dup = sorted({n for n in names if names.count(n) > 1})
            if dup and not reset:  # extra columns are ignored, repeated ones too
                features = set(self._columns)
                dup = [n for n in dup if n in features]
            if dup:
                raise DataValidationError(
                    f"Duplicate column names {dup}; rename them.", columns=dup
                )
            if names != given:
                # column names are read as text (int names from a CSV read
                # with header=None, tuples of a MultiIndex), as at fit
                X = X.set_axis(names, axis=1)
            if reset:
                validate_data(self, X, reset=True, skip_check_array=True)
            if len(X) == 0 and reset:
                raise DataValidationError(
                    "Found array with 0 sample(s) (shape=(0, "
                    f"{X.shape[1]})) while a minimum of 1 is required by "
                    "DriftDetector."
                )
            return X
        arr = validate_data(
            self,
            X,
            reset=reset,
            dtype=None,
            ensure_all_finite="allow-nan",
            ensure_min_samples=1 if reset else 0,
        )
        if arr.ndim != 2:  # pragma: no cover - validate_data ensures 2-D
            raise DataValidationError("DriftDetector expects 2-D data.")
        names = (
            list(self._columns)
            if hasattr(self, "_columns") and not reset
            else [f"x{i}" for i in range(arr.shape[1])]
        )
        frame = pd.DataFrame(arr, columns=names)
        if arr.dtype == object:
            # object arrays: numbers stay numbers, anything else is categorical
            for name in frame.columns:
                try:
                    frame[name] = pd.to_numeric(frame[name])
                except (TypeError, ValueError):
                    col = frame[name]  # text, missing values kept missing
                    frame[name] = col.astype(str).where(col.notna(), None)
        return frame

    @staticmethod
    def _float_column(col: pd.Series, name: str, kind: str = "number") -> np.ndarray:
        """Return the column as float64, NaN for missing (a view if it is one).

        ``kind``: what the column held in the reference (see
        :func:`_numeric_kind`). Dates and times are read as seconds since
        1970-01-01 (UTC for time-zone-aware ones), durations as seconds.
        """
        dtype = col.dtype
        now = _numeric_kind(dtype)
        if now == "number" and (
            pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype)
        ):
            now = "booleans" if pd.api.types.is_bool_dtype(dtype) else "complex"
        if now != kind:
            held = _KIND_WORDS[now]
            if now == "complex":
                fix = "Pass the real part or the magnitude (np.abs) instead."
            elif kind == "number":
                fix = (
                    "Convert it to numbers (e.g. astype(float)), or pass it in "
                    "categorical_features when fitting."
                )
            else:
                fix = f"Convert it back to {_KIND_WORDS[kind]}."
            raise DataValidationError(
                f"Column {name!r} held {_KIND_WORDS[kind]} in the reference but "
                f"holds {held} now (dtype {dtype}). {fix}",
                columns=[name],
            )
        if kind != "number":
            if isinstance(dtype, pd.DatetimeTZDtype) or getattr(
                getattr(dtype, "pyarrow_dtype", None), "tz", None
            ):
                col = col.dt.tz_convert(None)  # the same instants, in UTC
            unit = "datetime64[us]" if kind == "datetime" else "timedelta64[us]"
            stamps = col.to_numpy(dtype=unit)
            since = stamps - np.datetime64(0, "us") if kind == "datetime" else stamps
            seconds: np.ndarray = since / np.timedelta64(1, "s")  # NaT -> NaN
            return seconds
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            values = col.to_numpy()
            if dtype == np.float64:
                # a read-only view: the binning never writes into it
                view: np.ndarray = values
                return view
            converted: np.ndarray = values.astype(np.float64)
            return converted
        try:
            out: np.ndarray = col.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise DataValidationError(
                f"Column {name!r} was numeric in the reference but holds "
                f"non-numeric values now (dtype {col.dtype}). Convert it to "
                "numbers, or pass it in categorical_features when fitting.",
                columns=[name],
            ) from err
        return out

    def _bin_column(
        self,
        column: pd.Series,
        name: str,
        kind: str,
        binner: _Binner,
        exact: _IntegerBinner | None,
        lo: float,
        hi: float,
        floats: np.ndarray | None = None,
    ) -> tuple[np.ndarray, int, int, int]:
        """Bin counts, NaN count and values below ``lo`` / above ``hi`` of a column.

        Integers go to their exact buckets when the reference qualified for
        them, everything else through the float binning (``floats``: the
        column already read as floats, if the caller has it).
        """
        if exact is not None and column.dtype.kind in "iu":
            values = column.to_numpy()
            if values.dtype.kind == "i" or values.dtype.itemsize < 8:
                counts, below, above = exact.counts(values)
                return counts, 0, below, above
        if floats is None:
            floats = self._float_column(column, name, kind)
        return binner.counts(floats, lo, hi)

    def _map(
        self,
        fn: Callable[[_T], _R],
        items: Sequence[_T],
        n_rows: int,
        *,
        lane: Sequence[int] = (),
    ) -> list[_R]:
        """``[fn(i) for i in items]``, on threads for large inputs (see n_jobs).

        ``lane``: positions of items that hold the GIL throughout (Python
        objects hashed row by row). They run one after the other on a single
        thread, started first, so the other threads keep doing the numpy
        work that releases the GIL instead of queueing for it.
        """
        n_jobs = getattr(self, "n_jobs", -1)  # detectors pickled before n_jobs
        workers = 1 if n_jobs is None else int(n_jobs)
        if workers < 0:
            workers = max(_available_cpus() + 1 + workers, 1)
        in_lane = set(lane)
        jobs = [list(lane)] if lane else []
        jobs += [[i] for i in range(len(items)) if i not in in_lane]
        workers = min(workers, len(jobs))
        if workers <= 1 or n_rows < _THREADED_ROWS:
            return [fn(item) for item in items]

        def run(job: list[int]) -> list[_R]:
            return [fn(items[i]) for i in job]

        out: list[Any] = [None] * len(items)
        with ThreadPoolExecutor(workers, thread_name_prefix="churnlib-drift") as pool:
            for job, results in zip(jobs, pool.map(run, jobs), strict=True):
                for i, result in zip(job, results, strict=True):
                    out[i] = result
        return out

    # ------------------------------------------------------------------ #
    # fit
    # ------------------------------------------------------------------ #
    def fit(self, X: Any, y: None = None) -> DriftDetector:
        """Learn reference bins and histograms.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Reference data. Missing values are allowed.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : DriftDetector
            The fitted detector.
        """
        validate_estimator_params(self)
        self._methods()
        self._floors()
        X = self._as_frame(X, reset=True)
        names = [str(c) for c in X.columns]
        forced = {str(c) for c in self.categorical_features or ()}
        missing = sorted(forced - set(names))
        if missing:
            raise DataValidationError(
                f"categorical_features names columns {missing} that are not in "
                "the reference data.",
                columns=missing,
            )
        cat = [n for n in names if n in forced or _is_categorical_dtype(X[n])]
        num = [n for n in names if n not in cat]
        complex_ = [n for n in num if pd.api.types.is_complex_dtype(X[n].dtype)]
        if complex_:
            raise DataValidationError(
                f"Columns {complex_} hold complex numbers, which the drift check "
                "does not read. Pass their real parts or magnitudes (np.abs).",
                columns=complex_,
            )
        self._columns = tuple(names)
        self.numeric_features_ = tuple(num)
        self.categorical_features_ = tuple(cat)
        self._numeric_kinds = tuple(_numeric_kind(X[n].dtype) for n in num)

        rng = check_random_state(self.random_state)
        n = len(X)
        rows = None
        if self.subsample is not None and n > self.subsample:
            # RandomState.choice without replacement permutes all n rows (57 ms
            # at 1M, a sixth of fit + check); a Generator seeded from it draws
            # the same kind of sample in 12 ms, as reproducibly
            draw = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
            rows = np.sort(draw.choice(n, size=self.subsample, replace=False))

        coarse_levels = np.arange(1, self.n_bins) / self.n_bins
        fine_levels = np.arange(1, self.n_quantiles) / self.n_quantiles
        levels = np.unique(np.concatenate([coarse_levels, fine_levels]))
        coarse_pos = np.searchsorted(levels, coarse_levels)

        def learn_numeric(name: str) -> _Learned:
            column = X[name]
            values = column.to_numpy()
            integers = isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu"
            # integers are sorted and bucketed as they are; their float
            # conversion is monotone, so the sorted integers converted are
            # the sorted floats
            kind = _numeric_kind(column.dtype)  # dates and durations: seconds
            full = values if integers else self._float_column(column, name, kind)
            col = np.sort(full if rows is None else full[rows]).astype(np.float64)
            # quantiles of the finite values: +-inf (a ratio over zero) fall
            # in the outermost bins, but an edge at infinity would be NaN
            # one sort (NaN last) beats np.quantile's partition with ~100 kth
            # values by several times; same values as np.quantile
            col = col[: int(np.searchsorted(col, np.nan, side="left"))]
            if len(col) and not (np.isfinite(col[0]) and np.isfinite(col[-1])):
                col = col[np.isfinite(col)]  # sorted: only the ends can be inf
            if len(col) == 0:
                edges = coarse = np.empty(0)
                lo = hi = np.nan
            else:
                q = _sorted_quantiles(col, levels)
                edges, coarse = np.unique(q), np.unique(q[coarse_pos])
                # fmin/fmax skip NaN in one pass (np.nanmin copies the column)
                lo, hi = float(np.fmin.reduce(full)), float(np.fmax.reduce(full))
            # the reference histogram, counted here rather than in a second
            # pool run after every column is learned (no wait at the seam)
            binner = _Binner(edges)
            exact = _IntegerBinner.maybe(edges, column.dtype, lo, hi)
            counts, n_nan, _, _ = self._bin_column(
                column, name, kind, binner, exact, lo, hi, None if integers else full
            )
            return _Learned(edges, coarse, lo, hi, binner, exact, counts, n_nan)

        # numeric sorts and category counts in one pool run: hashing Python
        # objects (GIL-bound) overlaps the sorts (which release the GIL)
        def learn(job: tuple[str, str]) -> Any:
            kind, name = job
            if kind == "n":
                return learn_numeric(name)
            with _hashable_values(name):
                return value_counts(X[name])

        jobs = [("c", name) for name in cat] + [("n", name) for name in num]
        done = self._map(
            learn,
            jobs,
            n,
            lane=[i for i, name in enumerate(cat) if not counted_without_gil(X[name])],
        )
        counted: list[tuple[pd.Series, int]] = done[: len(cat)]
        learned: list[_Learned] = done[len(cat) :]
        self.bin_edges_: dict[str, np.ndarray] = {}
        self._coarse: list[np.ndarray] = []
        for name, item in zip(num, learned, strict=True):
            self.bin_edges_[name] = item.edges
            # coarse group of each fine bin: fine bin i is [edges[i-1], edges[i])
            left = np.concatenate([[-np.inf], item.edges])
            self._coarse.append(np.searchsorted(item.coarse, left, side="right"))
        self._ref_min = np.array([item.lo for item in learned], dtype=np.float64)
        self._ref_max = np.array([item.hi for item in learned], dtype=np.float64)
        self._binners = [item.binner for item in learned]
        self._int_binners = [item.exact for item in learned]
        self._num_slots = max((len(e) + 1 for e in self.bin_edges_.values()), default=1)

        # categories, most frequent first (ties: first seen); their counts
        # are the reference histogram, so the reference is hashed only once
        self.categories_: dict[str, np.ndarray] = {}
        self._all_categories: list[pd.Index] = []
        ranked: list[tuple[np.ndarray, int]] = []
        for name, (counts, n_missing) in zip(cat, counted, strict=True):
            counts = counts.iloc[
                np.lexsort((np.arange(len(counts)), -counts.to_numpy()))
            ]
            ranked.append((counts.to_numpy(dtype=np.int64), n_missing))
            self._all_categories.append(pd.Index(counts.index))
            self.categories_[name] = np.asarray(counts.index[: self.max_categories])
        self._cat_slots = max(
            (len(c) + 1 for c in self.categories_.values()), default=1
        )
        self._key = uuid.uuid4().hex
        self.reference_stats_ = self._summarize(
            X,
            reference_counts=ranked,
            reference_bins=[(item.counts, item.n_nan) for item in learned],
        )
        return self

    # ------------------------------------------------------------------ #
    # summarize
    # ------------------------------------------------------------------ #
    def summarize(self, X: pd.DataFrame) -> DriftSummary:
        """Histogram counts of ``X`` on the reference bins (mergeable).

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_features)
            Current data with (at least) the reference columns. Extra columns
            are ignored. May be empty.

        Returns
        -------
        DriftSummary
            Counts; add summaries of disjoint slices with ``+``.
        """
        check_is_fitted(self)
        X = self._as_frame(X, reset=False)
        missing = [c for c in self._columns if c not in X.columns]
        if missing:
            raise DataValidationError(
                f"Columns {missing} of the reference data are missing from the "
                "data to check. Pass every reference column.",
                columns=missing,
            )
        return self._summarize(X)

    def _summarize(
        self,
        X: pd.DataFrame,
        *,
        reference_counts: Sequence[tuple[np.ndarray, int]] | None = None,
        reference_bins: Sequence[tuple[np.ndarray, int]] | None = None,
    ) -> DriftSummary:
        """Count ``X`` on the bins.

        ``reference_counts`` and ``reference_bins``: fit's category counts and
        numeric bin and NaN counts, given only for the reference itself
        (whose values are never below its minimum or above its maximum), so
        that it is not counted twice.
        """
        num, cat = self.numeric_features_, self.categorical_features_
        n = len(X)
        slots = self._num_slots
        # each column taken out of the frame once (a Series per access)
        numeric_columns = [X[name] for name in num]
        # detectors pickled before datetimes were read as numbers
        kinds = getattr(self, "_numeric_kinds", ("number",) * len(num))
        cat_columns = [X[name] for name in cat]

        def count_numeric(j: int) -> tuple[np.ndarray, int, int, int]:
            column = numeric_columns[j]
            row = np.zeros(slots, dtype=np.int64)
            if reference_bins is not None:
                counts, n_nan = reference_bins[j]
                row[: len(counts)] = counts
                return row, n_nan, 0, 0
            counts, n_nan, below, above = self._bin_column(
                column,
                num[j],
                kinds[j],
                self._binners[j],
                self._int_binners[j],
                self._ref_min[j],
                self._ref_max[j],
            )
            row[: len(counts)] = counts
            return row, n_nan, below, above

        def count_categorical(j: int) -> tuple[np.ndarray, int, int]:
            k = len(self.categories_[cat[j]])
            row = np.zeros(self._cat_slots, dtype=np.int64)
            if reference_counts is not None:
                # the reference: fit's counts, ranked (no value is unseen)
                counts, n_missing = reference_counts[j]
                row[:k] = counts[:k]
                row[k] = counts[k:].sum()
                return row, n_missing, 0
            with _hashable_values(cat[j]):
                full, n_missing = category_counts(
                    cat_columns[j], self._all_categories[j]
                )
            # full: one count per reference category, then missing or unseen
            n_unseen = int(full[-1]) - n_missing
            row[:k] = full[:k]
            row[k] = full[k:-1].sum() + n_unseen  # rare and unseen: "other"
            return row, n_missing, n_unseen

        # Python-object columns hashed row by row hold the GIL throughout, so
        # they run here, not on threads where they would stall the numpy work
        objects = [
            j
            for j, col in enumerate(cat_columns)
            if reference_counts is None and not counted_without_gil(col)
        ]
        jobs = [("c", j) for j in range(len(cat))] + [("n", j) for j in range(len(num))]

        def count(job: tuple[str, int]) -> tuple[Any, ...]:
            kind, j = job
            return count_numeric(j) if kind == "n" else count_categorical(j)

        # (unlike fit's sorts, the binning here takes the GIL back every
        # step, so the numpy threads would queue behind an object lane)
        threaded = [
            job
            for job in jobs
            if (job[0] == "n" and reference_bins is None)
            or (job[0] == "c" and reference_counts is None and job[1] not in objects)
        ]
        done = dict(zip(threaded, self._map(count, threaded, n), strict=True))
        # fit's counts, placed in their rows (no pass over the data)
        done.update({job: count(job) for job in jobs if job not in done})
        numeric = [done["n", j] for j in range(len(num))]
        categorical = [done["c", j] for j in range(len(cat))]

        def stack(items: list[tuple[Any, ...]], i: int, width: int) -> np.ndarray:
            if not items:
                return np.zeros((0, width) if i == 0 else 0, dtype=np.int64)
            if i == 0:
                return np.stack([item[0] for item in items])
            return np.array([item[i] for item in items], dtype=np.int64)

        counts = stack(numeric, 0, slots)
        nan_counts, below, above = (stack(numeric, i, slots) for i in (1, 2, 3))
        ccounts = stack(categorical, 0, self._cat_slots)
        cmissing, unseen = (stack(categorical, i, 0) for i in (1, 2))
        return DriftSummary(
            detector_key=self._key,
            numeric_features=tuple(num),
            categorical_features=tuple(cat),
            n_rows=n,
            numeric_counts=counts,
            numeric_missing=nan_counts,
            numeric_below=below,
            numeric_above=above,
            categorical_counts=ccounts,
            categorical_missing=cmissing,
            categorical_unseen=unseen,
        )

    # ------------------------------------------------------------------ #
    # check
    # ------------------------------------------------------------------ #
    def check(self, X: pd.DataFrame | DriftSummary) -> pd.DataFrame:
        """Compare current data (or its summary) with the reference.

        Parameters
        ----------
        X : DataFrame or DriftSummary
            Current data with the reference columns, or the (merged) summary
            of it from :meth:`summarize`.

        Returns
        -------
        DataFrame
            One row per (feature, method): ``feature``, ``method``,
            ``statistic``, ``threshold`` (the larger of the effect-size floor
            and the critical value at this sample size) and ``drifted``
            (``statistic > threshold``). Features follow the reference column
            order. A feature with no non-missing current value gets a NaN
            statistic and ``drifted=False``.
        """
        check_is_fitted(self)
        summary = X if isinstance(X, DriftSummary) else self.summarize(X)
        if summary.detector_key != self._key:
            raise DataValidationError(
                "This DriftSummary was computed by another fitted detector; "
                "summarize with the detector you check with."
            )
        return self._compare(self.reference_stats_, summary)

    def _compare(self, ref: DriftSummary, cur: DriftSummary) -> pd.DataFrame:
        methods = self._methods()
        floors = self._floors()
        # rows: (feature, method, statistic, dof, n_eff) -> threshold later
        order = {name: i for i, name in enumerate(self._columns)}

        def wanted(kind: str) -> tuple[str, ...]:
            if methods == ("auto",):
                return _AUTO[kind]
            if kind == "categorical":
                return tuple(m for m in methods if m != "ks")
            return methods

        num_methods = wanted("numeric")
        cat_methods = wanted("categorical")
        results: dict[tuple[str, str], tuple[float, float, float]] = {}
        if len(cur.numeric_features):
            rc, cc = ref.numeric_counts, cur.numeric_counts
            n_ref = rc.sum(axis=1).astype(float)
            n_cur = cc.sum(axis=1).astype(float)
            n_eff = _n_eff(n_ref, n_cur)
            if "ks" in num_methods:
                ks = np.where(n_cur > 0, _ks_from_counts(rc, cc), np.nan)
                for j, name in enumerate(cur.numeric_features):
                    results[name, "ks"] = (ks[j], 1, n_eff[j])
            coarse_methods = [m for m in num_methods if m != "ks"]
            if coarse_methods:
                n_coarse = max(int(g.max()) + 1 for g in self._coarse)
                rg = np.zeros((len(rc), n_coarse))
                cg = np.zeros((len(rc), n_coarse))
                mask = np.zeros((len(rc), n_coarse), dtype=bool)
                for j, groups in enumerate(self._coarse):
                    k = len(groups)
                    np.add.at(rg[j], groups, rc[j, :k])
                    np.add.at(cg[j], groups, cc[j, :k])
                    mask[j, : int(groups.max()) + 1] = True
                self._coarse_stats(
                    coarse_methods, rg, cg, mask, cur.numeric_features, n_eff, results
                )
        if len(cur.categorical_features):
            rc, cc = ref.categorical_counts, cur.categorical_counts
            n_ref = rc.sum(axis=1).astype(float)
            n_cur = cc.sum(axis=1).astype(float)
            n_eff = _n_eff(n_ref, n_cur)
            sizes = np.array(
                [len(self.categories_[n]) for n in cur.categorical_features]
            )
            # values the reference never held get a bin of their own, apart
            # from its rare ones ("other"): merged, a column whose values are
            # all new (a new product line, every date moved) could look like
            # the reference's long tail and go unflagged
            rows = np.arange(len(sizes))
            unseen = cur.categorical_unseen.astype(np.int64)
            cc = np.column_stack([cc, unseen])
            cc[rows, sizes] -= unseen
            rc = np.column_stack([rc, np.zeros(len(rc), dtype=rc.dtype)])
            slots = np.arange(rc.shape[1])[None, :]
            # "other" and "new" count only when either sample has such values
            other = (slots == sizes[:, None]) | (slots == rc.shape[1] - 1)
            mask = (slots < sizes[:, None]) | (other & ((rc > 0) | (cc > 0)))
            self._coarse_stats(
                cat_methods, rc, cc, mask, cur.categorical_features, n_eff, results
            )

        n_tests = max(len(results), 1)
        alpha = self.alpha / n_tests
        # sorted by reference column order, then method, in numpy: building
        # the frame once is most of the cost of checking a small chunk
        method_rank = {m: i for i, m in enumerate(METHODS)}
        keys = list(results)
        rows = np.lexsort(
            (
                np.array([method_rank[m] for _, m in keys], dtype=np.intp),
                np.array([order[f] for f, _ in keys], dtype=np.intp),
            )
        ).tolist()
        keys = [keys[i] for i in rows]
        values = np.array([results[k] for k in keys], dtype=float).reshape(-1, 3)
        stat, dof, neff = values[:, 0], values[:, 1], values[:, 2]
        method = np.array([m for _, m in keys], dtype=object)
        threshold = _thresholds(method, dof, neff, alpha, floors)
        return pd.DataFrame(
            {
                "feature": [f for f, _ in keys],
                "method": [m for _, m in keys],
                "statistic": stat,
                "threshold": threshold,
                "drifted": np.nan_to_num(stat, nan=-np.inf) > threshold,
            }
        )

    @staticmethod
    def _coarse_stats(
        methods: Sequence[str],
        rc: np.ndarray,
        cc: np.ndarray,
        mask: np.ndarray,
        names: Sequence[str],
        n_eff: np.ndarray,
        results: dict[tuple[str, str], tuple[float, float, float]],
    ) -> None:
        occupied = ((rc > 0) | (cc > 0)) & mask
        dof = np.maximum(occupied.sum(axis=1) - 1, 1)
        empty = cc.sum(axis=1) == 0
        values: dict[str, np.ndarray] = {}
        if "psi" in methods:
            values["psi"] = _psi_from_counts(rc, cc, mask)
        if "jensen_shannon" in methods:
            values["jensen_shannon"] = _js_from_counts(rc, cc, mask)
        if "chi2" in methods:
            values["chi2"], dof = _chi2_from_counts(rc, cc, mask)
        for method, vals in values.items():
            vals = np.where(empty, np.nan, vals)
            for j, name in enumerate(names):
                results[name, method] = (float(vals[j]), float(dof[j]), n_eff[j])


def _sorted_quantiles(sorted_col: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``np.quantile(col, levels)`` (linear method) of an already sorted column."""
    pos = levels * (len(sorted_col) - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, len(sorted_col) - 1)
    t = pos - lo
    a, b = sorted_col[lo], sorted_col[hi]
    diff = b - a
    # numpy's _lerp: exact at both ends, monotone
    out: np.ndarray = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return out


def _n_eff(n_ref: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = n_ref * n_cur / (n_ref + n_cur)
    n_eff: np.ndarray = np.nan_to_num(out, nan=0.0)
    return n_eff


def _thresholds(
    method: np.ndarray,
    dof: np.ndarray,
    n_eff: np.ndarray,
    alpha: float,
    floors: Mapping[str, float],
) -> np.ndarray:
    """Larger of the effect-size floor and the no-drift critical value.

    Under no drift, ``n_eff * PSI`` and ``8 ln2 * n_eff * JS**2`` are
    asymptotically chi-square with ``dof`` degrees of freedom (as is the
    chi-square statistic itself); ``sqrt(n_eff) * KS`` follows the Kolmogorov
    distribution, bounded with the Dvoretzky-Kiefer-Wolfowitz tail
    ``P(KS > t) <= 2 exp(-2 n_eff t**2)``.
    """
    out = np.full(len(method), np.inf)
    safe_n = np.where(n_eff > 0, n_eff, np.nan)
    chi = stats.chi2.isf(alpha, np.maximum(dof, 1))
    for name, floor in floors.items():
        sel = method == name
        if not sel.any():
            continue
        if name == "psi":
            crit = chi[sel] / safe_n[sel]
            out[sel] = np.fmax(crit, floor)
        elif name == "jensen_shannon":
            crit = np.sqrt(chi[sel] / (8 * np.log(2) * safe_n[sel]))
            out[sel] = np.fmax(crit, floor)
        elif name == "ks":
            crit = np.sqrt(np.log(2 / alpha) / 2) / np.sqrt(safe_n[sel])
            out[sel] = np.fmax(crit, floor)
        elif name == "chi2":
            out[sel] = np.fmax(chi[sel], floor**2 * np.nan_to_num(safe_n[sel]))
    return out


@contextmanager
def _hashable_values(name: str) -> Iterator[None]:
    """Turn the errors of counting uncountable values into ours.

    pandas raises TypeError on unhashable objects (lists, dicts); Arrow raises
    ArrowNotImplementedError (a NotImplementedError) on list and struct
    columns.
    """
    try:
        yield
    except (TypeError, NotImplementedError) as err:
        raise DataValidationError(
            f"Column {name!r} holds values that cannot be counted as categories "
            f"({err}). Convert them to strings (e.g. df[{name!r}].astype(str)) "
            "or leave the column out of the drift check.",
            columns=[name],
        ) from err


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1
