"""Drift statistics: public one-column functions and vectorized kernels.

The public functions (:func:`population_stability_index`,
:func:`jensen_shannon_distance`, :func:`ks_statistic`, :func:`chi2_statistic`)
work on two raw samples. They are thin wrappers around the ``_*_from_counts``
kernels, which take histogram counts with a trailing "bins" axis and compute the
statistic for many columns at once; :class:`~churnlib.monitoring.DriftDetector`
uses the kernels directly on its (mergeable) histograms, so the public functions
and the detector share one implementation of each formula.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churnlib.exceptions import DataValidationError

__all__ = [
    "chi2_statistic",
    "jensen_shannon_distance",
    "ks_statistic",
    "population_stability_index",
]

#: Pseudo-count added to every bin before proportions are taken (PSI, JS):
#: keeps empty bins finite without favouring either sample.
PSEUDO_COUNT = 0.5


# --------------------------------------------------------------------------- #
# kernels on counts: arrays of shape (..., n_bins), optional boolean mask
# --------------------------------------------------------------------------- #
def _proportions(counts: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if mask is None:
        mask = np.ones(counts.shape, dtype=bool)
    smoothed = np.where(mask, counts + PSEUDO_COUNT, 0.0)
    total = smoothed.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, smoothed / total, 0.0)


def _psi_from_counts(
    ref: np.ndarray, cur: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """PSI = sum((q - p) * ln(q / p)) over bins, with pseudo-counts."""
    p = _proportions(ref, mask)
    q = _proportions(cur, mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where((p > 0) & (q > 0), (q - p) * np.log(q / p), 0.0)
    psi: np.ndarray = terms.sum(axis=-1)
    return psi


def _js_from_counts(
    ref: np.ndarray, cur: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms."""
    p = _proportions(ref, mask)
    q = _proportions(cur, mask)
    m = 0.5 * (p + q)
    with np.errstate(invalid="ignore", divide="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    jsd = np.clip(0.5 * (kl_p + kl_q), 0.0, 1.0)
    distance: np.ndarray = np.sqrt(jsd)
    return distance


def _ks_from_counts(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Largest gap between the two empirical CDFs, evaluated at bin edges."""
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.cumsum(ref, axis=-1) / ref.sum(axis=-1, keepdims=True)
        g = np.cumsum(cur, axis=-1) / cur.sum(axis=-1, keepdims=True)
    out = np.abs(f - g).max(axis=-1)
    gap: np.ndarray = np.nan_to_num(out, nan=0.0)
    return gap


def _chi2_from_counts(
    ref: np.ndarray, cur: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample chi-square homogeneity statistic and its degrees of freedom.

    Bins empty in both samples (and masked bins) do not count.
    """
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    if mask is None:
        mask = np.ones(ref.shape, dtype=bool)
    ref = np.where(mask, ref, 0.0)
    cur = np.where(mask, cur, 0.0)
    n_ref = ref.sum(axis=-1, keepdims=True)
    n_cur = cur.sum(axis=-1, keepdims=True)
    col = ref + cur
    total = n_ref + n_cur
    with np.errstate(invalid="ignore", divide="ignore"):
        e_ref = col * n_ref / total
        e_cur = col * n_cur / total
        terms = np.where(
            col > 0,
            (ref - e_ref) ** 2 / e_ref + (cur - e_cur) ** 2 / e_cur,
            0.0,
        )
    stat = np.nan_to_num(terms.sum(axis=-1), nan=0.0)
    dof = np.maximum((col > 0).sum(axis=-1) - 1, 1)
    return stat, dof


# --------------------------------------------------------------------------- #
# public one-column functions
# --------------------------------------------------------------------------- #
def _as_1d(values: ArrayLike, name: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataValidationError(
                f"{name} must be one-dimensional; got a DataFrame with "
                f"{values.shape[1]} columns {list(values.columns)}. Pass one column."
            )
        values = values.iloc[:, 0]
    if not isinstance(values, pd.Series):
        if np.ndim(values) != 1:
            raise DataValidationError(
                f"{name} must be one-dimensional; got shape {np.shape(values)}."
            )
        values = pd.Series(values)
    # pandas is untyped here, so the isinstance checks above do not narrow.
    series = cast("pd.Series", values)
    series = series.dropna()
    if len(series) == 0:
        raise DataValidationError(
            f"{name} has no non-missing values; a drift statistic needs at least one."
        )
    return series


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(
        series
    )


def _histograms(
    reference: ArrayLike, current: ArrayLike, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    ref = _as_1d(reference, "reference")
    cur = _as_1d(current, "current")
    if _is_categorical(ref) or _is_categorical(cur):
        ref_s, cur_s = ref.astype(str), cur.astype(str)
        cats = pd.Index(pd.unique(pd.concat([ref_s, cur_s], ignore_index=True)))
        ref_c = np.bincount(cats.get_indexer(ref_s), minlength=len(cats))
        cur_c = np.bincount(cats.get_indexer(cur_s), minlength=len(cats))
        return ref_c, cur_c
    if not isinstance(n_bins, int | np.integer) or n_bins < 2:
        raise DataValidationError(f"n_bins must be an int >= 2; got {n_bins!r}.")
    x_ref = ref.to_numpy(dtype=np.float64)
    x_cur = cur.to_numpy(dtype=np.float64)
    levels = np.arange(1, n_bins) / n_bins
    edges = np.unique(np.quantile(x_ref, levels))
    ref_c = np.bincount(
        np.searchsorted(edges, x_ref, side="right"), minlength=len(edges) + 1
    )
    cur_c = np.bincount(
        np.searchsorted(edges, x_cur, side="right"), minlength=len(edges) + 1
    )
    return ref_c, cur_c


def population_stability_index(
    reference: ArrayLike, current: ArrayLike, *, n_bins: int = 10
) -> float:
    """Compute the Population Stability Index (PSI) of two samples.

    ``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)`` over bins, where ``p`` and ``q``
    are the reference and current proportions. Numeric samples are binned on
    the reference quantiles (``n_bins`` bins of equal reference mass, fewer when
    quantiles tie); categorical samples (strings, categories, booleans) use one
    bin per category. A pseudo-count of 0.5 is added to every bin so empty bins
    stay finite. Missing values are ignored.

    Rules of thumb: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 major
    shift.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        The two samples. Numeric unless either one is categorical.
    n_bins : int, default=10
        Number of reference-quantile bins for numeric samples.

    Returns
    -------
    float
        The PSI, ``>= 0`` and ``0`` for identical histograms.

    See Also
    --------
    jensen_shannon_distance : Bounded, symmetric alternative.
    DriftDetector : The same statistic for every column of a table at once.

    Examples
    --------
    >>> import numpy as np
    >>> from churnlib.monitoring import population_stability_index
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=5000)
    >>> round(population_stability_index(ref, ref), 6)
    0.0
    >>> population_stability_index(ref, rng.normal(1.0, size=5000)) > 0.25
    True
    """
    ref_c, cur_c = _histograms(reference, current, n_bins)
    return float(_psi_from_counts(ref_c, cur_c))


def jensen_shannon_distance(
    reference: ArrayLike, current: ArrayLike, *, n_bins: int = 10
) -> float:
    """Compute the Jensen-Shannon distance (base 2) of two samples' histograms.

    The square root of the Jensen-Shannon divergence with base-2 logarithms,
    so it lies in ``[0, 1]`` and is symmetric. Binning and smoothing are those
    of :func:`population_stability_index`; the value equals
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on the smoothed
    proportions.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        The two samples.
    n_bins : int, default=10
        Number of reference-quantile bins for numeric samples.

    Returns
    -------
    float
        The distance in ``[0, 1]``.

    Examples
    --------
    >>> from churnlib.monitoring import jensen_shannon_distance
    >>> jensen_shannon_distance(["a", "a", "b"], ["a", "a", "b"])
    0.0
    >>> round(jensen_shannon_distance(["a"] * 50, ["b"] * 50), 2)
    0.9
    """
    ref_c, cur_c = _histograms(reference, current, n_bins)
    return float(_js_from_counts(ref_c, cur_c))


def ks_statistic(reference: ArrayLike, current: ArrayLike) -> float:
    """Compute the exact two-sample Kolmogorov-Smirnov statistic.

    ``D = sup_x |F_ref(x) - F_cur(x)|`` over the pooled sample; equals
    ``scipy.stats.ks_2samp(reference, current).statistic``. Missing values
    are ignored.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        Two numeric samples.

    Returns
    -------
    float
        The statistic in ``[0, 1]``.

    Examples
    --------
    >>> from churnlib.monitoring import ks_statistic
    >>> ks_statistic([1, 2, 3, 4], [3, 4, 5, 6])
    0.5
    """
    ref = _as_1d(reference, "reference")
    cur = _as_1d(current, "current")
    if _is_categorical(ref) or _is_categorical(cur):
        raise DataValidationError(
            "ks_statistic needs numeric samples; for categories use "
            "chi2_statistic or jensen_shannon_distance."
        )
    a = np.sort(ref.to_numpy(dtype=np.float64))
    b = np.sort(cur.to_numpy(dtype=np.float64))
    pooled = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, pooled, side="right") / len(a)
    cdf_b = np.searchsorted(b, pooled, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def chi2_statistic(
    reference: ArrayLike, current: ArrayLike, *, n_bins: int = 10
) -> tuple[float, int]:
    """Compute the two-sample chi-square homogeneity statistic.

    The statistic of ``scipy.stats.chi2_contingency`` (without continuity
    correction) on the 2 x k table of bin counts. Bins are categories for
    categorical samples and reference-quantile bins for numeric ones.
    ``sqrt(statistic / n_eff)`` with ``n_eff = n_ref * n_cur / (n_ref + n_cur)``
    is Cohen's effect size *w*, which :class:`DriftDetector` uses as its
    sample-size-free floor.

    Parameters
    ----------
    reference, current : array-like of shape (n_samples,)
        The two samples.
    n_bins : int, default=10
        Number of reference-quantile bins for numeric samples.

    Returns
    -------
    statistic : float
    dof : int

    Examples
    --------
    >>> from churnlib.monitoring import chi2_statistic
    >>> stat, dof = chi2_statistic(["a"] * 60 + ["b"] * 40, ["a"] * 40 + ["b"] * 60)
    >>> round(stat, 3), dof
    (8.0, 1)
    """
    ref_c, cur_c = _histograms(reference, current, n_bins)
    stat, dof = _chi2_from_counts(ref_c, cur_c)
    return float(stat), int(dof)
