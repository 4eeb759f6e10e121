"""Qini / uplift curves, their areas, uplift@k, targeting comparison, report section."""

from __future__ import annotations

import re

import numpy as np
import pytest

from churnlib.data import generate_campaign
from churnlib.evaluation import (
    auuc,
    compare_targeting,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_curve,
    uplift_report_section,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

# Six customers, hand-checked: offered o, churned c, scores 6..1 (in order).
CHURNED = np.array([0, 1, 0, 1, 1, 0])
OFFER = np.array([1, 0, 1, 0, 1, 0])
SCORE = np.array([6.0, 5, 4, 3, 2, 1])


def test_hand_computed_curves():
    fractions, qini, thresholds = qini_curve(CHURNED, SCORE, OFFER)
    np.testing.assert_allclose(fractions, np.arange(7) / 6)
    # N_t = N_c = 3: qini = churners not offered - churners offered above the cut.
    np.testing.assert_allclose(qini, [0, 0, 1, 1, 2, 1, 1])
    np.testing.assert_array_equal(thresholds, [np.inf, 6, 5, 4, 3, 2, 1])
    _, kept, _ = uplift_curve(CHURNED, SCORE, OFFER)
    # (Y_c / 3 - Y_t / 3) x 6
    np.testing.assert_allclose(kept, [0, 0, 2, 2, 4, 2, 2])


def test_hand_computed_areas():
    # Model area 5.5 / 6; random 0.5; perfect: churners not offered first
    # (x = 2/6 -> 2), the offered churner last: area 19 / 12.
    expected = (5.5 / 6 - 0.5) / (19 / 12 - 0.5)
    assert qini_coefficient(CHURNED, SCORE, OFFER) == pytest.approx(expected)
    assert auuc(CHURNED, SCORE, OFFER, normalize=False) == pytest.approx(11 / 6)
    assert auuc(CHURNED, SCORE, OFFER) == pytest.approx(11 / 36)
    # Top half: 2 offered stayers, 1 not-offered churner -> rates 1 and 0.
    assert uplift_at_k(CHURNED, SCORE, OFFER, k=0.5) == 1.0
    # Top two thirds, two offered who stayed, two not offered who churned.
    assert uplift_at_k(CHURNED, SCORE, OFFER, k=4 / 6) == 1.0
    assert uplift_at_k(CHURNED, SCORE, OFFER, k=1.0) == pytest.approx(2 / 3 - 1 / 3)


def test_perfect_and_reversed_rankings():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    t = rng.random(400) < 0.5
    perfect = np.where(y, np.where(t, -1.0, 1.0), 0.0)
    assert qini_coefficient(y, perfect, t) == pytest.approx(1.0)
    # Reversing the perfect order gives the mirror image.
    assert qini_coefficient(y, -perfect, t) == pytest.approx(-1.0)
    # Any ranking lies within [-1, 1].
    for _ in range(5):
        assert -1 <= qini_coefficient(y, rng.random(400), t) <= 1


def test_constant_score_is_the_random_line():
    rng = np.random.default_rng(1)
    y, t = rng.random(300) < 0.4, rng.random(300) < 0.5
    fractions, qini, _ = qini_curve(y, np.zeros(300), t)
    np.testing.assert_allclose(fractions, [0, 1])
    np.testing.assert_allclose(qini[0], 0.0)
    assert qini_coefficient(y, np.zeros(300), t) == pytest.approx(0.0, abs=1e-12)


def test_ties_count_pro_rata_and_order_inside_ties_does_not_matter():
    rng = np.random.default_rng(2)
    y, t = rng.random(200) < 0.3, rng.random(200) < 0.5
    score = rng.integers(0, 5, 200).astype(float)
    perm = rng.permutation(200)
    assert qini_coefficient(y, score, t) == pytest.approx(
        qini_coefficient(y[perm], score[perm], t[perm])
    )
    assert uplift_at_k(y, score, t, k=0.37) == pytest.approx(
        uplift_at_k(y[perm], score[perm], t[perm], k=0.37)
    )


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    y, t, s = rng.random(150) < 0.3, rng.random(150) < 0.5, rng.random(150)
    w = rng.integers(1, 4, 150)
    rep = np.repeat(np.arange(150), w)
    assert qini_coefficient(y, s, t, sample_weight=w) == pytest.approx(
        qini_coefficient(y[rep], s[rep], t[rep])
    )
    np.testing.assert_allclose(
        uplift_curve(y, s, t, sample_weight=w)[1][-1],
        uplift_curve(y[rep], s[rep], t[rep])[1][-1],
    )


def test_uplift_curve_estimates_the_true_effect_sum():
    df = generate_campaign(40_000, random_state=5, return_truth=True)
    truth = df["true_uplift"].to_numpy()
    fractions, kept, _ = uplift_curve(df["churned"], truth, df["offer"])
    order = np.argsort(-truth)
    cum_truth = np.concatenate(([0.0], np.cumsum(truth[order])))
    # At 30 % of the base (12,000 customers, 3,580 truly kept) the estimate's
    # standard error is about 130 customers (Bernoulli outcomes and the random
    # arm sizes): 10 % is about 3 standard errors.
    k = int(0.3 * len(df))
    estimate = np.interp(0.3, fractions, kept)
    assert estimate == pytest.approx(cum_truth[k], rel=0.1)
    # The estimate is unbiased: the last point is the difference of arm rates.
    offer = df["offer"].to_numpy()
    churned = df["churned"].to_numpy()
    rates = churned[~offer].mean() - churned[offer].mean()
    assert kept[-1] == pytest.approx(rates * len(df))
    # The oracle (true effect) ranks far better than the churn risk.
    q_oracle = qini_coefficient(df["churned"], truth, df["offer"])
    q_risk = qini_coefficient(
        df["churned"], df["churn_probability_control"], df["offer"]
    )
    assert q_oracle > 1.5 * q_risk > 0


def test_string_labels_and_pos_label():
    labels = np.where(CHURNED == 1, "Yes", "No")
    with pytest.raises(DataValidationError, match="pos_label"):
        qini_coefficient(labels, SCORE, OFFER)
    assert qini_coefficient(labels, SCORE, OFFER, pos_label="Yes") == pytest.approx(
        qini_coefficient(CHURNED, SCORE, OFFER)
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"uplift": SCORE[:5]}, DataValidationError, "different lengths"),
        ({"treatment": OFFER[:5]}, DataValidationError, "one value per row"),
        ({"treatment": np.zeros(6)}, DataValidationError, "both offered"),
        ({"uplift": [np.nan, 1, 2, 3, 4, 5]}, DataValidationError, "NaN"),
        ({"y_true": np.zeros(6)}, DataValidationError, "single class"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    args = {"y_true": CHURNED, "uplift": SCORE, "treatment": OFFER, **kwargs}
    with pytest.raises(exc, match=re.escape(match)):
        qini_coefficient(args["y_true"], args["uplift"], args["treatment"])


def test_uplift_at_k_needs_both_arms_in_the_top():
    with pytest.raises(DataValidationError, match="no not-offered customer"):
        uplift_at_k(CHURNED, SCORE, OFFER, k=1 / 6)
    with pytest.raises(InvalidParameterError, match="'k' parameter"):
        uplift_at_k(CHURNED, SCORE, OFFER, k=0)


def test_compare_targeting_hand_example():
    churned = [0, 1, 0, 1, 1, 0, 1, 1]
    offer = [1, 0, 1, 0, 1, 0, 1, 0]
    table = compare_targeting(
        churned,
        offer,
        [8, 7, 6, 5, 4, 3, 2, 1],
        [1, 2, 3, 4, 5, 6, 7, 8],
        fraction=0.5,
        customer_value=200,
        incentive_cost=10,
        contact_cost=1,
    )
    up = table.loc["uplift"]
    # Top 4 by uplift: 2 offered stayers, 2 not-offered churners; N_t = N_c = 4.
    assert up["targeted"] == 4
    assert up["kept"] == pytest.approx((2 / 4 - 0 / 4) * 8)
    assert up["profit"] == pytest.approx(200 * 4 - 1 * 4 - 10 * (4 - 0))
    risk = table.loc["churn probability"]
    assert risk["kept"] == pytest.approx((1 / 4 - 2 / 4) * 8)
    assert list(table.index) == ["uplift", "churn probability", "random"]


def test_compare_targeting_truth_columns_and_errors():
    df = generate_campaign(3_000, random_state=1, return_truth=True)
    table = compare_targeting(
        df["churned"],
        df["offer"],
        df["true_uplift"],
        df["churn_probability_control"],
        truth=df,
    )
    top = np.argsort(-df["true_uplift"].to_numpy(), kind="stable")[:900]
    assert table.loc["uplift", "true_kept"] == pytest.approx(
        df["true_uplift"].to_numpy()[top].sum()
    )
    assert (
        table.loc["uplift", "true_kept"] > table.loc["churn probability", "true_kept"]
    )
    with pytest.raises(DataValidationError, match="churn_probability_treated"):
        compare_targeting(
            df["churned"],
            df["offer"],
            df["true_uplift"],
            df["churn_probability_control"],
            truth=df[["churn_probability_control"]],
        )
    with pytest.raises(DataValidationError, match="churn_score has 5 values"):
        compare_targeting(df["churned"], df["offer"], df["true_uplift"], np.ones(5))


def test_report_section_is_escaped_html_with_the_verdict():
    churned = [0, 1, 0, 1, 1, 0, 1, 1]
    offer = [1, 0, 1, 0, 1, 0, 1, 0]
    html = uplift_report_section(
        churned,
        offer,
        [8, 7, 6, 5, 4, 3, 2, 1],
        [1, 2, 3, 4, 5, 6, 7, 8],
        fraction=0.5,
    )
    assert html.startswith('<section id="uplift">')
    assert html.endswith("</section>")
    assert "target by uplift" in html
    assert "<script" not in html
    assert html.count("<tr>") == 4  # the header and three rankings
    assert "756" in html  # the uplift ranking's profit
