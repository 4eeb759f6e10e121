"""Property tests: random tables never crash the feature layer unexpectedly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from churnlib.exceptions import DataValidationError
from churnlib.features import ChurnPreprocessor, SchemaValidator

NAMES = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", " ", "a b", "x0", "customer_id", "é", "=", "<missing>"]),
)

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.5, 1.0, 0.0]),
)
TEXT = st.one_of(
    st.sampled_from(["", " ", "Yes", "No", "12.5", " 3 ", "Unknown", "abc", "1e3"]),
    st.text(max_size=5),
)


@st.composite
def columns(draw, n):
    kind = draw(
        st.sampled_from(
            ["float", "int", "bool", "text", "category", "mixed", "none", "numtext"]
        )
    )
    if kind == "float":
        return pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=float)
    if kind == "int":
        values = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
        return pd.Series(values, dtype="int64")
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if kind == "text":
        return pd.Series(draw(st.lists(TEXT, min_size=n, max_size=n)), dtype=object)
    if kind == "category":
        values = draw(
            st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n)
        )
        return pd.Series(pd.Categorical(values))
    if kind == "numtext":
        values = draw(
            st.lists(
                st.sampled_from(["1", " 2.5", "", None, "-3"]), min_size=n, max_size=n
            )
        )
        return pd.Series(values, dtype=object)
    if kind == "none":
        return pd.Series([None] * n, dtype=object)
    values = draw(
        st.lists(
            st.one_of(st.none(), st.integers(-5, 5), FLOATS, TEXT, st.booleans()),
            min_size=n,
            max_size=n,
        )
    )
    return pd.Series(values, dtype=object)


@st.composite
def frames(draw, min_rows=0):
    n = draw(st.integers(min_rows, 12))
    k = draw(st.integers(0, 5))
    names = draw(
        st.one_of(
            st.lists(NAMES, min_size=k, max_size=k),
            st.lists(st.integers(0, 3), min_size=k, max_size=k),
        )
    )
    data = {i: draw(columns(n)) for i in range(k)}
    df = pd.DataFrame(data, index=range(n)) if k else pd.DataFrame(index=range(n))
    df.columns = pd.Index(names, dtype=object) if k else df.columns
    return df


@given(train=frames(), test=frames())
def test_validator_only_raises_data_validation_error(train, test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            v = SchemaValidator(extra="warn", unseen="warn").fit(train)
        except DataValidationError:
            return
        out = v.transform(train) if len(train) else None
        if out is not None:
            assert out.shape == (len(train), len(v.columns_))
            assert list(out.columns) == [str(c) for c in v.columns_]
            assert len(v.get_feature_names_out()) == out.shape[1]
        for X in (test, train.iloc[::-1]):
            try:
                v.transform(X)
                v.report(X)
            except DataValidationError:
                pass


@st.composite
def churn_frames(draw):
    n = draw(st.integers(2, 40))
    numbers = st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))
    cats = st.sampled_from(["a", "b", "c", None])
    df = pd.DataFrame(
        {
            "num": draw(st.lists(numbers, min_size=n, max_size=n)),
            "count": draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)),
            "plan": draw(st.lists(cats, min_size=n, max_size=n)),
            "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        }
    )
    return df


@given(
    train=churn_frames(),
    new_plan=st.lists(st.sampled_from(["a", "zzz", None, "b"]), min_size=1, max_size=5),
    min_frequency=st.one_of(st.none(), st.integers(1, 5), st.floats(0.05, 0.5)),
)
def test_preprocessor_shapes_and_finite_values(train, new_plan, min_frequency):
    pre = ChurnPreprocessor(min_frequency=min_frequency, add_indicator=True)
    Xt = pre.fit_transform(train)
    names = pre.get_feature_names_out()
    assert Xt.shape == (len(train), len(names))
    assert len(set(names)) == len(names)
    assert np.isfinite(Xt).all()
    k = len(new_plan)
    new = pd.DataFrame(
        {
            "num": [np.nan] * k,
            "count": [7] * k,
            "plan": pd.Series(new_plan, dtype=object),
            "flag": [True] * k,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pre.transform(new)
    assert out.shape == (k, len(names))
    assert np.isfinite(out).all()
