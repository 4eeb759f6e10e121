"""SchemaValidator: the contract between the training table and later tables."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from churnlib.data import ChurnSchema
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)
from churnlib.features import ColumnReport, SchemaValidator, ValidationReport


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(60)],
            "tenure": np.arange(60) % 40,
            "charges": np.linspace(20.0, 110.0, 60),
            "contract": pd.Categorical(["m2m", "one", "two"] * 20),
            "paperless": [True, False] * 30,
            "senior": [0, 1, 0] * 20,
        }
    )


def test_fit_learns_roles_categories_ranges(train):
    v = SchemaValidator().fit(train)
    assert v.kinds_ == {
        "customer_id": "id",
        "tenure": "numeric",
        "charges": "numeric",
        "contract": "categorical",
        "paperless": "binary",
        "senior": "binary",
    }
    assert list(v.columns_) == list(train.columns)
    assert v.ranges_["tenure"] == (0.0, 39.0)
    assert v.ranges_["charges"] == pytest.approx((20.0, 110.0))
    assert list(v.categories_["contract"]) == ["m2m", "one", "two"]
    assert list(v.categories_["paperless"]) == [False, True]
    assert list(v.categories_["senior"]) == [0, 1]
    assert v.missing_counts_["tenure"] == 0
    assert v.schema_.numeric == ("tenure", "charges")
    assert v.schema_.id_columns == ("customer_id",)
    assert list(v.feature_names_in_) == list(train.columns)
    assert v.n_features_in_ == 6


def test_transform_passes_through_in_fitted_order(train):
    v = SchemaValidator().fit(train)
    shuffled = train[train.columns[::-1]].assign(other=1)
    out = v.transform(shuffled)
    assert list(out.columns) == list(train.columns)
    pd.testing.assert_frame_equal(out, train)
    assert list(v.get_feature_names_out()) == list(train.columns)


def test_transform_returns_input_unchanged_when_nothing_to_do(train):
    v = SchemaValidator().fit(train)
    out = v.transform(train)
    assert out is train  # no copy on the hot path


def test_numeric_text_and_blanks_are_coerced(train):
    v = SchemaValidator().fit(train)
    X = train.head(4).copy()
    X["charges"] = [" 12.5", "", "  ", "Unknown"]
    X["tenure"] = ["3", "4 ", None, "7"]
    out = v.transform(X)
    assert out["charges"].dtype == np.float64
    np.testing.assert_array_equal(out["charges"], [12.5, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(out["tenure"], [3.0, 4.0, np.nan, 7.0])


def test_numeric_text_at_fit_is_numeric():
    X = pd.DataFrame({"total": ["1.5", " ", "2"] * 10, "plan": list("abc") * 10})
    v = SchemaValidator().fit(X)
    assert v.kinds_["total"] == "numeric"
    assert v.missing_counts_["total"] == 10
    assert v.ranges_["total"] == (1.5, 2.0)


def test_garbage_in_numeric_column_names_column_and_value(train):
    v = SchemaValidator().fit(train)
    X = train.head(5).copy()
    X["charges"] = ["10", "abc", "12", "x", "13"]
    with pytest.raises(DataValidationError) as exc:
        v.transform(X)
    msg = str(exc.value)
    assert exc.value.columns == ("charges",)
    assert "'charges'" in msg
    assert "'abc'" in msg
    assert "2 value(s)" in msg
    assert "row 1" in msg


def test_garbage_in_explicit_numeric_schema_at_fit():
    X = pd.DataFrame({"a": ["1", "2", "three"]})
    with pytest.raises(DataValidationError, match="'three'") as exc:
        SchemaValidator(schema=ChurnSchema(numeric=["a"])).fit(X)
    assert exc.value.columns == ("a",)


def test_infinite_value_is_rejected(train):
    v = SchemaValidator().fit(train)
    X = train.head(3).copy()
    X["charges"] = [1.0, np.inf, 2.0]
    with pytest.raises(DataValidationError, match="infinite") as exc:
        v.transform(X)
    assert exc.value.columns == ("charges",)
    assert "e.g. inf at row" in str(exc.value)  # not numpy's np.float64(inf)


def test_missing_columns_are_named(train):
    v = SchemaValidator().fit(train)
    with pytest.raises(DataValidationError) as exc:
        v.transform(train.drop(columns=["tenure", "contract"]))
    assert exc.value.columns == ("tenure", "contract")
    assert "['tenure', 'contract']" in str(exc.value)


def test_missing_column_hint_lists_unseen_columns(train):
    v = SchemaValidator().fit(train)
    with pytest.raises(DataValidationError, match="Tenure"):
        v.transform(train.rename(columns={"tenure": "Tenure"}))


@pytest.mark.parametrize(
    "X",
    [
        pd.DataFrame(columns=["a", "b"]),
        np.empty((0, 2)),
    ],
    ids=["frame", "array"],
)
def test_empty_input(X):
    fitted = SchemaValidator().fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    with pytest.raises(DataValidationError, match="0 sample"):
        fitted.transform(X)
    with pytest.raises(DataValidationError, match="0 sample"):
        SchemaValidator().fit(X)


def test_zero_columns():
    with pytest.raises(DataValidationError, match=re.escape("0 feature(s)")):
        SchemaValidator().fit(pd.DataFrame(index=range(3)))


def test_extra_columns_policy(train):
    X = train.assign(new_col=1, other=2)
    out = SchemaValidator(extra="ignore").fit(train).transform(X)
    assert "new_col" not in out.columns

    v = SchemaValidator(extra="warn").fit(train)
    with pytest.warns(DataQualityWarning, match=r"\['new_col', 'other'\]"):
        out = v.transform(X)
    assert list(out.columns) == list(train.columns)

    v = SchemaValidator(extra="raise").fit(train)
    with pytest.raises(DataValidationError, match="new_col") as exc:
        v.transform(X)
    assert exc.value.columns == ("new_col", "other")
    v.transform(train)  # no extras: fine


def test_unseen_categories_and_nan_are_not_fatal(train):
    v = SchemaValidator().fit(train)
    X = train.head(4).copy()
    X["contract"] = X["contract"].astype(object)
    X.loc[0, "contract"] = "lifetime"
    X.loc[1, "contract"] = np.nan
    X.loc[2, "charges"] = np.nan
    X.loc[3, "charges"] = 500.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # default is quiet
        out = v.transform(X)
    assert out.loc[0, "contract"] == "lifetime"

    report = v.report(X)
    assert isinstance(report, ValidationReport)
    assert not report.ok
    by = {c.column: c for c in report.columns}
    assert isinstance(by["contract"], ColumnReport)
    assert by["contract"].n_unseen == 1
    assert by["contract"].unseen_examples == ("lifetime",)
    assert by["contract"].n_missing == 1
    assert by["contract"].new_missing
    assert by["charges"].n_above == 1
    assert by["charges"].n_below == 0
    assert by["tenure"].ok
    frame = report.to_frame()
    assert frame.loc["contract", "n_unseen"] == 1
    assert "lifetime" in report.summary()


def test_unseen_warn_emits_one_data_quality_warning(train):
    v = SchemaValidator(unseen="warn").fit(train)
    X = train.head(2).copy()
    X["contract"] = ["m2m", "lifetime"]
    with pytest.warns(DataQualityWarning, match="lifetime") as record:
        v.transform(X)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v.transform(train)  # nothing unusual, no warning


def test_report_ok_on_training_data(train):
    v = SchemaValidator().fit(train)
    report = v.report(train)
    assert report.ok
    assert report.summary() == "no findings"
    assert report.n_rows == 60


def test_categorical_value_types_are_kept_consistent(train):
    v = SchemaValidator().fit(train)
    X = train.head(3).copy()
    X["contract"] = [1, 2, 3]  # numbers where text was seen
    X["senior"] = ["0", "1", " 1"]  # text where 0/1 codes were seen
    out = v.transform(X)
    assert out["contract"].tolist() == ["1", "2", "3"]
    assert out["senior"].tolist() == [0.0, 1.0, 1.0]


def test_numeric_codes_with_garbage_are_rejected(train):
    v = SchemaValidator().fit(train)
    X = train.head(2).copy()
    X["senior"] = ["0", "yes please"]
    with pytest.raises(DataValidationError, match="'yes please'"):
        v.transform(X)


def test_missing_values_normalised_to_nan():
    X = pd.DataFrame({"plan": pd.array(["a", None, "b", "c"], dtype="string")})
    out = SchemaValidator().fit(X).transform(X)
    assert out["plan"].dtype == object
    assert out["plan"].iloc[1] is np.nan or np.isnan(out["plan"].iloc[1])


def test_mixed_object_column_becomes_text():
    X = pd.DataFrame({"plan": ["a", 1, 2.5, None, "b"] * 3})
    v = SchemaValidator().fit(X)
    assert list(v.categories_["plan"]) == ["1", "2.5", "a", "b"]


def test_nullable_dtypes():
    X = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "f": pd.array([1.5, None, 2.5, 3.5], dtype="Float64"),
            "b": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    v = SchemaValidator().fit(X)
    out = v.transform(X)
    assert out["n"].dtype == np.float64
    assert np.isnan(out["n"].iloc[1])


def test_pandas_string_dtype_columns():
    X = pd.DataFrame(
        {
            "plan": pd.Series(["a", "b", "c", "a"] * 5, dtype="str"),
            "total": pd.Series(["1", "2", " ", "4"] * 5, dtype="str"),
        }
    )
    v = SchemaValidator().fit(X)
    assert v.kinds_ == {"plan": "categorical", "total": "numeric"}
    out = v.transform(X)
    assert out["total"].isna().sum() == 5


def test_numpy_input_positional():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    v = SchemaValidator().fit(X)
    assert not hasattr(v, "feature_names_in_")
    out = v.transform(X)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, X)
    assert list(v.get_feature_names_out()) == ["x0", "x1"]
    assert list(v.get_feature_names_out(["a", "b"])) == ["a", "b"]
    with pytest.raises(DataValidationError, match="X has 1 features"):
        v.transform(X[:, :1])


def test_object_numpy_input():
    # (1 and 2 alone would be a two-level code, read as binary)
    X = np.array([["a", "1"], ["b", " 2.5"], ["a", ""]], dtype=object)
    v = SchemaValidator().fit(X)
    assert v.kinds_ == {"x0": "categorical", "x1": "numeric"}
    out = v.transform(X)
    assert out.shape == (3, 2)
    assert list(out[:, 0]) == ["a", "b", "a"]
    np.testing.assert_array_equal(out[:, 1].astype(float), [1.0, 2.5, np.nan])


def test_array_after_frame_fit_is_matched_by_position(train):
    X = train[["tenure", "charges"]]
    v = SchemaValidator().fit(X)
    out = v.transform(X.to_numpy())
    np.testing.assert_allclose(out.astype(float), X.to_numpy(dtype=float))


def test_explicit_schema_restricts_columns(train):
    schema = ChurnSchema(numeric=["tenure"], categorical=["contract"])
    v = SchemaValidator(schema=schema).fit(train)
    assert list(v.columns_) == ["tenure", "contract"]
    out = v.transform(train[["contract", "tenure"]])
    assert list(out.columns) == ["tenure", "contract"]


def test_explicit_schema_with_unknown_column(train):
    with pytest.raises(DataValidationError, match="nope") as exc:
        SchemaValidator(schema=ChurnSchema(numeric=["nope"])).fit(train)
    assert exc.value.columns == ("nope",)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.arange(5.0), "2D"),
        (np.zeros((2, 2, 2)), "2D"),
        (pd.Series([1, 2, 3], name="s"), "Series"),
        (np.array([[1 + 2j, 1.0]]), "Complex"),
    ],
)
def test_bad_inputs_raise_data_validation_error(X, match):
    with pytest.raises(DataValidationError, match=match):
        SchemaValidator().fit(X)


def test_sparse_input_is_refused():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(DataValidationError, match="sparse"):
        SchemaValidator().fit(sparse.csr_matrix(np.eye(3)))


def test_duplicated_and_mixed_column_names():
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataValidationError, match="duplicated") as exc:
        SchemaValidator().fit(dup)
    assert exc.value.columns == ("a",)
    mixed = pd.DataFrame([[1, 2]], columns=["a", 0])
    with pytest.raises(DataValidationError, match="not all strings"):
        SchemaValidator().fit(mixed)


def test_int_column_names_are_positional():
    X = pd.DataFrame(np.arange(6.0).reshape(3, 2))
    v = SchemaValidator().fit(X)
    assert not hasattr(v, "feature_names_in_")
    out = v.transform(X)
    assert list(out.columns) == ["x0", "x1"]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"extra": "loud"}, "The 'extra' parameter of SchemaValidator"),
        ({"unseen": "raise"}, "The 'unseen' parameter of SchemaValidator"),
        ({"schema": {"numeric": ["a"]}}, "The 'schema' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        SchemaValidator(**params).fit(pd.DataFrame({"a": [1.0]}))


def test_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SchemaValidator().transform(pd.DataFrame({"a": [1.0]}))


def test_pickle_round_trip(train):
    v = SchemaValidator().fit(train)
    again = pickle.loads(pickle.dumps(v))
    pd.testing.assert_frame_equal(again.transform(train), v.transform(train))


def test_set_output_pandas_for_arrays():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = SchemaValidator().set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == ["x0", "x1"]


def test_generated_data(churn_data):
    X, _ = churn_data
    v = SchemaValidator().fit(X)
    assert v.kinds_["customer_id"] == "id"
    assert v.kinds_["contract"] == "categorical"
    assert v.kinds_["tenure_months"] == "numeric"
    assert v.report(X).ok


def test_input_is_never_modified(train):
    v = SchemaValidator().fit(train)
    X = train.head(6).copy()
    X["charges"] = [" 1", "", "3", "4", "5", "6"]
    X["contract"] = X["contract"].astype(object)
    X.loc[X.index[0], "contract"] = None
    before = X.copy()
    v.transform(X)
    v.report(X)
    pd.testing.assert_frame_equal(X, before)


def test_binary_text_and_codes_read_alike_raw_or_cleaned():
    # fitted on raw text and 1/2 codes, it reads the booleans a contract makes
    # of them (and the raw values) to the same output
    raw = pd.DataFrame(
        {
            "partner": ["Yes", "No", " no", "YES", None, "No"],
            "sex": [1, 2, 2, 1, 2, 1],
            "paid": [True, False, True, True, False, False],
        }
    )
    v = SchemaValidator().fit(raw)
    assert v.kinds_ == {"partner": "binary", "sex": "binary", "paid": "binary"}
    out = v.transform(raw)
    np.testing.assert_array_equal(out["partner"], [1.0, 0.0, 0.0, 1.0, np.nan, 0.0])
    assert out["sex"].tolist() == [True, False, False, True, False, True]
    cleaned = pd.DataFrame(
        {
            "partner": [1.0, 0.0, 0.0, 1.0, np.nan, 0.0],
            "sex": [True, False, False, True, False, True],
            "paid": ["true", "f", "t", "T", "false", "no"],
        }
    )
    pd.testing.assert_frame_equal(v.transform(cleaned), out)
    assert v.report(cleaned).ok
