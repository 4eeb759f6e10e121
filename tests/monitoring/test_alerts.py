import http.server
import json
import logging
import threading

import numpy as np
import pytest

from churnlib.data import simulate_production
from churnlib.exceptions import InvalidParameterError
from churnlib.monitoring import (
    DEFAULT_RULES,
    Alert,
    AlertRule,
    CallableSink,
    JsonLinesSink,
    LoggingSink,
    WebhookSink,
)
from tests.fixtures.cloud import backend_params
from tests.monitoring.conftest import log_all, make_monitor


@pytest.fixture(scope="module")
def shifted_batches():
    """Eight batches of 1,000 rows; covariate shift from batch 3 on."""
    return list(
        simulate_production(
            8, 1000, scenario="covariate_shift", onset=3, random_state=5
        )
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("psi", "=", 0.1), {}, "'op'"),
        (("psi", ">", 0.1), {"severity": "fatal"}, "'severity'"),
        (("psi", ">", 0.1), {"consecutive": 0}, "'consecutive'"),
        (("psi", ">", "high"), {}, "'threshold'"),
        (("wasserstein", ">", 0.1), {}, "unknown metric"),
        (("estimated_mean_score", ">", 0.1), {}, "unknown metric"),
    ],
)
def test_rule_validation(args, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        AlertRule(*args, **kwargs)


def test_rule_metric_names():
    for metric in [
        "drift",
        "chi2",
        "missing_rate_increase",
        "roc_auc",
        "estimated_f1_drop",
        "brier_drop",
        "churn_rate_shift",
        "predicted_rate",
    ]:
        AlertRule(metric, ">", 0.1)
    assert AlertRule("psi", ">", 0.1).per_feature
    assert not AlertRule("roc_auc", "<", 0.7).per_feature
    assert not AlertRule("psi", ">", 0.1).holds(float("nan"))


def test_alert_fires_once_while_active(reference_table, shifted_batches):
    rule = AlertRule("psi", ">", 0.1, feature="contract")
    monitor = make_monitor(reference_table, rules=[rule])
    log_all(monitor, shifted_batches)
    report = monitor.report(chunk_size=1000)
    assert [(a.chunk, a.feature) for a in report.alerts] == [(3, "contract")]
    alert = report.alerts[0]
    assert isinstance(alert, Alert)
    assert "contract" in str(alert)
    assert "PSI" in str(alert)
    assert alert.value > 0.1
    assert alert.subject == "drift"
    assert alert.status == "opened"
    assert set(alert.statistics) == {"psi", "chi2"}
    assert alert.to_dict()["chunk"] == "3"


def test_consecutive_and_refire(reference_table, shifted_batches, batches):
    rule = AlertRule("psi", ">", 0.1, feature="contract", consecutive=3)
    monitor = make_monitor(reference_table, rules=[rule])
    log_all(monitor, shifted_batches)
    report = monitor.report(chunk_size=1000)
    assert [a.chunk for a in report.alerts] == [5]
    assert "for 3 chunks" in str(report.alerts[0])
    # the condition clears, then comes back: a second alert
    monitor = make_monitor(
        reference_table, rules=[AlertRule("psi", ">", 0.1, feature="contract")]
    )
    log_all(monitor, shifted_batches[3:5] + batches[:2] + shifted_batches[5:6])
    assert [a.chunk for a in monitor.report(chunk_size=500).alerts] == [0, 6]


def test_default_rules_on_covariate_shift(reference_table, shifted_batches, caplog):
    monitor = make_monitor(reference_table, rules=None, sinks=None)
    assert monitor.rules == DEFAULT_RULES
    log_all(monitor, shifted_batches)
    with caplog.at_level(logging.WARNING, logger="churnlib.monitoring"):
        report = monitor.report(chunk_size=1000)
    assert caplog.records == []  # report() is a pure query: nothing sent
    assert report.alerts
    assert min(a.chunk for a in report.alerts) == 3
    # one alert per (feature, chunk): every statistic of a feature combined
    pairs = [(a.subject, a.feature, a.chunk) for a in report.alerts]
    assert len(pairs) == len(set(pairs))
    drift = [a for a in report.alerts if a.subject == "drift"]
    # the big moves open at the onset; weaker knock-on shifts of correlated
    # features (payment method, tech support) may open later, never before
    assert {a.chunk for a in drift if a.severity == "critical"} == {3}
    assert min(a.chunk for a in drift) == 3
    assert all(a.unit == "x threshold" for a in drift)
    assert {a.metric for a in report.alerts} <= {
        "drift",
        "estimated_churn_rate_increase",
        "churn_rate_increase",
        "estimated_roc_auc_drop",
        "roc_auc_drop",
        "missing_rate_increase",
    }
    assert "estimated_churn_rate_increase" in {a.metric for a in report.alerts}
    with caplog.at_level(logging.WARNING, logger="churnlib.monitoring"):
        sent = monitor.notify(report)
    assert len(sent) == len(report.alerts)
    assert len(caplog.records) == len(report.alerts)
    # a second notify does not send the same alerts again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="churnlib.monitoring"):
        again = monitor.report(chunk_size=1000)
        assert monitor.notify(again) == ()
    assert len(again.alerts) == len(report.alerts)
    assert caplog.records == []


def test_performance_rule(reference_table, batches):
    monitor = make_monitor(reference_table, rules=[AlertRule("roc_auc", "<", 0.99)])
    log_all(monitor, batches[:2])
    alerts = monitor.report(chunk_size=500).alerts
    assert [a.chunk for a in alerts] == [0]
    assert alerts[0].feature is None
    assert "the model" in str(alerts[0])


def test_sinks(reference_table, shifted_batches, memory_fs, tmp_path):
    received = []
    rule = AlertRule("psi", ">", 0.1, feature="contract")
    sinks = [
        received.append,
        CallableSink(received.append),
        JsonLinesSink("memory://alerts/a.jsonl"),
        JsonLinesSink(tmp_path / "alerts" / "a.jsonl"),
        LoggingSink("churnlib.test"),
    ]
    monitor = make_monitor(reference_table, rules=[rule], sinks=sinks)
    log_all(monitor, shifted_batches[:5])
    monitor.notify(monitor.report(chunk_size=1000))
    assert len(received) == 2
    lines = memory_fs.cat_file("/alerts/a.jsonl").decode().splitlines()
    assert json.loads(lines[0])["feature"] == "contract"
    assert (tmp_path / "alerts" / "a.jsonl").read_text().count("\n") == 1
    # new alerts append
    log_all(monitor, shifted_batches[5:])
    monitor.notify(monitor.report(freq="1D"))
    lines = memory_fs.cat_file("/alerts/a.jsonl").decode().splitlines()
    assert len(lines) == 2


def test_broken_sink_is_logged_not_raised(reference_table, shifted_batches, caplog):
    def broken(alert):
        raise RuntimeError("down")

    seen = []
    rule = AlertRule("psi", ">", 0.1, feature="contract")
    monitor = make_monitor(reference_table, rules=[rule], sinks=[broken, seen.append])
    log_all(monitor, shifted_batches[:4])
    with caplog.at_level(logging.ERROR, logger="churnlib.monitoring"):
        monitor.notify(monitor.report(chunk_size=1000))
    assert len(seen) == 1
    assert "RuntimeError: down" in caplog.text


@pytest.fixture
def webhook_server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                (self.headers["Content-Type"], self.headers.get("X-Token"), body)
            )
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_webhook_sink(reference_table, shifted_batches, webhook_server, caplog):
    url, received = webhook_server
    rule = AlertRule("psi", ">", 0.1, feature="contract", severity="critical")
    sinks = [
        WebhookSink(f"{url}/ok?token=secret", headers={"X-Token": "t"}),
        WebhookSink(f"{url}/fail?token=secret"),
    ]
    monitor = make_monitor(reference_table, rules=[rule], sinks=sinks)
    log_all(monitor, shifted_batches[:4])
    with caplog.at_level(logging.ERROR, logger="churnlib.monitoring"):
        monitor.notify(monitor.report(chunk_size=1000))
    assert len(received) == 2
    content_type, token, body = received[0]
    assert content_type == "application/json"
    assert token == "t"
    payload = json.loads(body)
    assert payload["metric"] == "psi"
    assert payload["severity"] == "critical"
    assert payload["chunk"] == "3"
    assert "HTTP Error 500" in caplog.text
    assert "secret" not in caplog.text
    assert "secret" not in repr(sinks[0])


def test_no_drift_no_alerts(reference_table, batches):
    monitor = make_monitor(reference_table, rules=None, sinks=[])
    log_all(monitor, batches)
    assert monitor.report(chunk_size=1000).alerts == ()
    assert np.isfinite(monitor.reference_metrics_["roc_auc"])


def test_sent_alerts_remembered_in_the_store(
    reference_table, shifted_batches, storage_url
):
    received = []
    rule = AlertRule("psi", ">", 0.1, feature="contract")
    monitor = make_monitor(
        reference_table, rules=[rule], sinks=[received.append], store=storage_url
    )
    log_all(monitor, shifted_batches[:5])
    monitor.notify(monitor.report(chunk_size=1000))
    assert len(received) == 1
    # next week, a new process: same store, old alert not sent again
    again = make_monitor(
        reference_table, rules=[rule], sinks=[received.append], store=storage_url
    )
    report = again.report(chunk_size=1000)
    assert len(report.alerts) == 1
    assert again.notify(report) == ()
    assert len(received) == 1
    assert len(again._log.parts("alerts")) == 1


@pytest.mark.cloud
@pytest.mark.parametrize("cloud_store_url", backend_params("s3"), indirect=True)
def test_json_lines_sink_on_s3(cloud_store_url):
    import fsspec

    url, options = cloud_store_url
    sink = JsonLinesSink(f"{url}/alerts.jsonl", storage_options=options)
    rule = AlertRule("psi", ">", 0.1)
    for chunk in (1, 2):
        sink(
            Alert(
                metric="psi",
                feature="age",
                chunk=chunk,
                value=0.3,
                threshold=0.1,
                op=">",
                severity=rule.severity,
                message="m",
            )
        )
    fs, path = fsspec.core.url_to_fs(f"{url}/alerts.jsonl", **options)
    lines = fs.cat_file(path).decode().splitlines()
    assert [json.loads(line)["chunk"] for line in lines] == ["1", "2"]
