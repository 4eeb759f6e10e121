"""The direct route through a pipeline answers exactly as predict_proba does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from churnlib._core.direct_route import (
    CheckedProba,
    _one_hot_kernel,
    column_getter,
    direct_proba,
)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, Any]:
    from churnlib._core.contract import infer_contract
    from churnlib.data import generate_customers

    df = generate_customers(1500, random_state=0)
    y = df.pop("churned")
    X = df.drop(columns="customer_id")
    contract = infer_contract(X, y, id_columns=["customer_id"])
    served = contract.prepare(generate_customers(120, random_state=3))
    return contract.prepare(df), y, served, contract


def _models(X: pd.DataFrame) -> dict[str, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from churnlib.features import ChurnPreprocessor

    cats = list(X.select_dtypes("category").columns)
    nums = [c for c in X.columns if c not in cats]
    lr = LogisticRegression(max_iter=2000)
    return {
        "column transformer": Pipeline(
            [
                (
                    "prep",
                    ColumnTransformer(
                        [
                            ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
                            ("num", StandardScaler(), nums),
                        ]
                    ),
                ),
                ("clf", lr),
            ]
        ),
        "sparse output, estimator remainder": Pipeline(
            [
                (
                    "prep",
                    ColumnTransformer(
                        [("cat", OneHotEncoder(handle_unknown="ignore"), cats)],
                        remainder=StandardScaler(),
                        sparse_threshold=1.0,
                    ),
                ),
                ("clf", lr),
            ]
        ),
        "passthrough remainder, then a scaler": Pipeline(
            [
                (
                    "prep",
                    ColumnTransformer(
                        [
                            (
                                "cat",
                                OneHotEncoder(
                                    handle_unknown="ignore", sparse_output=False
                                ),
                                cats,
                            )
                        ],
                        remainder="passthrough",
                    ),
                ),
                ("scale", StandardScaler()),
                ("clf", lr),
            ]
        ),
        "ChurnPreprocessor and a forest": Pipeline(
            [
                ("prep", ChurnPreprocessor()),
                (
                    "clf",
                    RandomForestClassifier(
                        n_estimators=30, min_samples_leaf=5, random_state=0, n_jobs=1
                    ),
                ),
            ]
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "column transformer",
        "sparse output, estimator remainder",
        "passthrough remainder, then a scaler",
        "ChurnPreprocessor and a forest",
    ],
)
def test_direct_route_is_bit_equal(data, name):
    X, y, served, _ = data
    model = _models(X)[name].fit(X, y)
    for arrays in (True, False):
        direct = direct_proba(model, arrays=arrays)
        assert direct is not None
        for rows in (slice(0, 1), slice(3, 10), slice(0, 120)):
            np.testing.assert_array_equal(
                direct(served.iloc[rows]), model.predict_proba(served.iloc[rows])
            )
    checked = CheckedProba(model, checks=2)
    assert checked.state == "unchecked"
    for i in range(4):
        np.testing.assert_array_equal(
            checked(served.iloc[i : i + 5]), model.predict_proba(served.iloc[i : i + 5])
        )
    assert (checked.state, checked.kind) == ("direct", "arrays")


def test_other_shapes_keep_their_own_predict_proba(data):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y, served, _ = data
    nums = list(X.select_dtypes("number").columns)
    plain = LogisticRegression(max_iter=2000).fit(X[nums], y)
    assert direct_proba(plain) is None
    assert CheckedProba(plain).state == "own"
    cats = list(X.select_dtypes("category").columns)
    pandas_out = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("cat", OneHotEncoder(sparse_output=False), cats)]
                ).set_output(transform="pandas"),
            ),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    ).fit(X, y)
    assert direct_proba(pandas_out) is None
    np.testing.assert_array_equal(
        CheckedProba(pandas_out)(served), pandas_out.predict_proba(served)
    )


def test_a_route_that_differs_is_dropped_for_good(data):
    X, y, served, _ = data
    model = _models(X)["column transformer"].fit(X, y)
    checked = CheckedProba(model, checks=3)
    calls = []
    honest = direct_proba(model, arrays=True)

    def off_by_a_bit(frame: pd.DataFrame) -> np.ndarray:
        calls.append(len(frame))
        out = honest(frame)
        return np.nextafter(out, 2.0) if len(calls) == 2 else out

    frames_calls = []

    def frames(frame: pd.DataFrame) -> np.ndarray:
        frames_calls.append(len(frame))
        return honest(frame)

    checked._candidates = [("arrays", off_by_a_bit), ("frames", frames)]
    for i in range(5):
        np.testing.assert_array_equal(
            checked(served.iloc[i : i + 3]), model.predict_proba(served.iloc[i : i + 3])
        )
    # the arrays route differed once: dropped for good; the next one serves
    assert (checked.state, checked.kind) == ("direct", "frames")
    assert calls == [3, 3]  # never asked again after the difference
    assert frames_calls == [3, 3, 3, 3, 3]

    broken = CheckedProba(model)

    def raises(frame: pd.DataFrame) -> np.ndarray:
        raise ValueError("no")

    broken._candidates = [("arrays", raises), ("frames", raises)]
    np.testing.assert_array_equal(broken(served), model.predict_proba(served))
    assert broken.state == "own"
    assert broken._direct is None


def test_a_batch_the_trusted_route_cannot_read_is_answered_by_the_model(data):
    X, y, served, _ = data
    model = _models(X)["column transformer"].fit(X, y)
    checked = CheckedProba(model, checks=1)
    checked(served.iloc[:5])
    assert (checked.state, checked.kind) == ("direct", "arrays")
    # a nullable extension dtype: the arrays route does not read it itself
    odd = served.iloc[:7].astype({"monthly_charges": "Float64"})
    with pytest.raises(TypeError):
        direct_proba(model, arrays=True)(odd)
    np.testing.assert_array_equal(checked(odd), model.predict_proba(odd))
    assert checked.state == "direct"


@pytest.mark.parametrize(
    "name",
    [
        "column transformer",
        "sparse output, estimator remainder",
        "passthrough remainder, then a scaler",
    ],
)
def test_arrays_route_reads_missing_and_unseen_levels_as_the_encoder(data, name):
    """Codes read straight off the categorical: missing and unseen levels too."""
    X, y, served, _ = data
    model = _models(X)[name].fit(X, y)
    odd = served.iloc[:12].copy()
    odd["contract"] = odd["contract"].cat.add_categories(["weekly"])
    odd.iloc[0, odd.columns.get_loc("contract")] = "weekly"  # never seen in fit
    odd.iloc[1, odd.columns.get_loc("contract")] = np.nan
    odd.iloc[2, odd.columns.get_loc("gender")] = np.nan
    # the same levels in another order: another dtype, looked up again
    odd["payment_method"] = odd["payment_method"].cat.reorder_categories(
        odd["payment_method"].cat.categories[::-1]
    )
    direct = direct_proba(model, arrays=True)
    for frame in (odd, served.iloc[:12], odd.iloc[:1], odd.iloc[1:2]):
        np.testing.assert_array_equal(direct(frame), model.predict_proba(frame))


def test_arrays_route_groups_infrequent_and_unknown_levels_as_the_encoder(data):
    """Infrequent levels, unseen ones sent to the infrequent column, booleans."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from churnlib.features import ChurnPreprocessor

    X, y, served, _ = data
    cats = list(X.select_dtypes("category").columns)
    flags = list(X.select_dtypes("bool").columns)
    models = {
        "ChurnPreprocessor, rare levels grouped": Pipeline(
            [
                ("prep", ChurnPreprocessor(min_frequency=0.3)),
                ("clf", LogisticRegression(max_iter=2000)),
            ]
        ),
        "encoder on text and booleans, sparse": Pipeline(
            [
                (
                    "prep",
                    ColumnTransformer(
                        [
                            (
                                "enc",
                                OneHotEncoder(
                                    handle_unknown="infrequent_if_exist",
                                    max_categories=3,
                                ),
                                cats + flags,
                            )
                        ],
                        sparse_threshold=1.0,
                    ),
                ),
                ("clf", LogisticRegression(max_iter=2000)),
            ]
        ),
    }
    odd = served.iloc[:40].copy()
    odd["contract"] = odd["contract"].cat.add_categories(["weekly"])
    odd.iloc[0, odd.columns.get_loc("contract")] = "weekly"  # unseen
    odd.iloc[1, odd.columns.get_loc("payment_method")] = np.nan
    for name, model in models.items():
        model.fit(X, y)
        encoder = (
            model[0].column_transformer_.named_transformers_["categorical"]
            if "ChurnPreprocessor" in name
            else model[0].named_transformers_["enc"]
        )
        # the case under test: some levels are grouped as infrequent
        assert any(i is not None for i in encoder._infrequent_indices), name
        kernel = _one_hot_kernel(encoder)
        assert kernel is not None, name
        # read off the codes and arrays, not handed back to the encoder
        seen = served
        if "ChurnPreprocessor" in name:  # what its column transformer gets
            seen = model[0].validator_.transform(model[0]._features(served))
        column = column_getter(seen)
        columns = [column(c) for c in encoder.feature_names_in_]
        enc_transform = encoder.transform
        try:
            encoder.transform = None  # any fallback would fail here
            kernel(columns)
        finally:
            encoder.transform = enc_transform
            del encoder.transform
        direct = direct_proba(model, arrays=True)
        for frame in (odd, served, odd.iloc[:1], odd.iloc[1:2]):
            np.testing.assert_array_equal(
                direct(frame), model.predict_proba(frame), err_msg=name
            )


def test_a_trusted_route_is_spot_checked_and_dropped_at_a_difference(data):
    X, y, served, _ = data
    model = _models(X)["column transformer"].fit(X, y)
    checked = CheckedProba(model, checks=1, recheck_every=3)
    checked(served.iloc[:4])
    assert (checked.state, checked.kind) == ("direct", "arrays")
    honest = checked._direct
    calls = []

    def drifts(frame: pd.DataFrame) -> np.ndarray:  # right once, then off a bit
        calls.append(len(frame))
        out = honest(frame)
        return out if len(calls) == 1 else np.nextafter(out, 2.0)

    checked._direct = drifts
    rows = served.iloc[10:16]
    expected = model.predict_proba(rows)
    np.testing.assert_array_equal(checked(rows), expected)  # the route, right
    checked(rows)  # the route, a bit off: not compared on this call
    # the third call after trust is a spot check: the model answers, and the
    # route is dropped for good
    np.testing.assert_array_equal(checked(rows), expected)
    assert (checked.state, checked.kind, checked.rechecks) == ("own", None, 1)
    np.testing.assert_array_equal(checked(rows), expected)
    assert len(calls) == 3  # never asked again
