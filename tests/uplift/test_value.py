"""EMPC (checked against empulse), per-customer value, the uplift profit measure."""

from __future__ import annotations

import numpy as np
import pytest

from churnlib.data import generate_customers
from churnlib.evaluation import (
    ProfitCurveDisplay,
    customer_profit,
    empc_score,
    expected_campaign_profit,
    expected_maximum_profit,
    max_profit_uplift,
    uplift_curve,
    value_profit_curve,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

PARAMS = [
    {},
    {
        "alpha": 2.0,
        "beta": 3.0,
        "clv": 50.0,
        "incentive_cost": 5.0,
        "contact_cost": 2.0,
    },
    {
        "alpha": 12.0,
        "beta": 3.0,
        "clv": 500.0,
        "incentive_cost": 40.0,
        "contact_cost": 0.0,
    },
    {"clv": 9.0, "incentive_cost": 10.0},  # incentive above the value: no campaign
]


def _data(kind):
    rng = np.random.default_rng(len(kind))
    if kind == "telco":
        df = generate_customers(3_000, random_state=0, return_truth=True)
        return df["churned"].to_numpy(), df["churn_probability"].to_numpy()
    n = {"tiny": 8, "ties": 2_000, "noisy": 1_000}[kind]
    y = rng.random(n) < 0.3
    y[:2] = [True, False]
    score = y * rng.normal(0.6, 1, n) + rng.normal(0, 1, n)
    if kind == "ties":
        score = np.round(score, 1)
    return y, score


@pytest.mark.parametrize("kind", ["tiny", "ties", "noisy", "telco"])
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(map(str, p.values())))
def test_empc_matches_empulse(kind, params):
    empulse_metrics = pytest.importorskip(
        "empulse.metrics",
        reason="empulse (the EMPC reference implementation, a test-only "
        "dependency) is not installed; `pip install empulse` to run this check",
    )
    y, score = _data(kind)
    ours = expected_maximum_profit(y, score, **params)
    ref = empulse_metrics.empc_score
    yi = y.astype(int)
    assert ours.value == pytest.approx(ref(yi, score, **params), abs=1e-6)
    assert ours.fraction == pytest.approx(
        ref.optimal_rate(yi, score, **params), abs=1e-6
    )
    if ours.fraction > 0:
        assert ours.threshold == ref.optimal_threshold(yi, score, **params)
    assert empc_score(y, score, **params) == ours.value


def test_perfect_separation_by_hand():
    # pi0 = 1/2; the best vertex (FPR 0, TPR 1) pays 0.5 (gamma 190 - 1) once
    # gamma > 1/190; E[gamma] = 0.3 and Beta(6, 14) has no mass below 1/190.
    result = expected_maximum_profit([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    assert result.value == pytest.approx(0.5 * (0.3 * 190 - 1), abs=1e-9)
    assert result.fraction == pytest.approx(0.5, abs=1e-9)
    assert result.threshold == 0.8
    np.testing.assert_allclose(result.hull_fpr, [0, 0, 1])
    np.testing.assert_allclose(result.hull_tpr, [0, 1, 1])


def test_empc_orders_models_and_is_bounded():
    y, score = _data("telco")
    rng = np.random.default_rng(0)
    good = empc_score(y, score)
    noisy = empc_score(y, score + rng.normal(0, 0.3, score.shape[0]))
    perfect = empc_score(y, y.astype(float))
    random = empc_score(y, rng.random(y.shape[0]))
    assert perfect > good > noisy > random >= 0
    # Never below 0: contacting nobody is always possible.
    assert empc_score(y, -score) >= 0


def test_no_campaign_when_the_incentive_exceeds_the_value():
    y, score = _data("noisy")
    result = expected_maximum_profit(y, score, clv=9.0, incentive_cost=10.0)
    assert result.value == 0.0
    assert result.fraction == 0.0
    assert result.threshold == np.inf


def test_empc_bad_parameters():
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        empc_score([0, 1], [0.1, 0.9], alpha=0)
    with pytest.raises(DataValidationError, match="single class"):
        empc_score([1, 1], [0.1, 0.9])


def test_value_profit_curve_with_constant_value_is_the_campaign_profit():
    y, score = _data("ties")
    money = {"incentive_cost": 10.0, "contact_cost": 1.0, "acceptance_rate": 0.3}
    ours = value_profit_curve(y, score, customer_value=200.0, **money)
    ref = expected_campaign_profit(y, score, customer_value=200.0, **money)
    np.testing.assert_allclose(ours.profits, ref.profits)
    np.testing.assert_allclose(ours.fractions, ref.fractions)
    assert (ours.profit, ours.fraction, ours.threshold) == pytest.approx(
        (ref.profit, ref.fraction, ref.threshold)
    )
    fixed = value_profit_curve(y, score, customer_value=200.0, fraction=0.2, **money)
    assert fixed.profit == pytest.approx(
        expected_campaign_profit(
            y, score, customer_value=200.0, fraction=0.2, **money
        ).profit
    )


def test_value_per_customer_array_and_callable(pyplot):
    df = generate_customers(2_000, random_state=3, return_truth=True)
    money = {"incentive_cost": 10.0, "contact_cost": 1.0, "acceptance_rate": 0.3}
    clv = 24 * df["monthly_charges"]
    per = customer_profit(df["churned"], customer_value=clv, **money)
    churner = df["churned"].to_numpy()
    np.testing.assert_allclose(per[churner], 0.3 * (clv[churner] - 10) - 1)
    np.testing.assert_allclose(per[~churner], -11.0)
    by_array = value_profit_curve(
        df["churned"], df["churn_probability"], customer_value=clv, **money
    )
    by_callable = value_profit_curve(
        df["churned"],
        df["churn_probability"],
        X=df,
        customer_value=lambda frame: 24 * frame["monthly_charges"],
        **money,
    )
    np.testing.assert_allclose(by_array.profits, by_callable.profits)
    order = np.argsort(-df["churn_probability"].to_numpy(), kind="stable")
    assert by_array.profits[-1] == pytest.approx(per.sum())
    assert by_array.profit == pytest.approx(np.max(np.cumsum(per[order])), rel=1e-9)
    assert by_array.economics.customer_value == pytest.approx(clv.mean())
    # The existing Display draws it.
    display = ProfitCurveDisplay(
        fractions=by_array.fractions,
        profits=by_array.profits,
        best_fraction=by_array.fraction,
        best_profit=by_array.profit,
    ).plot()
    np.testing.assert_allclose(display.line_.get_ydata(), by_array.profits)


def test_value_errors():
    with pytest.raises(DataValidationError, match="pass the table as X"):
        customer_profit(
            [0, 1],
            customer_value=lambda f: f,
            incentive_cost=1,
            contact_cost=1,
            acceptance_rate=0.3,
        )
    with pytest.raises(DataValidationError, match="2 customers"):
        customer_profit(
            [0, 1],
            customer_value=[1, 2, 3],
            incentive_cost=1,
            contact_cost=1,
            acceptance_rate=0.3,
        )
    with pytest.raises(DataValidationError, match="non-negative"):
        customer_profit(
            [0, 1],
            customer_value=[1, -2],
            incentive_cost=1,
            contact_cost=1,
            acceptance_rate=0.3,
        )


def test_max_profit_uplift_follows_the_uplift_curve():
    rng = np.random.default_rng(4)
    n = 2_000
    t = rng.random(n) < 0.5
    p0 = rng.uniform(0.1, 0.6, n)
    p1 = np.clip(p0 - rng.normal(0.1, 0.1, n), 0, 1)
    y = rng.random(n) < np.where(t, p1, p0)
    score = p0 - p1
    result = max_profit_uplift(
        y, score, t, customer_value=200, incentive_cost=10, contact_cost=1
    )
    fractions, kept, _ = uplift_curve(y, score, t)
    assert result.profits.shape == kept.shape
    np.testing.assert_allclose(result.fractions, fractions)
    # profit = 200 kept - targeted - 10 redeemed, redeemed = targeted - Y_t N / N_t
    targeted = fractions * n
    order = np.argsort(-score)
    y_t = np.concatenate(([0], np.cumsum((y & t)[order])))
    redeemed = targeted - y_t * n / t.sum()
    np.testing.assert_allclose(result.profits, 200 * kept - targeted - 10 * redeemed)
    best = int(np.argmax(result.profits))
    assert result.profit == pytest.approx(result.profits[best])
    assert result.fraction == pytest.approx(fractions[best])
    assert 0 < result.fraction < 1
    # A worthless customer: no campaign pays.
    none = max_profit_uplift(y, score, t, customer_value=1e-6, incentive_cost=10)
    assert (none.profit, none.fraction, none.threshold) == (0.0, 0.0, np.inf)
