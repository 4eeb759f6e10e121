"""TenureBucketer, ChargeRatios, ServiceCount: small appending transformers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.features import ChargeRatios, ServiceCount, TenureBucketer

# -- TenureBucketer ----------------------------------------------------------


def test_tenure_buckets_default_edges():
    X = pd.DataFrame({"tenure_months": [0, 5, 6, 11, 12, 23, 24, 47, 48, 72, np.nan]})
    out = TenureBucketer().fit_transform(X)
    assert list(out.columns) == ["tenure_months", "tenure_bucket"]
    assert out["tenure_bucket"].dtype == pd.CategoricalDtype(
        ["<6", "6-11", "12-23", "24-47", "48+"], ordered=True
    )
    assert out["tenure_bucket"].tolist()[:-1] == [
        "<6",
        "<6",
        "6-11",
        "6-11",
        "12-23",
        "12-23",
        "24-47",
        "24-47",
        "48+",
        "48+",
    ]
    assert pd.isna(out["tenure_bucket"].iloc[-1])


def test_tenure_buckets_custom_edges_and_name():
    X = pd.DataFrame({"tenure": [0.5, 1.5, 3.0]})
    t = TenureBucketer("tenure", edges=[1, 2.5], name="tb").fit(X)
    assert t.labels_ == ["<1", "[1, 2.5)", "2.5+"]
    assert t.transform(X)["tb"].tolist() == ["<1", "[1, 2.5)", "2.5+"]
    assert list(t.get_feature_names_out()) == ["tenure", "tb"]
    single = TenureBucketer("tenure", edges=(1, 2)).fit(X)
    assert single.labels_ == ["<1", "1", "2+"]


def test_tenure_buckets_numpy_gives_codes():
    X = np.array([[0.0, 9.0], [30.0, 1.0], [np.nan, 2.0]])
    out = TenureBucketer(column=0).fit_transform(X)
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out[:2, 2], [0.0, 3.0])
    assert np.isnan(out[2, 2])


def test_tenure_text_is_parsed_and_garbage_named():
    X = pd.DataFrame({"tenure_months": ["1", " 30", ""]})
    out = TenureBucketer().fit_transform(X)
    assert out["tenure_bucket"].tolist()[:2] == ["<6", "24-47"]
    with pytest.raises(DataValidationError, match="'lots'") as exc:
        TenureBucketer().fit(pd.DataFrame({"tenure_months": ["1", "lots"]}))
    assert exc.value.columns == ("tenure_months",)


@pytest.mark.parametrize("edges", [(), (12, 6), (1, 1), (1, np.inf), ("a",), (True,)])
def test_tenure_bad_edges(edges):
    with pytest.raises(InvalidParameterError, match="'edges' parameter"):
        TenureBucketer(edges=edges).fit(pd.DataFrame({"tenure_months": [1]}))


def test_missing_column_message_suggests_the_fix():
    X = pd.DataFrame({"tenure": [1, 2]})
    with pytest.raises(DataValidationError, match="column='tenure'") as exc:
        TenureBucketer().fit(X)
    assert exc.value.columns == ("tenure_months",)
    with pytest.raises(DataValidationError, match="position 3"):
        TenureBucketer(column=3).fit(X)
    with pytest.raises(DataValidationError, match="no column names"):
        TenureBucketer().fit(np.zeros((2, 2)))


def test_name_clash():
    X = pd.DataFrame({"tenure_months": [1], "tenure_bucket": ["x"]})
    with pytest.raises(DataValidationError, match="already has"):
        TenureBucketer().fit(X)


def test_column_order_is_strict_like_sklearn():
    X = pd.DataFrame({"tenure_months": [1, 2], "other": [3, 4]})
    t = TenureBucketer().fit(X)
    with pytest.raises(ValueError, match="same order"):
        t.transform(X[["other", "tenure_months"]])


# -- ChargeRatios ------------------------------------------------------------


def test_charge_ratios_definitions():
    X = pd.DataFrame(
        {
            "tenure_months": [0, 10, 10, 4, 5],
            "monthly_charges": [50.0, 50.0, 80.0, 0.0, np.nan],
            "total_charges": [0.0, 500.0, 500.0, 0.0, 100.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero warnings
        out = ChargeRatios().fit_transform(X)
    np.testing.assert_allclose(
        out["charge_ratio"], [np.nan, 1.0, 0.625, np.nan, np.nan], equal_nan=True
    )
    np.testing.assert_allclose(out["avg_monthly_charges"], [50, 50, 50, 0, 20])
    np.testing.assert_allclose(
        out["charge_increase"], [0, 0, 30, 0, np.nan], equal_nan=True
    )


def test_charge_ratios_fill_value_and_telco_names():
    X = pd.DataFrame(
        {"tenure": [0, 2], "MonthlyCharges": [20.0, 20.0], "TotalCharges": [" ", "40"]}
    )
    t = ChargeRatios(
        total="TotalCharges", monthly="MonthlyCharges", tenure="tenure", fill_value=1.0
    )
    out = t.fit_transform(X)
    assert out["charge_ratio"].tolist() == [1.0, 1.0]
    assert out["avg_monthly_charges"].tolist() == [20.0, 20.0]
    assert t.input_columns_ == ["TotalCharges", "MonthlyCharges", "tenure"]
    assert list(t.get_feature_names_out()) == [
        "tenure",
        "MonthlyCharges",
        "TotalCharges",
        "charge_ratio",
        "avg_monthly_charges",
        "charge_increase",
    ]


def test_charge_ratios_never_infinite():
    X = np.array([[1e308, 1e-308, 1e-10], [1.0, 0.0, 0.0], [-5.0, 2.0, 3.0]])
    out = ChargeRatios(total=0, monthly=1, tenure=2).fit_transform(X)
    assert not np.isinf(out).any()


def test_charge_ratios_missing_column_example():
    with pytest.raises(DataValidationError, match="total='TotalCharges'"):
        ChargeRatios().fit(pd.DataFrame({"tenure": [1]}))


def test_charge_ratios_bad_fill_value():
    with pytest.raises(InvalidParameterError, match="'fill_value' parameter"):
        ChargeRatios(fill_value="zero").fit(
            pd.DataFrame(
                {"total_charges": [1], "monthly_charges": [1], "tenure_months": [1]}
            )
        )


# -- ServiceCount ------------------------------------------------------------


def test_service_count_generated(churn_data):
    X, _ = churn_data
    out = ServiceCount().fit_transform(X)
    expected = (
        X["phone_service"].astype(int)
        + (X["internet_service"].astype(str) != "no").astype(int)
        + X["tech_support"].astype(int)
        + X["streaming"].astype(int)
    )
    np.testing.assert_array_equal(out["n_services"], expected)


def test_service_count_rules():
    X = pd.DataFrame(
        {
            "a": ["Yes", "No", "No phone service", None, " yes ", "none"],
            "b": pd.Categorical(["DSL", "No", "Fiber optic", "DSL", None, "No"]),
            "c": [1, 0, 2, np.nan, 0, 1],
            "d": [True, False, True, False, True, False],
        }
    )
    out = ServiceCount(["a", "b", "c", "d"], name="k").fit_transform(X)
    assert out["k"].tolist() == [4, 0, 3, 1, 2, 1]


def test_service_count_bad_columns():
    X = pd.DataFrame({"a": [1]})
    with pytest.raises(InvalidParameterError, match="'columns' parameter"):
        ServiceCount([]).fit(X)
    with pytest.raises(InvalidParameterError, match="'columns' parameter"):
        ServiceCount("a").fit(X)
    with pytest.raises(DataValidationError, match="'zzz'"):
        ServiceCount(["a", "zzz"]).fit(X)


def test_array_in_array_out_and_set_output():
    X = np.array([[1.0, 0.0], [0.0, 0.0]])
    s = ServiceCount(columns=[0, 1])
    out = s.fit_transform(X)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out[:, 2], [1, 0])
    frame = s.set_output(transform="pandas").fit_transform(X)
    assert list(frame.columns) == ["x0", "x1", "n_services"]


def test_index_is_kept():
    X = pd.DataFrame({"tenure_months": [3, 40]}, index=["u", "v"])
    out = TenureBucketer().fit_transform(X)
    assert list(out.index) == ["u", "v"]
