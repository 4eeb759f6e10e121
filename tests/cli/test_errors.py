"""Failures: one line in CLI wording, no traceback, no secret (issue 18.4, 18.8)."""

from __future__ import annotations

import pandas as pd
import pytest

from churnlib.cli._common import error_message
from tests.cli.conftest import assert_one_line_error
from tests.fixtures.mlflow_server import free_port

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
TOKEN = "sv=2026-01-01&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"


@pytest.fixture
def small_table(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "tenure": range(40),
            "calls": [i % 5 for i in range(40)],
            "churned": [i % 3 == 0 for i in range(40)],
        }
    ).to_csv(path, index=False)
    return path


def test_missing_input_file(cli, tmp_path):
    result = cli("train", "--data", tmp_path / "missing.csv", "--target", "churned")
    line = assert_one_line_error(result, "missing.csv")
    assert "check the path or URL" in line


def test_debug_shows_the_traceback_before_or_after_the_command(cli, tmp_path):
    missing = tmp_path / "missing.csv"
    for argv in (
        ["--debug", "train", "--data", missing, "--target", "y"],
        ["train", "--data", missing, "--target", "y", "--debug"],
    ):
        result = cli(*argv)
        assert result.returncode == 1
        assert "Traceback (most recent call last)" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("churnlib: error: ")
    result = cli("train", "--data", missing, "--target", "y")
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_missing_store(cli, tmp_path):
    result = cli("versions", "--store", tmp_path / "no-store-here")
    assert_one_line_error(result, "no-store-here", "a store is created by its first")


def test_unknown_target_column(cli, small_table):
    result = cli("train", "--data", small_table, "--target", "Churn")
    assert_one_line_error(result, "Churn")


def test_drop_of_an_unknown_column_is_a_usage_error(cli, small_table):
    result = cli(
        "train", "--data", small_table, "--target", "churned", "--drop", "nope"
    )
    assert result.returncode == 2
    assert "--drop names no column" in result.stderr
    assert "'nope'" in result.stderr


def test_credentials_in_an_s3_url_never_show(cli, tmp_path):
    port = free_port()  # nothing listens there
    url = f"s3://AKIAEXAMPLEKEY:{SECRET}@churnlib-test/customers.csv"
    result = cli(
        "generate",
        "--output",
        url,
        "--n-customers",
        10,
        "--storage-option",
        f'client_kwargs={{"endpoint_url": "http://127.0.0.1:{port}"}}',
        "--storage-option",
        'config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2}',
    )
    assert_one_line_error(result, "churnlib-test/customers.csv")
    assert SECRET not in result.stderr + result.stdout


def test_storage_option_secret_never_shows(cli):
    port = free_port()
    result = cli(
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
        f"secret={SECRET}",
    )
    assert_one_line_error(result, "Cannot write 's3://churnlib-test/customers.csv'")
    assert SECRET not in result.stderr


def test_query_token_in_an_input_url_never_shows(cli, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/tables/train.csv?{TOKEN}"
    result = cli("train", "--data", url, "--target", "churned")
    assert_one_line_error(result, "train.csv")
    assert "c2VjcmV0" not in result.stderr


def test_query_token_in_a_scoring_input_never_shows(cli, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/tables/customers.parquet?{TOKEN}"
    result = cli(
        "score",
        "--model",
        tmp_path / "no-store",
        "--input",
        url,
        "--output",
        tmp_path / "scores",
    )
    assert_one_line_error(result)
    assert "c2VjcmV0" not in result.stderr
    assert not (tmp_path / "scores").exists()


def test_password_in_the_tracking_uri_never_shows(cli, small_table, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    port = free_port()
    result = cli(
        "train",
        "--data",
        small_table,
        "--target",
        "churned",
        "--estimator",
        "logistic_regression",
        "--tracking-uri",
        f"http://user:hunter2@127.0.0.1:{port}/?token=abcdef123",
    )
    assert_one_line_error(result, f"127.0.0.1:{port}")
    assert "hunter2" not in result.stderr
    assert "abcdef123" not in result.stderr


def test_unreachable_model_store(cli, tmp_path):
    pd.DataFrame({"tenure": [1, 2]}).to_parquet(tmp_path / "in.parquet")
    port = free_port()
    result = cli(
        "score",
        "--model",
        f"s3://AKIAEXAMPLEKEY:{SECRET}@churnlib-test/models@production",
        "--input",
        tmp_path / "in.parquet",
        "--output",
        tmp_path / "scores",
        "--storage-option",
        f'client_kwargs={{"endpoint_url": "http://127.0.0.1:{port}"}}',
        "--storage-option",
        'config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2}',
    )
    assert_one_line_error(result, "churnlib-test/models")
    assert SECRET not in result.stderr
    assert not (tmp_path / "scores").exists()


def test_missing_optional_package_names_the_extra():
    try:
        import streamlit_is_not_a_module_here  # noqa: F401
    except ModuleNotFoundError as err:
        err.name = "streamlit"  # what importing streamlit raises without it
        message = error_message(err)
    assert message == (
        "this command needs the optional package 'streamlit': "
        'pip install "churnlib[dashboard]" (or every extra: '
        'pip install "churnlib[all]")'
    )


def test_a_file_error_in_cli_words():
    err = FileNotFoundError(2, "No such file or directory", "s3://k:SECRET@b/x.csv")
    assert error_message(err) == "no file at s3://***@b/x.csv: check the path or URL"
