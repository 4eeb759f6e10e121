"""The monitoring report's plain-language summary and its HTML page."""

import base64
import re
from collections import Counter

import pytest

from churnlib.data import simulate_production

from .conftest import log_all, make_monitor

FIGURES = ["roc_auc", "f1", "scores", "drift"]


def _images(document):
    return re.findall(
        r"<figure id='([a-z0-9_]+)'[^>]*>.*?src='data:image/png;base64,([^']+)'",
        document,
        flags=re.S,
    )


def _text(document):
    """The document without the embedded image data (base64 may spell 'NaN')."""
    return re.sub(r"base64,[^']+", "base64,", document)


def _assert_self_contained(document):
    assert document.startswith("<!DOCTYPE html>")
    assert not re.search(r"(?:src|href)\s*=\s*['\"](?!data:)", document)
    assert "http://" not in document
    assert "https://" not in document
    assert "<link" not in document
    assert "<script" not in document
    assert "@import" not in document


@pytest.fixture(scope="module")
def drift_report(reference_table):
    """Six chunks; covariate shift from chunk 3; outcomes for chunks 0-3."""
    from churnlib.monitoring import DEFAULT_RULES

    batches = list(
        simulate_production(6, 500, scenario="covariate_shift", onset=3, random_state=1)
    )
    monitor = make_monitor(reference_table, rules=DEFAULT_RULES)
    log_all(monitor, batches[:4])
    log_all(monitor, batches[4:], outcomes=False)
    return monitor.report(chunk_size=500)


@pytest.fixture(scope="module")
def calm_report(reference_table, batches):
    monitor = make_monitor(reference_table)
    log_all(monitor, batches)
    return monitor.report(chunk_size=1000)


def test_summary_with_drift_is_computed_from_the_report(drift_report):
    r = drift_report
    text = r.summary()
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith(
        f"This report covers {int(r.chunks['n'].sum()):,} predictions in "
        f"{len(r.chunks)} chunks (chunks of 500 predictions)"
    )
    labeled = int(r.chunks["n_labeled"].sum())
    assert f"known for {labeled:,} of them" in paragraphs[0]
    # drift: the first flagged chunk and the features flagged there
    flagged = r.drift[r.drift["drifted"]]
    first = flagged["chunk"].min()
    assert first == 3  # the simulated onset
    assert f"Drift started at chunk {first} (chunk 4 of 6)" in text
    for feature in set(flagged.loc[flagged["chunk"] == first, "feature"]):
        name = "the model's scores" if feature == "model_score" else f"'{feature}'"
        assert name in text
    assert "'age'" not in text  # not shifted by the scenario
    # realized AUC against the reference, where labels exist
    auc = r.performance[r.performance["metric"] == "roc_auc"]
    realized = auc[(auc["kind"] == "realized") & auc["value"].notna()]
    assert len(realized) == 4
    assert "Where outcomes are known (4 chunks)" in text
    assert f"against {realized['reference'].iloc[0]:.3f} on the reference" in text
    assert f"{realized['value'].min():.3f} to {realized['value'].max():.3f}" in text
    # label-free estimate for the two chunks without outcomes
    estimated = auc[(auc["kind"] == "estimated") & auc["chunk"].isin([4, 5])]
    assert "For the 2 chunks without outcomes yet (4 to 5)" in text
    lo, hi = estimated["value"].min(), estimated["value"].max()
    assert f"ROC AUC of {lo:.3f} to {hi:.3f}" in text
    # alerts by severity
    counts = Counter(a.severity for a in r.alerts)
    assert counts  # the shift must raise alerts
    assert f"{len(r.alerts)} alerts fired for {len(r.incidents)} incidents (" in text
    for severity, n in counts.items():
        assert f"{n} {severity}" in text
    assert "No drift" not in text


def test_summary_without_drift(calm_report):
    text = calm_report.summary()
    assert "No drift:" in text
    assert "Drift started" not in text
    assert "Every chunk has outcomes" in text
    assert "without outcomes" not in text
    assert text.endswith("No alert fired.")
    assert "in 3 chunks (chunks of 1,000 predictions)" in text


def test_summary_of_an_empty_log(reference_table, pyplot):
    report = make_monitor(reference_table).report()
    assert report.summary().startswith("No predictions have been logged yet")
    document = report.to_html()
    _assert_self_contained(document)
    assert [k for k, _ in _images(document)] == ["scores", "drift"]
    assert "NaN" not in _text(document)


@pytest.mark.parametrize("which", ["drift_report", "calm_report"])
def test_html_is_self_contained_and_embeds_every_figure(which, request, pyplot):
    report = request.getfixturevalue(which)
    document = report.to_html()
    _assert_self_contained(document)
    images = _images(document)
    assert [key for key, _ in images] == FIGURES
    assert document.count("<figure") == len(FIGURES)
    assert document.count("data:image/png;base64,") == len(FIGURES)
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "In plain words" in document
    assert "NaN" not in _text(document)
    assert "<h2>Realized performance</h2>" in document
    assert "<h2>Estimated performance</h2>" in document


def test_html_summary_alerts_and_missing_labels(drift_report, pyplot):
    import html

    document = drift_report.to_html()
    *paragraphs, last = drift_report.summary().split("\n\n")
    for paragraph in paragraphs:
        assert f"<p>{html.escape(paragraph)}</p>" in document
    assert f"<p class='target'>{html.escape(last)}</p>" in document
    # alerts as a readable table
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "severity",
            "chunk",
            "why",
            "subject",
            "feature",
            "value",
            "threshold",
            "details",
        )
    )
    assert f"<thead><tr>{head}</tr></thead>" in document
    section = document.split("<h2>Alerts</h2>")[1].split("<h3>Incidents</h3>")[0]
    assert section.count("<tr>") == len(drift_report.alerts) + 1
    incidents = document.split("<h3>Incidents</h3>")[1].split("<h2>")[0]
    assert incidents.count("<tr>") == len(drift_report.incidents) + 1
    for severity in {a.severity for a in drift_report.alerts}:
        assert f"<span class='sev sev-{severity}'>{severity}</span>" in section
    # chunks without outcomes read "no labels yet" in the realized table only
    realized = document.split("<h2>Realized performance</h2>")[1].split("<h2>")[0]
    estimated = document.split("<h2>Estimated performance</h2>")[1].split("<h2>")[0]
    n_metrics = drift_report.performance.query("kind == 'realized'")["metric"].nunique()
    assert realized.count("no labels yet") == 2 * n_metrics
    assert "no labels yet" not in estimated
    assert "<td>reference</td>" in realized


def test_calm_html_has_no_alert_table(calm_report, pyplot):
    document = calm_report.to_html()
    assert "<p>No alerts.</p>" in document
    assert "<p>No drift flagged.</p>" in document
    assert "no labels yet" not in document


@pytest.mark.parametrize(
    "method", ["plot_performance", "plot_score_distribution", "plot_drift"]
)
def test_plots_without_matplotlib_name_the_extra(calm_report, monkeypatch, method):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    msg = (
        f"MonitorReport.{method} requires matplotlib. "
        'Install it with pip install "churnlib[plot]".'
    )
    with pytest.raises(ImportError, match=re.escape(msg)):
        getattr(calm_report, method)()
