"""Train page: ChurnTrainer with an MLflow run in the work directory; the runs."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd
import streamlit as st

from churnlib.dashboard import _ui
from churnlib.dashboard._data import list_runs, mlflow_ui_url

#: Estimator choices: label -> factory(random_state) (None: ChurnTrainer's default).
ESTIMATORS: dict[str, Any] = {
    "Default (churnlib's random forest, 400 trees)": None,
    "Random forest, 100 trees (quick)": "forest100",
    "Logistic regression": "logistic",
    "Histogram gradient boosting": "hgb",
}
THRESHOLDS = (
    "0.5 (the estimator's own)",
    "Fixed",
    "Best F1 (tuned by cross-validation)",
    "Most profitable campaign (tuned)",
)
EXPERIMENT = "churnlib-dashboard"


def make_estimator(choice: str, seed: int) -> Any:
    """Build the estimator of an ``ESTIMATORS`` label."""
    kind = ESTIMATORS[choice]
    if kind is None:
        return None
    if kind == "forest100":
        from churnlib.training import default_estimator

        return default_estimator(random_state=seed).set_params(n_estimators=100)
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1_000)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed)


def threshold_rule(choice: str, fixed: float) -> Any:
    """Return the ``ChurnTrainer(threshold=...)`` value of a ``THRESHOLDS`` choice."""
    if choice == THRESHOLDS[1]:
        return float(fixed)
    if choice == THRESHOLDS[2]:
        return "f1"
    if choice == THRESHOLDS[3]:
        from churnlib.evaluation import CampaignEconomics

        e = CampaignEconomics()
        return {"tp": e.gain_per_churner, "fp": -e.cost_per_non_churner}
    return None


@st.cache_data(ttl=5, show_spinner=False)
def runs(tracking_uri: str) -> pd.DataFrame:
    """List the MLflow runs of the work directory (cached a few seconds)."""
    return list_runs(tracking_uri)


def _train(state: _ui.DataState, form: dict[str, Any]) -> None:
    from churnlib.features import train_test_split_churn
    from churnlib.training import ChurnTrainer

    tracking_uri = _ui.paths().tracking_uri
    seed = int(form["seed"])
    with st.status("Training...", expanded=True) as status:
        progress = st.progress(0.0, text="Splitting the table")
        X_train, X_test, y_train, y_test = train_test_split_churn(
            state.X, state.y, test_size=float(form["test_size"]), random_state=seed
        )
        st.write(
            f"Split: {len(X_train):,} rows to train, {len(X_test):,} held out "
            "(stratified)."
        )
        progress.progress(0.2, text="Fitting and logging the MLflow run")
        trainer = ChurnTrainer(
            make_estimator(form["estimator"], seed),
            experiment_name=EXPERIMENT,
            tracking_uri=tracking_uri,
            threshold=threshold_rule(form["threshold"], form["fixed"]),
            log_report=bool(form["log_report"]),
            run_name=form["run_name"] or None,
            random_state=seed,
        )
        fit_kwargs: dict[str, Any] = {"X_valid": X_test, "y_valid": y_test}
        if "schema" in inspect.signature(trainer.fit).parameters:
            fit_kwargs["schema"] = state.schema
        result = trainer.fit(X_train, y_train, **fit_kwargs)
        progress.progress(1.0, text="Done")
        status.update(label=f"Trained: MLflow run {result.run_id}", state="complete")
    truth = None
    if state.truth is not None:
        truth = state.truth.loc[X_test.index]
    _ui.set_model(
        _ui.ModelState(
            model=result.model,
            label=f"{form['estimator']} (MLflow run {result.run_id[:8]})",
            threshold=float(result.threshold),
            metrics={k: float(v) for k, v in result.metrics.items()},
            run_id=result.run_id,
            experiment_id=result.experiment_id,
            holdout=(X_test, y_test, truth),
            key=f"run:{result.run_id}",
        )
    )
    runs.clear()


def _result() -> None:
    model = _ui.current_model()
    if model is None:
        return
    st.subheader("Current model")
    st.write(model.label)
    if model.run_id:
        st.markdown(f"MLflow run id: `{model.run_id}`")
    shown = [
        ("ROC AUC", "roc_auc"),
        ("Average precision", "average_precision"),
        ("F1", "f1"),
        ("Threshold", "threshold"),
    ]
    cols = st.columns(len(shown))
    for col, (label, key) in zip(cols, shown, strict=True):
        value = model.threshold if key == "threshold" else model.metrics.get(key)
        col.metric(label, "-" if value is None else f"{float(value):.3f}")
    _contract(model.model)
    if model.run_id and model.experiment_id:
        base = st.text_input(
            "MLflow UI address",
            value="http://127.0.0.1:5000",
            key="train.mlflow_ui",
            help="Where `mlflow ui` serves this work directory's store",
        )
        st.markdown(
            f"[Open the run in the MLflow UI]"
            f"({mlflow_ui_url(base, model.experiment_id, model.run_id)})"
        )
        st.code(
            f"mlflow ui --backend-store-uri {_ui.paths().tracking_uri}", language="bash"
        )


def _contract(model: Any) -> None:
    """Show what the model's contract decided (features, exclusions, threshold)."""
    try:
        from churnlib.contract import get_contract
    except ImportError:  # pragma: no cover - before the contract landed
        return
    contract = get_contract(model)
    if contract is None:
        return
    with st.expander(
        f"Model contract: {len(contract.feature_names)} features, "
        f"{len(contract.excluded)} columns excluded, threshold "
        f"{contract.threshold:.3f}"
    ):
        rows = [
            {"column": name, "decision": "feature", "why": spec.role}
            for name, spec in ((f.name, f) for f in contract.features)
        ] + [
            {
                "column": str(column),
                "decision": "excluded",
                "why": str(reason)
                + (
                    f" (alone: ROC AUC {contract.leakage[column]:.3f})"
                    if column in contract.leakage
                    else ""
                ),
            }
            for column, reason in contract.excluded.items()
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="train.contract")
        st.caption(
            f"Target {contract.target!r}, churn = {contract.pos_label!r}; "
            f"identifiers {', '.join(contract.id_columns) or 'none'}."
        )


def _runs_table() -> None:
    st.subheader("Runs in the tracking store")
    tracking_uri = _ui.paths().tracking_uri
    with _ui.guard("list the MLflow runs") as ok:
        table = runs(tracking_uri)
    if not ok[0]:
        return
    if table.empty:
        st.info(f"No runs yet in {tracking_uri}.")
        return
    st.dataframe(
        _ui.shown(table.drop(columns=["experiment_id"])),
        hide_index=True,
        column_config={"start_time": st.column_config.DatetimeColumn("started")},
        key="train.runs",
    )
    with_model = table[table["has_model"]]
    if with_model.empty:
        return
    labels = {
        f"{r.run_id[:8]} {r.run_name} ({r.experiment})": r.run_id
        for r in with_model.itertuples()
    }
    cols = st.columns([3, 1])
    choice = cols[0].selectbox("Select a run's model", list(labels), key="train.run")
    if cols[1].button("Use this run", key="train.use_run"):
        run_id = labels[choice]
        with _ui.guard(f"load the model of MLflow run {run_id}"):
            model, metrics = _ui.load_run_model(run_id, tracking_uri)
            row = with_model[with_model["run_id"] == run_id].iloc[0]
            threshold = float(metrics.get("threshold", _ui.model_threshold(model)))
            _ui.set_model(
                _ui.ModelState(
                    model=model,
                    label=f"MLflow run {run_id[:8]} ({row['run_name']})",
                    threshold=threshold,
                    metrics=metrics,
                    run_id=run_id,
                    experiment_id=str(row["experiment_id"]),
                    key=f"run:{run_id}",
                )
            )
            st.rerun()


def render() -> None:
    """Draw the Train page."""
    st.title("Train")
    state = _ui.ensure_data()
    if state is None:
        st.info("Generate or read a table on the Data page first.")
    else:
        st.caption(
            f"Table: {state.source}, {len(state.X):,} rows, target "
            f"{state.schema.target!r}"
        )
        with st.form("train"):
            cols = st.columns(3)
            estimator = cols[0].selectbox("Estimator", list(ESTIMATORS))
            threshold = cols[1].selectbox("Decision threshold", THRESHOLDS)
            fixed = cols[2].slider("Fixed threshold", 0.05, 0.95, 0.5, 0.01)
            row = st.columns(4)
            test_size = row[0].slider("Held-out share", 0.1, 0.5, 0.25, 0.05)
            seed = row[1].number_input("Seed", min_value=0, value=0, step=1)
            run_name = row[2].text_input("Run name", value="dashboard")
            log_report = row[3].checkbox("Log the report card to MLflow")
            if st.form_submit_button("Train", type="primary"):
                with _ui.guard("train the model"):
                    _train(
                        state,
                        {
                            "estimator": estimator,
                            "threshold": threshold,
                            "fixed": fixed,
                            "test_size": test_size,
                            "seed": seed,
                            "run_name": run_name,
                            "log_report": log_report,
                        },
                    )
    _result()
    _runs_table()
