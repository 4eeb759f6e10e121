"""The trainer decides the model contract once: features, exclusions, labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnlib import get_contract
from churnlib.exceptions import DataQualityWarning, DataValidationError

from .conftest import search_runs


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    churn = rng.random(n) < 0.3
    X = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "tenure": rng.integers(0, 72, n).astype(float),
            "calls": rng.poisson(2, n).astype(float) + 2 * churn,
            "plan": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "signed_up": pd.date_range("2020-01-01", periods=n, freq="D"),
            "country": "NL",
            # a leak: recorded after the customer left
            "closure_fee": np.where(churn, 25.0, 0.0) + rng.normal(0, 0.1, n),
        }
    )
    y = pd.Series(np.where(churn, "Yes", "No"), name="Churn")
    return X, y


def test_exclusions_are_named_in_a_warning_and_the_contract(make_trainer):
    X, y = _table()
    with pytest.warns(DataQualityWarning) as record:
        result = make_trainer(log_model=False).fit(X, y)
    message = str(record[0].message)
    for column, why in [
        ("customer_id", "identifier"),
        ("signed_up", "datetime"),
        ("country", "constant"),
        ("closure_fee", "leakage"),
    ]:
        assert f"'{column}' ({why})" in message
    contract = result.contract
    assert contract.excluded == {
        "customer_id": "identifier",
        "signed_up": "datetime",
        "country": "constant",
        "closure_fee": "leakage",
    }
    assert contract.feature_names == ("tenure", "calls", "plan")
    assert contract.leakage["closure_fee"] > 0.98
    assert not contract.allow_leakage
    assert contract.id_columns == ("customer_id",)
    assert get_contract(result.model) == contract
    assert result.model.feature_names_in_.tolist() == ["tenure", "calls", "plan"]


def test_raw_text_labels_are_decoded_and_recorded(make_trainer):
    X, y = _table()
    with pytest.warns(DataQualityWarning):
        result = make_trainer(log_model=False).fit(X, y)
    rule = result.contract.labels
    assert rule.pos_label == "Yes"
    assert rule.neg_labels == ("No",)
    assert rule.name == "Churn"
    assert result.contract.target == "Churn"
    assert result.contract.pos_label == "Yes"
    np.testing.assert_array_equal(result.contract.decode_labels(["No", "Yes"]), [0, 1])
    assert result.model.classes_.tolist() == [False, True]


def test_allow_leakage_keeps_the_leak(make_trainer):
    X, y = _table()
    with pytest.warns(DataQualityWarning):
        result = make_trainer(log_model=False).fit(X, y, allow_leakage=True)
    contract = result.contract
    assert "closure_fee" in contract.feature_names
    assert contract.allow_leakage
    assert "closure_fee" not in contract.excluded
    assert contract.leakage["closure_fee"] > 0.98  # still recorded
    assert result.metrics["roc_auc"] > 0.99  # the leak at work


def test_user_drops_and_identifiers_alone_do_not_warn(make_trainer):
    X, y = _table()
    X = X[["customer_id", "tenure", "calls", "plan"]]
    # no warning: identifiers and the user's own drops are expected exclusions
    result = make_trainer(log_model=False).fit(X, y, drop=["plan"])
    assert result.contract.excluded == {"customer_id": "identifier", "plan": "dropped"}
    assert result.contract.feature_names == ("tenure", "calls")


def test_drop_of_an_unknown_column_fails_before_any_run(
    make_trainer, mlflow_tracking_uri, experiment_name
):
    X, y = _table()
    message = "ChurnTrainer.fit got drop=['nope'], which X does not have"
    with pytest.raises(DataValidationError, match=re.escape(message)):
        make_trainer().fit(X, y, drop=["nope"])
    assert search_runs(mlflow_tracking_uri, experiment_name) == []


def test_contract_is_logged_to_the_run(make_trainer, mlflow_tracking_uri):
    from mlflow.tracking import MlflowClient

    X, y = _table()
    with pytest.warns(DataQualityWarning):
        result = make_trainer(log_model=False).fit(X, y)
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    run = client.get_run(result.run_id)
    tags = run.data.tags
    assert tags["churnlib.excluded.closure_fee"] == "leakage"
    assert tags["churnlib.excluded.customer_id"] == "identifier"
    assert tags["churnlib.id_column"] == "customer_id"
    assert tags["churnlib.pos_label"] == "Yes"
    assert run.data.params["contract.n_features"] == "3"
    assert run.data.params["contract.allow_leakage"] == "False"
    assert run.data.params == {k: str(v) for k, v in result.params.items()}
    path = client.download_artifacts(result.run_id, "contract.json")
    assert json.loads(Path(path).read_text()) == json.loads(result.contract.to_json())


def test_validation_labels_decode_with_the_training_rule(make_trainer):
    X, y = _table()
    X_valid, y_valid = _table(seed=1)
    with pytest.warns(DataQualityWarning):
        result = make_trainer(log_model=False).fit(
            X, y, X_valid=X_valid, y_valid=y_valid
        )
    assert result.metrics["n_valid"] == len(X_valid)
    assert 0.5 < result.metrics["roc_auc"] <= 1.0


def test_reader_schema_is_used_and_prepare_round_trips(make_trainer, tmp_path):
    from churnlib.data import read_churn_table

    X, y = _table(n=300)
    raw = X.drop(columns=["signed_up", "country"]).assign(
        Exited=y.eq("Yes").astype(int)
    )
    raw["tenure"] = raw["tenure"].astype(str)
    raw.loc[:4, "tenure"] = " "  # blanks, as in the Telco export
    path = tmp_path / "bank.csv"
    raw.to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match="closure_fee"):
        X_read, y_read, schema = read_churn_table(path, target="Exited")
    assert schema.leakage  # the reader flagged the leak
    with pytest.warns(DataQualityWarning, match="closure_fee"):
        result = make_trainer(log_model=False).fit(X_read, y_read)
    contract = result.contract
    assert contract.excluded["closure_fee"] == "leakage"
    assert contract.id_column == "customer_id"
    assert contract.target == "Exited"
    assert contract.labels.pos_label == 1
    # a raw table, as read from disk, goes straight to the model
    features = contract.prepare(pd.read_csv(path, dtype=str))
    proba = result.model.predict_proba(features)[:, 1]
    np.testing.assert_allclose(proba, result.model.predict_proba(X_read)[:, 1])


def test_a_target_named_for_staying_is_decoded_once_at_every_stage(
    make_trainer, tmp_path
):
    # "Retained: Yes" stayed: the reader takes "No" as churn, the trainer
    # must not turn its decoded booleans over again, and the contract
    # decodes raw outcomes the same way later
    from churnlib.data import read_churn_table

    X, y = _table(n=300)
    raw = X.drop(columns=["signed_up", "country", "closure_fee"]).assign(
        Retained=np.where(y.eq("Yes"), "No", "Yes")
    )
    path = tmp_path / "retained.csv"
    raw.to_csv(path, index=False)
    X_read, y_read, schema = read_churn_table(path, target="Retained")
    assert schema.positive == "No"
    assert y_read.mean() == pytest.approx(y.eq("Yes").mean())
    contract = make_trainer(log_model=False).fit(X_read, y_read).contract
    assert contract.labels.pos_label == "No"
    decoded = contract.decode_labels(pd.read_csv(path)["Retained"])
    np.testing.assert_array_equal(decoded, y.eq("Yes").to_numpy())
    # raw labels given straight to fit, named for staying, decode the same
    direct = make_trainer(log_model=False).fit(
        X_read, raw["Retained"].set_axis(X_read.index)
    )
    assert direct.contract.labels.pos_label == "No"
