"""The contract's array path for small request tables gives what the general one gives.

``ModelContract.prepare`` reads the common column dtypes (NumPy numbers and
booleans, text holding training levels, prepared categorical codes) from the
column arrays; everything else, and every refused value, goes the general way.
These tests compare it with the general reading of every column
(``_prepare_column``, what ``prepare`` did for all columns before): the same
values, dtypes (the one cached categorical dtype object included), index and
error messages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnlib._core import contract as C
from churnlib._core.contract import FeatureSpec, ModelContract
from churnlib.exceptions import DataValidationError

LEVELS = ("DSL", "Fiber optic", "No", " padded", "n/a", "2")
SPECS = (
    FeatureSpec(name="n_int", role="numeric", dtype="int64"),
    FeatureSpec(name="n_float", role="numeric", dtype="float64"),
    FeatureSpec(name="flag", role="binary", dtype="bool"),
    FeatureSpec(name="cat", role="categorical", dtype="category", categories=LEVELS),
    FeatureSpec(name="obj", role="categorical", dtype="object", categories=LEVELS),
)
CONTRACT = ModelContract(features=SPECS, id_columns=("customer_id",), na_values=("?",))


def general(contract: ModelContract, raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """``prepare`` reading every column the general way (the reference)."""
    na = frozenset(contract.na_values)
    raw = raw.set_axis([str(c) for c in raw.columns], axis=1)
    out = {
        spec.name: C._prepare_column(raw[spec.name], spec, na, source).array
        for spec in contract.features
    }
    index = raw.index
    if contract.id_column in raw.columns:
        index = pd.Index(raw[contract.id_column].to_numpy(), name=contract.id_column)
    return pd.DataFrame(out, index=index)


def outcome(fn, *args):
    try:
        return fn(*args), None
    except Exception as err:  # the same refusal (or warning), word for word
        return None, (type(err), str(err), tuple(getattr(err, "columns", ())))


def assert_same(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)
    for name in ref.columns:
        assert fast[name].dtype == ref[name].dtype, name
        if isinstance(ref[name].dtype, pd.CategoricalDtype):
            # the one cached dtype object (the writer stacks codes by identity)
            assert fast[name].dtype is ref[name].dtype, name
        assert type(fast[name].array) is type(ref[name].array), name


TEXT = st.sampled_from([*LEVELS, "DSL ", "dsl", "Cable", "NA", "?", "", "2.0", "408"])
MISSING = st.sampled_from([None, np.nan, pd.NA])


def text_column(n: int):
    return st.lists(st.one_of(TEXT, MISSING), min_size=n, max_size=n)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 6))
    numbers = draw(
        st.sampled_from(["int64", "float64", "bool", "text", "float_inf", "Int64"])
    )
    if numbers == "int64":
        col = np.array(draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)))
    elif numbers == "bool":
        col = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    elif numbers == "text":
        col = draw(
            st.lists(
                st.sampled_from(["3", " 4 ", "x", None, "1e3"]), min_size=n, max_size=n
            )
        )
        col = pd.array(col, dtype=object)
    elif numbers == "Int64":
        col = pd.array(
            draw(
                st.lists(
                    st.one_of(st.none(), st.integers(0, 3)), min_size=n, max_size=n
                )
            ),
            dtype="Int64",
        )
    else:
        floats = st.floats(allow_nan=True, allow_infinity=numbers == "float_inf")
        col = np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64)
    flags = draw(st.sampled_from(["bool", "words", "float"]))
    if flags == "bool":
        flag = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    elif flags == "words":
        flag = pd.array(
            draw(
                st.lists(
                    st.sampled_from(["yes", "No", None, "maybe"]),
                    min_size=n,
                    max_size=n,
                )
            ),
            dtype=object,
        )
    else:
        flag = np.array(
            draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n, max_size=n))
        )
    frame = {
        "customer_id": [f"C{i}" for i in range(n)],
        "n_int": col,
        "n_float": np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))),
        "flag": flag,
    }
    for name in ("cat", "obj"):
        kind = draw(st.sampled_from(["str", "object", "categorical", "numbers"]))
        values = draw(text_column(n))
        if kind == "str":
            frame[name] = pd.array(
                [
                    None if v is not None and not isinstance(v, str) else v
                    for v in values
                ],
                dtype="str",
            )
        elif kind == "object":
            frame[name] = np.array(values, dtype=object)
        elif kind == "numbers":
            frame[name] = np.array(
                draw(st.lists(st.sampled_from([2, 408, 3]), min_size=n, max_size=n))
            )
        else:
            frame[name] = pd.Categorical(
                [v if isinstance(v, str) else None for v in values]
            )
    return pd.DataFrame(frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_prepare_matches_the_general_reading(raw):
    fast, fast_error = outcome(CONTRACT.prepare, raw)
    ref, ref_error = outcome(general, CONTRACT, raw, "the table")
    assert fast_error == ref_error
    if ref is not None:
        assert_same(fast, ref)
        # reading a prepared frame again changes nothing (the monitor does)
        again = CONTRACT.prepare(fast)
        assert_same(again, general(CONTRACT, fast, "the table"))


def test_array_path_takes_the_common_dtypes():
    """The request dtypes of JSON records are read off the arrays (not None)."""
    na = frozenset()
    raw = pd.DataFrame(
        {
            "n_int": [1, 2],
            "n_float": [0.5, np.nan],
            "flag": [True, False],
            "cat": pd.array(["DSL", None], dtype="str"),
            "obj": np.array(["No", np.nan], dtype=object),
        }
    )
    get = C._array_getter(raw)
    got = {s.name: C._prepare_array(get(s.name), s, na) for s in SPECS}
    assert got["n_int"].dtype == np.int64
    assert got["n_int"].tolist() == [1, 2]
    assert np.array_equal(got["n_float"], [0.5, np.nan], equal_nan=True)
    assert got["flag"].tolist() == [True, False]
    assert got["cat"].codes.tolist() == [0, -1]
    assert got["cat"].dtype is C._category_dtype(LEVELS)
    assert got["obj"].tolist() == ["No", None]
    # levels the cleaning would change: a prepared column goes the general way
    assert C._prepare_array(got["cat"], SPECS[3], na) is None
    # with clean levels, a prepared column is read off its codes
    clean = FeatureSpec(
        name="cat", role="categorical", dtype="category", categories=("b", "a")
    )
    first = C._prepare_array(np.array(["a", None, "b"], dtype=object), clean, na)
    assert first.codes.tolist() == [1, -1, 0]
    again = C._prepare_array(first, clean, na)
    assert again.codes.tolist() == [1, -1, 0]
    assert again.dtype is first.dtype is C._category_dtype(("b", "a"))
    other = pd.Categorical(["a"], categories=["b", "a"])  # equal, not the cached one
    assert C._prepare_array(other, clean, na) is None


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("cat", [" padded"]),  # a level the cleaning changes: never read as itself
        ("cat", ["n/a"]),  # a placeholder: missing, as in training
        ("cat", ["DSL "]),  # blanks to strip
        ("cat", ["Cable"]),  # unseen: an extra level after the known ones
        ("cat", ["?"]),  # the contract's own missing-value token
        ("obj", [2]),  # a number code
        ("n_int", [np.inf]),
        ("n_float", ["3"]),
        ("flag", ["yes"]),
    ],
)
def test_values_the_array_path_leaves_to_the_general_reading(column, values):
    spec = next(s for s in SPECS if s.name == column)
    arr = np.array(values, dtype=object if isinstance(values[0], str) else None)
    assert C._prepare_array(arr, spec, frozenset(CONTRACT.na_values)) is None
    raw = pd.DataFrame(
        {
            "n_int": [1],
            "n_float": [1.0],
            "flag": [True],
            "cat": ["DSL"],
            "obj": ["DSL"],
            column: arr,
        }
    )
    fast, fast_error = outcome(CONTRACT.prepare, raw)
    ref, ref_error = outcome(general, CONTRACT, raw, "the table")
    assert fast_error == ref_error
    if ref is not None:
        assert_same(fast, ref)


def test_refusals_keep_their_messages():
    raw = pd.DataFrame(
        {
            "n_int": [1, np.inf],
            "n_float": [1.0, 2.0],
            "flag": [True, False],
            "cat": ["DSL", "No"],
            "obj": ["No", "No"],
        }
    )
    with pytest.raises(DataValidationError) as info:
        CONTRACT.prepare(raw, source="the request")
    assert str(info.value) == (
        "Column 'n_int' of the request holds 'inf', which cannot be read as finite "
        "numbers (the model was trained on it as a numeric feature). Fix or blank "
        "those cells."
    )
    assert list(info.value.columns) == ["n_int"]
