"""The ``churnlib`` command line, end to end through subprocesses.

Each job runs as ``python -m churnlib ...`` in a fresh interpreter, exactly as a
user or a scheduler would run it: exit status 0 / 1 (one line on stderr, no
traceback unless ``--debug``) / 2 (usage). Argument parsing alone is also
checked in-process, which is much faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from churnlib.cli import _help_texts, main
from churnlib.deployment import ModelStore
from tests.fixtures.mlflow_server import free_port

COMMANDS = [
    "demo",
    "generate",
    "train",
    "evaluate",
    "publish",
    "versions",
    "promote",
    "rollback",
    "score",
    "monitor",
]
ENV = {
    **os.environ,
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PYTHONWARNINGS": "ignore",
    "COLUMNS": "100",
}
ENV.pop("MLFLOW_TRACKING_URI", None)


def run(*args, cwd=None, timeout=300):
    """Run ``python -m churnlib ARGS``; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "churnlib", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("churnlib: error: "), lines[0]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# -- help and usage ------------------------------------------------------------
def test_help_lists_every_command():
    proc = run("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in proc.stdout
    assert "Exit status: 0 success, 1 the job failed, 2 usage error" in proc.stdout


def test_version_through_python_m():
    import churnlib

    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"churnlib {churnlib.__version__}"


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("churnlib")
    if not script.exists():
        pytest.skip("churnlib is not installed as a console script here")
    proc = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=ENV, check=False
    )
    assert proc.returncode == 0
    assert "usage: churnlib" in proc.stdout


def test_every_command_has_help():
    texts = _help_texts()
    for command in COMMANDS:
        assert f"churnlib {command}" in texts
    assert {"churnlib monitor log", "churnlib monitor report"} <= set(texts)
    for name, text in texts.items():
        assert text.startswith("usage: "), name
        if name != "churnlib" and name != "churnlib monitor":
            assert "--debug" in text, name


@pytest.mark.parametrize("command", [*COMMANDS, "monitor log", "monitor report"])
def test_help_exits_zero(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command.split(), "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: churnlib {command}")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["demo", "--no-such-option"],
        ["demo", "--n-customers", "ten"],
        ["demo", "--n-customers", "5"],
        ["demo", "--scenario", "earthquake"],
        ["generate"],
        ["generate", "--output", "x.csv", "--churn-rate", "1.5"],
        ["train", "--data", "x.csv"],
        ["train", "--target", "churned"],
        ["evaluate", "--data", "x.csv", "--target", "churned"],
        ["score", "--model", "m", "--input", "in"],
        ["score", "--model", "m", "--input", "in", "--output", "o", "--engine", "x"],
        ["promote", "--store", "s", "only-a-version"],
        ["rollback", "--store", "s"],
        ["versions"],
        ["monitor"],
        ["monitor", "log", "--monitor", "m"],
        ["monitor", "report"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: churnlib" in err
    assert "error:" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--output", "customers.json"], "end the URL in .csv or .parquet"),
        (
            [
                "score",
                "--model",
                "m",
                "--input",
                "i",
                "--output",
                "o",
                "--scheduler",
                "x",
            ],
            "--scheduler needs --engine dask",
        ),
        (
            ["train", "--data", "d.csv", "--target", "t", "--alias", "production"],
            "--alias needs --store",
        ),
        (
            ["demo", "--storage-option", "no-equals-sign"],
            "--storage-option expects KEY=VALUE",
        ),
    ],
)
def test_checked_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_usage_error_through_subprocess():
    proc = run("train", "--data", "x.csv")
    assert proc.returncode == 2
    assert "the following arguments are required: --target" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- generate --------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_generate_writes_a_table(tmp_path, suffix):
    out = tmp_path / "sub" / f"customers.{suffix}"
    proc = run(
        "generate",
        "--output",
        out,
        "--n-customers",
        500,
        "--random-state",
        3,
        "--truth",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote 500 customers (")
    frame = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    assert len(frame) == 500
    assert {"customer_id", "churned", "churn_probability"} <= set(frame.columns)
    assert frame["customer_id"].is_unique


def test_generate_is_reproducible(tmp_path):
    for name in ("a.parquet", "b.parquet"):
        assert (
            main(
                [
                    "generate",
                    "--output",
                    str(tmp_path / name),
                    "--n-customers",
                    "200",
                    "--random-state",
                    "7",
                ]
            )
            == 0
        )
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )


def test_unreachable_storage_is_one_line(tmp_path):
    port = free_port()  # nothing listens there
    proc = run(
        "generate",
        "--output",
        "s3://churnlib-test/customers.csv",
        "--n-customers",
        10,
        "--storage-option",
        f'client_kwargs={{"endpoint_url": "http://127.0.0.1:{port}"}}',
        "--storage-option",
        'config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2}',
        "--storage-option",
        "key=testing",
        "--storage-option",
        "secret=not-a-real-secret",
    )
    assert_one_line_error(proc, "cannot write s3://churnlib-test/customers.csv")
    assert "not-a-real-secret" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path):
    proc = run("--debug", "train", "--data", tmp_path / "missing.csv", "--target", "y")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("churnlib: error: ")


def test_debug_after_the_command(tmp_path, capsys):
    missing = str(tmp_path / "missing.csv")
    assert main(["train", "--data", missing, "--target", "y", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert main(["train", "--data", missing, "--target", "y"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_missing_input_file_is_one_line(tmp_path):
    proc = run("train", "--data", tmp_path / "missing.csv", "--target", "churned")
    assert_one_line_error(proc, "missing.csv")


def test_unreachable_tracking_server_is_one_line(tmp_path):
    pd.DataFrame(
        {
            "tenure": range(40),
            "calls": [i % 5 for i in range(40)],
            "churned": [i % 3 == 0 for i in range(40)],
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    port = free_port()
    proc = run(
        "train",
        "--data",
        tmp_path / "t.csv",
        "--target",
        "churned",
        "--estimator",
        "logistic_regression",
        "--tracking-uri",
        f"http://user:hunter2@127.0.0.1:{port}",
        timeout=180,
    )
    assert_one_line_error(proc, f"127.0.0.1:{port}")
    assert "hunter2" not in proc.stderr


def test_unreachable_model_store_is_one_line(tmp_path):
    pd.DataFrame({"tenure": [1, 2]}).to_parquet(tmp_path / "in.parquet")
    port = free_port()
    proc = run(
        "score",
        "--model",
        "s3://churnlib-test/models@production",
        "--input",
        tmp_path / "in.parquet",
        "--output",
        tmp_path / "scores",
        "--storage-option",
        f'client_kwargs={{"endpoint_url": "http://127.0.0.1:{port}"}}',
        "--storage-option",
        "key=testing",
        "--storage-option",
        "secret=not-a-real-secret",
        timeout=180,
    )
    assert_one_line_error(proc, "s3://churnlib-test/models")
    assert "not-a-real-secret" not in proc.stderr
    assert not (tmp_path / "scores").exists()


def test_missing_store_is_one_line(tmp_path):
    proc = run("versions", "--store", tmp_path / "no-store-here")
    assert_one_line_error(proc, "no-store-here")


# -- the batch jobs, chained as a user would run them ----------------------------
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A trained model published to a store, plus tables to score and monitor."""
    folder = tmp_path_factory.mktemp("cli")
    proc = run(
        "generate",
        "--output",
        folder / "train.csv",
        "--n-customers",
        2_000,
        "--random-state",
        1,
    )
    assert proc.returncode == 0, proc.stderr
    customers = pd.read_csv(folder / "train.csv")
    # production: newer customers, features only; their outcomes come later
    from churnlib.data import generate_customers

    later = generate_customers(600, random_state=2)
    later.drop(columns="churned").to_parquet(
        folder / "production.parquet", row_group_size=200
    )
    later[["customer_id", "churned"]].to_csv(folder / "outcomes.csv", index=False)
    later.to_parquet(folder / "holdout.parquet")
    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    proc = run(
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
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stderr
    return {
        "folder": folder,
        "tracking": tracking,
        "train_stdout": proc.stdout,
        "n_train": len(customers),
        "store": folder / "models",
    }


def test_train_reports_run_metrics_and_publishes(workspace):
    out = workspace["train_stdout"]
    assert "trained logistic_regression on 1,600 rows" in out
    run_line = next(line for line in out.splitlines() if line.startswith("MLflow run"))
    assert len(run_line.split()[-1]) == 32
    assert "roc_auc" in out
    assert "published" in out
    assert "as 'staging'" in out
    html = (workspace["folder"] / "card.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    # nothing littered outside the work folder
    assert not (workspace["folder"] / "mlruns").exists()


def test_versions_lists_the_published_model(workspace):
    proc = run("versions", "--store", workspace["store"], "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 1
    assert rows[0]["aliases"] == ["staging"]
    assert 0.6 < rows[0]["metrics"]["roc_auc"] <= 1
    assert rows[0]["run_id"]
    table = run("versions", "--store", workspace["store"])
    assert table.stdout.startswith("VERSION")
    assert rows[0]["version"] in table.stdout


def test_evaluate_a_stored_model(workspace):
    folder = workspace["folder"]
    proc = run(
        "evaluate",
        "--model",
        f"{workspace['store']}@staging",
        "--data",
        folder / "holdout.parquet",
        "--target",
        "churned",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert 0.6 < metrics["roc_auc"] <= 1
    assert metrics["n_samples"] == 600


def test_promote_then_rollback(workspace, tmp_path):
    import shutil

    store = tmp_path / "models"
    shutil.copytree(workspace["store"], store)
    (version,) = json.loads(run("versions", "--store", store, "--json").stdout)
    proc = run("promote", "--store", store, "staging", "production")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"production -> {version['version']}"
    proc = run("rollback", "--store", store, "production")
    # production had no earlier target: nothing to roll back to
    assert_one_line_error(proc, "production")
    proc = run("promote", "--store", store, "no-such-version", "production")
    assert_one_line_error(proc, "no-such-version")


def test_publish_from_mlflow(workspace, tmp_path):
    out = workspace["train_stdout"]
    model_uri = next(
        line.split()[-1] for line in out.splitlines() if line.startswith("model URI")
    )
    proc = run(
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
    assert proc.returncode == 0, proc.stderr
    (version,) = ModelStore(tmp_path / "store").versions()
    assert version.aliases == ("candidate",)
    assert "roc_auc" in version.metrics  # copied from the MLflow run
    assert version.run_id
    proc = run(
        "publish",
        "--model-uri",
        "models:/m-doesnotexist",
        "--store",
        tmp_path / "store",
        "--tracking-uri",
        workspace["tracking"],
    )
    assert_one_line_error(proc, "m-doesnotexist")


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_score_a_table(workspace, tmp_path, engine):
    folder = workspace["folder"]
    proc = run(
        "score",
        "--model",
        f"{workspace['store']}@staging",
        "--input",
        folder / "production.parquet",
        "--output",
        tmp_path / "scores",
        "--engine",
        engine,
        "--batch-rows",
        250,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scored 600 rows in 3 partitions" in proc.stdout, proc.stdout
    from churnlib.scoring import read_scores

    scores = read_scores(tmp_path / "scores")
    assert len(scores) == 600
    assert (
        scores["customer_id"].tolist()
        == pd.read_parquet(folder / "production.parquet")["customer_id"].tolist()
    )
    # the output exists now: a second run refuses to overwrite it
    again = run(
        "score",
        "--model",
        f"{workspace['store']}@staging",
        "--input",
        folder / "production.parquet",
        "--output",
        tmp_path / "scores",
    )
    assert_one_line_error(again, "scores")


def test_monitor_log_and_report(workspace, tmp_path):
    folder = workspace["folder"]
    common = [
        "--monitor",
        tmp_path / "monitor",
        "--reference",
        folder / "holdout.parquet",
        "--target",
        "churned",
        "--model",
        f"{workspace['store']}@staging",
    ]
    proc = run(
        "monitor", "log", *common, "--predictions", folder / "production.parquet"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("logged 600 predictions")
    proc = run("monitor", "log", *common, "--outcomes", folder / "outcomes.csv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("logged 600 outcomes")
    proc = run(
        "monitor",
        "report",
        *common,
        "--chunk-size",
        300,
        "--output",
        tmp_path / "monitor.html",
        "--alerts-file",
        tmp_path / "a.jsonl",
    )
    assert proc.returncode == 0, proc.stderr
    assert "600 predictions (600 with outcomes) in 2 chunks" in proc.stdout
    assert (tmp_path / "monitor.html").stat().st_size > 10_000
    proc = run("monitor", "log", *common, "--predictions", folder / "nope.parquet")
    assert_one_line_error(proc, "nope.parquet")


# -- the demo --------------------------------------------------------------------
def test_demo_runs_the_whole_loop(tmp_path):
    workdir = tmp_path / "demo"
    proc = run(
        "demo",
        "--workdir",
        workdir,
        "--n-customers",
        1_500,
        "--batches",
        4,
        "--batch-size",
        400,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    stages = [
        "generate",
        "validate",
        "preprocess",
        "split",
        "train",
        "evaluate",
        "publish",
        "simulate production",
        "monitor",
    ]
    for i, stage in enumerate(stages, start=1):
        assert f"[{i}/9] {stage}" in out
    for name in [
        "customers.parquet",
        "mlflow.db",
        "report_card.html",
        "models/",
        "monitor/",
        "monitor_report.html",
    ]:
        assert f"  {name}" in out
        assert (workdir / name.rstrip("/")).exists(), name
    assert f"mlflow ui --backend-store-uri sqlite:///{workdir / 'mlflow.db'}" in out
    assert "Alerts" in out
    assert proc.stderr == ""
    # only the work folder was written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    # the model is promoted to production in the store
    (version,) = ModelStore(workdir / "models").versions()
    assert version.aliases == ("production",)
