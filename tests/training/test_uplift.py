"""ChurnTrainer tracks uplift models: real SQLite MLflow, a file:// model store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from churnlib.contract import get_contract
from churnlib.data import generate_campaign
from churnlib.evaluation import auuc, qini_coefficient, uplift_at_k
from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.training import ChurnTrainer
from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift
from tests.training.conftest import search_runs


@pytest.fixture(scope="module")
def campaign():
    """1,600 customers of a 50/50 campaign: train 1,200, validation 400."""
    df = generate_campaign(1_600, random_state=3)
    X = df.drop(columns=["churned", "offer"])
    y, t = df["churned"], df["offer"]
    return (X.iloc[:1200], y.iloc[:1200], t.iloc[:1200]), (
        X.iloc[1200:],
        y.iloc[1200:],
        t.iloc[1200:],
    )


def _trainer(uri, name, estimator, **kwargs):
    kwargs.setdefault("random_state", 0)
    return ChurnTrainer(estimator, tracking_uri=uri, experiment_name=name, **kwargs)


@pytest.fixture(scope="module")
def tracked(campaign, mlflow_tracking_uri):
    (X, y, t), (Xv, yv, tv) = campaign
    trainer = _trainer(
        mlflow_tracking_uri,
        "uplift-tracked",
        TwoModelUplift(),
        registered_model_name="uplift-churn",
        alias="candidate",
    )
    result = trainer.fit(X, y, treatment=t, X_valid=Xv, y_valid=yv, treatment_valid=tv)
    return result


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def test_uplift_metrics_are_the_evaluation_functions_on_the_validation_split(
    tracked, campaign
):
    _, (Xv, yv, tv) = campaign
    model = tracked.model
    assert tracked.task == "uplift"
    assert [name for name, _ in model.steps] == ["preprocess", "uplift"]
    uplift = model.predict(Xv)  # a pipeline ending in an uplift model
    np.testing.assert_allclose(uplift, model[-1].predict_uplift(model[0].transform(Xv)))
    m = tracked.metrics
    assert m["qini_coefficient"] == pytest.approx(qini_coefficient(yv, uplift, tv))
    assert m["auuc"] == pytest.approx(auuc(yv, uplift, tv))
    assert m["uplift_at_30"] == pytest.approx(uplift_at_k(yv, uplift, tv, k=0.3))
    assert m["mean_uplift"] == pytest.approx(float(np.mean(uplift)))
    assert m["treatment_share"] == pytest.approx(float(np.mean(tv)))
    assert m["qini_coefficient"] > 0.02  # better than a random ranking
    # the two-model learner predicts churn per arm: churn metrics of the
    # probability in each customer's own arm
    p = model[-1].predict_outcomes(model[0].transform(Xv))
    own = np.where(tv.to_numpy(), p[:, 1], p[:, 0])
    assert m["roc_auc"] == pytest.approx(roc_auc_score(yv, own))
    assert "threshold" not in m
    assert m["n_train"] == 1200
    assert m["n_valid"] == 400
    assert "qini_coefficient=" in repr(tracked)
    assert "threshold=" not in repr(tracked)


def test_the_contract_says_uplift_and_leaves_the_offer_out(tracked, campaign):
    (X, _, _), _ = campaign
    contract = get_contract(tracked.model)
    assert contract == tracked.contract
    assert contract.task == "uplift"
    assert "offer" not in contract.feature_names
    assert contract.excluded == {"customer_id": "identifier"}
    assert set(contract.feature_names) == set(X.columns) - {"customer_id"}
    assert json.loads(contract.to_json())["task"] == "uplift"


def test_the_run_records_params_metrics_tags_datasets_and_contract(
    tracked, mlflow_tracking_uri
):
    client = _client(mlflow_tracking_uri)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["task"] == "uplift"
    assert params["estimator"] == "TwoModelUplift"
    assert params["treatment"] == "offer"
    assert params["validation"] == "holdout: X_valid (400 rows)"
    assert "threshold" not in params
    for key in ("qini_coefficient", "auuc", "uplift_at_30", "roc_auc"):
        assert run.data.metrics[key] == pytest.approx(tracked.metrics[key])
    assert run.data.tags["churnlib.task"] == "uplift"
    assert float(run.data.tags["churnlib.treatment_share"]) == pytest.approx(
        0.5, abs=0.05
    )
    assert run.data.tags["churnlib.report"].startswith("skipped: uplift model")
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "valid"}
    schema = json.loads(inputs["train"].dataset.schema)["mlflow_colspec"]
    assert "offer" in {col["name"] for col in schema}  # the offer is part of the data
    assert inputs["train"].dataset.digest == run.data.tags["churnlib.data_fingerprint"]
    local = Path(
        client.download_artifacts(tracked.run_id, "contract.json", dst_path=".")
    )
    assert json.loads(local.read_text())["task"] == "uplift"


def test_the_logged_model_loads_back_and_predicts_the_uplift(
    tracked, campaign, mlflow_tracking_uri
):
    import mlflow

    _, (Xv, _, _) = campaign
    expected = tracked.model.predict(Xv)
    assert tracked.registered_model_uri == "models:/uplift-churn@candidate"
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    try:
        by_uri = mlflow.sklearn.load_model(tracked.model_uri)
        by_alias = mlflow.sklearn.load_model(tracked.registered_model_uri)
        info = mlflow.models.get_model_info(tracked.model_uri)
        pyfunc = mlflow.pyfunc.load_model(tracked.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(by_uri.predict(Xv), expected)
    np.testing.assert_allclose(by_alias.predict(Xv), expected)
    assert get_contract(by_uri).task == "uplift"
    flavor = info.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert "churnlib.uplift._models.TwoModelUplift" in flavor["skops_trusted_types"]
    assert info.flavors["python_function"]["predict_fn"] == "predict"
    categorical = Xv.select_dtypes("category").columns
    plain = Xv.astype(dict.fromkeys(categorical, object))
    np.testing.assert_allclose(np.asarray(pyfunc.predict(plain)), expected)


def test_the_fitted_uplift_model_publishes_and_loads_from_a_store(
    tracked, campaign, tmp_path
):
    from churnlib.deployment import ModelStore

    _, (Xv, _, _) = campaign
    store = ModelStore(tmp_path.joinpath("store").as_uri())
    version = store.publish(tracked, alias="production")
    assert version.contract.task == "uplift"
    assert version.metrics["qini_coefficient"] == pytest.approx(
        tracked.metrics["qini_coefficient"]
    )
    loaded = store.load("production")
    np.testing.assert_allclose(loaded.predict(Xv), tracked.model.predict(Xv))
    assert get_contract(loaded).task == "uplift"
    assert store.publish(tracked).version == version.version  # same run, same version
    # the store version as an MLflow pyfunc (mlflow models serve): its predict
    # is the uplift, not a churn probability the model does not have
    import mlflow.pyfunc

    from churnlib._core.model_facts import through_pipeline

    folder = tmp_path / "store" / "versions" / version.version / "model"
    pyfunc = mlflow.pyfunc.load_model(str(folder))
    final, Xt = through_pipeline(loaded, Xv)
    raw = Xv.astype(dict.fromkeys(Xv.select_dtypes("category"), object))
    np.testing.assert_allclose(
        np.asarray(pyfunc.predict(raw), dtype=float), final.predict_uplift(Xt)
    )


def test_a_pipeline_ending_in_an_uplift_model_and_a_treatment_column(
    campaign, mlflow_tracking_uri
):
    (X, y, t), _ = campaign
    raw = X.assign(offer=t)
    estimator = Pipeline([("scale", StandardScaler()), ("learner", XLearnerUplift())])
    result = _trainer(
        mlflow_tracking_uri, "uplift-pipeline", estimator, cv=3, log_model=False
    ).fit(raw, y, treatment="offer")
    assert "offer" not in result.contract.feature_names
    assert result.model[-1] is not estimator  # cloned, never modified
    assert not hasattr(estimator[-1], "effect_control_")
    fitted = result.model[-1][-1]
    assert fitted.treatment_share_ == pytest.approx(float(np.mean(t)))
    assert result.metrics["cv_folds"] == 3
    assert result.params["validation"].startswith(
        "out-of-fold: 3-fold cross-validation stratified by churn and offer"
    )
    assert -1 <= result.metrics["qini_coefficient"] <= 1
    assert "roc_auc" in result.metrics  # the X-learner predicts churn per arm


def test_class_transformation_has_uplift_metrics_only(campaign, mlflow_tracking_uri):
    (X, y, t), _ = campaign
    result = _trainer(
        mlflow_tracking_uri, "uplift-ct", ClassTransformationUplift(), cv=None
    ).fit(X, y, treatment=t.to_numpy())
    # cv=None and no validation data: nothing is measured, as for churn models
    assert set(result.metrics) == {"n_train", "fit_seconds"}
    assert result.params["validation"] == "none: cv=None and no X_valid"
    assert result.params["treatment"] == "treatment"  # an unnamed array
    assert result.model_uri is not None


@pytest.mark.parametrize(
    ("estimator", "kwargs", "match"),
    [
        (
            RandomForestClassifier(),
            {"treatment": "t"},
            "does not use it.*TwoModelUplift",
        ),
        (None, {"treatment": "t"}, r"estimator=None \(the default churn model\)"),
        (TwoModelUplift(), {}, "needs treatment="),
        (TwoModelUplift(), {"treatment": "t", "X_valid": "v"}, "treatment_valid="),
        (
            TwoModelUplift(),
            {"treatment": "t", "treatment_valid": "t"},
            "without X_valid",
        ),
    ],
)
def test_treatment_and_model_kind_must_agree(
    campaign, mlflow_tracking_uri, estimator, kwargs, match
):
    (X, y, t), (Xv, yv, _) = campaign
    values = {"t": t, "v": Xv}
    fit_kwargs = {k: values[v] for k, v in kwargs.items()}
    if "X_valid" in fit_kwargs:
        fit_kwargs["y_valid"] = yv
    name = "uplift-refused"
    with pytest.raises(InvalidParameterError, match=match):
        _trainer(mlflow_tracking_uri, name, estimator).fit(X, y, **fit_kwargs)
    assert search_runs(mlflow_tracking_uri, name) == []  # before any run


def test_bad_treatment_values_and_settings_are_refused(campaign, mlflow_tracking_uri):
    (X, y, t), _ = campaign
    name = "uplift-bad"
    trainer = _trainer(mlflow_tracking_uri, name, TwoModelUplift())
    with pytest.raises(DataValidationError, match="0/1 or bool"):
        trainer.fit(X, y, treatment=np.where(t, 2, 0))
    with pytest.raises(DataValidationError, match="both offered and not-offered"):
        trainer.fit(X, y, treatment=np.ones(len(X), dtype=bool))
    with pytest.raises(DataValidationError, match="one value per row"):
        trainer.fit(X, y, treatment=t.iloc[:-1])
    with pytest.raises(DataValidationError, match="treatment='offer', which X"):
        trainer.fit(X, y, treatment="offer")
    with pytest.raises(InvalidParameterError, match="Leave threshold=None"):
        _trainer(mlflow_tracking_uri, name, TwoModelUplift(), threshold=0.3).fit(
            X, y, treatment=t
        )
    with pytest.raises(InvalidParameterError, match="tune searches churn"):
        trainer.tune(X, y, {"estimator": [None]}, n_iter=1)
    assert search_runs(mlflow_tracking_uri, name) == []
