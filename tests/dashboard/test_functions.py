"""The dashboard's pure data functions (churnlib.dashboard._data) and its CLI module."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc

from churnlib.dashboard import _data
from churnlib.dashboard._cli import add_parser, streamlit_command
from churnlib.data import ChurnSchema
from churnlib.evaluation import expected_campaign_profit
from churnlib.exceptions import DataValidationError


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    score = rng.random(2000)
    y = rng.random(2000) < score  # calibrated by construction
    return y, score


def test_guess_target_prefers_label_names_over_probabilities():
    assert _data.guess_target(["customer_id", "churn_probability", "churned"]) == (
        "churned"
    )
    assert _data.guess_target(["Attrition_Flag", "CLIENTNUM"]) == "Attrition_Flag"
    assert _data.guess_target(["exit_date", "Exited"]) == "Exited"
    assert _data.guess_target(["age", "plan"]) is None


def test_schema_frame_gives_every_column_a_role_and_notes():
    schema = ChurnSchema(
        numeric=("age",),
        categorical=("plan",),
        binary=("promo",),
        id_columns=("cid",),
        target="left",
        positive="yes",
    )
    frame = _data.schema_frame(schema, ["cid", "age", "plan", "promo", "left", "zzz"])
    roles = dict(zip(frame["column"], frame["role"], strict=True))
    assert roles == {
        "cid": "identifier",
        "age": "numeric",
        "plan": "categorical",
        "promo": "binary",
        "left": "target",
        "zzz": "not used",
    }
    assert frame.set_index("column").loc["left", "note"] == "churn = 'yes'"


def test_churn_rate_by_numeric_uses_deciles_and_keeps_missing():
    rng = np.random.default_rng(1)
    x = rng.normal(size=1000)
    x[:50] = np.nan
    y = rng.random(1000) < 0.3
    X = pd.DataFrame({"x": x})
    table = _data.churn_rate_by(X, y, "x")
    assert len(table) == 11  # 10 deciles + missing
    assert table["value"].iloc[-1] == "missing"
    assert table["n"].sum() == 1000
    assert table["churners"].sum() == y.sum()
    missing = table.set_index("value").loc["missing"]
    assert missing["n"] == 50
    assert missing["churn_rate"] == pytest.approx(y[:50].mean())


def test_churn_rate_by_categorical_pools_rare_levels():
    X = pd.DataFrame({"plan": list("abcdefgh") * 10 + [None] * 5})
    y = np.arange(85) % 2 == 0
    table = _data.churn_rate_by(X, y, "plan", top=3)
    assert list(table["value"]) == ["a", "b", "c", "other", "missing"]
    assert table["n"].sum() == 85
    with pytest.raises(DataValidationError, match=re.escape("'nope' is not a column")):
        _data.churn_rate_by(X, y, "nope")


def test_curves_match_sklearn(scored):
    y, s = scored
    roc = _data.roc_frame(y, s)
    from sklearn.metrics import roc_auc_score

    assert auc(roc["fpr"], roc["tpr"]) == pytest.approx(roc_auc_score(y, s))
    pr = _data.pr_frame(y, s)
    assert pr["recall"].iloc[0] == 1.0
    assert pr["recall"].iloc[-1] == 0.0
    cal = _data.calibration_frame(y, s, n_bins=10)
    observed, predicted = calibration_curve(y, s, n_bins=10)
    np.testing.assert_allclose(cal["observed"], observed)
    np.testing.assert_allclose(cal["predicted"], predicted)
    assert cal["n"].sum() == len(y)


def test_lift_gain_frame_ends_at_one(scored):
    y, s = scored
    lg = _data.lift_gain_frame(y, s)
    assert lg["gain"].iloc[0] == 0.0
    assert lg["gain"].iloc[-1] == pytest.approx(1.0)
    assert lg["lift"].iloc[-1] == pytest.approx(1.0)
    assert np.isnan(lg["lift"].iloc[0])
    top = lg[lg["fraction"] >= 0.1].iloc[0]
    assert top["lift"] > 1.5  # informative scores


def test_profit_frame_is_expected_campaign_profit(scored):
    y, s = scored
    economics = {
        "customer_value": 300.0,
        "incentive_cost": 20.0,
        "contact_cost": 2.0,
        "acceptance_rate": 0.4,
    }
    curve, best = _data.profit_frame(y, s, **economics)
    reference = expected_campaign_profit(y, s, **economics)
    assert best.threshold == reference.threshold
    assert best.profit == pytest.approx(reference.profit)
    assert curve["profit"].max() == pytest.approx(best.profit)
    richer, _ = _data.profit_frame(y, s, **{**economics, "customer_value": 900.0})
    assert richer["profit"].max() > curve["profit"].max()


def test_drift_matrix_takes_the_worst_method_per_cell():
    drift = pd.DataFrame(
        {
            "chunk": [pd.Timestamp("2026-01-01")] * 3
            + [pd.Timestamp("2026-01-02")] * 3,
            "feature": ["age", "age", "plan"] * 2,
            "method": ["psi", "ks", "chi2"] * 2,
            "statistic": [0.05, 0.05, 0.01, 0.5, 0.05, 0.02],
            "threshold": [0.1, 0.1, 0.1, 0.25, 0.1, 0.1],
            "drifted": [False, False, False, True, False, False],
        }
    )
    m = _data.drift_matrix(drift)
    assert list(m.columns) == ["2026-01-01", "2026-01-02"]
    assert list(m.index) == ["age", "plan"]
    assert m.loc["age", "2026-01-02"] == pytest.approx(2.0)
    assert m.loc["plan", "2026-01-01"] == pytest.approx(0.1)
    assert _data.drift_matrix(drift.iloc[:0]).empty


def test_parse_storage_options_json_and_lines():
    assert _data.parse_storage_options("") == {}
    assert _data.parse_storage_options('{"anon": true}') == {"anon": True}
    assert _data.parse_storage_options("key=abc; secret = s3cr3t\nanon=false") == {
        "key": "abc",
        "secret": "s3cr3t",
        "anon": False,
    }


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"key": "s3cr3tvalue"', "not valid JSON"),
        ('["s3cr3tvalue"]', "must be a JSON object"),
        ("s3cr3tvalue", "line 1 is not KEY=VALUE"),
    ],
)
def test_parse_storage_options_errors_never_repeat_the_value(text, match):
    with pytest.raises(DataValidationError, match=match) as info:
        _data.parse_storage_options(text)
    assert "s3cr3tvalue" not in str(info.value)


def test_scrub_removes_option_values_and_url_credentials():
    options = {"key": "AKIAEXAMPLE", "client_kwargs": {"token": "tok-123456"}}
    text = (
        "denied: AKIAEXAMPLE used tok-123456 at "
        "https://user:pw@host/bucket?sig=abc for s3://bucket/models"
    )
    clean = _data.scrub(text, options)
    assert "AKIAEXAMPLE" not in clean
    assert "tok-123456" not in clean
    assert "pw@" not in clean
    assert "sig=abc" not in clean
    assert "s3://bucket/models" in clean


def test_list_runs_of_a_missing_store_is_empty_and_creates_nothing(tmp_path):
    runs = _data.list_runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert runs.empty
    assert "run_id" in runs.columns
    assert not (tmp_path / "mlflow.db").exists()


def test_mlflow_ui_url():
    assert _data.mlflow_ui_url("http://h:5000", "3", "r1") == (
        "http://h:5000/#/experiments/3/runs/r1"
    )


def test_versions_frame_newest_first():
    from datetime import UTC, datetime

    from churnlib.deployment import ModelVersion

    versions = [
        ModelVersion(
            version=v,
            url=f"file:///s/{v}",
            created_at=datetime(2026, 1, i + 1, tzinfo=UTC),
            sha256="0" * 64,
            metrics={"roc_auc": 0.8 + i / 100},
            aliases=al,
        )
        for i, (v, al) in enumerate(
            [("20260101T000000Z-a", ("production",)), ("20260102T000000Z-b", ())]
        )
    ]
    table = _data.versions_frame(versions)
    assert list(table["version"]) == ["20260102T000000Z-b", "20260101T000000Z-a"]
    assert list(table["aliases"]) == ["", "production"]
    assert list(table["roc_auc"]) == pytest.approx([0.81, 0.8])


# ---------------------------------------------------------------- the CLI module
def _parse(argv):
    parser = argparse.ArgumentParser(prog="churnlib")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_add_parser_defaults_bind_loopback():
    args = _parse(["dashboard"])
    assert args.host == "127.0.0.1"
    assert args.port == 8501
    assert args.workdir == "churnlib-demo"
    assert callable(args.func)
    args = _parse(
        ["dashboard", "--workdir", "w", "--host", "0.0.0.0", "--port", "9001"]
    )
    assert (args.workdir, args.host, args.port) == ("w", "0.0.0.0", 9001)


def test_add_parser_refuses_bad_ports(capsys):
    with pytest.raises(SystemExit) as info:
        _parse(["dashboard", "--port", "70000"])
    assert info.value.code == 2
    assert "a port is in 1..65535" in capsys.readouterr().err


def test_streamlit_command_runs_the_app_headless_without_telemetry():
    command = streamlit_command("127.0.0.1", 8600)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4].endswith("churnlib/dashboard/app.py")
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options == {
        "--server.headless": "true",
        "--server.address": "127.0.0.1",
        "--server.port": "8600",
        "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "viewer",
    }


def test_importing_the_package_imports_nothing_heavy():
    code = (
        "import sys, churnlib.dashboard, churnlib.dashboard._cli\n"
        "heavy = [m for m in ('streamlit', 'plotly', 'mlflow', 'sklearn', 'pandas')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_distribution_counts_every_row_once_by_outcome():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=1000), "plan": rng.choice(["a", "b"], 1000)})
    X.loc[:9, "x"] = np.nan
    y = rng.random(1000) < 0.3
    numeric = _data.distribution(X, y, "x", bins=20)
    assert len(numeric) == 40  # 20 bins x 2 outcomes
    assert numeric["n"].sum() == 990  # missing values are not binned
    assert numeric.loc[numeric["churned"], "n"].sum() == y[10:].sum()
    np.testing.assert_allclose(numeric["width"], numeric["width"].iloc[0])
    levels = _data.distribution(X, y, "plan")
    assert levels["n"].sum() == 1000
    assert set(levels["value"]) == {"a", "b"}


def test_thin_keeps_the_ends_and_the_order():
    curve = pd.DataFrame({"x": np.arange(5000), "y": np.arange(5000) ** 2})
    small = _data.thin(curve, 300)
    assert len(small) == 300
    assert small["x"].is_monotonic_increasing
    assert small["x"].iloc[[0, -1]].tolist() == [0, 4999]
    assert _data.thin(curve.head(10), 300).equals(curve.head(10))
