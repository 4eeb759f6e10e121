"""score_table on the local engine: results, output contract, bad input."""

from __future__ import annotations

import json
import os
import re
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

from churnlib.exceptions import (
    DataValidationError,
    InvalidParameterError,
    StorageError,
    TableNotFoundError,
)
from churnlib.scoring import PartitionStats, ScoringResult, read_scores, score_table
from tests.scoring._models import RecordingClassifier
from tests.scoring.conftest import assert_nothing_published, visible, write_parts

OUT_COLUMNS = [
    "customer_id",
    "churn_probability",
    "churn_predicted",
    "model_version",
    "scored_at",
]


def test_scores_match_in_memory_predict_proba(
    customers_dir, churn_model, customers, expected_scores, tmp_path
):
    out = tmp_path / "scores"
    result = score_table(churn_model, customers_dir, str(out), batch_rows=150)

    assert isinstance(result, ScoringResult)
    assert result.rows == len(customers)
    # 3 files of 200 rows in 70-row groups -> [70+70, 60] per file
    assert result.n_partitions == 6
    assert len(result.files) == 6
    assert result.engine == "local"
    assert result.threshold == 0.5
    assert result.threshold_source == "default"
    assert result.model_version.startswith("sha-")

    scores = read_scores(str(out))
    assert list(scores.columns) == OUT_COLUMNS
    assert scores["customer_id"].tolist() == customers["customer_id"].tolist()
    np.testing.assert_array_equal(scores["churn_probability"], expected_scores)
    np.testing.assert_array_equal(
        scores["churn_predicted"], expected_scores.to_numpy() >= 0.5
    )
    assert (scores["model_version"] == result.model_version).all()
    assert (scores["scored_at"] == pd.Timestamp(result.scored_at)).all()
    assert str(scores["scored_at"].dtype) == "datetime64[us, UTC]"

    assert visible(out) == [f"part-{i:05d}.parquet" for i in range(6)]
    assert not (out / "_temporary").exists()
    manifest = json.loads((out / "_SUCCESS").read_text())
    assert manifest["rows"] == 600
    assert manifest["model_version"] == result.model_version
    assert [f["rows"] for f in manifest["files"]] == [140, 60] * 3
    assert manifest["columns"] == OUT_COLUMNS

    frame = result.to_frame()
    assert frame["rows"].tolist() == [140, 60] * 3
    assert frame["partition"].tolist() == list(range(6))
    assert isinstance(result.partitions[0], PartitionStats)
    assert (
        (frame[["read_seconds", "predict_seconds", "write_seconds"]] >= 0).all().all()
    )
    # the output is also a plain Parquet dataset for any reader
    pd.testing.assert_frame_equal(pd.read_parquet(out), scores)


def test_batches_are_bounded(tmp_path):
    n = 1000
    frame = pd.DataFrame({"id": np.arange(n), "x": np.linspace(0, 1, n)})
    frame.to_parquet(tmp_path / "one.parquet", row_group_size=n)  # one big group
    model = RecordingClassifier().fit(frame[["x"]], None)
    result = score_table(
        model, tmp_path / "one.parquet", tmp_path / "out", batch_rows=64, n_jobs=1
    )
    assert result.rows == n
    assert max(model.batch_sizes_) <= 64
    assert sum(model.batch_sizes_) == n
    scores = read_scores(tmp_path / "out")
    np.testing.assert_allclose(scores["churn_probability"], frame["x"])


@settings(max_examples=15)
@given(
    n_rows=st.integers(0, 120),
    n_files=st.integers(1, 3),
    row_group_size=st.integers(1, 50),
    batch_rows=st.integers(1, 80),
    n_jobs=st.integers(1, 3),
)
def test_every_row_scored_once_in_order(
    n_rows, n_files, row_group_size, batch_rows, n_jobs
):
    frame = pd.DataFrame(
        {"id": np.arange(n_rows), "x": np.random.default_rng(n_rows).random(n_rows)}
    )
    model = RecordingClassifier().fit(frame[["x"]], None)
    with tempfile.TemporaryDirectory() as folder:
        src = write_parts(frame, os.path.join(folder, "in"), n_files, row_group_size)
        out = os.path.join(folder, "out")
        result = score_table(model, src, out, batch_rows=batch_rows, n_jobs=n_jobs)
        scores = read_scores(out)
    assert result.rows == n_rows
    assert scores["id"].tolist() == list(range(n_rows))
    np.testing.assert_array_equal(scores["churn_probability"], frame["x"])


def test_threshold_argument_overrides_default(customers_dir, churn_model, tmp_path):
    result = score_table(churn_model, customers_dir, tmp_path / "o", threshold=0.2)
    scores = read_scores(tmp_path / "o")
    assert (result.threshold, result.threshold_source) == (0.2, "argument")
    np.testing.assert_array_equal(
        scores["churn_predicted"], scores["churn_probability"] >= 0.2
    )


def _numeric(customers):
    X = customers[["tenure_months", "monthly_charges", "support_calls"]]
    return X, customers["churned"]


def test_fixed_threshold_classifier_threshold_is_used(customers, tmp_path):
    X, y = _numeric(customers)
    model = FixedThresholdClassifier(LogisticRegression(), threshold=0.3).fit(X, y)
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    result = score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    assert (result.threshold, result.threshold_source) == (0.3, "model")
    scores = read_scores(tmp_path / "o")
    np.testing.assert_array_equal(scores["churn_predicted"], model.predict(X))


def test_tuned_threshold_classifier_threshold_is_used(customers, tmp_path):
    X, y = _numeric(customers)
    model = TunedThresholdClassifierCV(LogisticRegression(), cv=3).fit(X, y)
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    result = score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    assert result.threshold == pytest.approx(model.best_threshold_)
    assert result.threshold_source == "model"
    scores = read_scores(tmp_path / "o")
    np.testing.assert_array_equal(scores["churn_predicted"], model.predict(X))


def test_text_classes_take_the_churn_label_as_positive(customers, tmp_path):
    X, y = _numeric(customers)
    model = LogisticRegression().fit(X, y.map({True: "Yes", False: "No"}))
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    scores = read_scores(tmp_path / "o")
    yes = list(model.classes_).index("Yes")
    np.testing.assert_allclose(
        scores["churn_probability"], model.predict_proba(X)[:, yes]
    )


def test_ids_passthrough_columns_and_explicit_version(
    customers_dir, churn_model, tmp_path
):
    score_table(
        churn_model,
        customers_dir,
        tmp_path / "o",
        id_column=["customer_id", "contract"],
        columns=["tenure_months"],
        model_version="v7",
    )
    scores = read_scores(tmp_path / "o")
    assert list(scores.columns[:3]) == ["customer_id", "contract", "tenure_months"]
    assert (scores["model_version"] == "v7").all()


def test_missing_values_do_not_change_a_column_kind(tmp_path):
    # nullable bools become object columns, all-missing files have null type
    src = tmp_path / "in"
    src.mkdir()
    pd.DataFrame({"id": [1, 2], "x": [0.2, 0.8], "flag": [True, None]}).to_parquet(
        src / "a.parquet"
    )
    pd.DataFrame({"id": [3, 4], "x": [0.1, np.nan], "flag": [None, None]}).to_parquet(
        src / "b.parquet"
    )
    pd.DataFrame({"id": [5], "x": [1], "flag": [False]}).to_parquet(src / "c.parquet")
    model = RecordingClassifier(features=("x", "flag")).fit(None, None)
    result = score_table(model, src, tmp_path / "o")
    assert result.rows == 5
    scores = read_scores(tmp_path / "o")
    assert scores["id"].tolist() == [1, 2, 3, 4, 5]


def test_no_id_column_found_asks_for_one(tmp_path):
    frame = pd.DataFrame({"x": [0.1, 0.9]})
    frame.to_parquet(tmp_path / "in.parquet")
    model = RecordingClassifier().fit(frame, None)
    with pytest.raises(DataValidationError, match="Pass id_column="):
        score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_input_column_clashing_with_output_is_refused(tmp_path):
    frame = pd.DataFrame({"id": [1, 2], "x": [0.1, 0.9], "scored_at": [1, 2]})
    frame.to_parquet(tmp_path / "in.parquet")
    model = RecordingClassifier().fit(frame[["x"]], None)
    with pytest.raises(DataValidationError, match="collide") as info:
        score_table(
            model, tmp_path / "in.parquet", tmp_path / "o", columns=["scored_at"]
        )
    assert info.value.columns == ("scored_at",)


def test_csv_in_csv_out_and_globs(customers, churn_model, expected_scores, tmp_path):
    src = tmp_path / "csv"
    src.mkdir()
    features = customers.drop(columns="churned")
    features.iloc[:250].to_csv(src / "a.csv", index=False)
    features.iloc[250:].to_csv(src / "b.csv.gz", index=False)
    result = score_table(
        churn_model,
        str(src / "*.csv*"),
        tmp_path / "o",
        output_format="csv",
        batch_rows=100,
    )
    assert result.n_partitions == 2
    assert visible(tmp_path / "o") == ["part-00000.csv", "part-00001.csv"]
    scores = read_scores(tmp_path / "o")
    assert scores["customer_id"].tolist() == customers["customer_id"].tolist()
    np.testing.assert_allclose(scores["churn_probability"], expected_scores)


def test_memory_filesystem_input_and_output(memory_fs, customers, churn_model):
    customers.drop(columns="churned").to_parquet("memory://in/table.parquet")
    result = score_table(churn_model, "memory://in/table.parquet", "memory://scores")
    assert result.rows == len(customers)
    assert memory_fs.exists("/scores/_SUCCESS")
    assert len(read_scores("memory://scores")) == len(customers)


def test_existing_output_needs_overwrite(customers_dir, churn_model, tmp_path):
    out = tmp_path / "o"
    score_table(churn_model, customers_dir, out, batch_rows=70)  # 9 parts
    with pytest.raises(FileExistsError, match=r"overwrite=True") as info:
        score_table(churn_model, customers_dir, out)
    assert isinstance(info.value, StorageError)
    assert info.value.url == str(out)
    result = score_table(churn_model, customers_dir, out, overwrite=True)
    assert result.n_partitions == 3
    assert visible(out) == [f"part-{i:05d}.parquet" for i in range(3)]
    assert len(read_scores(out)) == 600


# -- bad input ----------------------------------------------------------------


def test_missing_column_in_one_file_names_file_and_column(
    customers, churn_model, tmp_path
):
    frame = customers.drop(columns="churned")
    src = write_parts(frame, tmp_path / "in")
    frame.iloc[200:400].drop(columns="tenure_months").to_parquet(
        tmp_path / "in" / "part-1.parquet"
    )
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match=r"part-1\.parquet") as info:
        score_table(churn_model, src, out)
    assert "tenure_months" in str(info.value)
    assert "partition 1" in str(info.value)
    assert info.value.columns == ("tenure_months",)
    assert_nothing_published(out)


def test_number_text_in_one_file_is_read_as_numbers(
    customers, churn_model, expected_scores, tmp_path
):
    # the training reader's rule: a number column stored as text still scores
    frame = customers.drop(columns="churned")
    src = write_parts(frame, tmp_path / "in")
    text = frame.iloc[400:].astype({"monthly_charges": str})
    text.to_parquet(tmp_path / "in" / "part-2.parquet")
    score_table(churn_model, src, tmp_path / "o")
    scores = read_scores(tmp_path / "o")
    np.testing.assert_array_equal(scores["churn_probability"], expected_scores)


def test_unreadable_value_in_one_file_names_file_rows_column_and_value(
    customers, churn_model, tmp_path
):
    frame = customers.drop(columns="churned")
    src = write_parts(frame, tmp_path / "in")
    bad = frame.iloc[400:].astype({"monthly_charges": str})
    bad.iloc[5, bad.columns.get_loc("monthly_charges")] = "lots"
    bad.to_parquet(tmp_path / "in" / "part-2.parquet")
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match="'lots'") as info:
        score_table(churn_model, src, out)
    text = str(info.value)
    assert "Column 'monthly_charges' of partition 2 (file " in text
    assert "part-2.parquet" in text
    assert "rows 0-199" in text
    assert info.value.columns == ("monthly_charges",)
    assert_nothing_published(out)


def test_bad_value_deep_in_a_csv_fails_and_keeps_previous_output(
    customers, churn_model, tmp_path
):
    features = customers.drop(columns="churned")
    good = tmp_path / "good.csv"
    features.to_csv(good, index=False)
    out = tmp_path / "o"
    score_table(churn_model, good, out)
    before = sorted(os.listdir(out))

    bad = features.astype({"support_calls": object})
    bad.loc[550, "support_calls"] = "many"  # in the 6th batch of 100
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataValidationError) as info:
        score_table(
            churn_model, tmp_path / "bad.csv", out, overwrite=True, batch_rows=100
        )
    text = str(info.value)
    assert "'support_calls'" in text
    assert "bad.csv" in text
    assert "'many'" in text
    # the previous complete output is untouched
    assert sorted(os.listdir(out)) == before
    assert len(read_scores(out)) == 600


def test_model_rejecting_a_batch_is_a_data_validation_error(customers, tmp_path):
    X, y = _numeric(customers)
    model = LogisticRegression().fit(X.to_numpy(), y)  # no feature names
    customers.drop(columns="churned").to_parquet(tmp_path / "in.parquet")
    with pytest.raises(DataValidationError, match=r"could not score partition 0"):
        score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    assert_nothing_published(tmp_path / "o")


def test_missing_input_and_incomplete_output(churn_model, tmp_path):
    with pytest.raises(TableNotFoundError, match="does not exist") as info:
        score_table(churn_model, tmp_path / "nope", tmp_path / "o")
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / "o").exists()
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "part-00000.parquet").write_bytes(b"")
    with pytest.raises(DataValidationError, match="no _SUCCESS marker"):
        read_scores(tmp_path / "half")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"engine": "spark"}, "The 'engine' parameter of score_table"),
        ({"batch_rows": 0}, "The 'batch_rows' parameter of score_table"),
        ({"threshold": 1.5}, "The 'threshold' parameter of score_table"),
        ({"output_format": "json"}, "The 'output_format' parameter of score_table"),
    ],
)
def test_invalid_parameters(customers_dir, churn_model, tmp_path, kwargs, match):
    with pytest.raises(InvalidParameterError, match=re.escape(match)):
        score_table(churn_model, customers_dir, tmp_path / "o", **kwargs)


def test_unfitted_or_multiclass_model_is_refused(customers_dir, tmp_path):
    with pytest.raises(InvalidParameterError, match="fitted binary classifier"):
        score_table(LogisticRegression(), customers_dir, tmp_path / "o")
    three = LogisticRegression().fit([[0], [1], [2]], [0, 1, 2])
    with pytest.raises(InvalidParameterError, match="3 classes"):
        score_table(three, customers_dir, tmp_path / "o")


@pytest.mark.parametrize("forest_jobs", [None, -1])
def test_stage_pipeline_keeps_order_with_serial_and_parallel_forests(
    customers, customers_dir, churn_model, tmp_path, forest_jobs
):
    # n_jobs=-1: one reader beside one self-parallel predictor; None: one
    # predictor per thread, batches of a partition reordered by the writer
    model = churn_model.set_params(randomforestclassifier__n_jobs=forest_jobs)
    try:
        result = score_table(
            model, customers_dir, tmp_path / "o", batch_rows=25, n_jobs=3
        )
    finally:
        churn_model.set_params(randomforestclassifier__n_jobs=None)
    scores = read_scores(tmp_path / "o")
    X = customers.drop(columns=["customer_id", "churned"])
    # (a parallel forest sums its trees in thread order: last-bit differences)
    np.testing.assert_allclose(
        scores["churn_probability"], churn_model.predict_proba(X)[:, 1], rtol=1e-12
    )
    assert scores["customer_id"].tolist() == customers["customer_id"].tolist()
    assert result.n_partitions == 9  # one per 70-row group, in 25-row batches
    assert result.rows == 600
