"""Counting categorical values: every route equals pandas' own counting."""

import decimal
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnlib.monitoring import DriftDetector
from churnlib.monitoring._categories import (
    _shares_objects,
    category_counts,
    counted_without_gil,
    object_counts,
    value_counts,
)

# values pandas' object hash table treats in its own ways: 1 == 1.0 == True,
# several kinds of missing, NaN objects that are not the same object
POOL = [
    "plan a",
    "plan b",
    "",
    "été",
    1,
    1.0,
    True,
    False,
    0,
    2.5,
    None,
    np.nan,
    float("nan"),
    pd.NA,
    pd.NaT,
    decimal.Decimal("2.5"),
    ("t", 1),
]


def _column(picks: list[int], rows: int, *, shared: bool) -> np.ndarray:
    """An object column of ``rows`` values drawn from POOL by ``picks``.

    ``shared``: rows share one object per value, as pandas' readers give
    them; otherwise every row holds its own copy of equal strings.
    """
    idx = np.resize(np.asarray(picks, dtype=np.intp), rows)
    values = _objects(POOL)[idx]
    if not shared:  # a fresh object per row for every string
        values = _objects([_fresh(v) for v in values.tolist()])
    return values


def _objects(items: list) -> np.ndarray:
    """A 1-D object array of ``items`` (tuples stay elements)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _fresh(value):
    """A new object equal to ``value`` (strings of 2+ characters; CPython
    shares the empty and 1-character ones)."""
    return (value + ".")[:-1] if isinstance(value, str) else value


def _expected_counts(values: np.ndarray) -> tuple[list, list, int]:
    found = pd.Series(values, dtype=object).value_counts(dropna=True, sort=False)
    return list(found.index), list(found.to_numpy()), int(pd.isna(values).sum())


def _same_values(left: list, right: list) -> bool:
    return len(left) == len(right) and all(
        (a is b) or (type(a) is type(b) and a == b)
        for a, b in zip(left, right, strict=True)
    )


@settings(max_examples=30, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=40),
    rows=st.sampled_from([1, 100, 9_000, 20_000]),
    shared=st.booleans(),
)
def test_object_counts_equal_pandas_value_counts(picks, rows, shared):
    values = _column(picks, rows, shared=shared)
    uniques, counts, n_missing = object_counts(values)
    exp_index, exp_counts, exp_missing = _expected_counts(values)
    assert _same_values(list(uniques), exp_index)
    assert counts.dtype == np.int64
    assert list(counts) == exp_counts
    assert n_missing == exp_missing
    assert counts.sum() + n_missing == rows


@settings(max_examples=30, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=40),
    reference=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=6),
    rows=st.sampled_from([50, 10_000]),
    shared=st.booleans(),
)
def test_category_counts_equal_get_indexer(picks, reference, rows, shared):
    values = _column(picks, rows, shared=shared)
    cats = pd.Index(
        pd.Series(_column(reference, len(reference), shared=True), dtype=object)
        .dropna()
        .unique(),
        dtype=object,
    )
    full, n_missing = category_counts(pd.Series(values, dtype=object), cats)
    codes = cats.get_indexer(values)
    expected = np.bincount(
        np.where(codes < 0, len(cats), codes), minlength=len(cats) + 1
    )
    assert list(full) == list(expected)
    assert n_missing == int(pd.isna(values).sum())


def test_value_counts_of_objects_first_seen_order_and_missing():
    rng = np.random.default_rng(0)
    pool = np.array(["z", "y", None, "x", np.nan], dtype=object)
    col = pd.Series(pool[rng.choice(5, 50_000)], dtype=object)
    counts, n_missing = value_counts(col)
    expected = col.value_counts(dropna=True, sort=False)
    assert list(counts.index) == list(expected.index)
    assert counts.index.dtype == object
    assert list(counts) == list(expected)
    assert n_missing == int(col.isna().sum())


def test_readers_give_shared_objects_and_numpy_casts_do_not(tmp_path):
    rng = np.random.default_rng(0)
    words = np.array(["month-to-month", "one year", "two year"])
    frame = pd.DataFrame({"plan": words[rng.choice(3, 20_000)]})
    cast = frame["plan"].to_numpy(dtype=object)
    path = tmp_path / "plans.csv"
    frame.to_csv(path, index=False)
    read = pd.read_csv(path, dtype={"plan": object})["plan"].to_numpy()
    assert read.dtype == object
    assert _shares_objects(np.ascontiguousarray(read))
    fresh = _objects([_fresh(v) for v in cast.tolist()])
    assert not _shares_objects(fresh)
    assert not counted_without_gil(pd.Series(fresh, dtype=object))
    assert counted_without_gil(pd.Series(read, dtype=object))
    assert counted_without_gil(frame["plan"].astype("category"))
    # small columns are hashed directly: nothing to gain
    assert not _shares_objects(np.ascontiguousarray(read[:100]))


def test_drift_check_same_for_shared_distinct_and_categorical_columns():
    rng = np.random.default_rng(3)
    words = np.array(["plan a", "plan b", "plan c", "plan d"])

    def frames(p):
        plan = words[rng.choice(4, 150_000, p=p)]
        x = rng.normal(size=150_000)
        buf = io.StringIO()
        pd.DataFrame({"plan": plan, "x": x}).to_csv(buf, index=False)
        buf.seek(0)
        shared = pd.read_csv(buf, dtype={"plan": object})
        # one object per row, as a NumPy string array cast to object gives
        distinct = shared.assign(plan=plan.astype(object))
        categorical = shared.astype({"plan": "category"})
        return shared, distinct, categorical

    refs = frames([0.4, 0.3, 0.2, 0.1])
    curs = frames([0.1, 0.2, 0.3, 0.4])
    assert refs[0]["plan"].dtype == object
    results = []
    for ref, cur in zip(refs, curs, strict=True):
        for n_jobs in (1, -1):
            det = DriftDetector(n_jobs=n_jobs).fit(ref)
            assert list(det.categories_["plan"]) == list(words)
            results.append(det.check(cur))
    for other in results[1:]:
        pd.testing.assert_frame_equal(other, results[0])
    assert results[0].set_index("feature").loc["plan", "drifted"].all()


@pytest.mark.parametrize("rows", [0, 1, 8_191, 8_192])
def test_object_counts_sizes_around_the_shared_threshold(rows):
    values = np.array(["ab", "cd", None] * (rows // 3 + 1), dtype=object)[:rows]
    uniques, counts, n_missing = object_counts(values)
    exp_index, exp_counts, exp_missing = _expected_counts(values)
    assert list(uniques) == exp_index
    assert list(counts) == exp_counts
    assert n_missing == exp_missing


def test_object_counts_of_a_strided_view():
    base = np.array([["ab", "cd"], ["ef", "ab"]] * 10_000, dtype=object)
    column = base[:, 1]  # not contiguous
    uniques, counts, n_missing = object_counts(column)
    assert list(uniques) == ["cd", "ab"]
    assert list(counts) == [10_000, 10_000]
    assert n_missing == 0


@pytest.mark.parametrize("rows", [500, 120_000])  # in the calling thread, on threads
@pytest.mark.parametrize("value", [[1, 2], {"a": 1}])
def test_unhashable_values_name_the_column(rows, value):
    from churnlib.exceptions import DataValidationError

    rng = np.random.default_rng(0)
    bad = _objects([value] * rows)
    frame = pd.DataFrame({"x": rng.normal(size=rows), "tags": bad})
    with pytest.raises(DataValidationError, match=r"'tags'.*astype\(str\)") as info:
        DriftDetector().fit(frame)
    assert info.value.columns == ("tags",)
    detector = DriftDetector().fit(frame.assign(tags="plan a"))
    with pytest.raises(DataValidationError, match="'tags'"):
        detector.check(frame)
