"""``churnlib monitor log`` and ``churnlib monitor report``.

A model that carries a contract decides what is watched: exactly its
features (read from raw tables the way training read them) plus its score,
keyed by its id column. Identifiers and excluded columns are never monitored,
and a prediction without an id is refused (``--generate-ids`` opts in to
generated ones).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from churnlib._urls import redact_url
from churnlib.cli._batch import labelled_rows, read_options, read_raw
from churnlib.cli._common import (
    EXIT_OK,
    JobError,
    UsageError,
    check_html_url,
    one_line,
    parse_label,
    parse_storage_options,
)
from churnlib.cli._models import load_model, model_contract, model_features

__all__ = ["build_monitor", "cmd_monitor_log", "cmd_monitor_report"]


def _require_columns(frame: Any, columns: Sequence[str], source: str, why: str) -> None:
    from churnlib.exceptions import DataValidationError

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{source} lacks the column(s) {missing} ({why}); its columns are "
            f"{list(map(str, frame.columns))}",
            columns=missing,
        )


def build_monitor(args: argparse.Namespace, *, sinks: Any = None) -> tuple[Any, Any]:
    """Build the ChurnMonitor for ``monitor log|report``; return it and the contract."""
    from churnlib.monitoring import ChurnMonitor

    storage_options = parse_storage_options(args.storage_option)
    model, _ = load_model(args.model, None, storage_options)
    contract = model_contract(model)
    raw = read_raw(args.reference, storage_options, **read_options(args))
    source = redact_url(args.reference)
    positive = parse_label(args.positive)
    if contract is not None:
        target = args.target or contract.target
        if target is None:
            raise UsageError("the model does not name its label column: pass --target")
        X, y = labelled_rows(raw, contract, target, positive, source)
        id_column = args.id_column or contract.id_column
    else:  # a model trained outside churnlib: its own feature names, raw values
        if args.target is None:
            raise UsageError(
                "this model carries no contract (trained outside churnlib or "
                "before 0.2): pass --target"
            )
        from churnlib._core.labels import decode_labels

        target = args.target
        _require_columns(raw, [target], source, "--target")
        decoded, _ = decode_labels(raw[target], pos_label=positive, name=target)
        features = [c for c in model_features(model, raw, source) if c != target]
        X, y = raw[features], decoded
        id_column = args.id_column
    reference = X.assign(**{target: list(y)})
    monitor = ChurnMonitor(
        reference,
        model=model,
        target=target,
        store=args.monitor,
        storage_options=storage_options,
        sinks=sinks,
        threshold=args.threshold,  # None: the model's own (its contract)
        id_column=id_column,
        allow_training_overlap=args.allow_training_overlap,
    )
    args.target, args.id_column = target, id_column
    return monitor, contract


def _timestamps(frame: Any, column: str | None, source: str) -> Any:
    if column is None:
        return None
    _require_columns(frame, [column], source, "--timestamp-column")
    return frame.pop(column)


def cmd_monitor_log(args: argparse.Namespace) -> int:
    """``churnlib monitor log``."""
    storage_options = parse_storage_options(args.storage_option)
    monitor, contract = build_monitor(args, sinks=())
    if args.predictions:
        return _log_predictions(args, monitor, contract, storage_options)
    if args.generate_ids:
        raise UsageError("--generate-ids goes with --predictions, not --outcomes")
    source = redact_url(args.outcomes)
    raw = read_raw(args.outcomes, storage_options, **read_options(args))
    timestamp = _timestamps(raw, args.timestamp_column, source)
    if args.id_column is None:
        raise UsageError(
            "the model names no id column: pass --id-column (the column that "
            "identifies a customer in both the predictions and the outcomes)"
        )
    _require_columns(raw, [args.id_column, args.target], source, "ids and labels")
    if contract is not None:
        labels, y = raw, _decode(raw, contract, args)
    else:
        from churnlib._core.labels import decode_labels

        labels = raw
        y, _ = decode_labels(
            raw[args.target], pos_label=parse_label(args.positive), name=args.target
        )
    n = monitor.log_outcomes(labels[args.id_column], y, timestamp=timestamp)
    print(f"logged {n:,} outcomes to {redact_url(args.monitor)}")
    return EXIT_OK


def _decode(raw: Any, contract: Any, args: argparse.Namespace) -> Any:
    from churnlib._core.labels import infer_label_rule

    values = raw[args.target]
    positive = parse_label(args.positive)
    if positive is None and contract.labels is not None:
        return contract.decode_labels(values)
    rule = infer_label_rule(values, pos_label=positive, name=args.target)
    return rule.decode(values)


def _log_predictions(
    args: argparse.Namespace, monitor: Any, contract: Any, storage_options: Any
) -> int:
    source = redact_url(args.predictions)
    raw = read_raw(args.predictions, storage_options, **read_options(args))
    timestamp = _timestamps(raw, args.timestamp_column, source)
    scores = None
    if args.score_column:
        _require_columns(raw, [args.score_column], source, "--score-column")
        scores = raw.pop(args.score_column).to_numpy()
    ids = None
    if args.id_column is not None and args.id_column in raw.columns:
        ids = raw[args.id_column]
    elif contract is not None:
        ids = contract.ids(raw)
    if ids is None and not args.generate_ids:
        named = f"id column {args.id_column!r}" if args.id_column else "id column"
        raise JobError(
            f"{source} has no {named}: every prediction needs the customer's id "
            "so that its outcome can be joined later. Add the column, name "
            "another one with --id-column, or pass --generate-ids to log the "
            "rows under generated ids"
        )
    if contract is not None:
        X = contract.prepare(raw, source=source)
    else:
        X = raw[model_features(monitor.model, raw, source)]
    if ids is not None:
        ids = list(ids)
    logged = monitor.log_predictions(
        X.reset_index(drop=True),
        scores,
        ids=ids,
        timestamp=timestamp,
        generate_ids=args.generate_ids and ids is None,
    )
    print(f"logged {len(logged):,} predictions to {redact_url(args.monitor)}")
    return EXIT_OK


def _require_monitor(url: str, storage_options: dict[str, Any] | None) -> None:
    """Refuse a ``--monitor`` that holds no monitor, creating nothing there.

    Opening a monitor creates its store (the first ``monitor log`` does), so a
    mistyped URL would otherwise report "0 alerts" from a new, empty store
    and a scheduled alerting job would stay green.
    """
    from churnlib.monitoring._log import ParquetLog

    if not ParquetLog(url, storage_options, create=False).exists():
        raise JobError(
            f"no monitor at {redact_url(url)}: check --monitor (a monitor is "
            "created by its first `churnlib monitor log`)"
        )


def cmd_monitor_report(args: argparse.Namespace) -> int:
    """``churnlib monitor report``."""
    from churnlib.monitoring import JsonLinesSink, WebhookSink

    storage_options = parse_storage_options(args.storage_option)
    if args.output:
        check_html_url(args.output, "--output")
    _require_monitor(args.monitor, storage_options)
    sinks: list[Any] = []
    webhook = args.webhook or os.environ.get("CHURNLIB_ALERT_WEBHOOK")
    if webhook:
        sinks.append(WebhookSink(webhook))
    if args.alerts_file:
        sinks.append(JsonLinesSink(args.alerts_file, storage_options=storage_options))
    monitor, _ = build_monitor(args, sinks=sinks)
    report = monitor.report(freq=args.freq, chunk_size=args.chunk_size)
    alerts = list(report.alerts)
    delivered = monitor.notify(report) if sinks else ()
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
            print(f"  {one_line(alert)}")
        if sinks:
            print(f"{len(delivered)} new alerts delivered")
        if args.output:
            print(f"report  {redact_url(args.output)}")
    if alerts and args.fail_on_alert:
        raise JobError(f"{len(alerts)} alerts (--fail-on-alert)")
    return EXIT_OK
