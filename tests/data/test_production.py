"""Tests for churnlib.data.simulate_production and ProductionBatch."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from churnlib.data import (
    BASE_CHURN_RATE,
    SCENARIOS,
    TRUTH_COEFFICIENTS,
    ProductionBatch,
    generate_customers,
    simulate_production,
)
from churnlib.data._generator import _slope
from churnlib.exceptions import InvalidParameterError

FEATURES = [c for c in generate_customers(1).columns if c != "churned"]


INTERCEPT = TRUTH_COEFFICIENTS["intercept"]


def _codes(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Feature arrays as the private truth model takes them (category codes)."""
    return {
        c: (
            X[c].cat.codes.to_numpy()
            if isinstance(X[c].dtype, pd.CategoricalDtype)
            else X[c].to_numpy()
        )
        for c in X.columns
        if c != "customer_id"
    }


def run(n_batches=4, batch_size=100, **kwargs):
    kwargs.setdefault("random_state", 0)
    return list(simulate_production(n_batches, batch_size, **kwargs))


def test_batches_have_the_documented_fields():
    batches = run(3, 50)
    assert len(batches) == 3
    fields = {f.name for f in dataclasses.fields(ProductionBatch)}
    assert {
        "index",
        "X",
        "y",
        "ids",
        "timestamp",
        "labels_at",
        "drifted",
        "truth",
    } <= fields
    for i, b in enumerate(batches):
        assert isinstance(b, ProductionBatch)
        assert b.index == i
        assert list(b.X.columns) == FEATURES
        assert "churned" not in b.X
        assert "churn_probability" not in b.X
        assert b.y.dtype == bool
        assert b.y.name == "churned"
        assert b.truth.dtype == np.float64
        assert pd.api.types.is_datetime64_any_dtype(b.timestamp)
        assert isinstance(b.labels_at, pd.Timestamp)
        for s in (b.y, b.ids, b.timestamp, b.truth):
            assert s.index.equals(b.X.index)
        pd.testing.assert_series_equal(b.ids, b.X["customer_id"])
        assert len(b) == 50
    frame = batches[0].to_frame()
    assert list(frame.columns) == [
        *FEATURES,
        "timestamp",
        "churned",
        "churn_probability",
    ]


def test_batch_is_frozen_and_repr_is_short():
    b = run(1, 20)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.index = 5  # type: ignore[misc]
    text = repr(b)
    assert text.startswith("ProductionBatch(index=0, n=20, scenario='none'")
    assert "customer_id" not in text


def test_returns_an_iterator_and_validates_eagerly():
    it = simulate_production(2, 10, random_state=0)
    assert isinstance(it, Iterator)
    with pytest.raises(InvalidParameterError, match="'scenario' parameter"):
        simulate_production(2, 10, scenario="sudden")  # before any next()


def test_ids_unique_across_batches_and_index_continues():
    batches = run(3, 40)
    ids = pd.concat([b.ids for b in batches])
    assert ids.is_unique
    assert ids.iloc[0] == "P0000001"
    assert ids.iloc[-1] == "P0000120"
    index = pd.concat([b.y for b in batches]).index
    assert index.equals(pd.RangeIndex(0, 120))


def test_timestamps_and_label_arrival():
    batches = run(3, 200, start="2026-03-01", freq="6h", label_delay="7D")
    for i, b in enumerate(batches):
        start = pd.Timestamp("2026-03-01") + i * pd.Timedelta("6h")
        assert b.window_start == start
        assert b.window_end == start + pd.Timedelta("6h")
        assert b.timestamp.is_monotonic_increasing
        assert (b.timestamp >= start).all()
        assert (b.timestamp < start + pd.Timedelta("6h")).all()
        assert b.labels_at == start + pd.Timedelta("6h") + pd.Timedelta("7D")


def test_timezone_aware_start():
    b = run(1, 10, start=pd.Timestamp("2026-01-01", tz="UTC"))[0]
    assert str(b.timestamp.dt.tz) == "UTC"
    assert b.labels_at.tz is not None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_drifted_flags_and_default_onset(scenario):
    flags = [b.drifted for b in run(6, 20, scenario=scenario)]
    if scenario == "none":
        assert flags == [False] * 6
    else:
        assert flags == [False, False, False, True, True, True]  # onset = 6 // 2
    flags = [b.drifted for b in run(4, 20, scenario=scenario, onset=1)]
    assert flags == ([False] * 4 if scenario == "none" else [False, True, True, True])


def test_onset_beyond_horizon_never_drifts():
    assert not any(b.drifted for b in run(3, 20, scenario="prior_shift", onset=10))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reproducible_and_batches_differ(scenario):
    a = run(3, 100, scenario=scenario, onset=1, random_state=9)
    b = run(3, 100, scenario=scenario, onset=1, random_state=9)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x.to_frame(), y.to_frame())
    features = a[0].X.drop(columns="customer_id").reset_index(drop=True)
    second = a[1].X.drop(columns="customer_id").reset_index(drop=True)
    assert not features.equals(second)


def test_zero_batches_and_severity_zero():
    assert run(0, 10) == []
    base = run(2, 300, random_state=4)
    same = run(
        2, 300, scenario="covariate_shift", onset=0, severity=0.0, random_state=4
    )
    for x, y in zip(base, same, strict=True):
        pd.testing.assert_frame_equal(x.X, y.X)
        assert y.drifted
        assert y.severity == 0.0


def _before_after(scenario, n=20_000, **kwargs):
    before, after = run(2, n, scenario=scenario, onset=1, random_state=1, **kwargs)
    return before, after


def test_covariate_shift_moves_features_not_mechanism():
    before, after = _before_after("covariate_shift")
    mtm = [(b.X["contract"] == "month-to-month").mean() for b in (before, after)]
    assert mtm[0] == pytest.approx(0.55, abs=0.015)
    assert mtm[1] == pytest.approx(0.80, abs=0.015)
    assert after.X["monthly_charges"].mean() > before.X["monthly_charges"].mean() + 8
    assert after.X["tenure_months"].mean() < 0.6 * before.X["tenure_months"].mean()
    assert after.X["monthly_charges"].between(18, 120).all()
    # unchanged mechanism: the truth is the base model applied to new features
    base = expit(_slope(_codes(after.X), TRUTH_COEFFICIENTS) + INTERCEPT)
    np.testing.assert_allclose(after.truth.to_numpy(), base)
    # ... and the churn rate rises as a consequence
    assert after.y.mean() == pytest.approx(0.39, abs=0.03)
    assert after.truth.mean() == pytest.approx(after.y.mean(), abs=0.01)


def test_covariate_shift_severity_scales():
    mild = run(1, 20_000, scenario="covariate_shift", onset=0, severity=0.5)[0]
    share = (mild.X["contract"] == "month-to-month").mean()
    assert share == pytest.approx(0.675, abs=0.015)


def test_concept_drift_changes_mechanism_not_features():
    before, after = _before_after("concept_drift")
    for col in ["contract", "internet_service", "payment_method"]:
        a = before.X[col].value_counts(normalize=True)
        b = after.X[col].value_counts(normalize=True)
        assert (a - b).abs().max() < 0.015, col
    assert abs(after.X["tenure_months"].mean() - before.X["tenure_months"].mean()) < 1
    assert after.y.mean() == pytest.approx(BASE_CHURN_RATE, abs=0.01)
    # the pre-drift truth ranks drifted customers much worse than the new truth
    old = _slope(_codes(after.X), TRUTH_COEFFICIENTS)
    new_auc = roc_auc_score(after.y, after.truth)
    old_auc = roc_auc_score(after.y, old)
    assert new_auc - old_auc > 0.05
    # fiber optic customers now churn far more than before
    fiber = after.X["internet_service"] == "fiber optic"
    fiber_before = before.X["internet_service"] == "fiber optic"
    assert after.y[fiber].mean() > before.y[fiber_before].mean() + 0.1


def test_prior_shift_changes_rate_keeps_class_conditionals():
    before, after = _before_after("prior_shift", n=30_000)
    assert before.y.mean() == pytest.approx(BASE_CHURN_RATE, abs=0.01)
    assert after.y.mean() == pytest.approx(BASE_CHURN_RATE + 0.15, abs=0.01)
    assert after.truth.mean() == pytest.approx(after.y.mean(), abs=0.01)
    # P(x | y) unchanged: churners look like churners did before
    for label in (True, False):
        tb = before.X.loc[before.y == label, "tenure_months"].mean()
        ta = after.X.loc[after.y == label, "tenure_months"].mean()
        assert abs(ta - tb) < 1.0
    # the Bayes posterior is still a good score
    assert roc_auc_score(after.y, after.truth) > 0.75


def test_random_state_generator_and_none():
    a = run(2, 30, random_state=np.random.default_rng(3))
    b = run(2, 30, random_state=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a[1].X, b[1].X)
    assert len(run(1, 5, random_state=None)[0]) == 5
    assert len(run(1, 5, random_state=np.random.RandomState(0))[0]) == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_batches": -1}, "'n_batches' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"batch_size": 2.0}, "'batch_size' parameter"),
        ({"scenario": "drift"}, "'scenario' parameter"),
        ({"onset": -1}, "'onset' parameter"),
        ({"severity": -0.5}, "'severity' parameter"),
        ({"freq": "0D"}, "'freq' parameter .* positive duration"),
        ({"freq": "soon"}, "'freq' parameter"),
        ({"label_delay": "-1D"}, "'label_delay' parameter .* non-negative"),
        ({"start": "not a date"}, "'start' parameter"),
        ({"start": None}, "'start' parameter"),
        ({"random_state": "x"}, "'random_state' parameter"),
    ],
)
def test_bad_parameters(kwargs, match):
    params = {"n_batches": 2, "batch_size": 10, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        simulate_production(**params)
