"""score_table reads raw files the way training reads them (one set of rules)."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from churnlib._core.contract import attach_contract, infer_contract
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)
from churnlib.scoring import read_scores, score_table

N = 400


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "CustomerId": [f"{i:08d}" for i in range(N)],
            "tenure": rng.integers(0, 72, N),
            "charges": np.round(rng.uniform(18, 120, N), 2),
            "plan": rng.choice(["Basic", "Plus", "Prämie"], N),
        }
    )
    churned = (frame["tenure"] < 20) ^ (rng.random(N) < 0.1)
    return frame, churned


@pytest.fixture(scope="module")
def model(table):
    frame, churned = table
    X = frame.drop(columns="CustomerId").set_index(frame["CustomerId"])
    X["plan"] = X["plan"].astype("category")
    fitted = LogisticRegression(max_iter=500).fit(X[["tenure", "charges"]], churned)
    contract = infer_contract(
        X[["tenure", "charges"]], churned, id_columns=["CustomerId"]
    )
    return attach_contract(fitted, contract)


def _expected(model, frame):
    return model.predict_proba(frame[["tenure", "charges"]])[:, 1]


def _scores(out):
    return read_scores(out)


def test_zero_padded_ids_come_out_as_written(table, model, tmp_path):
    frame, _ = table
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_table(model, tmp_path / "in.csv", tmp_path / "o", batch_rows=150)
    scores = _scores(tmp_path / "o")
    assert scores["CustomerId"].tolist() == frame["CustomerId"].tolist()
    np.testing.assert_allclose(scores["churn_probability"], _expected(model, frame))


def test_decimal_commas_and_semicolons(table, model, tmp_path):
    frame, _ = table
    frame.to_csv(tmp_path / "eu.csv", sep=";", decimal=",", index=False)
    score_table(model, tmp_path / "eu.csv", tmp_path / "o", batch_rows=100)
    scores = _scores(tmp_path / "o")
    np.testing.assert_allclose(scores["churn_probability"], _expected(model, frame))
    assert scores["CustomerId"].iloc[0] == "00000000"


def test_cp1252_late_in_the_file_reads_like_training(table, model, tmp_path):
    frame, _ = table
    big = pd.concat([frame] * 40, ignore_index=True)  # ~1 MiB, past every sample
    big["CustomerId"] = [f"c{i}" for i in range(len(big))]
    big.loc[len(big) - 3, "plan"] = "Chèque \u2013 €"
    big.to_csv(tmp_path / "late.csv", index=False, encoding="cp1252")
    with pytest.warns(DataQualityWarning, match=r"late\.csv.*Windows-1252"):
        score_table(
            model, tmp_path / "late.csv", tmp_path / "o", columns=["plan"], n_jobs=1
        )
    scores = _scores(tmp_path / "o")
    assert scores["plan"].iloc[-3] == "Chèque \u2013 €"
    assert len(scores) == len(big)


def test_cp1252_in_the_first_rows_warns_once_on_the_client(table, model, tmp_path):
    frame, _ = table
    frame.assign(plan="Müller").to_csv(
        tmp_path / "w.csv", index=False, encoding="cp1252"
    )
    with pytest.warns(DataQualityWarning, match="not valid UTF-8") as record:
        score_table(model, tmp_path / "w.csv", tmp_path / "o", columns=["plan"])
    assert len([w for w in record if "UTF-8" in str(w.message)]) == 1
    assert set(_scores(tmp_path / "o")["plan"]) == {"Müller"}


def test_utf16_export(table, model, tmp_path):
    frame, _ = table
    path = tmp_path / "u.txt"
    path.write_bytes(frame.to_csv(sep="\t", index=False).encode("utf-16"))
    score_table(model, path, tmp_path / "o", input_format="csv")
    np.testing.assert_allclose(
        _scores(tmp_path / "o")["churn_probability"], _expected(model, frame)
    )


def test_ids_all_digits_in_one_batch_and_letters_in_another(table, model, tmp_path):
    frame, _ = table
    mixed = frame.assign(CustomerId=[str(1000 + i) for i in range(N)])
    mixed.loc[300, "CustomerId"] = "X000001"
    mixed.to_csv(tmp_path / "m.csv", index=False)
    score_table(model, tmp_path / "m.csv", tmp_path / "o", batch_rows=100)
    assert (
        _scores(tmp_path / "o")["CustomerId"].tolist() == mixed["CustomerId"].tolist()
    )


def test_excel_input_is_one_partition(table, model, tmp_path):
    pytest.importorskip("openpyxl")
    frame, _ = table
    frame.to_excel(tmp_path / "in.xlsx", index=False)
    result = score_table(model, tmp_path / "in.xlsx", tmp_path / "o", batch_rows=150)
    assert result.n_partitions == 1
    scores = _scores(tmp_path / "o")
    assert scores["CustomerId"].tolist() == frame["CustomerId"].tolist()
    np.testing.assert_allclose(scores["churn_probability"], _expected(model, frame))


def test_parquet_with_the_id_saved_as_index(table, model, tmp_path):
    frame, _ = table
    frame.set_index("CustomerId").to_parquet(tmp_path / "idx.parquet")
    score_table(model, tmp_path / "idx.parquet", tmp_path / "o")
    assert (
        _scores(tmp_path / "o")["CustomerId"].tolist() == frame["CustomerId"].tolist()
    )


def test_zip_with_several_files_is_refused(table, model, tmp_path):
    frame, _ = table
    with zipfile.ZipFile(tmp_path / "months.zip", "w") as archive:
        archive.writestr("jan.csv", frame.iloc[:200].to_csv(index=False))
        archive.writestr("feb.csv", frame.iloc[200:].to_csv(index=False))
    with pytest.raises(
        DataValidationError, match=r"holds 2 files \(jan\.csv, feb\.csv\)"
    ):
        score_table(model, tmp_path / "months.zip", tmp_path / "o", input_format="csv")


def test_read_options_are_passed_and_checked(table, model, tmp_path):
    frame, _ = table
    (tmp_path / "t.csv").write_text(
        "Export from CRM\n\n" + frame.to_csv(sep="|", index=False)
    )
    score_table(model, tmp_path / "t.csv", tmp_path / "o", sep="|", header_row=2)
    np.testing.assert_allclose(
        _scores(tmp_path / "o")["churn_probability"], _expected(model, frame)
    )
    with pytest.raises(InvalidParameterError, match=r"sheet= .* is for Excel"):
        score_table(model, tmp_path / "t.csv", tmp_path / "o2", sheet="x")
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InvalidParameterError, match="read as Parquet"):
        score_table(model, tmp_path / "t.parquet", tmp_path / "o2", sep=";")


def test_messages_name_the_file_and_the_fix_never_a_secret(model, tmp_path):
    (tmp_path / "junk.csv").write_bytes(b"a,b\n1,2,3,4\n\x00\x01")
    with pytest.raises(DataValidationError) as info:
        score_table(model, tmp_path / "junk.csv", tmp_path / "o")
    assert "junk.csv" in str(info.value)
    assert info.value.__cause__ is None
    with pytest.raises(
        InvalidParameterError,
        match=r"scoring input URL .* carries a credential before '@'",
    ) as info:
        score_table(model, "s3://AKIA:SuperSecret123@bucket/x.csv", tmp_path / "o")
    assert "SuperSecret123" not in str(info.value)


def test_missing_passthrough_column_is_named_as_asked(table, model, tmp_path):
    frame, _ = table
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataValidationError, match=r"\['Nope'\] asked for by columns="):
        score_table(model, tmp_path / "in.csv", tmp_path / "o", columns=["Nope"])


def test_format_messages_are_true(model, tmp_path):
    (tmp_path / "d").mkdir()
    pd.DataFrame({"tenure": [1], "charges": [2.0]}).to_csv(tmp_path / "d" / "a.csv")
    pd.DataFrame({"tenure": [1], "charges": [2.0]}).to_parquet(
        tmp_path / "d" / "b.parquet"
    )
    with pytest.raises(DataValidationError, match="holds csv and parquet files"):
        score_table(model, tmp_path / "d", tmp_path / "o")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (tmp_path / "noext").write_bytes((tmp_path / "d" / "b.parquet").read_bytes())
        score_table(model, tmp_path / "noext", tmp_path / "o", id_column="tenure")


def test_a_column_blank_in_the_first_rows_is_copied_as_text(table, model, tmp_path):
    frame, _ = table
    big = pd.concat([frame] * 30, ignore_index=True)  # 12,000 rows: past the sample
    big["email"] = None
    big.loc[11_000:, "email"] = "a@b.c"
    big.to_csv(tmp_path / "e.csv", index=False)
    score_table(
        model, tmp_path / "e.csv", tmp_path / "o", columns=["email"], batch_rows=500
    )
    emails = _scores(tmp_path / "o")["email"]
    assert emails.iloc[:11_000].isna().all()
    assert (emails.iloc[11_000:] == "a@b.c").all()


def test_ids_turning_to_text_past_the_sample_are_refused_naming_the_row(
    table, model, tmp_path
):
    frame, _ = table
    big = pd.concat([frame] * 30, ignore_index=True)
    big["CustomerId"] = [str(10_000 + i) for i in range(len(big))]
    big.loc[11_500, "CustomerId"] = "X000001"
    big.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match=r"'CustomerId' of partition 0 .*'X000001' at row 11500",
    ):
        score_table(model, tmp_path / "m.csv", tmp_path / "o", batch_rows=1000)


def test_currency_text_scores_like_the_numbers(table, model, tmp_path):
    frame, _ = table
    money = frame.assign(charges=["$" + f"{v:.2f}" for v in frame["charges"]])
    money.to_csv(tmp_path / "money.csv", index=False)
    score_table(model, tmp_path / "money.csv", tmp_path / "o", batch_rows=150)
    np.testing.assert_allclose(
        _scores(tmp_path / "o")["churn_probability"], _expected(model, frame)
    )


def test_letter_ids_turning_to_digits_past_the_sample_stay_text(model, tmp_path):
    # text keys are read as text in every batch: a later batch of digit-only
    # ids must not come out as numbers (one output part holds one kind)
    rng = np.random.default_rng(5)
    n = 12_000  # past the 10,000-row sample
    ids = [f"C{i}" for i in range(11_000)] + [f"{i:05d}" for i in range(1_000)]
    frame = pd.DataFrame(
        {
            "CustomerId": ids,
            "tenure": rng.integers(0, 72, n),
            "charges": np.round(rng.uniform(18, 120, n), 2),
        }
    )
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    score_table(model, path, tmp_path / "out", batch_rows=500)
    got = _scores(tmp_path / "out").set_index("CustomerId")
    assert got.index.tolist() == ids
    np.testing.assert_allclose(got["churn_probability"], _expected(model, frame))


def test_rows_with_blank_ids_are_scored_and_counted_in_a_warning(
    table, model, tmp_path
):
    frame, _ = table
    blank = frame.copy()
    blank.loc[[3, 7, 11], "CustomerId"] = ""
    blank.loc[[20], "CustomerId"] = "   "
    blank.to_csv(tmp_path / "b.csv", index=False)
    with pytest.warns(DataQualityWarning, match=r"4 of 400 scored rows .* have no id"):
        result = score_table(model, tmp_path / "b.csv", tmp_path / "o", batch_rows=100)
    assert result.rows == N
    assert sum(p.blank_ids for p in result.partitions) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        score_table(model, tmp_path / "b.csv", tmp_path / "o2", id_column="tenure")
