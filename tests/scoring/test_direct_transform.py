"""Batch scoring's transforms through the direct route: never another answer."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from churnlib import infer_contract
from churnlib._core.contract import attach_contract, get_contract
from churnlib._core.direct_route import CheckedTransform, direct_transform
from churnlib.data import generate_customers


@pytest.fixture(scope="module")
def model():
    df = generate_customers(3000, random_state=7)
    X = df.drop(columns=["customer_id", "churned"])
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder="passthrough",
    )
    forest = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0)
    pipe = make_pipeline(encode, forest).fit(X, df["churned"])
    attach_contract(pipe, infer_contract(X, df["churned"]))
    return pipe


def _batches(model, n_batches=6, rows=500):
    contract = get_contract(model)
    out = []
    for i in range(n_batches):
        raw = generate_customers(rows, random_state=100 + i).drop(columns="churned")
        if i == 4:  # later batches hold what the first ones did not
            text = list(raw.select_dtypes("category").columns)
            raw = raw.astype({text[0]: object, text[1]: object})
            raw.loc[raw.index[:20], text[0]] = None
            raw.loc[raw.index[20:40], text[1]] = "never seen"
        out.append(contract.prepare(raw))
    return out


def test_the_route_is_trusted_after_its_checks_and_answers_identically(model):
    pre = model[:-1]
    checked = CheckedTransform(pre, checks=2, recheck_every=3)
    assert direct_transform(pre) is not None
    for i, X in enumerate(_batches(model)):
        got = checked.transform(X)
        expected = pre.transform(X)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        assert checked.trusted == (i >= 1)


def test_a_route_that_differs_is_dropped_and_the_pipeline_answers(model):
    contract = get_contract(model)
    X = contract.prepare(
        generate_customers(300, random_state=1).drop(columns="churned")
    )
    numbers = list(X.select_dtypes("number").columns)

    def frame_only(Z):  # other values for arrays than for frames
        return Z + (0.0 if isinstance(Z, pd.DataFrame) else 1.0)

    odd = make_pipeline(
        make_column_transformer((FunctionTransformer(frame_only), numbers))
    ).fit(X)
    checked = CheckedTransform(odd, checks=2)
    for _ in range(4):
        np.testing.assert_array_equal(checked.transform(X), odd.transform(X))
    assert not checked.trusted


def test_a_route_that_raises_is_dropped(model):
    contract = get_contract(model)
    X = contract.prepare(
        generate_customers(300, random_state=2).drop(columns="churned")
    )
    numbers = list(X.select_dtypes("number").columns)
    by_name = make_pipeline(
        make_column_transformer(
            (FunctionTransformer(lambda Z: Z[[numbers[0]]]), numbers)
        )
    ).fit(X)
    checked = CheckedTransform(by_name)
    np.testing.assert_array_equal(checked.transform(X), by_name.transform(X))
    assert not checked.trusted


def test_threads_share_one_checked_route(model):
    pre = model[:-1]
    checked = CheckedTransform(pre, checks=2, recheck_every=2)
    batches = _batches(model, n_batches=12, rows=200)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(checked.transform, batches))
    for X, got in zip(batches, outs, strict=True):
        np.testing.assert_array_equal(got, pre.transform(X))
    assert checked.trusted


def test_score_table_equals_predict_proba(model, tmp_path):
    from churnlib.scoring import read_scores, score_table

    raw = generate_customers(4000, random_state=5).drop(columns="churned")
    raw = raw.astype({"contract": object})
    raw.loc[raw.index[:50], "contract"] = "never seen"
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        raw.iloc[i * 1000 : (i + 1) * 1000].to_parquet(folder / f"part-{i}.parquet")
    score_table(model, folder, tmp_path / "out", engine="local", batch_rows=500)
    scores = read_scores(tmp_path / "out").set_index("customer_id")
    expected = model.predict_proba(get_contract(model).prepare(raw))[:, 1]
    got = scores.loc[raw["customer_id"], "churn_probability"].to_numpy()
    np.testing.assert_array_equal(got, expected)
