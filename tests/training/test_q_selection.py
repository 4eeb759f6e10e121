"""How the default model's candidates are refitted after the selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from churnlib.training._selection import (
    FOREST_GRID,
    _boosting,
    _forest,
    select_default_model,
)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6))
    logit = 1.5 * X[:, 0] - X[:, 1] * X[:, 2] + 0.5 * np.sin(3 * X[:, 3])
    y = (rng.random(800) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def selected(table):
    X, y = table
    return select_default_model(
        X, y, numeric_idx=list(range(6)), time_budget=600, random_state=0
    )


def _member(model, selection, name):
    return model.estimators_[list(selection.members).index(name)]


def test_boosting_is_refitted_on_every_row_for_the_folds_mean_iterations(
    table, selected
):
    X, y = table
    model, selection, _, _ = selected
    params = next(
        c.params for c in selection.candidates if c.name == "gradient_boosting"
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    iterations = [_boosting(0).fit(X[train], y[train]).n_iter_ for train, _ in folds]
    assert params["max_iter"] == round(float(np.mean(iterations)))
    assert params["iterations"] == "mean of the folds"
    assert "gradient_boosting" in selection.members  # the three-way blend wins
    final = _member(model, selection, "gradient_boosting")
    assert isinstance(final, HistGradientBoostingClassifier)
    assert final.early_stopping is False
    assert final.n_iter_ == params["max_iter"]  # no holdout, no early stop
    again = clone(final).fit(X, y)  # refitting the stored template: the same
    np.testing.assert_array_equal(again.predict_proba(X), final.predict_proba(X))


def test_the_grown_forest_is_the_fresh_300_tree_forest(table, selected):
    X, y = table
    _model, selection, _, _ = selected
    params = next(c.params for c in selection.candidates if c.name == "random_forest")
    assert params["n_estimators"] == 300
    assert (params["min_samples_leaf"], params["max_features"]) in FOREST_GRID
    fresh = _forest(
        300, params["min_samples_leaf"], params["max_features"], random_state=0
    ).fit(X, y)
    assert "random_forest" in selection.members
    rf = _member(_model, selection, "random_forest")
    assert rf.warm_start is False
    assert len(rf.estimators_) == 300
    # the same trees (summed in thread order: equal to float rounding)
    np.testing.assert_allclose(
        rf.predict_proba(X), fresh.predict_proba(X), rtol=1e-12, atol=1e-15
    )
    forest_auc = next(
        c.roc_auc for c in selection.candidates if c.name == "random_forest"
    )
    oob = np.nan_to_num(fresh.oob_decision_function_[:, 1], nan=y.mean())
    assert forest_auc == pytest.approx(roc_auc_score(y, oob), abs=1e-12)
