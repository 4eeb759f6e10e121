"""Log served predictions to a monitor store without reference data.

A :class:`~churnlib.monitoring.ChurnMonitor` needs reference data (the
held-out rows the model was validated on) for what it *computes*: drift
baselines, reference performance, calibration. Writing the log needs none of
that: the model's contract already says which columns are features, their
roles, the id column and how labels decode. :class:`LogOnlyMonitor` is a
``ChurnMonitor`` whose reference is the contract alone: its
``log_predictions``, ``log_outcomes`` and ``log_churn_events`` are the
monitor's own methods, so the store holds exactly what a monitor built with a
reference would have written, and any later
``ChurnMonitor(reference, model=model, store=url).report()`` reads it.
Reporting from the log-only monitor itself is refused with that fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError
from churnlib.monitoring import ChurnMonitor
from churnlib.monitoring._reference import Reference

__all__ = ["REFERENCE_NEEDED", "LogOnlyMonitor"]

#: why a report needs reference data, and how to get one
REFERENCE_NEEDED = (
    "This monitor only logs (it was built without reference data), so it "
    "cannot report: drift, performance and alerts are measured against the "
    "held-out rows the model was validated on. Build "
    "ChurnMonitor(reference, model=model, store=<the same store>) and call its "
    "report(); it reads everything logged here."
)


class _ContractReference(Reference):
    """The part of a monitor's reference that logging uses, from the contract.

    Feature names, their logged dtypes (numbers as float64, binary features as
    booleans, categories as strings: what :meth:`Reference.normalize` makes
    of a prepared reference), the id column and the threshold. Nothing is
    fitted, so there is no drift baseline and no reference performance.
    """

    def __init__(self, model: Any, contract: Any) -> None:  # no super(): no data
        self.model = model
        self.contract = contract
        self.id_column = contract.id_column
        self.threshold = float(contract.threshold)
        self.features = tuple(str(n) for n in contract.feature_names)
        kinds = {
            "numeric": np.dtype(np.float64),
            "binary": np.dtype(bool),
        }
        self.dtypes = pd.Series(
            {
                str(spec.name): kinds.get(spec.role, np.dtype(object))
                for spec in contract.features
            },
            dtype=object,
        )
        self.has_scores = True  # the service always logs the scores it served
        self.segments: tuple[str, ...] = ()
        self.training_overlap = float("nan")
        self.metrics: dict[str, float] = {}
        self.calibrator = None


class LogOnlyMonitor(ChurnMonitor):
    """A :class:`~churnlib.monitoring.ChurnMonitor` that logs, without a reference.

    Parameters
    ----------
    model : estimator
        The served model; it must carry a model contract (features, roles,
        id column, label rule).
    store : str or path-like
        Monitor store URL (any fsspec URL).
    storage_options : mapping or None, default=None
        fsspec options for ``store``.

    Raises
    ------
    DataValidationError
        If the model carries no contract: then only reference data can say
        which columns are features (pass it).
    """

    def __init__(
        self,
        model: Any,
        *,
        store: str | os.PathLike[str],
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        from churnlib._core.contract import get_contract
        from churnlib.monitoring._log import open_log
        from churnlib.monitoring._monitor import (
            _DEFAULT_HORIZON,
            _horizon,
            _horizon_text,
        )

        contract = get_contract(model)
        if contract is None:
            raise DataValidationError(
                "Logging to a monitor store without reference data needs a model "
                "that carries a model contract (which columns are features, the "
                "id column, the label rule); this model has none. Pass reference "
                "data (--reference TABLE: the held-out labelled rows the model "
                "was validated on), or publish a model trained with ChurnTrainer."
            )
        self.model = model
        self.store = store
        self.storage_options = storage_options
        self.rules = ()
        self.sinks = ()
        self._ref = _ContractReference(model, contract)
        ref = self._ref
        self.threshold = ref.threshold
        self.id_column = ref.id_column
        self.segments = ()
        self.features_ = ref.features
        self.detector_ = None  # type: ignore[assignment]  # nothing is fitted
        self.reference_metrics_ = {}
        self.calibrator_ = None
        self.contract_ = contract
        self.training_overlap_ = float("nan")
        self._log = open_log(store, storage_options)
        meta = self._log.read_meta() or {}
        stored = meta.get("horizon")
        if stored is None:  # as ChurnMonitor does for a new store
            self.horizon_ = _horizon(_DEFAULT_HORIZON)
            self._log.write_meta(
                {"format": 2, "horizon": _horizon_text(self.horizon_), **meta}
            )
        else:
            self.horizon_ = _horizon(stored)

    def __repr__(self) -> str:
        return (
            f"LogOnlyMonitor(features={len(self.features_)}, "
            f"horizon={str(self.horizon_)!r})"
        )

    def report(self, **kwargs: Any) -> Any:
        """Refused: a report needs reference data (the message says how)."""
        raise DataValidationError(REFERENCE_NEEDED)

    def notify(self, report: Any) -> Any:
        """Refused: see :meth:`report`."""
        raise DataValidationError(REFERENCE_NEEDED)
