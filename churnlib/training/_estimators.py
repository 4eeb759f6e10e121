"""``CalibratedChurnClassifier``: the estimator the default trainer builds.

It lives in a module of its own, so the name a stored model references stays
stable (skops records ``churnlib.training._estimators.CalibratedChurnClassifier``
as a trusted churnlib estimator).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils.validation import check_is_fitted

from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.exceptions import DataValidationError

__all__ = ["CalibratedChurnClassifier", "calibrate_scores"]

#: Weight of the raw score mixed into the calibrated probability: keeps the
#: map strictly increasing (isotonic steps would tie customers and cost ROC
#: AUC), while moving no probability by more than this.
_TIE_BREAK = 1e-4
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1.0 - _EPS)
    out: np.ndarray = np.log(q / (1.0 - q))
    return out


def _fit_calibrator(method: str, scores: np.ndarray, y: np.ndarray) -> Any:
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            scores, y
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(C=1e4, max_iter=1000).fit(
            _logit(scores).reshape(-1, 1), y
        )


def _apply_calibrator(method: str, calibrator: Any, scores: np.ndarray) -> np.ndarray:
    if method == "isotonic":
        c = np.asarray(calibrator.predict(scores), dtype=float)
    else:
        c = np.asarray(
            calibrator.predict_proba(_logit(scores).reshape(-1, 1))[:, 1], dtype=float
        )
    out: np.ndarray = np.clip((1.0 - _TIE_BREAK) * c + _TIE_BREAK * scores, 0.0, 1.0)
    return out


def calibrate_scores(
    scores: np.ndarray,
    y: np.ndarray,
    *,
    method: str = "auto",
    n_splits: int = 5,
    random_state: int | None = 0,
) -> tuple[str, Any, np.ndarray]:
    """Choose and fit a calibration map on out-of-fold churn scores.

    Each method is cross-fitted on the scores (``n_splits`` folds), so the
    returned calibrated scores are honest: no score is calibrated by a map
    that saw its own label. ``"auto"`` keeps the method with the lower
    cross-fitted Brier score. The returned calibrator is then fitted on all
    scores.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Out-of-fold churn scores in [0, 1].
    y : ndarray of shape (n_samples,)
        1 for churners, 0 otherwise.
    method : {"auto", "isotonic", "sigmoid"}, default="auto"
    n_splits : int, default=5
    random_state : int or None, default=0

    Returns
    -------
    method : str
        The method kept.
    calibrator : estimator
        Fitted on all scores.
    cross_fitted : ndarray of shape (n_samples,)
        Out-of-fold calibrated probabilities (for honest Brier / ECE).

    Examples
    --------
    >>> import numpy as np
    >>> from churnlib.training._estimators import calibrate_scores
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(2000)
    >>> y = (rng.random(2000) < truth).astype(int)
    >>> method, _, calibrated = calibrate_scores(truth**3, y)
    >>> (
    ...     method in ("isotonic", "sigmoid"),
    ...     bool(abs(calibrated.mean() - y.mean()) < 0.02),
    ... )
    (True, True)
    """
    scores = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    y = np.asarray(y).astype(int)
    methods = ["isotonic", "sigmoid"] if method == "auto" else [method]
    n_minority = int(min(y.sum(), y.size - y.sum()))
    folds = max(2, min(n_splits, n_minority))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    best: tuple[float, str, np.ndarray] | None = None
    for name in methods:  # a loop over (two) methods and (five) folds
        crossed = np.empty_like(scores)
        for train, test in splitter.split(scores.reshape(-1, 1), y):
            cal = _fit_calibrator(name, scores[train], y[train])
            crossed[test] = _apply_calibrator(name, cal, scores[test])
        brier = float(np.mean((crossed - y) ** 2))
        if best is None or brier < best[0] - 1e-12:
            best = (brier, name, crossed)
    assert best is not None
    _, chosen, crossed = best
    return chosen, _fit_calibrator(chosen, scores, y), crossed


class CalibratedChurnClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Average classifiers' churn probabilities, calibrated out of fold.

    ``fit`` computes each member's out-of-fold churn probabilities
    (stratified ``cv`` folds), averages them, fits a calibration map on the
    average (isotonic or sigmoid, chosen by cross-fitted Brier score with
    ``method="auto"``), and refits every member on all rows. ``predict_proba``
    averages the members and applies the map, so its probabilities are
    calibrated for new customers, and the map is strictly increasing: the
    ranking (ROC AUC) of the averaged members is kept exactly.

    :class:`~churnlib.training.ChurnTrainer` builds this estimator as its
    default model from the candidates its cross-validation selected (reusing
    the selection's out-of-fold predictions instead of fitting again).

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members: scikit-learn classifiers with ``predict_proba``.
    method : {"auto", "isotonic", "sigmoid"}, default="auto"
        Calibration map.
    cv : int, default=5
        Folds for the out-of-fold probabilities.
    threshold : float, default=0.5
        ``predict`` flags a customer when the calibrated churn probability is
        at least this.
    random_state : int or None, default=None
        Seeds the folds.

    Attributes
    ----------
    estimators_ : list of estimators
        The members, fitted on all rows.
    calibrator_ : estimator
        The fitted calibration map.
    method_ : str
        The calibration method used.
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is churn.
    threshold_ : float
        The decision threshold ``predict`` applies.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from churnlib.training import CalibratedChurnClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = rng.random(400) < 1 / (1 + np.exp(-2 * X[:, 0]))
    >>> clf = CalibratedChurnClassifier(
    ...     [
    ...         ("lr", LogisticRegression()),
    ...         ("tree", DecisionTreeClassifier(max_depth=3)),
    ...     ],
    ...     random_state=0,
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.classes_.tolist()
    ((2, 2), [False, True])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimators": [list],
        "method": [StrOptions({"auto", "isotonic", "sigmoid"})],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "threshold": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimators: list[tuple[str, Any]],
        *,
        method: str = "auto",
        cv: int = 5,
        threshold: float = 0.5,
        random_state: int | None = None,
    ) -> None:
        self.estimators = estimators
        self.method = method
        self.cv = cv
        self.threshold = threshold
        self.random_state = random_state

    def _labels(self, y: Any) -> np.ndarray:
        y = np.asarray(y)
        classes = np.unique(y)
        if classes.size != 2:
            raise DataValidationError(
                "CalibratedChurnClassifier needs two classes (churned and stayed); "
                f"got {classes.tolist()[:5]}."
            )
        self.classes_ = classes
        out: np.ndarray = (y == classes[1]).astype(int)
        return out

    def fit(self, X: Any, y: Any) -> CalibratedChurnClassifier:
        """Fit the members out of fold, then the calibration map, then on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two classes; the larger one (``True``, ``1``) is churn.

        Returns
        -------
        self : CalibratedChurnClassifier
        """
        validate_params(
            self._parameter_constraints,
            self.get_params(deep=False),
            type(self).__name__,
        )
        y01 = self._labels(y)
        splitter = StratifiedKFold(
            n_splits=self.cv, shuffle=True, random_state=self.random_state
        )
        oof = np.zeros(len(y01), dtype=float)
        members = []
        for _, est in self.estimators:  # a loop over members, not rows
            oof += cross_val_predict(
                clone(est), X, y01, cv=splitter, method="predict_proba"
            )[:, 1]
            members.append(clone(est).fit(X, y01))
        oof /= len(self.estimators)
        seed = self.random_state if isinstance(self.random_state, int) else 0
        method, calibrator, _ = calibrate_scores(
            oof, y01, method=self.method, random_state=seed
        )
        return self._set_fitted(members, calibrator, method)

    def _set_fitted(
        self,
        members: list[Any],
        calibrator: Any,
        method: str,
        *,
        classes: np.ndarray | None = None,
        threshold: float | None = None,
    ) -> CalibratedChurnClassifier:
        """Finish from members fitted on all rows and a fitted calibration map."""
        if classes is not None:
            self.classes_ = np.asarray(classes)
        self.estimators_ = members
        self.calibrator_ = calibrator
        self.method_ = method
        self.threshold_ = float(self.threshold if threshold is None else threshold)
        if members and hasattr(members[0], "n_features_in_"):
            self.n_features_in_ = members[0].n_features_in_
        return self

    def _raw_score(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrator_")
        total = np.zeros(0)
        for member in self.estimators_:
            p = np.asarray(member.predict_proba(X)[:, 1], dtype=float)
            total = p if total.size == 0 else total + p
        out: np.ndarray = total / len(self.estimators_)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        churn = _apply_calibrator(self.method_, self.calibrator_, self._raw_score(X))
        return np.column_stack([1.0 - churn, churn])

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class: churn when the probability reaches ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        churn = self.predict_proba(X)[:, 1] >= self.threshold_
        out: np.ndarray = self.classes_[churn.astype(int)]
        return out
