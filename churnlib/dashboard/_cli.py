"""``churnlib dashboard``: the subcommand that starts the Streamlit app.

The CLI package calls :func:`add_parser` to register the subcommand. This
module imports nothing heavy: Streamlit runs in a child process started by
:func:`run_dashboard`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "APP_FILE",
    "WORKDIR_ENV",
    "add_parser",
    "run_dashboard",
    "streamlit_command",
]

#: The Streamlit entry script of the dashboard.
APP_FILE = Path(__file__).with_name("app.py")
#: Environment variable the app reads its work directory from.
WORKDIR_ENV = "CHURNLIB_DASHBOARD_WORKDIR"
DEFAULT_WORKDIR = "churnlib-demo"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a port number, got {text!r}"
        ) from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"a port is in 1..65535, got {value}")
    return value


def add_parser(subparsers: Any) -> None:
    """Register ``churnlib dashboard`` on an ``argparse`` subparsers object.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned. The new parser's
        ``func`` default is :func:`run_dashboard`.
    """
    p = subparsers.add_parser(
        "dashboard",
        help="open the web dashboard (Streamlit): data, train, evaluate, "
        "monitor, deploy",
        description=(
            "Start the churnlib web dashboard on HOST:PORT (Streamlit, installed\n"
            'with pip install "churnlib[dashboard]"). It works in WORKDIR, the\n'
            "same layout 'churnlib demo' writes: MLflow runs in WORKDIR/mlflow.db,\n"
            "the model store WORKDIR/models, the monitor log WORKDIR/monitor.\n"
            "It listens on 127.0.0.1 only unless --host says otherwise."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--workdir",
        default=DEFAULT_WORKDIR,
        metavar="DIR",
        help=f"work directory (default: ./{DEFAULT_WORKDIR}, as 'churnlib demo')",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)",
    )
    p.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    p.set_defaults(func=run_dashboard)


def streamlit_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """Return the command line that serves the dashboard.

    Parameters
    ----------
    host : str, default="127.0.0.1"
        Address to bind.
    port : int, default=8501
        Port to bind.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from churnlib.dashboard._cli import streamlit_command
    >>> streamlit_command(port=9000)[3:]  # doctest: +ELLIPSIS
    ['run', '.../app.py', '--server.headless', 'true', '--server.address', \
'127.0.0.1', '--server.port', '9000', '--browser.gatherUsageStats', 'false', \
'--client.toolbarMode', 'viewer']
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.headless",
        "true",
        "--server.address",
        str(host),
        "--server.port",
        str(int(port)),
        "--browser.gatherUsageStats",
        "false",
        # no "Deploy" button of Streamlit's own cloud next to the Deploy page
        "--client.toolbarMode",
        "viewer",
    ]


def run_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        With ``workdir``, ``host`` and ``port`` (see :func:`add_parser`).

    Returns
    -------
    int
        0 after Ctrl-C or a clean stop, 1 when Streamlit is missing or fails.
    """
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        sys.stderr.write(
            "churnlib: the dashboard needs Streamlit and Plotly: "
            'pip install "churnlib[dashboard]"\n'
        )
        return 1
    workdir = Path(args.workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env[WORKDIR_ENV] = str(workdir)
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    command = streamlit_command(args.host, args.port)
    sys.stdout.write(
        f"churnlib dashboard on http://{args.host}:{args.port} "
        f"(work directory {workdir}); Ctrl-C stops it\n"
    )
    sys.stdout.flush()
    process = subprocess.Popen(command, env=env)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 0
    return 0 if code in (0, -2, 130) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``churnlib dashboard`` on its own (``python -m churnlib.dashboard``).

    Parameters
    ----------
    argv : sequence of str, default=None
        The arguments after ``dashboard``.

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="churnlib")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["dashboard", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))
