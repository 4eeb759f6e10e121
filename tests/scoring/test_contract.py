"""score_table reads raw tables by the model contract; one label rule decides churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from churnlib import get_contract, infer_contract
from churnlib._core.contract import attach_contract
from churnlib.data import read_churn_table
from churnlib.exceptions import DataValidationError
from churnlib.scoring import read_scores, score_table

TELCO = "/work/shared/data/telco_customer_churn.csv"


def _pipeline(selector_dtype):
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include=selector_dtype),
        ),
        remainder="passthrough",
    )
    forest = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0)
    return make_pipeline(encode, forest)


@pytest.fixture(scope="module")
def telco():
    """Telco as training reads it, and a model carrying its contract."""
    import os

    if not os.path.exists(TELCO):
        pytest.skip("the public Telco table is not on this machine")
    X, y, schema = read_churn_table(TELCO, target="Churn")
    model = _pipeline("category").fit(X, y)
    contract = infer_contract(X, y, id_columns=schema.id_columns)
    attach_contract(model, contract)
    return X, y, model


def test_raw_telco_scores_with_only_model_input_and_output(telco, tmp_path):
    X, _, model = telco
    raw = pd.read_csv(TELCO)
    assert (raw["TotalCharges"] == " ").sum() == 11  # the blanks training cleaned
    out = tmp_path / "scores"
    result = score_table(model, TELCO, out)

    assert result.rows == len(raw) == 7043
    assert result.id_columns == ("customerID",)
    assert result.contract == "model"
    scores = read_scores(out)
    assert list(scores.columns[:2]) == ["customerID", "churn_probability"]
    assert scores["customerID"].tolist() == raw["customerID"].tolist()
    # scored exactly as the training frame the reader produced
    expected = model.predict_proba(X)[:, list(model.classes_).index(True)]
    np.testing.assert_allclose(scores["churn_probability"], expected)


def test_raw_telco_on_small_batches_and_parquet_gives_the_same_scores(telco, tmp_path):
    _, _, model = telco
    score_table(model, TELCO, tmp_path / "a", batch_rows=1000)
    # the same raw values (text TotalCharges with blanks) in a Parquet file
    pd.read_csv(TELCO).to_parquet(tmp_path / "raw.parquet", row_group_size=2000)
    score_table(model, tmp_path / "raw.parquet", tmp_path / "b", batch_rows=2000)
    a, b = read_scores(tmp_path / "a"), read_scores(tmp_path / "b")
    np.testing.assert_allclose(a["churn_probability"], b["churn_probability"])
    assert a["customerID"].tolist() == b["customerID"].tolist()


def test_semicolon_csv_is_read_like_training_would(telco, tmp_path):
    _, _, model = telco
    raw = pd.read_csv(TELCO).iloc[:500]
    raw.to_csv(tmp_path / "euro.csv", sep=";", index=False)
    score_table(model, tmp_path / "euro.csv", tmp_path / "o")
    score_table(model, TELCO, tmp_path / "ref")
    got = read_scores(tmp_path / "o")
    ref = read_scores(tmp_path / "ref").iloc[:500]
    np.testing.assert_allclose(got["churn_probability"], ref["churn_probability"])


def test_the_id_column_can_still_be_chosen(telco, tmp_path):
    _, _, model = telco
    score_table(model, TELCO, tmp_path / "o", id_column="PaymentMethod")
    scores = read_scores(tmp_path / "o")
    assert scores.columns[0] == "PaymentMethod"


def test_missing_id_column_names_it_and_writes_nothing(telco, tmp_path):
    _, _, model = telco
    pd.read_csv(TELCO).drop(columns="customerID").iloc[:50].to_csv(
        tmp_path / "noid.csv", index=False
    )
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match="id column 'customerID'") as info:
        score_table(model, tmp_path / "noid.csv", out)
    assert info.value.columns == ("customerID",)
    assert not out.exists()


def test_a_failed_first_run_leaves_no_output_folder(telco, tmp_path):
    _, _, model = telco
    raw = pd.read_csv(TELCO)
    raw.loc[6000, "TotalCharges"] = "12,5 EUR"  # not a number, not a blank
    raw.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "never"
    with pytest.raises(DataValidationError, match="'12,5 EUR'") as info:
        score_table(model, tmp_path / "bad.csv", out, batch_rows=1000)
    assert "TotalCharges" in str(info.value)
    assert "rows 6000-6999" in str(info.value)
    assert not out.exists()


def test_model_without_a_contract_scores_raw_telco_by_inferred_rules(telco, tmp_path):
    # a model published by older code: fitted on cleaned numbers and text
    # categories, carrying no contract
    X, y, _ = telco
    legacy_X = X.reset_index(drop=True).astype(
        {c: object for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    )
    model = _pipeline(object).fit(legacy_X, y.to_numpy())
    assert get_contract(model) is None
    result = score_table(model, TELCO, tmp_path / "o")
    assert result.contract == "inferred"
    assert result.id_columns == ("customerID",)  # found by its name
    scores = read_scores(tmp_path / "o")
    expected = model.predict_proba(legacy_X)[:, 1]
    np.testing.assert_allclose(scores["churn_probability"], expected)


# -- issue 18.1: text labels go through the one label decoder ------------------


@pytest.mark.parametrize(
    ("churn", "stay"),
    [
        ("Left", "Stayed"),
        ("Attrited Customer", "Existing Customer"),
        ("churner", "loyal"),
    ],
)
def test_text_labels_are_decoded_by_the_one_rule(customers, tmp_path, churn, stay):
    X = customers[["tenure_months", "monthly_charges", "support_calls"]]
    truth = customers["churned"].to_numpy()
    labels = np.where(truth, churn, stay)
    model = LogisticRegression(max_iter=500).fit(X, labels)
    # sorted classes put the churn label first ("Attrited", "churner") or
    # second ("Stayed" > "Left"): "the greater label" is wrong in two of three
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    scores = read_scores(tmp_path / "o")
    churn_col = list(model.classes_).index(churn)
    np.testing.assert_allclose(
        scores["churn_probability"], model.predict_proba(X)[:, churn_col]
    )
    # right side up: the mean score is the churn rate, and churners score higher
    assert scores["churn_probability"].mean() == pytest.approx(truth.mean(), abs=0.02)
    p = scores["churn_probability"].to_numpy()
    assert p[truth].mean() > p[~truth].mean()


def test_unknowable_churn_class_is_refused_before_anything_is_written(
    customers, tmp_path
):
    X = customers[["tenure_months", "monthly_charges"]]
    labels = np.where(customers["churned"], "group b", "group a")
    model = LogisticRegression().fit(X, labels)
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match="Cannot tell which class"):
        score_table(model, tmp_path / "in.parquet", out)
    assert not out.exists()


def test_contract_label_rule_decides_over_the_class_names(customers, tmp_path):
    # labels no word rule could read, made readable by the contract's rule
    X = customers[["tenure_months", "monthly_charges"]]
    labels = pd.Series(np.where(customers["churned"], "B", "A"), name="status")
    model = LogisticRegression().fit(X, labels)
    from churnlib import LabelRule

    rule = LabelRule(pos_label="B", neg_labels=("A",), name="status")
    attach_contract(model, infer_contract(X, labels=rule))
    X.assign(customer_id=customers["customer_id"]).to_parquet(tmp_path / "in.parquet")
    score_table(model, tmp_path / "in.parquet", tmp_path / "o")
    scores = read_scores(tmp_path / "o")
    np.testing.assert_allclose(
        scores["churn_probability"], model.predict_proba(X)[:, 1]
    )


def test_stages_report_encode_and_predict_time(telco, tmp_path):
    _, _, model = telco
    result = score_table(model, TELCO, tmp_path / "o", batch_rows=2000)
    frame = result.to_frame()
    assert (frame["encode_seconds"] > 0).all()
    assert (frame["predict_seconds"] > 0).all()
    assert frame["rows"].sum() == 7043


def test_a_failing_partition_among_many_threads_leaves_nothing(telco, tmp_path):
    _, _, model = telco
    raw = pd.read_csv(TELCO).astype({"tenure": object})
    raw.loc[4100, "tenure"] = "forever"
    src = tmp_path / "in"
    src.mkdir()
    for i, start in enumerate(range(0, len(raw), 1000)):
        raw.iloc[start : start + 1000].to_csv(src / f"p{i}.csv", index=False)
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match="'forever'"):
        score_table(model, src, out, n_jobs=3, batch_rows=250)
    assert not out.exists()
