"""Role inference on large tables: a sample, re-checked where it could mislead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnlib.data import infer_schema
from churnlib.features import ChurnPreprocessor, SchemaValidator, _roles


@pytest.fixture
def small_sample(monkeypatch):
    monkeypatch.setattr(_roles, "ROLE_SAMPLE_ROWS", 100)


def big_table(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row": rng.permutation(n) + 1,  # shuffled row numbers
            "amount": rng.normal(100, 10, n).round(2).astype(str),
            "code": rng.integers(0, 2, n),
            "plan": rng.choice(["a", "b", "c"], n),
        }
    )


def test_sampled_roles_match_full_inference(small_sample):
    X = big_table()
    assert _roles.resolve_schema(X, None, caller="t") == infer_schema(X)


def test_garbage_outside_the_sample_is_found(small_sample):
    X = big_table()
    X.loc[1, "amount"] = "call us"  # row 1 is not among the evenly spaced rows
    schema = _roles.resolve_schema(X, None, caller="t")
    assert schema == infer_schema(X)
    assert "amount" in schema.categorical
    SchemaValidator().fit(X)  # no crash: the column is categorical


def test_codes_beyond_zero_one_outside_the_sample(small_sample):
    X = big_table()
    X.loc[1, "code"] = 7
    schema = _roles.resolve_schema(X, None, caller="t")
    # not binary any more; three whole numbers in a column named "code" are codes
    assert "code" in schema.categorical
    assert schema.coded_categories == ("code",)
    assert schema == infer_schema(X)
    X["code"] = X["code"].astype(float)
    X.loc[1, "code"] = 7.5  # a fraction: an amount, never a code
    assert "code" in _roles.resolve_schema(X, None, caller="t").numeric


def test_preprocessor_on_a_large_table(small_sample):
    X = big_table()
    pre = ChurnPreprocessor().fit(X)
    assert pre.dropped_columns_ == ["row"]
    assert "amount" in pre.numeric_features_
