"""``evaluate`` and the :class:`EvaluationReport` it returns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from churnlib._validation import Interval, validate_params
from churnlib.evaluation._checks import (
    check_binary_target,
    check_scores,
    positive_proba,
)
from churnlib.evaluation._metrics import (
    CampaignEconomics,
    CampaignProfit,
    _ks_from_counts,
    _profit_from_counts,
    _ranked_counts,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["EvaluationReport", "evaluate"]

# metric name -> plain-language description (also the order of to_frame()).
METRIC_DESCRIPTIONS: dict[str, str] = {
    "n_samples": "customers evaluated",
    "churn_rate": "share of customers who churned",
    "roc_auc": "probability that a random churner scores above a random stayer",
    "average_precision": "area under the precision-recall curve",
    "accuracy": "share of customers classified correctly at the threshold",
    "precision": "share of flagged customers who churned (churn class)",
    "recall": "share of churners flagged (churn class)",
    "f1": "harmonic mean of precision and recall (churn class)",
    "brier": "mean squared error of the churn probabilities (lower is better)",
    "log_loss": "cross-entropy of the churn probabilities (lower is better)",
    "threshold": "probability above which a customer is flagged as churning",
    "tn": "stayers not flagged (true negatives)",
    "fp": "stayers flagged (false positives)",
    "fn": "churners missed (false negatives)",
    "tp": "churners flagged (true positives)",
    "top_decile_lift": "churn rate in the top 10% of scores over the overall rate",
    "ks": "Kolmogorov-Smirnov distance between churner and stayer scores",
    "campaign_profit": "expected profit of the most profitable campaign",
    "campaign_fraction": "share of customers that campaign contacts",
    "campaign_threshold": "contact customers scoring at least this",
    "bayes_optimal_roc_auc": "ROC AUC of the true churn probabilities",
    "roc_auc_gap": "bayes_optimal_roc_auc minus roc_auc (0 is perfect)",
}


def _economics(profit: Any) -> CampaignEconomics:
    if profit is None:
        return CampaignEconomics()
    if isinstance(profit, CampaignEconomics):
        return profit
    if isinstance(profit, Mapping):
        known = {f.name for f in fields(CampaignEconomics)}
        unknown = sorted(set(profit) - known)
        if unknown:
            raise InvalidParameterError(
                f"The 'profit' parameter of evaluate got unknown keys {unknown}; "
                f"expected a subset of {sorted(known)}."
            )
        return CampaignEconomics(**profit)
    raise InvalidParameterError(
        "The 'profit' parameter of evaluate must be None, a CampaignEconomics or "
        f"a mapping of its fields. Got {profit!r} instead."
    )


def _compute_metrics(
    y: np.ndarray,
    scores: np.ndarray,
    *,
    threshold: float,
    economics: CampaignEconomics,
    truth: np.ndarray | None,
) -> tuple[dict[str, float], CampaignProfit]:
    """Every metric of the report; the churn curves share one sort."""
    y_pred = scores >= threshold
    tn, fp, fn, tp = confusion_matrix(y, y_pred, labels=[False, True]).ravel()
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, y_pred, pos_label=True, average="binary", zero_division=0.0
    )
    counts = _ranked_counts(y, scores, None)
    profit = _profit_from_counts(counts, economics, None)
    top_decile_gain = np.interp(0.1, counts.fractions(), counts.gains())
    metrics: dict[str, float] = {
        "n_samples": int(y.shape[0]),
        "churn_rate": float(np.count_nonzero(y) / y.shape[0]),
        "roc_auc": float(roc_auc_score(y, scores)),
        "average_precision": float(average_precision_score(y, scores)),
        "accuracy": float(accuracy_score(y, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "brier": float(brier_score_loss(y, scores)),
        "log_loss": float(log_loss(y, scores, labels=[False, True])),
        "threshold": float(threshold),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
        "top_decile_lift": float(top_decile_gain / 0.1),
        "ks": _ks_from_counts(counts),
        "campaign_profit": profit.profit,
        "campaign_fraction": profit.fraction,
        "campaign_threshold": profit.threshold,
    }
    if truth is not None:
        bayes_auc = float(roc_auc_score(y, truth))
        metrics["bayes_optimal_roc_auc"] = bayes_auc
        metrics["roc_auc_gap"] = bayes_auc - metrics["roc_auc"]
    return metrics, profit


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    threshold: float = 0.5,
    truth: Any = None,
    profit: CampaignEconomics | Mapping[str, float] | None = None,
    pos_label: Any = None,
    name: str | None = None,
) -> EvaluationReport:
    """Evaluate a fitted churn classifier on held-out customers.

    Scores ``X`` once with ``model.predict_proba`` and computes every metric of
    the report card: ranking quality (ROC AUC, average precision, KS,
    top-decile lift), probability quality (Brier score, log loss), decisions
    at ``threshold`` (accuracy, precision, recall, F1 of the churn class and
    the confusion-matrix counts), and the most profitable retention campaign
    under ``profit`` economics.

    Parameters
    ----------
    model : fitted classifier
        Any binary classifier with ``predict_proba``, typically the
        :class:`~sklearn.pipeline.Pipeline` from
        :class:`~churnlib.training.ChurnTrainer`.
    X : DataFrame or array-like of shape (n_samples, n_features)
        Held-out customers, with the columns the model was trained on.
    y : array-like of shape (n_samples,)
        Their true outcomes.
    threshold : float in [0, 1], default=0.5
        Customers with a churn probability ``>= threshold`` are flagged.
    truth : array-like of shape (n_samples,), default=None
        True churn probabilities when known, e.g. the ``churn_probability``
        column of :func:`churnlib.data.generate_customers` with
        ``return_truth=True``. Adds ``bayes_optimal_roc_auc`` (the best AUC
        any model can reach on these customers) and ``roc_auc_gap``.
    profit : CampaignEconomics or mapping, default=None
        Campaign economics for the profit metrics; a mapping overrides some
        of the :class:`CampaignEconomics` defaults.
    pos_label : int, bool or str, default=None
        The class meaning "churned". ``None`` takes the model's second class
        when classes are 0/1 or False/True.
    name : str, default=None
        Model name for legends and the report title; defaults to the class
        name of the model (of its last step for a pipeline).

    Returns
    -------
    EvaluationReport
        Metrics, plots, the HTML report card and MLflow logging.

    Raises
    ------
    InvalidParameterError
        If the model has no ``predict_proba`` or a parameter is invalid.
    DataValidationError
        If ``y`` has one class or a length different from ``X``, or the
        probabilities fall outside [0, 1].

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.evaluation import evaluate
    >>> X, y = make_classification(n_samples=500, weights=[0.8], random_state=0)
    >>> model = LogisticRegression().fit(X[:300], y[:300])
    >>> report = evaluate(model, X[300:], y[300:])
    >>> round(report.metrics["roc_auc"], 3)
    0.879
    >>> report.to_frame().loc[["roc_auc", "top_decile_lift"], "value"].round(2)
    metric
    roc_auc            0.88
    top_decile_lift    4.44
    Name: value, dtype: float64
    """
    validate_params(
        {"threshold": [Interval(Real, 0, 1, closed="both")], "name": [None, str]},
        {"threshold": threshold, "name": name},
        "evaluate",
    )
    economics = _economics(profit)
    caller = "evaluate"
    n_x = getattr(X, "shape", (len(X),))[0] if hasattr(X, "__len__") else None
    if n_x is not None and hasattr(y, "__len__") and len(y) != n_x:
        raise DataValidationError(
            f"evaluate: X has {n_x} rows but y has {len(y)} values. Pass one "
            "outcome per customer."
        )
    if not hasattr(model, "predict_proba"):
        raise InvalidParameterError(
            f"evaluate needs a classifier with predict_proba; {type(model).__name__} "
            "has none. Use a probabilistic classifier or wrap it in "
            "sklearn.calibration.CalibratedClassifierCV."
        )
    y_arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if pos_label is None:
        pos_label = _default_pos_label(model, y_arr)
    y_bool, pos_label = check_binary_target(y_arr, pos_label=pos_label, caller=caller)
    scores, _ = positive_proba(model, X, pos_label=pos_label, caller=caller)
    scores = check_scores(scores, caller=caller, probabilities=True)
    truth_arr = None
    if truth is not None:
        truth_arr = check_scores(truth, name="truth", caller=caller, probabilities=True)
        if truth_arr.shape[0] != y_bool.shape[0]:
            raise DataValidationError(
                f"evaluate: truth has {truth_arr.shape[0]} values but y has "
                f"{y_bool.shape[0]}. Pass one true probability per customer."
            )
    metrics, campaign = _compute_metrics(
        y_bool, scores, threshold=threshold, economics=economics, truth=truth_arr
    )
    if name is None:
        last = model.steps[-1][1] if hasattr(model, "steps") else model
        name = type(last).__name__
    return EvaluationReport(
        metrics=metrics,
        y_true=y_bool,
        y_score=scores,
        threshold=float(threshold),
        campaign=campaign,
        truth=truth_arr,
        model=model,
        X=X,
        y=y,
        pos_label=pos_label,
        name=name,
    )


def _default_pos_label(model: Any, y: np.ndarray) -> Any:
    """Return the churn class when unambiguous: 1/True or the 2nd class."""
    classes = list(getattr(model, "classes_", []))
    if len(classes) == 2 and (
        set(classes) <= {0, 1, -1}
        or all(isinstance(c, bool | np.bool_) for c in classes)
    ):
        return classes[-1]
    return None


def _redact(uri: str | None) -> str | None:
    """Drop any user:password@ part from a URI."""
    if uri is None:
        return None
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=host))


@dataclass(frozen=True, kw_only=True, eq=False)
class EvaluationReport:
    """Everything :func:`evaluate` measured on one model and one data set.

    Create it with :func:`evaluate`. It holds the scores, so plots and the
    HTML report never score the data again (except permutation importance,
    which must).

    Attributes
    ----------
    metrics : dict of str to float
        Every metric, see :meth:`to_frame` for a description of each.
    y_true : ndarray of bool
        True outcomes, ``True`` meaning churned.
    y_score : ndarray of float
        Predicted churn probabilities.
    threshold : float
        Decision threshold of the confusion-matrix metrics.
    campaign : CampaignProfit
        The profit curve and the most profitable campaign.
    truth : ndarray of float or None
        True churn probabilities when given to :func:`evaluate`.
    model, X, y :
        The evaluated model and data (used for feature importance).
    pos_label :
        The label of the churn class in ``y``.
    name : str
        Model name used in legends and titles.
    """

    metrics: dict[str, float]
    y_true: np.ndarray = field(repr=False)
    y_score: np.ndarray = field(repr=False)
    threshold: float
    campaign: CampaignProfit = field(repr=False)
    truth: np.ndarray | None = field(repr=False, default=None)
    model: Any = field(repr=False, default=None)
    X: Any = field(repr=False, default=None)
    y: Any = field(repr=False, default=None)
    pos_label: Any = field(repr=False, default=True)
    name: str = "model"
    _cache: dict[Any, Any] = field(repr=False, default_factory=dict, init=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the metrics as a DataFrame indexed by metric name.

        Returns
        -------
        DataFrame
            Columns ``value`` (float) and ``description`` (plain words).
        """
        names = list(self.metrics)
        return pd.DataFrame(
            {
                "value": [float(self.metrics[k]) for k in names],
                "description": [METRIC_DESCRIPTIONS.get(k, "") for k in names],
            },
            index=pd.Index(names, name="metric"),
        )

    # ----------------------------------------------------------------- MLflow
    def log_to_mlflow(
        self,
        run_id: str,
        *,
        tracking_uri: str | None = None,
        prefix: str = "",
        artifact_path: str = "evaluation",
        figures: bool = True,
    ) -> None:
        """Log metrics, every figure and the HTML report card to an MLflow run.

        The run must exist (it may be finished). Metrics are logged as
        ``<prefix><name>``; artifacts go under ``artifact_path``: one PNG per
        figure, ``report.html`` and ``metrics.json``.

        Parameters
        ----------
        run_id : str
            Id of an existing MLflow run.
        tracking_uri : str, default=None
            Tracking store; ``None`` uses ``MLFLOW_TRACKING_URI`` or MLflow's
            default.
        prefix : str, default=""
            Prefix of the metric keys, e.g. ``"test_"``.
        artifact_path : str, default="evaluation"
            Folder of the artifacts inside the run.
        figures : bool, default=True
            Log the figures and the HTML report (needs matplotlib).

        Raises
        ------
        TrackingError
            If MLflow is not installed, the run does not exist or logging fails.
        """
        from churnlib.exceptions import TrackingError

        try:
            import mlflow
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient
        except ImportError as err:  # pragma: no cover - mlflow is a test dependency
            raise TrackingError(
                "EvaluationReport.log_to_mlflow requires mlflow. Install it with "
                'pip install "churnlib[mlflow]".'
            ) from err

        uri = tracking_uri or mlflow.get_tracking_uri()
        safe_uri = _redact(uri)
        try:
            client = MlflowClient(tracking_uri=uri)
            client.get_run(run_id)
        except Exception as err:
            raise TrackingError(
                f"Cannot log the evaluation: MLflow run {run_id!r} was not found at "
                f"{safe_uri} ({type(err).__name__}). Pass the run_id of an existing "
                "run and the tracking_uri it lives in.",
                tracking_uri=safe_uri,
            ) from err
        import time

        now = int(time.time() * 1000)
        values = [
            Metric(f"{prefix}{k}", float(v), now, 0)
            for k, v in self.metrics.items()
            if math.isfinite(float(v))
        ]
        try:
            client.log_batch(run_id, metrics=values)
            client.log_text(
                run_id,
                json.dumps(self.metrics, indent=2, default=float),
                f"{artifact_path}/metrics.json",
            )
            if figures:
                for key, fig in self._figures():
                    try:
                        client.log_figure(run_id, fig, f"{artifact_path}/{key}.png")
                    finally:
                        fig.clear()
                client.log_text(run_id, self.to_html(), f"{artifact_path}/report.html")
        except ImportError:
            raise
        except Exception as err:
            raise TrackingError(
                f"Logging the evaluation to MLflow run {run_id!r} at {safe_uri} "
                f"failed: {type(err).__name__}: {err}",
                tracking_uri=safe_uri,
            ) from err

    def _figures(self) -> list[tuple[str, Figure]]:
        """Return ``(key, figure)`` for every report figure (filled in below)."""
        return []

    def to_html(self) -> str:
        """Return the self-contained HTML report card (filled in below)."""
        return "<!DOCTYPE html><html><body></body></html>"
