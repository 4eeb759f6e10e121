"""A direct route through a fitted pipeline: the same answers, less dispatch.

For a few rows, most of ``Pipeline.predict_proba`` is dispatch, not
arithmetic: :class:`~sklearn.compose.ColumnTransformer` re-validates the
frame, selects columns through generic indexing, runs its transformers
through joblib and checks its output configuration on every call. The fitted
transformers themselves are cheap. :func:`direct_proba` builds, once per
loaded model, a function that calls the same fitted transformers on the same
column selections and stacks their outputs the same way, skipping that
dispatch. The fastest route (``"arrays"``) also hands each fitted transformer
plain NumPy columns instead of a DataFrame selection: sklearn's input
validation of a small DataFrame (feature names, per-column dtype checks)
costs several times the transform itself.

It must never change an answer, so :class:`CheckedProba` serves the model's
own ``predict_proba`` next to the direct routes for the first batches and
keeps the fastest route whose every probability was bit-for-bit equal (a
route that differs or fails once is dropped for good). Models of any other
shape are served through their own ``predict_proba``.

Batch scoring uses the same route for a pipeline's transform steps
(:class:`CheckedTransform`): on large batches the kernels matter more than the
dispatch (``OneHotEncoder.transform`` of 100,000 categorical rows compares
Python strings under the GIL for 0.3 s; its kernel picks columns by code).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CheckedProba", "CheckedTransform", "column_getter", "direct_proba"]

logger = logging.getLogger(__name__)

Transform = Callable[[Any], Any]

#: what sklearn says when a transformer fitted on a DataFrame gets an array
_NAMES_WARNING = "X does not have valid feature names"


def _as_array(values: Any) -> np.ndarray | None:
    """Return a column's values as the NumPy array sklearn reads, or None."""
    if isinstance(values, np.ndarray):
        return values if values.dtype.kind in "biufO" else None
    if isinstance(values, pd.Categorical) or isinstance(
        getattr(values, "dtype", None), pd.StringDtype
    ):
        out: np.ndarray = np.asarray(values, dtype=object)  # missing -> NaN
        return out
    return None  # nullable integers, Arrow types: leave them to sklearn


def column_getter(X: pd.DataFrame) -> Callable[[str], Any]:
    """``name -> the column's values`` (an array, not a Series: 10x cheaper)."""
    get = getattr(X, "_get_column_array", None)  # pandas >= 2: no Series built
    if get is not None and X.columns.is_unique:
        loc = X.columns.get_loc
        return lambda name: get(loc(name))
    return lambda name: X[name].array


def _stack(columns: list[np.ndarray]) -> np.ndarray:
    """Stack columns: a float64 array when all are numbers, else an object one."""
    if all(c.dtype.kind in "biuf" for c in columns):
        return np.column_stack(columns).astype(np.float64, copy=False)
    out = np.empty((len(columns[0]), len(columns)), dtype=object)
    for j, c in enumerate(columns):
        out[:, j] = c
    return out


def _arrays(columns: list[Any]) -> np.ndarray:
    arrays = [_as_array(c) for c in columns]
    if any(a is None for a in arrays):
        raise TypeError("a column sklearn reads itself")  # -> not this route
    return _stack([a for a in arrays if a is not None])


Kernel = Callable[[list[Any]], Any]


def _one_hot_kernel(enc: Any) -> Kernel | None:
    """``OneHotEncoder.transform`` read off categorical codes, or None.

    For string, number or boolean categories without dropped ones (text read
    off categorical codes, numbers searched in the sorted categories), unknown
    values ignored or
    sent to the infrequent column (``handle_unknown="ignore"`` or
    ``"infrequent_if_exist"``). Each level list of a categorical column is
    mapped once (the contract reuses one dtype object per list) to its output
    column, as sklearn's own transform maps it: the level's place among
    ``categories_`` (missing values at NaN's place, if fitted with one), an
    unknown level to the infrequent column when there is one (else no column:
    a row of zeros), and infrequent levels grouped into that column. Then each
    row's code picks its column.
    """
    import scipy.sparse as sp

    if (
        getattr(enc, "drop_idx_", None) is not None
        or getattr(enc, "_drop_idx_after_grouping", None) is not None
        or getattr(enc, "handle_unknown", None) not in ("ignore", "infrequent_if_exist")
        or not hasattr(enc, "categories_")
    ):
        return None
    n_columns = len(enc.categories_)
    infrequent = getattr(enc, "_infrequent_indices", None) or [None] * n_columns
    grouping = (
        getattr(enc, "_default_to_infrequent_mappings", None) or [None] * n_columns
    )
    sizes = getattr(enc, "_n_features_outs", None)
    if (
        len(infrequent) != n_columns
        or len(grouping) != n_columns
        or sizes is None
        or len(sizes) != n_columns
    ):
        return None
    to_infrequent = enc.handle_unknown == "infrequent_if_exist"
    # per column: text levels (read off categorical codes) or numbers and
    # booleans (a sorted search over plain arrays)
    lookups: list[dict[str, int] | None] = []
    numbers: list[np.ndarray | None] = []
    nan_at = []
    for cats in enc.categories_:
        if cats.dtype == object and all(
            isinstance(c, str) or (isinstance(c, float) and np.isnan(c)) for c in cats
        ):
            lookups.append({c: i for i, c in enumerate(cats) if isinstance(c, str)})
            numbers.append(None)
            nans = [i for i, c in enumerate(cats) if not isinstance(c, str)]
            nan_at.append(nans[0] if nans else -1)
        elif cats.dtype.kind in "biuf":
            present = cats[~np.isnan(cats)] if cats.dtype.kind == "f" else cats
            if np.any(present[1:] <= present[:-1]):
                return None  # sklearn keeps them sorted; anything else: its own
            lookups.append(None)
            numbers.append(present)
            nan_at.append(len(present) if len(present) < len(cats) else -1)
        else:
            return None

    def output_column(j: int, place: int) -> int:
        """Output column (within column j's block) of a place in categories_."""
        if place < 0:  # unknown level
            rare = infrequent[j]
            if not to_infrequent or rare is None:
                return -1
            place = int(rare[0])
        mapping = grouping[j]
        return place if mapping is None else int(mapping[place])

    offsets = np.cumsum([0, *sizes])
    dtype = enc.dtype
    sparse = bool(enc.sparse_output)
    # id of a dtype -> (the dtype, output column of each level, per column);
    # by identity: unordered dtypes with the same levels in another order
    # compare equal, but their codes mean other levels
    maps: dict[int, tuple[Any, list[np.ndarray]]] = {}

    def level_map(j: int, dtype_obj: Any) -> np.ndarray:
        entry = maps.get(id(dtype_obj))
        if entry is None or entry[0] is not dtype_obj:
            if len(maps) > 64:
                maps.clear()
            entry = maps[id(dtype_obj)] = (
                dtype_obj,
                [np.empty(0, np.intp)] * n_columns,
            )
        per = entry[1]
        if not per[j].size:
            lookup = lookups[j] or {}
            # one entry per level (not per row), then the missing-value slot
            places = [lookup.get(c, -1) for c in dtype_obj.categories]
            per[j] = np.array(
                [output_column(j, p) for p in [*places, nan_at[j]]], dtype=np.intp
            )
        return per[j]

    # numeric columns: output column of each place, then of "unknown"
    by_place = [
        None
        if present is None
        else np.array(
            [output_column(j, p) for p in range(len(enc.categories_[j]))]
            + [output_column(j, -1)],
            dtype=np.intp,
        )
        for j, present in enumerate(numbers)
    ]

    def numeric_index(j: int, values: np.ndarray) -> np.ndarray:
        present = numbers[j]
        outs = by_place[j]
        assert present is not None
        assert outs is not None
        place = np.searchsorted(present, values)
        inside = place < len(present)
        found = inside.copy()
        found[inside] = present[place[inside]] == values[inside]
        place = np.where(found, place, -1)  # -1: unknown -> the last slot
        if values.dtype.kind == "f":
            place = np.where(np.isnan(values), nan_at[j], place)
        return outs[place]

    def readable(j: int, col: Any) -> bool:
        if lookups[j] is not None:
            return isinstance(col, pd.Categorical)
        return isinstance(col, np.ndarray) and col.dtype.kind in "biuf"

    def kernel(columns: list[Any]) -> Any:
        if not all(readable(j, c) for j, c in enumerate(columns)):
            return enc.transform(_arrays(columns))
        n = len(columns[0])
        index = np.empty((n, len(columns)), dtype=np.intp)
        for j, col in enumerate(columns):
            if lookups[j] is None:
                index[:, j] = numeric_index(j, col)
            else:  # code -1 (missing) picks the last slot, the missing one
                index[:, j] = level_map(j, col.dtype)[col.codes]
        known = index >= 0
        cols = (index + offsets[:-1])[known]
        if sparse:
            indptr = np.concatenate([[0], np.cumsum(known.sum(axis=1))])
            return sp.csr_matrix(
                (np.ones(cols.size, dtype=dtype), cols, indptr),
                shape=(n, int(offsets[-1])),
                dtype=dtype,
            )
        out = np.zeros((n, int(offsets[-1])), dtype=dtype)
        rows = np.repeat(np.arange(n), len(columns)).reshape(n, -1)[known]
        out[rows, cols] = 1
        return out

    return kernel


def _scaler_kernel(scaler: Any) -> Kernel | None:
    """``StandardScaler.transform`` on float columns: subtract, then divide."""
    if not hasattr(scaler, "scale_") and not hasattr(scaler, "mean_"):
        return None
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None

    def kernel(columns: list[Any]) -> Any:
        X = _arrays(columns)
        if X.dtype != np.float64:
            return scaler.transform(X)
        if mean is not None:
            X -= mean
        if scale is not None:
            X /= scale
        return X

    return kernel


def _generic(transform: Transform) -> Kernel:
    return lambda columns: transform(_arrays(columns))


def _kernel(trans: Any) -> Kernel:
    """Return the fastest way to apply one fitted transformer to its columns."""
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    fast = None
    if type(trans) is OneHotEncoder:
        fast = _one_hot_kernel(trans)
    elif type(trans) is StandardScaler:
        fast = _scaler_kernel(trans)
    if fast is not None:
        return fast
    return _generic(trans.transform)


def _column_plan(ct: Any, *, arrays: bool = False) -> Transform | None:
    """``ColumnTransformer.transform`` without its dispatch, or None.

    With ``arrays=True`` every transformer gets its columns as one NumPy
    array (None when a column's dtype or a positional selection does not
    allow it).
    """
    import scipy.sparse as sp
    from sklearn.utils import check_array

    config = getattr(ct, "_sklearn_output_config", {}) or {}
    if config.get("transform") not in (None, "default"):
        return None  # pandas / polars output: leave it to sklearn
    names_in = getattr(ct, "feature_names_in_", None)
    parts: list[tuple[Any, bool, Transform | None]] = []
    for entry in getattr(ct, "transformers_", ()):
        if len(entry) != 3:
            return None
        _, trans, cols = entry
        if isinstance(trans, str) and trans == "drop":
            continue
        if isinstance(cols, str):
            key: Any = [cols] if arrays else cols
            by_position = False
        elif isinstance(cols, list | tuple | np.ndarray):
            key = list(cols)
            if not key:
                continue  # sklearn skips empty selections
            if all(isinstance(c, str) for c in key):
                by_position = False
            elif all(
                isinstance(c, int | np.integer) and not isinstance(c, bool) for c in key
            ):
                by_position = True
            else:
                return None
        else:
            return None  # slices, masks: leave them to sklearn
        if arrays and by_position:
            if names_in is None:
                return None
            key, by_position = [str(names_in[i]) for i in key], False
        if isinstance(trans, str):
            if trans != "passthrough":
                return None
            parts.append((key, by_position, None))
        elif callable(getattr(trans, "transform", None)):
            parts.append((key, by_position, trans.transform))
        else:
            return None
    if not parts:
        return None
    sparse_output = bool(getattr(ct, "sparse_output_", False))

    kernels: list[Kernel] = []
    if arrays:
        for _, _, fn in parts:
            owner = getattr(fn, "__self__", None)
            if fn is None:
                kernels.append(_arrays)  # passthrough
            elif owner is not None:
                kernels.append(_kernel(owner))
            else:
                kernels.append(_generic(fn))

    def transform(X: Any) -> Any:
        outs = []
        if arrays:
            column = column_getter(X)
            for (key, _, _), kernel in zip(parts, kernels, strict=True):
                outs.append(kernel([column(name) for name in key]))
        else:
            for key, by_position, fn in parts:
                sub = X.iloc[:, key] if by_position else X[key]
                outs.append(sub if fn is None else fn(sub))
        if sparse_output:
            return sp.hstack(
                [
                    check_array(o, accept_sparse=True, ensure_all_finite=False)
                    for o in outs
                ]
            ).tocsr()
        return np.hstack([o.toarray() if sp.issparse(o) else o for o in outs])

    return transform


def _step_plan(step: Any, *, arrays: bool = False) -> Transform | None:
    """Return a direct transform for one pipeline step (its own when no shortcut)."""
    from sklearn.compose import ColumnTransformer

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return lambda X: X
    if isinstance(step, ColumnTransformer):
        return _column_plan(step, arrays=arrays)
    inner = getattr(step, "column_transformer_", None)
    validator = getattr(step, "validator_", None)
    features = getattr(step, "_features", None)
    if (  # ChurnPreprocessor: validate, then its ColumnTransformer
        isinstance(inner, ColumnTransformer)
        and callable(getattr(validator, "transform", None))
        and callable(features)
    ):
        plan = _column_plan(inner, arrays=arrays)
        if plan is None:
            return None
        check = getattr(validator, "transform")  # noqa: B009 - checked above
        return lambda X: plan(check(features(X)))
    if callable(getattr(step, "transform", None)):
        return step.transform  # type: ignore[no-any-return]
    return None


def direct_proba(
    model: Any, *, arrays: bool = False
) -> Callable[[Any], np.ndarray] | None:
    """``X -> model.predict_proba(X)`` without the dispatch, or None.

    Only for a :class:`~sklearn.pipeline.Pipeline` whose transforming steps
    are (or wrap) a ``ColumnTransformer`` with plain column selections, or
    are plain transformers, and whose last step has ``predict_proba``.

    Parameters
    ----------
    model : estimator
        The fitted model.
    arrays : bool, default=False
        Hand the column transformers' parts NumPy arrays instead of
        DataFrame selections (sklearn's warning that the array has no
        feature names is silenced: the columns are the fitted ones, by name).
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return None
    steps = [_step_plan(s, arrays=arrays) for _, s in model.steps[:-1]]
    if any(s is None for s in steps):
        return None
    final = model.steps[-1][1]
    predict_proba = getattr(final, "predict_proba", None)
    if not callable(predict_proba):
        return None
    plans = [s for s in steps if s is not None]

    def proba(X: Any) -> np.ndarray:
        for plan in plans:
            X = plan(X)
        return np.asarray(predict_proba(X), dtype=np.float64)

    if not arrays:
        return proba

    def proba_arrays(X: Any) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _NAMES_WARNING, UserWarning)
            return proba(X)

    return proba_arrays


class CheckedProba:
    """``predict_proba`` through the fastest direct route that proved equal.

    The candidates, fastest first, are the route handing transformers NumPy
    arrays (``"arrays"``) and the one handing them DataFrame selections
    (``"frames"``). For the first ``checks`` calls the model's own
    ``predict_proba`` and every candidate still in the race run, and the
    model's answer is returned; a candidate whose probabilities are not
    identical (``numpy.array_equal``), or that raises where the model did
    not, is dropped for good. After ``checks`` calls the fastest survivor
    serves; with none left, the model's own method does. A batch the
    trusted route cannot take (a column dtype it does not read, say) is
    answered by the model's own method. Once trusted, every
    ``recheck_every``-th call is compared again (later batches may hold
    levels or missing values the first ones did not): a difference drops that
    route for good, and the model's answer is returned.

    Parameters
    ----------
    model : estimator
        The fitted model.
    checks : int, default=3
        Calls compared before a direct route is trusted.
    recheck_every : int, default=256
        Period of the spot checks after that (0: none).

    Attributes
    ----------
    state : {"unchecked", "direct", "own"}
        Whether a direct route is being checked, serves, or none is left.
    kind : str or None
        The direct route that serves (``"arrays"`` or ``"frames"``).
    """

    def __init__(
        self, model: Any, *, checks: int = 3, recheck_every: int = 256
    ) -> None:
        self._own: Callable[[Any], Any] = model.predict_proba
        self._candidates: list[tuple[str, Callable[[Any], np.ndarray]]] = [
            (kind, route)
            for kind, route in (
                ("arrays", direct_proba(model, arrays=True)),
                ("frames", direct_proba(model)),
            )
            if route is not None
        ]
        self._direct: Callable[[Any], np.ndarray] | None = (
            self._candidates[0][1] if self._candidates else None
        )
        self._left = int(checks)
        self._lock = threading.Lock()
        self.state = "unchecked" if self._candidates else "own"
        self.kind: str | None = None
        self.recheck_every = int(recheck_every)
        self.rechecks = 0  # spot checks made after the route was trusted
        self._since_check = 0

    def __call__(self, X: Any) -> np.ndarray:
        """Return ``predict_proba(X)`` as float64."""
        direct = self._direct
        if self._left <= 0 and direct is not None:
            self._since_check += 1
            if self.recheck_every > 0 and self._since_check >= self.recheck_every:
                self._since_check = 0
                return self._spot_check(direct, X)
            try:
                return direct(X)
            except Exception:  # a batch unlike the checked ones: ask the model
                return np.asarray(self._own(X), dtype=np.float64)
        own = np.asarray(self._own(X), dtype=np.float64)
        if not self._candidates:
            return own
        kept = []
        for kind, route in self._candidates:
            try:
                fast = route(X)
            except Exception as err:  # the model answered: the shortcut is wrong
                self._drop(kind, f"it raised {type(err).__name__}")
                continue
            if fast.shape != own.shape or not np.array_equal(fast, own):
                self._drop(kind, "its probabilities differ")
                continue
            kept.append((kind, route))
        with self._lock:
            self._candidates = kept
            self._left -= 1
            if not kept:
                self._direct = None
                self.state = "own"
                logger.info("serving through the model's own predict_proba")
            else:
                self._direct = kept[0][1]
                if self._left <= 0:
                    self.state, self.kind = "direct", kept[0][0]
        return own

    def _spot_check(self, direct: Callable[[Any], np.ndarray], X: Any) -> np.ndarray:
        own = np.asarray(self._own(X), dtype=np.float64)
        self.rechecks += 1
        try:
            fast = direct(X)
        except Exception:  # answered by the model anyway (see __call__)
            return own
        if fast.shape == own.shape and np.array_equal(fast, own):
            return own
        with self._lock:
            kind = self.kind or "direct"
            self._candidates = [c for c in self._candidates if c[1] is not direct]
            self._direct = None
            self.state, self.kind = "own", None
        logger.warning(
            "direct route %r dropped: a spot check found probabilities that "
            "differ from the model's own; serving through predict_proba",
            kind,
        )
        return own

    def _drop(self, kind: str, why: str) -> None:
        logger.info("direct route %r dropped (%s)", kind, why)


def direct_transform(pre: Any) -> Callable[[Any], Any] | None:
    """``X -> pre.transform(X)`` for a pipeline of transforms, or None.

    ``pre`` is a :class:`~sklearn.pipeline.Pipeline` of transforming steps
    (a model's ``pipe[:-1]``); the route hands its column transformers NumPy
    arrays, as ``direct_proba(model, arrays=True)`` does.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(pre, Pipeline) or not pre.steps:
        return None
    plans = [_step_plan(s, arrays=True) for _, s in pre.steps]
    if any(p is None for p in plans):
        return None
    steps = [p for p in plans if p is not None]

    def transform(X: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _NAMES_WARNING, UserWarning)
            for plan in steps:
                X = plan(X)
        return X

    return transform


def _same_output(a: Any, b: Any) -> bool:
    """Whether two transform outputs are identical (dense or sparse)."""
    import scipy.sparse as sp

    if sp.issparse(a) or sp.issparse(b):
        if not (sp.issparse(a) and sp.issparse(b)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool((a != b).nnz == 0)
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


class CheckedTransform:
    """``pre.transform`` through the direct route once it proved identical.

    For the first ``checks`` batches both the pipeline's own ``transform``
    and the direct route run, and the pipeline's output is used; a route
    whose output differs in any value, shape or dtype, or that raises where
    the pipeline did not, is dropped for good. Then the route serves, and
    every ``recheck_every``-th batch is compared again. Safe to call from
    several threads.

    Parameters
    ----------
    pre : Pipeline
        The fitted transform steps (``pipe[:-1]``).
    checks : int, default=2
        Batches compared before the route is trusted.
    recheck_every : int, default=16
        Period of the spot checks after that (0: none).
    """

    def __init__(self, pre: Any, *, checks: int = 2, recheck_every: int = 16) -> None:
        self._pre = pre
        self._direct = direct_transform(pre)
        self._left = int(checks)
        self.recheck_every = int(recheck_every)
        self._since = 0
        self._lock = threading.Lock()

    @property
    def trusted(self) -> bool:
        """Whether the direct route serves (it passed its checks)."""
        return self._direct is not None and self._left <= 0

    def transform(self, X: Any) -> Any:
        """Return ``pre.transform(X)``."""
        with self._lock:
            direct = self._direct
            check = direct is not None and self._left > 0
            if direct is not None and not check and self.recheck_every > 0:
                self._since += 1
                if self._since >= self.recheck_every:
                    self._since, check = 0, True
        if direct is None:
            return self._pre.transform(X)
        if not check:
            try:
                return direct(X)
            except Exception:  # a batch unlike the checked ones: the pipeline
                return self._pre.transform(X)
        own = self._pre.transform(X)
        try:
            same = _same_output(own, direct(X))
        except Exception:
            same = False
        with self._lock:
            if not same:
                if self._direct is not None:
                    logger.info("direct transform route dropped: it differed")
                self._direct = None
            else:
                self._left -= 1
        return own
