import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.monitoring import (
    DEFAULT_THRESHOLDS,
    DriftDetector,
    DriftSummary,
    ks_statistic,
    population_stability_index,
)
from churnlib.monitoring._detector import _Binner


def _frame(n, rng, shift=0.0, p=(0.5, 0.3, 0.2)):
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift * 10, 10, n),
            "calls": rng.poisson(2, n),
            "charges": rng.lognormal(4, 0.5, n),
            "plan": pd.Series(rng.choice(["a", "b", "c"], n, p=p), dtype="str"),
            "paperless": rng.random(n) < 0.6,
            "contract": pd.Categorical(rng.choice(["m", "y"], n)),
        }
    )


@pytest.fixture(scope="module")
def reference():
    return _frame(20_000, np.random.default_rng(0))


@pytest.fixture(scope="module")
def detector(reference):
    return DriftDetector().fit(reference)


def test_fitted_attributes(detector, reference):
    assert detector.numeric_features_ == ("age", "calls", "charges")
    assert detector.categorical_features_ == ("plan", "paperless", "contract")
    assert list(detector.categories_["plan"]) == ["a", "b", "c"]
    assert detector.n_features_in_ == 6
    assert detector.reference_stats_.n_rows == len(reference)
    # coarse quantile edges are a subset of the fine ones
    assert len(detector.bin_edges_["age"]) == 99


def test_no_drift_no_flags_and_shift_flagged(detector):
    rng = np.random.default_rng(1)
    same = detector.check(_frame(2000, rng))
    assert list(same.columns) == [
        "feature",
        "method",
        "statistic",
        "threshold",
        "drifted",
    ]
    assert not same["drifted"].any()
    shifted = detector.check(_frame(2000, rng, shift=0.5, p=(0.2, 0.3, 0.5)))
    flagged = set(shifted.loc[shifted["drifted"], "feature"])
    assert flagged == {"age", "plan"}


def test_statistics_agree_with_public_functions(detector, reference):
    rng = np.random.default_rng(2)
    cur = _frame(3000, rng, shift=0.2)
    out = detector.check(cur).set_index(["feature", "method"])["statistic"]
    # exact KS is >= the KS on 99 quantile bins, and close to it
    exact = ks_statistic(reference["age"], cur["age"])
    assert out["age", "ks"] <= exact + 1e-12
    assert out["age", "ks"] == pytest.approx(exact, abs=0.02)
    # PSI on categories equals the public function on the same data
    assert out["plan", "psi"] == pytest.approx(
        population_stability_index(reference["plan"], cur["plan"])
    )
    assert out["age", "psi"] == pytest.approx(
        population_stability_index(reference["age"], cur["age"]), rel=1e-9
    )


@settings(max_examples=20)
@given(st.integers(0, 500), st.integers(0, 499))
def test_summaries_merge_exactly(cut, seed):
    rng = np.random.default_rng(seed)
    data = _frame(500, rng)
    det = DriftDetector(random_state=0).fit(data)
    left, right = data.iloc[:cut], data.iloc[cut:]
    merged = det.summarize(left) + det.summarize(right)
    assert merged == det.summarize(data)
    assert sum([det.summarize(left), det.summarize(right)]) == merged
    assert DriftSummary.merge([det.summarize(left), det.summarize(right)]) == merged
    pd.testing.assert_frame_equal(det.check(merged), det.check(data))


def test_summary_roundtrips_dict_and_pickle(detector, reference):
    s = detector.summarize(reference.iloc[:100])
    assert DriftSummary.from_dict(s.to_dict()) == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert "n_rows=100" in repr(s)


def test_summaries_of_other_detectors_do_not_merge(detector, reference):
    other = DriftDetector().fit(reference)
    with pytest.raises(DataValidationError, match="different fitted"):
        detector.summarize(reference) + other.summarize(reference)
    with pytest.raises(DataValidationError, match="another fitted detector"):
        detector.check(other.summarize(reference))
    with pytest.raises(DataValidationError, match="at least one"):
        DriftSummary.merge([])


# a reference column for a binner: finite values, quantile edges from them
reference_samples = arrays(
    np.float64, st.integers(1, 300), elements=st.floats(-1e3, 1e3, allow_nan=False)
)


@given(
    reference_samples,
    arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(-2e3, 2e3, allow_nan=False)
        | st.sampled_from([np.inf, -np.inf]),
    ),
)
def test_lookup_binner_equals_searchsorted(ref, cur):
    edges = np.unique(np.quantile(ref, np.arange(1, 100) / 100))
    binner = _Binner(edges)
    for values in (cur, edges):  # edges themselves: exactly on a bin boundary
        expected = np.bincount(
            np.searchsorted(edges, values, "right"), minlength=binner.n_bins
        )
        counts, _, _, _ = binner.counts(values, -np.inf, np.inf)
        np.testing.assert_array_equal(counts, expected)


def test_missing_unseen_and_out_of_range_counted(detector):
    cur = pd.DataFrame(
        {
            "age": [np.nan, 500.0, -500.0, 40.0],
            "calls": [1, 2, 3, 4],
            "charges": [50.0, 60.0, np.nan, 70.0],
            "plan": ["a", "zzz", None, "b"],
            "paperless": [True, False, True, True],
            "contract": pd.Categorical(["m", "y", "new", None]),
        }
    )
    s = detector.summarize(cur)
    assert s.numeric_missing.tolist() == [1, 0, 1]
    assert s.numeric_below[0] == 1
    assert s.numeric_above[0] == 1
    assert s.categorical_missing.tolist() == [1, 0, 1]
    assert s.categorical_unseen.tolist() == [1, 0, 1]


def test_empty_and_all_missing_current(detector, reference):
    out = detector.check(reference.iloc[:0])
    assert out["statistic"].isna().all()
    assert not out["drifted"].any()


def test_threshold_scales_with_sample_size(detector):
    rng = np.random.default_rng(3)
    small = detector.check(_frame(50, rng)).set_index(["feature", "method"])
    large = detector.check(_frame(5000, rng)).set_index(["feature", "method"])
    assert small.loc[("age", "ks"), "threshold"] > 0.1
    assert large.loc[("age", "ks"), "threshold"] == DEFAULT_THRESHOLDS["ks"]
    assert not small["drifted"].any()


def test_methods_and_threshold_overrides(reference):
    rng = np.random.default_rng(4)
    cur = _frame(2000, rng, shift=0.2)
    det = DriftDetector(method=["jensen_shannon", "ks", "chi2"]).fit(reference)
    out = det.check(cur)
    assert set(out.loc[out.feature == "plan", "method"]) == {"jensen_shannon", "chi2"}
    assert set(out.loc[out.feature == "age", "method"]) == {
        "jensen_shannon",
        "ks",
        "chi2",
    }
    strict = DriftDetector(threshold={"psi": 5.0}).fit(reference).check(cur)
    assert (strict.loc[strict.method == "psi", "threshold"] == 5.0).all()
    loose = DriftDetector(threshold=1e-9, alpha=0.5).fit(reference).check(cur)
    assert loose.loc[loose.feature == "age", "drifted"].all()


def test_categorical_features_parameter(reference):
    det = DriftDetector(categorical_features=["calls"]).fit(reference)
    assert "calls" in det.categorical_features_
    with pytest.raises(DataValidationError, match="nope"):
        DriftDetector(categorical_features=["nope"]).fit(reference)


def test_max_categories_lumps_rare_into_other():
    ref = pd.DataFrame({"c": list("aaaabbbcd")})
    det = DriftDetector(max_categories=2).fit(ref)
    assert list(det.categories_["c"]) == ["a", "b"]
    s = det.summarize(pd.DataFrame({"c": list("acdx")}))
    assert s.categorical_counts[0, :3].tolist() == [1, 0, 3]
    assert s.categorical_unseen[0] == 1


def test_numpy_input(reference):
    arr = reference[["age", "charges"]].to_numpy()
    det = DriftDetector().fit(arr)
    assert det.numeric_features_ == ("x0", "x1")
    assert len(det.check(arr[:100])) == 4


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "wasserstein"}, "'method' parameter"),
        ({"method": ["psi", "nope"]}, "'method' parameter"),
        ({"method": []}, "'method' parameter"),
        ({"threshold": {"nope": 1.0}}, "unknown methods"),
        ({"alpha": 0.0}, "'alpha' parameter"),
        ({"n_bins": 1}, "'n_bins' parameter"),
    ],
)
def test_bad_parameters(reference, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        DriftDetector(**params).fit(reference)


def test_bad_data(detector, reference):
    with pytest.raises(DataValidationError, match=r"\['plan'\]"):
        detector.check(reference.drop(columns="plan"))
    bad = reference.iloc[:5].assign(age=["x"] * 5)
    with pytest.raises(DataValidationError, match="'age'") as info:
        detector.check(bad)
    assert info.value.columns == ("age",)
    with pytest.raises(DataValidationError, match="Duplicate"):
        DriftDetector().fit(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(ValueError, match="0 sample"):
        DriftDetector().fit(reference.iloc[:0])


def test_object_strings_match_arrow_strings(reference):
    rng = np.random.default_rng(6)
    cur = _frame(1000, rng, p=(0.3, 0.3, 0.4))
    as_object = reference.assign(plan=reference["plan"].astype(object))
    cur_object = cur.assign(plan=cur["plan"].astype(object))
    cur_object.loc[cur_object.index[:3], "plan"] = None
    cur.loc[cur.index[:3], "plan"] = None
    a = DriftDetector().fit(reference)
    b = DriftDetector().fit(as_object)
    assert list(a.categories_["plan"]) == list(b.categories_["plan"])
    sa, sb = a.summarize(cur), b.summarize(cur_object)
    np.testing.assert_array_equal(sa.categorical_counts, sb.categorical_counts)
    assert sa.categorical_missing[0] == sb.categorical_missing[0] == 3


# --------------------------------------------------------------------------- #
# the fast paths (integer buckets, per-column float views, one hash of the
# reference, threads) count exactly what a plain implementation counts
# --------------------------------------------------------------------------- #
def _plain_counts(det, frame):
    """What the summary must hold, column by column with searchsorted/isin."""
    rows = []
    for j, name in enumerate(det.numeric_features_):
        x = pd.to_numeric(frame[name]).to_numpy(dtype=float, na_value=np.nan)
        x = x[~np.isnan(x)]
        edges = det.bin_edges_[name]
        counts = np.bincount(
            np.searchsorted(edges, x, "right"), minlength=len(edges) + 1
        )
        below = int((x < det._ref_min[j]).sum())
        above = int((x > det._ref_max[j]).sum())
        rows.append((counts, below, above))
    cats = []
    for name in det.categorical_features_:
        kept = list(det.categories_[name])
        col = frame[name].astype(object)
        missing = int(col.isna().sum())
        counts = [int((col == c).sum()) for c in kept]
        other = len(col) - missing - sum(counts)
        cats.append(([*counts, other], missing))
    return rows, cats


def _assert_plain(det, frame):
    s = det.summarize(frame)
    rows, cats = _plain_counts(det, frame)
    for j, (counts, below, above) in enumerate(rows):
        np.testing.assert_array_equal(s.numeric_counts[j, : len(counts)], counts)
        assert s.numeric_counts[j, len(counts) :].sum() == 0
        assert (s.numeric_below[j], s.numeric_above[j]) == (below, above)
    for j, (counts, missing) in enumerate(cats):
        np.testing.assert_array_equal(s.categorical_counts[j, : len(counts)], counts)
        assert s.categorical_missing[j] == missing


int_dtypes = st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint32"])


@settings(max_examples=40, deadline=None)
@given(
    dtype=int_dtypes,
    ref=st.lists(st.integers(-200, 200), min_size=1, max_size=300),
    cur=st.lists(st.integers(-300, 300), min_size=0, max_size=300),
)
def test_integer_buckets_equal_searchsorted(dtype, ref, cur):
    info = np.iinfo(dtype)
    ref_v = np.clip(np.array(ref), info.min, info.max).astype(dtype)
    cur_v = np.clip(np.array(cur, dtype=np.int64), info.min, info.max).astype(dtype)
    det = DriftDetector(random_state=0).fit(pd.DataFrame({"v": ref_v}))
    _assert_plain(det, pd.DataFrame({"v": cur_v}))
    # the same values as floats (another dtype than the reference's) agree
    as_float = pd.DataFrame({"v": cur_v.astype(float)})
    assert det.summarize(as_float) == det.summarize(pd.DataFrame({"v": cur_v}))


def test_integer_extremes_do_not_wrap():
    det = DriftDetector().fit(pd.DataFrame({"v": np.arange(-5, 6, dtype=np.int64)}))
    assert det._int_binners[0] is not None
    info = np.iinfo(np.int64)
    cur = pd.DataFrame({"v": np.array([info.min, -6, -5, 0, 5, 6, info.max])})
    s = det.summarize(cur)
    assert (s.numeric_below[0], s.numeric_above[0]) == (2, 2)
    _assert_plain(det, cur)
    # a reference at the edge of its dtype, or a wide range: the float path
    edge = pd.DataFrame({"v": np.array([info.min, 0, info.max])})
    assert DriftDetector().fit(edge)._int_binners[0] is None
    wide = pd.DataFrame({"v": np.array([0, 10, 1 << 20])})
    det = DriftDetector().fit(wide)
    assert det._int_binners[0] is None
    _assert_plain(det, pd.DataFrame({"v": np.array([-1, 5, 1 << 21])}))


def test_reference_histogram_is_the_summary_of_the_reference():
    rng = np.random.default_rng(7)
    ref = _frame(3000, rng)
    ref["obj"] = pd.Series(rng.choice(["x", "y", None], 3000), dtype=object)
    ref["nullable"] = pd.array(rng.integers(0, 5, 3000), dtype="Int64")
    ref.loc[::7, "nullable"] = pd.NA
    ref.loc[::11, "age"] = np.nan
    det = DriftDetector(max_categories=2).fit(ref)
    assert det.reference_stats_ == det.summarize(ref)
    _assert_plain(det, ref)


@pytest.mark.parametrize("n", [1, 7, 3000, 120_000])  # 120k: learned on threads
def test_reference_histogram_of_every_kind_is_its_summary(n):
    # fit counts the reference while it learns the bins; check counts with
    # the bins afterwards: both must give the same histogram for every kind
    rng = np.random.default_rng(n)
    ref = pd.DataFrame(
        {
            "float": rng.normal(size=n),
            "inf": rng.lognormal(3, 0.6, n),
            "small_int": rng.poisson(3, n),
            "int8": rng.integers(-128, 127, n).astype(np.int8),
            "uint64": rng.integers(0, 2**63, n, dtype=np.uint64),
            "huge_int": rng.integers(-(2**62), 2**62, n),
            "stamp": pd.to_datetime(rng.integers(0, 2**32, n), unit="s"),
            "nullable": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        }
    )
    ref.loc[::7, "float"] = np.nan
    ref.loc[::13, "inf"] = np.inf
    ref.loc[1::17, "inf"] = -np.inf
    ref.loc[::5, "nullable"] = pd.NA
    ref.loc[::9, "stamp"] = pd.NaT
    for subsample in (None, 100):
        det = DriftDetector(subsample=subsample, random_state=0).fit(ref)
        assert det.reference_stats_ == det.summarize(ref)
        assert det.reference_stats_.numeric_below.sum() == 0
        assert det.reference_stats_.numeric_above.sum() == 0


def test_integers_past_2_53_are_not_out_of_their_own_range():
    # float(2**62 + 1) rounds down: integer buckets cut at the rounded
    # maximum counted the reference's own maximum as above its range
    ref = pd.DataFrame({"v": np.array([2**62 + 1, 2**62 + 1], dtype=np.int64)})
    det = DriftDetector().fit(ref)
    assert det._int_binners[0] is None
    s = det.summarize(ref)
    assert (s.numeric_below[0], s.numeric_above[0]) == (0, 0)
    assert s == det.reference_stats_


def test_threads_do_not_change_the_result():
    rng = np.random.default_rng(8)
    n = 120_000  # above the size from which columns run on threads
    ref, cur = _frame(n, rng), _frame(n, rng, shift=0.1, p=(0.4, 0.3, 0.3))
    cur["plan_obj"] = cur["plan"].astype(object)
    ref["plan_obj"] = ref["plan"].astype(object)
    serial = DriftDetector(n_jobs=1, random_state=0).fit(ref)
    threaded = DriftDetector(n_jobs=-1, random_state=0).fit(ref)
    two = DriftDetector(n_jobs=2, random_state=0).fit(ref)
    for det in (threaded, two):
        for name in serial.bin_edges_:
            np.testing.assert_array_equal(det.bin_edges_[name], serial.bin_edges_[name])
        pd.testing.assert_frame_equal(det.check(cur), serial.check(cur))
    _assert_plain(threaded, cur)


def test_error_inside_a_thread_names_the_column():
    rng = np.random.default_rng(9)
    n = 110_000
    ref = _frame(n, rng)
    det = DriftDetector(n_jobs=2).fit(ref)
    bad = ref.assign(age=pd.Series(["forty"] * n, dtype=object))
    with pytest.raises(DataValidationError, match="'age'"):
        det.check(bad)


@settings(max_examples=40, deadline=None)
@given(
    reference_samples,
    arrays(
        np.float64,
        st.integers(0, 40_000),  # several of the binner's cache-sized steps
        elements=st.floats(-2e3, 2e3) | st.sampled_from([np.inf, -np.inf, np.nan]),
    ),
)
def test_stepwise_counts_equal_a_whole_column_count(ref, cur):
    edges = np.unique(np.quantile(ref, np.arange(1, 100) / 100))
    binner = _Binner(edges)
    lo, hi = float(ref.min()), float(ref.max())
    counts, n_nan, below, above = binner.counts(cur, lo, hi)
    finite = cur[~np.isnan(cur)]
    expected = np.bincount(
        np.searchsorted(edges, finite, "right"), minlength=len(edges) + 1
    )
    np.testing.assert_array_equal(counts, expected)
    assert n_nan == int(np.isnan(cur).sum())
    assert (below, above) == (int((finite < lo).sum()), int((finite > hi).sum()))


def test_integer_buckets_at_the_edge_of_a_small_dtype():
    # found by hypothesis: 126 - (-2) wraps around in int8
    ref = pd.DataFrame({"v": np.array([-1, 126], dtype=np.int8)})
    det = DriftDetector().fit(ref)
    assert det.reference_stats_ == det.summarize(ref)
    _assert_plain(det, pd.DataFrame({"v": np.array([-128, -1, 126, 127], np.int8)}))
