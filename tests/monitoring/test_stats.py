import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon

from churnlib.exceptions import DataValidationError
from churnlib.monitoring import (
    chi2_statistic,
    jensen_shannon_distance,
    ks_statistic,
    population_stability_index,
)
from churnlib.monitoring._stats import (
    PSEUDO_COUNT,
    _js_from_counts,
    _ks_from_counts,
    _psi_from_counts,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(1, 60), elements=finite)
counts = arrays(np.int64, st.integers(2, 12), elements=st.integers(0, 500))


@given(samples, samples)
def test_ks_matches_scipy(a, b):
    # scipy warns about its p-value on tiny or tied samples; the statistic is fine
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = stats.ks_2samp(a, b).statistic
    assert ks_statistic(a, b) == pytest.approx(expected, abs=1e-12)


@given(samples, samples)
def test_psi_and_js_properties(a, b):
    psi = population_stability_index(a, b)
    js = jensen_shannon_distance(a, b)
    assert psi >= 0
    assert 0 <= js <= 1
    assert population_stability_index(a, a) == pytest.approx(0, abs=1e-12)
    assert jensen_shannon_distance(a, a) == pytest.approx(0, abs=1e-7)


@given(counts, st.data())
def test_count_kernels_symmetric_and_match_scipy(p, data):
    q = data.draw(arrays(np.int64, len(p), elements=st.integers(0, 500)))
    assert _psi_from_counts(p, q) == pytest.approx(_psi_from_counts(q, p))
    js = _js_from_counts(p, q)
    ps, qs = p + PSEUDO_COUNT, q + PSEUDO_COUNT
    assert js == pytest.approx(jensenshannon(ps, qs, base=2), abs=1e-7)
    assert _js_from_counts(p, q) == pytest.approx(_js_from_counts(q, p))


@given(counts, st.data())
def test_binned_ks_is_exact_on_discrete_data(p, data):
    q = data.draw(arrays(np.int64, len(p), elements=st.integers(0, 500)))
    if p.sum() == 0 or q.sum() == 0:
        return
    a = np.repeat(np.arange(len(p)), p).astype(float)
    b = np.repeat(np.arange(len(q)), q).astype(float)
    assert _ks_from_counts(p, q) == pytest.approx(ks_statistic(a, b), abs=1e-12)


def test_kernels_vectorize_over_rows():
    rng = np.random.default_rng(0)
    p = rng.integers(0, 100, size=(5, 8))
    q = rng.integers(0, 100, size=(5, 8))
    batched = _psi_from_counts(p, q)
    assert batched.shape == (5,)
    for i in range(5):
        assert batched[i] == pytest.approx(_psi_from_counts(p[i], q[i]))


def test_chi2_matches_scipy_contingency():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 30 + ["c"] * 50
    stat, dof = chi2_statistic(ref, cur)
    table = np.array([[50, 30, 20], [20, 30, 50]])
    expected = stats.chi2_contingency(table, correction=False)
    assert stat == pytest.approx(expected.statistic)
    assert dof == expected.dof


def test_psi_reference_values():
    # one-bin shift of 10 % mass between two bins: 2 * 0.1 * ln(0.6/0.4) with
    # smoothing negligible at this size
    ref = ["a"] * 50_000 + ["b"] * 50_000
    cur = ["a"] * 60_000 + ["b"] * 40_000
    expected = 0.1 * np.log(0.6 / 0.5) + (-0.1) * np.log(0.4 / 0.5)
    assert population_stability_index(ref, cur) == pytest.approx(expected, rel=1e-3)


def test_categorical_detection_and_missing_ignored():
    assert population_stability_index([True, False, None], [True, False]) < 0.05
    assert population_stability_index([1.0, np.nan, 2.0], [1.0, 2.0]) == 0


@pytest.mark.parametrize(
    "func", [population_stability_index, jensen_shannon_distance, ks_statistic]
)
def test_bad_input(func):
    with pytest.raises(DataValidationError, match="no non-missing"):
        func([np.nan, np.nan], [1.0])
    with pytest.raises(DataValidationError, match="one-dimensional"):
        func(np.ones((3, 2)), [1.0])


def test_ks_refuses_categories():
    with pytest.raises(DataValidationError, match="numeric"):
        ks_statistic(["a", "b"], ["a"])


def test_bad_n_bins():
    with pytest.raises(DataValidationError, match="n_bins"):
        population_stability_index([1.0, 2.0], [1.0], n_bins=1)
