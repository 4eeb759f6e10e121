"""A model trained on coded columns (1/2 binaries, area codes) scores raw codes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from churnlib import get_contract
from churnlib.data import read_churn_table
from churnlib.exceptions import DataValidationError
from churnlib.training import ChurnTrainer


def _coded_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice([1, 2], n)
    card = rng.choice([1, 2], n).astype(float)
    card[rng.random(n) < 0.05] = np.nan
    area = rng.choice([408, 415, 510], n)
    tenure = rng.integers(1, 72, n)
    logit = -1.0 + 0.8 * (sex == 1) + 1.2 * (area == 510) - 0.03 * tenure
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "sex": sex,
            "has_card": card,
            "area code": area,
            "tenure": tenure,
            "churn": np.where(churn, "Yes", "No"),
        }
    )


@pytest.fixture(scope="module")
def coded_fit(tmp_path_factory, mlflow_tracking_uri):
    folder = tmp_path_factory.mktemp("coded")
    path = folder / "coded.csv"
    _coded_table().to_csv(path, index=False)
    X, y, schema = read_churn_table(path, target="churn")
    trainer = ChurnTrainer(
        tracking_uri=mlflow_tracking_uri,  # the session's (set up once)
        log_model=False,
        log_report=False,
        random_state=0,
        time_budget=20,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = trainer.fit(X, y)
    return path, X, schema, result


def test_the_reader_decides_the_codes_once(coded_fit):
    _path, X, schema, result = coded_fit
    assert set(schema.binary) == {"sex", "has_card"}
    assert schema.coded_categories == ("area code",)
    contract = get_contract(result.model)
    assert contract is not None
    sex = contract.feature("sex")
    assert (sex.role, sex.true_values, sex.false_values) == ("binary", ("1",), ("2",))
    card = contract.feature("has_card")
    assert (card.true_values, card.false_values) == (("1",), ("2",))
    area = contract.feature("area code")
    assert (area.role, area.categories) == ("categorical", ("408", "415", "510"))
    assert contract.feature("tenure").role == "numeric"
    # the codes survive the contract's JSON (store manifest, MLflow run)
    assert type(contract).from_json(contract.to_json()).feature("sex") == sex
    assert X["sex"].dtype == bool


def test_raw_codes_score_exactly_as_the_training_frame(coded_fit):
    path, X, _schema, result = coded_fit
    contract = get_contract(result.model)
    raw = pd.read_csv(path)  # 1/2 integers, 1.0/2.0 floats with NaN, 408/415/510
    prepared = contract.prepare(raw)
    pd.testing.assert_frame_equal(prepared, X[list(contract.feature_names)])
    expected = result.model.predict_proba(X)[:, 1]
    # the same frame, so the same scores (to float rounding of the BLAS layout)
    np.testing.assert_allclose(
        result.model.predict_proba(prepared)[:, 1], expected, rtol=1e-12, atol=0
    )
    # the same codes written as text ("2.0", " 1", "408.0") read the same way
    text = raw.astype(str).replace({"nan": ""})
    text["sex"] = text["sex"].map({"1": " 1", "2": "2.0"})
    text["area code"] = text["area code"] + ".0"
    again = contract.prepare(text)
    np.testing.assert_allclose(
        result.model.predict_proba(again)[:, 1], expected, rtol=1e-12, atol=0
    )


def test_an_unknown_code_is_refused_with_the_column(coded_fit):
    path, _X, _schema, result = coded_fit
    contract = get_contract(result.model)
    raw = pd.read_csv(path).head(5)
    raw.loc[raw.index[0], "sex"] = 3
    with pytest.raises(
        DataValidationError,
        match=r"Column 'sex' of the batch holds '3'.*\(1 for True, 2 for False\)",
    ) as err:
        contract.prepare(raw, source="the batch")
    assert list(err.value.columns) == ["sex"]


def test_a_raw_pandas_frame_trains_and_scores_like_its_prepared_form(
    tmp_path, mlflow_tracking_uri
):
    # pd.read_csv output straight into the trainer: yes/no text, 1/2 codes, area
    # codes and number text with blanks, as a user's first experiment has them
    raw = _coded_table(n=300, seed=1).drop(columns="customer_id")
    rng = np.random.default_rng(2)
    raw["partner"] = rng.choice(["Yes", "No", " yes"], len(raw))
    raw["charges"] = rng.normal(50, 10, len(raw)).round(2).astype(str)
    raw.loc[raw.index[:4], "charges"] = " "
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    frame = pd.read_csv(path)
    X, y = frame.drop(columns="churn"), frame["churn"]
    trainer = ChurnTrainer(
        tracking_uri=mlflow_tracking_uri,
        log_model=False,
        log_report=False,
        random_state=0,
        time_budget=10,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = trainer.fit(X, y)
    contract = get_contract(result.model)
    assert contract.feature("sex").true_values == ("1",)
    assert contract.feature("partner").role == "binary"
    prepared = contract.prepare(X)
    assert prepared["partner"].dtype == bool
    np.testing.assert_allclose(
        result.model.predict_proba(X)[:, 1],
        result.model.predict_proba(prepared)[:, 1],
        rtol=1e-12,
        atol=0,
    )
    # the store persists the learned readings (plain tuples: no trusted type)
    from churnlib.deployment import ModelStore

    store = ModelStore((tmp_path / "store").as_uri())
    loaded = store.load(store.publish(result.model).version)
    np.testing.assert_array_equal(
        loaded.predict_proba(prepared)[:, 1],
        result.model.predict_proba(prepared)[:, 1],
    )
