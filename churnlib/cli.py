"""The ``churnlib`` command line (also ``python -m churnlib``).

``churnlib demo`` runs the whole loop on generated customers; the other
commands are batch jobs for real use, one per stage of the loop::

    churnlib demo      [--workdir DIR] [--store URL] [--tracking-uri URI]
    churnlib generate  --output URL [--n-customers N]
    churnlib train     --data URL --target COL [--positive V] [--store URL]
    churnlib evaluate  --model STORE@REF --data URL --target COL [--output HTML]
    churnlib publish   --model-uri URI --store URL [--alias NAME]
    churnlib versions  --store URL
    churnlib promote   --store URL VERSION ALIAS
    churnlib rollback  --store URL ALIAS
    churnlib score     --model STORE@REF --input URL --output URL
    churnlib monitor log     --store URL --model STORE@REF --input URL ...
    churnlib monitor report  --store URL --reference URL --output HTML

Exit status: 0 on success, 1 when the job fails (one line on stderr naming what
failed and how to fix it; ``--debug`` adds the traceback), 2 on a usage error.
The module imports nothing heavy: each command imports the layers it uses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["main"]

PROG = "churnlib"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


# --------------------------------------------------------------------------
# small helpers shared by the commands
# --------------------------------------------------------------------------
def _one_line(text: object) -> str:
    """Collapse a (possibly multi-line) message into one line."""
    return " ".join(str(text).split())


def _error_message(err: BaseException) -> str:
    """Return the one line printed for an expected error."""
    from churnlib.exceptions import ChurnlibError

    message = _one_line(err) or type(err).__name__
    if isinstance(err, ChurnlibError | _JobError):
        return message
    if isinstance(err, FileNotFoundError) and err.filename and not str(err).strip():
        return f"file not found: {err.filename}"
    if isinstance(err, ModuleNotFoundError) and err.name:
        return (
            f"{message}. The optional package {err.name!r} is needed for this "
            "command: install it, or install every extra with "
            'pip install "churnlib[all]"'
        )
    return f"{type(err).__name__}: {message}"


def _parse_storage_options(pairs: Sequence[str] | None) -> dict[str, Any] | None:
    """``["key=value", ...]`` -> dict; values are JSON-decoded when possible."""
    if not pairs:
        return None
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _UsageError(
                f"--storage-option expects KEY=VALUE, got {pair!r} "
                "(for example --storage-option anon=true)"
            )
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _split_model_ref(text: str) -> tuple[str, str]:
    """``"s3://bucket/models@production"`` -> ``("s3://bucket/models", "production")``.

    Without ``@REF`` the reference is ``"latest"``.
    """
    url, sep, ref = text.rpartition("@")
    if not sep or not url or not ref or "/" in ref:
        return text, "latest"
    return url, ref


class _UsageError(Exception):
    """A usage error found after argument parsing (exit status 2)."""


class _JobError(Exception):
    """An expected failure of a command (exit status 1, message printed as is)."""


def _redact(url: str) -> str:
    """Drop ``user:password@`` from a URL before it is printed."""
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        return str(url)
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}://{netloc}{slash}{path}"


def _table_format(url: str) -> str:
    """``"parquet"`` or ``"csv"`` from a URL's extension, else a usage error."""
    lower = str(url).lower().split("?")[0]
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    raise _UsageError(
        f"cannot tell the format of {_redact(url)!r}: end the URL in .csv or .parquet"
    )


class _Progress:
    """One line per stage: ``[3/9] train ........ 1,000 rows   2.4 s``."""

    def __init__(self, total: int, *, quiet: bool, stream: TextIO) -> None:
        self.total = total
        self.quiet = quiet
        self.stream = stream
        self.index = 0
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, str]]:
        """Time a stage; the caller fills ``info["detail"]``."""
        self.index += 1
        info: dict[str, str] = {"detail": ""}
        start = time.perf_counter()
        yield info
        elapsed = time.perf_counter() - start
        self.timings[name] = elapsed
        if not self.quiet:
            head = f"[{self.index}/{self.total}] {name}"
            self.stream.write(f"{head:<24}{info['detail']:<58}{elapsed:6.1f} s\n")
            self.stream.flush()


def _print_table(rows: Sequence[Mapping[str, Any]], stream: TextIO) -> None:
    """Print dict rows as an aligned plain-text table."""
    if not rows:
        return
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    stream.write("\n")
    for r in cells:
        stream.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
        stream.write("\n")


# --------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------
class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts (also accepted before the command)."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback when the command fails",
    )


def _storage_option_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="an fsspec storage option for the URLs (repeatable; the value is "
        "JSON-decoded when it can be). Prefer environment variables for secrets",
    )


def _build_parser() -> argparse.ArgumentParser:
    from churnlib import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "churnlib: from raw customer data to a monitored churn model.\n\n"
            "Run 'churnlib demo' for the whole loop on generated customers, or\n"
            "one of the batch jobs below. 'churnlib COMMAND --help' for details."
        ),
        formatter_class=_Formatter,
        epilog="Exit status: 0 success, 1 the job failed, 2 usage error.",
    )
    parser.add_argument(
        "--version", action="version", version=f"churnlib {__version__}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False,
        help="show the full traceback when a command fails",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_: str,
        description: str,
    ):
        p = sub.add_parser(
            name,
            help=help_,
            description=description,
            formatter_class=_Formatter,
        )
        _common(p)
        p.set_defaults(func=func)
        return p

    # demo ------------------------------------------------------------------
    p = add(
        "demo",
        _cmd_demo,
        "run the whole loop on generated customers",
        "The whole loop on embedded defaults: generate customers, validate,\n"
        "preprocess and split them, train with MLflow (SQLite in the work folder),\n"
        "evaluate (HTML report card), publish to a model store and promote to\n"
        "'production', simulate production batches with drift, monitor them,\n"
        "print the alerts and write the monitor report.",
    )
    p.add_argument(
        "--workdir",
        default="churnlib-demo",
        metavar="DIR",
        help="folder for every output (default: ./churnlib-demo)",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="model store URL (default: WORKDIR/models); any fsspec URL",
    )
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: sqlite:///WORKDIR/mlflow.db)",
    )
    p.add_argument(
        "--n-customers",
        type=_positive_int(100),
        default=10_000,
        metavar="N",
        help="customers to generate for training (default: 10000, minimum 100)",
    )
    p.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed for every random draw (default: 0)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines; print only the final summary",
    )
    _storage_option_arg(p)

    # generate ---------------------------------------------------------------
    p = add(
        "generate",
        _cmd_generate,
        "write a table of synthetic customers",
        "Write synthetic customers (with the label 'churned') to a CSV or\n"
        "Parquet file at any fsspec URL; the format follows the extension.",
    )
    p.add_argument(
        "--output",
        required=True,
        metavar="URL",
        help="where to write (.csv or .parquet)",
    )
    p.add_argument("--n-customers", type=_positive_int(1), default=10_000, metavar="N")
    p.add_argument(
        "--churn-rate",
        type=_probability,
        metavar="R",
        help="target churn rate in (0, 1) "
        "(default: the ground-truth model's own, about 26%%)",
    )
    p.add_argument("--random-state", type=int, metavar="SEED")
    p.add_argument(
        "--truth",
        action="store_true",
        help="add the column 'churn_probability' (the Bayes-optimal score)",
    )
    _storage_option_arg(p)
    return parser


def _help_texts() -> dict[str, str]:
    """``--help`` of the program and of every (nested) subcommand, by name.

    Used by the documentation build, so the CLI page never drifts from the code.
    """
    texts: dict[str, str] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        texts[name] = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")

    walk(_build_parser(), PROG)
    return texts


def _positive_int(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be strictly between 0 and 1, got {value}"
        )
    return value


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def _write_table(
    frame: Any, url: str, storage_options: Mapping[str, Any] | None
) -> None:
    """Write a frame as CSV or Parquet, chosen by the URL's extension."""
    import fsspec

    fmt = _table_format(url)
    try:
        fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "wb") as fh:
            if fmt == "parquet":
                frame.to_parquet(fh, index=False)
            else:
                fh.write(frame.to_csv(index=False).encode())
    except ImportError:
        raise
    except Exception as err:
        raise _JobError(
            f"cannot write {_redact(url)}: {type(err).__name__}: {_one_line(err)}. "
            "Check that the location exists and that credentials are set in the "
            "environment (see 'Deploy to S3, Azure or GCS' in the docs)"
        ) from err


def _cmd_generate(args: argparse.Namespace) -> int:
    from churnlib.data import generate_customers

    _table_format(args.output)  # fail on a bad extension before any work
    frame = generate_customers(
        args.n_customers,
        churn_rate=args.churn_rate,
        random_state=args.random_state,
        return_truth=args.truth,
    )
    _write_table(frame, args.output, _parse_storage_options(args.storage_option))
    rate = float(frame["churned"].mean())
    print(f"wrote {len(frame):,} customers ({rate:.1%} churned) to {args.output}")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from churnlib._demo import run_demo

    return run_demo(args)


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    stream = file or sys.stderr
    stream.write(f"{PROG}: warning: {_one_line(message)}\n")


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
    parser = _build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
            return int(args.func(args))
    except _UsageError as err:
        parser.exit(EXIT_USAGE, f"{PROG} {args.command}: error: {err}\n")
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except Exception as err:
        if debug:
            traceback.print_exc()
        message = _error_message(err)
        hint = "" if debug else " (run with --debug for the traceback)"
        from churnlib.exceptions import ChurnlibError

        expected = isinstance(
            err, ChurnlibError | _JobError | OSError | ValueError | ImportError
        )
        sys.stderr.write(f"{PROG}: error: {message}{'' if expected else hint}\n")
        return EXIT_FAILURE
    return EXIT_OK  # pragma: no cover - parser.exit raised


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
