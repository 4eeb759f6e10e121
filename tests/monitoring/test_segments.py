"""Segments: drift, performance and estimates per segment value."""

import numpy as np
import pytest

from churnlib.data import generate_customers
from churnlib.exceptions import DataValidationError, InvalidParameterError
from tests.monitoring.conftest import make_monitor


def batches(n_days, shift_from=None, n=3000):
    out = []
    for day in range(n_days):
        b = generate_customers(n, random_state=200 + day, return_truth=True)
        X = b.drop(columns=["churned", "churn_probability"])
        if shift_from is not None and day >= shift_from:
            two_year = X["contract"].eq("two year")
            X.loc[two_year, "monthly_charges"] += 25.0
        out.append((X, b["churn_probability"], b["churned"], f"2026-02-{day + 1:02d}"))
    return out


def run(reference_table, data, **kwargs):
    monitor = make_monitor(
        reference_table, segments=["contract", "internet_service"], **kwargs
    )
    for X, p, y, when in data:
        keys = monitor.log_predictions(X, p, timestamp=when)
        monitor.log_outcomes(keys, y)
    return monitor, monitor.report(freq="1D")


def test_only_the_shifted_segment_moves(reference_table, pyplot):
    _monitor, report = run(reference_table, batches(4, shift_from=2))
    seg = report.segments
    assert set(seg["segment"]) == {"contract", "internet_service"}
    assert set(seg.loc[seg["segment"] == "contract", "value"]) == {
        "month-to-month",
        "one year",
        "two year",
    }
    moved = seg[seg["drifted"]]
    contract = moved[moved["segment"] == "contract"]
    assert set(contract["value"]) == {"two year"}
    assert {c.day for c in contract["chunk"]} == {3, 4}
    assert (contract["drifted_features"].str.contains("monthly_charges")).all()
    # before the shift no segment moved anywhere (family-wise control)
    early = seg[[c.day <= 2 for c in seg["chunk"]]]
    assert not early["drifted"].any()
    # per-segment performance and estimate, with the segment's reference
    assert seg["roc_auc"].between(0.55, 1).all()
    assert seg["estimated_roc_auc"].between(0.55, 1).all()
    assert seg["reference_roc_auc"].notna().all()
    n = seg[seg["segment"] == "contract"].groupby("chunk")["n"].sum()
    assert (n == 3000).all()
    assert set(report.segment_drift.columns) >= {
        "segment",
        "value",
        "feature",
        "drifted",
    }
    assert "two year" in report.summary()
    html = report.to_html()
    assert "<h2>Segments</h2>" in html
    assert "Segments that moved (highlighted): contract = two year" in html


def test_no_drift_no_segment_alarm(reference_table):
    _, report = run(reference_table, batches(6))
    assert not report.segments["drifted"].any()
    assert not report.drift["drifted"].any()
    assert "no segment moved" in report.summary()


def test_family_wise_level_covers_segments(reference_table):
    plain = make_monitor(reference_table)
    seg = make_monitor(reference_table, segments=["contract"])
    n_values = len(seg._ref.segment_values["contract"])
    assert n_values == 3
    assert seg.detector_.alpha == pytest.approx(plain.detector_.alpha / (1 + n_values))
    det = seg._ref.segment_detectors["contract", "two year"]
    assert det.alpha == seg.detector_.alpha


def test_segment_validation(reference_table):
    with pytest.raises(DataValidationError, match="'plan'"):
        make_monitor(reference_table, segments=["plan"])
    with pytest.raises(InvalidParameterError, match="segments"):
        make_monitor(reference_table, segments=["contract", "contract"])
    with pytest.raises(InvalidParameterError, match="max_segment_values"):
        make_monitor(reference_table, segments=["contract"], max_segment_values=0)
    monitor = make_monitor(reference_table, segments="contract", max_segment_values=2)
    assert monitor._ref.segment_values["contract"] == ("month-to-month", "two year")
    assert np.isfinite(monitor.reference_metrics_["roc_auc"])
