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
    expected_calibration_error,
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
from churnlib.evaluation._uplift import (
    QiniCurveDisplay,
    UpliftCurveDisplay,
    auuc,
    compare_targeting,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_curve,
    uplift_report_section,
)
from churnlib.evaluation._value import (
    ExpectedMaximumProfit,
    UpliftProfit,
    customer_profit,
    empc_score,
    expected_maximum_profit,
    max_profit_uplift,
    value_profit_curve,
)

__all__ = [
    "CampaignEconomics",
    "CampaignProfit",
    "CumulativeGainDisplay",
    "EvaluationReport",
    "ExpectedMaximumProfit",
    "FeatureImportanceDisplay",
    "LiftCurveDisplay",
    "ProfitCurveDisplay",
    "QiniCurveDisplay",
    "UpliftCurveDisplay",
    "UpliftProfit",
    "auuc",
    "compare_targeting",
    "cumulative_gain",
    "customer_profit",
    "empc_score",
    "evaluate",
    "expected_calibration_error",
    "expected_campaign_profit",
    "expected_maximum_profit",
    "feature_importance",
    "ks_statistic",
    "lift_curve",
    "lift_score",
    "max_profit_uplift",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_curve",
    "uplift_report_section",
    "value_profit_curve",
]
