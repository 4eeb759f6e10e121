import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from churnlib import infer_contract
from churnlib._core.contract import attach_contract
from churnlib._core.model_facts import (
    churn_proba,
    final_estimator,
    model_threshold,
    positive_index,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

rng = np.random.default_rng(0)
X = pd.DataFrame({"x": rng.normal(size=400)})
signal = X["x"].to_numpy() + rng.normal(scale=0.5, size=400) > 0.7


@pytest.mark.parametrize(
    ("pos", "neg"),
    [
        ("Left", "Stayed"),
        ("Attrited Customer", "Existing Customer"),
        ("churner", "loyal"),
        ("Yes", "No"),
        (1, 0),
        (True, False),
    ],
)
def test_text_label_models_score_churn_not_the_greater_label(pos, neg):
    y = np.where(signal, pos, neg).astype(object if isinstance(pos, str) else type(pos))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    p = churn_proba(model, X)
    assert p.mean() == pytest.approx(signal.mean(), abs=0.03)
    assert pd.Series(p).corr(X["x"], method="spearman") > 0.99


def test_unknowable_positive_class_is_refused():
    model = LogisticRegression().fit(X, np.where(signal, 2, 1))
    with pytest.raises(DataValidationError, match="Cannot tell which class"):
        positive_index(model)


def test_contract_label_rule_wins():
    y = np.where(signal, "b", "a")
    model = LogisticRegression().fit(X, y)
    with pytest.raises(DataValidationError):
        positive_index(model)
    from churnlib import infer_label_rule

    attach_contract(model, infer_contract(X, labels=infer_label_rule(y, pos_label="b")))
    assert positive_index(model) == 1


def test_threshold_from_contract_then_wrappers():
    base = LogisticRegression().fit(X, signal)
    assert model_threshold(base) is None
    fixed = FixedThresholdClassifier(LogisticRegression(), threshold=0.3).fit(X, signal)
    assert model_threshold(fixed) == 0.3
    assert model_threshold(make_pipeline(StandardScaler(), fixed).fit(X, signal)) == 0.3
    attach_contract(base, infer_contract(X, signal, threshold=0.42))
    assert model_threshold(base) == 0.42


def test_final_estimator_unwraps():
    fixed = FixedThresholdClassifier(LogisticRegression(), threshold=0.3).fit(X, signal)
    pipe = make_pipeline(StandardScaler(), fixed).fit(X, signal)
    assert isinstance(final_estimator(pipe), LogisticRegression)


def test_not_binary_or_not_fitted():
    with pytest.raises(InvalidParameterError, match="fitted"):
        positive_index(LogisticRegression())
    three = DummyClassifier().fit(X, np.arange(400) % 3)
    with pytest.raises(InvalidParameterError, match="3 classes"):
        positive_index(three)
    with pytest.raises(InvalidParameterError, match="predict_proba"):
        churn_proba(object(), X)
