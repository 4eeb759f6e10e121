import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames
from sklearn.linear_model import LogisticRegression

from churnlib import FeatureSpec, ModelContract, get_contract, infer_contract
from churnlib._core.contract import attach_contract
from churnlib.data import generate_customers
from churnlib.exceptions import DataValidationError, InvalidParameterError


@pytest.fixture
def contract():
    return ModelContract(
        features=(
            FeatureSpec(name="tenure", role="numeric", dtype="int64"),
            FeatureSpec(name="charges", role="numeric", dtype="float64"),
            FeatureSpec(name="partner", role="binary", dtype="bool"),
            FeatureSpec(
                name="plan", role="categorical", dtype="category", categories=("a", "b")
            ),
            FeatureSpec(
                name="vip",
                role="binary",
                dtype="bool",
                true_values=("2",),
                false_values=("1",),
            ),
        ),
        id_columns=("cid",),
        excluded={"cid": "identifier", "leak": "leakage"},
        leakage={"leak": 0.999},
        target="Churn",
        threshold=0.3,
        na_values=("-",),
    )


def test_prepare_reads_raw_text_like_the_reader(contract):
    raw = pd.DataFrame(
        {
            "leak": [1, 2, 3],
            "cid": ["x1", "x2", "x3"],
            "plan": [" a", "Unknown", "c"],
            "vip": [2, 1, 2],
            "partner": ["Yes", "no", "TRUE"],
            "charges": ["10.5", " ", "-"],
            "tenure": ["1", "2", "3"],
        }
    )
    X = contract.prepare(raw)
    assert list(X.columns) == ["tenure", "charges", "partner", "plan", "vip"]
    assert X.index.name == "cid"
    assert X.index.tolist() == ["x1", "x2", "x3"]
    assert X["tenure"].dtype == np.int64
    assert X["charges"].iloc[0] == 10.5
    assert X["charges"].isna().tolist() == [False, True, True]
    assert X["partner"].tolist() == [True, False, True]
    assert X["vip"].tolist() == [True, False, True]
    assert X["plan"].dtype == "category"
    assert list(X["plan"].cat.categories) == ["a", "b", "c"]  # unseen level kept
    assert X["plan"].isna().tolist() == [False, True, False]


def test_prepare_is_idempotent(contract):
    raw = pd.DataFrame(
        {"tenure": [1], "charges": [" "], "partner": ["y"], "plan": ["b"], "vip": [1]}
    )
    once = contract.prepare(raw)
    pd.testing.assert_frame_equal(contract.prepare(once), once)


def test_missing_feature_columns_are_named_with_the_fix(contract):
    with pytest.raises(
        DataValidationError, match=r"lacks the feature column\(s\) 'vip'"
    ) as e:
        contract.prepare(
            pd.DataFrame(
                {"tenure": [1], "charges": [1.0], "partner": [True], "plan": ["a"]}
            ),
            source="'batch.csv'",
        )
    assert e.value.columns == ("vip",)
    assert "'batch.csv'" in str(e.value)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("tenure", "ten", r"Column 'tenure'.*'ten'.*numbers"),
        ("charges", np.inf, r"finite numbers"),
        ("partner", "perhaps", r"'perhaps'.*two-level"),
        ("vip", 3, r"Column 'vip'.*'3'"),
    ],
)
def test_unreadable_values_are_refused_by_column(contract, column, value, match):
    raw = pd.DataFrame(
        {"tenure": [1], "charges": [1.0], "partner": [True], "plan": ["a"], "vip": [1]},
        dtype=object,
    )
    raw[column] = [value]
    with pytest.raises(DataValidationError, match=match) as e:
        contract.prepare(raw)
    assert e.value.columns == (column,)


def test_duplicate_columns_are_refused(contract):
    raw = pd.DataFrame([[1, 2]], columns=["tenure", "tenure"])
    with pytest.raises(DataValidationError, match="duplicate column names 'tenure'"):
        contract.prepare(raw)


def test_integer_column_names_are_read_as_text():
    contract = ModelContract(
        features=(FeatureSpec(name="0", role="numeric", dtype="float64"),)
    )
    X = contract.prepare(pd.DataFrame({0: ["1.5"]}))
    assert X.columns.tolist() == ["0"]
    assert X["0"].tolist() == [1.5]


def test_json_round_trip_and_forward_compatibility(contract):
    again = ModelContract.from_json(contract.to_json())
    assert again == contract
    data = contract.to_dict()
    data["a_field_from_the_future"] = 1
    data["features"][0]["also_new"] = True
    assert ModelContract.from_dict(data) == contract
    with pytest.raises(DataValidationError, match="Not a churnlib model contract"):
        ModelContract.from_json("{}")
    with pytest.raises(DataValidationError, match="invalid JSON"):
        ModelContract.from_json("{")


def test_contract_copies_and_pickles(contract):
    assert copy.deepcopy(contract) == contract
    assert pickle.loads(pickle.dumps(contract)) == contract


def test_bad_threshold_and_role():
    with pytest.raises(InvalidParameterError, match="threshold"):
        ModelContract(features=(), threshold=1.5)
    with pytest.raises(InvalidParameterError, match="role"):
        FeatureSpec(name="x", role="text", dtype="object")
    with pytest.raises(DataValidationError, match="Duplicate feature"):
        ModelContract(
            features=(
                FeatureSpec(name="x", role="numeric", dtype="float64"),
                FeatureSpec(name="x", role="numeric", dtype="float64"),
            )
        )


def test_attached_contract_travels_with_the_model_not_with_clone():
    from sklearn.base import clone

    df = generate_customers(300, random_state=0)
    X = df[["age", "tenure_months", "monthly_charges"]]
    model = LogisticRegression().fit(X, df["churned"])
    contract = infer_contract(X, df["churned"], threshold=0.4)
    assert get_contract(attach_contract(model, contract)) == contract
    assert get_contract(clone(model)) is None
    with pytest.raises(InvalidParameterError):
        attach_contract(model, {"features": []})


def test_infer_contract_from_generated_data_and_overlap():
    df = generate_customers(2_000, random_state=1)
    X = df.drop(columns=["churned"]).set_index("customer_id")
    contract = infer_contract(
        X.iloc[:1000], df["churned"].iloc[:1000], id_columns=["customer_id"]
    )
    roles = {f.name: f.role for f in contract.features}
    assert roles["partner"] == "binary"
    assert roles["contract"] == "categorical"
    assert roles["age"] == "numeric"
    assert contract.id_column == "customer_id"
    assert contract.training_overlap(X.iloc[:1000]) == 1.0
    assert contract.training_overlap(X.iloc[1000:]) < 0.02
    half = pd.concat([X.iloc[500:1000], X.iloc[1000:1500]])
    assert contract.training_overlap(half) == pytest.approx(0.5, abs=0.02)
    # raw text of the same rows is recognised too
    raw = X.iloc[:200].astype(str).reset_index()
    assert contract.training_overlap(raw) > 0.95


@settings(max_examples=40, deadline=None)
@given(
    data_frames(
        [
            column("n", dtype=float),
            column("b", elements=st.sampled_from(["yes", "no", "Y", "n", " ", None])),
            column(
                "c", elements=st.sampled_from(["x", " y", "Unknown", "", None, "z"])
            ),
        ]
    )
)
def test_prepare_never_crashes_on_readable_values_and_is_idempotent(frame):
    frame = frame.replace([np.inf, -np.inf], np.nan)
    contract = ModelContract(
        features=(
            FeatureSpec(name="n", role="numeric", dtype="float64"),
            FeatureSpec(name="b", role="binary", dtype="bool"),
            FeatureSpec(name="c", role="categorical", dtype="object"),
        )
    )
    X = contract.prepare(frame)
    assert len(X) == len(frame)
    assert not X["c"].isin(["Unknown", "", " y"]).any()
    pd.testing.assert_frame_equal(contract.prepare(X), X)


@pytest.mark.parametrize("fast", [True, False])  # the array reading and the general one
@pytest.mark.parametrize(
    ("dtype", "values", "expected_dtype"),
    [
        ("uint8", [300, -1, 7], "float64"),  # outside 0..255: not wrapped to 44, 255
        ("int8", [127, -128, 5], "int8"),  # the very edges fit
        ("int64", [1e20, 3, 4], "float64"),
        ("int64", [2.0**63, 3, 4], "float64"),  # 2**63 is one past int64's max
        ("int64", [-(2.0**63), 3, 4], "int64"),
        ("uint64", [2.0**64, 1, 2], "float64"),
        ("int32", ["300000000000", "1", "2"], "float64"),  # text, too
        ("int32", [1.5, 2, 3], "float64"),
    ],
)
def test_numbers_outside_an_integer_feature_dtype_are_kept_not_wrapped(
    fast, dtype, values, expected_dtype, monkeypatch
):
    from churnlib._core import contract as contract_module

    if not fast:
        monkeypatch.setattr(contract_module, "_array_getter", lambda raw: None)
    spec = FeatureSpec(name="n", role="numeric", dtype=dtype)
    raw = pd.DataFrame({"n": values})
    # (the suite turns warnings into errors: no "invalid value in cast")
    prepared = ModelContract(features=(spec,)).prepare(raw)["n"]
    assert str(prepared.dtype) == expected_dtype
    expected = pd.to_numeric(pd.Series(values)).to_numpy(dtype=float)
    np.testing.assert_array_equal(prepared.to_numpy(dtype=float), expected)


def test_a_huge_bad_cell_is_quoted_short():
    spec = FeatureSpec(name="age", role="numeric", dtype="float64")
    huge = "9" * 2000 + "x"
    with pytest.raises(DataValidationError, match="age") as info:
        ModelContract(features=(spec,)).prepare(pd.DataFrame({"age": [huge, "1"]}))
    message = str(info.value)
    assert len(message) < 400
    assert "(2003 characters)" in message  # repr: the quotes count
