"""evaluate(), EvaluationReport: metrics, plots, HTML report card, MLflow."""

from __future__ import annotations

import base64
import json
import re
import socket

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibrationDisplay
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.svm import LinearSVC

from churnlib.evaluation import (
    CampaignEconomics,
    CumulativeGainDisplay,
    EvaluationReport,
    FeatureImportanceDisplay,
    LiftCurveDisplay,
    ProfitCurveDisplay,
    _importance,
    evaluate,
    expected_campaign_profit,
    feature_importance,
    ks_statistic,
    lift_score,
)
from churnlib.exceptions import (
    DataValidationError,
    InvalidParameterError,
    TrackingError,
)

FIGURE_KEYS = [
    "confusion_matrix",
    "roc_curve",
    "precision_recall_curve",
    "calibration_curve",
    "lift_curve",
    "cumulative_gain",
    "profit_curve",
    "feature_importance",
]


# ------------------------------------------------------------------- metrics
def test_metrics_equal_sklearn(report, logistic_pipeline, churn_split):
    *_, X_test, y_test, p_test = churn_split
    s = logistic_pipeline.predict_proba(X_test)[:, 1]
    pred = s >= 0.5
    m = report.metrics
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y_test, s))
    assert m["average_precision"] == pytest.approx(average_precision_score(y_test, s))
    assert m["accuracy"] == pytest.approx(accuracy_score(y_test, pred))
    assert m["precision"] == pytest.approx(precision_score(y_test, pred))
    assert m["recall"] == pytest.approx(recall_score(y_test, pred))
    assert m["f1"] == pytest.approx(f1_score(y_test, pred))
    assert m["brier"] == pytest.approx(brier_score_loss(y_test, s))
    assert m["log_loss"] == pytest.approx(log_loss(y_test, s))
    tn, fp, fn, tp = confusion_matrix(y_test, pred).ravel()
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
    assert m["top_decile_lift"] == pytest.approx(lift_score(y_test, s, fraction=0.1))
    assert m["ks"] == pytest.approx(ks_statistic(y_test, s))
    best = expected_campaign_profit(y_test, s, **_default_econ())
    assert m["campaign_profit"] == pytest.approx(best.profit)
    assert m["campaign_fraction"] == pytest.approx(best.fraction)
    assert m["campaign_threshold"] == pytest.approx(best.threshold)
    assert m["bayes_optimal_roc_auc"] == pytest.approx(roc_auc_score(y_test, p_test))
    assert m["roc_auc_gap"] == pytest.approx(m["bayes_optimal_roc_auc"] - m["roc_auc"])
    assert m["n_samples"] == len(y_test)
    assert m["churn_rate"] == pytest.approx(np.mean(y_test))
    np.testing.assert_array_equal(report.y_score, s)
    assert report.name == "LogisticRegression"


def _default_econ():
    e = CampaignEconomics()
    return {
        "customer_value": e.customer_value,
        "incentive_cost": e.incentive_cost,
        "contact_cost": e.contact_cost,
        "acceptance_rate": e.acceptance_rate,
    }


def test_to_frame(report):
    frame = report.to_frame()
    assert list(frame.columns) == ["value", "description"]
    assert frame.index.name == "metric"
    assert list(frame.index) == list(report.metrics)
    assert frame.loc["roc_auc", "value"] == report.metrics["roc_auc"]
    assert frame["description"].str.len().gt(0).all()
    assert "bayes_optimal_roc_auc" in frame.index


def test_threshold_and_profit_parameters(logistic_pipeline, churn_split):
    *_, X_test, y_test, _ = churn_split
    r = evaluate(
        logistic_pipeline,
        X_test,
        y_test,
        threshold=0.2,
        profit={"customer_value": 1000.0, "acceptance_rate": 0.5},
        name="lr",
    )
    s = logistic_pipeline.predict_proba(X_test)[:, 1]
    assert r.metrics["tp"] + r.metrics["fp"] == np.count_nonzero(s >= 0.2)
    assert r.campaign.economics == CampaignEconomics(
        customer_value=1000.0, acceptance_rate=0.5
    )
    best = expected_campaign_profit(
        y_test,
        s,
        customer_value=1000.0,
        incentive_cost=10.0,
        contact_cost=1.0,
        acceptance_rate=0.5,
    )
    assert r.metrics["campaign_profit"] == pytest.approx(best.profit)
    assert "bayes_optimal_roc_auc" not in r.metrics
    assert r.name == "lr"
    econ = CampaignEconomics(incentive_cost=50.0)
    assert (
        evaluate(logistic_pipeline, X_test, y_test, profit=econ).campaign.economics
        is econ
    )


def test_string_labels_and_pos_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] + rng.normal(size=200) > 0.8, "Yes", "No")
    model = LogisticRegression().fit(X, y)
    # the one label rule knows "Yes"; a pair that names no churn is refused
    assert (
        evaluate(model, X, y).metrics == evaluate(model, X, y, pos_label="Yes").metrics
    )
    ab = np.where(y == "Yes", "b", "a")
    with pytest.raises(DataValidationError, match="Pass pos_label"):
        evaluate(LogisticRegression().fit(X, ab), X, ab)
    r = evaluate(model, X, y, pos_label="Yes")
    assert r.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(y == "Yes", model.predict_proba(X)[:, 1])
    )
    assert r.metrics["churn_rate"] == pytest.approx(np.mean(y == "Yes"))
    # the other class as "churn" mirrors the ranking
    r_no = evaluate(model, X, y, pos_label="No")
    assert r_no.metrics["roc_auc"] == pytest.approx(r.metrics["roc_auc"])
    assert r_no.metrics["churn_rate"] == pytest.approx(1 - r.metrics["churn_rate"])


class _BadProba(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.linspace(-0.5, 1.5, len(X))
        return np.column_stack([1 - s, s])


def test_bad_inputs(logistic_pipeline, churn_split):
    *_, X_test, y_test, _ = churn_split
    with pytest.raises(InvalidParameterError, match="has none"):
        evaluate(
            LinearSVC().fit(X_test[["tenure"]], y_test), X_test[["tenure"]], y_test
        )
    with pytest.raises(DataValidationError, match="X has 300 rows but y has 299"):
        evaluate(logistic_pipeline, X_test, y_test[:-1])
    with pytest.raises(DataValidationError, match="single class"):
        evaluate(logistic_pipeline, X_test, np.zeros(len(X_test), dtype=bool))
    with pytest.raises(DataValidationError, match=r"probabilities in \[0, 1\]"):
        evaluate(_BadProba().fit(X_test, y_test), X_test, y_test)
    with pytest.raises(DataValidationError, match="truth has 3 values"):
        evaluate(logistic_pipeline, X_test, y_test, truth=[0.1, 0.2, 0.3])
    with pytest.raises(DataValidationError, match="truth must be probabilities"):
        evaluate(logistic_pipeline, X_test, y_test, truth=np.full(len(y_test), 2.0))
    with pytest.raises(
        InvalidParameterError, match="'threshold' parameter of evaluate"
    ):
        evaluate(logistic_pipeline, X_test, y_test, threshold=1.5)
    with pytest.raises(InvalidParameterError, match="unknown keys"):
        evaluate(logistic_pipeline, X_test, y_test, profit={"value": 1})
    with pytest.raises(InvalidParameterError, match="'profit' parameter"):
        evaluate(logistic_pipeline, X_test, y_test, profit=3)


def test_unfitted_model_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        evaluate(LogisticRegression(), np.zeros((4, 1)), [0, 1, 0, 1])


def test_summary_mentions_whom_to_target(report):
    text = report.summary()
    assert "Whom to target" in text
    assert f"{report.campaign.threshold:.3f}" in text
    assert "Bayes" not in text  # plain words, not jargon
    assert "true churn probability" in text


def test_summary_when_no_campaign_pays(logistic_pipeline, churn_split):
    *_, X_test, y_test, _ = churn_split
    r = evaluate(logistic_pipeline, X_test, y_test, profit={"acceptance_rate": 0.0})
    assert r.metrics["campaign_fraction"] == 0.0
    assert "no campaign is profitable" in r.summary()


# --------------------------------------------------------------------- plots
@pytest.mark.parametrize(
    ("method", "display_cls"),
    [
        ("plot_confusion_matrix", ConfusionMatrixDisplay),
        ("plot_roc_curve", RocCurveDisplay),
        ("plot_precision_recall_curve", PrecisionRecallDisplay),
        ("plot_calibration_curve", CalibrationDisplay),
        ("plot_lift_curve", LiftCurveDisplay),
        ("plot_cumulative_gain", CumulativeGainDisplay),
        ("plot_profit_curve", ProfitCurveDisplay),
        ("plot_feature_importance", FeatureImportanceDisplay),
    ],
)
def test_plot_methods_return_displays_on_ax(pyplot, report, method, display_cls):
    fig, ax = pyplot.subplots()
    display = getattr(report, method)(ax=ax)
    assert isinstance(display, display_cls)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert len(pyplot.get_fignums()) == 1
    # without ax: a new figure
    other = getattr(report, method)()
    assert other.ax_ is not ax


def test_roc_plot_draws_bayes_optimal_curve(pyplot, report):
    display = report.plot_roc_curve()
    labels = [line.get_label() for line in display.ax_.lines]
    assert any("Bayes-optimal" in label for label in labels)
    display = report.plot_roc_curve(plot_bayes_optimal=False)
    assert not any("Bayes" in line.get_label() for line in display.ax_.lines)


def test_confusion_matrix_plot_counts(pyplot, report):
    display = report.plot_confusion_matrix()
    m = report.metrics
    np.testing.assert_array_equal(
        display.confusion_matrix, [[m["tn"], m["fp"]], [m["fn"], m["tp"]]]
    )


# -------------------------------------------------------- feature importance
def test_permutation_importance_is_grouped_by_input_column(
    logistic_pipeline, churn_split
):
    *_, X_test, y_test, _ = churn_split
    imp = feature_importance(
        logistic_pipeline, X_test, y_test, method="permutation", random_state=0
    )
    assert imp.attrs["method"] == "permutation"
    assert set(imp.index) == set(X_test.columns)  # contract, not contract_month
    assert imp.index[0] in {"contract", "tenure"}
    assert imp.loc["noise", "importance_mean"] < imp.loc["contract", "importance_mean"]
    assert (imp["importance_std"] >= 0).all()
    # auto -> permutation for a model without feature_importances_
    auto = feature_importance(logistic_pipeline, X_test, y_test, random_state=0)
    pd.testing.assert_frame_equal(auto, imp)


def test_impurity_importance_sums_one_hot_columns(forest_pipeline, churn_split):
    *_, X_test, _, _ = churn_split
    imp = feature_importance(forest_pipeline, X_test, method="impurity")
    forest = forest_pipeline[-1]
    names = forest_pipeline[:-1].get_feature_names_out()
    onehot = [i for i, n in enumerate(names) if n.startswith("onehotencoder__contract")]
    assert len(onehot) == 3
    assert imp.loc["contract", "importance_mean"] == pytest.approx(
        forest.feature_importances_[onehot].sum()
    )
    assert imp["importance_mean"].sum() == pytest.approx(1.0)
    assert set(imp.index) == set(X_test.columns)
    assert imp["importance_std"].notna().all()  # spread across the trees
    assert imp["importance_mean"].is_monotonic_decreasing


def test_feature_importance_bad_calls(logistic_pipeline, churn_split):
    *_, X_test, y_test, _ = churn_split
    with pytest.raises(InvalidParameterError, match="feature_importances_"):
        feature_importance(logistic_pipeline, X_test, y_test, method="impurity")
    with pytest.raises(InvalidParameterError, match="needs the true outcomes"):
        feature_importance(logistic_pipeline, X_test, method="permutation")
    with pytest.raises(InvalidParameterError, match="'method' parameter"):
        feature_importance(logistic_pipeline, X_test, y_test, method="shap")


def test_report_caches_importance(report, monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    real = _importance.feature_importance
    monkeypatch.setattr(_importance, "feature_importance", counting)
    a = report.feature_importance(method="permutation", n_repeats=2)
    expected = a.copy()
    a.iloc[0, 0] = -1.0  # callers get a copy, the cache is untouched
    b = report.feature_importance(method="permutation", n_repeats=2)
    assert len(calls) == 1  # computed once
    pd.testing.assert_frame_equal(b, expected)
    report.feature_importance(method="permutation", n_repeats=3)
    assert len(calls) == 2  # other settings, other entry


def test_feature_importance_for_plain_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = X[:, 1] > 0
    model = LogisticRegression().fit(X, y)
    imp = feature_importance(model, X, y, random_state=0)
    assert imp.index[0] == "x1"


# ----------------------------------------------------------------------- HTML
def _images(document):
    return re.findall(
        r"<figure id='([a-z_]+)'>.*?src='data:image/png;base64,([^']+)'",
        document,
        flags=re.S,
    )


def test_html_is_self_contained_and_has_every_figure(report):
    document = report.to_html()
    images = _images(document)
    assert [key for key, _ in images] == FIGURE_KEYS
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    # nothing fetched from elsewhere
    assert not re.search(r"(?:src|href)\s*=\s*['\"](?!data:)", document)
    assert "http://" not in document
    assert "https://" not in document
    assert "<link" not in document
    assert "<script" not in document
    assert "@import" not in document
    # the metrics table and the plain-language summary
    for key in report.metrics:
        assert f"<tr><th>{key}</th>" in document
    assert "In plain words" in document
    assert "Whom to target" in document
    assert document.startswith("<!DOCTYPE html>")


def test_html_escapes_the_model_name(logistic_pipeline, churn_split):
    *_, X_test, y_test, _ = churn_split
    r = evaluate(logistic_pipeline, X_test, y_test, name="<b>lr</b>")
    document = r.to_html(feature_importance=None)
    assert "<b>lr</b>" not in document
    assert "&lt;b&gt;lr&lt;/b&gt;" in document
    assert [key for key, _ in _images(document)] == FIGURE_KEYS[:-1]


def test_save_html_to_any_fsspec_url(report, storage_url):
    import fsspec

    url = f"{storage_url}/cards/nested/report.html"
    report.save_html(url, feature_importance=None)
    with fsspec.open(url, "r", encoding="utf-8") as f:
        document = f.read()
    assert document.startswith("<!DOCTYPE html>")
    assert len(_images(document)) == len(FIGURE_KEYS) - 1


def test_save_html_local_path(report, tmp_path):
    path = tmp_path / "out" / "card.html"
    report.save_html(path)
    assert len(_images(path.read_text(encoding="utf-8"))) == len(FIGURE_KEYS)


# --------------------------------------------------------------------- MLflow
@pytest.fixture
def mlflow_run(mlflow_tracking_uri, tmp_path, request):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    experiment_id = client.create_experiment(
        f"evaluation-{request.node.name}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    run = client.create_run(experiment_id)
    client.set_terminated(run.info.run_id)
    return client, run.info.run_id


def test_log_to_mlflow_puts_metrics_and_artifacts_on_the_run(
    report, mlflow_run, mlflow_tracking_uri
):
    client, run_id = mlflow_run
    report.log_to_mlflow(run_id, tracking_uri=mlflow_tracking_uri, prefix="test_")
    logged = client.get_run(run_id).data.metrics
    for key, value in report.metrics.items():
        assert logged[f"test_{key}"] == pytest.approx(value)
    paths = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    expected = {f"evaluation/{k}.png" for k in FIGURE_KEYS}
    expected |= {"evaluation/report.html", "evaluation/metrics.json"}
    assert paths == expected
    local = client.download_artifacts(run_id, "evaluation/report.html")
    with open(local, encoding="utf-8") as f:
        assert len(_images(f.read())) == len(FIGURE_KEYS)
    metrics_json = client.download_artifacts(run_id, "evaluation/metrics.json")
    with open(metrics_json, encoding="utf-8") as f:
        assert json.load(f)["roc_auc"] == pytest.approx(report.metrics["roc_auc"])


def test_log_to_mlflow_uses_the_current_tracking_uri(
    report, mlflow_run, mlflow_tracking_uri, monkeypatch
):
    client, run_id = mlflow_run
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_tracking_uri)
    report.log_to_mlflow(run_id, figures=False)
    assert "roc_auc" in client.get_run(run_id).data.metrics
    paths = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert paths == {"evaluation/metrics.json"}


def test_log_to_mlflow_unknown_run(report, mlflow_tracking_uri):
    with pytest.raises(TrackingError, match="'no-such-run' was not found") as info:
        report.log_to_mlflow("no-such-run", tracking_uri=mlflow_tracking_uri)
    assert info.value.tracking_uri == mlflow_tracking_uri


def test_log_to_mlflow_never_shows_credentials_or_tokens(report, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as sock:  # a free port: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://alice:s3cr3t@127.0.0.1:{port}/?token=s3cr3t"
    with pytest.raises(TrackingError) as info:
        report.log_to_mlflow("some-run", tracking_uri=uri, figures=False)
    assert "s3cr3t" not in str(info.value)
    assert info.value.tracking_uri == f"http://***@127.0.0.1:{port}/?***"


def test_report_is_a_frozen_result(report):
    assert isinstance(report, EvaluationReport)
    with pytest.raises(AttributeError):
        report.threshold = 0.3
    assert "roc_auc" in repr(report)


def test_dummy_model_has_chance_level_ranking():
    X = np.zeros((100, 1))
    y = np.array([0, 1] * 50)
    r = evaluate(DummyClassifier(strategy="prior").fit(X, y), X, y)
    assert r.metrics["roc_auc"] == 0.5
    assert r.metrics["ks"] == 0.0
    assert r.metrics["top_decile_lift"] == pytest.approx(1.0)


def test_threshold_wrapper_is_unwrapped(churn_split):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import make_pipeline

    from tests.evaluation.conftest import preprocessor

    X_train, y_train, X_test, y_test, _ = churn_split
    model = make_pipeline(
        preprocessor(),
        FixedThresholdClassifier(
            RandomForestClassifier(n_estimators=10, random_state=0), threshold=0.3
        ),
    ).fit(X_train, y_train)
    r = evaluate(model, X_test, y_test, threshold=0.3)
    assert r.name == "RandomForestClassifier"
    imp = r.feature_importance()
    assert imp.attrs["method"] == "impurity"
    assert set(imp.index) == set(X_test.columns)


def test_group_output_features_name_matching():
    from churnlib.evaluation._importance import group_output_features

    inputs = ["contract", "tenure", "tenure_months", "age"]
    outputs = [
        "onehotencoder__contract_month",
        "cat__contract=two year",
        "tenure",
        "num__tenure_months",
        "tenure_months_squared",
        "remainder__age",
        "derived__charges_per_month",
    ]
    assert group_output_features(outputs, inputs) == [
        "contract",
        "contract",
        "tenure",
        "tenure_months",
        "tenure_months",
        "age",
        "charges_per_month",
    ]


class _Precomputed(ClassifierMixin, BaseEstimator):
    """A 'fitted model' returning fixed probabilities (rows of X are ignored)."""

    def __init__(self, scores=None):
        self.scores = scores

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.column_stack([1 - self.scores, self.scores])


@given(
    st.integers(min_value=2, max_value=80).flatmap(
        lambda n: st.tuples(
            arrays(np.int8, n, elements=st.integers(0, 1)),
            arrays(np.float64, n, elements=st.floats(0, 1))
            | arrays(np.float64, n, elements=st.sampled_from([0.0, 0.3, 0.5, 1.0])),
        )
    ),
    st.floats(0, 1),
)
def test_evaluate_equals_sklearn_on_random_inputs(data, threshold):
    y, s = data
    assume(0 < y.sum() < len(y))
    m = evaluate(
        _Precomputed(s).fit(), np.zeros((len(y), 1)), y, threshold=threshold
    ).metrics
    pred = s >= threshold
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["average_precision"] == pytest.approx(average_precision_score(y, s))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
    assert m["recall"] == pytest.approx(recall_score(y, pred, zero_division=0))
    assert m["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
    assert m["brier"] == pytest.approx(brier_score_loss(y, s))
    assert m["log_loss"] == pytest.approx(log_loss(y, s))
    cm = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert [m["tn"], m["fp"], m["fn"], m["tp"]] == cm.tolist()
    assert m["ks"] == pytest.approx(ks_statistic(y, s))
    assert m["top_decile_lift"] == pytest.approx(lift_score(y, s, fraction=0.1))


@pytest.mark.parametrize(
    ("pos", "neg"), [("Left", "Stayed"), ("Attrited Customer", "Existing Customer")]
)
def test_text_labels_use_the_one_label_rule(pos, neg):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    churn = X[:, 0] + rng.normal(size=300) > 0.8
    y = np.where(churn, pos, neg)
    model = LogisticRegression().fit(X, y)
    r = evaluate(model, X, y)
    assert r.metrics["churn_rate"] == pytest.approx(churn.mean())
    assert r.metrics["roc_auc"] > 0.7  # not the mirrored 1 - AUC


def test_empty_input_says_so():
    model = LogisticRegression().fit(np.eye(2), [0, 1])
    with pytest.raises(DataValidationError, match="no customers to evaluate"):
        evaluate(model, np.empty((0, 2)), [])


def _leaky_model(allow_leakage):
    from churnlib import FeatureSpec, ModelContract
    from churnlib._core.contract import attach_contract

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=400)})
    y = X["x"].to_numpy() + rng.normal(size=400) > 0.5
    model = LogisticRegression().fit(X, y)
    contract = ModelContract(
        features=(FeatureSpec(name="x", role="numeric", dtype="float64"),),
        leakage={"Naive_Bayes_1": 0.999},
        excluded={} if allow_leakage else {"Naive_Bayes_1": "leakage"},
        allow_leakage=allow_leakage,
    )
    return attach_contract(model, contract), X, y


@pytest.mark.parametrize("allow_leakage", [False, True])
def test_report_card_shows_the_leakage_banner(allow_leakage):
    model, X, y = _leaky_model(allow_leakage)
    report = evaluate(model, X, y)
    banner = report.leakage_banner()
    assert "Naive_Bayes_1" in banner
    assert ("WITH suspected target leaks" in banner) is allow_leakage
    assert report.summary().startswith(banner)
    html = report.to_html(feature_importance=None)
    assert html.count("Naive_Bayes_1") == 1
    assert 'class="banner"' in html


def test_no_banner_without_leaks_and_ece_is_reported():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = X[:, 0] + rng.normal(size=300) > 0.8
    report = evaluate(LogisticRegression().fit(X, y), X, y)
    assert report.leakage_banner() is None
    assert 0.0 <= report.metrics["ece"] < 0.1
    assert 'class="banner"' not in report.to_html(feature_importance=None)


def test_uplift_section_appears_with_campaign_data():
    from sklearn.pipeline import make_pipeline

    from churnlib.data import generate_campaign
    from churnlib.features import ChurnPreprocessor
    from churnlib.uplift import TwoModelUplift

    df = generate_campaign(3_000, random_state=0)
    X = df.drop(columns=["churned", "offer", "customer_id"])
    train, test = slice(0, 2_000), slice(2_000, None)
    churn_model = make_pipeline(ChurnPreprocessor(), LogisticRegression(max_iter=500))
    churn_model.fit(X[train], df["churned"][train])
    uplift_model = make_pipeline(
        ChurnPreprocessor(), TwoModelUplift(LogisticRegression(max_iter=500))
    )
    uplift_model.fit(
        X[train], df["churned"][train], twomodeluplift__treatment=df["offer"][train]
    )
    plain = evaluate(churn_model, X[test], df["churned"][test])
    assert plain.uplift_section() is None
    assert 'id="uplift"' not in plain.to_html(feature_importance=None)
    report = evaluate(
        churn_model,
        X[test],
        df["churned"][test],
        treatment=df["offer"][test],
        uplift=uplift_model,
    )
    html = report.to_html(feature_importance=None)
    assert html.count('<section id="uplift">') == 1
    assert "churn probability" in report.uplift_section()
    with pytest.raises(InvalidParameterError, match="needs both treatment"):
        evaluate(churn_model, X[test], df["churned"][test], treatment=df["offer"][test])


def test_save_html_failure_is_a_churnlib_error_without_secrets(report, tmp_path):
    from churnlib.exceptions import StorageError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    url = f"{blocker.as_uri()}/sub/r.html?sig=SECRET"
    with pytest.raises(StorageError) as e:
        report.save_html(url, feature_importance=None)
    assert "SECRET" not in str(e.value)
    assert e.value.__cause__ is None
    assert e.value.__context__ is None
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_outcomes_are_paired_with_rows_by_index(logistic_pipeline, churn_split):
    # a pandas y holding the same customers in another order is matched by
    # index; one for other rows is refused, not silently paired by position
    *_, X_test, y_test, _ = churn_split
    y = pd.Series(np.asarray(y_test), index=X_test.index)
    base = evaluate(logistic_pipeline, X_test, y).metrics
    moved = evaluate(logistic_pipeline, X_test, y.sample(frac=1, random_state=0))
    assert moved.metrics == pytest.approx(base, nan_ok=True)
    with pytest.raises(DataValidationError, match="evaluate: the index of y"):
        evaluate(logistic_pipeline, X_test, y.set_axis(y.index + 10**6))
