"""Test-only adapters that let scikit-learn's estimator checks call ``fit(X, y)``.

The uplift models need ``treatment`` (the offer) in ``fit``; the checks do not
know it. These subclasses derive a treatment from each row's CONTENT (so rows
repeated by the sample-weight checks keep their arm) and turn the checks'
generic targets into churn labels (the larger class, or above the median for
continuous targets). Everything else -- validation, the per-arm models,
prediction -- is the real estimator's code.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift


def _treatment(X):
    if sp.issparse(X):
        total = np.asarray(abs(X).sum(axis=1)).ravel()
    else:
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":  # complex or objects: the model refuses X
            return np.arange(arr.shape[0]) % 2 == 1
        arr = arr.astype(float)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        total = np.abs(arr).reshape(arr.shape[0], -1).sum(axis=1)
    # A multiplicative hash of the row total: about half the rows per arm,
    # whatever the scale of X (integers included).
    v = np.rint(total * 1000.0).astype(np.int64) % (2**31)
    return ((v * 2654435761) % (2**32)) >> 13 & 1 == 1


def _labels(y):
    y = np.asarray(y)
    if y.dtype == bool or y.size == 0:
        return y
    values = np.unique(y)
    if values.size == 2:
        return y == values[-1]
    return y > np.median(y)


class _Adapter:
    def fit(self, X, y, treatment=None, sample_weight=None):
        if treatment is None:
            treatment = _treatment(X)
        if y is not None:
            y = _labels(y)
        return super().fit(X, y, treatment=treatment, sample_weight=sample_weight)


class CheckedTwoModelUplift(_Adapter, TwoModelUplift):
    pass


class CheckedXLearnerUplift(_Adapter, XLearnerUplift):
    pass


class CheckedClassTransformationUplift(_Adapter, ClassTransformationUplift):
    pass
