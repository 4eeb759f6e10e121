"""Incidents: one alert per subject and chunk, escalation, exactly-once delivery."""

import json
import multiprocessing

import numpy as np
import pandas as pd
import pytest

from churnlib.data import generate_customers
from churnlib.monitoring import AlertRule, JsonLinesSink
from tests.fixtures.cloud import backend_params
from tests.monitoring.conftest import make_monitor

RULES = (
    AlertRule("drift", ">", 1.0, severity="warning"),
    AlertRule("drift", ">", 3.0, severity="critical"),
)
# monthly charges shift (in reference standard deviations) per daily batch
SHIFTS = [0.0, 0.3, 0.3, 1.0, 1.0, 0.0, 0.3]


def shifted(reference_table, shifts=SHIFTS, n=2000):
    sd = reference_table["age"].std()
    out = []
    for day, shift in enumerate(shifts):
        b = generate_customers(n, random_state=100 + day, return_truth=True)
        X = b.drop(columns=["churned", "churn_probability"])
        X["age"] = X["age"] + shift * sd
        out.append((X, b["churn_probability"], b["churned"], f"2026-01-{day + 1:02d}"))
    return out


def log(monitor, batches, outcomes=False):
    for X, p, y, when in batches:
        keys = monitor.log_predictions(X, p, timestamp=when)
        if outcomes:
            monitor.log_outcomes(keys, y)


def test_incident_opens_escalates_closes_and_reopens(reference_table):
    monitor = make_monitor(reference_table, rules=RULES)
    log(monitor, shifted(reference_table))
    report = monitor.report(freq="1D")
    mine = [a for a in report.alerts if a.feature == "age"]
    days = [a.chunk.day for a in mine]
    assert [(d, a.severity, a.status) for d, a in zip(days, mine, strict=True)] == [
        (2, "warning", "opened"),
        (4, "critical", "escalated"),
        (7, "warning", "opened"),
    ]
    escalated = mine[1]
    assert escalated.opened_at == mine[0].chunk
    assert "escalated; open since 2026-01-02" in str(escalated)
    assert escalated.unit == "x threshold"
    assert escalated.value > 3
    assert {"psi", "ks"} == set(escalated.statistics)
    assert "PSI" in str(escalated)
    assert "KS" in str(escalated)
    # one alert per (subject, feature, chunk) at most
    cells = [(a.subject, a.feature, a.chunk) for a in report.alerts]
    assert len(cells) == len(set(cells))
    inc = report.incidents[report.incidents["feature"] == "age"]
    assert inc["severity"].tolist() == ["critical", "warning"]
    assert inc["n_chunks"].tolist() == [4, 1]
    assert inc["closed_at"].iloc[0].day == 6
    assert pd.isna(inc["closed_at"].iloc[1])  # still open


def test_improvements_never_alert(reference_table):
    rules = (
        AlertRule("churn_rate_increase", ">", 0.05),
        AlertRule("roc_auc_drop", ">", 0.05),
    )
    monitor = make_monitor(reference_table, rules=rules)
    batches = shifted(reference_table, [0.0, 0.0])
    for X, p, y, when in batches:
        keys = monitor.log_predictions(X, p, timestamp=when)
        monitor.log_outcomes(keys, np.zeros(len(y), bool) | (p.to_numpy() > 0.6))
    report = monitor.report(freq="1D")
    # fewer churners than the reference and a near-perfect ranking: better
    assert report.alerts == ()
    rate = report.performance.query("metric == 'churn_rate' and kind == 'realized'")
    assert (rate["direction"] == "better").all()
    auc = report.performance.query("metric == 'roc_auc' and kind == 'realized'")
    assert (auc["direction"] == "better").all()
    # the symmetric rule would have called the improvement an alert
    loose = make_monitor(
        reference_table, rules=(AlertRule("churn_rate_shift", ">", 0.05),)
    )
    for X, p, _, when in batches:
        keys = loose.log_predictions(X, p, timestamp=when)
        loose.log_outcomes(keys, p.to_numpy() > 0.6)
    alerts = loose.report(freq="1D").alerts
    assert alerts
    assert all("fell by" in str(a) for a in alerts)


def test_report_is_a_pure_query(reference_table, tmp_path):
    received = []
    url = tmp_path.as_uri()
    monitor = make_monitor(
        reference_table, rules=RULES, sinks=[received.append], store=url
    )
    log(monitor, shifted(reference_table))
    for _ in range(3):
        report = monitor.report(freq="1D")
    assert received == []
    assert monitor._log.parts("alerts") == []
    assert not (tmp_path / "alerts" / "claims").exists()
    sent = monitor.notify(report)
    assert len(sent) == len(report.alerts) == len(received)
    assert monitor.notify(monitor.report(freq="1D")) == ()
    # a new incident later is sent; the old ones are not
    log(monitor, [(*shifted(reference_table, [1.0])[0][:3], "2026-01-09")])
    report = monitor.report(freq="1D")
    new = monitor.notify(report)
    assert [a.chunk.day for a in new if a.feature == "age"] == [9]


def test_failed_delivery_is_retried(reference_table):
    calls = []

    def down(alert):
        calls.append(alert)
        raise RuntimeError("down")

    monitor = make_monitor(reference_table, rules=RULES, sinks=[down])
    log(monitor, shifted(reference_table))
    report = monitor.report(freq="1D")
    assert monitor.notify(report) == ()
    assert len(calls) == len(report.alerts)
    monitor.sinks = (lambda a: None,)
    assert len(monitor.notify(report)) == len(report.alerts)


def _notify_worker(args):
    url, options, path, frame_path = args
    import pandas as pd

    from tests.monitoring.conftest import make_monitor

    reference = pd.read_pickle(frame_path)
    monitor = make_monitor(
        reference,
        rules=RULES,
        store=url,
        storage_options=options,
        sinks=[JsonLinesSink(path)],
    )
    return len(monitor.notify(monitor.report(freq="1D")))


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_exactly_once_across_processes(reference_table, cloud_store_url, tmp_path):
    url, options = cloud_store_url
    monitor = make_monitor(
        reference_table, rules=RULES, store=url, storage_options=options
    )
    log(monitor, shifted(reference_table))
    n_alerts = len(monitor.report(freq="1D").alerts)
    assert n_alerts >= 3
    frame_path = tmp_path / "reference.pkl"
    reference_table.to_pickle(frame_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        counts = pool.map(
            _notify_worker,
            [
                (url, options, str(tmp_path / f"alerts-{i}.jsonl"), frame_path)
                for i in range(3)
            ],
        )
    assert sum(counts) == n_alerts
    lines = [
        json.loads(line)
        for i in range(3)
        if (tmp_path / f"alerts-{i}.jsonl").exists()
        for line in (tmp_path / f"alerts-{i}.jsonl").read_text().splitlines()
    ]
    assert len(lines) == n_alerts
    keys = {(d["feature"], d["chunk"], d["severity"]) for d in lines}
    assert len(keys) == n_alerts


def test_alert_to_dict_is_json(reference_table):
    monitor = make_monitor(reference_table, rules=RULES)
    log(monitor, shifted(reference_table, [0.0, 1.0]))
    alert = monitor.report(freq="1D").alerts[0]
    d = json.loads(json.dumps(alert.to_dict()))
    assert d["unit"] == "x threshold"
    assert d["opened_at"] == str(pd.Timestamp("2026-01-02", tz="UTC"))
    assert set(d["statistics"]) == {"psi", "ks"}
