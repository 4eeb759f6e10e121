"""Uplift models on generated campaigns: API, Pipeline use, errors, persistence."""

from __future__ import annotations

import re

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from churnlib.data import generate_campaign
from churnlib.evaluation import qini_coefficient
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.features import ChurnPreprocessor
from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift

TRUTH = [
    "churn_probability_control",
    "churn_probability_treated",
    "true_uplift",
    "segment",
    "propensity",
]
MODELS = [TwoModelUplift, XLearnerUplift, ClassTransformationUplift]


def _split(df):
    features = [c for c in df.columns if c not in [*TRUTH, "churned", "offer"]]
    return df[features], df["churned"], df["offer"]


@pytest.fixture(scope="module")
def campaign():
    return generate_campaign(4_000, random_state=11, return_truth=True)


@pytest.fixture(scope="module")
def matrix(campaign):
    X, y, t = _split(campaign)
    return ChurnPreprocessor().fit_transform(X), y.to_numpy(), t.to_numpy()


@pytest.mark.parametrize("cls", MODELS)
def test_pipeline_after_preprocessor_ranks_better_than_random(cls, campaign):
    X, y, t = _split(campaign)
    pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", cls())])
    assert pipe.fit(X, y, uplift__treatment=t) is pipe
    uplift = pipe.predict(X)
    assert uplift.shape == (len(X),)
    assert uplift.dtype == np.float64
    np.testing.assert_allclose(uplift, pipe[-1].predict_uplift(pipe[:-1].transform(X)))
    assert np.corrcoef(uplift, campaign["true_uplift"])[0, 1] > 0.5
    assert qini_coefficient(y, uplift, t) > 0.05
    assert pipe[-1].treatment_share_ == pytest.approx(t.mean())
    assert pipe[-1].n_features_in_ == pipe[:-1].transform(X.head()).shape[1]


def test_two_model_is_the_difference_of_its_arm_models(matrix):
    X, y, t = matrix
    model = TwoModelUplift().fit(X, y, treatment=t)
    outcomes = model.predict_outcomes(X)
    assert outcomes.shape == (len(X), 2)
    np.testing.assert_allclose(model.predict_uplift(X), outcomes[:, 0] - outcomes[:, 1])
    direct_c = LogisticRegression(max_iter=1000).fit(X[~t], y[~t])
    direct_t = LogisticRegression(max_iter=1000).fit(X[t], y[t])
    np.testing.assert_allclose(outcomes[:, 0], direct_c.predict_proba(X)[:, 1])
    np.testing.assert_allclose(outcomes[:, 1], direct_t.predict_proba(X)[:, 1])
    # Offered customers churn less on average: the offer helps most people.
    assert outcomes[:, 0].mean() > outcomes[:, 1].mean()


def test_two_model_with_a_different_treated_model(matrix):
    X, y, t = matrix
    model = TwoModelUplift(
        LogisticRegression(max_iter=1000),
        estimator_treated=DecisionTreeClassifier(max_depth=3, random_state=0),
    ).fit(X, y, treatment=t)
    assert isinstance(model.estimator_treated_, DecisionTreeClassifier)
    assert isinstance(model.estimator_control_, LogisticRegression)


def test_x_learner_blends_effect_models_by_propensity(matrix):
    X, y, t = matrix
    model = XLearnerUplift(propensity=0.25).fit(X, y, treatment=t)
    assert model.propensity_ == 0.25
    expected = 0.25 * model.effect_control_.predict(X) + 0.75 * (
        model.effect_treated_.predict(X)
    )
    np.testing.assert_allclose(model.predict_uplift(X), expected)
    # Stage 2 targets: imputed effects of each arm.
    d_treated = model.estimator_control_.predict_proba(X[t])[:, 1] - y[t]
    np.testing.assert_allclose(
        model.effect_treated_.coef_, Ridge(alpha=1.0).fit(X[t], d_treated).coef_
    )
    default = XLearnerUplift().fit(X, y, treatment=t)
    assert default.propensity_ == pytest.approx(t.mean())


def test_class_transformation_relabels_and_balances(matrix):
    X, y, t = matrix
    model = ClassTransformationUplift().fit(X, y, treatment=t)
    z = np.where(t, ~y, y)
    share = t.mean()
    w = np.where(t, 0.5 / share, 0.5 / (1 - share))
    direct = LogisticRegression(max_iter=1000).fit(X, z, sample_weight=w)
    np.testing.assert_allclose(
        model.predict_uplift(X), 2 * direct.predict_proba(X)[:, 1] - 1
    )


def test_class_transformation_unbalanced_campaign_needs_sample_weight():
    df = generate_campaign(4_000, treatment_share=0.2, random_state=3)
    X, y, t = _split(df)
    Xm = ChurnPreprocessor().fit_transform(X)

    class NoWeights(LogisticRegression):
        def fit(self, X, y):  # no sample_weight parameter
            return super().fit(X, y)

    with pytest.raises(InvalidParameterError, match=r"takes no sample_weight"):
        ClassTransformationUplift(NoWeights()).fit(Xm, y, treatment=t)
    model = ClassTransformationUplift().fit(Xm, y, treatment=t)
    # Reweighted: the mean transformed-label probability is about 1/2 + ATE/2,
    # not pulled towards the 80 % control arm's churn rate.
    ate = y[~t].mean() - y[t].mean()
    assert model.predict_uplift(Xm).mean() == pytest.approx(ate, abs=0.03)


def test_string_labels_with_pos_label(matrix):
    X, y, t = matrix
    labels = np.where(y, "Yes", "No")
    # the one label rule reads "Yes"; labels that name no churn are refused
    assert TwoModelUplift().fit(X, labels, treatment=t).pos_label_ == "Yes"
    with pytest.raises(DataValidationError, match="pos_label"):
        TwoModelUplift().fit(X, np.where(y, "b", "a"), treatment=t)
    model = TwoModelUplift(pos_label="Yes").fit(X, labels, treatment=t)
    assert model.pos_label_ == "Yes"
    np.testing.assert_allclose(
        model.predict_uplift(X),
        TwoModelUplift().fit(X, y, treatment=t).predict_uplift(X),
    )


def test_dataframe_input_keeps_feature_names(campaign):
    X, y, t = _split(campaign)
    numeric = X[["tenure_months", "monthly_charges", "support_calls", "age"]]
    model = TwoModelUplift().fit(numeric, y, treatment=t.astype(int))
    assert list(model.feature_names_in_) == list(numeric.columns)
    with pytest.raises(ValueError, match="feature names"):
        model.predict_uplift(numeric[numeric.columns[::-1]])


class _FrameRecorder(LogisticRegression):
    """A real logistic regression that remembers what ``fit`` received."""

    def fit(self, X, y, sample_weight=None):
        self.received_ = type(X).__name__
        return super().fit(X, y, sample_weight=sample_weight)


def test_dataframes_reach_the_base_model_untouched(campaign):
    # Frames are passed through, so a base model that handles categorical
    # dtypes itself (e.g. HistGradientBoostingClassifier) gets them intact.
    X, y, t = _split(campaign)
    numeric = X[["tenure_months", "monthly_charges"]]
    model = TwoModelUplift(_FrameRecorder()).fit(numeric, y, treatment=t)
    assert model.estimator_control_.received_ == "DataFrame"
    assert model.estimator_treated_.received_ == "DataFrame"


@pytest.mark.parametrize("cls", MODELS)
def test_fit_without_treatment_says_how(cls, matrix):
    X, y, _ = matrix
    with pytest.raises(InvalidParameterError, match=re.escape("uplift__treatment")):
        cls().fit(X, y)


@pytest.mark.parametrize(
    ("treatment", "match"),
    [
        (np.zeros(4_000), "both offered and not-offered"),
        (np.full(4_000, 2), "0/1 or bool"),
        (np.ones(10), "one value per row"),
        (np.where(np.arange(4_000) % 2, 1.0, np.nan), "NaN"),
    ],
)
def test_bad_treatment(treatment, match, matrix):
    X, y, _ = matrix
    with pytest.raises(DataValidationError, match=re.escape(match)):
        TwoModelUplift().fit(X, y, treatment=treatment)


def test_an_arm_without_churners_is_refused(matrix):
    X, y, t = matrix
    y = y.copy()
    y[t] = False
    with pytest.raises(DataValidationError, match="offered customers are all non"):
        TwoModelUplift().fit(X, y, treatment=t)


def test_bad_estimator_parameter(matrix):
    X, y, t = matrix
    with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
        TwoModelUplift(estimator=Ridge()).fit(X, y, treatment=t)
    with pytest.raises(InvalidParameterError, match="'propensity' parameter"):
        XLearnerUplift(propensity=1.0).fit(X, y, treatment=t)
    with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
        ClassTransformationUplift(LinearSVC()).fit(X, y, treatment=t)


@pytest.mark.parametrize("cls", MODELS)
def test_sample_weight_matches_repeated_rows(cls, matrix):
    X, y, t = matrix
    X, y, t = X[:2000], y[:2000], t[:2000]
    w = np.where(np.arange(2000) % 3 == 0, 2.0, 1.0)
    rep = np.repeat(np.arange(2000), w.astype(int))
    a = cls().fit(X, y, treatment=t, sample_weight=w).predict_uplift(X)
    b = cls().fit(X[rep], y[rep], treatment=t[rep]).predict_uplift(X)
    np.testing.assert_allclose(a, b, atol=2e-4)


@pytest.mark.parametrize("cls", MODELS)
def test_skops_round_trip_trusts_only_churnlib_uplift(cls, matrix):
    X, y, t = matrix
    model = cls().fit(X, y, treatment=t)
    blob = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=blob)
    assert untrusted == [f"churnlib.uplift._models.{cls.__name__}"]
    loaded = sio.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_uplift(X), model.predict_uplift(X))
    assert loaded.get_params().keys() == model.get_params().keys()


def test_skops_round_trip_of_the_whole_pipeline(campaign):
    X, y, t = _split(campaign)
    pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", TwoModelUplift())])
    pipe.fit(X, y, uplift__treatment=t)
    blob = sio.dumps(pipe)
    untrusted = sio.get_untrusted_types(data=blob)
    assert "churnlib.uplift._models.TwoModelUplift" in untrusted
    loaded = sio.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


@pytest.mark.parametrize("cls", MODELS)
def test_clone_and_not_fitted(cls, matrix):
    X, _, _ = matrix
    model = cls(LogisticRegression(C=0.5))
    copy = clone(model)
    assert copy.get_params()["estimator"].C == 0.5
    with pytest.raises(ValueError, match="not fitted"):
        copy.predict_uplift(X)
