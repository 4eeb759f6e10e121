"""score_table(monitor=...): merged drift summaries and logged batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import InvalidParameterError
from churnlib.scoring import score_table
from tests.scoring.conftest import write_parts

monitoring = pytest.importorskip("churnlib.monitoring")


def make_monitor(customers, churn_model, store=None):
    reference = customers.iloc[:300]
    return monitoring.ChurnMonitor(
        reference, model=churn_model, target="churned", rules=(), store=store
    )


@pytest.fixture
def production(customers, tmp_path):
    """A shifted production table (older customers, higher charges), 3 files."""
    frame = customers.drop(columns="churned").copy()
    frame["monthly_charges"] = frame["monthly_charges"] * 1.3
    frame["age"] = frame["age"] + 8
    return frame, write_parts(frame, tmp_path / "prod", n_files=3, row_group_size=40)


def assert_reports_equal(a, b):
    for name in ("chunks", "drift", "data_quality", "performance"):
        # each run has its own timestamp: compare everything else
        left = getattr(a, name).drop(columns=["start", "end"], errors="ignore")
        right = getattr(b, name).drop(columns=["start", "end"], errors="ignore")
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True), right.reset_index(drop=True), rtol=1e-9
        )
    np.testing.assert_allclose(a.score_histograms, b.score_histograms)


def test_merged_partition_summaries_equal_whole_table_summary(
    customers, churn_model, production, tmp_path
):
    frame, src = production
    monitor = make_monitor(customers, churn_model)
    result = score_table(
        churn_model, src, tmp_path / "o", monitor=monitor, batch_rows=50
    )
    assert result.n_partitions == 15  # 40-row groups, at most 50 rows each
    X = frame[list(monitor.features_)].reset_index(drop=True)
    whole = X.assign(**{monitoring.SCORE_FEATURE: churn_model.predict_proba(X)[:, 1]})
    expected = monitor.detector_.summarize(whole)
    assert result.drift.n_rows == len(frame)
    assert result.drift == expected
    pd.testing.assert_frame_equal(
        result.drift_report, monitor.detector_.check(whole), rtol=1e-9
    )
    drifted = result.drift_report.groupby("feature")["drifted"].any()
    assert drifted["monthly_charges"]
    assert drifted["age"]
    assert (result.to_frame()["monitor_seconds"] > 0).all()
    # every scored row was logged once, with the run's timestamp and the ids
    report = monitor.report(chunk_size=200)
    assert report.chunks["n"].sum() == len(frame)
    # the spool files are gone
    assert not (tmp_path / "o" / "_temporary").exists()


def test_distributed_report_equals_single_machine_report(
    customers, churn_model, production, dask_client, tmp_path
):
    frame, src = production
    on_dask = make_monitor(customers, churn_model, store=tmp_path / "log-dask")
    local = make_monitor(customers, churn_model, store=tmp_path / "log-local")
    by_hand = make_monitor(customers, churn_model)

    r_dask = score_table(
        churn_model,
        src,
        tmp_path / "dask",
        engine="dask",
        client=dask_client,
        monitor=on_dask,
        batch_rows=50,
    )
    r_local = score_table(
        churn_model, src, tmp_path / "local", monitor=local, batch_rows=50
    )
    # the single-machine way: score everything in memory, log it in one go
    X = frame[list(by_hand.features_)]
    by_hand.log_predictions(
        X,
        churn_model.predict_proba(X)[:, 1],
        ids=frame["customer_id"],
        timestamp=r_local.scored_at,
    )
    assert r_dask.drift.n_rows == r_local.drift.n_rows == len(frame)
    np.testing.assert_array_equal(
        r_dask.drift.numeric_counts, r_local.drift.numeric_counts
    )
    np.testing.assert_array_equal(
        r_dask.drift.categorical_counts, r_local.drift.categorical_counts
    )
    pd.testing.assert_frame_equal(r_dask.drift_report, r_local.drift_report)

    for kwargs in ({"chunk_size": 250}, {"freq": "D"}):
        expected = by_hand.report(**kwargs)
        assert_reports_equal(on_dask.report(**kwargs), expected)
        assert_reports_equal(local.report(**kwargs), expected)


def test_monitor_must_be_a_churn_monitor(customers_dir, churn_model, tmp_path):
    with pytest.raises(InvalidParameterError, match="'monitor' parameter"):
        score_table(churn_model, customers_dir, tmp_path / "o", monitor=object())
