"""Customer-keyed monitoring of a re-scored base: keys, horizons, maturity."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churnlib.data import generate_customers, simulate_customer_base
from churnlib.exceptions import DataValidationError
from churnlib.monitoring import ChurnMonitor
from tests.fixtures.cloud import backend_params
from tests.monitoring.conftest import make_monitor


@pytest.fixture(scope="module")
def base():
    return simulate_customer_base(3000, 5, freq="30D", horizon="90D", random_state=3)


def on_bins(p):
    """Scores at the centre of the monitor's 0.001-wide bins: binned AUC is exact."""
    return np.floor(np.asarray(p) * 1000) / 1000 + 0.0005


def log_base(monitor, base):
    for s in base.scorings:
        monitor.log_predictions(s.X, on_bins(s.truth), timestamp=s.scored_at)


def hand_auc(base, index, as_of):
    """AUC of one scoring on its matured predictions, from the known dates."""
    s = base.scorings[index]
    dates = base.churn_dates.reindex(s.X["customer_id"]).to_numpy()
    at, end = s.scored_at.to_datetime64(), (s.scored_at + base.horizon).to_datetime64()
    churned = (dates >= at) & (dates < end) & (dates < as_of.to_datetime64())
    matured = churned | (end <= as_of.to_datetime64())
    y = churned[matured]
    return (
        roc_auc_score(y, on_bins(s.truth)[matured]) if 0 < y.sum() < len(y) else None,
        int(matured.sum()),
        int((~matured).sum()),
    )


@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_realized_auc_per_cohort_equals_hand_computed(
    reference_table, base, cloud_store_url
):
    url, options = cloud_store_url
    monitor = make_monitor(
        reference_table, store=url, storage_options=options, horizon="90D"
    )
    log_base(monitor, base)
    # events known up to 150 days in: the first cohorts matured, later pending
    as_of = pd.Timestamp("2026-01-01") + pd.Timedelta("150D")
    events = base.events[base.events["churned_at"] < as_of]
    monitor.log_churn_events(
        events["customer_id"], events["churned_at"], timestamp=as_of
    )
    report = monitor.report(freq="30D")
    assert report.as_of == as_of.tz_localize("UTC")
    assert len(report.chunks) == 5
    auc = report.performance.query("metric == 'roc_auc' and kind == 'realized'")
    auc = auc.set_index("chunk")["value"]
    chunks = report.chunks.set_index("chunk")
    for s in base.scorings:
        key = s.scored_at.tz_localize("UTC")
        expected, matured, pending = hand_auc(base, s.index, as_of)
        assert chunks.loc[key, "n"] == len(s)
        assert chunks.loc[key, "n_labeled"] == matured
        assert chunks.loc[key, "n_pending"] == pending
        if expected is not None:
            assert auc.loc[key] == pytest.approx(expected, abs=1e-12)
        else:
            assert np.isnan(auc.get(key, np.nan))
    # scorings 0-2 (days 0, 30, 60) matured by day 150; 3 and 4 mostly pending
    assert chunks["n_pending"].iloc[0] == 0
    assert chunks["n_pending"].iloc[2] == 0
    assert chunks["n_pending"].iloc[4] > 0.5 * chunks["n"].iloc[4]
    # the label-free estimate covers every prediction, pending ones included
    est = report.performance.query("metric == 'roc_auc' and kind == 'estimated'")
    assert (est["n"].to_numpy() == chunks["n"].to_numpy()).all()
    assert est["value"].between(0.75, 0.9).all()
    # a new process on the same store sees the same thing
    again = make_monitor(reference_table, store=url, storage_options=options)
    assert again.horizon_ == pd.Timedelta("90D")
    pd.testing.assert_frame_equal(again.report(freq="30D").chunks, report.chunks)


def test_every_prediction_matures_when_events_are_complete(reference_table, base):
    monitor = make_monitor(reference_table)
    log_base(monitor, base)
    monitor.log_churn_events(
        base.events["customer_id"],
        base.events["churned_at"],
        timestamp=base.observed_until,
    )
    report = monitor.report(freq="30D")
    assert (report.chunks["n_pending"] == 0).all()
    assert report.unmatched_events == 0
    realized = report.performance.query(
        "metric == 'churn_rate' and kind == 'realized'"
    )["value"]
    truth = [base.labels(i).mean() for i in range(len(base.scorings))]
    np.testing.assert_allclose(realized.to_numpy(), truth)
    # no drift in the churn mechanism: no performance incident
    assert not [a for a in report.alerts if a.subject in ("roc_auc", "churn_rate")]


def test_rescored_ids_with_plain_outcomes_are_refused_not_relabelled(
    reference_table,
):
    """The issue's case: 4 batches of the same customers, outcomes by id."""
    monitor = make_monitor(reference_table, rules=None)
    batches = [generate_customers(2000, random_state=i) for i in range(4)]
    keys = []
    for day, b in enumerate(batches):
        X = b.drop(columns="churned")
        truth = generate_customers(2000, random_state=day, return_truth=True)
        keys.append(
            monitor.log_predictions(
                X, truth["churn_probability"], timestamp=f"2026-01-0{day + 1}"
            )
        )
        monitor.log_outcomes(b["customer_id"], b["churned"], timestamp="2026-03-01")
    with pytest.raises(DataValidationError, match="ambiguous") as err:
        monitor.report(freq="1D")
    assert "log_churn_events" in str(err.value)
    assert "C0000001" in str(err.value)
    # the same outcomes given with the keys log_predictions returned
    keyed = make_monitor(reference_table, rules=None)
    for day, b in enumerate(batches):
        truth = generate_customers(2000, random_state=day, return_truth=True)
        k = keyed.log_predictions(
            b.drop(columns="churned"),
            truth["churn_probability"],
            timestamp=f"2026-01-0{day + 1}",
        )
        keyed.log_outcomes(k, b["churned"], timestamp="2026-03-01")
    report = keyed.report(freq="1D")
    auc = report.performance.query("metric == 'roc_auc' and kind == 'realized'")
    assert auc["value"].between(0.8, 0.88).all()
    assert not [a for a in report.alerts if a.severity == "critical"]


def test_outcomes_by_id_and_scored_at(reference_table, base):
    monitor = make_monitor(reference_table)
    log_base(monitor, base)
    s = base.scorings[1]
    monitor.log_outcomes(
        s.X["customer_id"],
        base.labels(1),
        scored_at=s.scored_at,
        timestamp="2026-06-01",
    )
    report = monitor.report(freq="30D")
    assert report.chunks["n_labeled"].tolist() == [0, len(s), 0, 0, 0]
    with pytest.raises(DataValidationError, match="scored_at as well"):
        monitor.log_outcomes(
            pd.MultiIndex.from_tuples([("a", pd.Timestamp("2026-01-01"))]),
            [True],
            scored_at="2026-01-01",
        )


def test_duplicate_prediction_keys_are_refused(reference_table, base):
    monitor = make_monitor(reference_table)
    s = base.scorings[0]
    X = pd.concat([s.X.iloc[:5], s.X.iloc[:2]], ignore_index=True)
    with pytest.raises(DataValidationError, match="repeats prediction keys"):
        monitor.log_predictions(X, np.full(7, 0.3), timestamp=s.scored_at)
    assert monitor._log.parts("predictions") == []
    # the same batch logged twice with the same time stamp: refused at report
    monitor.log_predictions(s.X.iloc[:5], np.full(5, 0.3), timestamp=s.scored_at)
    monitor.log_predictions(s.X.iloc[:5], np.full(5, 0.3), timestamp=s.scored_at)
    with pytest.raises(DataValidationError, match="5 duplicate prediction key"):
        monitor.report()


def test_horizon_is_recorded_in_the_store(reference_table, tmp_path):
    url = tmp_path.as_uri()
    monitor = make_monitor(reference_table, store=url, horizon="30D")
    assert monitor.horizon_ == pd.Timedelta("30D")
    assert '"horizon": "30D"' in (tmp_path / "monitor.json").read_text()
    assert make_monitor(reference_table, store=url).horizon_ == pd.Timedelta("30D")
    with pytest.raises(DataValidationError, match="horizon='30D'"):
        make_monitor(reference_table, store=url, horizon="90D")
    assert make_monitor(reference_table).horizon_ == pd.Timedelta("90D")


def test_scored_after_churn_is_excluded(reference_table):
    ref = reference_table
    monitor = make_monitor(ref, horizon="30D")
    X = ref.drop(columns=["churned", "churn_probability"]).iloc[:4]
    p = ref["churn_probability"].iloc[:4]
    monitor.log_predictions(X, p, timestamp="2026-01-01")
    monitor.log_predictions(X, p, timestamp="2026-02-15")
    ids = X["customer_id"].tolist()
    # customer 0 churns inside the first horizon, customer 1 after it
    monitor.log_churn_events(
        ids[:2], ["2026-01-10", "2026-02-20"], timestamp="2026-04-01"
    )
    report = monitor.report(freq="30D")
    first, second = report.chunks.iloc[0], report.chunks.iloc[1]
    assert (first["n_labeled"], first["n_excluded"]) == (4, 0)
    # second scoring: customer 0 had already left -> excluded, not a negative
    assert (second["n_labeled"], second["n_excluded"]) == (3, 1)
    rate = report.performance.query("metric == 'churn_rate' and kind == 'realized'")
    assert rate["value"].tolist() == [pytest.approx(1 / 4), pytest.approx(1 / 3)]
    # an empty extract still says "no churn up to then"
    later = make_monitor(ref, horizon="30D")
    later.log_predictions(X, p, timestamp="2026-01-01")
    assert later.report().chunks["n_pending"].sum() == 4
    assert later.log_churn_events([], [], timestamp="2026-03-01") == 0
    assert later.report().chunks["n_pending"].sum() == 0


def test_event_validation(reference_table):
    monitor = make_monitor(reference_table)
    with pytest.raises(DataValidationError, match="after the time"):
        monitor.log_churn_events(["a"], ["2026-05-01"], timestamp="2026-04-01")
    with pytest.raises(DataValidationError, match="missing"):
        monitor.log_churn_events([None], ["2026-01-01"], timestamp="2026-04-01")
    assert monitor._log.parts("events") == []


def test_monitor_repr_and_memory_meta(reference_table):
    monitor = ChurnMonitor(
        reference_table.drop(columns="churn_probability"),
        reference_scores=reference_table["churn_probability"],
        target="churned",
        horizon="45D",
        sinks=[],
    )
    assert "horizon='45D'" in repr(monitor)
