"""The reading flags (--sep, --encoding, --decimal, ...) on every command that reads."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from churnlib.cli._batch import read_options
from churnlib.cli._parser import build_parser
from tests.cli.conftest import assert_one_line_error

OUT = ["--outcomes", "t.csv"]
READERS = [
    ["train", "--data", "t.csv", "--target", "y"],
    ["evaluate", "--model", "s@1", "--data", "t.csv"],
    ["score", "--model", "s@1", "--input", "t.csv", "--output", "o"],
    ["monitor", "log", "--monitor", "m", "--reference", "r.csv", "--model", "s", *OUT],
    ["monitor", "report", "--monitor", "m", "--reference", "r.csv", "--model", "s"],
]


@pytest.mark.parametrize("argv", READERS, ids=lambda a: " ".join(a[:2]))
def test_every_reading_command_takes_the_reader_options(argv):
    args = build_parser().parse_args(
        [
            *argv,
            "--sep",
            "\\t",
            "--encoding",
            "cp1252",
            "--decimal",
            ",",
            "--thousands",
            ".",
            "--na-value",
            "-",
            "--na-value",
            "n.a.",
            "--header-row",
            "2",
            "--sheet",
            "0",
        ]
    )
    assert read_options(args) == {
        "sep": "\t",
        "encoding": "cp1252",
        "decimal": ",",
        "thousands": ".",
        "na_values": ["-", "n.a."],
        "sheet": 0,
        "header_row": 2,
    }
    assert read_options(build_parser().parse_args(argv)) == {}


@pytest.mark.parametrize(
    ("flag", "value"), [("--sep", ";;"), ("--decimal", ""), ("--header-row", "-1")]
)
def test_bad_reader_options_are_usage_errors(cli, flag, value):
    result = cli("train", "--data", "t.csv", "--target", "y", flag, value)
    assert result.returncode == 2
    assert flag in result.stderr


def _semicolon_rows(n=200, ragged=None):
    rows = [f"{i};{i % 50};" + ("Yes" if i % 4 == 0 else "No") for i in range(n)]
    if ragged is not None:
        rows[ragged] += ";"
    return "id;tenure;Churn\n" + "\n".join(rows) + "\n"


def test_ragged_line_is_named_with_the_fix(cli, tmp_path):
    path = tmp_path / "semi_ragged.csv"
    path.write_text(_semicolon_rows(ragged=3))
    result = cli("train", "--data", path, "--target", "Churn")
    assert_one_line_error(result, "semi_ragged.csv", "line 5 has 4 fields", "--sep")


def test_title_line_names_the_header_row(cli, tmp_path):
    path = tmp_path / "crm.txt"
    path.write_text("Export from CRM\n\n" + _semicolon_rows().replace(";", "\t"))
    result = cli("train", "--data", path, "--target", "Churn")
    assert_one_line_error(result, "crm.txt", "--header-row 2")


def test_zip_of_several_files_is_refused(cli, tmp_path):
    path = tmp_path / "months.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("jan.csv", _semicolon_rows(100))
        archive.writestr("feb.csv", _semicolon_rows(100))
    result = cli("train", "--data", path, "--target", "Churn")
    assert_one_line_error(result, "months.zip", "jan.csv, feb.csv", "Unzip")


def test_versions_of_a_file_is_an_error(cli, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    result = cli("versions", "--store", path)
    assert_one_line_error(result, "is a file, not a model store")


@pytest.fixture(scope="module")
def stored_model(tmp_path_factory):
    """A small model trained by `churnlib train` on a European CSV, published."""
    from churnlib.cli import main

    root = tmp_path_factory.mktemp("eu")
    rng = np.random.default_rng(0)
    n = 300
    tenure = rng.integers(0, 72, n)
    frame = pd.DataFrame(
        {
            "CustomerId": [f"{i:08d}" for i in range(n)],
            "tenure": tenure,
            "charges": np.round(rng.uniform(18, 120, n), 2),
            "Churn": np.where((tenure < 15) ^ (rng.random(n) < 0.15), "Yes", "No"),
        }
    )
    text = "Export 2026-12-01\n" + frame.to_csv(sep=";", decimal=",", index=False)
    (root / "eu.csv").write_bytes(text.encode("utf-16"))
    store = root / "store"
    code = main(
        [
            "train",
            "--data",
            str(root / "eu.csv"),
            "--target",
            "Churn",
            "--estimator",
            "logistic_regression",
            "--tracking-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--store",
            str(store),
            "--alias",
            "production",
            "--header-row",
            "1",
            "--sep",
            ";",
        ]
    )
    assert code == 0
    return root, store, frame


def test_train_and_score_a_european_utf16_export(cli, stored_model, tmp_path):
    root, store, frame = stored_model
    result = cli(
        "score",
        "--model",
        f"{store}@production",
        "--input",
        root / "eu.csv",
        "--output",
        tmp_path / "o",
        "--input-format",
        "csv",
        "--header-row",
        "1",
        "--output-format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "o" / "part-00000.csv", dtype={"CustomerId": str})
    assert out["CustomerId"].tolist() == frame["CustomerId"].tolist()
    assert out["churn_probability"].between(0, 1).all()


def test_evaluate_reads_with_the_flags(cli, stored_model):
    root, store, _ = stored_model
    result = cli(
        "evaluate",
        "--model",
        f"{store}@production",
        "--data",
        root / "eu.csv",
        "--header-row",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert '"roc_auc"' in result.stdout
    result = cli(
        "evaluate", "--model", f"{store}@production", "--data", root / "eu.csv"
    )
    assert_one_line_error(result, "--header-row 1")
