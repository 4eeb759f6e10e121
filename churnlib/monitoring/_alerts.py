"""Alert rules, alerts and the sinks that deliver them."""

from __future__ import annotations

import json
import logging
import operator
import os
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from churnlib.exceptions import InvalidParameterError

__all__ = [
    "DEFAULT_RULES",
    "Alert",
    "AlertRule",
    "CallableSink",
    "JsonLinesSink",
    "LoggingSink",
    "WebhookSink",
]

logger = logging.getLogger("churnlib.monitoring")

_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_SEVERITIES = ("info", "warning", "critical")

#: Metrics computed per (chunk, feature) from the drift frame.
DRIFT_METRICS = ("drift", "psi", "ks", "jensen_shannon", "chi2")
#: Metrics computed per (chunk, feature) from the data-quality frame.
QUALITY_METRICS = (
    "missing_rate",
    "missing_rate_increase",
    "unseen_rate",
    "out_of_range_rate",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert: a rule became true for a feature (or the model) at a chunk.

    Attributes
    ----------
    metric : str
        The rule's metric (``"psi"``, ``"roc_auc_drop"``, ...).
    feature : str or None
        The feature, ``"model_score"`` for the score, None for model-level
        performance metrics.
    chunk : object
        The chunk where the alert started (int or Timestamp).
    value : float
        The metric's value there.
    threshold : float
        The rule's threshold.
    op : str
        The rule's comparison.
    severity : str
        ``"info"``, ``"warning"`` or ``"critical"``.
    message : str
        Human-readable text (also what ``str()`` returns): the subject, its
        value with its unit, every statistic behind it and the threshold.
    unit : str, default=""
        Unit of ``value`` and ``threshold``: ``"x threshold"`` for drift (the
        largest statistic divided by its own threshold), ``"share of rows"``
        for rates, ``""`` for scores such as ROC AUC.
    subject : str, default=""
        What the incident is about: ``"drift"``, ``"data_quality"`` or the
        model metric (``"roc_auc"``, ``"estimated_roc_auc"``...).
    opened_at : object, default=None
        Chunk where the incident opened (equals ``chunk`` unless escalated).
    status : {"opened", "escalated", ""}, default=""
        Why this alert exists: the incident opened, or it escalated.
    statistics : dict of str to float, default={}
        The statistics combined in this alert (e.g. ``{"psi": .., "ks": ..}``).
    """

    metric: str
    feature: str | None
    chunk: Any
    value: float
    threshold: float
    op: str
    severity: str
    message: str
    unit: str = ""
    subject: str = ""
    opened_at: Any = None
    status: str = ""
    statistics: Mapping[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        d = asdict(self)
        d["chunk"] = str(self.chunk)
        d["opened_at"] = None if self.opened_at is None else str(self.opened_at)
        d["value"] = float(self.value)
        d["threshold"] = float(self.threshold)
        d["statistics"] = {str(k): float(v) for k, v in self.statistics.items()}
        return d


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Raise an alert when ``metric op threshold`` holds.

    Parameters
    ----------
    metric : str
        What to watch, per chunk:

        - drift, per feature (and ``"model_score"``): ``"drift"`` (the largest
          statistic / threshold ratio of the detector; above 1 means flagged),
          or one statistic ``"psi"``, ``"ks"``, ``"jensen_shannon"``,
          ``"chi2"``. A statistic rule fires only where the detector also
          flagged that statistic, so noise in tiny chunks never alerts.
        - data quality, per feature: ``"missing_rate"``,
          ``"missing_rate_increase"`` (over the reference), ``"unseen_rate"``,
          ``"out_of_range_rate"``.
        - performance of the model: ``"roc_auc"``, ``"accuracy"``,
          ``"precision"``, ``"recall"``, ``"f1"``, ``"brier"``,
          ``"churn_rate"`` (realized, from labels), ``"predicted_rate"``,
          ``"mean_score"``; prefix ``"estimated_"`` for the label-free
          estimate; suffix ``"_drop"`` for reference minus value (for
          ``brier``: value minus reference, so a drop is always bad) or
          ``"_shift"`` for the absolute difference from the reference.
    op : {">", ">=", "<", "<="}
        Comparison of the metric's value with ``threshold``.
    threshold : float
        The bound.
    feature : str or None, default=None
        Restrict a per-feature metric to one feature; None watches every
        feature separately.
    consecutive : int, default=1
        Chunks in a row the condition must hold before the alert fires.
    severity : {"info", "warning", "critical"}, default="warning"
        Carried by the alert.

    Notes
    -----
    Rules feed incidents: all rules about one subject (one feature's drift,
    one feature's data quality, one model metric) combine into at most one
    alert per chunk. An incident opens when a rule first holds (after
    ``consecutive`` chunks), stays open while any rule about the subject
    holds, and alerts again only when a rule of higher severity starts to
    hold (escalation) or after the incident has closed.

    Examples
    --------
    >>> from churnlib.monitoring import AlertRule
    >>> AlertRule("roc_auc_drop", ">", 0.05, severity="critical")
    AlertRule(metric='roc_auc_drop', op='>', threshold=0.05, feature=None, \
consecutive=1, severity='critical')
    """

    metric: str
    op: str
    threshold: float
    feature: str | None = None
    consecutive: int = 1
    severity: str = "warning"

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise InvalidParameterError(
                f"The 'op' parameter of AlertRule must be a str among "
                f"{sorted(_OPS)}. Got {self.op!r} instead."
            )
        if self.severity not in _SEVERITIES:
            raise InvalidParameterError(
                f"The 'severity' parameter of AlertRule must be a str among "
                f"{list(_SEVERITIES)}. Got {self.severity!r} instead."
            )
        if (
            isinstance(self.consecutive, bool)
            or not isinstance(self.consecutive, int)
            or self.consecutive < 1
        ):
            raise InvalidParameterError(
                "The 'consecutive' parameter of AlertRule must be an int in the "
                f"range [1, inf). Got {self.consecutive!r} instead."
            )
        if isinstance(self.threshold, bool) or not isinstance(
            self.threshold, int | float
        ):
            raise InvalidParameterError(
                "The 'threshold' parameter of AlertRule must be a float. "
                f"Got {self.threshold!r} instead."
            )
        if not isinstance(self.metric, str) or not _known_metric(self.metric):
            raise InvalidParameterError(
                f"The 'metric' parameter of AlertRule names an unknown metric "
                f"{self.metric!r}. Use a drift statistic {list(DRIFT_METRICS)}, a "
                f"data-quality rate {list(QUALITY_METRICS)} or a performance "
                "metric such as 'roc_auc', 'estimated_roc_auc' or 'roc_auc_drop'."
            )

    @property
    def per_feature(self) -> bool:
        """Whether the metric is evaluated per feature."""
        return self.metric in DRIFT_METRICS or self.metric in QUALITY_METRICS

    def holds(self, value: float) -> bool:
        """Whether ``value op threshold`` (False for NaN)."""
        return value == value and bool(_OPS[self.op](value, self.threshold))


def _known_metric(metric: str) -> bool:
    from churnlib.monitoring._performance import METRICS

    if metric in DRIFT_METRICS or metric in QUALITY_METRICS:
        return True
    base = metric.removeprefix("estimated_")
    for suffix in ("_drop", "_shift", "_increase"):
        base = base.removesuffix(suffix)
    observed = ("predicted_rate", "mean_score")
    return base in METRICS or (base in observed and not metric.startswith("estimated_"))


#: Rules used when ``ChurnMonitor(rules=None)``. Drift has one scheme: the
#: detector's own thresholds (``"drift"`` is the largest statistic divided by
#: its threshold), a warning above 1x and critical above 3x. Performance rules
#: only look in the bad direction.
DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule("roc_auc_drop", ">", 0.05, severity="critical"),
    AlertRule("estimated_roc_auc_drop", ">", 0.05, severity="warning"),
    AlertRule("churn_rate_increase", ">", 0.05, severity="warning"),
    AlertRule("estimated_churn_rate_increase", ">", 0.03, severity="warning"),
    AlertRule("drift", ">", 1.0, severity="warning"),
    AlertRule("drift", ">", 3.0, severity="critical"),
    AlertRule("missing_rate_increase", ">", 0.05, severity="warning"),
)


# --------------------------------------------------------------------------- #
# sinks
# --------------------------------------------------------------------------- #
class LoggingSink:
    """Send alerts to a :mod:`logging` logger (the default sink).

    Parameters
    ----------
    logger : logging.Logger or str or None, default=None
        Logger or its name; None uses ``"churnlib.monitoring"``.
    """

    _LEVELS: Mapping[str, int] = {
        "info": logging.INFO,
        "warning": logging.WARNING,
        "critical": logging.CRITICAL,
    }

    def __init__(self, logger: logging.Logger | str | None = None) -> None:
        self.logger = logger

    def __call__(self, alert: Alert) -> None:
        log = (
            self.logger
            if isinstance(self.logger, logging.Logger)
            else logging.getLogger(self.logger or "churnlib.monitoring")
        )
        log.log(self._LEVELS[alert.severity], "%s", alert)


class CallableSink:
    """Call ``func(alert)`` for each alert (any callable works as a sink too)."""

    def __init__(self, func: Callable[[Alert], Any]) -> None:
        self.func = func

    def __call__(self, alert: Alert) -> None:
        self.func(alert)


class JsonLinesSink:
    """Append each alert as one JSON line to a file on any fsspec URL.

    Parameters
    ----------
    url : str or path-like
        Target file, e.g. ``"s3://bucket/alerts.jsonl"``.
    storage_options : dict or None, default=None
        Passed to fsspec.

    Notes
    -----
    Uses append mode where the file system has it (local, memory); on object
    stores, which cannot append, the file is read and rewritten.
    """

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.storage_options = storage_options

    def __call__(self, alert: Alert) -> None:
        import fsspec

        fs, path = fsspec.core.url_to_fs(
            os.fspath(self.url), **(self.storage_options or {})
        )
        line = (json.dumps(alert.to_dict(), sort_keys=True) + "\n").encode()
        parent = path.rsplit("/", 1)[0]
        if parent and parent != path:
            fs.makedirs(parent, exist_ok=True)
        try:
            with fs.open(path, "ab") as f:
                f.write(line)
        except (NotImplementedError, ValueError, OSError):
            old = fs.cat_file(path) if fs.exists(path) else b""
            fs.pipe_file(path, old + line)


class WebhookSink:
    """POST each alert as JSON to an HTTP(S) endpoint.

    Parameters
    ----------
    url : str
        Endpoint, e.g. a chat-ops incoming webhook.
    headers : dict or None, default=None
        Extra request headers (``Content-Type: application/json`` is set).
    timeout : float, default=10.0
        Seconds before the request is abandoned.

    Notes
    -----
    Delivery failures are logged (without the URL's query string, which may
    carry a token) and never stop the monitor.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookSink(url={self.url.split('?', 1)[0]!r})"

    def __call__(self, alert: Alert) -> None:
        body = json.dumps(alert.to_dict(), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", **(self.headers or {})}
        request = urllib.request.Request(
            self.url, data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


def deliver(alerts: Sequence[Alert], sinks: Sequence[Callable[[Alert], Any]]) -> int:
    """Send every alert to every sink; return the number of failed deliveries."""
    failures = 0
    for alert in alerts:
        for sink in sinks:
            try:
                sink(alert)
            except Exception as err:  # a broken sink must not stop monitoring
                failures += 1
                logger.error(
                    "alert sink %r failed: %s: %s", sink, type(err).__name__, err
                )
    return failures
