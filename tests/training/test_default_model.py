"""The adaptive default model: selection by CV, calibration, nested runs, quality."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from churnlib.exceptions import DataQualityWarning
from churnlib.features import ChurnPreprocessor, train_test_split_churn
from churnlib.training import (
    CalibratedChurnClassifier,
    ChurnTrainer,
    ModelSelection,
    expected_calibration_error,
)
from churnlib.training._estimators import calibrate_scores

from .conftest import search_runs

SHARED = Path(__file__).parents[2].parent / "shared" / "data"


def _default(uri, experiment, **kwargs):
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("time_budget", 60)
    kwargs.setdefault("log_model", False)
    kwargs.setdefault("log_report", False)
    return ChurnTrainer(tracking_uri=uri, experiment_name=experiment, **kwargs)


@pytest.fixture(scope="module")
def default_fit(churn_data, mlflow_tracking_uri):
    X, y = churn_data
    return _default(mlflow_tracking_uri, "default-model").fit(X, y)


# --- the selection ------------------------------------------------------------


def test_selection_is_recorded_in_the_result(default_fit):
    selection = default_fit.selection
    assert isinstance(selection, ModelSelection)
    frame = selection.to_frame()
    assert {"logistic", "gradient_boosting", "random_forest"} <= set(frame.index)
    assert (frame["status"] == "selected").sum() == 1
    assert frame.index[frame["status"] == "selected"][0] == selection.selected
    scored = frame[frame["status"].isin(["selected", "scored"])]
    assert scored["roc_auc"].between(0.5, 1.0).all()
    # the winner has the best cross-validated ROC AUC
    assert frame.loc[selection.selected, "roc_auc"] == scored["roc_auc"].max()
    assert selection.cv_folds == 5
    assert selection.calibration in ("isotonic", "sigmoid")
    assert set(selection.members) <= {"logistic", "gradient_boosting", "random_forest"}
    assert "+".join(selection.members) == selection.selected


def test_validation_metrics_reuse_the_selection_folds(default_fit):
    m = default_fit.metrics
    assert m["cv_folds"] == 5.0
    assert default_fit.params["validation"] == (
        "out-of-fold: the selection's 5-fold predictions (no extra fit)"
    )
    assert 0.0 <= m["ece"] <= 0.2
    assert 0.0 < m["brier"] < 0.25
    assert m["roc_auc"] > 0.7
    # the metrics are the winner's out-of-fold scores, so no extra fits: the
    # whole fit is the selection plus preprocessing
    assert m["selection_seconds"] <= m["fit_seconds"]


def test_each_candidate_is_a_nested_mlflow_run(default_fit, mlflow_tracking_uri):
    from mlflow.tracking import MlflowClient

    runs = search_runs(mlflow_tracking_uri, "default-model")
    parent = next(r for r in runs if r.info.run_id == default_fit.run_id)
    children = [
        r for r in runs if r.data.tags.get("mlflow.parentRunId") == default_fit.run_id
    ]
    candidates = [  # the model families, and the selected blend if one won
        c
        for c in default_fit.selection.candidates
        if "+" not in c.name or c.status == "selected"
    ]
    assert sorted(r.info.run_name for r in children) == sorted(
        c.name for c in candidates
    )
    by_name = {r.info.run_name: r for r in children}
    for c in candidates:
        child = by_name[c.name]
        assert child.info.status == "FINISHED"
        assert child.data.tags["churnlib.selection"] == c.status
        if np.isfinite(c.roc_auc):
            assert child.data.metrics["cv_roc_auc"] == pytest.approx(c.roc_auc)
    assert parent.data.tags["churnlib.selected"] == default_fit.selection.selected
    assert parent.data.params["estimator"] == "auto (selected by cross-validation)"
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    path = client.download_artifacts(default_fit.run_id, "selection.json")
    logged = json.loads(Path(path).read_text())
    assert logged["selected"] == default_fit.selection.selected
    assert len(logged["candidates"]) == len(default_fit.selection.candidates)


def test_deterministic_under_random_state(default_fit, churn_data, mlflow_tracking_uri):
    X, y = churn_data
    again = _default(mlflow_tracking_uri, "default-model-again").fit(X, y)
    assert again.selection.selected == default_fit.selection.selected
    np.testing.assert_allclose(
        again.model.predict_proba(X), default_fit.model.predict_proba(X)
    )
    pd.testing.assert_series_equal(
        again.selection.to_frame()["roc_auc"],
        default_fit.selection.to_frame()["roc_auc"],
    )


def test_time_budget_skips_candidates_but_keeps_a_model(
    churn_data, mlflow_tracking_uri
):
    X, y = churn_data
    result = _default(mlflow_tracking_uri, "tiny-budget", time_budget=1e-3).fit(X, y)
    frame = result.selection.to_frame()
    # the first candidate always finishes
    assert frame.loc["gradient_boosting", "status"] == "selected"
    skipped = frame[frame["status"].str.startswith("skipped: time budget")]
    assert {"logistic", "random_forest"} <= set(skipped.index)
    assert result.model.predict_proba(X.head(3)).shape == (3, 2)


def test_fixed_and_tuned_thresholds_on_the_default_model(
    churn_data, mlflow_tracking_uri
):
    X, y = churn_data
    fixed = _default(mlflow_tracking_uri, "thr", threshold=0.3, time_budget=2).fit(X, y)
    proba = fixed.model.predict_proba(X)[:, 1]
    assert fixed.threshold == 0.3 == fixed.contract.threshold
    np.testing.assert_array_equal(fixed.model.predict(X), proba >= 0.3)
    tuned = _default(mlflow_tracking_uri, "thr", threshold="f1", time_budget=2).fit(
        X, y
    )
    assert 0.0 < tuned.threshold < 1.0
    assert tuned.contract.threshold == tuned.threshold == tuned.metrics["threshold"]
    # a threshold that maximises F1 flags more customers than 0.5 on a 25 % base
    assert tuned.threshold < 0.5


def test_invalid_time_budget(churn_data, mlflow_tracking_uri):
    from churnlib.exceptions import InvalidParameterError

    X, y = churn_data
    with pytest.raises(InvalidParameterError, match="'time_budget' parameter"):
        _default(mlflow_tracking_uri, "bad", time_budget=0).fit(X, y)


# --- the calibrated estimator ----------------------------------------------------


def _noisy(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    p = 1 / (1 + np.exp(-(1.5 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 - 1.2)))
    return X, rng.random(n) < p


def test_calibration_keeps_the_ranking_and_improves_ece():
    X, y = _noisy()
    X_test, y_test = _noisy(seed=1)
    tree = DecisionTreeClassifier(min_samples_leaf=5, random_state=0)
    raw = clone(tree).fit(X, y)  # over-confident leaves
    clf = CalibratedChurnClassifier([("tree", tree)], random_state=0).fit(X, y)
    p_raw = raw.predict_proba(X_test)[:, 1]
    p_cal = clf.predict_proba(X_test)[:, 1]
    # strictly increasing map of the same model: the same ROC AUC
    assert roc_auc_score(y_test, p_cal) == pytest.approx(roc_auc_score(y_test, p_raw))
    assert expected_calibration_error(y_test, p_cal) < 0.5 * expected_calibration_error(
        y_test, p_raw
    )
    assert expected_calibration_error(y_test, p_cal) < 0.04
    assert clf.method_ in ("isotonic", "sigmoid")
    assert clone(clf).get_params()["method"] == "auto"


def test_calibrated_blend_averages_members_and_keeps_labels():
    X, y = _noisy()
    labels = np.where(y, "Yes", "No")
    clf = CalibratedChurnClassifier(
        [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=4))],
        method="sigmoid",
        cv=3,
        random_state=0,
    ).fit(X, labels)
    assert clf.classes_.tolist() == ["No", "Yes"]
    assert set(clf.predict(X[:50])) <= {"No", "Yes"}
    members = np.mean([m.predict_proba(X)[:, 1] for m in clf.estimators_], axis=0)
    p = clf.predict_proba(X)[:, 1]
    # same order as the members' average (the map is strictly increasing)
    assert np.array_equal(
        np.argsort(members, kind="stable"), np.argsort(p, kind="stable")
    )
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_calibrate_scores_is_cross_fitted():
    rng = np.random.default_rng(0)
    truth = rng.random(3000)
    y = (rng.random(3000) < truth).astype(int)
    _, _, crossed = calibrate_scores(truth**2, y, random_state=0)
    assert crossed.shape == y.shape
    assert expected_calibration_error(y, crossed) < 0.03
    assert expected_calibration_error(y, truth**2) > 0.1


# --- quality on churn tables it was not tuned on ---------------------------------


def _table(kind: str, n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """A public-like churn table: an id, text categories, blanks, a text label."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n).astype(float)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    calls = rng.poisson(1.5, n).astype(float)
    spend = np.round(rng.gamma(2.0, 30.0, n), 2)
    region = rng.choice([f"r{i}" for i in range(8)], n)
    if kind == "noisy-linear":  # a smooth, weak signal: linear models do well
        logit = -0.03 * tenure + 0.35 * calls + 0.006 * spend - 0.8
        logit = logit + np.where(plan == "premium", -0.6, 0.0)
    else:  # "sharp": thresholds and an interaction, where trees do well
        logit = np.where((tenure < 8) & (plan == "basic"), 2.2, -2.0)
        logit = logit + np.where(calls >= 4, 1.8, 0.0) + np.where(spend > 120, 0.9, 0)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    spend_text = spend.astype(str)
    spend_text[rng.random(n) < 0.02] = " "  # blanks, as real exports have
    X = pd.DataFrame(
        {
            "account_no": [f"A{100000 + i}" for i in range(n)],
            "tenure": tenure,
            "plan": plan,
            "support_calls": calls,
            "monthly_spend": pd.to_numeric(spend_text, errors="coerce"),
            "region": region,
        }
    )
    y = pd.Series(np.where(churn, "Churned", "Stayed"), name="status")
    return X, y


def _baseline_aucs(X_train, X_test, y_train, y_test):
    out = {}
    for name, est in {
        "LR": LogisticRegression(max_iter=1000),
        "RF": RandomForestClassifier(n_estimators=300, n_jobs=-1, random_state=0),
        "HGB": HistGradientBoostingClassifier(random_state=0),
    }.items():
        pipe = Pipeline([("p", ChurnPreprocessor()), ("m", est)]).fit(X_train, y_train)
        out[name] = roc_auc_score(y_test, pipe.predict_proba(X_test)[:, 1])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["noisy-linear", "sharp"])
def test_default_matches_the_best_plain_baseline(kind, mlflow_tracking_uri):
    X, y = _table(kind, 2500, seed=7)
    X_train, X_test, y_train, y_test = train_test_split_churn(
        X, y, test_size=0.2, random_state=42
    )
    y01_train, y01_test = y_train == "Churned", y_test == "Churned"
    plain = _baseline_aucs(
        X_train.drop(columns="account_no"),
        X_test.drop(columns="account_no"),
        y01_train,
        y01_test,
    )
    result = _default(mlflow_tracking_uri, f"quality-{kind}").fit(X_train, y_train)
    assert result.contract.excluded == {"account_no": "identifier"}
    assert result.contract.labels.pos_label == "Churned"
    proba = result.model.predict_proba(X_test)[:, 1]
    auc = roc_auc_score(y01_test, proba)
    assert auc >= max(plain.values()) - 0.01, (auc, plain)
    assert expected_calibration_error(y01_test, proba) < 0.05


PUBLIC = [
    # file, target, churn value, test ROC AUC floor (stratified 80/20, seed 42);
    # measured .8482, .8677, .9924 (ECE .0165, .0165, .0071): the floors sit
    # about .005 below, so a regression fails and platform noise does not
    ("telco_customer_churn.csv", "Churn", "Yes", 0.843),
    ("bank_churn_modelling.csv", "Exited", 1, 0.862),
    ("credit_card_churners.csv", "Attrition_Flag", "Attrited Customer", 0.988),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "target", "positive", "floor"), PUBLIC)
def test_quality_floor_on_the_public_tables(
    name, target, positive, floor, mlflow_tracking_uri
):
    from churnlib.data import read_churn_table

    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared churn table {name} not found next to the repository")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # leaks, named
        X, y, _ = read_churn_table(path, target=target, pos_label=positive)
    X_train, X_test, y_train, y_test = train_test_split_churn(
        X, y, test_size=0.2, random_state=42
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        result = _default(mlflow_tracking_uri, f"public-{name}", time_budget=300).fit(
            X_train, y_train
        )
    assert not any(r == "leakage" for r in result.contract.excluded.values()) or (
        name == "credit_card_churners.csv"
    )
    proba = result.model.predict_proba(X_test)[:, 1]
    auc = roc_auc_score(y_test, proba)
    assert auc >= floor
    assert auc <= 0.995  # no leak left in the features
    assert expected_calibration_error(y_test, proba) <= 0.025
