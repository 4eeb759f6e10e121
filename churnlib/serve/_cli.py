"""``churnlib serve MODEL_REF``: the command line of the scoring service.

:func:`add_parser` registers the ``serve`` subcommand on the ``churnlib``
parser; ``python -m churnlib.serve`` runs the same command on its own
(:func:`main`). This module imports only the standard library: the app, the
model store and uvicorn are imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["add_parser", "main", "run"]

DESCRIPTION = """\
Serve a published churn model over HTTP (the serve extra).

  POST /v1/predict    JSON records or CSV -> churn probability, decision,
                      model version and prediction id per row
  POST /v1/outcomes   observed outcomes, logged to the monitor store
  POST /v1/churn-events  churn events (customer C left on date D)
  GET  /healthz, /readyz, /metrics (Prometheus)

MODEL_REF is STORE@ALIAS, STORE@VERSION or STORE (latest), e.g.
s3://bucket/models@production. An alias is followed: a promote or rollback
is served within --reload-interval seconds, switched atomically.

Access control is on: API keys come from CHURNLIB_SERVE_TOKENS (comma
separated) and --token-file (one a line, re-read on change: delete a line to
revoke a key). With neither, a key is generated and printed once. Clients send
'Authorization: Bearer KEY' or 'X-API-Key: KEY'. --no-auth serves openly.

With --monitor STORE every served prediction is logged there (a ChurnMonitor
store) by a background writer; SIGTERM or Ctrl-C writes what is queued. The
model's contract says what to log, so --reference is optional: reports (drift,
performance) need it and are made later with ChurnMonitor(reference,
model=..., store=STORE).report().
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a port number, got {text!r}"
        ) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {value}")
    return value


def _duration(unit: str, most: float | None = None) -> Callable[[str], float]:
    """Return an argparse type: a number of ``unit`` >= 0 (and <= ``most``)."""
    bounds = ">= 0" if most is None else f"in 0..{most:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unit}, got {text!r}") from None
        # "not >=" also refuses nan
        if not value >= 0 or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"expected {unit} {bounds}, got {text!r}")
        return value

    return parse


_seconds = _duration("seconds")
_milliseconds = _duration("milliseconds", 1000)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model_ref", metavar="MODEL_REF", help="STORE@ALIAS, STORE@VERSION or STORE"
    )
    p.add_argument(
        "--monitor", metavar="STORE", help="monitor store URL to log predictions to"
    )
    p.add_argument(
        "--reference",
        metavar="TABLE",
        help="reference table for the monitor (held-out labelled rows); "
        "optional: without it the service only logs, and reports are made later "
        "by a ChurnMonitor built with the reference over the same store",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    auth = p.add_argument_group("access control")
    auth.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without API keys (anyone who reaches the port can score)",
    )
    auth.add_argument(
        "--token-file",
        metavar="FILE",
        help="file of accepted API keys, one a line (re-read when it changes)",
    )
    tune = p.add_argument_group("limits and timing")
    tune.add_argument(
        "--reload-interval",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="seconds between alias (and token file) checks; 0 = never (default 5)",
    )
    tune.add_argument(
        "--flush-rows",
        type=_positive_int,
        default=10_000,
        metavar="N",
        help="write logged rows when N are waiting (default 10000)",
    )
    tune.add_argument(
        "--flush-seconds",
        type=_seconds,
        default=1.0,
        metavar="S",
        help="write logged rows that waited S seconds (default 1)",
    )
    tune.add_argument(
        "--max-rows",
        type=_positive_int,
        default=10_000,
        metavar="N",
        help="most rows a request (default 10000)",
    )
    tune.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=8 * 1024 * 1024,
        metavar="N",
        help="largest request body in bytes (default 8 MiB)",
    )
    tune.add_argument(
        "--max-backlog",
        type=_positive_int,
        default=200_000,
        metavar="N",
        help="refuse predictions (503) while N rows wait to be logged (default 200000)",
    )
    batch = p.add_argument_group("batching")
    batch.add_argument(
        "--max-batch-rows",
        type=_positive_int,
        default=20_000,
        metavar="N",
        help="most rows scored in one call when concurrent requests are "
        "batched (default 20000)",
    )
    batch.add_argument(
        "--max-wait-ms",
        type=_milliseconds,
        default=0.0,
        metavar="MS",
        help="milliseconds a batch may wait for requests already being read; "
        "a lone request never waits (default 0)",
    )
    p.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="fsspec option for the stores and the reference (repeatable)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default info)",
    )
    p.add_argument(
        "--no-access-log", action="store_true", help="do not log each request line"
    )


def add_parser(subparsers: Any) -> None:
    """Register ``churnlib serve`` on a ``churnlib`` subparsers object."""
    p = subparsers.add_parser(
        "serve",
        help="serve a published model over HTTP (predict, outcomes, metrics)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(p)
    p.set_defaults(func=run, command="serve")


class ServeUsageError(ValueError):
    """Options that do not go together (exit status 2)."""


def _usage_error_types() -> tuple[type[Exception], ...]:
    try:
        from churnlib.cli._common import UsageError
    except ImportError:  # pragma: no cover - the CLI package ships with churnlib
        return (ServeUsageError,)
    return (ServeUsageError, UsageError)


def _usage(message: str) -> Exception:
    """Build the usage error the ``churnlib`` CLI maps to exit status 2."""
    kinds = _usage_error_types()
    return kinds[-1](message)


def _storage_options(pairs: Sequence[str] | None) -> dict[str, Any] | None:
    if not pairs:
        return None
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _usage(f"--storage-option expects KEY=VALUE, got {key or pair!r}...")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _log_config(level: str) -> dict[str, Any]:
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["churnlib"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def run(args: argparse.Namespace) -> int:
    """Run the service until SIGTERM/SIGINT; return the exit status."""
    if args.no_auth and args.token_file:
        raise _usage("--no-auth and --token-file exclude each other")
    import uvicorn

    from churnlib.serve._app import create_app

    url = f"http://{args.host}:{args.port}"

    def announce(token: str) -> None:
        sys.stderr.write(
            "\nchurnlib serve: no API key configured (CHURNLIB_SERVE_TOKENS or "
            "--token-file); generated one for this run:\n\n"
            f"    {token}\n\n"
            f"    curl -H 'Authorization: Bearer {token}' -H 'Content-Type: "
            f"application/json' -d '[{{...}}]' {url}/v1/predict\n\n"
            "It is shown only this once.\n\n"
        )
        sys.stderr.flush()

    app = create_app(
        args.model_ref,
        monitor=args.monitor,
        reference=args.reference,
        storage_options=_storage_options(args.storage_option),
        token_file=args.token_file,
        auth=not args.no_auth,
        reload_interval=args.reload_interval,
        flush_rows=args.flush_rows,
        flush_seconds=args.flush_seconds,
        max_body_bytes=args.max_body_bytes,
        max_rows=args.max_rows,
        max_backlog=args.max_backlog,
        max_batch_rows=args.max_batch_rows,
        max_wait_ms=args.max_wait_ms,
        announce_token=announce,
    )
    # Load the model now: a wrong reference (or a model without a contract
    # logged without one) fails here, in one line.
    app.state.follower.check()
    if args.no_auth:
        sys.stderr.write(
            f"churnlib serve: --no-auth: anyone who can reach {url} can use it.\n"
        )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=_log_config(args.log_level),
        access_log=not args.no_access_log,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m churnlib.serve``: parse ``argv``, run, map errors to exit codes."""
    parser = argparse.ArgumentParser(
        prog="python -m churnlib.serve",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except _usage_error_types() as err:
        parser.error(str(err))
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if args.debug:
            raise
        from churnlib._urls import redact_url

        message = " ".join(str(err).split()) or type(err).__name__
        if args.model_ref:
            message = message.replace(args.model_ref, redact_url(args.model_ref))
        sys.stderr.write(f"churnlib serve: error: {message}\n")
        return 1
    return 1  # pragma: no cover - parser.error exits
