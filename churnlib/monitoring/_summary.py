"""``DriftSummary``: mergeable histograms of one slice of data.

A summary holds only counts on bins fixed by a fitted
:class:`~churnlib.monitoring.DriftDetector` (reference quantile edges and
reference categories), so summaries of disjoint slices add up to the summary
of their union: ``summarize(a) + summarize(b) == summarize(concat([a, b]))``.
This is what lets a report stream over stored batches and lets Dask partitions
be summarized in parallel and merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from churnlib.exceptions import DataValidationError

__all__ = ["DriftSummary"]

_ARRAYS = (
    "numeric_counts",
    "numeric_missing",
    "numeric_below",
    "numeric_above",
    "categorical_counts",
    "categorical_missing",
    "categorical_unseen",
)


@dataclass(frozen=True, eq=False, kw_only=True)
class DriftSummary:
    """Histogram counts of a data slice on a fitted detector's bins.

    Obtain one with :meth:`DriftDetector.summarize`; combine with ``+`` (or
    :meth:`merge`); pass to :meth:`DriftDetector.check`. Summaries pickle, so
    they travel between processes (Dask workers, multiprocessing).

    Parameters
    ----------
    detector_key : str
        Identifies the fitted detector whose bins these counts use; only
        summaries with the same key can be merged.
    numeric_features, categorical_features : tuple of str
        Feature names, in the detector's order.
    n_rows : int
        Number of rows summarized.
    numeric_counts : ndarray of shape (n_numeric, n_slots)
        Counts per fine reference-quantile bin (padded with zeros).
    numeric_missing, numeric_below, numeric_above : ndarray of shape (n_numeric,)
        Missing values, and values below the reference minimum / above the
        reference maximum.
    categorical_counts : ndarray of shape (n_categorical, n_slots)
        Counts per reference category; the slot after a feature's last
        category counts every other value (rare reference categories and
        unseen ones).
    categorical_missing, categorical_unseen : ndarray of shape (n_categorical,)
        Missing values, and values never seen in the reference.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.monitoring import DriftDetector
    >>> ref = pd.DataFrame({"x": range(100), "c": ["a", "b"] * 50})
    >>> det = DriftDetector().fit(ref)
    >>> s = det.summarize(ref.iloc[:40]) + det.summarize(ref.iloc[40:])
    >>> s.n_rows
    100
    >>> bool((s.numeric_counts == det.reference_stats_.numeric_counts).all())
    True
    """

    detector_key: str
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    n_rows: int
    numeric_counts: np.ndarray
    numeric_missing: np.ndarray
    numeric_below: np.ndarray
    numeric_above: np.ndarray
    categorical_counts: np.ndarray
    categorical_missing: np.ndarray
    categorical_unseen: np.ndarray

    @property
    def features(self) -> tuple[str, ...]:
        """Numeric then categorical feature names."""
        return self.numeric_features + self.categorical_features

    def __add__(self, other: object) -> DriftSummary:
        if isinstance(other, int) and other == 0:  # sum(summaries)
            return self
        if not isinstance(other, DriftSummary):
            return NotImplemented
        if other.detector_key != self.detector_key:
            raise DataValidationError(
                "Cannot merge DriftSummary objects computed by different fitted "
                "detectors (their bins differ). Summarize every slice with the "
                "same fitted DriftDetector."
            )
        merged = {name: getattr(self, name) + getattr(other, name) for name in _ARRAYS}
        return replace(self, n_rows=self.n_rows + other.n_rows, **merged)

    __radd__ = __add__

    @classmethod
    def merge(cls, summaries: Iterable[DriftSummary]) -> DriftSummary:
        """Sum an iterable of summaries of disjoint slices.

        Parameters
        ----------
        summaries : iterable of DriftSummary
            At least one summary, all from the same fitted detector.

        Returns
        -------
        DriftSummary
        """
        items = list(summaries)
        if not items:
            raise DataValidationError("DriftSummary.merge needs at least one summary.")
        total = items[0]
        for item in items[1:]:
            total = total + item
        return total

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DriftSummary):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            if f.name in _ARRAYS
            else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"DriftSummary(n_rows={self.n_rows}, "
            f"numeric_features={len(self.numeric_features)}, "
            f"categorical_features={len(self.categorical_features)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (arrays as nested lists); see :meth:`from_dict`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftSummary:
        """Inverse of :meth:`to_dict`."""
        kwargs = dict(data)
        for name in _ARRAYS:
            arr = np.asarray(kwargs[name], dtype=np.int64)
            kwargs[name] = arr
        kwargs["numeric_counts"] = kwargs["numeric_counts"].reshape(
            len(kwargs["numeric_features"]), -1
        )
        kwargs["categorical_counts"] = kwargs["categorical_counts"].reshape(
            len(kwargs["categorical_features"]), -1
        )
        kwargs["numeric_features"] = tuple(kwargs["numeric_features"])
        kwargs["categorical_features"] = tuple(kwargs["categorical_features"])
        kwargs["n_rows"] = int(kwargs["n_rows"])
        return cls(**kwargs)
