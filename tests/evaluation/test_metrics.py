"""Churn metrics: hand-checked cases, ties, sklearn/scipy equivalence, bad input."""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import ks_2samp
from sklearn.metrics import precision_recall_curve, roc_curve

from churnlib.evaluation import (
    CampaignEconomics,
    CampaignProfit,
    cumulative_gain,
    expected_campaign_profit,
    ks_statistic,
    lift_curve,
    lift_score,
)
from churnlib.exceptions import (
    ChurnlibError,
    DataValidationError,
    InvalidParameterError,
)

ECON = {
    "customer_value": 200.0,
    "incentive_cost": 10.0,
    "contact_cost": 1.0,
    "acceptance_rate": 0.3,
}
# 0.3 * (200 - 10) - 1 = 56 per contacted churner, 10 + 1 = 11 per stayer.
GAIN, COST = 56.0, 11.0


# ---------------------------------------------------------------- hand-checked
def test_cumulative_gain_hand_checked_without_ties():
    y = [1, 0, 1, 0, 0]
    s = [0.9, 0.8, 0.7, 0.2, 0.1]
    fractions, gains, thresholds = cumulative_gain(y, s)
    np.testing.assert_allclose(fractions, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(gains, [0, 0.5, 0.5, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.8, 0.7, 0.2, 0.1])


def test_cumulative_gain_groups_ties_into_one_point():
    # Scores 0.5 are tied between a churner and a stayer: one point, not two.
    y = [1, 1, 0, 0]
    s = [0.9, 0.5, 0.5, 0.1]
    fractions, gains, thresholds = cumulative_gain(y, s)
    np.testing.assert_allclose(fractions, [0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(gains, [0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.5, 0.1])


def test_curves_do_not_depend_on_order_of_tied_rows():
    y = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    s = np.array([0.5, 0.5, 0.5, 0.2, 0.2, 0.9, 0.1, 0.1])
    reference = cumulative_gain(y, s)
    for perm in itertools.islice(itertools.permutations(range(8)), 0, 40320, 997):
        perm = np.array(perm)
        for a, b in zip(reference, cumulative_gain(y[perm], s[perm]), strict=True):
            np.testing.assert_array_equal(a, b)


def test_lift_curve_hand_checked():
    fractions, lift, thresholds = lift_curve([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.1])
    np.testing.assert_allclose(fractions, [0.2, 0.4, 0.6, 0.8, 1.0])
    # churn rate 0.4; top 1: rate 1 -> 2.5; top 2: 0.5 -> 1.25; top 3: 2/3 -> 5/3
    np.testing.assert_allclose(lift, [2.5, 1.25, 5 / 3, 1.25, 1.0])
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.7, 0.2, 0.1])


def test_lift_score_hand_checked():
    y = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    s = np.linspace(1, 0, 10)
    assert lift_score(y, s, fraction=0.1) == pytest.approx(5.0)
    assert lift_score(y, s, fraction=0.2) == pytest.approx(2.5)
    assert lift_score(y, s, fraction=1.0) == pytest.approx(1.0)


def test_lift_score_with_tie_at_the_cut_uses_expected_share():
    # Top 10% = 1 customer, but the top 2 are tied and only one churns: picking
    # one of them at random reaches 0.5 churner in expectation.
    y = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    s = [0.9, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    # expected churn rate in the top customer: 0.5; overall 0.2 -> lift 2.5
    assert lift_score(y, s, fraction=0.1) == pytest.approx(2.5)
    # Whole group of two: rate 0.5, lift 2.5 as well.
    assert lift_score(y, s, fraction=0.2) == pytest.approx(2.5)


def _brute_force_expected_lift(y, s, fraction):
    """Average over every ordering of tied scores (small inputs only)."""
    y, s = np.asarray(y), np.asarray(s)
    k = fraction * len(y)
    values = []
    groups = [np.flatnonzero(s == v) for v in np.unique(s)[::-1]]
    for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
        order = np.concatenate(orders)
        whole = int(np.floor(k))
        captured = y[order[:whole]].sum()
        if whole < len(y):
            captured += (k - whole) * y[order[whole]]
        values.append(captured / k / y.mean())
    return float(np.mean(values))


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.3, 0.5, 0.75])
def test_lift_score_matches_brute_force_over_tie_orders(fraction):
    y = [1, 0, 1, 0, 0, 1, 0, 1]
    s = [0.8, 0.8, 0.8, 0.5, 0.5, 0.3, 0.3, 0.1]
    assert lift_score(y, s, fraction=fraction) == pytest.approx(
        _brute_force_expected_lift(y, s, fraction)
    )


def test_ks_statistic_hand_checked():
    # perfect separation
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    # all tied: no separation at all
    assert ks_statistic([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0


def test_expected_campaign_profit_hand_checked():
    y = [1, 1, 0, 0, 1, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    result = expected_campaign_profit(y, s, **ECON)
    expected = [0, 56, 112, 101, 90, 146, 135, 124, 113]
    np.testing.assert_allclose(result.profits, expected)
    assert result.profit == 146.0
    assert result.fraction == pytest.approx(5 / 8)
    assert result.threshold == 0.5
    assert result.n_customers == 8
    assert result.profit_per_customer == pytest.approx(146 / 8)
    assert isinstance(result, CampaignProfit)
    frame = result.to_frame()
    assert list(frame.columns) == ["fraction", "threshold", "profit"]
    assert len(frame) == 9
    assert "profit=146" in repr(result)


def test_expected_campaign_profit_at_a_fraction_interpolates_inside_ties():
    y = [1, 0, 1, 0]
    s = [0.9, 0.5, 0.5, 0.1]
    # top 1: 56; the tied pair adds one churner and one stayer: 56 + 56 - 11
    at_half = expected_campaign_profit(y, s, fraction=0.5, **ECON)
    # half of the tied pair in expectation: 56 + (56 - 11) / 2
    assert at_half.profit == pytest.approx(56 + 45 / 2)
    assert at_half.fraction == 0.5
    assert at_half.threshold == 0.5
    whole = expected_campaign_profit(y, s, fraction=0.75, **ECON)
    assert whole.profit == pytest.approx(101.0)


def test_expected_campaign_profit_unprofitable_contacts_nobody():
    econ = {**ECON, "acceptance_rate": 0.0}
    result = expected_campaign_profit([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], **econ)
    assert result.profit == 0.0
    assert result.fraction == 0.0
    assert result.threshold == np.inf


def test_campaign_economics():
    econ = CampaignEconomics()
    assert econ.gain_per_churner == GAIN
    assert econ.cost_per_non_churner == COST
    with pytest.raises(InvalidParameterError, match="acceptance_rate"):
        CampaignEconomics(acceptance_rate=1.5)
    with pytest.raises(InvalidParameterError, match="customer_value"):
        CampaignEconomics(customer_value=0)


def test_sample_weight_equals_repeating_rows():
    y = np.array([1, 0, 1, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.8, 0.4, 0.3, 0.2])
    w = np.array([2, 1, 3, 1, 2, 1])
    y_rep, s_rep = np.repeat(y, w), np.repeat(s, w)
    for fn in (cumulative_gain, lift_curve):
        for a, b in zip(fn(y, s, sample_weight=w), fn(y_rep, s_rep), strict=True):
            np.testing.assert_allclose(a, b)
    assert lift_score(y, s, sample_weight=w, fraction=0.3) == pytest.approx(
        lift_score(y_rep, s_rep, fraction=0.3)
    )
    assert ks_statistic(y, s, sample_weight=w) == pytest.approx(
        ks_statistic(y_rep, s_rep)
    )
    a = expected_campaign_profit(y, s, sample_weight=w, **ECON)
    b = expected_campaign_profit(y_rep, s_rep, **ECON)
    np.testing.assert_allclose(a.profits, b.profits)
    assert a.n_customers == b.n_customers == 10


def test_string_labels_and_pandas_inputs():
    y = pd.Series(["Yes", "No", "Yes", "No", "No"])
    s = pd.Series([0.9, 0.8, 0.7, 0.2, 0.1])
    gains = cumulative_gain(y, s, pos_label="Yes")[1]
    np.testing.assert_allclose(gains, cumulative_gain([1, 0, 1, 0, 0], s)[1])
    # reversing pos_label measures the other class
    assert lift_score(y, s, pos_label="No", fraction=0.2) == pytest.approx(0.0)


# ------------------------------------------------------- equal to sklearn/scipy
labels_and_scores = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        arrays(np.int8, n, elements=st.integers(0, 1)),
        # few distinct values -> many ties
        arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]))
        | arrays(np.float64, n, elements=st.floats(0, 1)),
    )
)


@given(labels_and_scores)
def test_gain_equals_sklearn_tpr(data):
    y, s = data
    assume(0 < y.sum() < len(y))
    fractions, gains, thresholds = cumulative_gain(y, s)
    fpr, tpr, roc_thresholds = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(gains[1:], tpr[1:])
    np.testing.assert_array_equal(thresholds[1:], roc_thresholds[1:])
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    np.testing.assert_allclose(
        fractions[1:], (tpr[1:] * n_pos + fpr[1:] * n_neg) / len(y)
    )
    assert np.all(np.diff(fractions) > 0)
    assert np.all(np.diff(gains) >= 0)


@given(labels_and_scores)
def test_lift_equals_precision_over_base_rate(data):
    y, s = data
    assume(0 < y.sum() < len(y))
    _, lift, thresholds = lift_curve(y, s)
    precision, _, pr_thresholds = precision_recall_curve(y, s, drop_intermediate=False)
    # sklearn: increasing thresholds, precision[i] at pr_thresholds[i]
    by_threshold = dict(zip(pr_thresholds, precision[:-1], strict=True))
    expected = np.array([by_threshold[t] for t in thresholds]) / y.mean()
    np.testing.assert_allclose(lift, expected)
    assert lift[-1] == pytest.approx(1.0)


@given(labels_and_scores)
def test_ks_equals_scipy(data):
    y, s = data
    assume(0 < y.sum() < len(y))
    # Only the statistic is compared; scipy's p-value computation may warn
    # (an error here) on ties or tiny samples.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = ks_2samp(s[y == 1], s[y == 0]).statistic
    assert ks_statistic(y, s) == pytest.approx(expected, abs=1e-12)


@given(labels_and_scores, st.floats(0.01, 1.0))
def test_profit_curve_is_linear_in_counts(data, fraction):
    y, s = data
    assume(0 < y.sum() < len(y))
    result = expected_campaign_profit(y, s, **ECON)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    tp, fp = tpr * y.sum(), fpr * (len(y) - y.sum())
    np.testing.assert_allclose(result.profits, GAIN * tp - COST * fp, atol=1e-9)
    assert result.profit == pytest.approx(result.profits.max())
    at = expected_campaign_profit(y, s, fraction=fraction, **ECON)
    assert at.profit <= result.profit + 1e-9
    # lift_score agrees with the gain curve it interpolates
    f, g, _ = cumulative_gain(y, s)
    assert lift_score(y, s, fraction=fraction) == pytest.approx(
        np.interp(fraction, f, g) / fraction
    )


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "func", [cumulative_gain, lift_curve, lift_score, ks_statistic]
)
def test_bad_inputs_raise_clear_errors(func):
    with pytest.raises(DataValidationError, match="different lengths"):
        func([0, 1, 0], [0.1, 0.2])
    with pytest.raises(DataValidationError, match="single class"):
        func([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataValidationError, match="NaN or infinite"):
        func([0, 1, 0], [0.1, np.nan, 0.3])
    with pytest.raises(DataValidationError, match=re.escape("[:, 1]")):
        func([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]))
    with pytest.raises(DataValidationError, match="must be binary"):
        func([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(DataValidationError, match="Pass pos_label"):
        func(["churn", "stay"], [0.1, 0.2])
    with pytest.raises(DataValidationError, match="not a class of y_true"):
        func(["churn", "stay"], [0.1, 0.2], pos_label="yes")
    with pytest.raises(DataValidationError, match="must contain numbers"):
        func([0, 1], ["high", "low"])
    with pytest.raises(DataValidationError, match="missing"):
        func([0, 1, None], [0.1, 0.2, 0.3])
    with pytest.raises(DataValidationError, match="non-negative"):
        func([0, 1], [0.1, 0.2], sample_weight=[1, -1])
    with pytest.raises(DataValidationError, match="sample_weight has 1"):
        func([0, 1], [0.1, 0.2], sample_weight=[1])


def test_errors_are_churnlib_errors_and_value_errors():
    with pytest.raises(ChurnlibError):
        lift_score([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="single class"):
        lift_score([0, 0], [0.2, 0.3])


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "0.1", None])
def test_lift_score_rejects_bad_fraction(fraction):
    with pytest.raises(
        InvalidParameterError, match="'fraction' parameter of lift_score"
    ):
        lift_score([0, 1], [0.1, 0.2], fraction=fraction)


def test_expected_campaign_profit_rejects_bad_parameters():
    with pytest.raises(
        InvalidParameterError,
        match="'acceptance_rate' parameter of expected_campaign_profit",
    ):
        expected_campaign_profit([0, 1], [0.1, 0.2], **{**ECON, "acceptance_rate": 2})
    with pytest.raises(InvalidParameterError, match="'fraction' parameter"):
        expected_campaign_profit([0, 1], [0.1, 0.2], fraction=0, **ECON)
    with pytest.raises(TypeError, match="customer_value"):
        expected_campaign_profit([0, 1], [0.1, 0.2])  # economics are required
