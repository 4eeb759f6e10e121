"""A monitor built from a contract-carrying model; bad reference columns."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from churnlib._core.contract import attach_contract, get_contract, infer_contract
from churnlib.data import generate_customers, simulate_production
from churnlib.exceptions import DataQualityWarning, DataValidationError
from churnlib.features import ChurnPreprocessor
from churnlib.monitoring import SCORE_FEATURE, ChurnMonitor


def raw(frame, seed):
    """A raw table as users have it: identifiers and noise next to features."""
    rng = np.random.default_rng(seed)
    return frame.assign(
        row_number=np.arange(len(frame)),
        surname=rng.choice(["a", "b", "c"], len(frame)),
    )


@pytest.fixture(scope="module")
def trained():
    data = generate_customers(4000, random_state=5)
    train, valid = data.iloc[:2500], data.iloc[2500:]
    X = train.drop(columns=["customer_id", "churned"])
    model = make_pipeline(ChurnPreprocessor(), LogisticRegression(max_iter=500))
    model.fit(X, train["churned"])
    contract = infer_contract(
        X, train["churned"], id_columns=["customer_id"], threshold=0.4
    ).with_updates(
        excluded={"row_number": "identifier", "surname": "identifier"},
        target="churned",
    )
    attach_contract(model, contract)
    return model, raw(train, 1), raw(valid, 2)


def test_watches_exactly_the_model_features(trained):
    model, _, valid = trained
    contract = get_contract(model)
    monitor = ChurnMonitor(valid, model=model, sinks=[])
    assert monitor.features_ == contract.feature_names
    assert monitor.id_column == "customer_id"
    assert monitor.threshold == 0.4
    assert np.isfinite(monitor.reference_metrics_["roc_auc"])
    assert monitor.training_overlap_ == 0.0
    batch = next(iter(simulate_production(1, 600, random_state=3)))
    keys = monitor.log_predictions(raw(batch.X, 4))  # extra columns ignored
    monitor.log_outcomes(keys, batch.y)
    report = monitor.report(chunk_size=600)
    watched = set(report.drift["feature"])
    assert watched == {*contract.feature_names, SCORE_FEATURE}
    assert not {"customer_id", "row_number", "surname", "churned"} & watched
    assert report.chunks["n_labeled"].tolist() == [600]


def test_refuses_predictions_without_ids(trained):
    model, _, valid = trained
    monitor = ChurnMonitor(valid, model=model, sinks=[])
    batch = next(iter(simulate_production(1, 50, random_state=3)))
    X = batch.X.drop(columns="customer_id")
    with pytest.raises(DataValidationError, match="no id column 'customer_id'"):
        monitor.log_predictions(X)
    assert monitor._log.parts("predictions") == []
    keys = monitor.log_predictions(X, generate_ids=True)  # explicit opt-in
    assert keys.get_level_values(0).is_unique
    # the id as the index (what read_churn_table returns) is found too
    keys = monitor.log_predictions(batch.X.set_index("customer_id"))
    assert keys.get_level_values(0)[0] == batch.X["customer_id"].iloc[0]


def test_reference_overlapping_training_rows_is_refused(trained):
    model, train, valid = trained
    with pytest.raises(DataValidationError, match="held-out validation rows") as err:
        ChurnMonitor(train, model=model, sinks=[])
    assert "100% of the reference rows were training rows" in str(err.value)
    assert "allow_training_overlap=True" in str(err.value)
    mixed = pd.concat([train.iloc[:1500], valid], ignore_index=True)
    with pytest.warns(DataQualityWarning, match="training rows"):
        monitor = ChurnMonitor(
            mixed, model=model, sinks=[], allow_training_overlap=True
        )
    assert monitor.training_overlap_ == pytest.approx(1500 / len(mixed), abs=0.01)
    # reference performance comes from the held-out rows only
    held_out = ChurnMonitor(valid, model=model, sinks=[])
    assert monitor.reference_metrics_["roc_auc"] == pytest.approx(
        held_out.reference_metrics_["roc_auc"]
    )
    # but the drift reference uses every row
    assert monitor.detector_.reference_stats_.n_rows == len(mixed)


def test_raw_labels_decoded_by_the_contract(trained):
    model, _, valid = trained
    text = valid.assign(churned=np.where(valid["churned"], "Yes", "No"))
    contract = get_contract(model)
    from churnlib._core.labels import LabelRule

    model2 = attach_contract(
        model,
        contract.with_updates(labels=LabelRule(pos_label="Yes", neg_labels=("No",))),
    )
    monitor = ChurnMonitor(text, model=model2, sinks=[])
    plain = ChurnMonitor(valid, model=model2, sinks=[])
    assert monitor.reference_metrics_ == plain.reference_metrics_
    attach_contract(model, contract)


@pytest.mark.parametrize(
    ("columns", "message", "named"),
    [
        (["age", "age", "tenure"], "duplicated column names ['age']", "age"),
        ([0, 1, 2], "column names that are not strings: [0, 1, 2]", "0"),
        (["age", 7, "tenure"], "not strings: [7]", "7"),
    ],
)
def test_bad_reference_column_names(columns, message, named):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=columns)
    with pytest.raises(DataValidationError, match=re.escape(message)) as err:
        ChurnMonitor(frame, reference_scores=np.full(50, 0.2), sinks=[])
    assert named in err.value.columns


def test_bad_batch_column_names(reference_table):
    from tests.monitoring.conftest import make_monitor

    monitor = make_monitor(reference_table)
    X = reference_table.drop(columns=["churned", "churn_probability"]).iloc[:5]
    dup = pd.concat([X, X[["age"]]], axis=1)
    with pytest.raises(DataValidationError, match=re.escape("['age']")):
        monitor.log_predictions(dup, np.full(5, 0.2))
    with pytest.raises(DataValidationError, match="not strings"):
        monitor.log_predictions(X.set_axis(range(X.shape[1]), axis=1), np.full(5, 0.2))
