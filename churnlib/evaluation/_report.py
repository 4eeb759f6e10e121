"""``evaluate`` and the :class:`EvaluationReport` it returns."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Real
from pathlib import Path
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

from churnlib._core.alignment import aligned_labels
from churnlib._core.contract import ModelContract, get_contract
from churnlib._core.labels import decode_labels
from churnlib._core.model_facts import churn_proba, model_threshold
from churnlib._core.tables import write_bytes
from churnlib._html import figure_png
from churnlib._validation import Interval, validate_params
from churnlib.evaluation import _importance
from churnlib.evaluation._card import METRIC_DESCRIPTIONS, render_card
from churnlib.evaluation._checks import (
    check_binary_target,
    check_scores,
    final_estimator,
    positive_proba,
)
from churnlib.evaluation._metrics import (
    CampaignEconomics,
    CampaignProfit,
    _ks_from_counts,
    _profit_from_counts,
    _ranked_counts,
    expected_calibration_error,
)
from churnlib.evaluation._plotting import (
    CumulativeGainDisplay,
    LiftCurveDisplay,
    ProfitCurveDisplay,
    check_matplotlib_support,
)
from churnlib.exceptions import (
    DataValidationError,
    InvalidParameterError,
    TrackingError,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["EvaluationReport", "evaluate"]


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
        "ece": expected_calibration_error(y, scores),
        "log_loss": float(log_loss(y, scores, labels=[False, True])),
        "threshold": float(threshold),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
        "top_decile_lift": counts.lift_at(0.1),
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
    threshold: float | None = None,
    truth: Any = None,
    profit: CampaignEconomics | Mapping[str, float] | None = None,
    pos_label: Any = None,
    name: str | None = None,
    treatment: Any = None,
    uplift: Any = None,
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
        Held-out customers, with the columns the model was trained on. When
        the model carries a :class:`~churnlib.ModelContract` (every model
        :class:`~churnlib.training.ChurnTrainer` fits does), a raw table is
        read the way training read it.
    y : array-like of shape (n_samples,)
        Their true outcomes, as booleans, 0/1 or raw labels (``"Yes"``,
        ``"Attrited Customer"``), decoded by the model's label rule.
    threshold : float in [0, 1] or None, default=None
        Customers with a churn probability ``>= threshold`` are flagged. None
        takes the model's own threshold (its contract's, or a threshold
        wrapper's), else 0.5.
    truth : array-like of shape (n_samples,), default=None
        True churn probabilities when known, e.g. the ``churn_probability``
        column of :func:`churnlib.data.generate_customers` with
        ``return_truth=True``. Adds ``bayes_optimal_roc_auc`` (the best AUC
        any model can reach on these customers) and ``roc_auc_gap``.
    profit : CampaignEconomics or mapping, default=None
        Campaign economics for the profit metrics; a mapping overrides some
        of the :class:`CampaignEconomics` defaults.
    pos_label : int, bool or str, default=None
        The label meaning "churned". ``None`` uses the model's contract, else
        the one label rule of :func:`churnlib.infer_label_rule` (``True``,
        ``1``, ``"Yes"``, a label naming churn), and refuses when that cannot
        tell.
    name : str, default=None
        Model name for legends and the report title; defaults to the class
        name of the model (of its last step for a pipeline).
    treatment : array-like of shape (n_samples,), default=None
        Whether each customer was offered the retention incentive in a
        randomised campaign. With ``uplift``, the report card gains a section
        comparing targeting by uplift with targeting by churn probability at
        the same budget (see :func:`uplift_report_section`).
    uplift : array-like of shape (n_samples,) or fitted uplift model, default=None
        Uplift scores of the same customers, or a model with
        ``predict_uplift`` (:mod:`churnlib.uplift`) to score ``X`` with.

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
        {
            "threshold": [None, Interval(Real, 0, 1, closed="both")],
            "name": [None, str],
        },
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
    if n_x == 0 or (hasattr(y, "__len__") and len(y) == 0):
        raise DataValidationError(
            "evaluate: there are no customers to evaluate (X and y are empty). "
            "Pass held-out rows with their outcomes."
        )
    # a pandas y is matched to X's rows by index, before prepare re-keys them
    y = aligned_labels(X, y, caller="evaluate")
    contract = get_contract(model)
    if contract is not None and isinstance(X, pd.DataFrame):
        X = contract.prepare(X, source="the evaluation table")
    y_arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    user_pos = pos_label
    y_arr, pos_label = _decode_outcomes(y_arr, pos_label, contract)
    y_bool, pos_label = check_binary_target(y_arr, pos_label=pos_label, caller=caller)
    classes = list(getattr(model, "classes_", []))
    if user_pos is not None and user_pos in classes:
        scores, _ = positive_proba(model, X, pos_label=user_pos, caller=caller)
    else:  # the model's own churn class, by its contract or the one label rule
        scores = churn_proba(model, X)
    scores = check_scores(scores, caller=caller, probabilities=True)
    if threshold is None:
        own = model_threshold(model)
        threshold = 0.5 if own is None else own
    treatment_arr, uplift_arr = _campaign_arrays(treatment, uplift, X, len(scores))
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
        name = type(final_estimator(model)).__name__
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
        contract=contract,
        treatment=treatment_arr,
        uplift=uplift_arr,
    )


def _campaign_arrays(
    treatment: Any, uplift: Any, X: Any, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Treatment flags and uplift scores for the report card's uplift section."""
    if treatment is None and uplift is None:
        return None, None
    if treatment is None or uplift is None:
        raise InvalidParameterError(
            "evaluate: the uplift section needs both treatment= (who was offered "
            "the incentive) and uplift= (uplift scores or a fitted uplift model). "
            f"Got only {'treatment' if uplift is None else 'uplift'}."
        )
    if callable(getattr(uplift, "predict_uplift", None)):
        uplift = uplift.predict_uplift(X)
    elif callable(getattr(final_estimator(uplift), "predict_uplift", None)):
        uplift = uplift.predict(X)  # a Pipeline ending in an uplift model
    scores = check_scores(uplift, name="uplift", caller="evaluate")
    flags = np.asarray(
        treatment.to_numpy() if isinstance(treatment, pd.Series) else treatment
    )
    if flags.ndim != 1 or flags.shape[0] != n or scores.shape[0] != n:
        raise DataValidationError(
            f"evaluate: treatment and uplift need one value per customer ({n}); "
            f"got {flags.shape[0] if flags.ndim else 0} and {scores.shape[0]}."
        )
    return flags.astype(bool), scores


def _decode_outcomes(
    y: np.ndarray, pos_label: Any, contract: ModelContract | None
) -> tuple[np.ndarray, Any]:
    """Raw outcomes as booleans by the one label rule, and the label now meaning churn.

    Booleans and 0/1 pass through unchanged (``check_binary_target`` reads
    them); text labels are decoded with the model's contract, or with
    ``pos_label``, or by :func:`churnlib.infer_label_rule`.
    """
    if y.dtype == np.bool_ or y.size == 0:
        return y, pos_label
    if pos_label is None and y.dtype.kind in "iuf":
        present = y[~pd.isna(y)]
        if set(np.unique(present).tolist()) <= {0, 1}:
            return y, 1
    if pos_label is not None and pos_label in pd.unique(y).tolist():
        return y, pos_label  # the user named the churn class exactly
    if pd.isna(y).any():
        return y, pos_label  # check_binary_target explains missing outcomes
    if contract is not None and contract.labels is not None and pos_label is None:
        return contract.decode_labels(y), True
    decoded, _ = decode_labels(y, pos_label=pos_label)
    return decoded, True


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
    contract : ModelContract or None
        The model's contract, when it carries one: the report names the
        suspected leaks it excluded (or kept).
    treatment, uplift : ndarray or None
        Campaign offers and uplift scores, when given to :func:`evaluate`.
    name : str
        Model name used in legends and titles.

    See Also
    --------
    evaluate : Create the report.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.evaluation import evaluate
    >>> X, y = make_classification(n_samples=400, weights=[0.8], random_state=0)
    >>> report = evaluate(LogisticRegression().fit(X, y), X, y, name="logit")
    >>> display = report.plot_cumulative_gain()  # a CumulativeGainDisplay
    >>> display.line_.get_label()
    'logit'
    >>> print(report.summary().splitlines()[-1])  # doctest: +ELLIPSIS
    Whom to target: assuming a retained customer worth 200, ... at least ...
    >>> document = report.to_html(feature_importance=None)
    >>> document.count("data:image/png;base64,")
    7
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
    contract: ModelContract | None = field(repr=False, default=None)
    treatment: np.ndarray | None = field(repr=False, default=None)
    uplift: np.ndarray | None = field(repr=False, default=None)

    def uplift_section(self) -> str | None:
        """Return the report card's uplift section, when campaign data was given.

        Returns
        -------
        str or None
            HTML comparing targeting by uplift with targeting by churn
            probability at the same budget (the report's campaign fraction,
            at least 10 %); None without ``treatment``/``uplift``.
        """
        if self.treatment is None or self.uplift is None:
            return None
        from churnlib.evaluation._uplift import uplift_report_section

        e = self.campaign.economics
        return uplift_report_section(
            self.y_true,
            self.treatment,
            self.uplift,
            self.y_score,
            fraction=min(max(float(self.campaign.fraction), 0.1), 1.0),
            customer_value=e.customer_value,
            incentive_cost=e.incentive_cost,
            contact_cost=e.contact_cost,
        )

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

    # ------------------------------------------------------------- summaries
    def summary(self) -> str:
        """Explain the numbers in plain language, and say whom to target.

        Returns
        -------
        str
            A few short paragraphs separated by blank lines.
        """
        return "\n\n".join(self._summary_paragraphs())

    def leakage_banner(self) -> str | None:
        """Say which suspected target leaks the model excluded or kept.

        Returns
        -------
        str or None
            None when the model's contract names no suspected leak (or the
            model carries no contract).
        """
        c = self.contract
        if c is None or not c.leakage:
            return None
        names = ", ".join(f"{k} (AUC {v:.3f} alone)" for k, v in c.leakage.items())
        if c.allow_leakage:
            return (
                f"Warning: this model was trained WITH suspected target leaks: "
                f"{names}. Each alone predicts churn almost perfectly, so it is "
                "probably recorded after (or because) the customer churned. The "
                "scores below are likely too good to be true in production; "
                "retrain without them unless their values are known before churn."
            )
        return (
            f"Suspected target leaks were excluded from the features: {names}. "
            "Each alone predicts churn almost perfectly, which a value known "
            "before churn rarely does. Keep them only if that is the case "
            "(allow_leakage=True, --allow-leakage)."
        )

    def _summary_paragraphs(self) -> list[str]:
        m = self.metrics
        n = int(m["n_samples"])
        auc = m["roc_auc"]
        quality = (
            "suspiciously high: check the features for target leakage"
            if auc >= 0.995
            else "excellent"
            if auc >= 0.9
            else "good"
            if auc >= 0.8
            else "fair"
            if auc >= 0.7
            else "weak"
            if auc >= 0.6
            else "poor, barely better than chance"
        )
        banner = self.leakage_banner()
        out = [] if banner is None else [banner]
        out += [
            f"The model was evaluated on {n:,} customers, of whom "
            f"{m['churn_rate']:.1%} churned. It ranks a randomly chosen churner "
            f"above a randomly chosen customer who stays {auc:.0%} of the time "
            f"(ROC AUC {auc:.3f}; 50% is a coin flip, 100% is perfect): {quality}."
        ]
        if "bayes_optimal_roc_auc" in m:
            out.append(
                "A model that knew each customer's true churn probability would "
                f"reach a ROC AUC of {m['bayes_optimal_roc_auc']:.3f} on these "
                f"customers, so better modelling could gain at most "
                f"{max(m['roc_auc_gap'], 0.0):.3f}."
            )
        out.append(
            "Contacting the 10% of customers with the highest scores reaches "
            f"{m['top_decile_lift']:.1f} times as many churners as contacting 10% "
            "picked at random (top-decile lift)."
        )
        flagged = int(m["tp"] + m["fp"])
        out.append(
            f"At a probability threshold of {m['threshold']:.2f} the model flags "
            f"{flagged:,} customers; {int(m['tp']):,} of them churn (precision "
            f"{m['precision']:.0%}) and they include {m['recall']:.0%} of all "
            f"churners, while {int(m['fn']):,} churners are missed."
        )
        base = m["churn_rate"] * (1.0 - m["churn_rate"])
        out.append(
            f"The probabilities have a Brier score of {m['brier']:.3f} (lower is "
            f"better; always predicting the churn rate scores {base:.3f}); the "
            "calibration plot shows whether a predicted 30% really means 30%."
        )
        e = self.campaign.economics
        money = (
            f"a retained customer worth {e.customer_value:,.0f}, an incentive "
            f"costing {e.incentive_cost:,.0f}, a contact costing "
            f"{e.contact_cost:,.2f} and {e.acceptance_rate:.0%} of contacted "
            "churners accepting the offer"
        )
        c = self.campaign
        if c.fraction > 0 and c.profit > 0:
            k = int(np.count_nonzero(self.y_score >= c.threshold))
            out.append(
                f"Whom to target: assuming {money}, the most profitable campaign "
                f"contacts the customers with a churn score of at least "
                f"{c.threshold:.3f}, the top {c.fraction:.1%} ({k:,} of {n:,} "
                f"here), for an expected profit of {c.profit:,.0f} "
                f"({c.profit / n:,.2f} per customer evaluated)."
            )
        else:
            out.append(
                f"Whom to target: assuming {money}, no campaign is profitable: "
                "every contacted group costs more than the churners it saves. "
                "Revisit the economics or improve the model before running one."
            )
        return out

    # ------------------------------------------------------------------ plots
    def _from_predictions(
        self, display_cls: Any, ax: Axes | None, **kwargs: Any
    ) -> Any:
        """``display_cls.from_predictions`` on the report's outcomes and scores."""
        return display_cls.from_predictions(
            self.y_true, self.y_score, name=self.name, ax=ax, **kwargs
        )

    def plot_confusion_matrix(
        self, *, ax: Axes | None = None, normalize: str | None = None, **kwargs: Any
    ) -> Any:
        """Plot the confusion matrix at the report's threshold.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        normalize : {"true", "pred", "all"}, default=None
            Normalization, as in :class:`sklearn.metrics.ConfusionMatrixDisplay`.
        **kwargs : dict
            Passed to ``ConfusionMatrixDisplay.from_predictions``.

        Returns
        -------
        sklearn.metrics.ConfusionMatrixDisplay
        """
        check_matplotlib_support("EvaluationReport.plot_confusion_matrix")
        from sklearn.metrics import ConfusionMatrixDisplay

        kwargs.setdefault("colorbar", False)
        display = ConfusionMatrixDisplay.from_predictions(
            self.y_true,
            self.y_score >= self.threshold,
            labels=[False, True],
            display_labels=["stays", "churns"],
            normalize=normalize,
            ax=ax,
            **kwargs,
        )
        display.ax_.set_title(f"Confusion matrix at threshold {self.threshold:.2f}")
        return display

    def plot_roc_curve(
        self, *, ax: Axes | None = None, plot_bayes_optimal: bool = True, **kwargs: Any
    ) -> Any:
        """Plot the ROC curve (and the Bayes-optimal one when ``truth`` is known).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        plot_bayes_optimal : bool, default=True
            Also draw the ROC curve of the true probabilities, if known.
        **kwargs : dict
            Passed to ``RocCurveDisplay.from_predictions``.

        Returns
        -------
        sklearn.metrics.RocCurveDisplay
            The display of the model's curve.
        """
        check_matplotlib_support("EvaluationReport.plot_roc_curve")
        from sklearn.metrics import RocCurveDisplay

        kwargs.setdefault("plot_chance_level", True)
        display = self._from_predictions(RocCurveDisplay, ax, pos_label=True, **kwargs)
        if plot_bayes_optimal and self.truth is not None:
            RocCurveDisplay.from_predictions(
                self.y_true,
                self.truth,
                pos_label=True,
                name="Bayes-optimal (true probabilities)",
                ax=display.ax_,
                curve_kwargs={"linestyle": ":", "color": "tab:gray"},
            )
        return display

    def plot_precision_recall_curve(
        self, *, ax: Axes | None = None, **kwargs: Any
    ) -> Any:
        """Plot the precision-recall curve of the churn class.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        **kwargs : dict
            Passed to ``PrecisionRecallDisplay.from_predictions``.

        Returns
        -------
        sklearn.metrics.PrecisionRecallDisplay
        """
        check_matplotlib_support("EvaluationReport.plot_precision_recall_curve")
        from sklearn.metrics import PrecisionRecallDisplay

        kwargs.setdefault("plot_chance_level", True)
        return self._from_predictions(
            PrecisionRecallDisplay, ax, pos_label=True, **kwargs
        )

    def plot_calibration_curve(
        self,
        *,
        ax: Axes | None = None,
        n_bins: int = 10,
        strategy: str = "uniform",
        **kwargs: Any,
    ) -> Any:
        """Plot the calibration (reliability) curve of the churn probabilities.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        n_bins : int, default=10
            Number of probability bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Bin edges, as in :func:`sklearn.calibration.calibration_curve`.
        **kwargs : dict
            Passed to ``CalibrationDisplay.from_predictions``.

        Returns
        -------
        sklearn.calibration.CalibrationDisplay
        """
        check_matplotlib_support("EvaluationReport.plot_calibration_curve")
        from sklearn.calibration import CalibrationDisplay

        return self._from_predictions(
            CalibrationDisplay,
            ax,
            n_bins=n_bins,
            strategy=strategy,
            pos_label=True,
            **kwargs,
        )

    def plot_lift_curve(self, *, ax: Axes | None = None, **kwargs: Any) -> Any:
        """Plot the lift curve, see :class:`LiftCurveDisplay`.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        **kwargs : dict
            Passed to ``LiftCurveDisplay.from_predictions``.

        Returns
        -------
        LiftCurveDisplay
        """
        return self._from_predictions(LiftCurveDisplay, ax, **kwargs)

    def plot_cumulative_gain(self, *, ax: Axes | None = None, **kwargs: Any) -> Any:
        """Plot the cumulative gain curve, see :class:`CumulativeGainDisplay`.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        **kwargs : dict
            Passed to ``CumulativeGainDisplay.from_predictions``.

        Returns
        -------
        CumulativeGainDisplay
        """
        return self._from_predictions(CumulativeGainDisplay, ax, **kwargs)

    def plot_profit_curve(self, *, ax: Axes | None = None, **kwargs: Any) -> Any:
        """Plot expected campaign profit by fraction targeted.

        Uses the economics given to :func:`evaluate`; see
        :class:`ProfitCurveDisplay`.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        **kwargs : dict
            Passed to ``ProfitCurveDisplay.from_predictions``.

        Returns
        -------
        ProfitCurveDisplay
        """
        e = self.campaign.economics
        return self._from_predictions(
            ProfitCurveDisplay,
            ax,
            customer_value=e.customer_value,
            incentive_cost=e.incentive_cost,
            contact_cost=e.contact_cost,
            acceptance_rate=e.acceptance_rate,
            **kwargs,
        )

    def feature_importance(
        self,
        *,
        method: str = "auto",
        n_repeats: int = 5,
        max_samples: float | int | None = None,
        random_state: Any = 0,
        n_jobs: int | None = None,
    ) -> pd.DataFrame:
        """Compute the importance of each original input column (cached).

        See :func:`~churnlib.evaluation.feature_importance`; permutation
        importance is computed on the report's ``X`` and ``y``.

        Returns
        -------
        DataFrame
            ``importance_mean`` and ``importance_std`` by feature.
        """
        if self.model is None or self.X is None:
            raise InvalidParameterError(
                "This report has no model or X; create it with evaluate(model, X, y)."
            )
        key = ("importance", method, n_repeats, max_samples, random_state)
        if key not in self._cache:
            if self.y is not None:
                y, pos_label = self.y, self.pos_label
            else:
                y, pos_label = self.y_true, True
            self._cache[key] = _importance.feature_importance(
                self.model,
                self.X,
                y,
                method=method,
                n_repeats=n_repeats,
                max_samples=max_samples,
                pos_label=pos_label,
                random_state=random_state,
                n_jobs=n_jobs,
            )
        return self._cache[key].copy()

    def plot_feature_importance(
        self,
        *,
        method: str = "auto",
        n_repeats: int = 5,
        max_samples: float | int | None = None,
        random_state: Any = 0,
        n_jobs: int | None = None,
        max_features: int | None = 20,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> Any:
        """Plot feature importance grouped by original input column.

        Parameters
        ----------
        method : {"auto", "permutation", "impurity"}, default="auto"
            See :func:`~churnlib.evaluation.feature_importance`.
        n_repeats, max_samples, random_state, n_jobs
            Permutation settings.
        max_features : int, default=20
            Show only the most important features.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh`.

        Returns
        -------
        FeatureImportanceDisplay
        """
        check_matplotlib_support("EvaluationReport.plot_feature_importance")

        importances = self.feature_importance(
            method=method,
            n_repeats=n_repeats,
            max_samples=max_samples,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        return _importance.FeatureImportanceDisplay._from_importances(
            importances, name=self.name, ax=ax, max_features=max_features, **kwargs
        )

    # ------------------------------------------------------- figures and HTML
    def _figure_specs(
        self, feature_importance: str | None
    ) -> list[tuple[str, str, str, Any]]:
        specs: list[tuple[str, str, str, Any]] = [
            (
                "confusion_matrix",
                "Confusion matrix",
                f"Counts of customers by outcome and by the model's decision at "
                f"threshold {self.threshold:.2f}.",
                self.plot_confusion_matrix,
            ),
            (
                "roc_curve",
                "ROC curve",
                "Share of churners caught (y) against share of stayers wrongly "
                "flagged (x) as the threshold moves; higher and further left is "
                "better, the diagonal is guessing.",
                self.plot_roc_curve,
            ),
            (
                "precision_recall_curve",
                "Precision-recall curve",
                "How pure the flagged group is (precision) against how many "
                "churners it contains (recall); the dashed line is the churn rate.",
                self.plot_precision_recall_curve,
            ),
            (
                "calibration_curve",
                "Calibration",
                "Observed churn rate against predicted probability; points on the "
                "diagonal mean the probabilities can be taken at face value.",
                self.plot_calibration_curve,
            ),
            (
                "lift_curve",
                "Lift",
                "How many times more churners a campaign reaches than random "
                "targeting, by share of customers contacted.",
                self.plot_lift_curve,
            ),
            (
                "cumulative_gain",
                "Cumulative gain",
                "Share of all churners reached by contacting the highest-scored "
                "customers first; the diagonal is random targeting.",
                self.plot_cumulative_gain,
            ),
            (
                "profit_curve",
                "Campaign profit",
                "Expected profit of a retention campaign by share of customers "
                "contacted; the dot marks the most profitable campaign.",
                self.plot_profit_curve,
            ),
        ]
        if (
            feature_importance is not None
            and self.model is not None
            and self.X is not None
        ):
            specs.append(
                (
                    "feature_importance",
                    "Feature importance",
                    "Which input columns the model relies on, one bar per original "
                    "column (encoded columns are grouped back).",
                    lambda ax: self.plot_feature_importance(
                        method=feature_importance, ax=ax
                    ),
                )
            )
        return specs

    def _render_figures(
        self, feature_importance: str | None
    ) -> list[tuple[str, str, str, bytes]]:
        """Draw every figure off-screen and return ``(key, title, caption, png)``.

        The report is immutable, so the PNGs are cached: saving the HTML and
        logging to MLflow draw each figure once.
        """
        key = ("figures", feature_importance)
        if key not in self._cache:
            self._cache[key] = self._draw_figures(feature_importance)
        return list(self._cache[key])

    def _draw_figures(
        self, feature_importance: str | None
    ) -> list[tuple[str, str, str, bytes]]:
        check_matplotlib_support("EvaluationReport figures")
        from matplotlib.figure import Figure

        rendered = []
        for key, title, caption, draw in self._figure_specs(feature_importance):
            fig = Figure(figsize=(6.4, 4.8), layout="constrained")
            ax = fig.subplots()
            draw(ax=ax)
            rendered.append((key, title, caption, figure_png(fig, dpi=100)))
        return rendered

    def to_html(self, *, feature_importance: str | None = "auto") -> str:
        """Return the report card as one self-contained HTML document.

        The document has no external references: styles are inline and every
        figure is embedded as a base64 PNG.

        Parameters
        ----------
        feature_importance : {"auto", "permutation", "impurity"} or None, \
                default="auto"
            Method of the feature-importance figure; ``None`` leaves it out.

        Returns
        -------
        str
            The HTML document.
        """
        return render_card(self, self._render_figures(feature_importance))

    def save_html(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        feature_importance: str | None = "auto",
    ) -> None:
        """Write the self-contained HTML report card to a file or fsspec URL.

        The file appears whole or not at all.

        Parameters
        ----------
        url : str or path-like
            Local path or any fsspec URL (``s3://``, ``memory://``, ...).
            Missing parent folders are created.
        storage_options : mapping, default=None
            Options for the filesystem (credentials, endpoint, ...).
        feature_importance : {"auto", "permutation", "impurity"} or None, \
                default="auto"
            Method of the feature-importance figure; ``None`` leaves it out.

        Raises
        ------
        StorageError
            If the location cannot be written; the message names the URL
            without credentials.
        """
        document = self.to_html(feature_importance=feature_importance).encode("utf-8")
        write_bytes(document, url, storage_options=storage_options)

    # ----------------------------------------------------------------- MLflow
    def log_to_mlflow(
        self,
        run_id: str,
        *,
        tracking_uri: str | None = None,
        prefix: str = "",
        artifact_path: str = "evaluation",
        figures: bool = True,
        feature_importance: str | None = "auto",
    ) -> None:
        """Log metrics, every figure and the HTML report card to an MLflow run.

        The run must exist (it may be finished). Metrics are logged as
        ``<prefix><name>`` (non-finite values are skipped); artifacts go under
        ``artifact_path``: one PNG per figure, ``report.html`` and
        ``metrics.json``.

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
        feature_importance : {"auto", "permutation", "impurity"} or None, \
                default="auto"
            Method of the feature-importance figure; ``None`` leaves it out.

        Raises
        ------
        TrackingError
            If mlflow is missing, the run does not exist or logging fails.
        """
        try:
            import mlflow
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient
        except ImportError as err:
            raise TrackingError(
                "EvaluationReport.log_to_mlflow requires mlflow. Install it with "
                'pip install "churnlib[mlflow]".'
            ) from err

        from churnlib._urls import redact_url

        uri = tracking_uri or mlflow.get_tracking_uri()
        safe_uri = redact_url(uri)  # no credentials or query tokens in messages
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
        rendered = self._render_figures(feature_importance) if figures else []
        now = int(time.time() * 1000)
        values = [
            Metric(f"{prefix}{k}", float(v), now, 0)
            for k, v in self.metrics.items()
            if math.isfinite(float(v))
        ]
        try:
            client.log_batch(run_id, metrics=values)
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                (folder / "metrics.json").write_text(
                    json.dumps(self.metrics, indent=2), encoding="utf-8"
                )
                for key, _, _, png in rendered:
                    (folder / f"{key}.png").write_bytes(png)
                if figures:
                    (folder / "report.html").write_text(
                        render_card(self, rendered), encoding="utf-8"
                    )
                client.log_artifacts(run_id, tmp, artifact_path)
        except Exception as err:
            raise TrackingError(
                f"Logging the evaluation to MLflow run {run_id!r} at {safe_uri} "
                f"failed: {type(err).__name__}: {str(err).replace(uri, safe_uri)}",
                tracking_uri=safe_uri,
            ) from err
