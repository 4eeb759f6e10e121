"""The adaptive default model: pick among a few diverse candidates by CV.

The candidates are cheap and differ in kind, so one of them suits each table
(tried in this order, so a tight time budget keeps the strongest first):

- ``gradient_boosting``: regularised histogram gradient boosting with early
  stopping (learning rate 0.05, 15 leaves, L2 1.0) in each fold; the final
  model is refitted on every row, without a holdout, for the folds' mean
  number of iterations;
- ``logistic``: an L2 logistic regression on cubic B-splines of the numeric
  columns (quantile-spaced knots) and the one-hot columns; wins on noisy
  tables where trees overfit;
- ``random_forest``: 300 trees whose leaf size and feature fraction are chosen
  by out-of-bag ROC AUC of 100-tree forests (the chosen one is then grown to
  300 trees); its out-of-bag probabilities stand in for cross-validation, so
  the forest is fitted once per setting;
- blends: the average of two or three of the above, scored on the same
  out-of-fold predictions at no extra fit.

Every candidate is scored by ROC AUC of out-of-fold predictions on the
training rows only (stratified folds, seeded). The winner's out-of-fold scores
then fit its calibration map, and they are the validation metrics when no
validation data is given: nothing is fitted twice.
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, SplineTransformer
from threadpoolctl import threadpool_limits

from churnlib.training._estimators import CalibratedChurnClassifier, calibrate_scores

__all__ = ["CandidateResult", "ModelSelection", "select_default_model"]

logger = logging.getLogger(__name__)

#: Forest settings tried by out-of-bag ROC AUC: (min_samples_leaf, max_features).
FOREST_GRID: tuple[tuple[int, float | str], ...] = (
    (1, 0.5),
    (3, "sqrt"),
    (10, "sqrt"),
    (10, 0.5),
)
_FOREST_TREES = 300
_FOREST_TUNE_TREES = 100


@dataclass(frozen=True)
class CandidateResult:
    """How one candidate of the default model scored.

    Parameters
    ----------
    name : str
        ``logistic``, ``gradient_boosting``, ``random_forest`` or a blend
        ``a+b``.
    params : dict
        Its settings (for a forest: the ones out-of-bag scoring chose).
    roc_auc : float
        ROC AUC of its out-of-fold (out-of-bag for the forest) predictions.
    roc_auc_std : float
        Standard deviation of the per-fold ROC AUC.
    seconds : float
        Time spent scoring it (fold fits; 0 for blends).
    status : str
        ``"selected"``, ``"scored"``, or ``"skipped: ..."`` (time budget).
    """

    name: str
    params: dict[str, Any]
    roc_auc: float
    roc_auc_std: float
    seconds: float
    status: str


@dataclass(frozen=True)
class ModelSelection:
    """The record of how the default model was chosen.

    Parameters
    ----------
    candidates : tuple of CandidateResult
        Every candidate, in the order tried.
    selected : str
        Name of the winner.
    calibration : str
        Calibration map of the final model (``isotonic`` or ``sigmoid``).
    cv_folds : int
        Folds of the selection's cross-validation.
    time_budget : float
        Seconds allowed for the selection.
    seconds : float
        Seconds the selection took, final fits included.

    Examples
    --------
    >>> from churnlib.training import ModelSelection
    >>> from churnlib.training._selection import CandidateResult
    >>> sel = ModelSelection(
    ...     candidates=(CandidateResult("logistic", {}, 0.84, 0.01, 0.5, "selected"),),
    ...     selected="logistic",
    ...     calibration="sigmoid",
    ...     cv_folds=5,
    ...     time_budget=60.0,
    ...     seconds=0.6,
    ... )
    >>> sel.to_frame()[["roc_auc", "status"]]
              roc_auc    status
    candidate
    logistic     0.84  selected
    """

    candidates: tuple[CandidateResult, ...]
    selected: str
    calibration: str
    cv_folds: int
    time_budget: float
    seconds: float
    members: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: ROC AUC (mean, std over folds), seconds, status."""
        frame = pd.DataFrame(
            {
                "candidate": [c.name for c in self.candidates],
                "roc_auc": [c.roc_auc for c in self.candidates],
                "roc_auc_std": [c.roc_auc_std for c in self.candidates],
                "seconds": [c.seconds for c in self.candidates],
                "status": [c.status for c in self.candidates],
            }
        )
        return frame.set_index("candidate")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible summary (logged as ``selection.json``)."""
        return {
            "selected": self.selected,
            "members": list(self.members),
            "calibration": self.calibration,
            "cv_folds": self.cv_folds,
            "time_budget": self.time_budget,
            "seconds": round(self.seconds, 3),
            "candidates": [
                {
                    "name": c.name,
                    "params": {k: _plain(v) for k, v in c.params.items()},
                    "roc_auc": c.roc_auc,
                    "roc_auc_std": c.roc_auc_std,
                    "seconds": round(c.seconds, 3),
                    "status": c.status,
                }
                for c in self.candidates
            ],
        }


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else str(value)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if np.unique(y).size == 2 else float("nan")


def _logistic(numeric_idx: list[int], n_rows: int) -> Any:
    lr = LogisticRegression(C=1.0, max_iter=3000)
    if not numeric_idx:
        return lr
    splines = Pipeline(
        [
            (
                "quantile",
                QuantileTransformer(n_quantiles=max(10, min(200, n_rows // 2))),
            ),
            ("spline", SplineTransformer(n_knots=5, degree=3)),
        ]
    )
    expand = ColumnTransformer(
        [("splines", splines, numeric_idx)],
        remainder="passthrough",
        sparse_threshold=0.0,
    )
    return Pipeline([("expand", expand), ("logistic", lr)])


def _boosting(random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=1000,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=30,
        random_state=random_state,
    )


def _forest(
    n_trees: int, leaf: int, features: float | str, random_state: int
) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=n_trees,
        min_samples_leaf=leaf,
        max_features=features,
        oob_score=True,
        n_jobs=-1,
        random_state=random_state,
    )


def _oob_scores(forest: RandomForestClassifier, prior: float) -> np.ndarray:
    oob = np.asarray(forest.oob_decision_function_[:, 1], dtype=float)
    return np.where(np.isnan(oob), prior, oob)


class _OutOfTime(Exception):
    pass


@dataclass
class _Scored:
    name: str
    params: dict[str, Any]
    oof: np.ndarray
    fold_auc: list[float]
    seconds: float
    template: Any = None  # unfitted estimator to refit on all rows
    fitted: Any = None  # already fitted on all rows (the forest)


def select_default_model(
    Xt: np.ndarray,
    y: np.ndarray,
    *,
    numeric_idx: list[int],
    n_splits: int = 5,
    time_budget: float = 60.0,
    random_state: int = 0,
    threshold: float = 0.5,
    classes: np.ndarray | None = None,
) -> tuple[CalibratedChurnClassifier, ModelSelection, np.ndarray, np.ndarray]:
    """Score the candidates on ``Xt`` (preprocessed), fit and calibrate the winner.

    Parameters
    ----------
    Xt : ndarray of shape (n_samples, n_features)
        The preprocessed training matrix.
    y : ndarray of shape (n_samples,)
        1 for churners, 0 otherwise.
    numeric_idx : list of int
        Columns of ``Xt`` that are continuous (splined for the logistic model).
    n_splits : int, default=5
    time_budget : float, default=60.0
        Seconds for the whole selection; a candidate that would not fit in
        what is left is skipped (recorded as such).
    random_state : int, default=0
    threshold : float, default=0.5
    classes : ndarray or None
        The original labels (``classes_`` of the model).

    Returns
    -------
    model : CalibratedChurnClassifier
        Fitted on all rows.
    selection : ModelSelection
    calibrated : ndarray of shape (n_samples,)
        The winner's out-of-fold churn probabilities, calibrated by
        cross-fitting (no row calibrated by a map that saw its label).
    folds : ndarray of shape (n_samples,)
        Fold number of each row.
    """
    start = time.perf_counter()
    y = np.asarray(y).astype(int)
    n_minority = int(min(y.sum(), y.size - y.sum()))
    folds_n = max(2, min(n_splits, n_minority))
    splitter = StratifiedKFold(
        n_splits=folds_n, shuffle=True, random_state=random_state
    )
    split = list(splitter.split(Xt, y))
    fold_of = np.empty(len(y), dtype=int)
    for k, (_, test) in enumerate(split):
        fold_of[test] = k
    prior = float(y.mean())

    def left() -> float:
        return time_budget - (time.perf_counter() - start)

    def cross_validate(name: str, template: Any, params: dict[str, Any]) -> _Scored:
        t0 = time.perf_counter()
        oof = np.empty(len(y), dtype=float)
        aucs = []
        iterations: list[int] = []
        for k, (train, test) in enumerate(split):  # a loop over folds
            model = clone(template).fit(Xt[train], y[train])
            oof[test] = model.predict_proba(Xt[test])[:, 1]
            aucs.append(_auc(y[test], oof[test]))
            if isinstance(model, HistGradientBoostingClassifier):
                iterations.append(int(model.n_iter_))
            per_fold = (time.perf_counter() - t0) / (k + 1)
            # the remaining folds plus the final fit must fit in the budget
            # (the first candidate always finishes: there must be a model)
            late = per_fold * (len(split) - k - 1 + 1.25) > left()
            if scored and late and k + 1 < len(split):
                raise _OutOfTime(f"{per_fold:.1f}s a fold")
        if getattr(template, "early_stopping", False) is True and len(
            iterations
        ) == len(split):
            # Refit on every row for as many iterations as the folds stopped at
            # on average: the final model then neither loses the early-stopping
            # holdout nor depends on that one small holdout's noisy stopping
            # point (five folds' estimates instead of one).
            n_iter = max(1, round(float(np.mean(iterations))))
            template = clone(template).set_params(early_stopping=False, max_iter=n_iter)
            params = {**params, "max_iter": n_iter, "iterations": "mean of the folds"}
        return _Scored(name, params, oof, aucs, time.perf_counter() - t0, template)

    def forest() -> _Scored:
        t0 = time.perf_counter()
        tried: dict[tuple[int, float | str], float] = {}
        best: RandomForestClassifier | None = None
        for leaf, feats in FOREST_GRID:  # four settings, 100 trees each
            f = _forest(_FOREST_TUNE_TREES, leaf, feats, random_state).fit(Xt, y)
            auc = _auc(y, _oob_scores(f, prior))
            if best is None or auc > max(tried.values()):  # a tie keeps the first
                best = f
            tried[(leaf, feats)] = auc
            per = (time.perf_counter() - t0) / len(tried)
            more = _FOREST_TREES / _FOREST_TUNE_TREES - 1
            if scored and per * more > left():
                raise _OutOfTime(f"{per:.1f}s per 100 trees")
        leaf, feats = max(tried, key=lambda k: (tried[k], -FOREST_GRID.index(k)))
        assert best is not None
        # Grow the chosen setting's 100 trees to 300 (warm start) instead of
        # starting over: sklearn draws the new trees' seeds after the old
        # ones, so this is the very forest a fresh 300-tree fit gives.
        full = best.set_params(n_estimators=_FOREST_TREES, warm_start=True).fit(Xt, y)
        full.set_params(warm_start=False)
        oof = _oob_scores(full, prior)
        aucs = [_auc(y[test], oof[test]) for _, test in split]
        params = {
            "n_estimators": _FOREST_TREES,
            "min_samples_leaf": leaf,
            "max_features": feats,
            "tuned_by": "out-of-bag ROC AUC",
        }
        return _Scored(
            "random_forest", params, oof, aucs, time.perf_counter() - t0, fitted=full
        )

    plans: list[tuple[str, Callable[[], _Scored], dict[str, Any]]] = [
        (
            "gradient_boosting",
            lambda: cross_validate(
                "gradient_boosting",
                _boosting(random_state),
                {
                    "learning_rate": 0.05,
                    "max_leaf_nodes": 15,
                    "min_samples_leaf": 40,
                    "l2_regularization": 1.0,
                    "early_stopping": True,
                },
            ),
            {},
        ),
        (
            "logistic",
            lambda: cross_validate(
                "logistic",
                _logistic(numeric_idx, len(y)),
                {"C": 1.0, "splines": "5 knots, cubic" if numeric_idx else "none"},
            ),
            {},
        ),
        ("random_forest", forest, {}),
    ]
    scored: list[_Scored] = []
    skipped: list[CandidateResult] = []
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # One OpenMP/BLAS thread per fit: on a busy machine OpenMP's spinning
        # barriers turn a 2 s boosting fit into 50 s (measured on 2 shared
        # cores); the forest still uses every core through joblib.
        # lbfgs on tiny tables and forests whose rows all drew in-bag: the
        # scores stay valid, the notices are noise here
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*OOB scores.*")
        warnings.filterwarnings("ignore", message=".*out-of-bag.*")
        for name, run, _ in plans:
            if scored and left() <= 0:
                skipped.append(
                    CandidateResult(
                        name, {}, np.nan, np.nan, 0.0, "skipped: time budget"
                    )
                )
                continue
            try:
                scored.append(run())
            except _OutOfTime as err:
                if not scored:
                    raise
                logger.info("Default model: %s skipped (%s).", name, err)
                skipped.append(
                    CandidateResult(
                        name, {}, np.nan, np.nan, 0.0, f"skipped: time budget ({err})"
                    )
                )
        # blends of what was scored: free, on the same out-of-fold scores
        entries: list[tuple[str, tuple[int, ...], np.ndarray]] = [
            (s.name, (i,), s.oof) for i, s in enumerate(scored)
        ]
        for size in range(2, len(scored) + 1):
            for combo in itertools.combinations(range(len(scored)), size):
                oof = np.mean([scored[i].oof for i in combo], axis=0)
                entries.append(("+".join(scored[i].name for i in combo), combo, oof))
        table = []
        for name, combo, oof in entries:
            aucs = [_auc(y[test], oof[test]) for _, test in split]
            table.append((name, combo, oof, _auc(y, oof), float(np.nanstd(aucs))))
        # best ROC AUC; a tie goes to the simpler (fewer members, tried first)
        best = max(range(len(table)), key=lambda i: (table[i][3], -i))
        win_name, win_combo, win_oof, _, _ = table[best]
        members = []
        for i in win_combo:
            s = scored[i]
            if s.fitted is None:
                s.fitted = clone(s.template).fit(Xt, y)
            members.append(s.fitted)
    model = CalibratedChurnClassifier(
        [(scored[i].name, clone(members[j])) for j, i in enumerate(win_combo)],
        cv=folds_n,
        threshold=threshold,
        random_state=random_state,
    )
    method, calibrator, calibrated = calibrate_scores(
        win_oof, y, random_state=random_state
    )
    model._set_fitted(
        members,
        calibrator,
        method,
        classes=np.array([0, 1]) if classes is None else classes,
        threshold=threshold,
    )
    results = []
    for i, (name, combo, _, auc, std) in enumerate(table):
        seconds = sum(scored[j].seconds for j in combo) if len(combo) == 1 else 0.0
        params = scored[combo[0]].params if len(combo) == 1 else {"blend": "mean"}
        results.append(
            CandidateResult(
                name, params, auc, std, seconds, "selected" if i == best else "scored"
            )
        )
    selection = ModelSelection(
        candidates=tuple(results[: len(scored)] + skipped + results[len(scored) :]),
        selected=win_name,
        calibration=model.method_,
        cv_folds=folds_n,
        time_budget=float(time_budget),
        seconds=time.perf_counter() - start,
        members=tuple(scored[i].name for i in win_combo),
    )
    return model, selection, calibrated, fold_of
