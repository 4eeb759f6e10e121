"""generate_campaign: the customers of generate_customers plus a known offer effect."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from churnlib.data import (
    EFFECT_COEFFICIENTS,
    SEGMENTS,
    generate_campaign,
    generate_customers,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

N = 20_000


@pytest.fixture(scope="module")
def campaign():
    return generate_campaign(N, random_state=7, return_truth=True)


def test_same_seed_same_bytes():
    a = generate_campaign(500, random_state=3, return_truth=True)
    b = generate_campaign(500, random_state=3, return_truth=True)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_campaign(500, random_state=4, return_truth=True))


def test_same_customers_as_generate_customers(campaign):
    plain = generate_customers(N, random_state=7, return_truth=True)
    features = [c for c in plain.columns if c not in ("churned", "churn_probability")]
    pd.testing.assert_frame_equal(campaign[features], plain[features])
    np.testing.assert_array_equal(
        campaign["churn_probability_control"], plain["churn_probability"]
    )
    # Not offered: exactly the label generate_customers draws.
    control = ~campaign["offer"].to_numpy()
    np.testing.assert_array_equal(
        campaign["churned"].to_numpy()[control], plain["churned"].to_numpy()[control]
    )


def test_columns_and_dtypes(campaign):
    cols = list(campaign.columns)
    assert cols[cols.index("offer") + 1] == "churned"
    assert cols[-5:] == [
        "churn_probability_control",
        "churn_probability_treated",
        "true_uplift",
        "segment",
        "propensity",
    ]
    assert campaign["offer"].dtype == bool
    assert campaign["churned"].dtype == bool
    assert list(campaign["segment"].cat.categories) == list(SEGMENTS)
    plain = generate_campaign(100, random_state=0)
    assert "true_uplift" not in plain.columns
    assert "offer" in plain.columns


def test_random_offer_share(campaign):
    share = campaign["offer"].mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / N)
    assert (campaign["propensity"] == 0.5).all()
    low = generate_campaign(N, treatment_share=0.2, random_state=1)
    assert abs(low["offer"].mean() - 0.2) < 4 * np.sqrt(0.16 / N)
    assert not generate_campaign(200, treatment_share=0.0, random_state=1)[
        "offer"
    ].any()


def test_sleeping_dog_share_is_exact_and_documented(campaign):
    harmed = campaign["true_uplift"] < 0
    assert harmed.sum() == round(0.1 * N)
    p0 = campaign["churn_probability_control"].to_numpy()
    p1 = campaign["churn_probability_treated"].to_numpy()
    shift = logit(p1) - logit(p0)
    np.testing.assert_allclose(shift[harmed], EFFECT_COEFFICIENTS["sleeping dog"])
    # Those harmed have the highest contact aversion: expensive fibre customers.
    fibre = campaign["internet_service"] == "fiber optic"
    assert fibre[harmed].mean() > 0.9
    none = generate_campaign(
        2_000, sleeping_dog_share=0.0, random_state=0, return_truth=True
    )
    assert (none["true_uplift"] >= 0).all()
    assert (none["segment"] != "sleeping dog").all()
    more = generate_campaign(
        2_000, sleeping_dog_share=0.3, random_state=0, return_truth=True
    )
    assert (more["true_uplift"] < 0).sum() == 600


def test_helpful_effect_follows_the_coefficients(campaign):
    c = EFFECT_COEFFICIENTS
    p0 = campaign["churn_probability_control"].to_numpy()
    p1 = campaign["churn_probability_treated"].to_numpy()
    helped = campaign["true_uplift"].to_numpy() >= 0
    shift = (logit(p1) - logit(p0))[helped]
    contract = campaign["contract"].to_numpy()[helped]
    calls = campaign["support_calls"].to_numpy()[helped]
    expected = (
        c["base"]
        + c["contract[month-to-month]"] * (contract == "month-to-month")
        + c["contract[one year]"] * (contract == "one year")
    ) * np.maximum(0.0, 1 - calls / 3)
    np.testing.assert_allclose(shift, expected, atol=1e-9)
    # Three support calls or more: a lost cause whatever the offer.
    assert np.allclose(shift[calls >= 3], 0.0)


def test_segments_follow_potential_outcomes(campaign):
    seg = campaign["segment"]
    p0 = campaign["churn_probability_control"]
    p1 = campaign["churn_probability_treated"]
    # Persuadables exist only where the offer helps, sleeping dogs only where
    # it hurts.
    assert (p1[seg == "persuadable"] < p0[seg == "persuadable"]).all()
    assert (p1[seg == "sleeping dog"] > p0[seg == "sleeping dog"]).all()
    # Outcome in the customer's arm is consistent with the segment.
    churned = campaign["churned"]
    assert churned[seg == "lost cause"].all()
    assert not churned[seg == "sure thing"].any()
    offer = campaign["offer"]
    assert (~churned[(seg == "persuadable") & offer]).all()
    assert churned[(seg == "persuadable") & ~offer].all()
    assert churned[(seg == "sleeping dog") & offer].all()
    # Segment shares match the probabilities (coupled draw).
    expected_persuadable = np.clip(p0 - p1, 0, None).mean()
    assert abs((seg == "persuadable").mean() - expected_persuadable) < 0.01


def test_arm_churn_rates_match_the_truth(campaign):
    offer = campaign["offer"]
    for arm, col in (
        (offer, "churn_probability_treated"),
        (~offer, "churn_probability_control"),
    ):
        observed = campaign.loc[arm, "churned"].mean()
        expected = campaign.loc[arm, col].mean()
        assert abs(observed - expected) < 4 * np.sqrt(0.25 / arm.sum())


def test_churn_rate_sets_the_control_rate():
    df = generate_campaign(5_000, churn_rate=0.5, random_state=2, return_truth=True)
    assert df["churn_probability_control"].mean() == pytest.approx(0.5, abs=1e-8)


def test_targeting_policy_gets_features_and_risk():
    seen = {}

    def policy(frame):
        seen["columns"] = list(frame.columns)
        return np.where(frame["churn_probability"] > 0.4, 0.9, 0.1)

    df = generate_campaign(
        10_000, treatment_share=policy, random_state=5, return_truth=True
    )
    assert "churn_probability" in seen["columns"]
    assert "churned" not in seen["columns"]
    risky = df["churn_probability_control"] > 0.4
    np.testing.assert_array_equal(df["propensity"], np.where(risky, 0.9, 0.1))
    assert df.loc[risky, "offer"].mean() > 0.85
    assert df.loc[~risky, "offer"].mean() < 0.15


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        (lambda f: np.full(len(f) - 1, 0.5), "one per customer"),
        (lambda f: np.full(len(f), 1.5), "in [0, 1]"),
        (lambda f: ["a"] * len(f), "offer probability per customer"),
    ],
)
def test_bad_policy_output_is_refused(policy, match):
    with pytest.raises(DataValidationError, match=re.escape(match)):
        generate_campaign(50, treatment_share=policy, random_state=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_customers": -1}, "n_customers"),
        ({"treatment_share": 1.5}, "treatment_share"),
        ({"sleeping_dog_share": 1.0}, "sleeping_dog_share"),
        ({"churn_rate": 0.0}, "churn_rate"),
        ({"random_state": "x"}, "random_state"),
        ({"return_truth": "yes"}, "return_truth"),
    ],
)
def test_invalid_parameters(kwargs, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        generate_campaign(**{"n_customers": 10, **kwargs})


def test_empty_campaign():
    df = generate_campaign(0, random_state=0, return_truth=True)
    assert df.shape[0] == 0
    assert "offer" in df.columns
    assert "true_uplift" in df.columns


def test_true_uplift_is_expit_difference(campaign):
    p0 = campaign["churn_probability_control"]
    np.testing.assert_allclose(
        campaign["true_uplift"], p0 - campaign["churn_probability_treated"]
    )
    assert ((p0 > 0) & (p0 < 1)).all()
