"""Shared Streamlit plumbing of the dashboard: work directory, state, caches, errors.

Conventions (Streamlit's own): ``st.cache_data`` for frames,
``st.cache_resource`` for models and clients, ``st.session_state`` for the
selection (the table, the model, the evaluation report, the store options).
Storage options typed by the user live only in this session's state: they are
never shown, written, logged, put in a URL or used as a cache key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from churnlib._urls import redact_url
from churnlib.dashboard._cli import DEFAULT_WORKDIR, WORKDIR_ENV
from churnlib.dashboard._data import guess_target, scrub

__all__ = [
    "TRUTH_COLUMN",
    "DataState",
    "ModelState",
    "Paths",
    "current_data",
    "current_model",
    "guard",
    "paths",
]

#: The generator's true churn probability (``return_truth=True``): kept aside
#: as the truth for the report card, never a feature.
TRUTH_COLUMN = "churn_probability"
_MEMORY_ROOT = "memory://churnlib-dashboard"

# session_state keys
DATA = "churnlib.data"
MODEL = "churnlib.model"
REPORT = "churnlib.report"
OPTIONS = "churnlib.storage_options"  # secrets: never shown, never cached


@dataclass(frozen=True)
class Paths:
    """Where the work directory keeps each part of the loop (as ``churnlib demo``)."""

    workdir: Path

    @property
    def tracking_uri(self) -> str:
        """SQLite MLflow store ``WORKDIR/mlflow.db``."""
        return f"sqlite:///{self.workdir / 'mlflow.db'}"

    @property
    def store_url(self) -> str:
        """Model store ``WORKDIR/models``."""
        return (self.workdir / "models").as_uri()

    @property
    def monitor_url(self) -> str:
        """Monitor log ``WORKDIR/monitor``."""
        return (self.workdir / "monitor").as_uri()

    @property
    def customers(self) -> Path:
        """The demo's generated customers."""
        return self.workdir / "customers.parquet"

    @property
    def reference(self) -> Path:
        """A held-out reference table for the monitor, when one was written."""
        return self.workdir / "reference.parquet"


def paths() -> Paths:
    """Return the work directory: ``$CHURNLIB_DASHBOARD_WORKDIR`` or the default."""
    workdir = Path(os.environ.get(WORKDIR_ENV) or DEFAULT_WORKDIR).expanduser()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return Paths(workdir)


# ---------------------------------------------------------------- errors
def storage_options() -> dict[str, Any] | None:
    """Return the storage options typed for this session (None: environment)."""
    value = st.session_state.get(OPTIONS)
    return dict(value) if value else None


@contextlib.contextmanager
def guard(action: str) -> Iterator[list[bool]]:
    """Show a failure of ``action`` as one clear message, never a traceback.

    Yields a one-element list set to ``True`` when the block completed, so a
    page can skip what depends on it. Secrets are scrubbed from the message.
    """
    ok = [False]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield ok
        ok[0] = True
        for w in caught:
            if (
                issubclass(w.category, UserWarning)
                and "churnlib" in type(w.message).__module__
            ):
                st.warning(scrub(str(w.message), storage_options()))
    except Exception as err:  # the page boundary: never a traceback
        st.error(_message(action, err), icon=":material/error:")


def _message(action: str, err: BaseException) -> str:
    from churnlib.exceptions import ChurnlibError

    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, ModuleNotFoundError) and err.name:
        text = (
            f"the optional package {err.name!r} is not installed. Install it "
            f'(pip install "churnlib[all]") and reload the page'
        )
    elif isinstance(err, FileNotFoundError):
        where = err.filename or text
        text = f"nothing found at {where}. Check the path or URL"
    elif not isinstance(err, ChurnlibError):
        text = f"{type(err).__name__}: {text}"
    return f"**Could not {action}.** {scrub(text, storage_options())}"


# ---------------------------------------------------------------- data
@dataclass
class DataState:
    """The table the pages work on (``st.session_state``)."""

    source: str
    raw: pd.DataFrame
    X: pd.DataFrame
    y: pd.Series
    schema: Any
    truth: pd.Series | None = None
    key: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    blob: bytes = field(default=b"", repr=False)
    name: str = ""


@dataclass
class ModelState:
    """The selected model (``st.session_state``)."""

    model: Any
    label: str
    threshold: float
    metrics: dict[str, float]
    run_id: str | None = None
    experiment_id: str | None = None
    holdout: tuple[pd.DataFrame, pd.Series, pd.Series | None] | None = None
    key: str = ""


def current_data() -> DataState | None:
    """Return the table of this session, if one was read."""
    value = st.session_state.get(DATA)
    return value if isinstance(value, DataState) else None


def current_model() -> ModelState | None:
    """Return the model of this session, if one was trained or selected."""
    value = st.session_state.get(MODEL)
    return value if isinstance(value, ModelState) else None


def set_model(state: ModelState) -> None:
    """Select a model; the evaluation report follows it."""
    st.session_state[MODEL] = state
    st.session_state.pop(REPORT, None)


@st.cache_data(show_spinner="Generating customers...", max_entries=8)
def generate(n_customers: int, churn_rate: float | None, seed: int) -> pd.DataFrame:
    """Generate customers with the truth (cached)."""
    from churnlib.data import generate_customers

    return generate_customers(
        n_customers, churn_rate=churn_rate, random_state=seed, return_truth=True
    )


def _memory_url(data: bytes, name: str) -> str:
    import fsspec

    digest = hashlib.sha256(data).hexdigest()[:16]
    url = f"{_MEMORY_ROOT}/{digest}/{Path(name).name}"
    fs = fsspec.filesystem("memory")
    if not fs.exists(url):
        fs.pipe_file(url, data)
    return url


def _excel(name: str) -> bool:
    return name.lower().endswith((".xlsx", ".xlsm", ".xls"))


@st.cache_data(show_spinner="Reading the table...", max_entries=16)
def read_raw(data: bytes, name: str) -> pd.DataFrame:
    """Parse the raw table from its bytes: CSV, Parquet or Excel (cached)."""
    buffer = io.BytesIO(data)
    if _excel(name):
        return pd.read_excel(buffer)
    if data[:4] == b"PAR1" or name.lower().endswith((".parquet", ".pq")):
        return pd.read_parquet(buffer)
    return pd.read_csv(buffer, sep=None, engine="python")


def file_bytes(url: str) -> tuple[bytes, str]:
    """Read the bytes and file name of a path or fsspec URL."""
    import fsspec

    with fsspec.open(url, "rb", **(storage_options() or {})) as f:
        data = f.read()
    return data, str(url).rstrip("/").rsplit("/", 1)[-1]


@st.cache_resource(show_spinner="Reading the churn table...", max_entries=16)
def _read_churn(
    url: str, target: str, positive: Any, id_columns: tuple[str, ...] | None
) -> tuple[pd.DataFrame, pd.Series, Any]:
    """Run ``read_churn_table`` on an immutable in-memory file (cached)."""
    from churnlib.data import read_churn_table

    X, y, schema = read_churn_table(  # its warnings: shown by guard() on a miss
        url,
        target=target,
        positive=positive,
        id_columns=None if id_columns is None else list(id_columns),
    )
    # The schema travels in DataState (and to ChurnTrainer.fit(schema=...)):
    # frame attrs are deep-copied by every pandas operation.
    X.attrs.clear()
    return X, y, schema


def read_table(
    data: bytes,
    name: str,
    *,
    source: str,
    target: str | None = None,
    positive: Any = None,
    id_columns: list[str] | None = None,
) -> DataState:
    """Read a churn table with ``read_churn_table`` and keep it as the session's.

    The raw bytes go to an in-memory fsspec file (nothing written to disk);
    Excel is handed over as Parquet. A column named ``churn_probability``
    (the generator's truth) is set aside as the truth.
    """
    from churnlib.exceptions import DataValidationError

    raw = read_raw(data, name)
    if target is None:
        target = guess_target(raw.columns)
    if target is None or target not in raw.columns:
        raise DataValidationError(
            f"The table {name!r} has no column that looks like a churn label "
            f"(columns: {', '.join(map(str, raw.columns[:12]))}). Pick the "
            "target column below, or add a churned/left/exited column.",
            columns=[str(target)] if target else [],
        )
    truth = None
    if TRUTH_COLUMN in raw.columns:
        truth = raw[TRUTH_COLUMN]
        clean = raw.drop(columns=[TRUTH_COLUMN])
        buffer = io.BytesIO()
        clean.to_parquet(buffer, index=False)
        url = _memory_url(buffer.getvalue(), Path(name).stem + ".parquet")
    elif _excel(name):
        buffer = io.BytesIO()
        raw.to_parquet(buffer, index=False)
        url = _memory_url(buffer.getvalue(), Path(name).stem + ".parquet")
    else:
        url = _memory_url(data, name)
    X, y, schema = _read_churn(
        url, target, positive, None if id_columns is None else tuple(id_columns)
    )
    if truth is not None:
        truth = pd.Series(truth.to_numpy(dtype=float), index=X.index, name=TRUTH_COLUMN)
    key = hashlib.sha256(
        repr((url, target, positive, id_columns)).encode()
    ).hexdigest()[:16]
    return DataState(
        source=source,
        raw=raw,
        X=X,
        y=y,
        schema=schema,
        truth=truth,
        key=key,
        options={"target": target, "positive": positive, "id_columns": id_columns},
        blob=data,
        name=name,
    )


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """Serialize a frame as Parquet bytes."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def ensure_data() -> DataState | None:
    """Return the session's table, else read the work directory's customers."""
    state = current_data()
    if state is not None:
        return state
    customers = paths().customers
    if not customers.exists():
        return None
    with guard(f"read {customers.name} of the work directory"):
        state = read_table(
            customers.read_bytes(),
            customers.name,
            source=f"work directory: {customers.name}",
        )
        st.session_state[DATA] = state
    return current_data()


# ---------------------------------------------------------------- models
@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def load_store_model(url: str, version: str) -> Any:
    """Load a store version that needs no typed options (cached by version id)."""
    from churnlib.deployment import ModelStore

    return ModelStore(url, create=False).load(version)


@st.cache_resource(show_spinner="Loading the MLflow model...", max_entries=8)
def load_run_model(run_id: str, tracking_uri: str) -> tuple[Any, dict[str, float]]:
    """Load the model an MLflow run logged, with its metrics (cached)."""
    from churnlib.dashboard._data import load_run_model as load

    return load(run_id, tracking_uri)


def model_threshold(model: Any, default: float = 0.5) -> float:
    """Return the decision threshold a model carries, else ``default``."""
    with contextlib.suppress(Exception):
        from churnlib._core.model_facts import model_threshold as facts_threshold

        value = facts_threshold(model)
        if value is not None:
            return float(value)
    step = model.steps[-1][1] if hasattr(model, "steps") else model
    for name in ("best_threshold_", "threshold"):
        value = getattr(step, name, None)
        if isinstance(value, int | float) and 0 < float(value) < 1:
            return float(value)
    return default


def store_model_state(url: str, ref: str) -> ModelState:
    """Load ``ref`` (a version or an alias) of a model store as a ModelState."""
    from churnlib.deployment import ModelStore

    options = storage_options()
    store = ModelStore(url, storage_options=options, create=False)
    version = store.get(ref)
    if options:  # typed secrets: never a cache key
        model = store.load(version.version)
    else:
        model = load_store_model(url, version.version)
    metrics = {k: float(v) for k, v in version.metrics.items()}
    threshold = float(metrics.get("threshold", model_threshold(model)))
    return ModelState(
        model=model,
        label=f"{redact_url(url)}@{ref} ({version.version})",
        threshold=threshold,
        metrics=metrics,
        run_id=version.run_id,
        key=f"store:{version.sha256}",
    )


def ensure_model() -> ModelState | None:
    """Return the session's model, else the work directory store's production."""
    state = current_model()
    if state is not None:
        return state
    store = paths().workdir / "models"
    if not (store / "aliases").exists():
        return None
    with guard("load 'production' from the work directory's model store"):
        set_model(store_model_state(paths().store_url, "production"))
    return current_model()


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` ready for ``st.dataframe``: time zones dropped (UTC)."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_object_dtype(dtype):
            out[column] = out[column].map(
                lambda v: str(v) if isinstance(v, pd.Timestamp) else v
            )
    return out


def sidebar() -> None:
    """Work directory and the current selection, on every page."""
    p = paths()
    with st.sidebar:
        st.caption(f"Work directory: `{p.workdir}`")
        data = current_data()
        model = current_model()
        if data is not None:
            st.caption(
                f"Table: {data.source} -- {len(data.X):,} rows, "
                f"{float(np.mean(data.y)):.1%} churned"
            )
        if model is not None:
            st.caption(f"Model: {model.label}")
