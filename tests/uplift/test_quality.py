"""The measured targets of issue 16 on fixed-seed generated campaigns.

50k customers with a 50/50 random offer and 10 % sleeping dogs, a model fitted
on one campaign and judged on another (different seed). Speed targets live in
benchmarks/bench_uplift.py, not here.
"""

from __future__ import annotations

import pytest
from sklearn.pipeline import Pipeline

from churnlib.data import generate_campaign
from churnlib.evaluation import compare_targeting, qini_coefficient
from churnlib.features import ChurnPreprocessor
from churnlib.uplift import TwoModelUplift

TRUTH = [
    "churn_probability_control",
    "churn_probability_treated",
    "true_uplift",
    "segment",
    "propensity",
]


@pytest.fixture(scope="module")
def judged():
    train = generate_campaign(50_000, sleeping_dog_share=0.1, random_state=2024)
    test = generate_campaign(
        50_000, sleeping_dog_share=0.1, random_state=2025, return_truth=True
    )
    features = [c for c in train.columns if c not in ("churned", "offer")]
    pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", TwoModelUplift())])
    pipe.fit(train[features], train["churned"], uplift__treatment=train["offer"])
    uplift = pipe.predict(test[features])
    # The churn-probability ranking: the same model's risk without the offer
    # (a churn model fitted on the customers who were not offered).
    risk = pipe[-1].predict_outcomes(pipe[:-1].transform(test[features]))[:, 0]
    return test, uplift, risk


def test_default_model_reaches_80_percent_of_the_oracle_qini(judged):
    test, uplift, _ = judged
    y, t = test["churned"], test["offer"]
    oracle = qini_coefficient(y, test["true_uplift"], t)
    model = qini_coefficient(y, uplift, t)
    assert oracle > 0.2
    assert model >= 0.8 * oracle


def test_top_30_percent_by_uplift_beats_top_30_percent_by_churn_risk(judged):
    test, uplift, risk = judged
    table = compare_targeting(
        test["churned"], test["offer"], uplift, risk, fraction=0.3, truth=test
    )
    by_uplift, by_risk = table.loc["uplift"], table.loc["churn probability"]
    # Same budget: 15,000 offers each.
    assert by_uplift["targeted"] == pytest.approx(by_risk["targeted"], abs=1)
    # Expected (true) customers kept and profit, and the campaign's estimates.
    assert by_uplift["true_kept"] > 1.2 * by_risk["true_kept"]
    assert by_uplift["true_profit"] > 1.2 * by_risk["true_profit"]
    assert by_uplift["kept"] > by_risk["kept"]
    assert by_uplift["profit"] > by_risk["profit"]
    # And both beat a random pick of the same size.
    assert by_risk["true_kept"] > table.loc["random", "true_kept"]
