"""``ChurnTrainer``: fit a churn pipeline and record it as an MLflow run."""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import confusion_matrix, get_scorer, make_scorer
from sklearn.model_selection import (
    FixedThresholdClassifier,
    ParameterGrid,
    ParameterSampler,
    StratifiedKFold,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import Pipeline

from churnlib._core.alignment import aligned_labels
from churnlib._core.contract import attach_contract, with_text_names
from churnlib._core.model_facts import final_estimator, through_pipeline
from churnlib._urls import redact_url
from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.training._checks import (
    _as_frame,
    _as_labels,
    check_shape,
    check_training_data,
    check_validation_data,
)
from churnlib.training._contract import (
    ContractDecision,
    contract_params,
    contract_tags,
    decide_contract,
    decode_valid_labels,
)
from churnlib.training._estimators import CalibratedChurnClassifier
from churnlib.training._metrics import churn_metrics, uplift_metrics
from churnlib.training._result import TrainingResult
from churnlib.training._selection import ModelSelection, select_default_model
from churnlib.training._tracking import (
    RunLogger,
    data_fingerprint,
    flatten_params,
    git_commit,
    resolve_tracking_uri,
)

__all__ = ["ChurnTrainer", "default_estimator"]

logger = logging.getLogger(__name__)

#: Metrics of the evaluation report are logged as ``report_<name>``, beside the
#: trainer's own (same data, same threshold) without overwriting them.
REPORT_METRIC_PREFIX = "report_"
_COST_KEYS = frozenset({"tp", "fp", "fn", "tn"})
#: tune() scoring: metric name -> True when larger is better.
_TUNE_SCORING = {
    "roc_auc": True,
    "average_precision": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "top_decile_lift": True,
    "brier": False,
    "log_loss": False,
}


def default_estimator(random_state: Any = None) -> RandomForestClassifier:
    """Build the default churn classifier: a forest tuned for probability quality.

    400 trees, at least 20 customers per leaf (smooth, well-ranked
    probabilities instead of memorised 0/1 leaves), half of the features tried
    at each split, no class re-weighting (which would distort the
    probabilities), all CPU cores. See the training guide for the measurements
    behind these choices.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seed of the forest.

    Returns
    -------
    sklearn.ensemble.RandomForestClassifier

    Examples
    --------
    >>> from churnlib.training import default_estimator
    >>> rf = default_estimator(random_state=0)
    >>> rf.n_estimators, rf.min_samples_leaf, rf.max_features
    (400, 20, 0.5)
    """
    return RandomForestClassifier(
        n_estimators=400,
        min_samples_leaf=20,
        max_features=0.5,
        class_weight=None,
        n_jobs=-1,
        random_state=random_state,
    )


def _campaign_gain(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    tp: float = 0.0,
    fp: float = 0.0,
    fn: float = 0.0,
    tn: float = 0.0,
) -> float:
    """Total gain of acting on the predicted churners (a cost is a negative gain)."""
    (tn_n, fp_n), (fn_n, tp_n) = confusion_matrix(
        np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int), labels=[0, 1]
    )
    return float(tp * tp_n + fp * fp_n + fn * fn_n + tn * tn_n)


class _CostObjective:
    """Constraint: a mapping of gains per outcome ``{"tp", "fp", "fn", "tn"}``."""

    def is_satisfied_by(self, value: Any) -> bool:
        return (
            isinstance(value, Mapping)
            and bool(value)
            and set(value) <= _COST_KEYS
            and all(
                isinstance(v, numbers.Real)
                and not isinstance(v, bool)
                and math.isfinite(float(v))
                for v in value.values()
            )
        )

    def __str__(self) -> str:
        return "a dict of finite gains with keys among ['fn', 'fp', 'tn', 'tp']"


class _ScorerName:
    """Constraint: the name of a scikit-learn scorer (``"f1"``, ...)."""

    def is_satisfied_by(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            get_scorer(value)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        return "a scikit-learn scorer name such as 'f1' or 'balanced_accuracy'"


class ChurnTrainer:
    """Fit a churn model as a scikit-learn pipeline and track it in MLflow.

    Each :meth:`fit` first decides the model's contract (which columns are
    features; identifiers, dates, constant columns and suspected leaks are
    left out and named), clones the preprocessor and the estimator, fits
    ``Pipeline([("preprocess", ...), ("classifier", ...)])``, measures it on the
    validation data (or, without any, on stratified cross-validation
    out-of-fold predictions), and records everything as one MLflow run:
    parameters, churn-class metrics, tags (churnlib version, git commit, data
    fingerprint), the training data as a dataset input, and the model (skops
    format, with signature, input example and pinned requirements),
    optionally registered under a name and an alias.

    The trainer is deliberately *not* a scikit-learn estimator: cloning it or
    putting it in a grid search would spawn runs. Use :meth:`tune` to search
    hyperparameters with one parent run and one child run per candidate.

    Parameters
    ----------
    estimator : classifier or None, default=None
        Any scikit-learn classifier with ``predict_proba``, used as is. None
        chooses the model by cross-validation on the training rows among a
        spline logistic regression, regularised gradient boosting with early
        stopping, a random forest tuned by out-of-bag score, and their blends,
        within ``time_budget``; the winner is calibrated
        (:class:`CalibratedChurnClassifier`), each candidate is a nested MLflow
        run and ``TrainingResult.selection`` records the choice.
    preprocessor : transformer or None, default=None
        Any scikit-learn transformer. None uses
        :class:`churnlib.features.ChurnPreprocessor` (drops identifiers,
        imputes, one-hot encodes and scales, schema inferred at fit).
    experiment_name : str, default="churnlib"
        MLflow experiment, created when missing.
    tracking_uri : str, path or None, default=None
        MLflow tracking URI. None reads ``MLFLOW_TRACKING_URI``, else uses
        ``sqlite:///<working folder>/mlflow.db`` with artifacts in
        ``<working folder>/mlartifacts``. A plain path means a SQLite file.
    registered_model_name : str or None, default=None
        When given, the logged model is registered under this name (a new
        version per fit).
    alias : str or None, default=None
        Registry alias (e.g. ``"candidate"``) pointed at the new version.
        Requires ``registered_model_name``.
    threshold : None, float, str, callable or dict, default=None
        The decision threshold on the churn probability ``predict`` uses:

        - None: 0.5, the estimator's own ``predict``;
        - a float in (0, 1): fixed, via
          :class:`~sklearn.model_selection.FixedThresholdClassifier`;
        - a scorer name such as ``"f1"`` or a scorer callable: tuned by
          cross-validation to maximise it, via
          :class:`~sklearn.model_selection.TunedThresholdClassifierCV`;
        - a dict of gains per outcome, e.g. ``{"tp": 80, "fp": -20}`` (a
          retention offer costs 20 and saves 100 when the customer would have
          churned): tuned to maximise the total campaign gain.
    cv : int, cross-validation splitter or None, default=5
        Folds for out-of-fold validation metrics when no ``X_valid`` is given
        (stratified and shuffled for an int), and for threshold tuning. None
        skips validation without ``X_valid`` (metrics then only hold
        ``threshold``).
    log_model : bool, default=True
        Log the fitted pipeline as an MLflow model (needed to register it).
    log_report : bool, default=True
        When validation data is given and :mod:`churnlib.evaluation` with
        matplotlib is available, log its figures and HTML report to the run.
    run_name : str or None, default=None
        MLflow run name (None lets MLflow pick one).
    random_state : int or None, default=None
        Seeds the default estimator, the folds and the threshold tuning.
    time_budget : float, default=60.0
        Seconds the default model's selection may take (fits included). A
        candidate that would not finish in what is left is skipped and
        recorded as skipped (the selection is then no longer independent of
        the machine's speed). Ignored when ``estimator`` is given.

    See Also
    --------
    churnlib.training.TrainingResult : What ``fit`` returns.
    churnlib.evaluation.evaluate : The full evaluation report.

    Notes
    -----
    MLflow is imported only when a run is written. HTTP calls get bounded
    retries and timeouts: an unreachable server raises
    :class:`~churnlib.exceptions.TrackingError` within seconds. A fit that
    raises leaves its run marked ``FAILED``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from churnlib.training import ChurnTrainer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(
    ...     {"tenure": rng.integers(0, 72, 200), "calls": rng.poisson(2, 200)}
    ... )
    >>> y = (rng.random(200) < 1 / (1 + np.exp(0.1 * X["tenure"] - 2))).astype(int)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> trainer = ChurnTrainer(
    ...     LogisticRegression(),
    ...     preprocessor=StandardScaler(),
    ...     tracking_uri=folder / "mlflow.db",
    ...     log_model=False,
    ...     cv=3,
    ...     random_state=0,
    ... )
    >>> result = trainer.fit(X, y)
    >>> result.metrics["threshold"]
    0.5
    >>> result.metrics["roc_auc"] > 0.7
    True
    >>> result.model.predict_proba(X.head(2)).shape
    (2, 2)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "experiment_name": [str],
        "tracking_uri": [None, str, os.PathLike],
        "registered_model_name": [None, str],
        "alias": [None, str],
        "threshold": [
            None,
            Interval(numbers.Real, 0, 1, closed="neither"),
            _ScorerName(),
            callable,
            _CostObjective(),
        ],
        # "cv" (an int >= 2, a splitter or None) is checked in _validate.
        "log_model": ["boolean"],
        "log_report": ["boolean"],
        "run_name": [None, str],
        "random_state": ["random_state"],
        "time_budget": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        preprocessor: Any = None,
        experiment_name: str = "churnlib",
        tracking_uri: str | os.PathLike[str] | None = None,
        registered_model_name: str | None = None,
        alias: str | None = None,
        threshold: float
        | str
        | Callable[..., float]
        | Mapping[str, float]
        | None = None,
        cv: int | Any | None = 5,
        log_model: bool = True,
        log_report: bool = True,
        run_name: str | None = None,
        random_state: int | None = None,
        time_budget: float = 60.0,
    ) -> None:
        self.estimator = estimator
        self.preprocessor = preprocessor
        self.experiment_name = experiment_name
        self.tracking_uri = tracking_uri
        self.registered_model_name = registered_model_name
        self.alias = alias
        self.threshold = threshold
        self.cv = cv
        self.log_model = log_model
        self.log_report = log_report
        self.run_name = run_name
        self.random_state = random_state
        self.time_budget = time_budget

    # --- parameters ---------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments, as given.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in _INIT_PARAMS}

    def __repr__(self) -> str:
        shown = []
        for name, value in self.get_params().items():
            if value is not _INIT_DEFAULTS[name]:
                if name == "tracking_uri" and value is not None:
                    value = redact_url(str(value))
                shown.append(
                    f"{name}={value!r}" if name != "estimator" else repr(value)
                )
        return f"ChurnTrainer({', '.join(shown)})"

    def _validate(self) -> None:
        params = self.get_params()
        cv = params.pop("cv")
        validate_params(self._parameter_constraints, params, "ChurnTrainer")
        ok_cv = cv is None or (
            isinstance(cv, numbers.Integral)
            and not isinstance(cv, bool)
            and int(cv) >= 2
        )
        ok_cv = ok_cv or (hasattr(cv, "split") and hasattr(cv, "get_n_splits"))
        if not ok_cv:
            raise InvalidParameterError(
                "The 'cv' parameter of ChurnTrainer must be None, an int in the range "
                f"[2, inf) or a cross-validation splitter. Got {cv!r} instead."
            )
        if self.alias is not None and self.registered_model_name is None:
            raise InvalidParameterError(
                f"ChurnTrainer got alias={self.alias!r} without registered_model_name; "
                "an alias points at a registered model version. Pass "
                "registered_model_name=... too."
            )
        if self.registered_model_name is not None and not self.log_model:
            raise InvalidParameterError(
                "ChurnTrainer got registered_model_name with log_model=False; "
                "registering needs the logged model. Set log_model=True."
            )
        uplift = is_uplift_model(self.estimator)
        if self.estimator is not None and not (
            uplift
            or (
                is_classifier(self.estimator)
                and hasattr(self.estimator, "predict_proba")
            )
        ):
            raise InvalidParameterError(
                "The 'estimator' parameter of ChurnTrainer must be a scikit-learn "
                "classifier with predict_proba, an uplift model with "
                "predict_uplift (churnlib.uplift.TwoModelUplift, ...) or a Pipeline "
                "ending in one, or None for the default model chosen by "
                f"cross-validation. Got {self.estimator!r} instead."
            )
        if uplift and self.threshold is not None:
            raise InvalidParameterError(
                f"ChurnTrainer got threshold={self.threshold!r} with the uplift model "
                f"{type(final_estimator(self.estimator)).__name__}; a threshold "
                "decides on churn probabilities, while an uplift model ranks "
                "customers by the churn it expects the offer to prevent. Leave "
                "threshold=None (choose the budget when targeting instead)."
            )
        if self.preprocessor is not None and not hasattr(self.preprocessor, "fit"):
            raise InvalidParameterError(
                "The 'preprocessor' parameter of ChurnTrainer must be a scikit-learn "
                f"transformer (or None). Got {self.preprocessor!r} instead."
            )

    # --- building blocks ----------------------------------------------------

    def _splitter(self, cv: Any) -> Any:
        if isinstance(cv, numbers.Integral):
            shuffle_seed = 0 if self.random_state is None else self.random_state
            return StratifiedKFold(
                n_splits=int(cv), shuffle=True, random_state=shuffle_seed
            )
        return cv

    def _classifier(self, *, tuning: bool = False) -> Any:
        if self.estimator is None and not tuning:
            return CalibratedChurnClassifier([], random_state=self.random_state)
        estimator = (
            default_estimator(self.random_state)
            if self.estimator is None
            else clone(self.estimator)
        )
        threshold = self.threshold
        if threshold is None:
            return estimator
        if isinstance(threshold, numbers.Real):
            return FixedThresholdClassifier(
                estimator, threshold=float(threshold), response_method="predict_proba"
            )
        scoring = threshold
        if isinstance(threshold, Mapping):
            scoring = make_scorer(
                _campaign_gain, **{k: float(v) for k, v in threshold.items()}
            )
        inner_cv = self.cv if self.cv is not None else 5
        return TunedThresholdClassifierCV(
            estimator,
            scoring=scoring,
            response_method="predict_proba",
            cv=self._splitter(inner_cv),
            random_state=self.random_state,
        )

    def _preprocessor(self, decision: ContractDecision | None = None) -> Any:
        if self.preprocessor is not None:
            return clone(self.preprocessor)
        from churnlib.data import ChurnSchema
        from churnlib.features import ChurnPreprocessor

        if decision is None:
            return ChurnPreprocessor()
        roles = decision.roles

        def of(role: str) -> tuple[str, ...]:
            return tuple(str(c) for c in decision.X.columns if roles.get(c) == role)

        schema = ChurnSchema(
            numeric=of("numeric"), categorical=of("categorical"), binary=of("binary")
        )
        # roles the contract decided; any column it could not place is inferred
        if set(schema.features) != set(decision.X.columns):
            return ChurnPreprocessor()
        return ChurnPreprocessor(schema=schema)

    def _pipeline(
        self, decision: ContractDecision | None = None, *, tuning: bool = False
    ) -> Pipeline:
        return Pipeline(
            [
                ("preprocess", self._preprocessor(decision)),
                ("classifier", self._classifier(tuning=tuning)),
            ]
        )

    def _run_params(self, pipeline: Pipeline) -> dict[str, Any]:
        final = pipeline[-1]
        params: dict[str, Any] = {
            "estimator": "auto (selected by cross-validation)"
            if isinstance(final, CalibratedChurnClassifier)
            else type(final).__name__
            if not hasattr(final, "estimator")
            or not isinstance(
                final, FixedThresholdClassifier | TunedThresholdClassifierCV
            )
            else type(final.estimator).__name__,
            "preprocessor": type(pipeline[0]).__name__,
            "threshold": _describe_threshold(self.threshold),
            "cv": self.cv
            if self.cv is None or isinstance(self.cv, int)
            else repr(self.cv),
            "random_state": self.random_state,
        }
        if isinstance(final, CalibratedChurnClassifier):
            params["time_budget"] = self.time_budget
        pipe_params = pipeline.get_params(deep=True)
        pipe_params = {
            k: v
            for k, v in pipe_params.items()
            if "__" in k and not k.endswith("__estimator")  # step params, not objects
        }
        params.update(flatten_params(pipe_params))
        return params

    def _base_tags(
        self, X: pd.DataFrame, y: np.ndarray, tags: Mapping[str, Any] | None
    ) -> dict[str, str]:
        from churnlib._core.version import __version__

        out = {
            "churnlib.version": __version__,
            "churnlib.data_fingerprint": data_fingerprint(X, y),
            "churnlib.n_rows": str(len(X)),
            "churnlib.churn_rate": f"{float(np.mean(y)):.4f}",
        }
        commit = git_commit()
        if commit is not None:
            out["churnlib.git_commit"] = commit  # of the working folder
        out.update({str(k): str(v) for k, v in (tags or {}).items()})
        return out

    def _fit_and_validate(
        self,
        pipeline: Pipeline,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None,
        y_valid: np.ndarray | None,
        *,
        refit: bool = True,
    ) -> tuple[Pipeline | None, dict[str, float]]:
        """Fit (when ``refit``) and compute validation metrics."""
        extra: dict[str, float] = {"n_train": float(len(X))}
        if X_valid is not None and y_valid is not None:
            t0 = time.perf_counter()
            model = clone(pipeline).fit(X, y)
            extra["fit_seconds"] = time.perf_counter() - t0
            threshold = _threshold_of(model)
            proba = _churn_proba(model, X_valid)
            y_pred = _to01(model.predict(X_valid))
            metrics = churn_metrics(y_valid, proba, threshold=threshold, y_pred=y_pred)
            extra["n_valid"] = float(len(X_valid))
            return model, {**metrics, **extra}
        model = None
        if refit:
            t0 = time.perf_counter()
            model = clone(pipeline).fit(X, y)
            extra["fit_seconds"] = time.perf_counter() - t0
        if self.cv is None:
            threshold = _threshold_of(model) if model is not None else 0.5
            return model, {"threshold": threshold, **extra}
        splitter = self._splitter(self.cv)
        n_splits = splitter.get_n_splits(X, y)
        logger.info(
            "ChurnTrainer: no validation data, so %s is measured by %d-fold "
            "cross-validation: %d more fits on %d rows, then the final fit. Pass "
            "X_valid/y_valid or cv=None to skip them.",
            type(pipeline[-1]).__name__,
            n_splits,
            n_splits,
            len(X),
        )
        n_minority = int(min(np.sum(y.astype(int)), len(y) - np.sum(y.astype(int))))
        if isinstance(splitter, StratifiedKFold) and n_minority < n_splits:
            raise DataValidationError(
                f"y has only {n_minority} customers in its smaller class, fewer than "
                f"cv={n_splits} folds; lower cv, pass X_valid/y_valid, or set cv=None."
            )
        proba = np.empty(len(X), dtype=float)
        y_pred = np.empty(len(X), dtype=int)
        fold_auc, fold_thresholds = [], []
        for train_idx, test_idx in splitter.split(X, y):  # a loop over folds
            fold_model = clone(pipeline).fit(X.iloc[train_idx], y[train_idx])
            X_test = X.iloc[test_idx]
            proba[test_idx] = _churn_proba(fold_model, X_test)
            y_pred[test_idx] = _to01(fold_model.predict(X_test))
            fold_thresholds.append(_threshold_of(fold_model))
            fold_auc.append(churn_metrics(y[test_idx], proba[test_idx])["roc_auc"])
        threshold = (
            _threshold_of(model)
            if model is not None
            else float(np.mean(fold_thresholds))
        )
        metrics = churn_metrics(y, proba, threshold=threshold, y_pred=y_pred)
        extra["roc_auc_cv_std"] = float(np.nanstd(fold_auc))
        extra["cv_folds"] = float(n_splits)
        return model, {**metrics, **extra}

    def _validation_plan(
        self, X: pd.DataFrame, y: np.ndarray, X_valid: pd.DataFrame | None
    ) -> str:
        """Say how the metrics will be measured (a run param and a result field)."""
        if X_valid is not None:
            return f"holdout: X_valid ({len(X_valid)} rows)"
        if self.estimator is None:
            folds = self.cv if isinstance(self.cv, numbers.Integral) else 5
            return (
                f"out-of-fold: the selection's {int(folds)}-fold predictions "
                "(no extra fit)"
            )
        if self.cv is None:
            return "none: cv=None and no X_valid"
        try:
            n_splits = int(self._splitter(self.cv).get_n_splits(X, y))
        except (TypeError, ValueError):  # a splitter that needs groups
            return f"out-of-fold: cross-validation by {self.cv!r}"
        return (
            f"out-of-fold: {n_splits}-fold cross-validation ({n_splits} extra fits "
            "before the final one; pass X_valid/y_valid or cv=None to skip them)"
        )

    def _log_report(
        self,
        tracker: RunLogger,
        run_id: str,
        model: Pipeline,
        X_valid: pd.DataFrame,
        y_valid: np.ndarray,
        threshold: float,
    ) -> None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            figures = False  # the metrics and metrics.json are still logged
        else:
            figures = True
        from joblib import parallel_config

        try:
            from churnlib.evaluation import evaluate

            # one core for the background work: joblib's setting is this
            # thread's own, so a forest's predictions (one call per permuted
            # column and repeat) run here instead of dispatching to the pool
            with parallel_config(backend="sequential"):
                report = evaluate(model, X_valid, y_valid, threshold=threshold)
                report.log_to_mlflow(
                    run_id,
                    tracking_uri=tracker.uri,
                    prefix=REPORT_METRIC_PREFIX,
                    figures=figures,
                )
        except ImportError as err:
            logger.info("Evaluation report not logged (%s).", err)
            tracker.set_run_tags(run_id, {"churnlib.report": f"skipped: {err}"[:250]})
        except Exception as err:  # the run stays useful without its report
            logger.warning("Evaluation report failed: %r", err)
            tracker.set_run_tags(run_id, {"churnlib.report": f"failed: {err!r}"[:250]})
        else:
            status = "logged" if figures else "logged without figures (no matplotlib)"
            tracker.set_run_tags(run_id, {"churnlib.report": status})

    def _log_model_and_results(
        self,
        tracker: RunLogger,
        run_id: str,
        model: Pipeline,
        X: pd.DataFrame,
        results: tuple[Mapping[str, float], Mapping[str, Any]] | None,
        tags: Mapping[str, Any],
        *,
        predict_fn: str = "predict_proba",
    ) -> tuple[str | None, int | None]:
        """Log the model, then the metrics and tags in one batch; set the alias.

        ``results`` are the run's metrics and tags (None when they are
        already logged, as in ``tune``); ``tags`` are added to them. Logged
        after the model, the metrics carry its id (they are the model's too)
        and MLflow does not read them back to link them. Should the model
        fail to log, the metrics are still written before the error
        propagates.
        """
        model_uri, version, model_id = None, None, None
        try:
            if self.log_model:
                model_uri, version, model_id = tracker.log_sklearn_model(
                    model,
                    X,
                    registered_model_name=self.registered_model_name,
                    predict_fn=predict_fn,
                )
        except BaseException:
            if results is not None:
                with contextlib.suppress(Exception):  # the first error is the story
                    tracker.log_results(run_id, results[0], results[1])
            raise
        if results is not None:
            tracker.log_results(
                run_id, results[0], {**results[1], **tags}, model_id=model_id
            )
        elif tags:
            tracker.set_tags(tags)
        name = self.registered_model_name
        if self.alias is not None and name is not None and version is not None:
            tracker.set_alias(name, self.alias, version)
        return model_uri, version

    def _finish_model(
        self,
        tracker: RunLogger,
        run_id: str,
        model: Pipeline,
        X: pd.DataFrame,
        X_valid: pd.DataFrame | None,
        y_valid: np.ndarray | None,
        *,
        results: tuple[Mapping[str, float], Mapping[str, Any]] | None = None,
    ) -> tuple[str | None, int | None, Future[None] | None]:
        report_due = self.log_report and X_valid is not None and y_valid is not None
        # the report card (figures, HTML) is written off the fit's critical
        # path: fit returns while a background thread logs it to the run
        model_uri, version = self._log_model_and_results(
            tracker,
            run_id,
            model,
            X,
            results,
            {"churnlib.report": "pending"} if report_due else {},
        )
        report: Future[None] | None = None
        if report_due and X_valid is not None and y_valid is not None:
            report = _report_executor().submit(
                self._log_report,
                tracker,
                run_id,
                model,
                X_valid,
                y_valid,
                _threshold_of(model),
            )
        return model_uri, version, report

    def _connect(self) -> RunLogger:
        uri = resolve_tracking_uri(self.tracking_uri)
        return RunLogger(uri, self.experiment_name).connect()

    def _result(
        self,
        tracker: RunLogger,
        *,
        model: Pipeline,
        run_id: str,
        model_uri: str | None,
        metrics: dict[str, float],
        params: dict[str, Any],
        version: int | None,
        contract: Any = None,
        selection: ModelSelection | None = None,
        report: Future[None] | None = None,
    ) -> TrainingResult:
        return TrainingResult(
            model=model,
            run_id=run_id,
            model_uri=model_uri,
            metrics=metrics,
            params=params,
            registered_version=version,
            threshold=_threshold_of(model),
            tracking_uri=redact_url(tracker.uri),
            experiment_id=tracker.experiment_id,
            registered_model_name=self.registered_model_name if version else None,
            alias=self.alias if version else None,
            contract=contract,
            selection=selection,
            report=report,
            task="churn" if contract is None else contract.task,
        )

    # --- public API ---------------------------------------------------------

    def _decide(
        self,
        X: Any,
        y: Any,
        X_valid: Any,
        y_valid: Any,
        *,
        schema: Any,
        allow_leakage: bool,
        drop: Iterable[str] | None,
    ) -> tuple[ContractDecision, pd.DataFrame, np.ndarray, pd.DataFrame | None, Any]:
        """Check the data and decide the contract, before any run exists."""
        if not isinstance(allow_leakage, bool):
            raise InvalidParameterError(
                "The 'allow_leakage' parameter of ChurnTrainer.fit must be a bool. "
                f"Got {allow_leakage!r} instead."
            )
        if isinstance(drop, str):
            drop = [drop]
        frame = with_text_names(_as_frame(X, "X"), "X")
        labels = _as_labels(aligned_labels(frame, y, caller="ChurnTrainer.fit"), "y")
        check_shape(frame, labels)
        decision = decide_contract(
            frame, labels, schema=schema, allow_leakage=allow_leakage, drop=drop
        )
        X_fit, y_fit = check_training_data(decision.X, decision.y)
        if isinstance(X_valid, pd.DataFrame):
            X_valid = with_text_names(X_valid, "X_valid")
        if y_valid is not None and X_valid is not None:
            y_valid = aligned_labels(
                X_valid,
                y_valid,
                x_name="X_valid",
                y_name="y_valid",
                caller="ChurnTrainer.fit",
            )
            y_valid = decode_valid_labels(
                _as_labels(y_valid, "y_valid"), decision.labels
            )
        X_valid, y_valid = check_validation_data(X_valid, y_valid, X_fit.columns)
        if X_valid is not None:
            X_valid = X_valid[list(X_fit.columns)]
        return decision, X_fit, y_fit, X_valid, y_valid

    def _fit_default(
        self,
        decision: ContractDecision,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None,
        y_valid: np.ndarray | None,
    ) -> tuple[Pipeline, dict[str, float], ModelSelection]:
        """Select, calibrate and fit the default model; metrics without refits."""
        from churnlib.features import ChurnPreprocessor

        t0 = time.perf_counter()
        pre = self._preprocessor(decision)
        Xt = pre.fit_transform(X)
        if hasattr(Xt, "toarray"):
            Xt = Xt.toarray()
        Xt = np.asarray(Xt, dtype=float)
        numeric_idx = (
            list(range(len(pre.numeric_features_)))
            if isinstance(pre, ChurnPreprocessor) and not pre.add_indicator
            else []
        )
        folds = self.cv if isinstance(self.cv, numbers.Integral) else 5
        seed = self.random_state if isinstance(self.random_state, int) else 0
        fixed = (
            float(self.threshold) if isinstance(self.threshold, numbers.Real) else 0.5
        )
        logger.info(
            "ChurnTrainer: choosing the default model by %d-fold cross-validation "
            "on %d training rows among logistic regression, gradient boosting, a "
            "random forest and their blends (time budget %.0f s); the winner's "
            "out-of-fold predictions calibrate it%s.",
            folds,
            len(X),
            self.time_budget,
            "" if X_valid is not None else " and give the validation metrics",
        )
        y01 = y.astype(int)
        clf, selection, calibrated, fold_of = select_default_model(
            Xt,
            y01,
            numeric_idx=numeric_idx,
            n_splits=int(folds),
            time_budget=float(self.time_budget),
            random_state=seed,
            threshold=fixed,
            classes=np.unique(y),
        )
        if self.threshold is not None and not isinstance(self.threshold, numbers.Real):
            clf.threshold_ = _tune_threshold(calibrated, y01, self.threshold)
        model = Pipeline([("preprocess", pre), ("classifier", clf)])
        extra: dict[str, float] = {
            "n_train": float(len(X)),
            "fit_seconds": time.perf_counter() - t0,
            "selection_seconds": selection.seconds,
        }
        threshold = float(clf.threshold_)
        if X_valid is not None and y_valid is not None:
            proba = _churn_proba(model, X_valid)
            metrics = churn_metrics(y_valid, proba, threshold=threshold)
            extra["n_valid"] = float(len(X_valid))
        else:
            metrics = churn_metrics(y01, calibrated, threshold=threshold)
            fold_auc = [
                churn_metrics(y01[fold_of == k], calibrated[fold_of == k])["roc_auc"]
                for k in range(selection.cv_folds)
            ]
            extra["roc_auc_cv_std"] = float(np.nanstd(fold_auc))
            extra["cv_folds"] = float(selection.cv_folds)
        return model, {**metrics, **extra}, selection

    # --- uplift models ----------------------------------------------------------

    def _fit_uplift(
        self,
        pipeline: Pipeline,
        X: pd.DataFrame,
        y: np.ndarray,
        t: np.ndarray,
        X_valid: pd.DataFrame | None,
        y_valid: np.ndarray | None,
        t_valid: np.ndarray | None,
    ) -> tuple[Pipeline, dict[str, float]]:
        """Fit an uplift pipeline on all rows; measure it held out or out-of-fold."""
        route = _treatment_param(pipeline[-1])
        extra: dict[str, float] = {"n_train": float(len(X))}
        t0 = time.perf_counter()
        model = clone(pipeline).fit(X, y, **{route: t})
        extra["fit_seconds"] = time.perf_counter() - t0
        if X_valid is not None and y_valid is not None and t_valid is not None:
            held_out, arms = _uplift_outputs(model, X_valid)
            metrics = uplift_metrics(y_valid, t_valid, held_out, outcomes=arms)
            extra["n_valid"] = float(len(X_valid))
            return model, {**metrics, **extra}
        if self.cv is None:
            return model, extra
        splitter = self._splitter(self.cv)
        n_splits = splitter.get_n_splits(X, y)
        logger.info(
            "ChurnTrainer: no validation data, so the uplift model %s is measured "
            "by %d-fold cross-validation (folds stratified by churn and offer): %d "
            "more fits on %d rows. Pass X_valid/y_valid/treatment_valid or "
            "cv=None to skip them.",
            type(final_estimator(pipeline)).__name__,
            n_splits,
            n_splits,
            len(X),
        )
        strata = y.astype(int) * 2 + t.astype(int)  # churn x offer, four groups
        uplift = np.empty(len(X), dtype=float)
        outcomes: np.ndarray | None = np.empty((len(X), 2), dtype=float)
        for train_idx, test_idx in splitter.split(X, strata):  # a loop over folds
            fold = clone(pipeline).fit(
                X.iloc[train_idx], y[train_idx], **{route: t[train_idx]}
            )
            u, o = _uplift_outputs(fold, X.iloc[test_idx])
            uplift[test_idx] = u
            if o is None or outcomes is None:
                outcomes = None
            else:
                outcomes[test_idx] = o
        metrics = uplift_metrics(y, t, uplift, outcomes=outcomes)
        extra["cv_folds"] = float(n_splits)
        return model, {**metrics, **extra}

    def _fit_uplift_run(
        self,
        decision: ContractDecision,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None,
        y_valid: np.ndarray | None,
        treatment: Any,
        treatment_valid: Any,
        tags: Mapping[str, Any] | None,
    ) -> TrainingResult:
        """``fit`` for an uplift model: one run with uplift metrics, no report card."""
        from churnlib.uplift._base import check_treatment

        t = check_treatment(treatment, len(X), caller="ChurnTrainer")
        t_valid = None
        if X_valid is not None:
            t_valid = check_treatment(
                treatment_valid, len(X_valid), caller="ChurnTrainer (treatment_valid)"
            )
        column = _treatment_column(X, treatment)
        pipeline = Pipeline(
            [
                ("preprocess", self._preprocessor(decision)),
                ("uplift", clone(self.estimator)),
            ]
        )
        params = {**self._run_params(pipeline), **contract_params(decision)}
        params.pop("threshold", None)  # uplift models rank; they do not threshold
        params["task"] = "uplift"
        params["treatment"] = column
        params["validation"] = self._validation_plan(X, y, X_valid).replace(
            "cross-validation", "cross-validation stratified by churn and offer"
        )
        # the offer is part of the data: it changes the fingerprint and the dataset
        base_tags = self._base_tags(X.assign(**{column: t}), y, tags)
        run_tags = {
            **base_tags,
            **contract_tags(decision),
            "churnlib.task": "uplift",
            "churnlib.treatment_share": f"{float(np.mean(t)):.4f}",
        }
        tracker = self._connect()
        target = _target_name(X.assign(**{column: t}))
        with tracker.run(run_name=self.run_name, tags=run_tags) as run_id:
            tracker.log_params(params)
            datasets: list[tuple[pd.DataFrame, Any, str, str]] = [
                (X.assign(**{column: t}), y, "train", "training")
            ]
            if X_valid is not None:
                valid = X_valid.assign(**{column: t_valid})
                datasets.append((valid, y_valid, "valid", "validation"))
            tracker.log_datasets(datasets, target=target)
            model, metrics = self._fit_uplift(
                pipeline, X, y, t, X_valid, y_valid, t_valid
            )
            contract = decision.contract(
                threshold=0.5, fingerprint=base_tags["churnlib.data_fingerprint"]
            ).with_updates(task="uplift")
            attach_contract(model, contract)
            tracker.log_contract(contract)
            report_tag = {}
            if self.log_report and X_valid is not None:
                report_tag["churnlib.report"] = (
                    "skipped: uplift model (its Qini, AUUC and uplift@30% are the "
                    "run's metrics)"
                )
            model_uri, version = self._log_model_and_results(
                tracker,
                run_id,
                model,
                X,
                (metrics, {}),
                report_tag,
                predict_fn="predict",  # an uplift pipeline predicts the uplift
            )
        return self._result(
            tracker,
            model=model,
            run_id=run_id,
            model_uri=model_uri,
            metrics=metrics,
            params=params,
            version=version,
            contract=contract,
        )

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        X_valid: Any = None,
        y_valid: Any = None,
        tags: Mapping[str, Any] | None = None,
        schema: Any = None,
        allow_leakage: bool = False,
        drop: Iterable[str] | None = None,
        treatment: Any = None,
        treatment_valid: Any = None,
    ) -> TrainingResult:
        """Decide the contract, fit the pipeline, validate it, record one MLflow run.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_samples, n_features)
            Training table (one row per customer), identifiers and all.
        y : array-like of shape (n_samples,)
            Churn labels: bool, 0/1 or raw text such as ``"Yes"``/``"No"`` or
            ``"Attrited Customer"``/``"Existing Customer"``, decoded by
            :func:`churnlib.contract.decode_labels` (the rule is kept in the contract).
        X_valid, y_valid : DataFrame and array-like, default=None
            Held-out validation data. Without it, the metrics come from
            out-of-fold predictions on ``X``: the default model reuses those of
            its selection (no extra fit); a given ``estimator`` is fitted
            ``cv`` more times, once per fold (logged before it starts).
        tags : dict of str to str, default=None
            Extra run tags.
        schema : ChurnSchema or None, default=None
            Column roles; None reads ``X.attrs["churnlib.schema"]`` (left by
            :func:`churnlib.data.read_churn_table`) or infers them from ``X``.
        allow_leakage : bool, default=False
            Keep suspected target leaks (a single column predicting the label
            with ROC AUC above :data:`churnlib.data.LEAKAGE_AUC`) as features.
            By default they are left out, named in a
            :class:`~churnlib.exceptions.DataQualityWarning`, the run and the
            contract.
        drop : list of str, default=None
            Columns to leave out of the features.
        treatment : array-like of shape (n_samples,), str or None, default=None
            For an uplift ``estimator`` (required then, refused otherwise):
            whether each customer of ``X`` was offered the incentive (bool or
            0/1), or the name of that column of ``X`` (then not a feature).
        treatment_valid : array-like, str or None, default=None
            The same for ``X_valid`` (required with ``X_valid`` for an uplift
            model).

            .. versionadded:: 0.4
               ``treatment`` and ``treatment_valid``: training and tracking
               uplift models.

        Returns
        -------
        TrainingResult
            With the fitted pipeline (carrying its
            :class:`~churnlib.contract.ModelContract`), ``contract`` and, for the
            default model, ``selection``.

        Raises
        ------
        DataValidationError
            Bad input (single class, missing or unknown labels, length
            mismatch, no usable feature, ``drop`` naming an absent column, a
            treatment that is not 0/1 or holds one arm only), before any run
            is created.
        InvalidParameterError
            ``treatment=`` for a churn classifier, or an uplift model without
            it.
        TrackingError
            The tracking store cannot be reached or written to.
        """
        self._validate()
        X, treatment, X_valid, treatment_valid = _check_uplift_inputs(
            self, X, treatment, X_valid, treatment_valid
        )
        decision, X, y, X_valid, y_valid = self._decide(
            X,
            y,
            X_valid,
            y_valid,
            schema=schema,
            allow_leakage=allow_leakage,
            drop=drop,
        )
        if treatment is not None:
            return self._fit_uplift_run(
                decision, X, y, X_valid, y_valid, treatment, treatment_valid, tags
            )
        pipeline = self._pipeline(decision)
        params = {**self._run_params(pipeline), **contract_params(decision)}
        params["validation"] = self._validation_plan(X, y, X_valid)
        base_tags = self._base_tags(X, y, tags)
        tracker = self._connect()
        selection: ModelSelection | None = None
        run_tags = {**base_tags, **contract_tags(decision)}
        with tracker.run(run_name=self.run_name, tags=run_tags) as run_id:
            tracker.log_params(params)
            datasets: list[tuple[pd.DataFrame, Any, str, str]] = [
                (X, y, "train", "training")
            ]
            if X_valid is not None:
                datasets.append((X_valid, y_valid, "valid", "validation"))
            tracker.log_datasets(datasets, target=_target_name(X))
            if self.estimator is None:
                model, metrics, selection = self._fit_default(
                    decision, X, y, X_valid, y_valid
                )
            else:
                fitted, metrics = self._fit_and_validate(
                    pipeline, X, y, X_valid, y_valid
                )
                assert fitted is not None  # refit=True
                model = fitted
            contract = decision.contract(
                threshold=_threshold_of(model),
                fingerprint=base_tags["churnlib.data_fingerprint"],
            )
            attach_contract(model, contract)
            final_tags = {}
            if selection is not None:
                final_tags = {
                    "churnlib.selected": selection.selected,
                    "churnlib.calibration": selection.calibration,
                }
            tracker.log_contract(contract)
            if selection is not None:
                tracker.log_selection(run_id, selection, tags=base_tags)
            model_uri, version, report = self._finish_model(
                tracker,
                run_id,
                model,
                X,
                X_valid,
                y_valid,
                results=(metrics, final_tags),
            )
        return self._result(
            tracker,
            model=model,
            run_id=run_id,
            model_uri=model_uri,
            metrics=metrics,
            params=params,
            version=version,
            contract=contract,
            selection=selection,
            report=report,
        )

    def tune(
        self,
        X: Any,
        y: Any,
        param_distributions: Mapping[str, Any] | list[Mapping[str, Any]],
        *,
        n_iter: int = 10,
        cv: int | Any | None = None,
        scoring: str = "roc_auc",
        X_valid: Any = None,
        y_valid: Any = None,
        tags: Mapping[str, Any] | None = None,
        schema: Any = None,
        allow_leakage: bool = False,
        drop: Iterable[str] | None = None,
    ) -> TrainingResult:
        """Random hyperparameter search: one parent run, one nested run per candidate.

        Each candidate is scored like :meth:`fit` does (on ``X_valid`` or by
        ``cv``-fold out-of-fold predictions). The best candidate is refitted on
        all of ``X`` and its model is logged (and registered) in its own child
        run; the parent run records the search and the best score.

        Parameters
        ----------
        X, y
            Training data, as for :meth:`fit`.
        param_distributions : dict or list of dicts
            As for :class:`~sklearn.model_selection.ParameterSampler`. Keys
            without ``__`` name parameters of the estimator (``"max_depth"``);
            keys with ``__`` address the pipeline (``"preprocess__..."``,
            ``"classifier__..."``).
        n_iter : int, default=10
            Number of candidates sampled.
        cv : int, splitter or None, default=None
            Folds for scoring; None uses the trainer's ``cv``.
        scoring : str, default="roc_auc"
            Metric that picks the best candidate: one of ``roc_auc``,
            ``average_precision``, ``accuracy``, ``precision``, ``recall``,
            ``f1``, ``top_decile_lift`` (larger is better), ``brier``,
            ``log_loss`` (smaller is better).
        X_valid, y_valid : default=None
            Held-out validation data used instead of cross-validation.
        tags : dict, default=None
            Extra tags for every run of the search.
        schema, allow_leakage, drop
            The contract, decided once as in :meth:`fit`. With
            ``estimator=None`` the search tunes :func:`default_estimator`.

        Returns
        -------
        TrainingResult
            The best candidate; ``run_id`` is its child run. The parent run id
            is in ``result.params["parent_run_id"]``.
        """
        self._validate()
        validate_params(
            {
                "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
                "scoring": [StrOptions(set(_TUNE_SCORING))],
                "param_distributions": [Mapping, list],
            },
            {
                "n_iter": n_iter,
                "scoring": scoring,
                "param_distributions": param_distributions,
            },
            "ChurnTrainer.tune",
        )
        if is_uplift_model(self.estimator):
            raise InvalidParameterError(
                "ChurnTrainer.tune searches churn classifiers; "
                f"{type(final_estimator(self.estimator)).__name__} is an uplift model. "
                "Fit each setting with trainer.fit(X, y, treatment=...) (one run "
                "each) and compare their qini_coefficient."
            )
        if cv is not None:
            trainer = ChurnTrainer(**{**self.get_params(), "cv": cv})
            trainer._validate()
        else:
            trainer = self
        if trainer.cv is None and X_valid is None:
            raise InvalidParameterError(
                "ChurnTrainer.tune needs a way to score candidates: pass X_valid/"
                "y_valid or a cv (the trainer has cv=None)."
            )
        decision, X, y, X_valid, y_valid = self._decide(
            X,
            y,
            X_valid,
            y_valid,
            schema=schema,
            allow_leakage=allow_leakage,
            drop=drop,
        )
        base = trainer._pipeline(decision, tuning=True)
        candidates = _prefixed_candidates(
            base, param_distributions, n_iter, self.random_state
        )
        base_tags = {**trainer._base_tags(X, y, tags), **contract_tags(decision)}
        tracker = trainer._connect()
        target = _target_name(X)
        larger_is_better = _TUNE_SCORING[scoring]
        with tracker.run(
            run_name=self.run_name, tags={**base_tags, "churnlib.tuning": "parent"}
        ) as parent_id:
            parent_params = trainer._run_params(base)
            parent_params.update({"n_iter": n_iter, "scoring": scoring})
            tracker.log_params(parent_params)
            tracker.log_dataset(X, y, name="train", context="training", target=target)
            best: dict[str, Any] | None = None
            for i, candidate in enumerate(candidates):
                pipeline = clone(base).set_params(**candidate)
                params = {**trainer._run_params(pipeline), **contract_params(decision)}
                params["parent_run_id"] = parent_id
                child_tags = {**base_tags, "churnlib.tuning": "candidate"}
                with tracker.run(
                    run_name=f"candidate-{i:03d}", tags=child_tags, nested=True
                ) as child_id:
                    tracker.log_params(params)
                    model, metrics = trainer._fit_and_validate(
                        pipeline, X, y, X_valid, y_valid, refit=X_valid is not None
                    )
                    tracker.log_metrics(metrics)
                score = metrics.get(scoring, float("nan"))
                better = best is None or (
                    np.isfinite(score)
                    and (
                        not np.isfinite(best["score"])
                        or (
                            score > best["score"]
                            if larger_is_better
                            else score < best["score"]
                        )
                    )
                )
                if better:
                    best = {
                        "score": score,
                        "run_id": child_id,
                        "pipeline": pipeline,
                        "params": params,
                        "metrics": metrics,
                        "model": model,
                    }
            assert best is not None  # n_iter >= 1
            tracker.log_metrics({f"best_{scoring}": best["score"]})
            tracker.set_tags({"churnlib.best_run_id": best["run_id"]})
            model = best["model"]
            if model is None:
                model = clone(best["pipeline"]).fit(X, y)
            with tracker.resume(best["run_id"]):
                tracker.set_tags({"churnlib.tuning": "best"})
                contract = decision.contract(
                    threshold=_threshold_of(model),
                    fingerprint=base_tags["churnlib.data_fingerprint"],
                )
                attach_contract(model, contract)
                tracker.log_contract(contract)
                model_uri, version, report = trainer._finish_model(
                    tracker, best["run_id"], model, X, X_valid, y_valid
                )
        return trainer._result(
            tracker,
            model=model,
            run_id=best["run_id"],
            model_uri=model_uri,
            metrics=best["metrics"],
            params=best["params"],
            version=version,
            contract=contract,
            report=report,
        )


_INIT_PARAMS = (
    "estimator",
    "preprocessor",
    "experiment_name",
    "tracking_uri",
    "registered_model_name",
    "alias",
    "threshold",
    "cv",
    "log_model",
    "log_report",
    "run_name",
    "random_state",
    "time_budget",
)
_INIT_DEFAULTS = {
    name: (ChurnTrainer.__init__.__kwdefaults__ or {}).get(name)
    for name in _INIT_PARAMS
}


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


#: How much lower than the process the report card's worker runs (Linux nice).
REPORT_NICENESS = 10


def _lower_priority() -> None:
    """Run the calling thread below the process's CPU priority (Linux only).

    Linux gives each thread its own nice value (threads it starts inherit
    it), so the report card yields the CPU to whatever the user runs after
    ``fit`` and takes what is left; elsewhere the thread keeps its priority.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + REPORT_NICENESS))
    except OSError:  # pragma: no cover - a sandbox refusing setpriority
        logger.debug("The report card's worker keeps the process's priority.")


def _report_executor() -> ThreadPoolExecutor:
    """One background worker for report cards (joined at interpreter exit).

    It runs at a lower CPU priority than the process (:func:`_lower_priority`).
    """
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="churnlib-report",
                initializer=_lower_priority,
            )
        return _EXECUTOR


class _ScoresAsClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """A stand-in classifier whose "features" are its churn scores (column 0)."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> _ScoresAsClassifier:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        out: np.ndarray = (np.asarray(X, dtype=float)[:, 0] >= self.threshold).astype(
            int
        )
        return out


def _tune_threshold(scores: np.ndarray, y: np.ndarray, objective: Any) -> float:
    """Find the threshold maximising ``objective`` on out-of-fold probabilities."""
    grid = np.unique(np.quantile(scores, np.linspace(0.01, 0.99, 99)))
    X = scores.reshape(-1, 1)
    best_t, best_v = 0.5, -np.inf
    if isinstance(objective, Mapping):
        gains = {k: float(v) for k, v in objective.items()}

        def value(t: float) -> float:
            return _campaign_gain(y, (scores >= t).astype(int), **gains)

    else:
        scorer = get_scorer(objective) if isinstance(objective, str) else objective

        def value(t: float) -> float:
            stand_in = _ScoresAsClassifier(threshold=t).fit(X, y)
            return float(scorer(stand_in, X, y))

    for t in grid:  # a loop over <= 99 thresholds, not rows
        v = value(float(t))
        if v > best_v:
            best_t, best_v = float(t), v
    return best_t


def _describe_threshold(threshold: Any) -> Any:
    if threshold is None or isinstance(threshold, numbers.Real | str):
        return threshold if threshold is not None else 0.5
    if isinstance(threshold, Mapping):
        return "gain" + str({k: float(v) for k, v in sorted(threshold.items())})
    return getattr(threshold, "__name__", type(threshold).__name__)


def _threshold_of(model: Pipeline) -> float:
    final = model[-1]
    if isinstance(final, CalibratedChurnClassifier):
        return float(final.threshold_)
    if isinstance(final, TunedThresholdClassifierCV):
        return float(final.best_threshold_)
    if isinstance(final, FixedThresholdClassifier):
        return float(final.threshold)
    return 0.5


def _churn_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    proba = model.predict_proba(X)
    column = list(model.classes_).index(1)  # 1 == True: the churn class
    return np.asarray(proba[:, column], dtype=float)


def _to01(pred: np.ndarray) -> np.ndarray:
    return np.asarray(pred).astype(int)


def _target_name(X: pd.DataFrame) -> str:
    name = "churned"
    while name in X.columns:
        name = f"_{name}"
    return name


def _prefixed_candidates(
    pipeline: Pipeline,
    distributions: Mapping[str, Any] | list[Mapping[str, Any]],
    n_iter: int,
    random_state: Any,
) -> list[dict[str, Any]]:
    """Sample candidates; bare keys address the estimator inside the pipeline."""
    final = pipeline[-1]
    prefix = (
        "classifier__estimator__"
        if final is not None
        and hasattr(final, "estimator")
        and isinstance(final, FixedThresholdClassifier | TunedThresholdClassifierCV)
        else ("classifier__")
    )
    grids = (
        [distributions] if isinstance(distributions, Mapping) else list(distributions)
    )
    valid = set(pipeline.get_params(deep=True))
    fixed = []
    for grid in grids:
        renamed = {}
        for key, value in grid.items():
            full = key if "__" in key else prefix + key
            if full not in valid:
                raise InvalidParameterError(
                    f"ChurnTrainer.tune got an unknown parameter {key!r} in "
                    f"param_distributions (looked up as {full!r}). Use a parameter of "
                    "the estimator (e.g. 'max_depth') or a pipeline path such as "
                    "'preprocess__...'."
                )
            renamed[full] = value
        fixed.append(renamed)
    if all(
        isinstance(v, list | tuple | np.ndarray)
        for grid in fixed
        for v in grid.values()
    ):  # a finite grid: never sample more candidates than it holds
        n_iter = min(n_iter, len(ParameterGrid(fixed)))
    return list(ParameterSampler(fixed, n_iter=n_iter, random_state=random_state))


def is_uplift_model(estimator: Any) -> bool:
    """Tell an uplift model (``predict_uplift``), or a Pipeline ending in one."""
    return estimator is not None and callable(
        getattr(final_estimator(estimator), "predict_uplift", None)
    )


def _treatment_param(estimator: Any, prefix: str = "uplift") -> str:
    """Name the fit parameter routing ``treatment`` to a pipeline's uplift model."""
    name = f"{prefix}__treatment"
    while isinstance(estimator, Pipeline):
        last, estimator = estimator.steps[-1]
        name = name.removesuffix("treatment") + f"{last}__treatment"
    return name


def _uplift_outputs(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Uplift of each row and, when the model has them, P(churn) per arm."""
    final, Xt = through_pipeline(model, X)
    uplift = np.asarray(final.predict_uplift(Xt), dtype=float)
    outcomes = None
    if callable(getattr(final, "predict_outcomes", None)):
        outcomes = np.asarray(final.predict_outcomes(Xt), dtype=float)
    return uplift, outcomes


def _check_uplift_inputs(
    trainer: ChurnTrainer,
    X: Any,
    treatment: Any,
    X_valid: Any,
    treatment_valid: Any,
) -> tuple[Any, Any, Any, Any]:
    """Refuse treatment for churn models and its absence for uplift models.

    A column name as ``treatment`` (``treatment_valid``) takes that column out
    of ``X`` (``X_valid``), so the offer never becomes a feature.
    """
    uplift = is_uplift_model(trainer.estimator)
    if not uplift:
        if treatment is not None or treatment_valid is not None:
            what = (
                "estimator=None (the default churn model)"
                if trainer.estimator is None
                else f"the churn classifier {type(trainer.estimator).__name__}"
            )
            raise InvalidParameterError(
                f"ChurnTrainer.fit got treatment=, but {what} does not use it: "
                "only an uplift model learns the effect of an offer. Pass "
                "estimator=TwoModelUplift() (or XLearnerUplift(), "
                "ClassTransformationUplift(), from churnlib.uplift, or a Pipeline "
                "ending in one), or leave treatment out to train a churn model."
            )
        return X, treatment, X_valid, treatment_valid
    name = type(final_estimator(trainer.estimator)).__name__
    if treatment is None:
        raise InvalidParameterError(
            f"ChurnTrainer.fit: {name} is an uplift model and needs treatment=: "
            "one 0/1 or bool value per row of X saying whether the customer was "
            "offered the incentive (or the name of that column of X). Call "
            "trainer.fit(X, y, treatment=offer)."
        )
    if X_valid is not None and treatment_valid is None:
        raise InvalidParameterError(
            f"ChurnTrainer.fit got X_valid for the uplift model {name} without "
            "treatment_valid=; uplift is measured by comparing offered and "
            "not-offered customers. Pass treatment_valid= (one value per row of "
            "X_valid) or leave X_valid out to measure by cross-validation."
        )
    if treatment_valid is not None and X_valid is None:
        raise InvalidParameterError(
            "ChurnTrainer.fit got treatment_valid= without X_valid/y_valid; pass "
            "all three or none."
        )
    if isinstance(treatment, str):
        X, treatment = _pop_column(X, treatment, "X", "treatment")
    if isinstance(treatment_valid, str):
        X_valid, treatment_valid = _pop_column(
            X_valid, treatment_valid, "X_valid", "treatment_valid"
        )
    return X, treatment, X_valid, treatment_valid


def _pop_column(X: Any, column: str, name: str, param: str) -> tuple[Any, Any]:
    frame = _as_frame(X, name)
    if column not in frame.columns:
        raise DataValidationError(
            f"ChurnTrainer.fit got {param}={column!r}, which {name} does not have "
            f"({name} has {[str(c) for c in frame.columns][:20]}). Pass the offer "
            "column's name or the values themselves.",
            columns=[column],
        )
    return frame.drop(columns=column), frame[column]


def _treatment_column(X: pd.DataFrame, treatment: Any) -> str:
    """Name the offer column in logged datasets (not clashing with X)."""
    name = str(getattr(treatment, "name", None) or "treatment")
    while name in X.columns:
        name = f"_{name}"
    return name
