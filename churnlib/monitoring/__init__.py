"""Monitoring: prediction log, drift statistics, performance over time, alerts.

:class:`ChurnMonitor` logs a deployed model's predictions and late outcomes
(in memory or as Parquet on any fsspec URL) and reports, chunk by chunk,
feature and score drift (:class:`DriftDetector`), realized and estimated
performance, data quality and :class:`Alert` objects from
:class:`AlertRule` objects grouped into incidents, delivered to sinks by
:meth:`ChurnMonitor.notify`. Predictions are keyed by (customer id, scored
at); outcomes come per prediction or as churn events attributed within a
horizon.
"""

from churnlib.monitoring._alerts import (
    DEFAULT_RULES,
    Alert,
    AlertRule,
    CallableSink,
    JsonLinesSink,
    LoggingSink,
    WebhookSink,
)
from churnlib.monitoring._detector import DEFAULT_THRESHOLDS, DriftDetector
from churnlib.monitoring._log import MonitorStoreError
from churnlib.monitoring._monitor import SCORE_FEATURE, ChurnMonitor
from churnlib.monitoring._report import MonitorReport
from churnlib.monitoring._stats import (
    chi2_statistic,
    jensen_shannon_distance,
    ks_statistic,
    population_stability_index,
)
from churnlib.monitoring._summary import DriftSummary

__all__ = [  # noqa: RUF022 - plain sorted() order
    "Alert",
    "AlertRule",
    "CallableSink",
    "ChurnMonitor",
    "DEFAULT_RULES",
    "DEFAULT_THRESHOLDS",
    "DriftDetector",
    "DriftSummary",
    "JsonLinesSink",
    "LoggingSink",
    "MonitorReport",
    "MonitorStoreError",
    "SCORE_FEATURE",
    "WebhookSink",
    "chi2_statistic",
    "jensen_shannon_distance",
    "ks_statistic",
    "population_stability_index",
]
