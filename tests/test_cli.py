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
    # --debug after the command works too
    proc = run("train", "--data", tmp_path / "missing.csv", "--target", "y", "--debug")
    assert "Traceback (most recent call last)" in proc.stderr


def test_missing_input_file_is_one_line(tmp_path):
    proc = run("train", "--data", tmp_path / "missing.csv", "--target", "churned")
    assert_one_line_error(proc, "missing.csv")
