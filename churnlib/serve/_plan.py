"""A direct route through a fitted pipeline, for the per-call cost of serving.

For a few rows, most of ``Pipeline.predict_proba`` is dispatch, not
arithmetic: :class:`~sklearn.compose.ColumnTransformer` re-validates the
frame, selects columns through generic indexing, runs its transformers
through joblib and checks its output configuration on every call. The fitted
transformers themselves are cheap. :func:`direct_proba` builds, once per
loaded model, a function that calls the same fitted transformers on the same
column selections and stacks their outputs the same way, skipping that
dispatch.

It must never change an answer, so :class:`CheckedProba` serves the model's
own ``predict_proba`` next to the direct route for the first batches and
keeps the direct route only if every probability is bit-for-bit equal (and
falls back for good at the first difference or error). Models of any other
shape are served through their own ``predict_proba``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["CheckedProba", "direct_proba"]

logger = logging.getLogger("churnlib.serve")

Transform = Callable[[Any], Any]


def _column_plan(ct: Any) -> Transform | None:
    """``ColumnTransformer.transform`` without its dispatch, or None."""
    import scipy.sparse as sp
    from sklearn.utils import check_array

    config = getattr(ct, "_sklearn_output_config", {}) or {}
    if config.get("transform") not in (None, "default"):
        return None  # pandas / polars output: leave it to sklearn
    parts: list[tuple[Any, bool, Transform | None]] = []
    for entry in getattr(ct, "transformers_", ()):
        if len(entry) != 3:
            return None
        _, trans, cols = entry
        if isinstance(trans, str) and trans == "drop":
            continue
        if isinstance(cols, str):
            key: Any = cols
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

    def transform(X: Any) -> Any:
        outs = []
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


def _step_plan(step: Any) -> Transform | None:
    """Return a direct transform for one pipeline step (its own when no shortcut)."""
    from sklearn.compose import ColumnTransformer

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return lambda X: X
    if isinstance(step, ColumnTransformer):
        return _column_plan(step)
    inner = getattr(step, "column_transformer_", None)
    validator = getattr(step, "validator_", None)
    features = getattr(step, "_features", None)
    if (  # ChurnPreprocessor: validate, then its ColumnTransformer
        isinstance(inner, ColumnTransformer)
        and callable(getattr(validator, "transform", None))
        and callable(features)
    ):
        plan = _column_plan(inner)
        if plan is None:
            return None
        check = getattr(validator, "transform")  # noqa: B009 - checked above
        return lambda X: plan(check(features(X)))
    if callable(getattr(step, "transform", None)):
        return step.transform  # type: ignore[no-any-return]
    return None


def direct_proba(model: Any) -> Callable[[Any], np.ndarray] | None:
    """``X -> model.predict_proba(X)`` without the dispatch, or None.

    Only for a :class:`~sklearn.pipeline.Pipeline` whose transforming steps
    are (or wrap) a ``ColumnTransformer`` with plain column selections, or
    are plain transformers, and whose last step has ``predict_proba``.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return None
    steps = [_step_plan(s) for _, s in model.steps[:-1]]
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

    return proba


class CheckedProba:
    """``predict_proba`` through the direct route once it proved equal.

    For the first ``checks`` calls both the model's own ``predict_proba``
    and the direct route run, and the model's answer is returned; the
    direct route is kept only if its probabilities were identical every time
    (``numpy.array_equal``). A difference, or an error the model itself does
    not raise, switches to the model's own method for good.

    Parameters
    ----------
    model : estimator
        The fitted model.
    checks : int, default=3
        Calls compared before the direct route is trusted.
    """

    def __init__(self, model: Any, *, checks: int = 3) -> None:
        self._own: Callable[[Any], Any] = model.predict_proba
        self._direct = direct_proba(model)
        self._left = int(checks)
        self._lock = threading.Lock()
        self.state = "unchecked" if self._direct is not None else "own"

    def __call__(self, X: Any) -> np.ndarray:
        """Return ``predict_proba(X)`` as float64."""
        direct = self._direct
        if direct is None:
            return np.asarray(self._own(X), dtype=np.float64)
        if self._left <= 0:
            return direct(X)
        own = np.asarray(self._own(X), dtype=np.float64)
        try:
            fast = direct(X)
        except Exception as err:  # the model answered: the shortcut is wrong
            self._give_up(f"it raised {type(err).__name__}")
            return own
        if fast.shape != own.shape or not np.array_equal(fast, own):
            self._give_up("its probabilities differ")
            return own
        with self._lock:
            self._left -= 1
            if self._left <= 0 and self._direct is not None:
                self.state = "direct"
        return own

    def _give_up(self, why: str) -> None:
        with self._lock:
            self._direct = None
            self.state = "own"
        logger.info("serving through the model's own predict_proba (%s)", why)
