"""Issue 16: score_table scores uplift models (predict_uplift, no predict_proba).

The output column is ``churn_reduction_if_offered`` = P(churn | no offer) -
P(churn | offer), the sign convention of :mod:`churnlib.uplift` and of the
uplift curves in evaluation; models of both arms add the churn probabilities.
Values are checked against the model's own methods on the same rows, on both
engines, from a fitted model, a model-store reference and the CLI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churnlib.contract import attach_contract, get_contract, infer_contract
from churnlib.data import generate_campaign
from churnlib.deployment import ModelStore
from churnlib.exceptions import InvalidParameterError
from churnlib.features import ChurnPreprocessor
from churnlib.scoring import read_scores, score_table
from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift
from tests.scoring.conftest import scores_only, write_parts

KEYS = ["customer_id"]
BOTH_ARMS = [
    "churn_probability",
    "churn_probability_if_offered",
    "churn_reduction_if_offered",
    "churn_predicted",
    "model_version",
    "scored_at",
]
REDUCTION_ONLY = ["churn_reduction_if_offered", "model_version", "scored_at"]
MODELS = {
    "two_model": lambda: TwoModelUplift(LogisticRegression(max_iter=500)),
    "x_learner": XLearnerUplift,
    "class_transformation": lambda: ClassTransformationUplift(
        LogisticRegression(max_iter=500)
    ),
}


@pytest.fixture(scope="module")
def campaign():
    return generate_campaign(1200, random_state=3, return_truth=True)


@pytest.fixture(scope="module")
def features(campaign):
    truth = [
        "churn_probability_control",
        "churn_probability_treated",
        "true_uplift",
        "segment",
        "propensity",
    ]
    return campaign.drop(columns=["customer_id", "offer", "churned", *truth])


@pytest.fixture(scope="module")
def pipelines(campaign, features):
    """A fitted ChurnPreprocessor + uplift pipeline per model, with a contract."""
    fitted = {}
    for name, make in MODELS.items():
        pipe = Pipeline([("prep", ChurnPreprocessor()), ("uplift", make())])
        pipe.fit(features, campaign["churned"], uplift__treatment=campaign["offer"])
        contract = infer_contract(
            features, campaign["churned"], id_columns=KEYS, threshold=0.4
        ).with_updates(task="uplift")  # as ChurnTrainer records an uplift model
        fitted[name] = attach_contract(pipe, contract)
    return fitted


@pytest.fixture(scope="module")
def input_dir(campaign, features, tmp_path_factory):
    """What is scored: the customers' raw features and ids, no offer, no label."""
    folder = tmp_path_factory.mktemp("campaign") / "table"
    return write_parts(features.assign(customer_id=campaign["customer_id"]), folder)


def expected(pipe, features):
    Xt = pipe[:-1].transform(features)
    out = {"churn_reduction_if_offered": pipe[-1].predict_uplift(Xt)}
    if hasattr(pipe[-1], "predict_outcomes"):
        both = pipe[-1].predict_outcomes(Xt)
        out["churn_probability"] = both[:, 0]
        out["churn_probability_if_offered"] = both[:, 1]
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_uplift_pipelines_write_the_reduction_and_probabilities(
    name, pipelines, campaign, features, input_dir, tmp_path
):
    pipe = pipelines[name]
    result = score_table(pipe, input_dir, tmp_path / "scores", batch_rows=150)
    got = read_scores(tmp_path / "scores")
    both = name != "class_transformation"
    assert result.kind == "uplift"
    assert list(result.columns) == KEYS + (BOTH_ARMS if both else REDUCTION_ONLY)
    assert list(got.columns) == list(result.columns)
    assert result.rows == 1200
    assert result.id_columns == ("customer_id",)  # from the contract
    assert got["customer_id"].tolist() == campaign["customer_id"].tolist()
    want = expected(pipe, features)
    for column, values in want.items():
        np.testing.assert_allclose(got[column], values, rtol=0, atol=1e-12)
    if both:
        # the reduction is what the offer removes; the decision is on the risk
        # without the offer, at the contract's threshold
        assert result.threshold == 0.4
        assert result.threshold_source == "model"
        np.testing.assert_array_equal(
            got["churn_predicted"], want["churn_probability"] >= 0.4
        )
        assert got["churn_probability"].between(0, 1).all()
    if name == "two_model":
        np.testing.assert_allclose(
            got["churn_reduction_if_offered"],
            got["churn_probability"] - got["churn_probability_if_offered"],
            atol=1e-12,
        )


def test_the_sign_is_the_reduction_the_offer_brings(pipelines, input_dir, campaign):
    """Positive where the offer keeps customers, negative for sleeping dogs."""
    score_table(pipelines["two_model"], input_dir, "memory://uplift-sign/out")
    got = read_scores("memory://uplift-sign/out")
    truth = campaign["true_uplift"].to_numpy()
    reduction = got["churn_reduction_if_offered"].to_numpy()
    assert np.corrcoef(reduction, truth)[0, 1] > 0.3
    dogs = campaign["segment"].to_numpy() == "sleeping dog"
    assert dogs.any()
    assert reduction[dogs].mean() < reduction[~dogs].mean()


def test_a_bare_uplift_model_without_contract(campaign, tmp_path):
    """No pipeline, no contract: features by name, id column guessed."""
    numeric = ["tenure_months", "monthly_charges", "support_calls"]
    X = campaign[numeric]
    model = TwoModelUplift().fit(X, campaign["churned"], treatment=campaign["offer"])
    assert get_contract(model) is None
    campaign[["customer_id", *numeric]].to_parquet(tmp_path / "in.parquet")
    result = score_table(model, tmp_path / "in.parquet", tmp_path / "out")
    got = read_scores(tmp_path / "out")
    assert result.contract == "inferred"
    assert result.threshold_source == "default"
    np.testing.assert_allclose(
        got["churn_reduction_if_offered"], model.predict_uplift(X), atol=1e-12
    )
    np.testing.assert_allclose(
        got["churn_probability"], model.predict_outcomes(X)[:, 0], atol=1e-12
    )


def test_a_store_reference_scores_the_same(pipelines, input_dir, tmp_path):
    pipe = pipelines["x_learner"]
    store = ModelStore(tmp_path / "models")
    version = store.publish(pipe, alias="production")
    loaded = store.load("production")
    assert get_contract(loaded) == get_contract(pipe)
    by_ref = score_table(
        f"{(tmp_path / 'models').as_uri()}@production",
        input_dir,
        tmp_path / "by-ref",
        batch_rows=150,
    )
    direct = score_table(
        pipe,
        input_dir,
        tmp_path / "direct",
        batch_rows=150,
        model_version=version.version,
    )
    assert by_ref.model_version == version.version
    assert by_ref.columns == direct.columns
    pd.testing.assert_frame_equal(
        scores_only(read_scores(tmp_path / "by-ref")),
        scores_only(read_scores(tmp_path / "direct")),
    )


@pytest.mark.slow
def test_dask_and_local_agree_on_uplift(pipelines, input_dir, dask_client, tmp_path):
    for name in ("two_model", "class_transformation"):
        local = score_table(
            pipelines[name], input_dir, tmp_path / f"l-{name}", batch_rows=150
        )
        dask = score_table(
            pipelines[name],
            input_dir,
            tmp_path / f"d-{name}",
            batch_rows=150,
            engine="dask",
            client=dask_client,
        )
        assert dask.columns == local.columns
        assert dask.n_partitions == local.n_partitions > 1
        pd.testing.assert_frame_equal(
            scores_only(read_scores(tmp_path / f"d-{name}")),
            scores_only(read_scores(tmp_path / f"l-{name}")),
        )


def test_the_contract_task_decides(pipelines, campaign, features, input_dir, tmp_path):
    """An "uplift" contract on a churn classifier is refused, never guessed."""
    churn = LogisticRegression(max_iter=500).fit(
        features[["tenure_months", "monthly_charges"]], campaign["churned"]
    )
    contract = infer_contract(
        features[["tenure_months", "monthly_charges"]], campaign["churned"]
    )
    attach_contract(churn, contract.with_updates(task="uplift"))
    with pytest.raises(InvalidParameterError, match="has no predict_uplift"):
        score_table(churn, input_dir, tmp_path / "o")
    attach_contract(churn, contract)  # task "churn": scored as a churn model
    result = score_table(churn, input_dir, tmp_path / "o")
    assert result.kind == "churn"
    assert "churn_reduction_if_offered" not in result.columns


def test_what_an_uplift_model_cannot_do_is_refused(
    pipelines, campaign, features, input_dir, tmp_path
):
    ct = pipelines["class_transformation"]
    with pytest.raises(InvalidParameterError, match="'threshold' parameter"):
        score_table(ct, input_dir, tmp_path / "o", threshold=0.3)
    from churnlib.monitoring import ChurnMonitor

    monitor = ChurnMonitor(
        features.assign(customer_id=campaign["customer_id"]).head(600),
        reference_scores=np.full(600, 0.3),
        rules=(),
        sinks=[],
    )
    with pytest.raises(InvalidParameterError, match="churn_reduction_if_offered"):
        score_table(ct, input_dir, tmp_path / "o", monitor=monitor)
    unfitted = Pipeline([("prep", ChurnPreprocessor()), ("uplift", TwoModelUplift())])
    with pytest.raises(InvalidParameterError, match="must be fitted"):
        score_table(unfitted, input_dir, tmp_path / "o")
    assert not (tmp_path / "o").exists()
    # an input column named like an output column is refused, naming it
    frame = features.assign(customer_id=campaign["customer_id"])
    frame.assign(churn_reduction_if_offered=0.0).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(Exception, match="churn_reduction_if_offered"):
        score_table(
            pipelines["two_model"],
            tmp_path / "c.parquet",
            tmp_path / "o",
            columns=["churn_reduction_if_offered"],
        )


def test_the_cli_scores_an_uplift_model_from_the_store(
    pipelines, input_dir, tmp_path, capsys
):
    from churnlib.cli import main

    store = ModelStore(tmp_path / "models")
    store.publish(pipelines["two_model"], alias="production")
    code = main(
        [
            "score",
            "--model",
            f"{(tmp_path / 'models').as_uri()}@production",
            "--input",
            str(input_dir),
            "--output",
            str(tmp_path / "cli"),
            "--batch-rows",
            "400",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "scored 1,200 rows in 3 partitions" in out, out
    assert "threshold 0.4, model" in out
    assert (
        "uplift model: wrote churn_probability, churn_probability_if_offered, "
        "churn_reduction_if_offered, churn_predicted"
    ) in out
    got = read_scores(tmp_path / "cli")
    direct = score_table(pipelines["two_model"], input_dir, tmp_path / "api")
    np.testing.assert_allclose(
        got["churn_reduction_if_offered"],
        read_scores(tmp_path / "api")["churn_reduction_if_offered"],
        atol=1e-12,
    )
    assert direct.columns == tuple(got.columns)


def test_a_two_arm_model_logs_its_churn_risk_to_the_monitor(
    pipelines, campaign, features, input_dir, tmp_path
):
    from churnlib.monitoring import ChurnMonitor

    pipe = pipelines["two_model"]
    risk = expected(pipe, features)["churn_probability"]
    monitor = ChurnMonitor(
        features.assign(customer_id=campaign["customer_id"]),
        reference_scores=risk,
        rules=(),
        sinks=[],
    )
    result = score_table(pipe, input_dir, tmp_path / "o", monitor=monitor)
    assert result.drift_report is not None
    report = monitor.report(chunk_size=1200)
    assert report.chunks["n"].tolist() == [1200]
    # the rows scored are the reference rows, and the logged score is the
    # churn risk without the offer, the reference score: no drift at all
    drift = result.drift_report.set_index(["feature", "method"])["statistic"]
    assert drift.loc[("model_score", "psi")] == pytest.approx(0.0, abs=1e-12)
    assert drift.loc[("model_score", "ks")] == pytest.approx(0.0, abs=1e-12)
