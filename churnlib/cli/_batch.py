"""The batch jobs: generate, train, evaluate, publish, versions, promote, score.

Each ``cmd_*`` takes the parsed arguments, prints what it did, and returns the
exit status; failures raise (churnlib errors, :class:`~churnlib.cli._common.JobError`
or :class:`~churnlib.cli._common.UsageError`) and :func:`churnlib.cli.main`
turns them into one line on standard error. Every layer is imported inside the
command that uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from churnlib._urls import redact_url
from churnlib.cli._common import (
    EXIT_OK,
    JobError,
    UsageError,
    check_html_url,
    one_line,
    parse_label,
    parse_storage_options,
    plain,
    print_metrics,
    print_table,
    redact_text,
)
from churnlib.cli._models import (
    load_mlflow_model,
    load_model,
    model_contract,
    model_features,
    run_metrics,
)

__all__ = [
    "cmd_evaluate",
    "cmd_generate",
    "cmd_promote",
    "cmd_publish",
    "cmd_rollback",
    "cmd_score",
    "cmd_train",
    "cmd_versions",
    "read_options",
    "read_raw",
    "write_frame",
]


# --------------------------------------------------------------------------
# tables (through the one reader/writer, churnlib._core.tables)
# --------------------------------------------------------------------------
def check_output_table(url: str, option: str) -> None:
    """Refuse, before any work, an output URL that is not ``.csv`` or ``.parquet``."""
    from churnlib._core.tables import table_format

    if table_format(url) not in ("csv", "parquet"):
        raise UsageError(
            f"{option}: cannot tell the format of {redact_url(url)!r}: "
            "end the URL in .csv or .parquet"
        )


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the reading flags (--sep, --encoding, ...) as read_table keywords."""
    sheet = getattr(args, "sheet", None)
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)  # --sheet 0: the first sheet
    options = {
        "sep": getattr(args, "sep", None),
        "encoding": getattr(args, "encoding", None),
        "decimal": getattr(args, "decimal", None),
        "thousands": getattr(args, "thousands", None),
        "na_values": getattr(args, "na_value", None),
        "sheet": sheet,
        "header_row": getattr(args, "header_row", None),
    }
    return {k: v for k, v in options.items() if v is not None}


def read_raw(
    url: str, storage_options: Mapping[str, Any] | None, **options: Any
) -> Any:
    """Read a table as is (no cleaning): CSV, Parquet or Excel, any URL.

    ``options`` are read_table's keywords (see :func:`read_options`).
    """
    from churnlib._core.tables import read_table
    from churnlib.exceptions import ChurnlibError

    try:
        return read_table(url, storage_options=storage_options, **options)
    except (ChurnlibError, ImportError):
        raise
    except FileNotFoundError as err:
        raise JobError(f"no file at {redact_url(url)}: check the URL") from err
    except Exception as err:
        message = redact_text(one_line(err), [url])
        raise JobError(
            f"cannot read {redact_url(url)}: {type(err).__name__}: {message}"
        ) from err


def write_frame(
    frame: Any, url: str, storage_options: Mapping[str, Any] | None
) -> None:
    """Write a frame (format by the URL's extension), all or nothing."""
    from churnlib._core.tables import write_table

    write_table(frame, url, storage_options=storage_options)


# --------------------------------------------------------------------------
# generate
# --------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    """``churnlib generate``."""
    from churnlib.data import generate_customers

    check_output_table(args.output, "--output")  # before any work
    frame = generate_customers(
        args.n_customers,
        churn_rate=args.churn_rate,
        random_state=args.random_state,
        return_truth=args.truth,
    )
    write_frame(frame, args.output, parse_storage_options(args.storage_option))
    rate = float(frame["churned"].mean())
    print(
        f"wrote {len(frame):,} customers ({rate:.1%} churned) to "
        f"{redact_url(args.output)}"
    )
    return EXIT_OK


# --------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------
def _make_estimator(name: str, random_state: int | None) -> Any:
    if name == "auto":
        return None  # ChurnTrainer's default: chosen by cross-validation
    if name == "random_forest":
        from churnlib.training import default_estimator

        return default_estimator(random_state)
    if name == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1_000)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=random_state)


def _threshold_arg(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # a scorer name; ChurnTrainer validates it
    if not 0.0 < value < 1.0:
        raise UsageError(f"--threshold must be in (0, 1) or a metric, got {text}")
    return value


def _read_labelled(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from churnlib.data import read_churn_table

    return read_churn_table(
        args.data,
        target=args.target,
        positive=parse_label(args.positive),
        id_columns=args.id_column,
        storage_options=parse_storage_options(args.storage_option),
        **read_options(args),
    )


def describe_exclusions(contract: Any) -> list[str]:
    """``["RowNumber (identifier)", "Naive_Bayes_1 (leakage, AUC 1.000)"]``."""
    if contract is None:
        return []
    leakage = dict(contract.leakage)
    excluded = dict(contract.excluded)
    # The reader's key column is the index, not a column: an identifier too.
    described = [f"{c} (identifier)" for c in contract.id_columns if c not in excluded]
    for column, reason in excluded.items():
        if reason == "leakage" and column in leakage:
            described.append(f"{column} (leakage, AUC {leakage[column]:.3f})")
        else:
            described.append(f"{column} ({reason})")
    return described


def cmd_train(args: argparse.Namespace) -> int:
    """``churnlib train``."""
    if args.alias and not args.store:
        raise UsageError("--alias needs --store")
    threshold = _threshold_arg(args.threshold)
    storage_options = parse_storage_options(args.storage_option)
    if args.report:
        check_html_url(args.report, "--report")
    X, y, schema = _read_labelled(args)  # fail on bad data before heavy imports
    from churnlib.features import train_test_split_churn
    from churnlib.training import ChurnTrainer

    missing = sorted(set(args.drop or ()) - set(X.columns) - set(schema.id_columns))
    if missing:
        raise UsageError(
            f"--drop names no column of {redact_url(args.data)}: {missing}; "
            f"its columns are {list(X.columns)}"
        )
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
        time_budget=args.time_budget,
    )
    result = trainer.fit(
        X_train,
        y_train,
        X_valid=X_test,
        y_valid=y_test,
        schema=schema,
        allow_leakage=args.allow_leakage,
        drop=args.drop,
    )
    try:
        _after_training(
            args, result, X, X_train, X_test, y_test, storage_options, schema=schema
        )
    finally:  # the MLflow run is complete when the job ends, even when it fails
        _wait_for_report(result)
    return EXIT_OK


def _after_training(
    args: argparse.Namespace,
    result: Any,
    X: Any,
    X_train: Any,
    X_test: Any,
    y_test: Any,
    storage_options: Mapping[str, Any] | None,
    *,
    schema: Any = None,
) -> None:
    """Print what training decided and measured; write the card; publish."""
    contract = getattr(result, "contract", None) or model_contract(result.model)
    n_features = len(contract.features) if contract is not None else X.shape[1]
    out = sys.stdout
    out.write(
        f"trained {args.estimator} on {len(X_train):,} rows "
        f"({n_features} features), validated on {len(X_test):,}\n"
    )
    kept_out = describe_exclusions(contract)
    # columns the reader left out of X (nested cells, a saved index, durations)
    kept_out += [f"{c} ({why})" for c, why in getattr(schema, "ignored", {}).items()]
    if kept_out:
        out.write(f"kept out     {', '.join(kept_out)}\n")
    labels = getattr(contract, "labels", None)
    if labels is not None and labels.pos_label is not None:
        # which answer means churn, said once: a target named for staying
        # (Retained) takes its "No" as churn
        rate = float(sum(y_test)) / max(len(y_test), 1)
        out.write(
            f"churn label  {labels.name or args.target}: {labels.pos_label!r} "
            f"means churn ({rate:.1%} of the validation rows)\n"
        )
    if contract is not None and contract.allow_leakage and contract.leakage:
        out.write(
            "leakage      trained WITH suspected leaks (--allow-leakage): "
            f"{', '.join(sorted(contract.leakage))}\n"
        )
    if contract is not None and contract.id_column:
        out.write(f"id column    {contract.id_column}\n")
    out.write(f"MLflow run   {result.run_id}\n")
    if result.model_uri:
        out.write(f"model URI    {result.model_uri}\n")
    if result.registered_model_uri:
        out.write(f"registered   {result.registered_model_uri}\n")
    out.write(f"threshold    {result.threshold:.4f}\n")
    print_metrics(dict(result.metrics), out)
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


def _wait_for_report(result: Any) -> None:
    """Let the run's report card, logged in the background, finish first.

    A batch job ends when its work has: the MLflow run is complete when
    ``churnlib train`` exits. A failure there does not undo the training (the
    run's ``churnlib.report`` tag records it); it is shown as a warning.
    """
    import warnings

    pending = getattr(result, "report", None)
    if pending is None:
        return
    try:
        pending.result()
    except Exception as err:
        warnings.warn(
            f"the report card could not be logged to MLflow run {result.run_id}: "
            f"{one_line(err)}",
            UserWarning,
            stacklevel=2,
        )


# --------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------
def labelled_rows(
    raw: Any, contract: Any, target: str, positive: Any, source: str
) -> tuple[Any, Any]:
    """Features and decoded labels of a raw labelled table, via the contract.

    Rows whose label is missing (blank, NaN, a placeholder) are unlabelled:
    they are left out, and a warning says how many.
    """
    import warnings

    import numpy as np

    from churnlib._core.labels import infer_label_rule
    from churnlib.exceptions import DataQualityWarning, DataValidationError

    if target not in raw.columns:
        from churnlib._core.tables import layout_hint

        raise DataValidationError(
            f"{source} has no column {target!r} (the label, --target); its "
            f"columns are {list(map(str, raw.columns))[:30]}.{layout_hint(raw)}",
            columns=[target],
        )
    values = raw[target]
    rule = contract.labels
    if positive is not None or rule is None:  # --positive overrides the model's
        rule = infer_label_rule(values, pos_label=positive, name=target)
    missing = np.asarray(rule.is_missing(values), dtype=bool)
    if missing.any():
        warnings.warn(
            f"{int(missing.sum()):,} rows of {source} have no label in {target!r}: "
            "they are left out",
            DataQualityWarning,
            stacklevel=2,
        )
        raw = raw.loc[~missing]
        values = values.loc[~missing]
    y = np.asarray(rule.decode(values), dtype=bool)
    X = contract.prepare(raw, source=source)
    import pandas as pd

    return X, pd.Series(y, index=X.index, name=target)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``churnlib evaluate``."""
    from churnlib.evaluation import evaluate

    storage_options = parse_storage_options(args.storage_option)
    if args.output:
        check_html_url(args.output, "--output")
    model, label = load_model(args.model, args.tracking_uri, storage_options)
    contract = model_contract(model)
    if contract is None:  # a model without a contract: read like training did
        if args.target is None:
            raise UsageError(
                "this model carries no contract (trained outside churnlib or "
                "before 0.2): pass --target"
            )
        X, y, _ = _read_labelled(args)
        X = X[model_features(model, X, redact_url(args.data))]
        threshold = 0.5 if args.threshold is None else args.threshold
    else:
        target = args.target or contract.target
        if target is None:
            raise UsageError("the model does not name its label column: pass --target")
        raw = read_raw(args.data, storage_options, **read_options(args))
        X, y = labelled_rows(
            raw, contract, target, parse_label(args.positive), redact_url(args.data)
        )
        threshold = contract.threshold if args.threshold is None else args.threshold
    report = evaluate(model, X, y, threshold=threshold, name=label)
    metrics = {k: plain(v) for k, v in dict(report.metrics).items()}
    if args.json:
        json.dump(metrics, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(f"{label} on {len(X):,} rows of {redact_url(args.data)}\n")
        print_metrics(metrics, sys.stdout)
    if args.output:
        report.save_html(args.output, storage_options=storage_options)
        if not args.json:
            sys.stdout.write(f"report card  {redact_url(args.output)}\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# the model store
# --------------------------------------------------------------------------
def cmd_publish(args: argparse.Namespace) -> int:
    """``churnlib publish``."""
    from churnlib.deployment import ModelStore

    model = load_mlflow_model(args.model_uri, args.tracking_uri)
    metrics, run_id = run_metrics(args.model_uri, args.tracking_uri)
    store = ModelStore(
        args.store, storage_options=parse_storage_options(args.storage_option)
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


def _store(args: argparse.Namespace) -> Any:
    """Open the existing model store named by ``--store`` (never create it)."""
    from churnlib.deployment import ModelStore

    return ModelStore(
        args.store,
        storage_options=parse_storage_options(args.storage_option),
        create=False,
    )


def cmd_versions(args: argparse.Namespace) -> int:
    """``churnlib versions``."""
    store = _store(args)
    versions = store.versions()
    if not versions and not store._exists():
        raise JobError(
            f"no model store at {redact_url(args.store)}: check the URL "
            "(a store is created by its first publish)"
        )
    if not versions and store.fs.isfile(store._root):
        raise JobError(
            f"{redact_url(args.store)} is a file, not a model store (a folder): "
            "check --store"
        )
    if args.json:
        rows = [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "aliases": list(v.aliases),
                "metrics": {k: plain(x) for k, x in v.metrics.items()},
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
    table = [
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
    print_table(table, sys.stdout)
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    """``churnlib promote``."""
    version = _store(args).promote(args.version, args.alias)
    print(f"{args.alias} -> {getattr(version, 'version', version)}")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    """``churnlib rollback``."""
    version = _store(args).rollback(args.alias)
    print(f"{args.alias} -> {getattr(version, 'version', version)} (rolled back)")
    return EXIT_OK


# --------------------------------------------------------------------------
# score
# --------------------------------------------------------------------------
def cmd_score(args: argparse.Namespace) -> int:
    """``churnlib score``: ids, roles and labels come from the model's contract."""
    from churnlib.scoring import score_table

    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler needs --engine dask")
    ids = args.id_column
    options: dict[str, Any] = {}
    if ids:  # else score_table keys the output by the contract's id column
        options["id_column"] = ids[0] if len(ids) == 1 else ids
    result = score_table(
        args.model,
        args.input,
        args.output,
        engine=args.engine,
        client=args.scheduler,
        columns=args.column,
        threshold=args.threshold,
        batch_rows=args.batch_rows,
        output_format=args.output_format,
        overwrite=args.overwrite,
        storage_options=parse_storage_options(args.storage_option),
        input_format=args.input_format,
        **read_options(args),
        **options,
    )
    rate = result.rows / result.seconds if result.seconds > 0 else float("nan")
    decided = (
        f"threshold {result.threshold:g}, {result.threshold_source}"
        if "churn_predicted" in result.columns or result.kind == "churn"
        else "uplift model"
    )
    print(
        f"scored {result.rows:,} rows in {result.n_partitions} "
        f"partition{'s' if result.n_partitions != 1 else ''} with model "
        f"version {result.model_version} ({decided}) on the {result.engine} "
        f"engine in {result.seconds:.1f} s ({rate:,.0f} rows/s)"
    )
    if result.kind == "uplift":
        scores = [c for c in result.columns if c.startswith("churn_")]
        print(
            f"uplift model: wrote {', '.join(scores)} (churn_reduction_if_offered "
            "= P(churn | no offer) - P(churn | offer); target the highest first)"
        )
    print(f"wrote {redact_url(result.output_url)}")
    return EXIT_OK
