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


@given(
    arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    ),
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
    np.testing.assert_array_equal(binner(cur), np.searchsorted(edges, cur, "right"))
    np.testing.assert_array_equal(binner(edges), np.searchsorted(edges, edges, "right"))


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
