"""Tests for churnlib.data.generate_customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from churnlib.data import (
    BASE_CHURN_RATE,
    TRUTH_COEFFICIENTS,
    TRUTH_TERMS,
    generate_customers,
)
from churnlib.exceptions import InvalidParameterError

COLUMNS = [
    "customer_id",
    "age",
    "gender",
    "senior_citizen",
    "partner",
    "dependents",
    "tenure_months",
    "contract",
    "payment_method",
    "paperless_billing",
    "internet_service",
    "phone_service",
    "tech_support",
    "streaming",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "churned",
]
BOOL_COLUMNS = [
    "senior_citizen",
    "partner",
    "dependents",
    "paperless_billing",
    "phone_service",
    "tech_support",
    "streaming",
    "churned",
]


@pytest.fixture(scope="module")
def big():
    """50,000 customers with their truth (shared by the statistical tests)."""
    return generate_customers(50_000, random_state=7, return_truth=True)


def truth_from_documented_terms(df: pd.DataFrame) -> np.ndarray:
    """Recompute the truth from TRUTH_COEFFICIENTS and TRUTH_TERMS' definitions."""
    mtm = (df["contract"] == "month-to-month").to_numpy()
    echeck = (df["payment_method"] == "electronic check").to_numpy()
    terms = {
        "intercept": np.ones(len(df)),
        "contract[month-to-month]": mtm,
        "contract[one year]": (df["contract"] == "one year").to_numpy(),
        "log1p(tenure_months)": np.log1p(df["tenure_months"].to_numpy()),
        "internet_service[fiber optic]": (
            df["internet_service"] == "fiber optic"
        ).to_numpy(),
        "payment_method[electronic check]": echeck,
        "month-to-month x electronic check": mtm & echeck,
        "tech_support": df["tech_support"].to_numpy(),
        "paperless_billing": df["paperless_billing"].to_numpy(),
        "senior_citizen": (df["age"] >= 65).to_numpy(),
        "partner": df["partner"].to_numpy(),
        "dependents": df["dependents"].to_numpy(),
        "(monthly_charges - 70) / 10": (df["monthly_charges"].to_numpy() - 70) / 10,
        "support_calls": df["support_calls"].to_numpy(),
    }
    assert set(terms) == set(TRUTH_COEFFICIENTS) == set(TRUTH_TERMS)
    eta = sum(TRUTH_COEFFICIENTS[k] * terms[k].astype(float) for k in terms)
    return expit(eta)


def test_columns_and_dtypes():
    df = generate_customers(200, random_state=0)
    assert list(df.columns) == COLUMNS
    for c in BOOL_COLUMNS:
        assert df[c].dtype == bool, c
    for c in ["gender", "contract", "payment_method", "internet_service"]:
        assert isinstance(df[c].dtype, pd.CategoricalDtype), c
    assert df["contract"].cat.categories.tolist() == [
        "month-to-month",
        "one year",
        "two year",
    ]
    assert df["internet_service"].cat.categories.tolist() == [
        "DSL",
        "fiber optic",
        "no",
    ]
    assert "electronic check" in df["payment_method"].cat.categories
    assert len(df["payment_method"].cat.categories) >= 3
    for c in ["age", "tenure_months", "support_calls"]:
        assert df[c].dtype == np.int64, c
    for c in ["monthly_charges", "total_charges"]:
        assert df[c].dtype == np.float64, c
    assert pd.api.types.is_string_dtype(df["customer_id"])


def test_ids_unique_and_formatted():
    df = generate_customers(1_234, random_state=0)
    assert df["customer_id"].is_unique
    assert df["customer_id"].iloc[0] == "C0000001"
    assert df["customer_id"].iloc[-1] == "C0001234"
    assert df["customer_id"].str.fullmatch(r"C\d{7}").all()


def test_ranges_and_consistency(big):
    df = big
    assert df["age"].between(18, 90).all()
    assert df["tenure_months"].between(0, 72).all()
    assert df["monthly_charges"].between(18, 120).all()
    assert (df["support_calls"] >= 0).all()
    assert df["churn_probability"].between(0, 1).all()
    # senior citizens are the 65+
    assert (df["senior_citizen"] == (df["age"] >= 65)).all()
    # no internet -> no tech support, no streaming, always phone
    no_net = df["internet_service"] == "no"
    assert not (df.loc[no_net, "tech_support"] | df.loc[no_net, "streaming"]).any()
    assert df.loc[no_net, "phone_service"].all()
    # total charges ~ tenure x monthly charges, with a few % noise
    expected = df["tenure_months"] * df["monthly_charges"]
    assert (df.loc[df["tenure_months"] == 0, "total_charges"] == 0).all()
    ratio = (df["total_charges"] / expected)[expected > 0]
    assert abs(ratio.median() - 1) < 0.01
    assert 0.02 < ratio.std() < 0.08


def test_marginals_plausible_against_telco(big):
    # IBM Telco: contract 55/21/24 %, tenure mean 32.4 (median 29), monthly
    # charges mean 64.8, churn 26.5 %, seniors 16.2 %, fiber 44 %.
    df = big
    mix = df["contract"].value_counts(normalize=True)
    assert mix["month-to-month"] == pytest.approx(0.55, abs=0.02)
    assert mix["one year"] == pytest.approx(0.21, abs=0.02)
    assert mix["two year"] == pytest.approx(0.24, abs=0.02)
    assert df["tenure_months"].mean() == pytest.approx(32.4, abs=2)
    assert df["monthly_charges"].mean() == pytest.approx(64.8, abs=5)
    assert df["churned"].mean() == pytest.approx(0.265, abs=0.01)
    assert df["senior_citizen"].mean() == pytest.approx(0.162, abs=0.02)
    assert (df["internet_service"] == "fiber optic").mean() == pytest.approx(
        0.44, abs=0.02
    )
    # the effects the issue names go the documented way
    rate = df.groupby("contract", observed=True)["churned"].mean()
    assert rate["month-to-month"] > rate["one year"] > rate["two year"]
    echeck = df["payment_method"] == "electronic check"
    assert df.loc[echeck, "churned"].mean() > df.loc[~echeck, "churned"].mean()
    assert (
        df.loc[df["tech_support"], "churned"].mean()
        < df.loc[~df["tech_support"], "churned"].mean()
    )


def test_truth_is_the_documented_model(big):
    np.testing.assert_allclose(
        big["churn_probability"].to_numpy(), truth_from_documented_terms(big)
    )
    assert big["churn_probability"].mean() == pytest.approx(BASE_CHURN_RATE, abs=0.005)


def test_truth_is_informative_but_not_trivial(big):
    auc = roc_auc_score(big["churned"], big["churn_probability"])
    assert 0.75 <= auc <= 0.95


@pytest.mark.parametrize("rate", [0.05, 0.265, 0.5, 0.8])
def test_churn_rate_is_hit_within_one_point(rate):
    df = generate_customers(50_000, churn_rate=rate, random_state=11)
    assert abs(df["churned"].mean() - rate) < 0.01


def test_churn_rate_changes_only_the_intercept():
    a = generate_customers(2_000, random_state=5, return_truth=True)
    b = generate_customers(2_000, churn_rate=0.5, random_state=5, return_truth=True)
    features = [c for c in COLUMNS if c != "churned"]
    pd.testing.assert_frame_equal(a[features], b[features])
    # same ranking of customers, higher scores
    la = np.log(a["churn_probability"] / (1 - a["churn_probability"]))
    lb = np.log(b["churn_probability"] / (1 - b["churn_probability"]))
    shift = lb - la
    np.testing.assert_allclose(shift, shift.iloc[0])
    assert shift.iloc[0] > 0


def test_same_seed_same_frame_and_different_seed_differs():
    a = generate_customers(500, random_state=42, return_truth=True)
    b = generate_customers(500, random_state=42, return_truth=True)
    pd.testing.assert_frame_equal(a, b)
    c = generate_customers(500, random_state=43, return_truth=True)
    assert not a.drop(columns="customer_id").equals(c.drop(columns="customer_id"))


def test_random_state_types():
    a = generate_customers(50, random_state=np.random.default_rng(1))
    b = generate_customers(50, random_state=np.random.default_rng(1))
    pd.testing.assert_frame_equal(a, b)
    c = generate_customers(50, random_state=np.random.RandomState(1))
    assert c.shape == a.shape
    assert len(generate_customers(50, random_state=None)) == 50


def test_empty_table_is_typed():
    empty = generate_customers(0, random_state=0, return_truth=True)
    full = generate_customers(3, random_state=0, return_truth=True)
    assert empty.shape == (0, len(COLUMNS) + 1)
    pd.testing.assert_series_equal(empty.dtypes, full.dtypes)
    # churn_rate with no customers: nothing to calibrate, still typed and empty
    assert generate_customers(0, churn_rate=0.3).shape == (0, len(COLUMNS))


def test_single_customer_with_rate_gets_that_probability():
    df = generate_customers(1, churn_rate=0.3, random_state=0, return_truth=True)
    assert df["churn_probability"].iloc[0] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": -1}, "'n_customers' parameter of generate_customers"),
        ({"n_customers": 2.5}, "'n_customers' parameter"),
        ({"n_customers": True}, "'n_customers' parameter"),
        ({"n_customers": "10"}, "'n_customers' parameter"),
        ({"churn_rate": 0.0}, "'churn_rate' parameter .* range \\(0, 1\\)"),
        ({"churn_rate": 1.0}, "'churn_rate' parameter"),
        ({"churn_rate": 1.5}, "'churn_rate' parameter"),
        ({"churn_rate": float("nan")}, "'churn_rate' parameter"),
        ({"churn_rate": "0.3"}, "'churn_rate' parameter"),
        ({"random_state": "seed"}, "'random_state' parameter"),
        ({"return_truth": 1}, "'return_truth' parameter"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        generate_customers(**{"n_customers": 10, **kwargs})


def test_coefficient_tables_are_read_only():
    with pytest.raises(TypeError):
        TRUTH_COEFFICIENTS["intercept"] = 0.0  # type: ignore[index]


@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    rate=st.one_of(st.none(), st.floats(0.02, 0.98)),
)
def test_property_ranges_reproducibility_and_rate(n, seed, rate):
    df = generate_customers(n, churn_rate=rate, random_state=seed, return_truth=True)
    assert len(df) == n
    assert df["customer_id"].is_unique
    assert df["age"].between(18, 90).all()
    assert df["tenure_months"].between(0, 72).all()
    assert df["monthly_charges"].between(18, 120).all()
    assert (df["total_charges"] >= 0).all()
    assert df["churn_probability"].between(0, 1).all()
    if rate is not None:
        # the intercept is solved so the table's expected rate is exact
        assert df["churn_probability"].mean() == pytest.approx(rate, abs=1e-6)
    again = generate_customers(n, churn_rate=rate, random_state=seed, return_truth=True)
    pd.testing.assert_frame_equal(df, again)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), rate=st.floats(0.05, 0.95))
def test_property_rate_control_at_scale(seed, rate):
    # realised rate within 1 point at n = 50,000 (Bernoulli sd <= 0.23 points)
    df = generate_customers(50_000, churn_rate=rate, random_state=seed)
    assert abs(df["churned"].mean() - rate) < 0.01
