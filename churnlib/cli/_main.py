"""The entry point: parse, run one command, turn failures into one line."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import TextIO

from churnlib.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    JobError,
    UsageError,
    error_message,
    one_line,
    redact_text,
)

__all__ = ["main"]

#: Options whose values are URLs: their secrets are scrubbed from any message.
_URL_OPTIONS = (
    "data",
    "input",
    "output",
    "store",
    "model",
    "model_uri",
    "tracking_uri",
    "monitor",
    "reference",
    "predictions",
    "outcomes",
    "report",
    "webhook",
    "alerts_file",
    "workdir",
    "scheduler",
)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    stream = file or sys.stderr
    stream.write(f"{PROG}: warning: {_scrub(one_line(message))}\n")


_urls_given: list[str] = []


def _scrub(text: str) -> str:
    """Hide the secrets of every URL the command was given."""
    from churnlib._urls import redact_urls_in

    # The given URLs (and pieces of them), then any other URL with a password
    # or a query token in the message.
    return redact_urls_in(redact_text(text, _urls_given))


#: Python keywords the library's messages suggest, as this command line spells
#: the same fix (its flag, or what to do where there is no flag).
_CLI_FIXES = (
    ("pass id_column='<name>'", "pass --id-column NAME"),
    ("pass allow_training_overlap=True", "pass --allow-training-overlap"),
    (
        "create it or pass create=True",
        "check --store (a store is created by its first publish)",
    ),
    ("Create it, or use create=True", "Create it, or check --store"),
)


def _cli_words(message: str) -> str:
    """Say the fixes a library message names the way this command line spells them."""
    for python, flag in _CLI_FIXES:
        message = message.replace(python, flag)
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, default=None
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when the command failed, 2 on a usage error.

    Examples
    --------
    >>> from churnlib.cli import main
    >>> main(["generate", "--output", "memory://doc/c.csv", "--n-customers", "50"])
    wrote 50 customers (...% churned) to memory://doc/c.csv
    0
    """
    from churnlib.cli._parser import build_parser

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_unknown_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    debug = bool(getattr(args, "debug", False))
    _urls_given[:] = [
        str(value)
        for name in _URL_OPTIONS
        if isinstance(value := getattr(args, name, None), str | os.PathLike)
    ]
    if not debug:  # MLflow reads this when first imported (by a command)
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        with warnings.catch_warnings():
            # A command line shows each warning once, as one line; it never
            # turns one into an error (whatever filters the caller set).
            warnings.simplefilter("default")
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            if not debug:
                warnings.showwarning = _show_warning
                # MLflow's schema-inference hints are for MLflow users, not ours.
                warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
            return int(args.func(args))
    except UsageError as err:
        parser.exit(EXIT_USAGE, f"{PROG} {args.command}: error: {_scrub(str(err))}\n")
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `churnlib versions ... | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as err:
        if debug:
            traceback.print_exc()
        message = _cli_words(_scrub(error_message(err)))
        from churnlib.exceptions import ChurnlibError

        expected = isinstance(
            err, ChurnlibError | JobError | OSError | ValueError | ImportError
        )
        hint = "" if debug or expected else " (run with --debug for the traceback)"
        sys.stderr.write(f"{PROG}: error: {message}{hint}\n")
        return EXIT_FAILURE
    return EXIT_OK  # pragma: no cover - parser.exit raised
