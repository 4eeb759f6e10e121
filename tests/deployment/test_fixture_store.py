"""A store written by an earlier churnlib must keep loading, verifying and answering.

The fixture (``fixtures/store-*/``, made by ``fixtures/make_stores.py``) holds a
signed store with a contract-carrying ChurnPreprocessor pipeline
(``production``) and a plain scikit-learn pipeline without a contract
(``plain``). If a test here fails, a name a stored model references moved
(a trusted type, the pyfunc loader), or the manifest/alias format changed
without staying readable: keep the old names importable instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnlib._core.contract import ModelContract, get_contract
from churnlib.deployment import ModelStore

FIXTURES = sorted(Path(__file__).parent.joinpath("fixtures").glob("store-*"))


@pytest.fixture(params=FIXTURES, ids=[p.name for p in FIXTURES])
def fixture_store(request, tmp_path):
    folder = tmp_path / request.param.name
    shutil.copytree(request.param, folder)
    expected = json.loads((folder / "expected.json").read_text())
    rows = pd.read_csv(folder / "rows.csv")
    store = ModelStore(folder / "store", signing_key=expected["key"], create=False)
    return store, expected, rows


def test_fixture_versions_verify_and_show_their_contracts(fixture_store):
    store, expected, _ = fixture_store
    listed = {v.version: v for v in store.versions()}
    production = listed[expected["production"]["version"]]
    plain = listed[expected["plain"]["version"]]
    assert production.aliases == ("production",)
    assert plain.aliases == ("plain",)
    assert isinstance(production.contract, ModelContract)
    assert "tenure_months" in production.contract.feature_names
    assert plain.contract is None  # published without one: still a version
    assert store.get("production").contract == production.contract


def test_fixture_models_load_and_answer_as_when_published(fixture_store):
    store, expected, rows = fixture_store
    model = store.load("production")
    contract = get_contract(model)
    assert contract is not None
    X = contract.prepare(rows)
    np.testing.assert_allclose(
        model.predict_proba(X)[:, 1], expected["production"]["proba"], rtol=1e-9
    )
    old = store.load("plain")
    assert get_contract(old) is None
    X_plain = rows[expected["plain"]["columns"]]
    np.testing.assert_allclose(
        old.predict_proba(X_plain)[:, 1], expected["plain"]["proba"], rtol=1e-9
    )


def test_fixture_versions_load_in_mlflow_as_churn_probabilities(fixture_store):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    store, expected, rows = fixture_store
    version = expected["production"]["version"]
    folder = Path(store._root) / "versions" / version / "model"
    pyfunc = mlflow_pyfunc.load_model(str(folder))
    got = np.asarray(pyfunc.predict(rows))  # the raw table, as read from CSV
    assert got.shape == (len(rows),)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected["production"]["proba"], rtol=1e-9)
