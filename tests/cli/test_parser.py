"""Arguments, help and usage errors (in-process: parsing needs no subprocess)."""

from __future__ import annotations

import argparse
import sys
import textwrap

import pytest

from churnlib.cli import _help_texts
from churnlib.cli._parser import _add_extension, add_debug
from tests.cli.conftest import assert_one_line_error

SCORE = ["score", "--model", "m", "--input", "i", "--output", "o"]
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


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in result.stdout
    assert "Exit status: 0 success, 1 the job failed, 2 usage error" in result.stdout


def test_version(cli):
    from churnlib._core.version import __version__

    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"churnlib {__version__}"


def test_every_command_has_help():
    texts = _help_texts()
    for command in COMMANDS:
        assert f"churnlib {command}" in texts
    assert {"churnlib monitor log", "churnlib monitor report"} <= set(texts)
    for name, text in texts.items():
        assert text.startswith("usage: "), name
        if name not in ("churnlib", "churnlib monitor"):
            assert "--debug" in text, name


@pytest.mark.parametrize("command", [*COMMANDS, "monitor log", "monitor report"])
def test_help_exits_zero(command, cli):
    result = cli(*command.split(), "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: churnlib {command}")


def test_train_help_names_the_contract_options(cli):
    out = cli("train", "--help").stdout
    assert "--drop COL" in out
    assert "--allow-leakage" in out


def test_score_and_monitor_need_no_id_column(cli):
    # the id column comes from the model's contract
    assert "default: the id column the model was trained with" in " ".join(
        cli("score", "--help").stdout.split()
    )
    out = " ".join(cli("monitor", "log", "--help").stdout.split())
    assert "--generate-ids" in out
    assert "default: the id column the model was trained with" in out


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
        ["train", "--data", "x.csv", "--target", "y", "--drop"],
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
def test_usage_errors_exit_2(argv, cli):
    result = cli(*argv)
    assert result.returncode == 2
    assert "usage: churnlib" in result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["generate", "--output", "customers.json"],
            "--output: cannot tell the format of 'customers.json': end the URL "
            "in .csv or .parquet",
        ),
        (
            [*SCORE, "--scheduler", "tcp://127.0.0.1:1"],
            "--scheduler needs --engine dask",
        ),
        (
            ["train", "--data", "d.csv", "--target", "t", "--alias", "production"],
            "--alias needs --store",
        ),
        (
            ["train", "--data", "d.csv", "--target", "t", "--report", "card.pdf"],
            "--report must be an .html file, got 'card.pdf'",
        ),
        (
            ["demo", "--storage-option", "no-equals-sign"],
            "--storage-option expects KEY=VALUE",
        ),
    ],
)
def test_checked_usage_errors_exit_2(argv, message, cli):
    result = cli(*argv)
    assert result.returncode == 2
    assert result.stderr.startswith(f"churnlib {argv[0]}: error: ")
    assert message in result.stderr


def test_usage_error_hides_url_secrets(cli):
    result = cli(
        "evaluate",
        "--model",
        "s3://AKIAKEY:hunter2@bucket/models",
        "--data",
        "d.csv",
        "--output",
        "https://acct.blob.core.windows.net/c/card.pdf?sig=s3cr3tsig",
    )
    assert result.returncode == 2
    assert "--output must be an .html file" in result.stderr
    assert "s3cr3tsig" not in result.stderr


# -- commands registered by optional layers ----------------------------------------
def test_dashboard_is_registered_by_its_package(cli):
    pytest.importorskip("churnlib.dashboard._cli")
    out = cli("dashboard", "--help").stdout
    assert out.startswith("usage: churnlib dashboard")
    assert "--debug" in out  # the CLI adds its common options


def test_serve_is_registered_by_its_package(cli):
    pytest.importorskip("churnlib.serve._cli")
    out = cli("serve", "--help").stdout
    assert out.startswith("usage: churnlib serve")


@pytest.fixture
def layer_without_its_extra(tmp_path, monkeypatch):
    """A real module that imports a package that is not installed."""
    (tmp_path / "fake_layer_cli.py").write_text(
        textwrap.dedent(
            """
            import churnlib_package_that_is_not_installed  # noqa: F401

            def add_parser(subparsers):
                raise AssertionError("never reached")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_layer_cli"
    sys.modules.pop("fake_layer_cli", None)


def _parser_with(name, module, extra):
    parser = argparse.ArgumentParser(prog="churnlib")
    add_debug(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_extension(sub, name, module, extra)
    return parser, sub


def test_missing_extra_keeps_the_command_and_names_the_extra(layer_without_its_extra):
    from churnlib.cli._common import JobError

    parser, sub = _parser_with("fancy", layer_without_its_extra, "fancy")
    assert "fancy" in sub.choices
    assert 'pip install "churnlib[fancy]"' in sub.choices["fancy"].format_help()
    args, unknown = parser.parse_known_args(["fancy", "--port", "9"])
    assert args.accepts_unknown_arguments
    assert unknown == ["--port", "9"]
    with pytest.raises(JobError, match=r'pip install "churnlib\[fancy\]"') as info:
        args.func(args)
    assert "churnlib_package_that_is_not_installed" in str(info.value)


def test_missing_extra_through_main(layer_without_its_extra, cli, monkeypatch):
    from churnlib.cli import _parser

    monkeypatch.setattr(
        _parser, "EXTENSIONS", (("fancy", layer_without_its_extra, "fancy"),)
    )
    result = cli("fancy", "--port", "9")
    assert_one_line_error(result, 'pip install "churnlib[fancy]"')
    assert "'churnlib fancy' needs" in result.stderr


def test_missing_layer_module_registers_nothing():
    _, sub = _parser_with("ghost", "churnlib.no_such_layer._cli", "ghost")
    assert "ghost" not in sub.choices


def test_a_broken_layer_is_not_hidden(tmp_path, monkeypatch):
    (tmp_path / "broken_layer_cli.py").write_text(
        "def add_parser(subparsers):\n    raise RuntimeError('bug in the layer')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match="bug in the layer"):
            _parser_with("broken", "broken_layer_cli", "broken")
    finally:
        sys.modules.pop("broken_layer_cli", None)


def test_importing_the_cli_is_light():
    import subprocess

    code = (
        "import sys, churnlib.cli, churnlib.cli._parser as p; p.build_parser(); "
        "heavy = [m for m in ('mlflow', 'sklearn', 'matplotlib', 'streamlit', "
        "'fastapi', 's3fs') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
