"""Monitoring: prediction log, drift statistics, performance over time, alerts."""

from churnlib.monitoring._detector import DEFAULT_THRESHOLDS, DriftDetector
from churnlib.monitoring._stats import (
    chi2_statistic,
    jensen_shannon_distance,
    ks_statistic,
    population_stability_index,
)
from churnlib.monitoring._summary import DriftSummary

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DriftDetector",
    "DriftSummary",
    "chi2_statistic",
    "jensen_shannon_distance",
    "ks_statistic",
    "population_stability_index",
]
