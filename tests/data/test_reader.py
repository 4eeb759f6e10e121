"""Tests for infer_schema, read_churn_table and load_telco."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnlib.data import (
    TELCO_SHA256,
    ChurnSchema,
    generate_customers,
    infer_schema,
    load_telco,
    read_churn_table,
)
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)

SHARED = Path(__file__).parents[2].parent / "shared" / "data"
TABLES = {
    "telco_customer_churn.csv": (
        "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"
    ),
    "bank_churn_modelling.csv": (
        "3996cd1fa372e0db0cd9c0ebac35bbd4e8e3c65fb942bb010c826e7b1eeef0a0"
    ),
    "credit_card_churners.csv": (
        "758ec415de20d06fe86f6b1d8f3dbff9e11e5cce98e54dab30e86b9d9b3467d5"
    ),
}


def shared_table(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared churn table {name} not found next to the repository")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == TABLES[name], f"{name} changed (sha256 {digest})"
    return path


def write(memory_fs, path: str, data: bytes) -> str:
    memory_fs.pipe_file(path, data)
    return f"memory://{path}"


# --------------------------------------------------------------------------
# infer_schema rules


def test_infer_schema_on_generated_data():
    df = generate_customers(300, random_state=0, return_truth=True)
    schema = infer_schema(df, target="churned")
    assert schema.id_columns == ("customer_id",)
    assert schema.target == "churned"
    assert schema.positive is True
    assert schema.categorical == (
        "gender",
        "contract",
        "payment_method",
        "internet_service",
    )
    assert "senior_citizen" in schema.binary
    assert "streaming" in schema.binary
    assert schema.numeric == (
        "age",
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_calls",
        "churn_probability",
    )
    assert set(schema.features).isdisjoint({"customer_id", "churned"})


@pytest.mark.parametrize("value", [9.3e18, -1e300, 2.0**63])
def test_huge_whole_numbers_in_text_columns_stay_float(value):
    # int64 cannot hold them: no overflow warning, the column stays numeric.
    df = pd.DataFrame({"x": [value, 1.0]}, dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = infer_schema(df)
    assert schema.numeric == ("x",)


def test_infer_schema_without_target_keeps_label_as_feature():
    df = generate_customers(100, random_state=0)
    schema = infer_schema(df)
    assert schema.target is None
    assert "churned" in schema.binary


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1.5, 2.0, np.nan, 4.0], "numeric"),
        (["1.5", " ", "3", "4"], "numeric"),
        (["10", "Unknown", "30", "40"], "numeric"),
        ([0, 1, 1, 0], "binary"),
        ([0.0, 1.0, np.nan, 1.0], "binary"),
        (["Yes", "No", "no", "YES"], "binary"),
        (["True", "False", "True", "True"], "binary"),
        ([True, False, True, True], "binary"),
        (["y", "n", "Unknown", "y"], "binary"),
        (["Male", "Female", "Female", "Male"], "categorical"),
        (["a", "b", "c", "a"], "categorical"),
        (["No", "Yes", "No phone service", "No"], "categorical"),
        (["2024-01-02", "2024-02-03", "2024-03-04", " "], "datetime"),
        (pd.to_datetime(["2024-01-02"] * 4), "datetime"),
        (pd.Categorical(["x", "y", "x", "y"]), "categorical"),
        (pd.array([1, 2, None, 4], dtype="Int64"), "numeric"),
    ],
)
def test_column_kinds(values, kind):
    df = pd.DataFrame({"col": values, "other": [1.0, 2.0, 3.0, 4.5]})
    schema = infer_schema(df)
    assert getattr(schema, kind) == ("col",) or (
        kind == "numeric" and schema.numeric == ("col", "other")
    )


@pytest.mark.parametrize(
    ("name", "values", "is_id"),
    [
        ("customerID", [f"{i:04d}-AB" for i in range(10)], True),
        ("CLIENTNUM", list(range(700_000, 700_010)), True),
        ("CustomerId", list(range(15_000_000, 15_000_010)), True),
        ("RowNumber", list(range(1, 11)), True),
        ("Surname", [f"Name{i % 30}" for i in range(200)], True),
        ("email", [f"u{i}@x.org" for i in range(10)], True),
        ("code", [f"k{i}" for i in range(60)], True),  # unique text, >= 50 rows
        ("row", list(range(100, 160)), True),  # an integer run, >= 50 rows
        ("age", list(range(20, 30)), False),  # unique but few rows, no hint
        ("balance", [float(i) for i in range(60)], False),  # floats never ids
        ("paid", [True, False] * 5, False),
        ("city", ["a", "b", "c", "d", "e"] * 2, False),
        ("tenure", list(range(100, 160, 2))[:30] * 2, False),
    ],
)
def test_identifier_detection(name, values, is_id):
    schema = infer_schema(pd.DataFrame({name: values}))
    assert (schema.id_columns == (name,)) is is_id


def test_explicit_id_columns_disable_detection():
    df = pd.DataFrame({"customerID": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    assert infer_schema(df, id_columns=[]).id_columns == ()
    assert infer_schema(df, id_columns=["x"]).id_columns == ("x",)
    assert infer_schema(df, id_columns="x").id_columns == ("x",)
    with pytest.raises(DataValidationError, match="'nope'") as info:
        infer_schema(df, id_columns=["nope"])
    assert info.value.columns == ("nope",)


@pytest.mark.parametrize(
    ("labels", "positive"),
    [
        (["Yes", "No", "No"], "Yes"),
        ([" yes", "no ", "no"], "yes"),
        ([1, 0, 0], 1),
        ([1.0, 0.0, 0.0], 1.0),
        ([True, False, False], True),
        (["TRUE", "FALSE", "FALSE"], "TRUE"),
        (["Attrited Customer", "Existing Customer", "Existing Customer"], None),
        (["churned", "stayed", "stayed"], "churned"),
        (["Exited", "Retained", "Retained"], "Exited"),
    ],
)
def test_obvious_positive_labels(labels, positive):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": labels})
    schema = infer_schema(df, target="label")
    expected = "Attrited Customer" if positive is None else positive
    assert schema.positive == expected
    assert type(schema.positive) is type(expected)


def test_only_negative_labels():
    df = pd.DataFrame({"x": [1.0, 2.0], "Churn": ["No", "No"]})
    assert infer_schema(df, target="Churn").positive is None


@pytest.mark.parametrize(
    "labels",
    [
        ["A", "B", "B"],  # no churn word
        ["churn risk", "churned", "churned"],  # both have one
        ["low", "mid", "high"],  # more than two values
    ],
)
def test_ambiguous_target_raises(labels):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "status": labels})
    with pytest.raises(DataValidationError, match=r"[Pp]ass pos_label=") as e:
        infer_schema(df, target="status")
    assert e.value.columns == ("status",)


def test_explicit_positive():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "status": ["low", "mid", "high"]})
    assert infer_schema(df, target="status", positive="high").positive == "high"
    # case and blanks do not matter, the raw value is stored
    df2 = pd.DataFrame({"x": [1.0, 2.0], "status": ["Gone", "Here"]})
    assert infer_schema(df2, target="status", positive=" gone").positive == "Gone"
    with pytest.raises(DataValidationError, match="pos_label='left' does not occur"):
        infer_schema(df, target="status", positive="left")


def test_target_errors():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "Churn": ["Yes", None, "No"]})
    # an unlabelled row does not hide which value means churn
    assert infer_schema(df, target="Churn").positive == "Yes"
    blank = pd.DataFrame({"x": [1.0, 2.0], "Churn": [None, " "]})
    with pytest.raises(DataValidationError, match="has no labels") as e:
        infer_schema(blank, target="Churn")
    assert e.value.columns == ("Churn",)
    with pytest.raises(DataValidationError, match=r"Target column 'churn' not found"):
        infer_schema(df, target="churn")
    with pytest.raises(DataValidationError, match="cannot also be an identifier"):
        infer_schema(df.fillna("No"), target="Churn", id_columns=["Churn"])


def test_bad_frames():
    with pytest.raises(InvalidParameterError, match="pandas DataFrame"):
        infer_schema(np.zeros((3, 2)))  # type: ignore[arg-type]
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataValidationError, match="Duplicate column names") as e:
        infer_schema(dup)
    assert e.value.columns == ("a",)
    empty = infer_schema(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    assert empty.numeric == ("a",)


def test_schema_json_round_trip():
    df = pd.DataFrame(
        {
            "id": np.arange(60),
            "x": np.linspace(0, 1, 60),
            "when": pd.date_range("2024-01-01", periods=60),
            "y": np.tile(np.array([1, 0], dtype=np.int64), 30),
        }
    )
    schema = infer_schema(df, target="y")
    assert schema.positive == 1
    assert schema.datetime == ("when",)
    again = ChurnSchema.from_json(schema.to_json())
    assert again == schema
    assert isinstance(again.positive, int)


# --------------------------------------------------------------------------
# read_churn_table


CSV = (
    "customerID,tenure,TotalCharges,SeniorCitizen,Partner,Education,Churn\n"
    "A-1,1,29.85,0,Yes,Graduate,No\n"
    "A-2,0, ,1,No,Unknown,Yes\n"
    "A-3,45,1840.75,0,No,High School,No\n"
)


def test_read_csv_from_memory(memory_fs):
    url = write(memory_fs, "/tables/t.csv", CSV.encode())
    X, y, schema = read_churn_table(url, target="Churn")
    assert list(X.columns) == [
        "tenure",
        "TotalCharges",
        "SeniorCitizen",
        "Partner",
        "Education",
    ]
    assert X.index.name == "customerID"
    assert X.index.tolist() == ["A-1", "A-2", "A-3"]
    assert X["TotalCharges"].dtype == np.float64
    assert np.isnan(X.loc["A-2", "TotalCharges"])
    assert X["SeniorCitizen"].dtype == bool
    assert X["Partner"].tolist() == [True, False, False]
    assert isinstance(X["Education"].dtype, pd.CategoricalDtype)
    assert X["Education"].isna().tolist() == [False, True, False]
    assert "Unknown" not in X["Education"].cat.categories
    assert y.dtype == bool
    assert y.name == "Churn"
    assert y.tolist() == [False, True, False]
    assert y.index.equals(X.index)
    assert schema.id_columns == ("customerID",)
    assert schema.positive == "Yes"


@pytest.mark.parametrize("suffix", ["parquet", "data"])
def test_read_parquet_by_extension_or_magic(memory_fs, suffix):
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "x": [1.0, 2.0, np.nan, 4.0],
            "plan": pd.Categorical(["p", "q", "p", "Unknown"]),
            "churn": [True, False, False, True],
        }
    )
    buf = io.BytesIO()
    df.to_parquet(buf)
    url = write(memory_fs, f"/t/table.{suffix}", buf.getvalue())
    X, y, schema = read_churn_table(url, target="churn", id_columns=["customer_id"])
    assert X.index.name == "customer_id"
    assert list(X.columns) == ["x", "plan"]
    assert X["plan"].isna().sum() == 1
    assert y.tolist() == [True, False, False, True]
    assert schema.positive is True


def test_read_compressed_csv_and_local_path(memory_fs, tmp_path):
    url = write(memory_fs, "/t/t.csv.gz", gzip.compress(CSV.encode()))
    X, _y, _ = read_churn_table(url, target="Churn")
    assert X.shape == (3, 5)
    local = tmp_path / "t.csv"
    local.write_text(CSV)
    X2, _y2, _ = read_churn_table(local, target="Churn")
    pd.testing.assert_frame_equal(X, X2)
    X3, _, _ = read_churn_table(local.as_uri(), target="Churn")
    pd.testing.assert_frame_equal(X, X3)


def test_na_values(memory_fs):
    csv = "id,x,plan,Churn\n1,5,-,Yes\n2,-,b,No\n3,7,c,No\n"
    url = write(memory_fs, "/t/na.csv", csv.encode())
    X, _, schema = read_churn_table(
        url, target="Churn", na_values=["-"], id_columns=["id"]
    )
    assert X["x"].isna().tolist() == [False, True, False]
    assert X["plan"].isna().tolist() == [True, False, False]
    assert schema.numeric == ("x",)


def test_read_errors(memory_fs):
    with pytest.raises(FileNotFoundError, match=re.escape("memory://nowhere/x.csv")):
        read_churn_table("memory://nowhere/x.csv", target="Churn")
    bad = write(memory_fs, "/t/bad.parquet", b"PAR1 this is not parquet")
    with pytest.raises(DataValidationError, match="Could not read 'memory://"):
        read_churn_table(bad, target="Churn")
    empty = write(memory_fs, "/t/empty.csv", b"")
    with pytest.raises(DataValidationError, match="Could not read"):
        read_churn_table(empty, target="Churn")
    header = write(memory_fs, "/t/header.csv", b"a,Churn\n")
    with pytest.raises(DataValidationError, match="has no rows"):
        read_churn_table(header, target="Churn")
    ok = write(memory_fs, "/t/ok.csv", CSV.encode())
    with pytest.raises(DataValidationError, match="'Exited' not found") as e:
        read_churn_table(ok, target="Exited")
    assert e.value.columns == ("Exited",)
    with pytest.raises(InvalidParameterError, match="'target' parameter"):
        read_churn_table(ok, target=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'path_or_url' parameter"):
        read_churn_table(io.BytesIO(b""), target="Churn")  # type: ignore[arg-type]


def test_credentials_never_in_messages():
    with pytest.raises(FileNotFoundError) as e:
        read_churn_table("file://user:s3cr3t@/definitely/missing.csv", target="y")
    assert "s3cr3t" not in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        read_churn_table("memory://t/missing.csv?sig=s3cr3t", target="y")
    assert "s3cr3t" not in str(e.value)
    assert "memory://t/missing.csv?***" in str(e.value)


def leaky_frame(n=400, seed=0):
    df = generate_customers(n, random_state=seed)
    rng = np.random.default_rng(seed)
    df["days_since_cancel"] = np.where(
        df["churned"], rng.integers(1, 30, n), rng.integers(-5, 0, n)
    )
    df["region"] = "north"
    return df


def test_leakage_and_constant_warnings(memory_fs):
    url = write(memory_fs, "/t/leaky.csv", leaky_frame().to_csv(index=False).encode())
    with pytest.warns(DataQualityWarning) as record:
        X, _, _ = read_churn_table(url, target="churned")
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert any(
        re.search(r"'days_since_cancel'.*suspected target leakage", m) for m in messages
    )
    assert any(re.search(r"'region'.*constant", m) for m in messages)
    assert "days_since_cancel" in X  # warned, not dropped


def test_categorical_leak_is_detected_but_ids_are_not(memory_fs):
    df = generate_customers(400, random_state=1)
    df["status_note"] = np.where(df["churned"], "closed account", "active")
    url = write(memory_fs, "/t/cat.csv", df.to_csv(index=False).encode())
    with pytest.warns(DataQualityWarning, match="'status_note'") as record:
        read_churn_table(url, target="churned")
    assert len(record) == 1  # customer_id is an id, not a leak


def test_clean_generated_table_reads_without_warnings(memory_fs):
    df = generate_customers(2_000, random_state=3)
    url = write(memory_fs, "/t/gen.csv", df.to_csv(index=False).encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y, schema = read_churn_table(url, target="churned")
    assert X.index.name == "customer_id"
    assert X.shape == (2_000, 16)
    assert y.mean() == pytest.approx(df["churned"].mean())
    assert schema.features == infer_schema(X).features  # stable on its output


def test_small_tables_skip_the_leakage_check(memory_fs):
    csv = "x,Churn\n1,Yes\n2,No\n3,No\n"
    url = write(memory_fs, "/t/small.csv", csv.encode())
    _X, y, _ = read_churn_table(url, target="Churn")  # x separates y, 1 churner
    assert y.sum() == 1


# --------------------------------------------------------------------------
# the three real tables, with no per-table code


def test_real_telco():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y, schema = read_churn_table(
            shared_table("telco_customer_churn.csv"), target="Churn"
        )
    assert X.shape == (7043, 19)
    assert X.index.name == "customerID"
    assert schema.id_columns == ("customerID",)
    assert schema.positive == "Yes"
    assert y.mean() == pytest.approx(0.265, abs=0.001)
    assert X["TotalCharges"].dtype == np.float64
    assert X["TotalCharges"].isna().sum() == 11
    assert (X.loc[X["TotalCharges"].isna(), "tenure"] == 0).all()
    assert X["SeniorCitizen"].dtype == bool
    assert X["Partner"].dtype == bool
    assert set(schema.binary) == {
        "SeniorCitizen",
        "Partner",
        "Dependents",
        "PhoneService",
        "PaperlessBilling",
    }
    assert schema.numeric == ("tenure", "MonthlyCharges", "TotalCharges")
    assert "Contract" in schema.categorical
    assert "gender" in schema.categorical


def test_real_bank_churn_modelling():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y, schema = read_churn_table(
            shared_table("bank_churn_modelling.csv"), target="Exited"
        )
    assert schema.id_columns == ("RowNumber", "CustomerId", "Surname")
    assert X.index.name == "CustomerId"
    assert X.shape == (10_000, 10)
    assert schema.positive == 1
    assert y.mean() == pytest.approx(0.204, abs=0.001)
    assert X["HasCrCard"].dtype == bool
    assert X["IsActiveMember"].dtype == bool
    assert (X["Balance"] == 0).mean() == pytest.approx(0.36, abs=0.01)
    assert set(schema.categorical) == {"Geography", "Gender"}


def test_real_credit_card_churners():
    with pytest.warns(DataQualityWarning, match="Naive_Bayes_Classifier") as record:
        X, y, schema = read_churn_table(
            shared_table("credit_card_churners.csv"), target="Attrition_Flag"
        )
    leaks = {str(w.message).split("'")[1] for w in record}
    assert len(leaks) == 2
    assert all(name.startswith("Naive_Bayes_Classifier") for name in leaks)
    assert schema.positive == "Attrited Customer"
    assert schema.id_columns == ("CLIENTNUM",)
    assert X.index.name == "CLIENTNUM"
    assert y.mean() == pytest.approx(0.161, abs=0.001)
    for col, n_unknown in [
        ("Education_Level", 1519),
        ("Marital_Status", 749),
        ("Income_Category", 1112),
    ]:
        assert isinstance(X[col].dtype, pd.CategoricalDtype)
        assert X[col].isna().sum() == n_unknown
        assert "Unknown" not in X[col].cat.categories
    # the known redundancy is left alone (documented, not dropped)
    np.testing.assert_allclose(
        X["Avg_Open_To_Buy"], X["Credit_Limit"] - X["Total_Revolving_Bal"]
    )


# --------------------------------------------------------------------------
# load_telco


def test_load_telco():
    X, y, schema = load_telco()
    assert X.shape == (7043, 19)
    assert y.sum() == 1869
    assert schema.target == "Churn"
    raw = load_telco(as_frame=True)
    assert raw.shape == (7043, 21)
    assert raw["TotalCharges"].dtype != np.float64  # raw: text, as in the file
    with pytest.raises(InvalidParameterError, match="'as_frame' parameter"):
        load_telco(as_frame="yes")  # type: ignore[call-overload]


def test_shipped_telco_is_the_shared_table():
    from importlib.resources import files

    shipped = files("churnlib.data").joinpath("_datasets", "telco_customer_churn.csv")
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == TELCO_SHA256
    licence = files("churnlib.data").joinpath("_datasets", "LICENSE-Apache-2.0.txt")
    assert "Apache License" in licence.read_text()
    assert TABLES["telco_customer_churn.csv"] == TELCO_SHA256


# --------------------------------------------------------------------------
# property: random messy frames are always classified, never crash

CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "Unknown", "N/A", "yes", "No", "0", "1", "x", "y z"]),
    st.integers(-5, 5).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.2f}"),
)


@settings(max_examples=40)
@given(
    columns=st.lists(st.lists(CELLS, min_size=8, max_size=8), min_size=1, max_size=5),
    labels=st.lists(st.sampled_from(["Yes", "No"]), min_size=8, max_size=8),
)
def test_property_messy_tables_are_read(columns, labels):
    import fsspec

    df = pd.DataFrame({f"c{i}": col for i, col in enumerate(columns)})
    df["Churn"] = labels
    schema = infer_schema(df, target="Churn")
    roles = [*schema.features, *schema.datetime, *schema.id_columns]
    assert sorted(roles) == sorted(df.columns.drop("Churn"))
    path = "memory://property/messy.csv"
    with fsspec.open(path, "w") as f:
        df.to_csv(f, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        X, y, read_schema = read_churn_table(path, target="Churn")
    assert list(X.columns) == [
        c for c in df.columns if c in {*read_schema.features, *read_schema.datetime}
    ]
    assert y.tolist() == [v == "Yes" for v in labels]
    for c in read_schema.binary:
        assert X[c].dtype in (np.dtype(bool), np.dtype(float))
    for c in read_schema.numeric:
        assert pd.api.types.is_numeric_dtype(X[c])
    for c in read_schema.categorical:
        assert isinstance(X[c].dtype, pd.CategoricalDtype)
        assert not set(X[c].cat.categories) & {"", "Unknown", "N/A"}


# --- issue 12: unlabelled rows, delimiters, encodings, Excel ------------------------


def _labelled_table(n=60):
    rng = np.random.default_rng(3)
    label = np.where(rng.random(n) < 0.3, "yes", "no").astype(object)
    label[[2, 11, 40]] = ["", "Unknown", None]
    return pd.DataFrame(
        {
            "account": [f"A{i:04d}" for i in range(n)],
            "tenure": rng.integers(1, 60, n),
            "plan": rng.choice(["basic", "plus"], n),
            "label": label,
        }
    )


def test_unlabelled_rows_are_kept_out_and_returned_on_request(tmp_path):
    path = tmp_path / "churn.csv"
    _labelled_table().to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match=r"no label on 3 of 60 row\(s\)"):
        X, y, schema = read_churn_table(path, target="label")
    assert len(X) == len(y) == 57
    assert not {"A0002", "A0011", "A0040"} & set(X.index)
    assert schema.positive == "yes"
    with pytest.warns(DataQualityWarning, match="return_unlabelled=True"):
        X2, _y2, _, X_new = read_churn_table(
            path, target="label", return_unlabelled=True
        )
    assert X_new.index.tolist() == ["A0002", "A0011", "A0040"]
    assert list(X_new.columns) == list(X2.columns)
    assert (X_new.dtypes == X2.dtypes).all()
    pd.testing.assert_frame_equal(X2, X)


def test_separator_and_encoding_pass_through(tmp_path):
    df = _labelled_table().fillna("no").replace({"": "no", "Unknown": "no"})
    df["plan"] = np.where(df["plan"] == "basic", "básico", "plus")
    path = tmp_path / "churn.txt"
    path.write_bytes(df.to_csv(index=False, sep="|").encode("latin-1"))
    X, _y, _ = read_churn_table(path, target="label", sep="|", encoding="latin-1")
    assert set(X["plan"].astype(str)) == {"básico", "plus"}
    assert len(X) == 60


def test_excel_table_with_a_sheet(tmp_path):
    pytest.importorskip("openpyxl")
    df = _labelled_table().fillna("no").replace({"": "no", "Unknown": "no"})
    path = tmp_path / "churn.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="about")
        df.to_excel(writer, sheet_name="customers", index=False)
    X, _y, schema = read_churn_table(path, target="label", sheet="customers")
    assert len(X) == 60
    assert X.index.name == "account"
    assert schema.positive == "yes"


# --- issue 12: binary columns coded other than 0/1, whole-number codes ---------------


@pytest.mark.parametrize(
    ("values", "true_code", "false_code"),
    [
        ([1, 2, 2, 1, 2, 1], "1", "2"),
        ([-1, 1, 1, -1, 1, 1], "1", "-1"),
        ([1.0, 2.0, 2.0, 1.0, 2.0, 2.0], "1", "2"),
        (["1", "2", "2", " 1", "2", "1"], "1", "2"),
    ],
)
def test_two_level_number_codes_read_as_booleans(values, true_code, false_code):
    df = pd.DataFrame({"gender": values, "tenure": [1.5, 2, 3, 4, 5, 6]})
    schema = infer_schema(df)
    assert schema.binary == ("gender",)
    assert schema.true_values == {"gender": (true_code,)}
    assert schema.false_values == {"gender": (false_code,)}


def test_two_level_codes_clean_to_bool_with_1_true(tmp_path):
    path = tmp_path / "coded.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "sex": [1, 2, 2, 1, 2],
            "has_card": [2, None, 1, 1, 2],
            "flag": ["Y", "n", "N", "y", "Y"],
            "paid": ["t", "F", "f", "T", "t"],
            "churn": ["Yes", "No", "No", "Yes", "No"],
        }
    ).to_csv(path, index=False)
    X, _y, schema = read_churn_table(path, target="churn", id_columns=["id"])
    assert set(schema.binary) == {"sex", "has_card", "flag", "paid"}
    assert X["sex"].tolist() == [True, False, False, True, False]
    assert X["sex"].dtype == bool
    # a missing value keeps the float 0/1 form, as for 0/1 columns
    np.testing.assert_array_equal(X["has_card"], [0.0, np.nan, 1.0, 1.0, 0.0])
    assert X["flag"].tolist() == [True, False, False, True, True]
    assert X["paid"].tolist() == [True, False, False, True, True]
    # only the number codes need recording: the words are read the same everywhere
    assert schema.true_values == {"sex": ("1",), "has_card": ("1",)}
    assert schema.false_values == {"sex": ("2",), "has_card": ("2",)}


@pytest.mark.parametrize("name", ["NumLines", "n_products", "support_calls", "age"])
def test_two_level_counts_stay_numbers(name):
    df = pd.DataFrame({name: [1, 2, 2, 1, 2, 1]})
    assert infer_schema(df).numeric == (name,)


def _codes(values, n=60):
    return list(values) * (n // len(values))


@pytest.mark.parametrize(
    ("name", "values", "role"),
    [
        ("area code", _codes([408, 415, 510]), "categorical"),  # named and code-like
        ("AreaCode", _codes(["408", "415", "510"]), "categorical"),  # number text
        ("x7", _codes([408, 415, 510]), "categorical"),  # unnamed but code-like
        ("region", _codes([1, 2, 3, 4, 5, 6]), "categorical"),  # named: contiguous ok
        ("plan_tier", _codes([1, 2, 3]), "categorical"),
        ("customer_type", _codes([10, 20, 30, 40]), "categorical"),
        # counts and amounts stay numeric, whatever their values look like
        ("number customer service calls", _codes([0, 1, 2, 3, 4, 5]), "numeric"),
        ("NumOfProducts", _codes([1, 2, 3, 4]), "numeric"),
        ("Total_Relationship_Count", _codes([1, 2, 3, 4, 5, 6]), "numeric"),
        ("region_charge", _codes([408, 415, 510]), "numeric"),  # amount word wins
        ("monthly_fee", _codes([100, 250, 700]), "numeric"),
        # no name hint: small, adjacent, evenly spaced or few rows stay numeric
        ("x7", _codes([1, 2, 3, 4, 5]), "numeric"),
        ("x7", _codes([100, 200, 300]), "numeric"),  # evenly spaced: a scale
        ("x7", _codes([408, 409, 510]), "numeric"),  # adjacent values
        ("x7", _codes(range(400, 800, 29)), "numeric"),  # 14 values: too many
        ("x7", _codes([408, 415, 510], n=21), "numeric"),  # 7 rows a value
        ("region", _codes([1.5, 2.5, 3.5]), "numeric"),  # fractions are amounts
        ("region", _codes(range(40)), "numeric"),  # 40 levels: too many
    ],
)
def test_whole_number_codes_become_categories_on_strong_evidence(name, values, role):
    schema = infer_schema(pd.DataFrame({name: values}))
    assert getattr(schema, role) == (name,)
    assert schema.coded_categories == ((name,) if role == "categorical" else ())


def test_coded_categories_read_as_code_text(tmp_path):
    rng = np.random.default_rng(0)
    n = 90
    path = tmp_path / "phone.csv"
    area = rng.choice([408, 415, 510], n).astype(float)
    area[[3, 7]] = np.nan
    pd.DataFrame(
        {
            "area code": area,
            "customer service calls": rng.integers(0, 10, n),
            "churn": rng.choice(["True.", "False."], n),
        }
    ).to_csv(path, index=False)
    X, _y, schema = read_churn_table(path, target="churn", pos_label="True.")
    assert schema.categorical == ("area code",)
    assert schema.coded_categories == ("area code",)
    assert schema.numeric == ("customer service calls",)
    assert isinstance(X["area code"].dtype, pd.CategoricalDtype)
    assert list(X["area code"].cat.categories) == ["408", "415", "510"]
    assert X["area code"].isna().sum() == 2
    expected = ["" if np.isnan(v) else f"{v:.0f}" for v in area]
    assert ["" if pd.isna(v) else v for v in X["area code"]] == expected


def test_coded_columns_are_decided_on_the_whole_of_a_large_table():
    # roles of a large table come from a sample (features._roles): a code column
    # with more levels outside the sample is looked at as a whole
    from churnlib.features._roles import ROLE_SAMPLE_ROWS, resolve_schema

    n = ROLE_SAMPLE_ROWS + 5_000
    values = np.tile([408, 415, 510], n // 3 + 1)[:n]
    rng = np.random.default_rng(1)
    extra = rng.choice(np.arange(1, n, 1), 40, replace=False)
    many = values.copy()
    many[extra] = 600 + np.arange(40) * 7  # 43 levels in all: not a code any more
    df = pd.DataFrame({"area_code": many, "site": values})
    schema = resolve_schema(df, None, caller="test")
    assert schema.categorical == ("site",)
    assert schema.coded_categories == ("site",)
    assert schema.numeric == ("area_code",)


CODE_NAMES = st.sampled_from(["gender", "has_card", "flag_x", "opt_in", "vip"])


@settings(max_examples=40, deadline=None)
@given(
    name=CODE_NAMES,
    pair=st.sampled_from([(1, 2), (-1, 1)]),
    picks=st.lists(st.booleans(), min_size=3, max_size=30).filter(
        lambda p: len(set(p)) == 2
    ),
    missing=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_property_two_level_codes_read_1_as_true(name, pair, picks, missing):
    low, high = pair  # (1, 2) or (-1, 1): 1 is True in both
    values = np.where(picks, high, low).astype(float)
    holes = np.asarray(missing[: len(values)])
    if (~holes).sum() >= 2 and len(set(values[~holes])) == 2:
        values[holes] = np.nan
    df = pd.DataFrame({name: values})
    schema = infer_schema(df)
    assert schema.binary == (name,)
    other = low if high == 1 else high
    assert schema.true_values == {name: ("1",)}
    assert schema.false_values == {name: (str(other),)}
    # and the contract reads the raw codes, and its own output, the same way
    from churnlib._core.contract import read_binary

    once = read_binary(
        df[name], true_values=("1",), false_values=(str(other),), source="t"
    )
    expected = np.where(np.isnan(values), np.nan, (values == 1).astype(float))
    np.testing.assert_array_equal(once.to_numpy(dtype=float), expected)
    twice = read_binary(once, true_values=("1",), false_values=(str(other),))
    np.testing.assert_array_equal(twice.to_numpy(dtype=float), expected)


@settings(max_examples=40, deadline=None)
@given(
    word=st.sampled_from(["calls", "num", "count", "age", "balance", "months"]),
    levels=st.lists(st.integers(-1000, 1000), min_size=1, max_size=8, unique=True),
)
def test_property_counts_are_never_codes(word, levels):
    df = pd.DataFrame({f"{word}_x": _codes(levels, n=80)})
    schema = infer_schema(df)
    assert schema.categorical == ()
    assert schema.true_values == {}
    assert f"{word}_x" in schema.numeric + schema.binary
