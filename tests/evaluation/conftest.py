"""Small seeded churn-like data and fitted pipelines for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def make_churn_frame(n: int, seed: int = 0):
    """``(X, y, p)``: a categorical and two numeric columns, labels, true probs."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "contract": rng.choice(["month", "one_year", "two_year"], n),
            "tenure": rng.integers(0, 72, n),
            "charges": rng.normal(70.0, 20.0, n),
            "noise": rng.normal(size=n),
        }
    )
    logit = (
        -1.0
        + 2.0 * (X["contract"] == "month").to_numpy()
        - 0.04 * X["tenure"].to_numpy()
        + 0.02 * (X["charges"].to_numpy() - 70.0)
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    y = rng.random(n) < p
    return X, y, p


def preprocessor():
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["contract"]),
        (StandardScaler(), ["tenure", "charges", "noise"]),
    )


@pytest.fixture(scope="session")
def churn_split():
    """``(X_train, y_train, X_test, y_test, p_test)`` with 400/300 customers."""
    X, y, p = make_churn_frame(700)
    return X.iloc[:400], y[:400], X.iloc[400:], y[400:], p[400:]


@pytest.fixture(scope="session")
def forest_pipeline(churn_split):
    X_train, y_train, *_ = churn_split
    model = make_pipeline(
        preprocessor(),
        RandomForestClassifier(n_estimators=20, min_samples_leaf=5, random_state=0),
    )
    return model.fit(X_train, y_train)


@pytest.fixture(scope="session")
def logistic_pipeline(churn_split):
    X_train, y_train, *_ = churn_split
    return make_pipeline(preprocessor(), LogisticRegression()).fit(X_train, y_train)


@pytest.fixture(scope="session")
def report(logistic_pipeline, churn_split):
    from churnlib.evaluation import evaluate

    *_, X_test, y_test, p_test = churn_split
    return evaluate(logistic_pipeline, X_test, y_test, truth=p_test)
