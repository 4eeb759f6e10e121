"""The model being served, and the follower that swaps it when an alias moves.

A :class:`ServedModel` is immutable: the fitted model, its contract, its
threshold and the version id travel together. The service holds exactly one
and replaces it with a single assignment, so a request that picked it up at its
start uses one model from its first row to its last ("no request ever sees
half a model").
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.direct_route import column_getter
from churnlib._urls import redact_url
from churnlib.exceptions import DataValidationError

__all__ = ["ModelFollower", "ServedModel", "load_served"]

logger = logging.getLogger("churnlib.serve")
# categorical levels are capped at this many in the contract: a spec holding
# that many may be incomplete, so unknown values are not refused then
_CATEGORY_CAP = 1000


class _ColumnsContract:
    """Fallback for a model without a contract: its ``feature_names_in_``.

    Used only when :func:`churnlib._core.contract.get_contract` finds nothing
    (a model published before contracts existed): columns are checked and
    ordered, values are passed as sent.
    """

    threshold = 0.5
    id_columns: tuple[str, ...] = ()
    features: tuple[Any, ...] = ()

    def __init__(self, model: Any) -> None:
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            raise DataValidationError(
                "The model carries no contract and no feature_names_in_, so the "
                "service cannot tell which columns it needs. Fit it on a pandas "
                "DataFrame (or with ChurnTrainer) and publish it again."
            )
        self.feature_names = tuple(str(n) for n in names)

    @property
    def id_column(self) -> str | None:
        return None

    def prepare(self, raw: pd.DataFrame, *, source: str = "the table") -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in raw.columns]
        if missing:
            raise DataValidationError(
                f"{source} lacks the model's feature columns {missing}; send every "
                f"one of {list(self.feature_names)}.",
                columns=missing,
            )
        return raw[list(self.feature_names)]

    def ids(self, raw: pd.DataFrame) -> pd.Series | None:
        return None


def _contract_of(model: Any) -> Any:
    from churnlib._core.contract import get_contract

    contract = get_contract(model)
    return _ColumnsContract(model) if contract is None else contract


def _churn_proba(model: Any) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
    """``X -> P(churn)`` (positive column decided once per model), and its route."""
    from sklearn import config_context

    from churnlib._core.direct_route import CheckedProba
    from churnlib._core.model_facts import positive_index

    col = positive_index(model)
    # the model's own predict_proba until a direct route proved bit-equal
    predict_proba = CheckedProba(model)

    def proba(X: pd.DataFrame) -> np.ndarray:
        # features() refused infinite values (and NaN where not accepted)
        with config_context(assume_finite=True):
            out = np.asarray(predict_proba(X), dtype=np.float64)
        return np.ascontiguousarray(out[:, col])

    return proba, predict_proba


def _allows_missing(model: Any) -> bool:
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(model).input_tags.allow_nan)
    except Exception:  # pragma: no cover - old-style estimator
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedModel:
    """One loaded model version: everything a request needs, immutable.

    Attributes
    ----------
    version : str
        The store's version id.
    model : estimator
        The fitted model.
    contract : ModelContract
        What the model expects (``get_contract(model)``).
    threshold : float
        Decision threshold on the churn probability.
    allow_missing : bool
        Whether the model accepts missing feature values.
    monitor : ChurnMonitor or None
        The monitor its predictions are logged with.
    route : CheckedProba or None
        How ``proba`` reaches the model: its ``state`` is ``"unchecked"``,
        ``"direct"`` (the shortcut proved bit-equal) or ``"own"``.
    """

    version: str
    model: Any
    contract: Any
    threshold: float
    allow_missing: bool
    proba: Callable[[pd.DataFrame], np.ndarray]
    monitor: Any = None
    route: Any = None

    categorical: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = ()

    def features(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Return the feature frame for ``raw``; refuse what the model cannot take.

        Raises
        ------
        DataValidationError
            Naming the columns: missing columns, unparseable values, unknown
            categories, infinite numbers, or missing values the model does not
            accept.
        """
        X = self.contract.prepare(raw, source="the request")
        problems: list[str] = []
        columns: list[str] = []
        if isinstance(self.contract, _ColumnsContract):  # no contract: check here
            numeric = X.select_dtypes(include="number")
            inf = np.isinf(numeric.to_numpy(dtype=np.float64, na_value=np.nan))
            if inf.any():
                bad = [str(c) for c in numeric.columns[inf.any(axis=0)]]
                columns += bad
                problems.append(f"infinite values in {bad} (send finite numbers)")
        column = column_getter(X)
        if not self.allow_missing:
            bad = [str(c) for c in X.columns if _has_missing(column(c))]
            if bad:
                columns += bad
                problems.append(
                    f"missing values in {bad} (this model does not accept missing "
                    "values: send a value for every feature)"
                )
        for name, known, known_set in self.categorical:
            values = column(name)
            if isinstance(values, pd.Categorical):
                # prepare() puts the training levels first, unseen ones after
                unknown = values.codes >= len(known)
            else:
                col = pd.Series(values, copy=False)
                unknown = col.notna().to_numpy() & ~col.isin(known_set).to_numpy()
            if unknown.any():
                col = pd.Series(values, copy=False)
                seen = pd.unique(col[unknown].astype(str))[:5].tolist()
                columns.append(name)
                problems.append(
                    f"unknown categories {seen} in {name!r} (the model knows "
                    f"{list(known)[:20]})"
                )
        if problems:
            raise DataValidationError(
                "The request does not fit the model: " + "; ".join(problems) + ".",
                columns=columns,
            )
        return X


def _has_missing(values: Any) -> bool:
    """Whether a column's values (an array, not a Series) hold a missing one."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "biu":
            return False  # plain booleans and integers cannot be missing
        if values.dtype.kind == "f":
            return bool(np.isnan(values).any())
    if isinstance(values, pd.Categorical):
        return bool((values.codes < 0).any())
    return bool(pd.isna(values).any())


def _categorical_plan(
    contract: Any,
) -> tuple[tuple[str, tuple[str, ...], frozenset[str]], ...]:
    """Categorical features whose training levels are complete (not capped)."""
    plan = []
    for spec in getattr(contract, "features", ()):
        cats = tuple(str(c) for c in (getattr(spec, "categories", ()) or ()))
        if (
            getattr(spec, "role", None) == "categorical"
            and 0 < len(cats) < _CATEGORY_CAP
        ):
            plan.append((str(spec.name), cats, frozenset(cats)))
    return tuple(plan)


def load_served(
    store: Any,
    version: str,
    *,
    make_monitor: Callable[[Any, Any, Callable[[pd.DataFrame], np.ndarray]], Any]
    | None = None,
) -> ServedModel:
    """Load ``version`` from ``store`` and wrap it (with its monitor, if any)."""
    model = store.load(version)
    contract = _contract_of(model)
    threshold = float(getattr(contract, "threshold", 0.5))
    if not math.isfinite(threshold):  # pragma: no cover - contracts validate it
        threshold = 0.5
    proba, route = _churn_proba(model)
    monitor = None if make_monitor is None else make_monitor(model, contract, proba)
    return ServedModel(
        version=version,
        model=model,
        contract=contract,
        threshold=threshold,
        allow_missing=_allows_missing(model),
        proba=proba,
        route=route,
        monitor=monitor,
        categorical=_categorical_plan(contract),
    )


class ModelFollower:
    """Hold the served model and follow a store reference (alias or ``latest``).

    Every ``interval`` seconds a daemon thread resolves the reference with
    :meth:`ModelStore.get`; when it points to another version, that version
    is loaded (and its monitor built) off the request path, then swapped in
    with one assignment. A failed check or load keeps the current model and
    is logged (without credentials); requests never wait for it.

    Parameters
    ----------
    store : ModelStore
    ref : str
        Alias, version id or ``"latest"``.
    interval : float
        Seconds between checks; 0 disables following.
    make_monitor : callable or None
        ``(model, contract, proba) -> ChurnMonitor`` for each loaded version.
    on_switch : callable or None
        Called with ``(old_version, new_version)`` after a swap.
    """

    def __init__(
        self,
        store: Any,
        ref: str,
        *,
        interval: float = 5.0,
        make_monitor: Callable[..., Any] | None = None,
        on_switch: Callable[[str | None, str], None] | None = None,
    ) -> None:
        self.store = store
        self.ref = ref
        self.interval = float(interval)
        self._make_monitor = make_monitor
        self._on_switch = on_switch
        self.current: ServedModel | None = None
        self.last_error: str | None = None
        #: applied to every error text before it is kept or logged
        self.redact: Callable[[str], str] = lambda text: text
        self.last_check: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _resolve(self) -> str:
        return str(self.store.get(self.ref).version)

    def check(self) -> bool:
        """Resolve the reference once; load and swap if it moved. True on a swap."""
        with self._lock:
            version = self._resolve()
            self.last_check = time.monotonic()
            current = self.current
            if current is not None and current.version == version:
                return False
            served = load_served(self.store, version, make_monitor=self._make_monitor)
            old = None if current is None else current.version
            self.current = served  # the one atomic swap
        logger.info(
            "serving version %s of %s (was %s)",
            version,
            redact_url(str(self.store.url)),
            old,
        )
        if self._on_switch is not None:
            self._on_switch(old, version)
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
                self.last_error = None
            except Exception as err:  # keep serving the current model
                self.last_error = self.redact(f"{type(err).__name__}: {err}")
                logger.warning(
                    "could not follow %s@%s (still serving %s): %s",
                    redact_url(str(self.store.url)),
                    self.ref,
                    None if self.current is None else self.current.version,
                    self.last_error,
                )

    def start(self) -> None:
        """Start following in a daemon thread (no-op when ``interval`` is 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, name="churnlib-serve-follower", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following (waits for a load in progress up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
