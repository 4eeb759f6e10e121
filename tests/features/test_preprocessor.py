"""ChurnPreprocessor: validation, imputation, scaling, one-hot, readable names."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from churnlib.data import ChurnSchema, generate_customers
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.features import (
    ChargeRatios,
    ChurnPreprocessor,
    SchemaValidator,
    ServiceCount,
    TenureBucketer,
)


@pytest.fixture(scope="module")
def data():
    df = generate_customers(400, random_state=1)
    return df.drop(columns="churned"), df["churned"]


def test_no_arguments_on_generated_data(data):
    X, _ = data
    pre = ChurnPreprocessor()
    Xt = pre.fit_transform(X)
    names = pre.get_feature_names_out()
    assert Xt.shape == (len(X), len(names))
    assert np.isfinite(Xt).all()
    assert pre.dropped_columns_ == ["customer_id"]
    assert pre.numeric_features_ == [
        "age",
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_calls",
    ]
    assert "tenure_months" in names
    assert "contract=month-to-month" in names
    assert "partner=True" in names
    assert isinstance(pre.validator_, SchemaValidator)
    # numeric part is standard-scaled
    i = list(names).index("monthly_charges")
    assert Xt[:, i].mean() == pytest.approx(0.0, abs=1e-9)
    assert Xt[:, i].std() == pytest.approx(1.0)
    np.testing.assert_allclose(pre.transform(X), Xt)


def test_set_output_pandas(data):
    X, _ = data
    Xt = ChurnPreprocessor().set_output(transform="pandas").fit_transform(X)
    assert isinstance(Xt, pd.DataFrame)
    assert Xt.index.equals(X.index)
    assert "contract=one year" in Xt.columns
    assert Xt.dtypes.eq(np.float64).all()


def test_global_pandas_output(data):
    X, _ = data
    with sklearn.config_context(transform_output="pandas"):
        Xt = ChurnPreprocessor().fit_transform(X)
    assert isinstance(Xt, pd.DataFrame)


def test_unseen_categories_and_nan_at_predict_time_never_crash(data):
    X, _ = data
    pre = ChurnPreprocessor().set_output(transform="pandas").fit(X)
    new = X.head(5).copy()
    for c in ["contract", "payment_method"]:
        new[c] = new[c].astype(object)
    new.loc[new.index[0], "contract"] = "ten year"
    new.loc[new.index[1], "payment_method"] = np.nan
    new.loc[new.index[2], "monthly_charges"] = np.nan
    new.loc[new.index[3], "tenure_months"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pre.transform(new)
    assert np.isfinite(out.to_numpy()).all()
    contract = out.filter(like="contract=")
    assert contract.iloc[0].sum() == 0  # unknown: all zeros (nothing infrequent)
    assert contract.iloc[1].sum() == 1


def test_infrequent_categories_are_grouped():
    rng = np.random.default_rng(0)
    plan = rng.choice(["a", "b"], size=200).astype(object)
    plan[:3] = ["rare1", "rare2", "rare3"]
    X = pd.DataFrame({"plan": plan, "x": rng.normal(size=200)})
    pre = ChurnPreprocessor(min_frequency=5).set_output(transform="pandas").fit(X)
    assert list(pre.get_feature_names_out()) == [
        "x",
        "plan=a",
        "plan=b",
        "plan=<infrequent>",
    ]
    out = pre.transform(pd.DataFrame({"plan": ["rare2", "never seen"], "x": [0, 0]}))
    assert out["plan=<infrequent>"].tolist() == [1.0, 1.0]

    keep_all = ChurnPreprocessor(min_frequency=None).fit(X)
    assert "plan=rare1" in keep_all.get_feature_names_out()
    capped = ChurnPreprocessor(min_frequency=None, max_categories=2).fit(X)
    assert len([n for n in capped.get_feature_names_out() if n.startswith("plan")]) == 2


def test_missing_category_seen_at_fit_gets_a_column():
    X = pd.DataFrame({"plan": ["a", "b", None, "a"] * 5, "x": np.arange(20.0)})
    pre = ChurnPreprocessor(min_frequency=None).fit(X)
    assert "plan=<missing>" in pre.get_feature_names_out()


def test_numeric_text_with_blanks_like_telco():
    X = pd.DataFrame(
        {
            "tenure": [0, 1, 5, 30, 0, 12] * 5,
            "TotalCharges": [" ", "29.85", "100.5", "2000", " ", "600"] * 5,
        }
    )
    pre = ChurnPreprocessor().fit(X)
    assert pre.numeric_features_ == ["tenure", "TotalCharges"]
    assert np.isfinite(pre.transform(X)).all()
    bad = X.head(2).assign(TotalCharges=["12", "n/a?"])
    with pytest.raises(DataValidationError, match="'n/a\\?'") as exc:
        pre.transform(bad)
    assert exc.value.columns == ("TotalCharges",)


def test_add_indicator_and_strategy():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "b": [1.0, 2.0, 3.0, 4.0]})
    pre = ChurnPreprocessor(add_indicator=True, impute_strategy="mean", scaler=None)
    Xt = pre.set_output(transform="pandas").fit_transform(X)
    assert list(Xt.columns) == ["a", "b", "missingindicator_a"]
    assert Xt.loc[1, "a"] == pytest.approx(14.0 / 3)
    assert Xt["missingindicator_a"].tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("scaler", "check"),
    [
        ("robust", lambda v: np.median(v) == pytest.approx(0.0)),
        ("minmax", lambda v: (v.min(), v.max()) == pytest.approx((0.0, 1.0))),
        (None, lambda v: (v.min(), v.max()) == pytest.approx((1.0, 9.0))),
        (MaxAbsScaler(), lambda v: v.max() == pytest.approx(1.0)),
    ],
)
def test_scalers(scaler, check):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 9.0, 5.0]})
    pre = ChurnPreprocessor(scaler=scaler).fit(X)
    assert check(pre.transform(X)[:, 0])


def test_custom_scaler_is_cloned():
    scaler = MaxAbsScaler()
    ChurnPreprocessor(scaler=scaler).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    assert not hasattr(scaler, "max_abs_")


def test_numpy_input(data):
    X, _ = data
    arr = X.drop(columns="customer_id").to_numpy()
    pre = ChurnPreprocessor().fit(arr)
    out = pre.transform(arr)
    assert out.shape[0] == len(X)
    assert np.isfinite(out).all()
    names = pre.get_feature_names_out()
    assert "x0" in names  # age
    cols = list(X.columns.drop("customer_id"))
    renamed = pre.get_feature_names_out(cols)
    assert "age" in renamed
    assert any(n.startswith("contract=") for n in renamed)


def test_columns_are_matched_by_name(data):
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    reordered = X[X.columns[::-1]].assign(unused=1)
    np.testing.assert_allclose(pre.transform(reordered), pre.transform(X))
    # identifiers may be absent at scoring time
    np.testing.assert_allclose(
        pre.transform(X.drop(columns="customer_id")), pre.transform(X)
    )


def test_extra_raise_ignores_known_identifiers(data):
    X, _ = data
    pre = ChurnPreprocessor(extra="raise").fit(X)
    pre.transform(X)  # customer_id was seen at fit: not extra
    with pytest.raises(DataValidationError, match="surprise"):
        pre.transform(X.assign(surprise=1))


def test_missing_column_is_named(data):
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    with pytest.raises(DataValidationError, match="contract") as exc:
        pre.transform(X.drop(columns="contract"))
    assert exc.value.columns == ("contract",)


def test_empty_input(data):
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    with pytest.raises(DataValidationError, match="0 sample"):
        pre.transform(X.iloc[:0])


def test_only_identifiers_left():
    X = pd.DataFrame({"customer_id": [f"C{i}" for i in range(60)]})
    with pytest.raises(DataValidationError, match="no feature column"):
        ChurnPreprocessor().fit(X)


def test_explicit_schema(data):
    X, _ = data
    schema = ChurnSchema(numeric=["tenure_months"], categorical=["contract"])
    pre = ChurnPreprocessor(schema=schema).fit(X)
    assert list(pre.get_feature_names_out()) == [
        "tenure_months",
        "contract=month-to-month",
        "contract=one year",
        "contract=two year",
    ]
    assert "age" in pre.dropped_columns_


def test_datetime_columns_are_not_features(data):
    X, _ = data
    X = X.assign(signup=pd.date_range("2024-01-01", periods=len(X), freq="D"))
    pre = ChurnPreprocessor().fit(X)
    assert "signup" in pre.dropped_columns_
    assert not any("signup" in n for n in pre.get_feature_names_out())


def test_pipeline_with_domain_transformers_and_model(data):
    X, y = data
    model = make_pipeline(
        ChargeRatios(),
        TenureBucketer(),
        ServiceCount(),
        ChurnPreprocessor(),
        LogisticRegression(max_iter=1000),
    ).fit(X, y)
    names = model[:-1].get_feature_names_out()
    assert "charge_ratio" in names
    assert "tenure_bucket=<6" in names
    assert "n_services" in names
    proba = model.predict_proba(X)[:, 1]
    assert proba.shape == (len(X),)
    assert model.score(X, y) > 0.7


def test_pickle_round_trip(data):
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    again = pickle.loads(pickle.dumps(pre))
    np.testing.assert_allclose(again.transform(X), pre.transform(X))


def test_skops_round_trip(data):
    skops_io = pytest.importorskip("skops.io")
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    blob = skops_io.dumps(pre)
    untrusted = skops_io.get_untrusted_types(data=blob)
    again = skops_io.loads(blob, trusted=untrusted)
    np.testing.assert_allclose(again.transform(X), pre.transform(X))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"scaler": "zscore"}, "The 'scaler' parameter of ChurnPreprocessor"),
        ({"scaler": 3}, "implementing 'fit' and 'transform'"),
        ({"min_frequency": 0}, "The 'min_frequency' parameter"),
        ({"min_frequency": 1.5}, "The 'min_frequency' parameter"),
        ({"max_categories": 1}, "The 'max_categories' parameter"),
        ({"impute_strategy": "mode"}, "The 'impute_strategy' parameter"),
        ({"add_indicator": "yes"}, "The 'add_indicator' parameter"),
        ({"extra": "drop"}, "The 'extra' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        ChurnPreprocessor(**params).fit(pd.DataFrame({"a": [1.0, 2.0]}))


def test_input_is_never_modified(data):
    X, _ = data
    before = X.copy()
    pre = ChurnPreprocessor().fit(X)
    pre.transform(X)
    pd.testing.assert_frame_equal(X, before)


def test_whole_pipeline_set_output_pandas(data):
    X, _ = data
    pipe = make_pipeline(
        ChargeRatios(), TenureBucketer(), ServiceCount(), ChurnPreprocessor()
    ).set_output(transform="pandas")
    Xt = pipe.fit_transform(X)
    assert isinstance(Xt, pd.DataFrame)
    assert Xt.index.equals(X.index)
    assert list(Xt.columns) == list(pipe.get_feature_names_out())
    assert "tenure_bucket=48+" in Xt.columns
    assert np.isfinite(Xt.to_numpy()).all()


def test_report_on_batches(data):
    X, _ = data
    pre = ChurnPreprocessor().fit(X)
    assert pre.report(X).ok  # customer_id is not "extra"
    batch = X.head(4).copy()
    batch["contract"] = batch["contract"].astype(object)
    batch.loc[batch.index[0], "contract"] = "ten year"
    report = pre.report(batch.assign(new=1))
    assert report.extra_columns == ("new",)
    by = {c.column: c for c in report.columns}
    assert by["contract"].unseen_examples == ("ten year",)
    with pytest.raises(DataValidationError, match="age"):
        pre.report(X.drop(columns="age"))
