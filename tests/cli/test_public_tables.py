"""The three public churn tables, end to end through the CLI with only ``--target``.

train -> publish -> score -> monitor log (predictions, outcomes) -> report, each
on the raw CSV exactly as downloaded (``../shared/data``): no ``--id-column``,
no ``--positive``, no ``--drop``. The model's contract decides identifiers,
leaks and the label rule once, in training; every later command uses it.

The raw file is cut by lines (bytes unchanged) into history (to train on) and
recent customers (the monitor's reference, then "production"): a monitor
refuses a reference that holds training rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnlib.deployment import ModelStore
from tests.cli.conftest import shared_table

pytestmark = pytest.mark.slow

TABLES = {
    # name: (file, target, identifiers)
    "telco": ("telco_customer_churn.csv", "Churn", {"customerID"}),
    "bank": (
        "bank_churn_modelling.csv",
        "Exited",
        {"RowNumber", "CustomerId", "Surname"},
    ),
    "credit_card": ("credit_card_churners.csv", "Attrition_Flag", {"CLIENTNUM"}),
}


def split_lines(path, folder, *, share=0.25, seed=0):
    """Cut a CSV into history / recent files by lines: raw bytes unchanged."""
    text = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in text[:10_000] else "\n"
    header, *rows = [r for r in text.split(newline) if r]
    recent = np.random.default_rng(seed).random(len(rows)) < share
    for name, keep in (("history.csv", ~recent), ("recent.csv", recent)):
        chosen = [r for r, k in zip(rows, keep, strict=True) if k]
        (folder / name).write_bytes(newline.join([header, *chosen, ""]).encode())
    return folder / "history.csv", folder / "recent.csv", int(recent.sum())


@pytest.fixture(scope="module", params=sorted(TABLES))
def loop(request, tmp_path_factory, mlflow_tracking_uri):
    """Run the whole loop on one table through ``main([...])``.

    Training tracks into the session's SQLite store (an MLflow database is
    set up once, not once per table).
    """
    from tests.cli.test_jobs import call

    name = request.param
    file, target, identifiers = TABLES[name]
    source = shared_table(file)
    folder = tmp_path_factory.mktemp(name)
    history, recent, n_recent = split_lines(source, folder)
    store = folder / "models"
    common_monitor = [
        "--monitor",
        folder / "monitor",
        "--reference",
        recent,
        "--model",
        f"{store}@production",
    ]
    steps = {
        "train": call(
            "train",
            "--data",
            history,
            "--target",
            target,
            "--tracking-uri",
            mlflow_tracking_uri,
            "--store",
            store,
            "--alias",
            "production",
        )
    }
    assert steps["train"].returncode == 0, steps["train"].stderr
    (version,) = ModelStore(store).versions()
    steps["score"] = call(
        "score",
        "--model",
        f"{store}@production",
        "--input",
        recent,
        "--output",
        folder / "scores",
    )
    steps["log"] = call("monitor", "log", *common_monitor, "--predictions", recent)
    steps["outcomes"] = call("monitor", "log", *common_monitor, "--outcomes", recent)
    steps["report"] = call(
        "monitor",
        "report",
        *common_monitor,
        "--output",
        folder / "monitor.html",
        "--json",
    )
    return {
        "name": name,
        "folder": folder,
        "store": store,
        "steps": steps,
        "target": target,
        "contract": version.contract,
        "metrics": version.metrics,
        "identifiers": identifiers,
        "n_recent": n_recent,
        "recent": recent,
    }


def test_every_step_succeeds(loop):
    for step, result in loop["steps"].items():
        assert result.returncode == 0, (step, result.stderr)
        assert "Traceback" not in result.stderr


def test_training_keeps_identifiers_out(loop):
    contract = loop["contract"]
    assert contract is not None
    assert contract.target == loop["target"]
    assert contract.id_column in loop["identifiers"]
    assert not loop["identifiers"] & set(contract.feature_names)
    for column in loop["identifiers"]:
        assert (
            column in contract.id_columns or contract.excluded[column] == "identifier"
        )
        assert f"{column} (identifier)" in loop["steps"]["train"].stdout


def test_scores_are_keyed_by_the_training_id(loop):
    from churnlib.scoring import read_scores

    assert f"scored {loop['n_recent']:,} rows" in loop["steps"]["score"].stdout
    scores = read_scores(loop["folder"] / "scores")
    raw = pd.read_csv(loop["recent"])
    assert (
        scores[loop["contract"].id_column].astype(str).tolist()
        == raw[loop["contract"].id_column].astype(str).tolist()
    )
    assert scores["churn_probability"].between(0, 1).all()


def test_monitor_logs_every_row_with_its_id(loop):
    n = f"{loop['n_recent']:,}"
    assert loop["steps"]["log"].stdout.startswith(f"logged {n} predictions")
    assert loop["steps"]["outcomes"].stdout.startswith(f"logged {n} outcomes")


def test_monitor_report_flags_no_identifier(loop):
    alerts = json.loads(loop["steps"]["report"].stdout)
    flagged = {a.get("feature") for a in alerts}
    assert not flagged & loop["identifiers"], alerts
    html = (loop["folder"] / "monitor.html").read_text()
    for column in loop["identifiers"] - {loop["contract"].id_column}:
        assert column not in html  # never a monitored feature


@pytest.mark.parametrize("loop", ["credit_card"], indirect=True)
def test_credit_card_trains_without_its_leaky_columns(loop):
    contract = loop["contract"]
    leaks = [c for c in contract.excluded if c.startswith("Naive_Bayes_")]
    assert len(leaks) == 2
    assert all(contract.excluded[c] == "leakage" for c in leaks)
    assert not any(c.startswith("Naive_Bayes_") for c in contract.feature_names)
    assert "(leakage, AUC " in loop["steps"]["train"].stdout
    assert 0.97 <= loop["metrics"]["roc_auc"] <= 0.995
