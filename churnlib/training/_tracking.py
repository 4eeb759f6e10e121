"""Everything that talks to MLflow: the only module importing it for runs.

``mlflow`` is imported inside functions, so ``import churnlib.training`` stays
light. Nothing is set globally at import time; while a run is being written,
the tracking URI and the HTTP retry/timeout settings are switched inside a
scoped context (:func:`tracking_context`) and restored afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnlib._urls import redact_url
from churnlib.exceptions import TrackingError

__all__ = [
    "ARTIFACTS_FOLDER",
    "RunLogger",
    "data_fingerprint",
    "dataset_schema",
    "flatten_params",
    "resolve_tracking_uri",
    "skops_bytes",
    "tracking_context",
]

logger = logging.getLogger(__name__)

#: Folder, beside a local SQLite store, that holds the run artifacts.
ARTIFACTS_FOLDER = "mlartifacts"

#: Non-missing values of a text column MLflow looks at for its type.
_SCHEMA_ROWS = 2_000
#: HTTP settings for the first contact with a server: fail within seconds.
_PROBE_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}
#: HTTP settings for the rest of the run (uploads can take longer). A value the
#: user set in the environment always wins over these.
_RUN_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


def resolve_tracking_uri(tracking_uri: str | os.PathLike[str] | None) -> str:
    """Pick the tracking URI: the argument, ``MLFLOW_TRACKING_URI``, or a local store.

    A path (``str`` without a scheme or :class:`os.PathLike`) is read as a
    SQLite database file. The default is ``sqlite:///<cwd>/mlflow.db``.

    Examples
    --------
    >>> import os
    >>> from churnlib.training._tracking import resolve_tracking_uri
    >>> resolve_tracking_uri("http://127.0.0.1:5000")
    'http://127.0.0.1:5000'
    >>> resolve_tracking_uri(None) == (
    ...     os.environ.get("MLFLOW_TRACKING_URI")
    ...     or "sqlite:///" + os.path.join(os.getcwd(), "mlflow.db")
    ... )
    True
    """
    if tracking_uri is None:
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    if tracking_uri is None:
        return "sqlite:///" + str(Path.cwd() / "mlflow.db")
    if isinstance(tracking_uri, os.PathLike):
        return "sqlite:///" + str(Path(tracking_uri).resolve())
    uri = str(tracking_uri)
    if "://" not in uri and ":" not in uri.split("/", 1)[0]:
        return "sqlite:///" + str(Path(uri).resolve())
    return uri


def _local_artifact_location(uri: str) -> str | None:
    """``<folder of the SQLite file>/mlartifacts`` for a local SQLite URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    db_path = uri[len("sqlite:///") :].split("?", 1)[0]
    if not db_path or db_path == ":memory:":
        return (Path.cwd() / ARTIFACTS_FOLDER).as_uri()
    return (Path(db_path).resolve().parent / ARTIFACTS_FOLDER).as_uri()


@contextlib.contextmanager
def _scoped_env(values: Mapping[str, str], *, override: bool) -> Iterator[None]:
    """Set environment variables for the block; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if override or saved[key] is None:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def tracking_context(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the block, then restore.

    Restores both the process-wide URI and the ``MLFLOW_TRACKING_URI``
    variable (``mlflow.set_tracking_uri`` writes it), so the user's own
    configuration is left exactly as it was. Not thread-safe, like MLflow's
    fluent API itself.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_global = getattr(tracking_utils, "_tracking_uri", None)
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        with _scoped_env(_RUN_HTTP_ENV, override=False):
            mlflow.set_tracking_uri(uri)
            yield
    finally:
        mlflow.set_tracking_uri(saved_global)  # type: ignore[arg-type]  # None resets
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env


def _is_simple(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float | np.generic)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Keep simple-typed values of a (nested) params mapping, keys joined by ``.``.

    Estimators, arrays and callables are summarised by their class name, so a
    run still records *what* was used without dumping objects.

    Examples
    --------
    >>> from churnlib.training._tracking import flatten_params
    >>> flatten_params({"a": 1, "b": {"c": None, "d": [1, 2]}})
    {'a': 1, 'b.c': None, 'b.d': '[1, 2]'}
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{name}."))
        elif isinstance(value, np.generic):
            flat[name] = value.item()
        elif _is_simple(value):
            flat[name] = value
        elif isinstance(value, list | tuple) and all(_is_simple(v) for v in value):
            flat[name] = str(list(value))[:500]
        else:
            flat[name] = type(value).__name__
    return flat


def data_fingerprint(X: pd.DataFrame, y: Any) -> str:
    """Short sha256 of the training data: column names, dtypes, values and labels.

    Row hashes come from :func:`pandas.util.hash_pandas_object` (vectorised);
    row order matters.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.training._tracking import data_fingerprint
    >>> X = pd.DataFrame({"a": [1, 2, 3]})
    >>> data_fingerprint(X, [0, 1, 0]) == data_fingerprint(X.copy(), [0, 1, 0])
    True
    >>> data_fingerprint(X, [0, 1, 0]) == data_fingerprint(X, [0, 1, 1])
    False
    """
    digest = hashlib.sha256()
    header = "|".join(f"{c}:{t}" for c, t in zip(X.columns, X.dtypes, strict=True))
    digest.update(header.encode())
    rows = pd.util.hash_pandas_object(X, index=False).to_numpy()
    digest.update(rows.tobytes())
    labels = pd.util.hash_pandas_object(pd.Series(np.asarray(y)), index=False)
    digest.update(labels.to_numpy().tobytes())
    return digest.hexdigest()[:16]


def dataset_schema(frame: pd.DataFrame) -> Any:
    """MLflow's column schema of ``frame``, without a Python call per cell.

    Each column gets the type MLflow's own inference gives it
    (``mlflow.types.utils._infer_pandas_column``), run on the column's dtype
    for numbers, booleans and dates, on the categories in use for a
    categorical column, and on the first ``_SCHEMA_ROWS`` non-missing values
    of a text or object column. Whether a column is ``required`` (no missing
    value) is read from every row, vectorised. MLflow's own
    ``_infer_schema`` gives the same schema with one Python call per cell
    (two for the required flag): 0.3 s for 2 000 rows of the generated
    customers.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnlib.training._tracking import dataset_schema
    >>> frame = pd.DataFrame(
    ...     {"plan": pd.Categorical(["a", "b", None]), "calls": [1, 2, 3]}
    ... )
    >>> [(c.name, c.type.name, c.required) for c in dataset_schema(frame).inputs]
    [('plan', 'string', False), ('calls', 'long', True)]
    """
    from mlflow.types.schema import ColSpec, Schema
    from mlflow.types.utils import _infer_pandas_column

    specs: list[Any] = []
    for name in frame.columns:
        column = frame[name]
        missing = column.isna().to_numpy()
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = np.unique(column.cat.codes.to_numpy())
            used = column.cat.categories.take(codes[codes >= 0])
            sample = pd.Series(used.tolist() or [None], dtype=object)
        elif column.dtype.kind == "O":  # text or objects: the values decide
            present = column[~missing].head(_SCHEMA_ROWS)
            sample = present if len(present) else pd.Series([None], dtype=object)
        else:  # the dtype decides
            sample = column.head(1)
        specs.append(
            ColSpec(
                type=_infer_pandas_column(sample),
                name=name,
                required=not bool(missing.any()),
            )
        )
    return Schema(specs)


def git_commit() -> str | None:
    """Return the git commit of the working folder (None outside a repository)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


def _tracking_error(action: str, uri: str, err: BaseException) -> TrackingError:
    shown = redact_url(uri)
    detail = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    if shown in detail or uri in detail:
        detail = detail.replace(uri, shown)
    return TrackingError(
        f"Could not {action} at MLflow tracking URI {shown!r}: {detail}. Check "
        "that the server is running and reachable (or that the SQLite file's "
        "folder exists and is writable), or pass another tracking_uri.",
        tracking_uri=shown,
    )


@dataclass
class RunLogger:
    """A connection to one tracking store and one experiment.

    Parameters
    ----------
    uri : str
        Resolved tracking URI.
    experiment_name : str
        Experiment to log runs into; created when missing (with artifacts
        beside a local SQLite store).
    """

    uri: str
    experiment_name: str
    experiment_id: str | None = None

    def connect(self) -> RunLogger:
        """Reach the store and get (or create) the experiment, failing fast."""
        try:
            import mlflow
            from mlflow.tracking import MlflowClient
        except ImportError as err:
            raise ImportError(
                "ChurnTrainer records its runs with MLflow, which is not installed. "
                'Install it with pip install "churnlib[mlflow]".'
            ) from err

        try:
            with _scoped_env(_PROBE_HTTP_ENV, override=True):
                client = MlflowClient(tracking_uri=self.uri)
                experiment = client.get_experiment_by_name(self.experiment_name)
                if experiment is None:
                    experiment_id = client.create_experiment(
                        self.experiment_name,
                        artifact_location=_local_artifact_location(self.uri),
                    )
                else:
                    if experiment.lifecycle_stage != "active":
                        raise TrackingError(
                            f"MLflow experiment {self.experiment_name!r} at "
                            f"{redact_url(self.uri)!r} is deleted. Restore it "
                            "(MlflowClient().restore_experiment) or pass another "
                            "experiment_name.",
                            tracking_uri=redact_url(self.uri),
                        )
                    experiment_id = experiment.experiment_id
        except TrackingError:
            raise
        except (mlflow.exceptions.MlflowException, OSError, Exception) as err:
            raise _tracking_error("reach the tracking store", self.uri, err) from err
        self.experiment_id = experiment_id
        return self

    @contextlib.contextmanager
    def run(
        self,
        *,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        nested: bool = False,
    ) -> Iterator[str]:
        """Start a run (nested under the active one if any) and yield its id.

        The run ends FINISHED, or FAILED when the block raises anything
        (KeyboardInterrupt included), so it is never left RUNNING.
        """
        import mlflow

        with tracking_context(self.uri):
            active = mlflow.active_run()
            try:
                run = mlflow.start_run(
                    experiment_id=self.experiment_id,
                    run_name=run_name,
                    nested=nested or active is not None,
                    tags={k: str(v) for k, v in (tags or {}).items()},
                )
            except Exception as err:
                raise _tracking_error("start a run", self.uri, err) from err
            with run:
                yield run.info.run_id

    @contextlib.contextmanager
    def resume(self, run_id: str) -> Iterator[str]:
        """Re-open a finished run to add to it (used by ``tune``)."""
        import mlflow

        with tracking_context(self.uri):
            try:
                run = mlflow.start_run(run_id=run_id, nested=True)
            except Exception as err:
                raise _tracking_error("re-open a run", self.uri, err) from err
            with run:
                yield run_id

    # --- logging inside an active run --------------------------------------

    def _guard(self, action: str) -> contextlib.AbstractContextManager[None]:
        uri = self.uri

        @contextlib.contextmanager
        def guard() -> Iterator[None]:
            try:
                yield
            except TrackingError:
                raise
            except Exception as err:
                raise _tracking_error(action, uri, err) from err

        return guard()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log simple params (values stringified, at most 6000 characters)."""
        import mlflow

        with self._guard("log params"):
            mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Log metrics (NaN is stored as NaN, e.g. ROC AUC on one class)."""
        import mlflow

        with self._guard("log metrics"):
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the active run."""
        import mlflow

        with self._guard("set tags"):
            mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_dataset(
        self, X: pd.DataFrame, y: Any, *, name: str, context: str, target: str
    ) -> str:
        """Log ``X`` and its labels as an MLflow dataset input; return the digest."""
        return self.log_datasets([(X, y, name, context)], target=target)[0]

    def log_datasets(
        self,
        datasets: Sequence[tuple[pd.DataFrame, Any, str, str]],
        *,
        target: str,
    ) -> list[str]:
        """Log tables and their labels as MLflow dataset inputs, in one call.

        Parameters
        ----------
        datasets : sequence of (X, y, name, context)
            Each table, its labels, the dataset's name and its context
            (``"training"``, ``"validation"``).
        target : str
            Column name of the labels in the logged table.

        Returns
        -------
        list of str
            The digests, in order. A digest is :func:`data_fingerprint` of
            ``(X, y)``: it covers every row (MLflow's own digest looks at the
            first 10 000 rows only, one Python call per cell) and matches the
            ``churnlib.data_fingerprint`` tag.
        """
        import mlflow

        with self._guard("log the dataset"), _quiet_schema_hints():
            built = []
            for X, y, name, _ in datasets:
                frame = X.copy()
                frame[target] = np.asarray(y)
                dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
                    frame, targets=target, name=name, digest=data_fingerprint(X, y)
                )
                # ``schema`` is a cached_property: pre-filling it skips MLflow's
                # scan of every cell (see dataset_schema)
                try:
                    dataset.__dict__["schema"] = dataset_schema(frame)
                except Exception:  # MLflow then records no schema, as it would itself
                    dataset.__dict__["schema"] = None
                built.append(dataset)
            # one store call for all of them
            mlflow.log_inputs(
                datasets=built,
                contexts=[context for *_, context in datasets],
                tags_list=[None] * len(built),
            )
            return [str(dataset.digest) for dataset in built]

    def log_sklearn_model(
        self,
        model: Any,
        X_example: pd.DataFrame,
        *,
        name: str = "model",
        registered_model_name: str | None = None,
        predict_fn: str = "predict_proba",
    ) -> tuple[str, int | None, str]:
        """Log ``model`` with a signature, an input example and explicit requirements.

        The model is serialised with skops **once** (:func:`skops_bytes`); the
        trusted types are read from those bytes, stored in the MLmodel file
        (so ``mlflow.sklearn.load_model`` loads it back) and the same bytes
        are the artifact. MLflow's own ``log_model`` would serialise it again,
        load it back to check the trusted types, and load it a third time
        to validate the input example; the contract already checked the
        input columns, so both checks are skipped.

        Parameters
        ----------
        model : fitted estimator
        X_example : pandas.DataFrame
            Rows in the model's input layout; the first five are the example.
        name : str, default="model"
        registered_model_name : str or None, default=None
        predict_fn : str, default="predict_proba"
            What the pyfunc flavour's ``predict`` calls (``"predict"`` for an
            uplift model, whose ``predict`` is the uplift).

        Returns
        -------
        model_uri : str
        registered_version : int or None
        model_id : str
            The logged model's id (metrics logged with it are the model's too).
        """
        import mlflow
        import skops.io as sio
        from mlflow.models import infer_signature

        # the same pinned requirements a ModelStore version carries
        from churnlib.deployment._mlflow_format import requirements

        with self._guard("log the model"):
            blob = skops_bytes(model)
            trusted = sorted(sio.get_untrusted_types(data=blob))
            example = _example_frame(X_example)
            # log_model infers the example's schema again: quiet it there too
            with _quiet_schema_hints():
                signature = infer_signature(
                    example, getattr(model, predict_fn)(example)
                )
                info = mlflow.models.Model.log(
                    artifact_path=None,
                    name=name,
                    flavor=_PrebuiltSkopsFlavor(blob),
                    flavor_name="mlflow.sklearn",
                    sk_model=model,
                    signature=signature,
                    input_example=example,
                    pip_requirements=requirements(trusted),
                    serialization_format="skops",
                    skops_trusted_types=trusted,
                    pyfunc_predict_fn=predict_fn,
                    registered_model_name=registered_model_name,
                    validate_serving_input=False,
                )
            version = info.registered_model_version
            return (
                info.model_uri,
                None if version is None else int(version),
                str(info.model_id),
            )

    def set_run_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a run by id (safe from any thread: no fluent API)."""
        from mlflow.tracking import MlflowClient

        with self._guard("set tags"):
            client = MlflowClient(tracking_uri=self.uri)
            for key, value in tags.items():
                client.set_tag(run_id, key, str(value))

    def log_contract(self, contract: Any) -> None:
        """Log the model contract as the ``contract.json`` artifact.

        Its exclusions are run tags and params from the start of the run
        (:func:`churnlib.training._contract.contract_tags`).
        """
        import mlflow

        with self._guard("log the contract"):
            mlflow.log_dict(contract.to_dict(), "contract.json")

    def log_results(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        tags: Mapping[str, Any],
        *,
        model_id: str | None = None,
    ) -> None:
        """Log the final metrics and tags in one batch (one store call).

        With ``model_id`` (the logged model's, see :meth:`log_sklearn_model`)
        the metrics are the model's as well as the run's, as MLflow links them
        when the metrics are logged before the model; logging them after it,
        once, saves MLflow reading every metric's history back to link it.
        """
        from mlflow.entities import Metric, RunTag
        from mlflow.tracking import MlflowClient

        now = int(time.time() * 1000)
        with self._guard("log metrics"):
            MlflowClient(tracking_uri=self.uri).log_batch(
                run_id,
                metrics=[
                    Metric(k, float(v), now, 0, model_id=model_id)
                    for k, v in metrics.items()
                ],
                tags=[RunTag(k, str(v)) for k, v in tags.items()],
            )

    def log_selection(
        self, parent_id: str, selection: Any, *, tags: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Record the default model's selection: one nested run per candidate.

        Candidates are the model families tried and the selected blend. Each
        child run (``mlflow.parentRunId`` = ``parent_id``) holds the
        candidate's settings as params and its cross-validated ROC AUC as
        metrics: three store calls a child (created with its tags, one batch
        of params and metrics, finished); ``selection.json`` goes to the
        parent. Returns the child run ids.
        """
        import mlflow
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        with self._guard("log the model selection"):
            mlflow.log_dict(selection.to_dict(), "selection.json")
            client = MlflowClient(tracking_uri=self.uri)
            now = int(time.time() * 1000)
            ids = []
            # a child run per model family tried, plus the selected blend; the
            # other blends (free scores of the same out-of-fold predictions)
            # are listed in selection.json
            shown = [
                c
                for c in selection.candidates
                if "+" not in c.name or c.status == "selected"
            ]
            for c in shown:  # at most four candidates
                run_tags = {
                    **{str(k): str(v) for k, v in (tags or {}).items()},
                    "mlflow.parentRunId": parent_id,
                    "churnlib.selection": c.status,
                    "churnlib.selected": str(c.status == "selected"),
                }
                child = client.create_run(
                    self.experiment_id or "0", run_name=c.name, tags=run_tags
                )
                metrics = [
                    Metric(key, float(value), now, 0)
                    for key, value in (
                        ("cv_roc_auc", c.roc_auc),
                        ("cv_roc_auc_std", c.roc_auc_std),
                        ("seconds", c.seconds),
                    )
                ]
                params = [Param(str(k), str(v)[:6000]) for k, v in c.params.items()] + [
                    Param("candidate", c.name)
                ]
                client.log_batch(child.info.run_id, metrics=metrics, params=params)
                client.set_terminated(child.info.run_id)
                ids.append(child.info.run_id)
            return ids

    def set_alias(self, registered_model_name: str, alias: str, version: int) -> None:
        """Point ``alias`` of a registered model at ``version``."""
        from mlflow.tracking import MlflowClient

        with self._guard(f"set alias {alias!r} on model {registered_model_name!r}"):
            MlflowClient(tracking_uri=self.uri).set_registered_model_alias(
                registered_model_name, alias, str(version)
            )


def skops_bytes(model: Any) -> bytes:
    """Serialise ``model`` in the skops format, once, with the fast JSON encoder.

    The bytes are exactly what :func:`skops.io.dumps` writes, except that its
    ``schema.json`` is not indented: Python's JSON encoder falls back to its
    pure-Python implementation when indenting, which for a forest made the
    serialisation several times slower. Any skops release without the
    internals used here gets plain :func:`skops.io.dumps`.

    Examples
    --------
    >>> import skops.io as sio
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.training._tracking import skops_bytes
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> again = sio.loads(skops_bytes(model), trusted=[])
    >>> again.coef_.tolist() == model.coef_.tolist()
    True
    """
    import skops
    import skops.io as sio

    try:
        from skops.io._utils import SaveContext, get_state
    except ImportError:  # pragma: no cover - a future skops layout
        plain: bytes = sio.dumps(model)
        return plain
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        context = SaveContext(zip_file=archive)
        state = get_state(model, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        archive.writestr("schema.json", json.dumps(state))
    return buffer.getvalue()


#: Serialises the swap of ``mlflow.sklearn._save_model`` below.
_SAVE_LOCK = threading.Lock()
#: MLflow's check of a model's requirements against the installed packages.
_REQUIREMENT_CHECK = "warn_dependency_requirement_mismatches"


class _PrebuiltSkopsFlavor:
    """``mlflow.sklearn`` as a flavour for ``Model.log``, with the bytes made.

    ``save_model`` is MLflow's own (MLmodel file, both flavours, signature,
    input example, requirements), except that the model file is written from
    bytes already serialised instead of serialising and loading back again,
    and that the requirements (the running versions) are not checked against
    the installed packages.
    """

    __name__ = "mlflow.sklearn"

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def save_model(self, path: str, **kwargs: Any) -> None:
        import mlflow.sklearn as flavor
        from mlflow.utils import environment

        kwargs.pop("validate_serving_input", None)  # read by Model.log
        blob = self.blob

        def write(sk_model: Any, output_path: str, **_: Any) -> None:
            Path(output_path).write_bytes(blob)

        def no_check(requirements: Any) -> None:
            return None

        with _SAVE_LOCK:
            original = getattr(flavor, "_save_model", None)
            if original is not None:
                flavor._save_model = write  # type: ignore[assignment]
            # MLflow checks the requirements against the installed packages,
            # which maps every installed distribution to its modules first
            # (4.5 s of CPU, the first time in a process). churnlib's
            # requirements are the running versions, so there is nothing to find.
            check = getattr(environment, _REQUIREMENT_CHECK, None)
            if check is not None:
                setattr(environment, _REQUIREMENT_CHECK, no_check)
            try:
                flavor.save_model(path=path, **kwargs)
            finally:
                if original is not None:
                    flavor._save_model = original
                if check is not None:
                    setattr(environment, _REQUIREMENT_CHECK, check)


@contextlib.contextmanager
def _quiet_schema_hints() -> Iterator[None]:
    """Silence MLflow's hint that integer columns cannot hold NaN.

    The hint is known and the schema is kept exact: MLflow refuses to convert
    int64 to float64, so declaring integers as doubles would break scoring.
    Under ``-W error`` the hint would otherwise make MLflow drop the schema.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Hint: Inferred schema contains integer"
        )
        yield


def _example_frame(X: pd.DataFrame) -> pd.DataFrame:
    """First rows of ``X`` with plain ``object`` column labels.

    MLflow compares the column index with ``range(...)`` when it saves the
    example; on pandas' Arrow-backed ``str`` index that comparison is
    deprecated, so the labels are handed over as Python strings.
    """
    example = X.head(5).copy()
    example.columns = pd.Index([str(c) for c in example.columns], dtype=object)
    return example
