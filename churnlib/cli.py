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
    churnlib score     --model STORE@REF --input URL --output URL [--engine dask]
    churnlib monitor log     --monitor URL --reference URL --target COL
                             --model STORE@REF (--predictions URL | --outcomes URL)
    churnlib monitor report  --monitor URL --reference URL --target COL
                             --model STORE@REF [--output HTML] [--webhook URL]

Exit status: 0 on success, 1 when the job fails (one line on stderr naming what
failed and how to fix it; ``--debug`` adds the traceback), 2 on a usage error.
The module imports nothing heavy: each command imports the layers it uses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from churnlib._urls import redact_url

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


def _parse_label(text: str | None) -> Any:
    """Decode a label from the command line: ``1`` -> 1, ``true`` -> True, else str."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, bool | int | float) else text


class _UsageError(Exception):
    """A usage error found after argument parsing (exit status 2)."""


class _JobError(Exception):
    """An expected failure of a command (exit status 1, message printed as is)."""


def _table_format(url: str) -> str:
    """``"parquet"`` or ``"csv"`` from a URL's extension, else a usage error."""
    lower = str(url).lower().split("?")[0]
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    raise _UsageError(
        f"cannot tell the format of {redact_url(url)!r}: "
        "end the URL in .csv or .parquet"
    )


class _Progress:
    """One line per stage: ``[5/9] train    12.3 s   MLflow run 1a2b3c4d, ...``."""

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
            self.stream.write(f"{head:<26}{elapsed:5.1f} s   {info['detail']}\n")
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
    ) -> argparse.ArgumentParser:
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
        "--scenario",
        choices=("none", "covariate_shift", "concept_drift", "prior_shift"),
        default="covariate_shift",
        help="drift in the simulated production batches, from the middle batch "
        "on (default: covariate_shift)",
    )
    p.add_argument(
        "--batches",
        type=_positive_int(2),
        default=8,
        metavar="N",
        help="production batches to simulate (default: 8)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int(50),
        default=1_000,
        metavar="N",
        help="customers per production batch (default: 1000)",
    )
    p.add_argument(
        "--batch-freq",
        default="1D",
        metavar="FREQ",
        help="time covered by each production batch, a pandas frequency (default: 1D)",
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

    # train ------------------------------------------------------------------
    p = add(
        "train",
        _cmd_train,
        "train a model on a CSV/Parquet table, tracked in MLflow",
        "Read a churn table from any fsspec URL (cleaned: blank numbers, yes/no,\n"
        "'Unknown' placeholders, identifier columns kept out), split it\n"
        "(stratified), train a pipeline and record it as an MLflow run with its\n"
        "validation metrics. Optionally publish the model to a model store.",
    )
    _table_args(p)
    p.add_argument(
        "--estimator",
        choices=sorted(_ESTIMATORS),
        default="random_forest",
        help="the classifier (default: random_forest)",
    )
    p.add_argument(
        "--threshold",
        metavar="T|METRIC",
        help="decision threshold: a number in (0, 1), or a metric to tune it "
        "for by cross-validation (e.g. f1); default 0.5",
    )
    p.add_argument(
        "--test-size",
        type=_probability,
        default=0.2,
        metavar="F",
        help="share of rows held out for validation (default: 0.2)",
    )
    p.add_argument("--random-state", type=int, default=0, metavar="SEED")
    _tracking_args(p)
    p.add_argument("--experiment", default="churnlib", help="MLflow experiment")
    p.add_argument("--run-name", help="MLflow run name")
    p.add_argument(
        "--registered-model-name",
        metavar="NAME",
        help="also register the model in the MLflow model registry",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="publish the trained model to this model store",
    )
    p.add_argument(
        "--alias",
        metavar="NAME",
        help="with --store: point this alias (e.g. staging) at the new version",
    )
    p.add_argument(
        "--report",
        metavar="URL",
        help="write the evaluation report card (HTML) of the held-out rows here",
    )
    _storage_option_arg(p)

    # evaluate ---------------------------------------------------------------
    p = add(
        "evaluate",
        _cmd_evaluate,
        "evaluate a stored model on a labelled table",
        "Score a labelled table with a model and print every metric of the\n"
        "report card (ranking, probability quality, decisions at the threshold,\n"
        "campaign profit); optionally write the HTML report card.",
    )
    _model_arg(p, mlflow=True)
    _table_args(p)
    p.add_argument(
        "--threshold",
        type=_unit_interval,
        default=0.5,
        metavar="T",
        help="decision threshold for the decision metrics (default: 0.5)",
    )
    p.add_argument("--output", metavar="URL", help="write the HTML report card here")
    p.add_argument(
        "--json", action="store_true", help="print the metrics as JSON instead"
    )
    _tracking_args(p)
    _storage_option_arg(p)

    # publish ----------------------------------------------------------------
    p = add(
        "publish",
        _cmd_publish,
        "copy a model from MLflow into a model store",
        "Load a model logged in MLflow (runs:/RUN_ID/model, models:/NAME/VERSION,\n"
        "models:/NAME@ALIAS or models:/MODEL_ID) and publish it as a new immutable\n"
        "version of a model store, with the run's metrics.",
    )
    p.add_argument(
        "--model-uri", required=True, metavar="URI", help="the MLflow model URI"
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument(
        "--alias", metavar="NAME", help="point this alias at the new version"
    )
    _tracking_args(p)
    _storage_option_arg(p)

    # versions / promote / rollback --------------------------------------------
    p = add(
        "versions",
        _cmd_versions,
        "list the versions of a model store",
        "List every complete version of a model store, newest last, with its\n"
        "aliases, creation time and main metrics.",
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    _storage_option_arg(p)

    p = add(
        "promote",
        _cmd_promote,
        "point an alias (e.g. production) at a version",
        "Point ALIAS at VERSION (a version id, another alias, or 'latest').\n"
        "The previous target is kept in the alias history, for rollback.",
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("alias", metavar="ALIAS")
    _storage_option_arg(p)

    p = add(
        "rollback",
        _cmd_rollback,
        "move an alias back to its previous version",
        "Point ALIAS back at the version it pointed to before its last change.",
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument("alias", metavar="ALIAS")
    _storage_option_arg(p)

    # monitor ----------------------------------------------------------------
    p = add(
        "monitor",
        _cmd_monitor_help,
        "log production predictions and outcomes; report drift and alerts",
        "Watch a deployed model. 'monitor log' appends a batch of predictions\n"
        "(or of late outcomes) to a monitor log at any fsspec URL; 'monitor\n"
        "report' summarizes the log chunk by chunk (drift, realized and estimated\n"
        "performance, data quality), prints the alerts and writes the report.\n"
        "Both compare with the reference table: the labelled data the model was\n"
        "validated on.",
    )
    monitor_sub = p.add_subparsers(
        dest="monitor_command", metavar="ACTION", required=True
    )

    def add_monitor(
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_: str,
        description: str,
    ) -> argparse.ArgumentParser:
        q = monitor_sub.add_parser(
            name, help=help_, description=description, formatter_class=_Formatter
        )
        _common(q)
        q.set_defaults(func=func)
        q.add_argument(
            "--monitor", required=True, metavar="URL", help="the monitor log (a folder)"
        )
        q.add_argument(
            "--reference",
            required=True,
            metavar="URL",
            help="the labelled reference table (CSV or Parquet)",
        )
        q.add_argument(
            "--target", required=True, metavar="COL", help="its label column"
        )
        q.add_argument(
            "--positive",
            metavar="V",
            help="the label value meaning 'churned' (default: True / 1 / Yes)",
        )
        _model_arg(q)
        q.add_argument(
            "--id-column",
            default="customer_id",
            metavar="COL",
            help="the customer id column (default: customer_id)",
        )
        q.add_argument(
            "--threshold",
            type=_unit_interval,
            metavar="T",
            help="decision threshold (default: the model's own, else 0.5)",
        )
        return q

    q = add_monitor(
        "log",
        _cmd_monitor_log,
        "append predictions or outcomes to the monitor log",
        "Append one batch to the monitor log: with --predictions, a table of\n"
        "customers (features and ids) scored with the model; with --outcomes, a\n"
        "table of ids and what happened (the label column named by --target).",
    )
    what = q.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--predictions", metavar="URL", help="customers scored in production"
    )
    what.add_argument("--outcomes", metavar="URL", help="ids and their late labels")
    q.add_argument(
        "--score-column",
        metavar="COL",
        help="with --predictions: use this column as the score instead of scoring",
    )
    q.add_argument(
        "--timestamp-column",
        metavar="COL",
        help="column with each row's time (default: now)",
    )
    _storage_option_arg(q)

    q = add_monitor(
        "report",
        _cmd_monitor_report,
        "summarize the log: drift, performance, alerts",
        "Summarize the monitor log chunk by chunk, print the alerts, and write\n"
        "the HTML report. New alerts also go to --webhook / --alerts-file.",
    )
    chunking = q.add_mutually_exclusive_group()
    chunking.add_argument(
        "--freq", metavar="FREQ", help="chunk by time, e.g. 1D, W, MS"
    )
    chunking.add_argument(
        "--chunk-size", type=_positive_int(1), metavar="N", help="chunk by count"
    )
    q.add_argument("--output", metavar="URL", help="write the HTML report here")
    q.add_argument(
        "--webhook",
        metavar="URL",
        help="POST each new alert as JSON here (default: $CHURNLIB_ALERT_WEBHOOK)",
    )
    q.add_argument(
        "--alerts-file", metavar="URL", help="append each new alert as a JSON line"
    )
    q.add_argument("--json", action="store_true", help="print the alerts as JSON")
    q.add_argument(
        "--fail-on-alert",
        action="store_true",
        help="exit with status 1 when the report holds an alert",
    )
    _storage_option_arg(q)

    # score ------------------------------------------------------------------
    p = add(
        "score",
        _cmd_score,
        "score a whole table with a stored model",
        "Score a Parquet or CSV dataset (a file, a folder of part files or a glob)\n"
        "with a model from a model store, in bounded memory, and write the scores\n"
        "(ids, churn probability, decision, model version, timestamp) as a dataset\n"
        "whose _SUCCESS marker is written last. Locally on every core, or on a\n"
        "Dask cluster with --engine dask.",
    )
    _model_arg(p)
    p.add_argument("--input", required=True, metavar="URL", help="the table to score")
    p.add_argument(
        "--output", required=True, metavar="URL", help="output dataset folder"
    )
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local threads (default) or a dask.distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Dask scheduler address (with --engine dask; default: a temporary "
        "local cluster)",
    )
    p.add_argument(
        "--id-column",
        action="append",
        metavar="COL",
        help="identifier column copied to the output (repeatable; default: "
        "the first column named like an id)",
    )
    p.add_argument(
        "--column",
        action="append",
        metavar="COL",
        help="another input column to copy to the output (repeatable)",
    )
    p.add_argument(
        "--threshold",
        type=_unit_interval,
        metavar="T",
        help="decision threshold (default: the model's own, else 0.5)",
    )
    p.add_argument(
        "--batch-rows",
        type=_positive_int(1),
        default=100_000,
        metavar="N",
        help="rows held in memory per batch (default: 100000)",
    )
    p.add_argument("--output-format", choices=("parquet", "csv"), default="parquet")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    _storage_option_arg(p)
    return parser


def _model_arg(parser: argparse.ArgumentParser, *, mlflow: bool = False) -> None:
    extra = " or an MLflow model URI (runs:/..., models:/...)" if mlflow else ""
    parser.add_argument(
        "--model",
        required=True,
        metavar="STORE@REF",
        help="model store URL and version or alias, e.g. "
        f"s3://acme-models/churn@production (no @REF: the latest version){extra}",
    )


def _table_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, metavar="URL", help="CSV or Parquet table"
    )
    parser.add_argument(
        "--target", required=True, metavar="COL", help="the label column"
    )
    parser.add_argument(
        "--positive",
        metavar="V",
        help="the label value meaning 'churned' (obvious cases need none: "
        "Yes/No, 1/0, True/False)",
    )
    parser.add_argument(
        "--id-column",
        action="append",
        metavar="COL",
        help="an identifier column, kept out of the features (repeatable; "
        "obvious ones are detected)",
    )


def _tracking_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///mlflow.db in the current folder)",
    )


_ESTIMATORS = {
    "random_forest": "churnlib's default forest (400 trees, tuned for churn)",
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
}


def _make_estimator(name: str, random_state: int | None) -> Any:
    if name == "random_forest":
        return None  # ChurnTrainer's default
    if name == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1_000)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=random_state)


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


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


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
            f"cannot write {redact_url(url)}: {type(err).__name__}: {_one_line(err)}. "
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


def _read_labelled(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from churnlib.data import read_churn_table

    return read_churn_table(
        args.data,
        target=args.target,
        positive=_parse_label(args.positive),
        id_columns=args.id_column,
        storage_options=_parse_storage_options(args.storage_option),
    )


def _threshold_arg(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # a scorer name; ChurnTrainer validates it
    if not 0.0 < value < 1.0:
        raise _UsageError(f"--threshold must be in (0, 1) or a metric, got {text}")
    return value


def _print_metrics(metrics: Mapping[str, Any], stream: TextIO) -> None:
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
            stream.write(f"  {key:<{width}}  {int(value)}\n")
        elif isinstance(value, float):
            stream.write(f"  {key:<{width}}  {value:.4f}\n")
        else:
            stream.write(f"  {key:<{width}}  {value}\n")


def _cmd_train(args: argparse.Namespace) -> int:
    from churnlib.features import train_test_split_churn
    from churnlib.training import ChurnTrainer

    if args.alias and not args.store:
        raise _UsageError("--alias needs --store")
    threshold = _threshold_arg(args.threshold)
    storage_options = _parse_storage_options(args.storage_option)
    if args.report:
        _check_html_url(args.report)
    X, y, schema = _read_labelled(args)
    X_train, X_test, y_train, y_test = train_test_split_churn(
        X, y, test_size=args.test_size, random_state=args.random_state
    )
    trainer = ChurnTrainer(
        _make_estimator(args.estimator, args.random_state),
        experiment_name=args.experiment,
        tracking_uri=args.tracking_uri,
        registered_model_name=args.registered_model_name,
        threshold=threshold,
        run_name=args.run_name,
        random_state=args.random_state,
    )
    result = trainer.fit(X_train, y_train, X_valid=X_test, y_valid=y_test)
    out = sys.stdout
    out.write(
        f"trained {args.estimator} on {len(X_train):,} rows "
        f"({len(schema.features)} features), validated on {len(X_test):,}\n"
    )
    out.write(f"MLflow run   {result.run_id}\n")
    if result.model_uri:
        out.write(f"model URI    {result.model_uri}\n")
    if result.registered_model_uri:
        out.write(f"registered   {result.registered_model_uri}\n")
    out.write(f"threshold    {result.threshold:.4f}\n")
    _print_metrics(dict(result.metrics), out)
    if args.report:
        from churnlib.evaluation import evaluate

        report = evaluate(result.model, X_test, y_test, threshold=result.threshold)
        report.save_html(args.report, storage_options=storage_options)
        out.write(f"report card  {redact_url(args.report)}\n")
    if args.store:
        from churnlib.deployment import ModelStore

        store = ModelStore(args.store, storage_options=storage_options)
        version = store.publish(
            result.model,
            metrics=dict(result.metrics),
            metadata={"data": redact_url(args.data), "target": args.target},
            alias=args.alias,
            run_id=result.run_id,
        )
        where = f" as {args.alias!r}" if args.alias else ""
        out.write(
            f"published    {version.version} to {redact_url(args.store)}{where}\n"
        )
    return EXIT_OK


def _check_html_url(url: str) -> None:
    if not str(url).lower().split("?")[0].endswith((".html", ".htm")):
        raise _UsageError(f"the report must be an .html file, got {redact_url(url)!r}")


def _load_model(
    ref: str, tracking_uri: str | None, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str]:
    """Load a model from ``STORE@REF`` or an MLflow URI; return it and a label."""
    if ref.startswith(("runs:/", "models:/")):
        return _load_mlflow_model(ref, tracking_uri), ref
    from churnlib.deployment import ModelStore

    store, which = ModelStore.from_reference(ref, storage_options=storage_options)
    version = store.get(which)
    return store.load(version), f"{store.url}@{version.version}"


def _load_mlflow_model(uri: str, tracking_uri: str | None) -> Any:
    import mlflow.sklearn

    from churnlib.exceptions import TrackingError
    from churnlib.training._tracking import resolve_tracking_uri

    resolved = resolve_tracking_uri(tracking_uri)
    previous = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(resolved)
        return mlflow.sklearn.load_model(uri)
    except Exception as err:
        raise TrackingError(
            f"cannot load the MLflow model {uri!r} from {redact_url(resolved)}: "
            f"{_one_line(err)}. Check the URI (mlflow ui lists the runs) and "
            "--tracking-uri",
            tracking_uri=redact_url(resolved),
        ) from err
    finally:
        mlflow.set_tracking_uri(previous)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from churnlib.evaluation import evaluate

    storage_options = _parse_storage_options(args.storage_option)
    if args.output:
        _check_html_url(args.output)
    model, label = _load_model(args.model, args.tracking_uri, storage_options)
    X, y, _ = _read_labelled(args)
    report = evaluate(model, X, y, threshold=args.threshold, name=label)
    metrics = {k: _plain(v) for k, v in dict(report.metrics).items()}
    if args.json:
        json.dump(metrics, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(f"{label} on {len(X):,} rows of {redact_url(args.data)}\n")
        _print_metrics(metrics, sys.stdout)
    if args.output:
        report.save_html(args.output, storage_options=storage_options)
        if not args.json:
            sys.stdout.write(f"report card  {redact_url(args.output)}\n")
    return EXIT_OK


def _plain(value: Any) -> Any:
    """Numpy scalars -> Python scalars (for JSON)."""
    return value.item() if hasattr(value, "item") else value


def _cmd_publish(args: argparse.Namespace) -> int:
    from churnlib.deployment import ModelStore

    model = _load_mlflow_model(args.model_uri, args.tracking_uri)
    metrics, run_id = _run_metrics(args.model_uri, args.tracking_uri)
    store = ModelStore(
        args.store, storage_options=_parse_storage_options(args.storage_option)
    )
    version = store.publish(
        model,
        metrics=metrics,
        metadata={"mlflow_model_uri": args.model_uri},
        alias=args.alias,
        run_id=run_id,
    )
    where = f", alias {args.alias!r}" if args.alias else ""
    print(f"published {version.version} to {redact_url(args.store)}{where}")
    return EXIT_OK


def _run_metrics(
    uri: str, tracking_uri: str | None
) -> tuple[dict[str, float], str | None]:
    """Return the metrics and run id behind an MLflow model URI (empty if unknown)."""
    import mlflow

    from churnlib.training._tracking import resolve_tracking_uri

    previous = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
        if uri.startswith("runs:/"):
            run_id = uri[len("runs:/") :].split("/", 1)[0]
        else:
            from mlflow.models import get_model_info

            run_id = get_model_info(uri).run_id
        if not run_id:
            return {}, None
        return dict(mlflow.get_run(run_id).data.metrics), run_id
    except Exception:  # metrics are a courtesy; the model itself loaded fine
        return {}, None
    finally:
        mlflow.set_tracking_uri(previous)


def _fs_path(url: str, args: argparse.Namespace) -> str:
    """Return the path part of ``url`` on its fsspec file system."""
    import fsspec

    options = _parse_storage_options(args.storage_option) or {}
    path: str = fsspec.core.url_to_fs(str(url), **options)[1]
    return path


def _store(args: argparse.Namespace) -> Any:
    """Open the existing model store named by ``--store`` (never create it)."""
    from churnlib.deployment import ModelStore

    return ModelStore(
        args.store,
        storage_options=_parse_storage_options(args.storage_option),
        create=False,
    )


def _cmd_versions(args: argparse.Namespace) -> int:
    store = _store(args)
    versions = store.versions()
    if not versions and not store.fs.exists(_fs_path(args.store, args)):
        raise _JobError(
            f"no model store at {redact_url(args.store)}: check the URL "
            "(a store is created by its first publish)"
        )
    if args.json:
        rows = [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "aliases": list(v.aliases),
                "metrics": {k: _plain(x) for k, x in v.metrics.items()},
                "run_id": v.run_id,
                "sha256": v.sha256,
            }
            for v in versions
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not versions:
        print(f"no versions in {redact_url(args.store)}")
        return EXIT_OK
    rows = [
        {
            "VERSION": v.version,
            "CREATED (UTC)": f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            "ALIASES": ",".join(v.aliases) or "-",
            "ROC AUC": (
                f"{v.metrics['roc_auc']:.4f}" if "roc_auc" in v.metrics else "-"
            ),
            "RUN": (v.run_id or "-")[:12],
        }
        for v in versions
    ]
    _print_table(rows, sys.stdout)
    return EXIT_OK


def _cmd_promote(args: argparse.Namespace) -> int:
    store = _store(args)
    version = store.promote(args.version, args.alias)
    print(f"{args.alias} -> {getattr(version, 'version', version)}")
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    store = _store(args)
    version = store.rollback(args.alias)
    print(f"{args.alias} -> {getattr(version, 'version', version)} (rolled back)")
    return EXIT_OK


def _read_table(url: str, storage_options: Mapping[str, Any] | None) -> Any:
    """Read a CSV or Parquet table as is (no cleaning), by its extension."""
    import fsspec
    import pandas as pd

    fmt = _table_format(url)
    try:
        with fsspec.open(url, "rb", **(storage_options or {})) as fh:
            if fmt == "parquet":
                return pd.read_parquet(fh)
            return pd.read_csv(fh)
    except ImportError:
        raise
    except FileNotFoundError as err:
        raise _JobError(f"no file at {redact_url(url)}: check the URL") from err
    except Exception as err:
        raise _JobError(
            f"cannot read {redact_url(url)}: {type(err).__name__}: {_one_line(err)}"
        ) from err


def _labels(values: Any, positive: Any, column: str) -> Any:
    """Convert a label column to booleans (True = churned)."""
    import pandas as pd

    from churnlib.exceptions import DataValidationError

    if positive is not None:
        return values == positive
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    lowered = values.astype(str).str.strip().str.lower()
    known = {"1", "0", "1.0", "0.0", "true", "false", "yes", "no"}
    if set(lowered.unique()) <= known:
        return lowered.isin({"1", "1.0", "true", "yes"})
    raise DataValidationError(
        f"cannot tell which value of column {column!r} means churned "
        f"(values: {sorted(map(str, values.unique()))[:5]}); pass --positive",
        columns=[column],
    )


def _monitor(args: argparse.Namespace, *, sinks: Any = None) -> tuple[Any, Any]:
    """Build the ChurnMonitor for ``monitor log|report``; return it and the model."""
    from churnlib.exceptions import DataValidationError
    from churnlib.monitoring import ChurnMonitor

    storage_options = _parse_storage_options(args.storage_option)
    model, _ = _load_model(args.model, None, storage_options)
    reference = _read_table(args.reference, storage_options)
    if args.target not in reference.columns:
        raise DataValidationError(
            f"the reference table has no column {args.target!r} (--target); its "
            f"columns are {list(reference.columns)}",
            columns=[args.target],
        )
    reference[args.target] = _labels(
        reference[args.target], _parse_label(args.positive), args.target
    )
    threshold = args.threshold
    if threshold is None:
        threshold = _model_threshold(model)
    id_column = args.id_column if args.id_column in reference.columns else None
    monitor = ChurnMonitor(
        reference,
        model=model,
        target=args.target,
        store=args.monitor,
        storage_options=storage_options,
        sinks=sinks,
        threshold=threshold,
        id_column=id_column,
    )
    return monitor, model


def _model_threshold(model: Any) -> float:
    """Return the decision threshold a fitted model carries, else 0.5."""
    step = model.steps[-1][1] if hasattr(model, "steps") else model
    for attr in ("best_threshold_", "threshold"):
        value = getattr(step, attr, None)
        if isinstance(value, int | float) and 0.0 <= value <= 1.0:
            return float(value)
    return 0.5


def _cmd_monitor_help(args: argparse.Namespace) -> int:  # pragma: no cover
    raise _UsageError("choose an action: monitor log or monitor report")


def _timestamps(frame: Any, column: str | None) -> Any:
    if column is None:
        return None
    if column not in frame.columns:
        from churnlib.exceptions import DataValidationError

        raise DataValidationError(
            f"no column {column!r} (--timestamp-column) in the table",
            columns=[column],
        )
    return frame.pop(column)


def _cmd_monitor_log(args: argparse.Namespace) -> int:
    from churnlib.exceptions import DataValidationError

    storage_options = _parse_storage_options(args.storage_option)
    monitor, _ = _monitor(args, sinks=())
    if args.predictions:
        batch = _read_table(args.predictions, storage_options)
        timestamp = _timestamps(batch, args.timestamp_column)
        scores = None
        if args.score_column:
            if args.score_column not in batch.columns:
                raise DataValidationError(
                    f"no column {args.score_column!r} (--score-column) in "
                    f"{redact_url(args.predictions)}",
                    columns=[args.score_column],
                )
            scores = batch.pop(args.score_column)
        known = [*monitor.features_, args.id_column]
        batch = batch[[c for c in batch.columns if c in known]]
        ids = monitor.log_predictions(batch, scores, timestamp=timestamp)
        print(f"logged {len(ids):,} predictions to {redact_url(args.monitor)}")
        return EXIT_OK
    outcomes = _read_table(args.outcomes, storage_options)
    timestamp = _timestamps(outcomes, args.timestamp_column)
    missing = [c for c in (args.id_column, args.target) if c not in outcomes.columns]
    if missing:
        raise DataValidationError(
            f"{redact_url(args.outcomes)} lacks the column(s) {missing} "
            "(--id-column, --target)",
            columns=missing,
        )
    y = _labels(outcomes[args.target], _parse_label(args.positive), args.target)
    n = monitor.log_outcomes(outcomes[args.id_column], y, timestamp=timestamp)
    print(f"logged {n:,} outcomes to {redact_url(args.monitor)}")
    return EXIT_OK


def _cmd_monitor_report(args: argparse.Namespace) -> int:
    from churnlib.monitoring import JsonLinesSink, WebhookSink

    storage_options = _parse_storage_options(args.storage_option)
    if args.output:
        _check_html_url(args.output)
    sinks: list[Any] = []
    webhook = args.webhook or os.environ.get("CHURNLIB_ALERT_WEBHOOK")
    if webhook:
        sinks.append(WebhookSink(webhook))
    if args.alerts_file:
        sinks.append(JsonLinesSink(args.alerts_file, storage_options=storage_options))
    monitor, _ = _monitor(args, sinks=sinks)
    report = monitor.report(freq=args.freq, chunk_size=args.chunk_size)
    alerts = list(report.alerts)
    if args.output:
        report.save_html(args.output, storage_options=storage_options)
    if args.json:
        json.dump([a.to_dict() for a in alerts], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        n = int(report.chunks["n"].sum()) if len(report.chunks) else 0
        labelled = int(report.chunks["n_labeled"].sum()) if len(report.chunks) else 0
        print(
            f"{n:,} predictions ({labelled:,} with outcomes) in "
            f"{len(report.chunks)} chunks; {len(alerts)} alerts"
        )
        for alert in alerts:
            print(f"  {_one_line(alert)}")
        if args.output:
            print(f"report  {redact_url(args.output)}")
    if alerts and args.fail_on_alert:
        raise _JobError(f"{len(alerts)} alerts (--fail-on-alert)")
    return EXIT_OK


def _cmd_score(args: argparse.Namespace) -> int:
    from churnlib.scoring import score_table

    if args.scheduler and args.engine != "dask":
        raise _UsageError("--scheduler needs --engine dask")
    ids = args.id_column
    result = score_table(
        args.model,
        args.input,
        args.output,
        engine=args.engine,
        client=args.scheduler,
        id_column=ids[0] if ids and len(ids) == 1 else ids,
        columns=args.column,
        threshold=args.threshold,
        batch_rows=args.batch_rows,
        output_format=args.output_format,
        overwrite=args.overwrite,
        storage_options=_parse_storage_options(args.storage_option),
    )
    rate = result.rows / result.seconds if result.seconds > 0 else float("nan")
    print(
        f"scored {result.rows:,} rows in {result.n_partitions} "
        f"partition{'s' if result.n_partitions != 1 else ''} with model "
        f"version {result.model_version} (threshold {result.threshold:g}, "
        f"{result.threshold_source}) on the {result.engine} engine in "
        f"{result.seconds:.1f} s ({rate:,.0f} rows/s)"
    )
    print(f"wrote {redact_url(result.output_url)}")
    return EXIT_OK


def _local_path(url: str) -> Path | None:
    """Return the local path of a plain path or ``file://`` URL, else None."""
    text = str(url)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(text).path))
    if "://" in text or "::" in text:
        return None
    return Path(text)


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole loop on generated customers (``churnlib demo --help``)."""
    out = sys.stdout
    started = time.perf_counter()
    workdir = Path(args.workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    storage_options = _parse_storage_options(args.storage_option)
    store_url = args.store or (workdir / "models").as_uri()
    tracking_uri = args.tracking_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    monitor_url = (workdir / "monitor").as_uri()
    seed = args.random_state
    files: dict[str, str] = {}
    progress = _Progress(9, quiet=args.quiet, stream=out)
    if not args.quiet:
        out.write(f"churnlib demo: the whole loop, writing into {workdir}\n")

    # 1. generate ----------------------------------------------------------
    with progress.stage("generate") as info:
        from churnlib.data import generate_customers

        customers = generate_customers(
            args.n_customers, random_state=seed, return_truth=True
        )
        path = workdir / "customers.parquet"
        customers.to_parquet(path, index=False)
        files["customers.parquet"] = "the generated customers (with the truth)"
        info["detail"] = (
            f"{len(customers):,} customers, {customers['churned'].mean():.1%} churned"
        )
    truth = customers.pop("churn_probability")
    y = customers.pop("churned")
    X = customers

    # 2. validate ----------------------------------------------------------
    with progress.stage("validate") as info:
        from churnlib.data import infer_schema
        from churnlib.features import SchemaValidator

        schema = infer_schema(X.assign(churned=y), target="churned")
        X = X.drop(columns=list(schema.id_columns))
        SchemaValidator().fit(X).transform(X)
        info["detail"] = (
            f"{len(schema.numeric)} numeric, {len(schema.categorical)} categorical, "
            f"{len(schema.binary)} binary; ids kept out: {', '.join(schema.id_columns)}"
        )

    # 3. preprocess --------------------------------------------------------
    with progress.stage("preprocess") as info:
        from churnlib.features import ChurnPreprocessor

        features = ChurnPreprocessor().fit(X).get_feature_names_out()
        info["detail"] = f"{X.shape[1]} columns -> {len(features)} model features"

    # 4. split --------------------------------------------------------------
    with progress.stage("split") as info:
        from churnlib.features import train_test_split_churn

        X_train, X_test, y_train, y_test = train_test_split_churn(
            X, y, test_size=0.25, random_state=seed
        )
        info["detail"] = (
            f"{len(X_train):,} train / {len(X_test):,} test, stratified "
            f"({y_train.mean():.1%} / {y_test.mean():.1%} churned)"
        )

    # 5. train --------------------------------------------------------------
    with progress.stage("train") as info:
        from churnlib.training import ChurnTrainer, default_estimator

        # churnlib's default forest with fewer trees: the demo must stay quick.
        forest = default_estimator(random_state=seed).set_params(n_estimators=100)
        trainer = ChurnTrainer(
            forest,
            experiment_name="churnlib-demo",
            tracking_uri=tracking_uri,
            log_report=False,  # the evaluate stage logs the report card once
            run_name="demo",
            random_state=seed,
        )
        result = trainer.fit(X_train, y_train, X_valid=X_test, y_valid=y_test)
        if args.tracking_uri is None:
            files["mlflow.db"] = "the MLflow tracking store (SQLite)"
            files["mlartifacts/"] = "the MLflow run artifacts (model, report card)"
        info["detail"] = f"MLflow run {result.run_id[:8]}, {_short_metrics(result)}"

    # 6. evaluate -----------------------------------------------------------
    with progress.stage("evaluate") as info:
        from churnlib.evaluation import evaluate

        report = evaluate(
            result.model,
            X_test,
            y_test,
            threshold=result.threshold,
            truth=truth.loc[X_test.index],
            name="random forest",
        )
        report.save_html(workdir / "report_card.html")
        report.log_to_mlflow(result.run_id, tracking_uri=tracking_uri)
        files["report_card.html"] = "the evaluation report card"
        m = report.metrics
        info["detail"] = (
            f"ROC AUC {m['roc_auc']:.3f} (best possible "
            f"{m['bayes_optimal_roc_auc']:.3f}), top-decile lift "
            f"{m['top_decile_lift']:.2f}"
        )

    # 7. publish ------------------------------------------------------------
    with progress.stage("publish") as info:
        from churnlib.deployment import ModelStore

        store = ModelStore(store_url, storage_options=storage_options)
        version = store.publish(
            result.model,
            metrics=dict(report.metrics),
            metadata={"mlflow_run_id": result.run_id, "source": "churnlib demo"},
        )
        store.promote(version.version, "production")
        if _local_path(store_url) is not None:
            files["models/"] = "the model store (versions and aliases)"
        info["detail"] = f"version {version.version} -> alias 'production'"

    # 8. simulate production ---------------------------------------------------
    with progress.stage("simulate production") as info:
        from churnlib.data import simulate_production

        onset = args.batches // 2
        batches = list(
            simulate_production(
                args.batches,
                args.batch_size,
                scenario=args.scenario,
                onset=onset,
                freq=args.batch_freq,
                random_state=seed + 1,
            )
        )
        info["detail"] = (
            f"{args.batches} batches of {args.batch_size:,}, "
            f"{args.scenario} from batch {onset}"
        )

    # 9. monitor -------------------------------------------------------------
    with progress.stage("monitor") as info:
        from churnlib.monitoring import ChurnMonitor, JsonLinesSink

        production_model = store.load("production")
        alerts_path = workdir / "alerts.jsonl"
        # A re-run starts a fresh log: the demo's production is simulated anew.
        alerts_path.unlink(missing_ok=True)
        shutil.rmtree(workdir / "monitor", ignore_errors=True)
        monitor = ChurnMonitor(
            X_test.assign(churned=y_test),  # what the model was validated on
            model=production_model,
            target="churned",
            store=monitor_url,
            sinks=[JsonLinesSink(alerts_path)],
            threshold=result.threshold,
        )
        feature_columns = list(X_test.columns)
        labelled = len(batches) - min(_UNLABELLED_BATCHES, len(batches) // 2)
        for batch in batches:
            scores = production_model.predict_proba(batch.X[feature_columns])[:, 1]
            monitor.log_predictions(
                batch.X, scores, ids=batch.ids, timestamp=batch.timestamp
            )
            if batch.index < labelled:  # the newest labels have not arrived yet
                monitor.log_outcomes(batch.ids, batch.y, timestamp=batch.labels_at)
        monitor_report = monitor.report(freq=args.batch_freq)
        monitor_report.save_html(workdir / "monitor_report.html")
        files["monitor/"] = "the prediction and outcome log (Parquet)"
        files["monitor_report.html"] = "the monitor report"
        alerts = list(monitor_report.alerts)
        if alerts:
            files["alerts.jsonl"] = "the alerts, one JSON object a line"
        info["detail"] = (
            f"{sum(len(b) for b in batches):,} predictions, labels for "
            f"{labelled} of {len(batches)} batches, {len(alerts)} alerts"
        )

    # summary ------------------------------------------------------------------
    elapsed = time.perf_counter() - started
    out.write("\n")
    if alerts:
        out.write(f"Alerts ({len(alerts)}):\n")
        for alert in alerts:
            out.write(f"  {_one_line(alert)}\n")
    else:
        out.write("Alerts: none\n")
    out.write(f"\nDone in {elapsed:.1f} s. Outputs in {workdir}:\n")
    width = max(len(name) for name in files)
    for name, what in files.items():
        out.write(f"  {name:<{width}}  {what}\n")
    if _local_path(store_url) is None:
        out.write(f"  model store: {redact_url(store_url)}\n")
    out.write("\nOpen the HTML files in a browser. ")
    if tracking_uri.startswith(("http://", "https://")):
        out.write(f"Browse the MLflow runs at {redact_url(tracking_uri)}\n")
    else:
        out.write("Browse the MLflow runs with:\n")
        out.write(f"  mlflow ui --backend-store-uri {redact_url(tracking_uri)}\n")
    out.flush()
    return EXIT_OK


#: Production batches of the demo whose labels have not arrived yet: the
#: monitor estimates their performance without labels.
_UNLABELLED_BATCHES = 2


def _short_metrics(result: Any) -> str:
    """Format a few validation metrics of a training result for one line."""
    metrics = dict(result.metrics)
    shown = []
    for key, label in (("valid_roc_auc", "valid ROC AUC"), ("roc_auc", "ROC AUC")):
        if key in metrics:
            shown.append(f"{label} {metrics[key]:.3f}")
            break
    return ", ".join(shown) or f"{len(metrics)} metrics logged"


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
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
    if not debug:  # MLflow reads this when first imported (by a command)
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
                # MLflow's schema-inference hints are for MLflow users, not ours.
                warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
            return int(args.func(args))
    except _UsageError as err:
        parser.exit(EXIT_USAGE, f"{PROG} {args.command}: error: {err}\n")
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
