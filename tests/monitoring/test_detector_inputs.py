"""DriftDetector on the inputs real tables bring: odd names, dtypes and values."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churnlib.exceptions import DataValidationError
from churnlib.monitoring import DriftDetector


def _assert_same_check(left, right):
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True)
    )


# ----------------------------------------------------------------- names
def test_int_column_names_from_a_headerless_csv():
    rng = np.random.default_rng(0)
    text = "\n".join(
        f"{x:.3f},{c}"
        for x, c in zip(rng.normal(size=300), rng.choice(list("ab"), 300), strict=True)
    )
    frame = pd.read_csv(io.StringIO(text), header=None)
    assert list(frame.columns) == [0, 1]
    det = DriftDetector().fit(frame)
    assert det.numeric_features_ == ("0",)
    assert det.categorical_features_ == ("1",)
    named = frame.set_axis(["0", "1"], axis=1)
    _assert_same_check(det.check(frame), DriftDetector().fit(named).check(named))
    # categorical_features may name the column as it is named in the frame
    forced = DriftDetector(categorical_features=[0]).fit(frame)
    assert forced.categorical_features_ == ("0", "1")


def test_mixed_and_tuple_column_names():
    frame = pd.DataFrame({0: [1.0, 2.0, 3.0], "plan": ["a", "b", "a"]})
    det = DriftDetector().fit(frame)
    assert det.feature_names_in_.tolist() == ["0", "plan"]
    assert set(det.check(frame)["feature"]) == {"0", "plan"}
    multi = frame.set_axis(pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]), axis=1)
    det = DriftDetector().fit(multi)
    assert det.numeric_features_ == ("('a', 'x')",)
    # names that collide once read as text are refused, naming them
    with pytest.raises(DataValidationError, match="Duplicate column names") as info:
        DriftDetector().fit(pd.DataFrame([[1, 2]], columns=[1, "1"]))
    assert info.value.columns == ("1",)


def test_repeated_extra_columns_are_ignored_by_check_but_not_repeated_features():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=500)})
    det = DriftDetector().fit(ref)
    extra = pd.concat(
        [ref, pd.DataFrame(np.ones((500, 2)), columns=["note", "note"])], axis=1
    )
    _assert_same_check(det.check(extra), det.check(ref))
    with pytest.raises(DataValidationError, match=r"Duplicate column names \['x'\]"):
        det.check(pd.concat([ref, ref], axis=1))


# ----------------------------------------------------------------- categories
def test_categorical_reference_counts_like_the_same_values_as_text():
    ref_text = pd.Series(["c"] * 40 + ["b"] * 40 + ["a"] * 40 + ["d"] * 5, dtype=object)
    cur = pd.DataFrame({"p": ["a"] * 60 + ["c"] * 10 + ["x"] * 20 + ["y"] * 20})
    # unused levels x, y and a level order unlike the order of appearance
    ref_cat = ref_text.astype(pd.CategoricalDtype(["a", "b", "c", "d", "x", "y"]))
    for max_categories in (2, 50):
        text = DriftDetector(max_categories=max_categories).fit(
            pd.DataFrame({"p": ref_text})
        )
        cat = DriftDetector(max_categories=max_categories).fit(
            pd.DataFrame({"p": ref_cat})
        )
        assert list(cat.categories_["p"]) == list(text.categories_["p"])
        assert list(text.categories_["p"])[:2] == ["c", "b"]  # ties: first seen
        _assert_same_check(cat.check(cur), text.check(cur))


def test_categorical_column_without_levels_is_all_missing():
    det = DriftDetector().fit(
        pd.DataFrame({"plan": pd.Categorical(["a", "b", None] * 10)})
    )
    empty = pd.DataFrame({"plan": pd.Categorical([None] * 5)})
    assert len(empty["plan"].cat.categories) == 0
    result = det.check(empty)
    assert result["statistic"].isna().all()
    assert not result["drifted"].any()
    assert det.summarize(empty).categorical_missing.tolist() == [5]


def test_values_the_reference_never_held_are_flagged():
    n = 4000
    ref = pd.DataFrame({"email": [f"u{i}@old.example" for i in range(n)]})
    det = DriftDetector().fit(ref)
    new = pd.DataFrame({"email": [f"v{i}@new.example" for i in range(n)]})
    half = pd.DataFrame(
        {
            "email": ref["email"].iloc[: n // 2].tolist()
            + new["email"].iloc[: n // 2].tolist()
        }
    )
    assert det.check(new)["drifted"].all()
    assert det.check(half)["drifted"].all()
    assert not det.check(ref.sample(frac=1, random_state=0))["drifted"].any()
    # a handful of new values in a large sample is not drift
    rng = np.random.default_rng(0)
    plans = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 20_000)})
    det = DriftDetector().fit(plans)
    few_new = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 20_000)})
    few_new.loc[:9, "plan"] = "brand new"
    assert det.summarize(few_new).categorical_unseen.tolist() == [10]
    assert not det.check(few_new)["drifted"].any()


def test_missing_values_in_an_object_array_stay_missing():
    values = np.array(
        [["a", 1.0], [None, 2.0], ["b", 3.0], [np.nan, 4.0]] * 50, dtype=object
    )
    det = DriftDetector().fit(values)
    assert sorted(det.categories_["x0"]) == ["a", "b"]
    assert det.reference_stats_.categorical_missing.tolist() == [100]


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}])
def test_arrow_nested_columns_name_the_column(value):
    dtype = pd.ArrowDtype(
        pa.list_(pa.int64())
        if isinstance(value, list)
        else pa.struct([("a", pa.int64())])
    )
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], "tags": pd.Series([value] * 3, dtype=dtype)}
    )
    with pytest.raises(DataValidationError, match="'tags'") as info:
        DriftDetector().fit(frame)
    assert info.value.columns == ("tags",)


# ----------------------------------------------------------------- numbers
def _times(rng, n, start="2020-01-01", days=365, tz=None):
    base = pd.Timestamp(start, tz=tz)
    return base + pd.to_timedelta(rng.integers(0, days * 86_400, n), unit="s")


def test_dates_times_and_durations_are_numbers_of_seconds():
    rng = np.random.default_rng(0)
    n = 5000

    def frame():
        return pd.DataFrame(
            {
                "signup": _times(rng, n),
                "signup_tz": _times(rng, n, tz="Europe/Paris"),
                "tenure": pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            }
        )

    ref, same = frame(), frame()
    det = DriftDetector().fit(ref)
    assert det.numeric_features_ == ("signup", "signup_tz", "tenure")
    assert not det.check(same)["drifted"].any()
    moved = same.assign(
        signup=same["signup"] + pd.Timedelta(days=2000), tenure=same["tenure"] * 10
    )
    flagged = det.check(moved).groupby("feature")["drifted"].all()
    assert flagged.to_dict() == {"signup": True, "signup_tz": False, "tenure": True}
    # the same instants in another time zone, or at another resolution, are equal
    other = same.assign(
        signup_tz=same["signup_tz"].dt.tz_convert("America/New_York"),
        signup=same["signup"].astype("datetime64[s]"),
    )
    _assert_same_check(det.check(other), det.check(same))
    # the reference's bins are seconds since 1970
    edges = det.bin_edges_["signup"]
    assert (
        pd.Timestamp("2020-01-01").timestamp()
        < edges[0]
        < edges[-1]
        < pd.Timestamp("2021-01-01").timestamp()
    )


def test_missing_times_are_missing_values():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"signup": _times(rng, 1000)})
    ref.loc[::4, "signup"] = pd.NaT
    det = DriftDetector().fit(ref)
    assert det.reference_stats_.numeric_missing.tolist() == [250]
    assert np.isfinite(det.bin_edges_["signup"]).all()


@pytest.mark.parametrize(
    ("reference", "current", "words"),
    [
        (
            np.arange(100.0),
            pd.date_range("2020-01-01", periods=100),
            "held numbers .* holds dates and times",
        ),
        (
            pd.date_range("2020-01-01", periods=100),
            np.arange(100.0),
            "held dates and times .* holds numbers",
        ),
        (
            pd.to_timedelta(np.arange(100), unit="D"),
            pd.date_range("2020-01-01", periods=100),
            "held durations",
        ),
        (
            np.arange(100.0),
            np.arange(100) % 2 == 0,
            "held numbers .* holds booleans now",
        ),
        (
            np.arange(100),
            pd.array([True, False] * 50, dtype="boolean"),
            "holds booleans",
        ),
        (np.arange(100.0), np.arange(100) * (1 + 1j), "holds complex numbers now"),
    ],
)
def test_a_column_that_changed_kind_is_refused(reference, current, words):
    det = DriftDetector().fit(pd.DataFrame({"c": reference}))
    with pytest.raises(DataValidationError, match=words) as info:
        det.check(pd.DataFrame({"c": current}))
    assert info.value.columns == ("c",)


def test_complex_numbers_are_refused_at_fit():
    with pytest.raises(DataValidationError, match=r"complex numbers.*np\.abs") as info:
        DriftDetector().fit(
            pd.DataFrame({"z": np.arange(10) * (1 + 1j), "x": np.arange(10.0)})
        )
    assert info.value.columns == ("z",)


def test_infinite_reference_values_fall_in_the_outer_bins():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=10_000)
    x[:50], x[50:60] = np.inf, -np.inf
    det = DriftDetector().fit(pd.DataFrame({"ratio": x}))  # no RuntimeWarning
    edges = det.bin_edges_["ratio"]
    assert np.isfinite(edges).all()
    counts = det.reference_stats_.numeric_counts[0]
    assert counts.sum() == 10_000
    assert counts[0] >= 10
    assert counts[len(edges)] >= 50
    assert not det.check(pd.DataFrame({"ratio": x[::-1]}))["drifted"].any()
    more_inf = x.copy()
    more_inf[:3000] = np.inf
    assert det.check(pd.DataFrame({"ratio": more_inf}))["drifted"].all()
