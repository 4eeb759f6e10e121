"""From per-chunk frames to incidents: one alert per subject and chunk at most.

A *subject* is what an alert is about: one feature's drift (all its
statistics together), one feature's data quality, or one model metric
(realized or estimated). Every rule watching a subject is evaluated per chunk;
the subject's severity in a chunk is the highest severity among the rules
that hold there (after their ``consecutive`` streak).

An **incident** opens at the first chunk where a subject has a severity, stays
open while some rule keeps holding, and closes at the first chunk where none
does. An alert is raised when an incident opens and again only when it
escalates to a higher severity; a new incident (a new alert) needs the old one
to close first. Performance rules are directional (``_drop``, ``_increase``),
so an improvement never opens an incident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnlib.monitoring._alerts import (
    DRIFT_METRICS,
    QUALITY_METRICS,
    Alert,
    AlertRule,
)
from churnlib.monitoring._performance import HIGHER_IS_BETTER

__all__ = ["drift_ratio", "evaluate_rules", "incident_key"]

_RANK = {"info": 1, "warning": 2, "critical": 3}
_METHOD_NAMES = {
    "psi": "PSI",
    "ks": "KS",
    "jensen_shannon": "JS distance",
    "chi2": "chi-square",
}


def label(chunk: Any) -> str:
    """Short text of a chunk key (int or UTC Timestamp)."""
    if isinstance(chunk, pd.Timestamp):
        text: str = (
            chunk.strftime("%Y-%m-%d %H:%M")
            if (chunk.hour or chunk.minute)
            else chunk.strftime("%Y-%m-%d")
        )
        return text
    return str(chunk)


def drift_ratio(drift: pd.DataFrame) -> pd.DataFrame:
    """Features x chunks table of ``max(statistic / threshold)`` over methods."""
    if not len(drift):
        return pd.DataFrame()
    ratio = drift.assign(
        ratio=drift["statistic"].to_numpy(dtype=float)
        / drift["threshold"].to_numpy(dtype=float)
    )
    return ratio.pivot_table(
        index="feature", columns="chunk", values="ratio", aggfunc="max", sort=False
    )


def _group(metric: str) -> str:
    if metric in DRIFT_METRICS:
        return "drift"
    if metric in QUALITY_METRICS:
        return "data_quality"
    base = metric
    for suffix in ("_drop", "_shift", "_increase"):
        base = base.removesuffix(suffix)
    return base


def _rule_table(
    rule: AlertRule,
    keys: Sequence[Any],
    drift: pd.DataFrame,
    perf: pd.DataFrame,
    quality: pd.DataFrame,
) -> pd.DataFrame:
    """Chunks x features (or one ``None`` column) table of the rule's metric."""
    metric = rule.metric
    if metric == "drift":
        table = drift_ratio(drift).T
    elif metric in DRIFT_METRICS:
        rows = drift[drift["method"] == metric]
        rows = rows.assign(value=rows["statistic"].where(rows["drifted"]))
        table = rows.pivot_table(
            index="chunk", columns="feature", values="value", sort=False, dropna=False
        )
    elif metric in QUALITY_METRICS:
        q = quality
        if metric == "missing_rate_increase":
            q = q.assign(
                missing_rate_increase=q["missing_rate"] - q["reference_missing_rate"]
            )
        table = q.pivot_table(
            index="chunk", columns="feature", values=metric, sort=False, dropna=False
        )
    else:
        estimated = metric.startswith("estimated_")
        base = metric.removeprefix("estimated_")
        drop = base.endswith("_drop")
        shift = base.endswith("_shift")
        increase = base.endswith("_increase")
        for suffix in ("_drop", "_shift", "_increase"):
            base = base.removesuffix(suffix)
        kind = "estimated" if estimated else "realized"
        if base in ("predicted_rate", "mean_score"):
            kind = "observed"
        rows = perf[(perf["metric"] == base) & (perf["kind"] == kind)]
        values = rows["value"]
        if drop:
            sign = 1.0 if HIGHER_IS_BETTER.get(base, True) else -1.0
            values = sign * (rows["reference"] - rows["value"])
        elif increase:
            values = rows["value"] - rows["reference"]
        elif shift:
            values = (rows["value"] - rows["reference"]).abs()
        table = pd.DataFrame({None: values.to_numpy()}, index=rows["chunk"].to_numpy())
    if len(table.columns) == 0 and not len(table):
        table = pd.DataFrame(index=list(keys))
    table = table.reindex(index=list(keys))
    if rule.feature is not None and rule.per_feature:
        table = table.reindex(columns=[rule.feature])
    return table


def incident_key(alert: Alert) -> str:
    """Stable id of one alert of one incident (subject, start, severity)."""
    text = f"{alert.metric}|{alert.feature}|{label(alert.opened_at)}|{alert.severity}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def evaluate_rules(
    rules: Sequence[AlertRule],
    keys: Sequence[Any],
    drift: pd.DataFrame,
    perf: pd.DataFrame,
    quality: pd.DataFrame,
) -> tuple[list[Alert], pd.DataFrame]:
    """Alerts (incident openings and escalations) and the incidents table."""
    # subject -> chunk index -> list of (severity rank, rule, value)
    holding: dict[tuple[str, str | None], list[list[tuple[int, AlertRule, float]]]] = {}
    for rule in rules:
        table = _rule_table(rule, keys, drift, perf, quality)
        group = _group(rule.metric)
        for feature in table.columns:
            name = None if _is_none(feature) else str(feature)
            values = table[feature].to_numpy(dtype=float)
            cells = holding.setdefault((group, name), [[] for _ in keys])
            streak = 0
            for i, value in enumerate(values):
                if rule.holds(value):
                    streak += 1
                    if streak >= rule.consecutive:
                        cells[i].append((_RANK[rule.severity], rule, float(value)))
                else:
                    streak = 0
    alerts: list[Alert] = []
    incidents: list[dict[str, Any]] = []
    for (group, feature), cells in holding.items():
        level = 0
        current: dict[str, Any] | None = None
        for i, cell in enumerate(cells):
            if not cell:
                if current is not None:
                    current["closed_at"] = keys[i]
                    incidents.append(current)
                    current, level = None, 0
                continue
            rank, rule, value = max(
                cell,
                key=lambda c: (c[0], c[2] / c[1].threshold if c[1].threshold else 0),
            )
            if current is None:
                current = {
                    "subject": group,
                    "feature": feature,
                    "opened_at": keys[i],
                    "closed_at": None,
                    "severity": rule.severity,
                    "n_chunks": 0,
                    "n_alerts": 0,
                }
                status = "opened"
            elif rank > level:
                status = "escalated"
            else:
                status = ""
            current["n_chunks"] += 1
            if status:
                level = rank
                current["severity"] = rule.severity
                current["n_alerts"] += 1
                alerts.append(
                    _make_alert(
                        rule,
                        group,
                        feature,
                        keys[i],
                        value,
                        opened_at=current["opened_at"],
                        status=status,
                        drift=drift,
                        perf=perf,
                    )
                )
        if current is not None:
            incidents.append(current)
    order = {k: i for i, k in enumerate(keys)}
    alerts.sort(key=lambda a: (order[a.chunk], -_RANK[a.severity], str(a.feature)))
    frame = pd.DataFrame(
        incidents,
        columns=[
            "subject",
            "feature",
            "opened_at",
            "closed_at",
            "severity",
            "n_chunks",
            "n_alerts",
        ],
    )
    if len(frame):
        frame = frame.assign(_o=frame["opened_at"].map(order)).sort_values(
            ["_o", "subject"], kind="stable"
        )
        frame = frame.drop(columns="_o").reset_index(drop=True)
    return alerts, frame


def _is_none(feature: Any) -> bool:
    return feature is None or (isinstance(feature, float) and np.isnan(feature))


def _unit(group: str) -> str:
    if group == "drift":
        return "x threshold"
    if group == "data_quality" or group.endswith(("rate", "accuracy")):
        return "share of rows"
    return ""


def _make_alert(
    rule: AlertRule,
    group: str,
    feature: str | None,
    chunk: Any,
    value: float,
    *,
    opened_at: Any,
    status: str,
    drift: pd.DataFrame,
    perf: pd.DataFrame,
) -> Alert:
    sev = rule.severity.upper()
    streak = f" for {rule.consecutive} chunks" if rule.consecutive > 1 else ""
    where = f"{streak} at chunk {label(chunk)}".lstrip()
    again = "" if status == "opened" else f" (escalated; open since {label(opened_at)})"
    statistics: dict[str, float] = {}
    if group == "drift":
        subject = (
            "the model's scores" if feature == "model_score" else f"feature {feature!r}"
        )
        rows = drift[(drift["chunk"] == chunk) & (drift["feature"] == feature)]
        parts = []
        for _, r in rows.iterrows():
            stat, thr = float(r["statistic"]), float(r["threshold"])
            statistics[str(r["method"])] = stat
            mark = ">" if stat > thr else "<="
            parts.append(
                f"{_METHOD_NAMES.get(str(r['method']), r['method'])} {stat:.3g} "
                f"{mark} {thr:.3g}"
            )
        if rule.metric == "drift":
            head = (
                f"{value:.2f}x its drift threshold (alert {rule.op} "
                f"{rule.threshold:g}x)"
            )
        else:
            name = _METHOD_NAMES.get(rule.metric, rule.metric)
            head = f"{name} {value:.3g} (alert {rule.op} {rule.threshold:g})"
        message = (
            f"{sev}: {subject} drifted {where}: {head}; statistics against the "
            f"detector's thresholds: {', '.join(parts)}{again}"
        )
    elif group == "data_quality":
        statistics[rule.metric] = value
        message = (
            f"{sev}: {rule.metric.replace('_', ' ')} of feature {feature!r} is "
            f"{value:.1%} {where} (alert {rule.op} {rule.threshold:.1%}){again}"
        )
    else:
        metric = rule.metric
        estimated = metric.startswith("estimated_")
        base = _group(metric).removeprefix("estimated_")
        kind = "estimated" if estimated else "realized"
        if base in ("predicted_rate", "mean_score"):
            kind = "observed"
        row = perf[
            (perf["chunk"] == chunk) & (perf["metric"] == base) & (perf["kind"] == kind)
        ]
        now = float(row["value"].iloc[0]) if len(row) else float("nan")
        ref = float(row["reference"].iloc[0]) if len(row) else float("nan")
        statistics = {base: now, "reference": ref}
        what = ("estimated " if estimated else "") + base.replace("_", " ")
        if metric.endswith("_drop"):
            verb = "fell" if HIGHER_IS_BETTER.get(base, True) else "rose"
            change = f"{verb} by {value:.3g}"
        elif metric.endswith("_increase"):
            change = f"rose by {value:.3g}"
        elif metric.endswith("_shift"):
            change = f"{'rose' if now > ref else 'fell'} by {value:.3g}"
        else:
            change = f"is {value:.3g}"
        message = (
            f"{sev}: {what} of the model {change} {where} ({now:.3f} against "
            f"{ref:.3f} on the reference; alert {rule.op} {rule.threshold:g}){again}"
        )
    return Alert(
        metric=rule.metric,
        feature=feature,
        chunk=chunk,
        value=float(value),
        threshold=float(rule.threshold),
        op=rule.op,
        severity=rule.severity,
        message=message,
        unit=_unit(group)
        if rule.metric in ("drift", *QUALITY_METRICS) or group != "drift"
        else rule.metric,
        subject=group,
        opened_at=opened_at,
        status=status,
        statistics=statistics,
    )
