"""Every model shape churnlib itself builds publishes and loads with no extra trust."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
from sklearn.pipeline import make_pipeline

from churnlib.deployment import ModelStore
from churnlib.features import (
    ChargeRatios,
    ChurnPreprocessor,
    ServiceCount,
    TenureBucketer,
)
from churnlib.training import default_estimator
from churnlib.training._trainer import _campaign_gain


def _forest():
    return default_estimator(0).set_params(n_estimators=5, n_jobs=1)


MODELS = {
    "preprocessor+default forest": lambda: make_pipeline(
        ChurnPreprocessor(), _forest()
    ),
    "domain transformers": lambda: make_pipeline(
        TenureBucketer(),
        ChargeRatios(),
        ServiceCount(),
        ChurnPreprocessor(),
        LogisticRegression(max_iter=500),
    ),
    "fixed threshold": lambda: FixedThresholdClassifier(
        make_pipeline(ChurnPreprocessor(), _forest()), threshold=0.3
    ),
    "tuned on f1": lambda: TunedThresholdClassifierCV(
        make_pipeline(ChurnPreprocessor(), _forest()), scoring="f1", cv=3
    ),
    "tuned on campaign gain": lambda: TunedThresholdClassifierCV(
        make_pipeline(ChurnPreprocessor(), _forest()),
        scoring=make_scorer(_campaign_gain, tp=80.0, fp=-20.0),
        cv=3,
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_churnlib_models_round_trip_without_extra_trust(name, churn_data, memory_fs):
    X, y = churn_data
    model = MODELS[name]().fit(X, y)
    store = ModelStore("memory://churnlib-models/store")
    version = store.publish(model, alias="production")
    loaded = store.load("production")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert store.get("production").version == version.version
