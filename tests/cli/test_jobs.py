"""The batch jobs chained as a user runs them, in-process through ``main([...])``.

generate -> train (MLflow + store) -> versions / evaluate / promote / rollback
/ publish -> score -> monitor log / report. The model's contract carries the
id column, the label rule and the threshold: scoring and monitoring need no
``--id-column``, ``--target`` or ``--positive``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest

from churnlib.cli import main
from churnlib.deployment import ModelStore
from tests.cli.conftest import Result, assert_one_line_error


def call(*args):
    """``main([...])`` outside a test function (module fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mlflow_tracking_uri):
    """A trained model published to a store, plus tables to score and monitor.

    Training tracks into the session's SQLite store (set up once per session).
    """
    folder = tmp_path_factory.mktemp("cli")
    made = call(
        "generate",
        "--output",
        folder / "train.csv",
        "--n-customers",
        2_000,
        "--random-state",
        1,
    )
    assert made.returncode == 0, made.stderr
    from churnlib.data import generate_customers

    # production: newer customers, features only; their outcomes come later
    later = generate_customers(600, random_state=2)
    later.drop(columns="churned").to_parquet(
        folder / "production.parquet", row_group_size=200
    )
    later[["customer_id", "churned"]].to_csv(folder / "outcomes.csv", index=False)
    later.to_parquet(folder / "holdout.parquet")
    tracking = mlflow_tracking_uri
    trained = call(
        "train",
        "--data",
        folder / "train.csv",
        "--target",
        "churned",
        "--estimator",
        "logistic_regression",
        "--tracking-uri",
        tracking,
        "--experiment",
        "cli-test",
        "--store",
        folder / "models",
        "--alias",
        "staging",
        "--report",
        folder / "card.html",
    )
    assert trained.returncode == 0, trained.stderr
    return {
        "folder": folder,
        "tracking": tracking,
        "train": trained,
        "store": folder / "models",
        "later": later,
    }


def test_train_reports_run_contract_metrics_and_publishes(workspace):
    out = workspace["train"].stdout
    assert "trained logistic_regression on 1,600 rows" in out
    assert "kept out     customer_id (identifier)" in out
    assert "id column    customer_id" in out
    run_line = next(line for line in out.splitlines() if line.startswith("MLflow run"))
    assert len(run_line.split()[-1]) == 32
    assert "roc_auc" in out
    assert "as 'staging'" in out
    html = (workspace["folder"] / "card.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert not (workspace["folder"] / "mlruns").exists()  # nothing littered


def test_the_published_version_carries_the_contract(workspace):
    store = ModelStore(workspace["store"])
    (version,) = store.versions()
    contract = version.contract
    assert contract is not None
    assert contract.id_column == "customer_id"
    assert "customer_id" not in contract.feature_names
    assert contract.target == "churned"
    assert contract.pos_label is True


def test_versions(cli, workspace):
    result = cli("versions", "--store", workspace["store"], "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    assert rows[0]["aliases"] == ["staging"]
    assert 0.6 < rows[0]["metrics"]["roc_auc"] <= 1
    assert rows[0]["run_id"]
    table = cli("versions", "--store", workspace["store"])
    assert table.stdout.startswith("VERSION")
    assert rows[0]["version"] in table.stdout
    assert "staging" in table.stdout


def test_evaluate_needs_no_target_with_a_contract(cli, workspace):
    result = cli(
        "evaluate",
        "--model",
        f"{workspace['store']}@staging",
        "--data",
        workspace["folder"] / "holdout.parquet",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert 0.6 < metrics["roc_auc"] <= 1
    assert metrics["n_samples"] == 600


def test_evaluate_leaves_unlabelled_rows_out(cli, workspace, tmp_path):
    holdout = workspace["later"].copy()
    holdout["churned"] = holdout["churned"].map({True: "yes", False: "no"})
    holdout.loc[:49, "churned"] = " "  # 50 rows without a label yet
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    result = cli(
        "evaluate",
        "--model",
        f"{workspace['store']}@staging",
        "--data",
        tmp_path / "holdout.csv",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_samples"] == 550
    assert "churnlib: warning: 50 rows of" in result.stderr
    assert "they are left out" in result.stderr


def test_promote_then_rollback(cli, workspace, tmp_path):
    store = tmp_path / "models"
    shutil.copytree(workspace["store"], store)
    (version,) = json.loads(cli("versions", "--store", store, "--json").stdout)
    result = cli("promote", "--store", store, "staging", "production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"production -> {version['version']}"
    # production had no earlier target: nothing to roll back to
    assert_one_line_error(cli("rollback", "--store", store, "production"), "production")
    assert_one_line_error(
        cli("promote", "--store", store, "no-such-version", "production"),
        "no-such-version",
    )
    # the fix in the command line's words: there is no create=True flag
    line = assert_one_line_error(
        cli("promote", "--store", tmp_path / "nowhere", "latest", "production"),
        "check --store",
    )
    assert "create=True" not in line


def test_publish_from_mlflow(cli, workspace, tmp_path):
    out = workspace["train"].stdout
    model_uri = next(
        line.split()[-1] for line in out.splitlines() if line.startswith("model URI")
    )
    result = cli(
        "publish",
        "--model-uri",
        model_uri,
        "--store",
        tmp_path / "store",
        "--alias",
        "candidate",
        "--tracking-uri",
        workspace["tracking"],
    )
    assert result.returncode == 0, result.stderr
    (version,) = ModelStore(tmp_path / "store").versions()
    assert version.aliases == ("candidate",)
    assert "roc_auc" in version.metrics  # copied from the MLflow run
    assert version.run_id
    missing = cli(
        "publish",
        "--model-uri",
        "models:/m-doesnotexist",
        "--store",
        tmp_path / "store",
        "--tracking-uri",
        workspace["tracking"],
    )
    assert_one_line_error(missing, "m-doesnotexist")


def test_score_keys_the_output_by_the_training_id_column(cli, workspace, tmp_path):
    folder = workspace["folder"]
    result = cli(
        "score",
        "--model",
        f"{workspace['store']}@staging",
        "--input",
        folder / "production.parquet",
        "--output",
        tmp_path / "scores",
        "--batch-rows",
        250,
    )
    assert result.returncode == 0, result.stderr
    assert "scored 600 rows in 3 partitions" in result.stdout, result.stdout
    from churnlib.scoring import read_scores

    scores = read_scores(tmp_path / "scores")
    assert len(scores) == 600
    assert scores["customer_id"].tolist() == workspace["later"]["customer_id"].tolist()
    assert scores["churn_probability"].between(0, 1).all()
    # the output exists now: a second run refuses to overwrite it
    again = cli(
        "score",
        "--model",
        f"{workspace['store']}@staging",
        "--input",
        folder / "production.parquet",
        "--output",
        tmp_path / "scores",
    )
    assert_one_line_error(again, "scores")
    assert len(read_scores(tmp_path / "scores")) == 600  # left as it was


def test_score_a_raw_csv_with_text_numbers(cli, workspace, tmp_path):
    raw = workspace["later"].drop(columns="churned").astype(str)
    raw.loc[:4, "total_charges"] = " "  # blanks, as in the Telco table
    raw.to_csv(tmp_path / "raw.csv", index=False)
    result = cli(
        "score",
        "--model",
        f"{workspace['store']}@staging",
        "--input",
        tmp_path / "raw.csv",
        "--output",
        tmp_path / "scores",
    )
    assert result.returncode == 0, result.stderr
    from churnlib.scoring import read_scores

    assert len(read_scores(tmp_path / "scores")) == 600


@pytest.fixture
def monitor_args(workspace, tmp_path):
    return [
        "--monitor",
        tmp_path / "monitor",
        "--reference",
        workspace["folder"] / "holdout.parquet",
        "--model",
        f"{workspace['store']}@staging",
    ]


def test_monitor_log_and_report(cli, workspace, monitor_args, tmp_path):
    folder = workspace["folder"]
    result = cli(
        "monitor", "log", *monitor_args, "--predictions", folder / "production.parquet"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("logged 600 predictions")
    result = cli("monitor", "log", *monitor_args, "--outcomes", folder / "outcomes.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("logged 600 outcomes")
    result = cli(
        "monitor",
        "report",
        *monitor_args,
        "--chunk-size",
        300,
        "--output",
        tmp_path / "monitor.html",
        "--alerts-file",
        tmp_path / "a.jsonl",
    )
    assert result.returncode == 0, result.stderr
    assert "600 predictions (600 with outcomes) in 2 chunks" in result.stdout
    assert (tmp_path / "monitor.html").stat().st_size > 10_000
    missing = cli(
        "monitor", "log", *monitor_args, "--predictions", folder / "nope.parquet"
    )
    assert_one_line_error(missing, "nope.parquet")


def test_monitor_report_on_a_mistyped_monitor_fails_and_creates_nothing(
    cli, monitor_args, tmp_path
):
    # a typo in --monitor must not turn into a green "0 alerts" from a new,
    # empty store: a scheduled --fail-on-alert job would never fail again
    typo = tmp_path / "monitr"
    args = list(monitor_args)
    args[1] = typo
    result = cli("monitor", "report", *args, "--fail-on-alert")
    assert_one_line_error(result, "no monitor at", "monitr", "--monitor")
    assert not typo.exists()
    # an empty folder is no monitor either, and stays empty
    typo.mkdir()
    result = cli("monitor", "report", *args)
    assert_one_line_error(result, "no monitor at")
    assert list(typo.iterdir()) == []


def test_monitor_refuses_predictions_without_ids(cli, workspace, monitor_args):
    folder = workspace["folder"]
    no_ids = workspace["later"].drop(columns=["churned", "customer_id"])
    no_ids.to_parquet(folder / "no_ids.parquet")
    no_ids = folder / "no_ids.parquet"
    result = cli("monitor", "log", *monitor_args, "--predictions", no_ids)
    line = assert_one_line_error(result, "no_ids.parquet", "--generate-ids")
    assert "has no id column 'customer_id'" in line
    opted_in = cli(
        "monitor",
        "log",
        *monitor_args,
        "--predictions",
        folder / "no_ids.parquet",
        "--generate-ids",
    )
    assert opted_in.returncode == 0, opted_in.stderr
    assert opted_in.stdout.startswith("logged 600 predictions")


def test_monitor_watches_exactly_the_model_features(workspace, monitor_args):
    from churnlib.cli._monitor import build_monitor
    from churnlib.cli._parser import build_parser

    args = build_parser().parse_args(["monitor", "report", *map(str, monitor_args)])
    monitor, contract = build_monitor(args, sinks=())
    assert list(monitor.features_) == list(contract.feature_names)
    assert "customer_id" not in monitor.features_
    assert args.id_column == "customer_id"
    assert args.target == "churned"


@pytest.fixture(scope="module")
def foreign_model(tmp_path_factory):
    """A model trained outside churnlib (plain sklearn), published to a store."""
    from sklearn.linear_model import LogisticRegression

    from churnlib.data import generate_customers

    folder = tmp_path_factory.mktemp("foreign")
    customers = generate_customers(800, random_state=5)
    features = ["tenure_months", "monthly_charges", "support_calls"]
    model = LogisticRegression(max_iter=500).fit(
        customers[features], customers["churned"]
    )
    ModelStore(folder / "models").publish(model, alias="production")
    customers["churned"] = customers["churned"].map({True: "Yes", False: "No"})
    customers.to_csv(folder / "labelled.csv", index=False)
    return folder


def test_a_model_without_contract_needs_target(cli, foreign_model):
    args = ["--model", f"{foreign_model / 'models'}@production"]
    data = ["--data", foreign_model / "labelled.csv"]
    result = cli("evaluate", *args, *data, "--json")
    # no contract, or one inferred at publish: it cannot know the label column
    assert result.returncode == 2
    assert "pass --target" in result.stderr
    result = cli("evaluate", *args, *data, "--target", "churned", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["n_samples"] == 800
    assert 0.6 < metrics["roc_auc"] <= 1


def test_monitor_a_model_without_contract(cli, foreign_model, tmp_path):
    table = foreign_model / "labelled.csv"
    common = ["--monitor", tmp_path / "monitor", "--reference", table]
    common += ["--model", f"{foreign_model / 'models'}@production"]
    common += ["--target", "churned", "--id-column", "customer_id"]
    result = cli("monitor", "log", *common, "--predictions", table)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("logged 800 predictions")
    result = cli("monitor", "log", *common, "--outcomes", table)
    assert result.returncode == 0, result.stderr
    result = cli("monitor", "report", *common, "--chunk-size", 400)
    assert result.returncode == 0, result.stderr
    assert "800 predictions (800 with outcomes) in 2 chunks" in result.stdout


@pytest.fixture(scope="module")
def leaky_table(tmp_path_factory):
    """Generated customers plus a column computed from the outcome (a leak)."""
    from churnlib.data import generate_customers

    folder = tmp_path_factory.mktemp("leaky")
    customers = generate_customers(800, random_state=7)
    customers["retention_call_outcome"] = customers["churned"].map(
        {True: "lost", False: "kept"}
    )
    customers.to_csv(folder / "leaky.csv", index=False)
    return folder


def _train(folder, tracking_uri, *extra):
    return call(
        "train",
        "--data",
        folder / "leaky.csv",
        "--target",
        "churned",
        "--estimator",
        "logistic_regression",
        "--tracking-uri",
        tracking_uri,
        "--store",
        folder / "models",
        *extra,
    )


def test_train_drops_leaks_and_named_columns(leaky_table, mlflow_tracking_uri):
    result = _train(
        leaky_table, mlflow_tracking_uri, "--drop", "gender", "--drop", "age"
    )
    assert result.returncode == 0, result.stderr
    assert "retention_call_outcome (leakage, AUC 1.000)" in result.stdout
    assert "gender (dropped)" in result.stdout
    assert "churnlib: warning: " in result.stderr  # the leak is named there too
    contract = ModelStore(leaky_table / "models").versions()[-1].contract
    assert contract.excluded["retention_call_outcome"] == "leakage"
    assert contract.excluded["gender"] == contract.excluded["age"] == "dropped"
    assert not {"retention_call_outcome", "gender", "age"} & set(contract.feature_names)
    assert not contract.allow_leakage


def test_train_allow_leakage_keeps_them_and_says_so(leaky_table, mlflow_tracking_uri):
    result = _train(leaky_table, mlflow_tracking_uri, "--allow-leakage")
    assert result.returncode == 0, result.stderr
    assert (
        "leakage      trained WITH suspected leaks (--allow-leakage): "
        "retention_call_outcome"
    ) in result.stdout
    contract = ModelStore(leaky_table / "models").versions()[-1].contract
    assert contract.allow_leakage
    assert "retention_call_outcome" in contract.feature_names
    assert contract.leakage["retention_call_outcome"] > 0.98
