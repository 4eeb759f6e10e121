"""Churn Displays: sklearn's pattern, both constructors draw the same data."""

from __future__ import annotations

import builtins
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from churnlib.evaluation import (
    CumulativeGainDisplay,
    FeatureImportanceDisplay,
    LiftCurveDisplay,
    ProfitCurveDisplay,
    cumulative_gain,
    expected_campaign_profit,
    feature_importance,
    lift_curve,
)
from churnlib.exceptions import DataValidationError, InvalidParameterError

ECON = {
    "customer_value": 200.0,
    "incentive_cost": 10.0,
    "contact_cost": 1.0,
    "acceptance_rate": 0.3,
}
CURVE_DISPLAYS = [LiftCurveDisplay, CumulativeGainDisplay, ProfitCurveDisplay]


def _extra(display_cls):
    return ECON if display_cls is ProfitCurveDisplay else {}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    return model, X, y


def _expected_xy(display_cls, y, scores):
    if display_cls is LiftCurveDisplay:
        f, lift, _ = lift_curve(y, scores)
        return f, lift
    if display_cls is CumulativeGainDisplay:
        f, g, _ = cumulative_gain(y, scores)
        return f, g
    result = expected_campaign_profit(y, scores, **ECON)
    return result.fractions, result.profits


@pytest.mark.parametrize("display_cls", CURVE_DISPLAYS)
@pytest.mark.parametrize("constructor_name", ["from_estimator", "from_predictions"])
def test_display_draws_the_metric_curve(pyplot, data, display_cls, constructor_name):
    model, X, y = data
    scores = model.predict_proba(X)[:, 1]
    if constructor_name == "from_estimator":
        display = display_cls.from_estimator(model, X, y, **_extra(display_cls))
        assert display.name == "LogisticRegression"
    else:
        display = display_cls.from_predictions(y, scores, **_extra(display_cls))
        assert display.name is None
    x, yy = _expected_xy(display_cls, y, scores)
    np.testing.assert_allclose(display.line_.get_xdata(), x)
    np.testing.assert_allclose(display.line_.get_ydata(), yy)
    assert display.ax_.figure is display.figure_
    assert display.line_ in display.ax_.lines
    assert len(pyplot.get_fignums()) == 1


@pytest.mark.parametrize("display_cls", CURVE_DISPLAYS)
def test_from_estimator_and_from_predictions_draw_the_same(pyplot, data, display_cls):
    model, X, y = data
    a = display_cls.from_estimator(model, X, y, **_extra(display_cls))
    b = display_cls.from_predictions(
        y, model.predict_proba(X)[:, 1], **_extra(display_cls)
    )
    np.testing.assert_array_equal(a.line_.get_xydata(), b.line_.get_xydata())


@pytest.mark.parametrize("display_cls", CURVE_DISPLAYS)
@pytest.mark.parametrize("constructor_name", ["from_estimator", "from_predictions"])
def test_display_respects_ax_and_name(pyplot, data, display_cls, constructor_name):
    model, X, y = data
    fig, (ax1, ax2) = pyplot.subplots(ncols=2)
    args = (
        (model, X, y)
        if constructor_name == "from_estimator"
        else (
            y,
            model.predict_proba(X)[:, 1],
        )
    )
    display = getattr(display_cls, constructor_name)(
        *args, ax=ax2, name="my model", color="red", **_extra(display_cls)
    )
    assert display.ax_ is ax2
    assert display.figure_ is fig
    assert not ax1.lines
    assert display.line_.get_label() == "my model"
    assert display.line_.get_color() == "red"
    legend = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert "my model" in legend
    assert len(pyplot.get_fignums()) == 1


@pytest.mark.parametrize("display_cls", CURVE_DISPLAYS)
def test_plot_from_precomputed_values_and_replot(pyplot, data, display_cls):
    model, X, y = data
    scores = model.predict_proba(X)[:, 1]
    x, yy = _expected_xy(display_cls, y, scores)
    if display_cls is LiftCurveDisplay:
        display = display_cls(fractions=x, lift=yy, name="m")
    elif display_cls is CumulativeGainDisplay:
        display = display_cls(fractions=x, gains=yy, name="m")
    else:
        display = display_cls(fractions=x, profits=yy, name="m")
    display.plot()
    first_ax = display.ax_
    _, ax = pyplot.subplots()
    display.plot(ax=ax, name="again")
    assert display.ax_ is ax is not first_ax
    assert display.line_.get_label() == "again"


def test_chance_levels_and_best_marker(pyplot, data):
    model, X, y = data
    lift = LiftCurveDisplay.from_estimator(model, X, y)
    np.testing.assert_array_equal(lift.chance_level_.get_ydata(), [1, 1])
    assert (
        LiftCurveDisplay.from_estimator(
            model, X, y, plot_chance_level=False
        ).chance_level_
        is None
    )
    gain = CumulativeGainDisplay.from_estimator(model, X, y)
    np.testing.assert_array_equal(gain.chance_level_.get_xydata(), [[0, 0], [1, 1]])
    profit = ProfitCurveDisplay.from_estimator(model, X, y, **ECON)
    best = expected_campaign_profit(y, model.predict_proba(X)[:, 1], **ECON)
    np.testing.assert_allclose(
        profit.best_marker_.get_xydata(), [[best.fraction, best.profit]]
    )
    assert profit.best_fraction == best.fraction
    assert "Best: contact" in profit.best_marker_.get_label()
    no_mark = ProfitCurveDisplay.from_estimator(model, X, y, mark_best=False, **ECON)
    assert no_mark.best_marker_ is None


def test_from_estimator_with_decision_function_and_string_labels(pyplot):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    y = np.where(X[:, 0] > 0, "churn", "stay")
    model = LinearSVC().fit(X, y)  # classes_ = ['churn', 'stay']: churn is first
    display = CumulativeGainDisplay.from_estimator(model, X, y, pos_label="churn")
    expected = cumulative_gain(y, -model.decision_function(X), pos_label="churn")
    np.testing.assert_allclose(display.line_.get_ydata(), expected[1])
    with pytest.raises(InvalidParameterError, match="pos_label='yes'"):
        CumulativeGainDisplay.from_estimator(model, X, y, pos_label="yes")
    with pytest.raises(InvalidParameterError, match="'predict_proba'"):
        CumulativeGainDisplay.from_estimator(
            model, X, y, response_method="predict_proba", pos_label="churn"
        )
    with pytest.raises(InvalidParameterError, match="response_method"):
        CumulativeGainDisplay.from_estimator(model, X, y, response_method="predict")


def test_from_predictions_validates_input(pyplot):
    with pytest.raises(DataValidationError, match="single class"):
        LiftCurveDisplay.from_predictions([1, 1], [0.2, 0.3])


@pytest.mark.parametrize(
    ("display_cls", "method"),
    [
        (LiftCurveDisplay, "from_predictions"),
        (CumulativeGainDisplay, "from_estimator"),
        (ProfitCurveDisplay, "from_predictions"),
        (FeatureImportanceDisplay, "from_estimator"),
    ],
)
def test_missing_matplotlib_names_the_extra(monkeypatch, data, display_cls, method):
    model, X, y = data
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    args = (model, X, y) if method == "from_estimator" else (y, X[:, 0])
    kwargs = ECON if display_cls is ProfitCurveDisplay else {}
    msg = (
        f"{display_cls.__name__}.{method} requires matplotlib. "
        'Install it with pip install "churnlib[plot]".'
    )
    with pytest.raises(ImportError, match=re.escape(msg)):
        getattr(display_cls, method)(*args, **kwargs)


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    x = np.array([0.5, 1.0])
    imp = pd.DataFrame({"importance_mean": [0.2], "importance_std": [0.1]})
    displays = [
        LiftCurveDisplay(fractions=x, lift=x),
        CumulativeGainDisplay(fractions=x, gains=x),
        ProfitCurveDisplay(fractions=x, profits=x),
        FeatureImportanceDisplay(importances=imp),
    ]
    monkeypatch.setattr(builtins, "__import__", fake_import)
    for display in displays:
        msg = f"{type(display).__name__}.plot requires matplotlib."
        with pytest.raises(ImportError, match=re.escape(msg)):
            display.plot()
        assert not hasattr(display, "ax_")


# ------------------------------------------------------------ feature importance
def test_feature_importance_display_from_estimator(
    pyplot, forest_pipeline, churn_split
):
    *_, X_test, y_test, _ = churn_split
    _, ax = pyplot.subplots()
    display = FeatureImportanceDisplay.from_estimator(
        forest_pipeline, X_test, y_test, method="impurity", ax=ax, name="forest"
    )
    assert display.ax_ is ax
    assert display.method == "impurity"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(X_test.columns)  # grouped: no one-hot names
    expected = feature_importance(forest_pipeline, X_test, y_test, method="impurity")
    widths = [b.get_width() for b in display.bars_][::-1]
    np.testing.assert_allclose(widths, expected["importance_mean"])
    assert ax.get_title() == "forest"
    assert "Impurity" in ax.get_xlabel()


def test_feature_importance_display_limits_features(pyplot):
    imp = pd.DataFrame(
        {"importance_mean": [0.5, 0.3, 0.1], "importance_std": [np.nan] * 3},
        index=pd.Index(["a", "b", "c"], name="feature"),
    )
    display = FeatureImportanceDisplay(importances=imp, method="permutation").plot(
        max_features=2
    )
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["b", "a"]
    assert "shuffled" in display.ax_.get_xlabel()
