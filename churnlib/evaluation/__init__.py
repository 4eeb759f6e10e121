"""Evaluate a churn model: metrics, scikit-learn-style Displays, the report card.

:func:`evaluate` scores a fitted classifier on held-out customers and returns an
:class:`EvaluationReport` with every metric, the plots and an HTML report card
that can be saved to any fsspec URL or logged to an MLflow run. The churn
metrics (lift, cumulative gain, campaign profit, KS) are public functions with
scikit-learn's signatures; their Displays follow scikit-learn's
``from_estimator`` / ``from_predictions`` / ``plot(ax=...)`` pattern.
"""

from churnlib.evaluation._importance import (
    FeatureImportanceDisplay,
    feature_importance,
)
from churnlib.evaluation._metrics import (
    CampaignEconomics,
    CampaignProfit,
    cumulative_gain,
    expected_campaign_profit,
    ks_statistic,
    lift_curve,
    lift_score,
)
from churnlib.evaluation._plotting import (
    CumulativeGainDisplay,
    LiftCurveDisplay,
    ProfitCurveDisplay,
)
from churnlib.evaluation._report import EvaluationReport, evaluate

__all__ = [
    "CampaignEconomics",
    "CampaignProfit",
    "CumulativeGainDisplay",
    "EvaluationReport",
    "FeatureImportanceDisplay",
    "LiftCurveDisplay",
    "ProfitCurveDisplay",
    "cumulative_gain",
    "evaluate",
    "expected_campaign_profit",
    "feature_importance",
    "ks_statistic",
    "lift_curve",
    "lift_score",
]
