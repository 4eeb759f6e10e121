"""Models for scoring tests, importable by Dask worker processes."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Delegate to a fitted estimator, sleeping ``delay`` seconds a call.

    Makes Dask tasks last long enough for a worker to be killed mid-run.
    """

    def __init__(self, estimator=None, delay=0.1):
        self.estimator = estimator
        self.delay = delay

    def fit(self, X, y):
        self.estimator.fit(X, y)
        self.classes_ = self.estimator.classes_
        self.feature_names_in_ = self.estimator.feature_names_in_
        return self

    def predict_proba(self, X):
        time.sleep(self.delay)
        return self.estimator.predict_proba(X)


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Probability = ``x`` clipped to [0, 1]; records every batch size it sees."""

    def __init__(self, features=("x",)):
        self.features = features

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(list(self.features), dtype=object)
        self.batch_sizes_ = []
        return self

    def predict_proba(self, X):
        self.batch_sizes_.append(len(X))
        p = np.clip(np.asarray(X["x"], dtype=float), 0, 1)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
