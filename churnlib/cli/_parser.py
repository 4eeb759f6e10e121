"""The argument parser of every command, and the ``--help`` texts the docs show.

Commands of optional layers (``churnlib dashboard``, ``churnlib serve``) are
registered by their own packages: :func:`build_parser` calls
``churnlib.dashboard._cli.add_parser(subparsers)`` and
``churnlib.serve._cli.add_parser(subparsers)``. Those modules import nothing
heavy; when one cannot be imported because its extra is not installed, the
command still shows in ``--help`` and says which extra to install.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from churnlib.cli import _batch, _demo, _monitor
from churnlib.cli._common import (
    PROG,
    JobError,
    positive_int,
    probability,
    unit_interval,
)

__all__ = ["ESTIMATORS", "EXTENSIONS", "build_parser", "help_texts"]

#: Subcommands that optional packages register: (command, module, extra).
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("dashboard", "churnlib.dashboard._cli", "dashboard"),
    ("serve", "churnlib.serve._cli", "serve"),
)

ESTIMATORS = {
    "auto": "chosen by cross-validation on your training rows among boosting, "
    "spline logistic and a tuned forest, then calibrated (ChurnTrainer's default)",
    "random_forest": "churnlib's tuned forest (400 trees, leaves of 20)",
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
}

Command = Callable[[argparse.Namespace], int]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def add_debug(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug`` (accepted before and after the command)."""
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


def _model_arg(parser: argparse.ArgumentParser, *, mlflow: bool = False) -> None:
    extra = " or an MLflow model URI (runs:/..., models:/...)" if mlflow else ""
    parser.add_argument(
        "--model",
        required=True,
        metavar="STORE@REF",
        help="model store URL and version or alias, e.g. "
        f"s3://acme-models/churn@production (no @REF: the latest version){extra}",
    )


def _table_args(parser: argparse.ArgumentParser, *, target_required: bool) -> None:
    parser.add_argument(
        "--data", required=True, metavar="URL", help="CSV, Parquet or Excel table"
    )
    parser.add_argument(
        "--target",
        required=target_required,
        metavar="COL",
        help="the label column"
        + ("" if target_required else " (default: the one the model was trained on)"),
    )
    parser.add_argument(
        "--positive",
        metavar="V",
        help="the label value meaning 'churned' (obvious cases need none: "
        "Yes/No, 1/0, True/False, 'Attrited Customer', 'Exited'...)",
    )
    parser.add_argument(
        "--id-column",
        action="append",
        metavar="COL",
        help="an identifier column, kept out of the features (repeatable; "
        "obvious ones are detected)",
    )


def _separator(text: str) -> str:
    r"""Argparse type: one character; ``\\t``, ``tab`` and ``TAB`` mean a tab."""
    value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one character (such as ';' or ','; '\\t' for tabs), got {text!r}"
        )
    return value


def _read_args(
    parser: argparse.ArgumentParser, *, what: str = "the tables", excel: bool = True
) -> None:
    """Add the reader's options (read_table's keywords) for ``what``."""
    group = parser.add_argument_group(
        "reading the table",
        f"How to read {what} when the automatic choice is wrong; by default\n"
        "the delimiter, encoding, decimal commas and header line are detected.",
    )
    group.add_argument(
        "--sep",
        type=_separator,
        metavar="C",
        help="CSV delimiter, e.g. ';' or '\\t' (default: sniffed among , ; tab |)",
    )
    group.add_argument(
        "--encoding",
        metavar="NAME",
        help="CSV text encoding, e.g. cp1252, utf-16, latin-1 (default: a "
        "byte-order mark, else UTF-8 with Windows-1252 for other bytes)",
    )
    group.add_argument(
        "--decimal",
        type=_separator,
        metavar="C",
        help="CSV decimal separator, e.g. ',' for 29,85 (default: detected per column)",
    )
    group.add_argument(
        "--thousands",
        type=_separator,
        metavar="C",
        help="CSV thousands separator, e.g. '.' for 1.234,50 or ',' for 1,234.50",
    )
    group.add_argument(
        "--na-value",
        action="append",
        metavar="TEXT",
        help="a text read as missing, on top of blanks and placeholders such as "
        "'Unknown' (repeatable)",
    )
    group.add_argument(
        "--header-row",
        type=positive_int(0),
        metavar="N",
        help="the 0-based line (CSV) or row (Excel) of the header, for a file "
        "with a title above its table (default: 0)",
    )
    if excel:
        group.add_argument(
            "--sheet",
            metavar="NAME",
            help="Excel sheet name, or its 0-based number (default: the sheet "
            "holding the table)",
        )


def _tracking_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///mlflow.db in the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the whole command line."""
    from churnlib._core.version import __version__

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
        name: str, func: Command, help_: str, description: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_, description=description, formatter_class=_Formatter
        )
        add_debug(p)
        p.set_defaults(func=func)
        return p

    # demo ------------------------------------------------------------------
    p = add(
        "demo",
        _demo.cmd_demo,
        "run the whole loop on generated customers",
        "The whole loop on embedded defaults: generate customers, validate,\n"
        "preprocess and split them, train with MLflow (SQLite in the work folder)\n"
        "and register the model, evaluate (HTML report card), publish to a model\n"
        "store and promote to 'production' (in the store and in MLflow's model\n"
        "registry), simulate production batches with drift, monitor them, print\n"
        "the alerts and write the monitor report.",
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
        "--registered-model-name",
        default="churnlib-demo",
        metavar="NAME",
        help="the MLflow registered model that gets the 'production' alias "
        "(default: churnlib-demo)",
    )
    p.add_argument(
        "--n-customers",
        type=positive_int(100),
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
        type=positive_int(2),
        default=8,
        metavar="N",
        help="production batches to simulate (default: 8)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int(50),
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
        _batch.cmd_generate,
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
    p.add_argument("--n-customers", type=positive_int(1), default=10_000, metavar="N")
    p.add_argument(
        "--churn-rate",
        type=probability,
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
        _batch.cmd_train,
        "train a model on a CSV/Parquet/Excel table, tracked in MLflow",
        "Read a churn table from any fsspec URL (cleaned: blank numbers, yes/no,\n"
        "'Unknown' placeholders), split it (stratified), train a pipeline and\n"
        "record it as an MLflow run with its validation metrics. Identifiers,\n"
        "dates, constant columns and suspected label leaks are kept out of the\n"
        "features (named on the output); the model carries that decision (its\n"
        "contract) to scoring and monitoring. Optionally publish the model.",
    )
    _table_args(p, target_required=True)
    _read_args(p, what="--data")
    p.add_argument(
        "--drop",
        action="append",
        metavar="COL",
        help="keep this column out of the features (repeatable)",
    )
    p.add_argument(
        "--allow-leakage",
        action="store_true",
        help="train on columns suspected of leaking the label (excluded by "
        "default: a near-perfect single column is almost always a leak)",
    )
    p.add_argument(
        "--estimator",
        choices=sorted(ESTIMATORS),
        default="auto",
        help="the classifier (default: auto, chosen by cross-validation)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds the auto estimator may spend choosing (default: 60)",
    )
    p.add_argument(
        "--threshold",
        metavar="T|METRIC",
        help="decision threshold: a number in (0, 1), or a metric to tune it "
        "for by cross-validation (e.g. f1); default 0.5",
    )
    p.add_argument(
        "--test-size",
        type=probability,
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
        _batch.cmd_evaluate,
        "evaluate a stored model on a labelled table",
        "Score a labelled table with a model and print every metric of the\n"
        "report card (ranking, probability quality, decisions at the threshold,\n"
        "campaign profit); optionally write the HTML report card. The table is\n"
        "read the way the model's training table was (its contract).",
    )
    _model_arg(p, mlflow=True)
    _table_args(p, target_required=False)
    _read_args(p, what="--data")
    p.add_argument(
        "--threshold",
        type=unit_interval,
        metavar="T",
        help="decision threshold for the decision metrics (default: the model's "
        "own, else 0.5)",
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
        _batch.cmd_publish,
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
        _batch.cmd_versions,
        "list the versions of a model store",
        "List every complete version of a model store, newest last, with its\n"
        "aliases, creation time and main metrics.",
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    _storage_option_arg(p)

    p = add(
        "promote",
        _batch.cmd_promote,
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
        _batch.cmd_rollback,
        "move an alias back to its previous version",
        "Point ALIAS back at the version it pointed to before its last change.",
    )
    p.add_argument("--store", required=True, metavar="URL", help="the model store")
    p.add_argument("alias", metavar="ALIAS")
    _storage_option_arg(p)

    # monitor ----------------------------------------------------------------
    _add_monitor(sub)

    # score ------------------------------------------------------------------
    p = add(
        "score",
        _batch.cmd_score,
        "score a whole table with a stored model",
        "Score a raw CSV, Parquet or Excel table (a file, a folder of part files\n"
        "or a glob) with a model from a model store, in bounded memory (an\n"
        "Excel file is read whole, as one partition). The table is read the way\n"
        "the training table was (the model's contract): no cleaning needed.\n"
        "Writes the scores (the training id column, churn probability,\n"
        "decision, model version, timestamp) as a dataset whose _SUCCESS marker\n"
        "is written last; nothing is left behind on failure.\n"
        "Locally on every core, or on a Dask cluster with --engine dask.",
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
        help="identifier column copied to the output (repeatable; default: the "
        "id column the model was trained with)",
    )
    p.add_argument(
        "--column",
        action="append",
        metavar="COL",
        help="another input column to copy to the output (repeatable)",
    )
    p.add_argument(
        "--threshold",
        type=unit_interval,
        metavar="T",
        help="decision threshold (default: the model's own, else 0.5)",
    )
    p.add_argument(
        "--batch-rows",
        type=positive_int(1),
        default=100_000,
        metavar="N",
        help="rows held in memory per batch (default: 100000)",
    )
    p.add_argument("--output-format", choices=("parquet", "csv"), default="parquet")
    p.add_argument(
        "--input-format",
        choices=("csv", "parquet", "excel"),
        help="read every input file as this format (default: told by the file "
        "names, or a lone file's first bytes)",
    )
    _read_args(p, what="--input (every file)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    _storage_option_arg(p)

    for name, module, extra in EXTENSIONS:
        _add_extension(sub, name, module, extra)
    return parser


def _add_monitor(sub: Any) -> None:
    p = sub.add_parser(
        "monitor",
        help="log production predictions and outcomes; report drift and alerts",
        description=(
            "Watch a deployed model. 'monitor log' appends a batch of predictions\n"
            "(or of late outcomes) to a monitor log at any fsspec URL; 'monitor\n"
            "report' summarizes the log chunk by chunk (drift, realized and\n"
            "estimated performance, data quality), prints the alerts and writes\n"
            "the report. Both compare with the reference table: the labelled data\n"
            "the model was validated on. Only the model's features (its contract)\n"
            "and its score are watched, never identifiers or excluded columns."
        ),
        formatter_class=_Formatter,
    )
    monitor_sub = p.add_subparsers(
        dest="monitor_command", metavar="ACTION", required=True
    )

    def add_monitor(
        name: str, func: Command, help_: str, description: str
    ) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = monitor_sub.add_parser(
            name, help=help_, description=description, formatter_class=_Formatter
        )
        add_debug(q)
        q.set_defaults(func=func)
        q.add_argument(
            "--monitor", required=True, metavar="URL", help="the monitor log (a folder)"
        )
        q.add_argument(
            "--reference",
            required=True,
            metavar="URL",
            help="the labelled reference table (CSV, Parquet or Excel)",
        )
        q.add_argument(
            "--target",
            metavar="COL",
            help="its label column (default: the one the model was trained on)",
        )
        q.add_argument(
            "--positive",
            metavar="V",
            help="the label value meaning 'churned' (default: the model's own)",
        )
        _model_arg(q)
        q.add_argument(
            "--id-column",
            metavar="COL",
            help="the customer id column (default: the id column the model was "
            "trained with)",
        )
        q.add_argument(
            "--threshold",
            type=unit_interval,
            metavar="T",
            help="decision threshold (default: the model's own, else 0.5)",
        )
        q.add_argument(
            "--allow-training-overlap",
            action="store_true",
            help="accept a reference table that holds the model's training rows "
            "(refused by default: a model looks better on its training rows, so "
            "performance alerts would be misjudged)",
        )
        _read_args(q, what="the tables (--reference and the logged table)")
        return q

    q = add_monitor(
        "log",
        _monitor.cmd_monitor_log,
        "append predictions or outcomes to the monitor log",
        "Append one batch to the monitor log: with --predictions, a raw table of\n"
        "customers (features and ids) scored with the model; with --outcomes, a\n"
        "table of ids and what happened (the label column). Every prediction\n"
        "needs the customer's id (so its outcome can find it later): a table\n"
        "without the id column is refused unless --generate-ids is given.",
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
    q.add_argument(
        "--generate-ids",
        action="store_true",
        help="with --predictions: give rows without an id generated ids "
        "(their outcomes can then never be logged)",
    )
    _storage_option_arg(q)

    q = add_monitor(
        "report",
        _monitor.cmd_monitor_report,
        "summarize the log: drift, performance, alerts",
        "Summarize the monitor log chunk by chunk, print the alerts, and write\n"
        "the HTML report. New alerts also go to --webhook / --alerts-file.",
    )
    chunking = q.add_mutually_exclusive_group()
    chunking.add_argument(
        "--freq", metavar="FREQ", help="chunk by time, e.g. 1D, W, MS"
    )
    chunking.add_argument(
        "--chunk-size", type=positive_int(1), metavar="N", help="chunk by count"
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


def _add_extension(sub: Any, name: str, module: str, extra: str) -> None:
    """Let ``module.add_parser(sub)`` register ``name``; else a stub naming the extra.

    The module itself must import nothing heavy (streamlit, fastapi are
    imported by its handler). When it cannot be imported because a package of
    its extra is missing, ``churnlib NAME`` still exists and says what to install.
    """
    try:
        extension = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and (
            module == err.name or module.startswith(f"{err.name}.")
        ):
            return  # this churnlib has no such layer (yet): no command
        _add_missing_extra(sub, name, extra, err.name)
        return
    extension.add_parser(sub)
    registered = sub.choices.get(name)
    if registered is None:
        return
    if "--debug" not in registered._option_string_actions:
        add_debug(registered)


def _add_missing_extra(sub: Any, name: str, extra: str, missing: str | None) -> None:
    hint = f'pip install "churnlib[{extra}]"'

    def unavailable(args: argparse.Namespace) -> int:
        raise JobError(
            f"'churnlib {name}' needs the optional package {missing!r} of the "
            f"{extra!r} extra: {hint}"
        )

    p = sub.add_parser(
        name,
        help=f"(needs the {extra} extra: {hint})",
        description=f"'churnlib {name}' needs the {extra!r} extra: {hint}",
        formatter_class=_Formatter,
    )
    add_debug(p)
    # Whatever follows is the missing command's own business: accept it all.
    p.set_defaults(func=unavailable, accepts_unknown_arguments=True)


def help_texts() -> dict[str, str]:
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

    walk(build_parser(), PROG)
    return texts
