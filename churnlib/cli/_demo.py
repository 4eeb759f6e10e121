"""``churnlib demo``: the whole loop on generated customers, in one folder.

Generate -> validate -> preprocess -> split -> train (MLflow run, registered
model with the ``production`` alias) -> evaluate (report card) -> publish to a
model store and promote -> simulate production -> monitor. Each stage prints
one progress line; the summary names every file written.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from churnlib._urls import redact_url
from churnlib.cli._common import (
    EXIT_OK,
    Progress,
    local_path,
    one_line,
    parse_storage_options,
)

__all__ = ["cmd_demo"]


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole loop on generated customers (``churnlib demo --help``)."""
    out = sys.stdout
    started = time.perf_counter()
    workdir = Path(args.workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    storage_options = parse_storage_options(args.storage_option)
    store_url = args.store or (workdir / "models").as_uri()
    tracking_uri = args.tracking_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    monitor_url = (workdir / "monitor").as_uri()
    seed = args.random_state
    files: dict[str, str] = {}
    progress = Progress(9, quiet=args.quiet, stream=out)
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
            # The MLflow UI's Models tab shows it, alias 'production'.
            registered_model_name=args.registered_model_name,
            alias="production",
        )
        result = trainer.fit(X_train, y_train, X_valid=X_test, y_valid=y_test)
        if args.tracking_uri is None:
            files["mlflow.db"] = "the MLflow tracking store (SQLite)"
            files["mlartifacts/"] = "the MLflow run artifacts (model, report card)"
        info["detail"] = (
            f"MLflow run {result.run_id[:8]}, {_short_metrics(result)}, "
            f"registered as {result.registered_model_uri}"
        )

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
        if local_path(store_url) is not None:
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
        from churnlib._core.model_facts import churn_proba
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
            scores = churn_proba(production_model, batch.X[feature_columns])
            monitor.log_predictions(
                batch.X[feature_columns],
                scores,
                ids=batch.ids,
                timestamp=batch.timestamp,
            )
            if batch.index < labelled:  # the newest labels have not arrived yet
                monitor.log_outcomes(batch.ids, batch.y, timestamp=batch.labels_at)
        monitor_report = monitor.report(freq=args.batch_freq)  # a pure query
        monitor.notify(monitor_report)  # new alerts -> alerts.jsonl
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
            out.write(f"  {one_line(alert)}\n")
    else:
        out.write("Alerts: none\n")
    out.write(f"\nDone in {elapsed:.1f} s. Outputs in {workdir}:\n")
    width = max(len(name) for name in files)
    for name, what in files.items():
        out.write(f"  {name:<{width}}  {what}\n")
    if local_path(store_url) is None:
        out.write(f"  model store: {redact_url(store_url)}\n")
    out.write("\nOpen the HTML files in a browser. ")
    if tracking_uri.startswith(("http://", "https://")):
        out.write(f"Browse the MLflow runs at {redact_url(tracking_uri)}\n")
    else:
        out.write("Browse the MLflow runs with:\n")
        out.write(f"  mlflow ui --backend-store-uri {redact_url(tracking_uri)}\n")
    out.write(
        f"The Models tab shows {args.registered_model_name!r} with the alias "
        "'production'.\n"
    )
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
