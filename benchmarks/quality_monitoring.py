"""Monitoring quality on simulated production with known drift onsets.

Usage: ``python benchmarks/quality_monitoring.py [--quick]`` (5 seeds, or 2).
Runs in the main environment; in the ``bench_peers`` nox session for NannyML it
also measures NannyML's defaults on exactly the same data, side by side.

Protocol: a logistic-regression churn model (``ChurnPreprocessor`` +
``LogisticRegression``) trained on 20,000 generated customers; a reference of
10,000 other customers; ``simulate_production(20, 2000, scenario=...,
onset=10)`` per seed; one chunk = one batch = 2,000 rows.

- false-alarm rate: share of (chunk, feature) cells flagged, over the 17
  features and the model score, in ``scenario="none"`` (all chunks) and in
  the pre-onset chunks of the other scenarios;
- detection delay (chunks after the onset until the first alert of the
  signal): covariate shift through feature drift; prior shift through the
  realized churn rate and its label-free estimate; concept drift through
  the realized ROC AUC (label-free signals cannot see it: features do not
  move);
- estimation error: mean |estimated - realized| ROC AUC per chunk, after the
  onset under covariate shift and everywhere without drift.

NannyML (when importable), defaults: ``UnivariateDriftCalculator`` (Jensen-
Shannon for every column, thresholds from the spread over reference chunks)
with ``chunk_size=2000``; ``CBPE`` for ROC AUC.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report

from churnlib.data import generate_customers, simulate_production
from churnlib.monitoring import ChurnMonitor

CHUNK, N_CHUNKS, ONSET = 2000, 20, 10
SCENARIOS = ("none", "covariate_shift", "prior_shift", "concept_drift")


def fit_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from churnlib.features import ChurnPreprocessor

    train = generate_customers(20_000, random_state=1)
    model = make_pipeline(ChurnPreprocessor(), LogisticRegression(max_iter=1000))
    return model.fit(train.drop(columns="churned"), train["churned"])


def first(chunks: list[int]) -> float:
    after = [c for c in chunks if c >= ONSET]
    return float(min(after) - ONSET) if after else np.nan


def churnlib_run(model, reference, batches) -> dict[str, float]:
    monitor = ChurnMonitor(reference, model=model, target="churned", sinks=[])
    for b in batches:
        scores = model.predict_proba(b.X)[:, 1]
        ids = monitor.log_predictions(b.X, scores, timestamp=b.timestamp)
        monitor.log_outcomes(ids, b.y, timestamp=b.labels_at)
    rep = monitor.report(chunk_size=CHUNK)
    cells = rep.drift.groupby(["chunk", "feature"])["drifted"].any().unstack()
    auc = rep.performance.query("metric == 'roc_auc'").pivot_table(
        index="chunk", columns="kind", values="value"
    )

    def alerts(*metrics: str) -> list[int]:
        return [a.chunk for a in rep.alerts if a.metric in metrics]

    return {
        "false_alarm_all": float(cells.to_numpy().mean()),
        "false_alarm_pre": float(cells.loc[: ONSET - 1].to_numpy().mean()),
        "alerts_pre": float(sum(c < ONSET for c in (a.chunk for a in rep.alerts))),
        "delay_drift": first(alerts("drift")),
        "delay_churn_rate": first(alerts("churn_rate_increase")),
        "delay_estimated_churn_rate": first(alerts("estimated_churn_rate_increase")),
        "delay_auc": first(alerts("roc_auc_drop")),
        "delay_estimated_auc": first(alerts("estimated_roc_auc_drop")),
        "auc_error_post": float(
            (auc["estimated"] - auc["realized"]).loc[ONSET:].abs().mean()
        ),
        "auc_error_all": float((auc["estimated"] - auc["realized"]).abs().mean()),
    }


def nannyml_run(model, reference, batches) -> dict[str, float] | None:
    try:
        import nannyml as nml
    except ImportError:
        return None
    features = [c for c in reference.columns if c not in ("customer_id", "churned")]

    def frame(X, y):
        out = X[features].copy()
        for c in out.columns:  # NannyML wants plain object/number columns
            if isinstance(out[c].dtype, pd.CategoricalDtype) or out[c].dtype == bool:
                out[c] = out[c].astype(str)
        out["model_score"] = model.predict_proba(X)[:, 1]
        out["y_pred"] = (out["model_score"] >= 0.5).astype(int)
        out["y_true"] = np.asarray(y, dtype=int)
        return out

    ref = frame(reference, reference["churned"])
    ana = pd.concat([frame(b.X, b.y) for b in batches], ignore_index=True)
    columns = [*features, "model_score"]
    drift = nml.UnivariateDriftCalculator(column_names=columns, chunk_size=CHUNK)
    res = drift.fit(ref).calculate(ana.drop(columns="y_true")).filter(period="analysis")
    df = res.to_df()
    alert_cols = [c for c in df.columns if c[-1] == "alert"]
    cells = df[alert_cols].to_numpy(dtype=bool)
    any_alert = cells.any(axis=1)
    cbpe = nml.CBPE(
        y_pred_proba="model_score",
        y_pred="y_pred",
        y_true="y_true",
        metrics=["roc_auc"],
        chunk_size=CHUNK,
        problem_type="classification_binary",
    )
    est = cbpe.fit(ref).estimate(ana.drop(columns="y_true"))
    est_df = est.filter(period="analysis").to_df()
    estimated = est_df[("roc_auc", "value")].to_numpy()
    from sklearn.metrics import roc_auc_score

    realized = np.array(
        [
            roc_auc_score(
                ana["y_true"][i : i + CHUNK], ana["model_score"][i : i + CHUNK]
            )
            for i in range(0, len(ana), CHUNK)
        ]
    )
    err = np.abs(estimated - realized)
    return {
        "false_alarm_all": float(cells.mean()),
        "false_alarm_pre": float(cells[:ONSET].mean()),
        "delay_drift": first([i for i, a in enumerate(any_alert) if a]),
        "auc_error_post": float(err[ONSET:].mean()),
        "auc_error_all": float(err.mean()),
    }


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    seeds = range(100, 102 if quick else 105)
    model = fit_model()
    reference = generate_customers(10_000, random_state=2)
    rows: list[dict] = []
    for scenario in SCENARIOS:
        for seed in seeds:
            batches = list(
                simulate_production(
                    N_CHUNKS, CHUNK, scenario=scenario, onset=ONSET, random_state=seed
                )
            )
            for tool, run in (("churnlib", churnlib_run), ("nannyml", nannyml_run)):
                result = run(model, reference, batches)
                if result is not None:
                    rows.append({"tool": tool, "scenario": scenario, **result})
    table = pd.DataFrame(rows).groupby(["tool", "scenario"]).mean()
    print(table.round(4).to_string())
    report = Report("quality_monitoring_quick" if quick else "quality_monitoring")
    n = len(seeds)
    for tool in table.index.get_level_values("tool").unique():
        t = table.loc[tool]
        fa = t.loc["none", "false_alarm_all"]
        report.value(
            f"{tool}: false-alarm rate, (chunk, feature) cells, no drift, {n} seeds",
            round(float(fa), 4),
            unit="share",
            target="<= 0.01",
            ok=bool(fa <= 0.01),
        )
        pre = t.drop(index="none")["false_alarm_pre"].mean()
        report.value(
            f"{tool}: false-alarm rate before the onset, drift scenarios",
            round(float(pre), 4),
            unit="share",
        )
        report.value(
            f"{tool}: detection delay, covariate shift (feature drift)",
            round(float(t.loc["covariate_shift", "delay_drift"]), 2),
            unit="chunks",
        )
        err = t.loc["covariate_shift", "auc_error_post"]
        report.value(
            f"{tool}: |estimated - realized| ROC AUC after covariate shift",
            round(float(err), 4),
            unit="AUC",
            target="<= 0.03",
            ok=bool(err <= 0.03),
        )
        report.value(
            f"{tool}: |estimated - realized| ROC AUC, no drift",
            round(float(t.loc["none", "auc_error_all"]), 4),
            unit="AUC",
        )
        if tool == "churnlib":
            for scenario, col, what in (
                ("prior_shift", "delay_churn_rate", "realized churn rate"),
                ("prior_shift", "delay_estimated_churn_rate", "estimated churn rate"),
                ("concept_drift", "delay_auc", "realized ROC AUC"),
                ("concept_drift", "delay_estimated_auc", "estimated ROC AUC"),
            ):
                report.value(
                    f"churnlib: detection delay, {scenario} ({what})",
                    round(float(t.loc[scenario, col]), 2),
                    unit="chunks",
                    note="NaN: never detected (expected for label-free signals "
                    "under concept drift)"
                    if col == "delay_estimated_auc"
                    else "",
                )
            report.value(
                "churnlib: alerts before the onset (all rules), mean per run",
                round(float(t["alerts_pre"].mean()), 2),
                unit="alerts",
            )
    report.write()


if __name__ == "__main__":
    main(sys.argv[1:])
