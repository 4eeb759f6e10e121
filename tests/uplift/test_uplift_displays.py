"""QiniCurveDisplay and UpliftCurveDisplay in the house Display style."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churnlib.data import generate_campaign
from churnlib.evaluation import (
    QiniCurveDisplay,
    UpliftCurveDisplay,
    qini_curve,
    uplift_curve,
)
from churnlib.exceptions import InvalidParameterError
from churnlib.features import ChurnPreprocessor
from churnlib.uplift import TwoModelUplift

DISPLAYS = [(QiniCurveDisplay, qini_curve), (UpliftCurveDisplay, uplift_curve)]


@pytest.fixture(scope="module")
def fitted():
    df = generate_campaign(3_000, random_state=2)
    X = df.drop(columns=["churned", "offer"])
    pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", TwoModelUplift())])
    pipe.fit(X, df["churned"], uplift__treatment=df["offer"])
    return pipe, X, df["churned"], df["offer"]


@pytest.mark.parametrize(("cls", "curve"), DISPLAYS)
@pytest.mark.parametrize("constructor_name", ["from_estimator", "from_predictions"])
def test_both_constructors_draw_the_metric(
    pyplot, fitted, cls, curve, constructor_name
):
    pipe, X, y, t = fitted
    uplift = pipe.predict(X)
    if constructor_name == "from_estimator":
        display = cls.from_estimator(pipe, X, y, t)
        assert display.name == "TwoModelUplift"
    else:
        display = cls.from_predictions(y, uplift, t, name="model")
        assert display.name == "model"
    fractions, values, _ = curve(y, uplift, t)
    np.testing.assert_allclose(display.line_.get_xdata(), fractions)
    np.testing.assert_allclose(display.line_.get_ydata(), values)
    assert display.random_line_ is not None
    np.testing.assert_allclose(display.random_line_.get_ydata(), [0, values[-1]])
    assert display.perfect_line_ is None
    assert display.ax_.get_xlabel().startswith("Fraction of customers targeted")
    assert display.figure_ is display.ax_.figure


@pytest.mark.parametrize(("cls", "curve"), DISPLAYS)
def test_plot_on_given_axes_with_perfect_curve(pyplot, fitted, cls, curve):
    pipe, X, y, t = fitted
    _, ax = pyplot.subplots()
    display = cls.from_predictions(
        y, pipe.predict(X), t, ax=ax, plot_perfect=True, plot_random=False
    )
    assert display.ax_ is ax
    assert display.random_line_ is None
    assert display.perfect_line_ is not None
    # The perfect ranking's curve is never below the model's at the end points.
    assert display.perfect_line_.get_ydata().max() >= display.line_.get_ydata().max()
    # Re-plot from stored values only (sklearn pattern).
    again = cls(fractions=display.fractions, values=display.values).plot(name="x")
    np.testing.assert_allclose(again.line_.get_ydata(), display.values)
    assert again.perfect_line_ is None


def test_from_estimator_needs_an_uplift_model(pyplot, fitted):
    _, X, y, t = fitted
    clf = Pipeline([("prep", ChurnPreprocessor()), ("clf", LogisticRegression())])
    clf.fit(X, y)
    with pytest.raises(InvalidParameterError, match="predict_uplift"):
        QiniCurveDisplay.from_estimator(clf, X, y, t)
