"""Pure data functions behind the dashboard's pages (no Streamlit, no Plotly).

Each takes the public objects of the library (frames, ``EvaluationReport``,
``MonitorReport``, ``ModelVersion``) and returns a small tidy DataFrame that a
chart or table shows. They are library-shaped and tested on their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnlib._urls import redact_url, redact_urls_in
from churnlib.exceptions import DataValidationError, TrackingError

__all__ = [
    "alerts_frame",
    "calibration_frame",
    "churn_rate_by",
    "distribution",
    "drift_matrix",
    "guess_target",
    "lift_gain_frame",
    "list_runs",
    "load_run_model",
    "mlflow_ui_url",
    "parse_storage_options",
    "performance_frame",
    "pr_frame",
    "profit_frame",
    "quality_frame",
    "roc_frame",
    "schema_frame",
    "scrub",
    "thin",
    "versions_frame",
]

_CHURN_WORDS = re.compile(
    r"churn|attrit|exit|left|leav|cancel|lost|quit|closed|terminat|defect|lapse",
    re.IGNORECASE,
)


# --------------------------------------------------------------------- data
def guess_target(columns: Iterable[Any]) -> str | None:
    """Return the column most likely to be the churn label, or None.

    The first column whose name holds a churn word (``churn``, ``attrition``,
    ``exited``, ``cancelled``...), skipping probabilities and dates.

    Examples
    --------
    >>> from churnlib.dashboard._data import guess_target
    >>> guess_target(["customer_id", "tenure", "Exited"])
    'Exited'
    >>> guess_target(["churn_probability", "churned"])
    'churned'
    >>> guess_target(["a", "b"]) is None
    True
    """
    for column in columns:
        name = str(column)
        if _CHURN_WORDS.search(name) and not re.search(
            r"prob|score|date|time|reason", name, re.IGNORECASE
        ):
            return name
    return None


def schema_frame(schema: Any, columns: Sequence[Any]) -> pd.DataFrame:
    """Describe each column of the raw table: its role and a note.

    Parameters
    ----------
    schema : ChurnSchema
        What :func:`churnlib.data.read_churn_table` inferred.
    columns : sequence
        The raw table's columns, in order.

    Returns
    -------
    DataFrame
        ``column``, ``role`` (``target``, ``identifier``, ``numeric``,
        ``categorical``, ``binary``, ``datetime``, ``constant``, or
        ``not used``), ``note`` (positive value, suspected-leak AUC...).
    """
    roles: dict[str, str] = {}
    for role, names in (
        ("numeric", schema.numeric),
        ("categorical", schema.categorical),
        ("binary", schema.binary),
        ("datetime", schema.datetime),
        ("identifier", schema.id_columns),
    ):
        roles.update(dict.fromkeys(names, role))
    constant = set(getattr(schema, "constant", ()) or ())
    leakage: Mapping[str, float] = getattr(schema, "leakage", None) or {}
    rows = []
    for column in columns:
        name = str(column)
        role = roles.get(name, "not used")
        note = ""
        if name == schema.target:
            role, note = "target", f"churn = {schema.positive!r}"
        elif name in constant:
            role, note = "constant", "one value only: not a feature"
        if name in leakage:
            note = (
                f"suspected leak: alone it predicts churn with "
                f"ROC AUC {float(leakage[name]):.3f}"
            )
        rows.append({"column": name, "role": role, "note": note})
    return pd.DataFrame(rows, columns=["column", "role", "note"])


def churn_rate_by(
    X: pd.DataFrame, y: Any, column: str, *, bins: int = 10, top: int = 20
) -> pd.DataFrame:
    """Compute the churn rate per value (or quantile bin) of one feature.

    Parameters
    ----------
    X : DataFrame
        Features.
    y : array-like of bool
        Churned or not, aligned with ``X``.
    column : str
        The feature.
    bins : int, default=10
        Quantile bins for numeric features with more distinct values.
    top : int, default=20
        Most frequent levels kept for categorical features (the rest pooled
        as ``"other"``).

    Returns
    -------
    DataFrame
        ``value`` (str, in order), ``n``, ``churners``, ``churn_rate``;
        missing values form their own row ``"missing"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.dashboard._data import churn_rate_by
    >>> X = pd.DataFrame({"plan": ["a", "a", "b", "b"]})
    >>> churn_rate_by(X, [True, False, True, True], "plan")
      value  n  churners  churn_rate
    0     a  2         1         0.5
    1     b  2         2         1.0
    """
    if column not in X.columns:
        raise DataValidationError(
            f"{column!r} is not a column of the table; choose one of "
            f"{list(map(str, X.columns))[:10]}.",
            columns=[column],
        )
    values = X[column]
    target = pd.Series(np.asarray(y, dtype=bool), index=X.index)
    is_number = pd.api.types.is_numeric_dtype(values) and not (
        pd.api.types.is_bool_dtype(values)
    )
    if is_number and values.nunique(dropna=True) > bins:
        binned = pd.qcut(values.astype(float), q=bins, duplicates="drop")
        keys = binned.astype(str).where(binned.notna(), "missing")
        order = [str(c) for c in binned.cat.categories] + ["missing"]
    else:
        text = values.astype("object").where(values.notna(), None)
        keys = text.map(lambda v: "missing" if v is None else str(v))
        counts = keys.value_counts()
        if len(counts) > top:
            keep = {*counts.drop("missing", errors="ignore").index[:top], "missing"}
            keys = keys.where(keys.isin(keep), "other")
        order = [*sorted(set(keys) - {"missing", "other"}), "other", "missing"]
        if is_number:  # few distinct numbers: numeric order
            numbers = sorted(set(keys) - {"missing"}, key=float)
            order = [*numbers, "missing"]
    grouped = target.groupby(keys.to_numpy(), sort=False).agg(["size", "sum"])
    grouped = grouped.reindex([k for k in order if k in grouped.index])
    return pd.DataFrame(
        {
            "value": grouped.index.astype(str),
            "n": grouped["size"].to_numpy(dtype=int),
            "churners": grouped["sum"].to_numpy(dtype=int),
            "churn_rate": (grouped["sum"] / grouped["size"]).to_numpy(dtype=float),
        }
    )


def distribution(
    X: pd.DataFrame, y: Any, column: str, *, bins: int = 30
) -> pd.DataFrame:
    """Count customers per value (or equal-width bin) of a feature, by outcome.

    The counts a histogram draws, computed here so a chart sends a few dozen
    bars to the browser instead of every row.

    Returns
    -------
    DataFrame
        ``value`` (bin centre for numeric features, else the level as str),
        ``churned`` (bool), ``n``; for numeric features also ``width``.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.dashboard._data import distribution
    >>> X = pd.DataFrame({"plan": ["a", "a", "b"]})
    >>> distribution(X, [True, False, False], "plan")
      value  churned  n
    0     a    False  1
    1     a     True  1
    2     b    False  1
    """
    values = X[column]
    churned = np.asarray(y, dtype=bool)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
        values
    )
    if numeric and values.nunique(dropna=True) > bins:
        x = values.to_numpy(dtype=float, na_value=np.nan)
        finite = ~np.isnan(x)
        edges = np.histogram_bin_edges(x[finite], bins=bins)
        parts = []
        for flag in (False, True):
            counts, _ = np.histogram(x[finite & (churned == flag)], bins=edges)
            parts.append(
                pd.DataFrame(
                    {
                        "value": 0.5 * (edges[:-1] + edges[1:]),
                        "churned": flag,
                        "n": counts,
                        "width": np.diff(edges),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)
    keys = values.astype("object").where(values.notna(), None)
    keys = keys.map(lambda v: "missing" if v is None else str(v))
    counts = (
        pd.DataFrame({"value": keys.to_numpy(), "churned": churned})
        .groupby(["value", "churned"], sort=True)
        .size()
        .rename("n")
        .reset_index()
    )
    return counts


def thin(frame: pd.DataFrame, max_points: int = 500) -> pd.DataFrame:
    """Keep at most ``max_points`` evenly spaced rows of a curve (first and last kept).

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.dashboard._data import thin
    >>> len(thin(pd.DataFrame({"x": range(10_000)}), 100))
    100
    >>> thin(pd.DataFrame({"x": range(10_000)}), 100)["x"].iloc[[0, -1]].tolist()
    [0, 9999]
    """
    if len(frame) <= max_points:
        return frame
    rows = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
    return frame.iloc[rows].reset_index(drop=True)


# --------------------------------------------------------------- evaluation
def roc_frame(y_true: Any, y_score: Any) -> pd.DataFrame:
    """Compute the ROC curve points: ``fpr``, ``tpr``, ``threshold``."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(np.asarray(y_true, dtype=bool), y_score)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})


def pr_frame(y_true: Any, y_score: Any) -> pd.DataFrame:
    """Compute the precision-recall curve: ``recall``, ``precision``, ``threshold``."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(
        np.asarray(y_true, dtype=bool), y_score
    )
    return pd.DataFrame(
        {
            "recall": recall,
            "precision": precision,
            "threshold": np.append(thresholds, np.nan),
        }
    )


def calibration_frame(y_true: Any, y_score: Any, *, n_bins: int = 10) -> pd.DataFrame:
    """Bin scores for a reliability diagram: ``predicted``, ``observed``, ``n``."""
    y = np.asarray(y_true, dtype=bool)
    score = np.asarray(y_score, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, n_bins - 1)
    n = np.bincount(which, minlength=n_bins)
    predicted = np.bincount(which, weights=score, minlength=n_bins)
    observed = np.bincount(which, weights=y.astype(float), minlength=n_bins)
    keep = n > 0
    return pd.DataFrame(
        {
            "predicted": predicted[keep] / n[keep],
            "observed": observed[keep] / n[keep],
            "n": n[keep],
        }
    )


def lift_gain_frame(y_true: Any, y_score: Any) -> pd.DataFrame:
    """Compute cumulative gain and lift by fraction targeted."""
    from churnlib.evaluation import cumulative_gain

    fractions, gains, thresholds = cumulative_gain(
        np.asarray(y_true, dtype=bool), y_score
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(
            fractions > 0, gains / np.where(fractions > 0, fractions, 1), np.nan
        )
    return pd.DataFrame(
        {"fraction": fractions, "gain": gains, "lift": lift, "threshold": thresholds}
    )


def profit_frame(
    y_true: Any,
    y_score: Any,
    *,
    customer_value: float,
    incentive_cost: float,
    contact_cost: float,
    acceptance_rate: float,
) -> tuple[pd.DataFrame, Any]:
    """Compute the profit curve and the most profitable campaign.

    Returns
    -------
    curve : DataFrame
        ``fraction``, ``threshold``, ``profit`` (from
        :func:`churnlib.evaluation.expected_campaign_profit`).
    best : CampaignProfit
        ``best.threshold`` is the recommended cutoff, ``best.fraction`` the
        share contacted, ``best.profit`` the expected profit.
    """
    from churnlib.evaluation import expected_campaign_profit

    best = expected_campaign_profit(
        np.asarray(y_true, dtype=bool),
        y_score,
        customer_value=customer_value,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        acceptance_rate=acceptance_rate,
    )
    return best.to_frame(), best


# --------------------------------------------------------------- monitoring
def performance_frame(report: Any, metric: str) -> pd.DataFrame:
    """Select the ``report.performance`` rows of one metric, with a chunk label."""
    perf = report.performance
    rows = perf[perf["metric"] == metric].copy()
    rows["label"] = rows["chunk"].map(_chunk_label)
    return rows.reset_index(drop=True)


def drift_matrix(drift: pd.DataFrame) -> pd.DataFrame:
    """Tabulate features x chunks: the largest ``statistic / threshold``.

    Above 1 means flagged. Rows in the drift frame's feature order, columns
    labelled like the chunk (a date for time chunks).

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.dashboard._data import drift_matrix
    >>> drift = pd.DataFrame(
    ...     {
    ...         "chunk": [0, 0, 1],
    ...         "feature": ["age", "age", "age"],
    ...         "statistic": [0.05, 0.2, 0.5],
    ...         "threshold": [0.1, 0.25, 0.25],
    ...     }
    ... )
    >>> drift_matrix(drift)
    chunk    0    1
    feature
    age      0.8  2.0
    """
    if drift is None or not len(drift):
        return pd.DataFrame()
    ratio = drift["statistic"].astype(float) / drift["threshold"].astype(float)
    frame = drift.assign(ratio=ratio.replace([np.inf, -np.inf], np.nan))
    matrix = frame.pivot_table(
        index="feature", columns="chunk", values="ratio", aggfunc="max", sort=False
    )
    matrix.columns = pd.Index([_chunk_label(c) for c in matrix.columns], name="chunk")
    return matrix


def quality_frame(report: Any) -> pd.DataFrame:
    """Summarize data quality per feature over chunks (the worst chunk's rates)."""
    dq = report.data_quality
    if dq is None or not len(dq):
        return pd.DataFrame(
            columns=[
                "feature",
                "missing_rate",
                "reference_missing_rate",
                "unseen_rate",
                "out_of_range_rate",
            ]
        )
    present = [
        c
        for c in (
            "missing_rate",
            "reference_missing_rate",
            "unseen_rate",
            "out_of_range_rate",
        )
        if c in dq.columns
    ]
    worst = dq.groupby("feature", sort=False)[present].max()
    return worst.reset_index()


def alerts_frame(alerts: Iterable[Any]) -> pd.DataFrame:
    """Tabulate alerts: severity, metric, feature, chunk, value, message."""
    rows = [
        {
            "severity": str(getattr(alert, "severity", "")),
            "metric": str(getattr(alert, "metric", "")),
            "feature": getattr(alert, "feature", None) or "(model)",
            "chunk": _chunk_label(getattr(alert, "chunk", "")),
            "value": float(getattr(alert, "value", np.nan)),
            "threshold": float(getattr(alert, "threshold", np.nan)),
            "message": str(alert),
        }
        for alert in alerts
    ]
    columns = [
        "severity",
        "metric",
        "feature",
        "chunk",
        "value",
        "threshold",
        "message",
    ]
    return pd.DataFrame(rows, columns=columns)


def _chunk_label(chunk: Any) -> str:
    if isinstance(chunk, pd.Timestamp):
        if chunk == chunk.normalize():
            return f"{chunk:%Y-%m-%d}"
        return f"{chunk:%Y-%m-%d %H:%M}"
    return str(chunk)


# --------------------------------------------------------------- deployment
def versions_frame(
    versions: Iterable[Any], metrics: Sequence[str] = ()
) -> pd.DataFrame:
    """Tabulate model store versions, newest first: id, created, aliases, metrics.

    Parameters
    ----------
    versions : iterable of ModelVersion
        From :meth:`churnlib.deployment.ModelStore.versions`.
    metrics : sequence of str, default=()
        Metric columns to show; empty shows ``roc_auc``, ``average_precision``
        and ``top_decile_lift`` where present.
    """
    versions = list(versions)
    shown = list(metrics) or [
        m
        for m in ("roc_auc", "average_precision", "top_decile_lift", "campaign_profit")
        if any(m in v.metrics for v in versions)
    ]
    rows = []
    for v in versions:
        row: dict[str, Any] = {
            "version": v.version,
            "created_at": f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            "aliases": ", ".join(v.aliases),
            "run_id": v.run_id or "",
        }
        for m in shown:
            row[m] = float(v.metrics[m]) if m in v.metrics else np.nan
        rows.append(row)
    frame = pd.DataFrame(
        rows, columns=["version", "created_at", "aliases", "run_id", *shown]
    )
    return frame.sort_values("version", ascending=False, ignore_index=True)


def parse_storage_options(text: str) -> dict[str, Any]:
    r"""Read storage options typed as a JSON object or ``KEY=VALUE`` lines.

    Values of ``KEY=VALUE`` lines are JSON-decoded when they can be
    (``anon=true`` -> True). The error message never repeats a value.

    Examples
    --------
    >>> from churnlib.dashboard._data import parse_storage_options
    >>> parse_storage_options('{"key": "k", "client_kwargs": {"endpoint_url": "u"}}')
    {'key': 'k', 'client_kwargs': {'endpoint_url': 'u'}}
    >>> parse_storage_options("anon=true; key = abc")
    {'anon': True, 'key': 'abc'}
    """
    text = text.strip()
    if not text:
        return {}
    if text.startswith(("{", "[")):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataValidationError(
                f"The storage options are not valid JSON (line {err.lineno}, "
                f"column {err.colno}). Type a JSON object such as "
                '{"key": "...", "secret": "..."} or KEY=VALUE lines.'
            ) from None
        if not isinstance(value, dict):
            raise DataValidationError(
                "The storage options must be a JSON object ({...}), not a list "
                "or a single value."
            )
        return value
    options: dict[str, Any] = {}
    for number, line in enumerate(re.split(r"[\n;]", text), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise DataValidationError(
                f"Storage option line {number} is not KEY=VALUE. Type one "
                "option a line, e.g. anon=true, or a JSON object."
            )
        value = value.strip()
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _secret_strings(v)]
    if isinstance(value, str | bytes) and len(value) >= 4:
        return [value.decode(errors="replace") if isinstance(value, bytes) else value]
    return []


def scrub(text: str, secrets: Any = None) -> str:
    """Remove credentials from a message before showing it.

    URLs lose their user info and query (:func:`churnlib._urls.redact_url`),
    and every string value of ``secrets`` (storage options, nested too) of
    at least 4 characters becomes ``***``.

    Examples
    --------
    >>> from churnlib.dashboard._data import scrub
    >>> scrub("denied for key AKIA1234 at s3://b", {"key": "AKIA1234"})
    'denied for key *** at s3://b'
    """
    out = str(text)
    for secret in sorted(set(_secret_strings(secrets)), key=len, reverse=True):
        out = out.replace(secret, "***")
    return redact_urls_in(out)


# ------------------------------------------------------------------ tracking
def list_runs(tracking_uri: str, *, max_results: int = 200) -> pd.DataFrame:
    """List the runs of every experiment of an MLflow tracking store, newest first.

    Parameters
    ----------
    tracking_uri : str
        For example ``sqlite:///<workdir>/mlflow.db``. A SQLite file that does
        not exist yet gives an empty table (nothing is created).
    max_results : int, default=200
        At most this many runs.

    Returns
    -------
    DataFrame
        ``run_id``, ``run_name``, ``experiment``, ``experiment_id``,
        ``status``, ``start_time``, ``roc_auc``, ``average_precision``,
        ``threshold`` (NaN where not logged), ``has_model``.

    Raises
    ------
    TrackingError
        If the store cannot be read.
    """
    columns = [
        "run_id",
        "run_name",
        "experiment",
        "experiment_id",
        "status",
        "start_time",
        "roc_auc",
        "average_precision",
        "threshold",
        "has_model",
    ]
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri[len("sqlite:///") :].split("?", 1)[0])
        if not path.exists():
            return pd.DataFrame(columns=columns)
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        experiments = {e.experiment_id: e.name for e in client.search_experiments()}
        runs = (
            client.search_runs(
                list(experiments),
                max_results=max_results,
                order_by=["attributes.start_time DESC"],
            )
            if experiments
            else []
        )
        with_model: set[str] = set()
        if experiments:
            for logged in client.search_logged_models(
                experiment_ids=list(experiments), max_results=max_results
            ):
                if logged.source_run_id:
                    with_model.add(logged.source_run_id)
    except Exception as err:
        raise TrackingError(
            f"Could not list the MLflow runs of {redact_url(tracking_uri)}: "
            f"{type(err).__name__}: {err}. Check that it is an MLflow tracking "
            "store (churnlib demo writes WORKDIR/mlflow.db).",
            tracking_uri=redact_url(tracking_uri),
        ) from None
    rows = []
    for run in runs:
        metrics = run.data.metrics
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name or "",
                "experiment": experiments.get(run.info.experiment_id, ""),
                "experiment_id": run.info.experiment_id,
                "status": run.info.status,
                "start_time": pd.Timestamp(run.info.start_time, unit="ms"),
                "roc_auc": metrics.get("roc_auc", np.nan),
                "average_precision": metrics.get("average_precision", np.nan),
                "threshold": metrics.get("threshold", np.nan),
                "has_model": run.info.run_id in with_model,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def load_run_model(run_id: str, tracking_uri: str) -> tuple[Any, dict[str, float]]:
    """Load the scikit-learn model an MLflow run logged, with the run's metrics.

    Uses a client bound to ``tracking_uri`` (no global MLflow state).

    Raises
    ------
    TrackingError
        If the run has no logged model or it cannot be loaded.
    """
    try:
        import mlflow.sklearn
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        run = client.get_run(run_id)
        logged = client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run_id}'",
            max_results=1,
        )
    except Exception as err:
        raise TrackingError(
            f"Could not read MLflow run {run_id!r} from {redact_url(tracking_uri)}: "
            f"{type(err).__name__}: {err}.",
            tracking_uri=redact_url(tracking_uri),
        ) from None
    if not logged:
        raise TrackingError(
            f"MLflow run {run_id!r} logged no model. Pick a run with a model "
            "(train with log_model=True).",
            tracking_uri=redact_url(tracking_uri),
        )
    location = logged[0].artifact_location
    try:
        if location.startswith("file:") or "://" not in location:
            model = mlflow.sklearn.load_model(location)
        else:  # remote artifacts: download through this client's store
            import mlflow.artifacts

            local = mlflow.artifacts.download_artifacts(
                artifact_uri=location, tracking_uri=tracking_uri
            )
            model = mlflow.sklearn.load_model(local)
    except Exception as err:
        raise TrackingError(
            f"Could not load the model of MLflow run {run_id!r}: "
            f"{type(err).__name__}: {err}.",
            tracking_uri=redact_url(tracking_uri),
        ) from None
    return model, dict(run.data.metrics)


def mlflow_ui_url(base: str, experiment_id: str, run_id: str) -> str:
    """Return the link to a run in the MLflow UI served at ``base``.

    Examples
    --------
    >>> from churnlib.dashboard._data import mlflow_ui_url
    >>> mlflow_ui_url("http://127.0.0.1:5000/", "1", "abc")
    'http://127.0.0.1:5000/#/experiments/1/runs/abc'
    """
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
