"""Uplift pipelines publish to and load from the model store (trusted types)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churnlib.data import generate_campaign
from churnlib.deployment import ModelStore
from churnlib.features import ChurnPreprocessor
from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift


@pytest.mark.parametrize(
    "model",
    [
        TwoModelUplift(LogisticRegression(max_iter=300)),
        XLearnerUplift(),
        ClassTransformationUplift(LogisticRegression(max_iter=300)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_uplift_pipeline_round_trips_through_the_store(model, tmp_path):
    df = generate_campaign(1_500, random_state=0)
    X = df.drop(columns=["churned", "offer", "customer_id"])
    pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", model)])
    pipe.fit(X, df["churned"], uplift__treatment=df["offer"])
    store = ModelStore(tmp_path.as_uri())
    version = store.publish(pipe, metadata={"kind": "uplift"})
    loaded = store.load(version.version)
    np.testing.assert_allclose(loaded.predict(X), pipe.predict(X))
    assert store.get(version.version).metadata["kind"] == "uplift"
