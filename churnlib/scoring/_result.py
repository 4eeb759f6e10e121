"""What a scoring run reports: per-partition costs and the run's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

__all__ = ["PartitionStats", "ScoringResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionStats:
    """What one partition (work unit) cost.

    Attributes
    ----------
    partition : int
        Partition number, in input order; also the output part number.
    input_url : str
        The input file the partition came from.
    rows : int
        Rows scored.
    read_seconds : float
        Reading and decoding the input batches.
    encode_seconds : float
        Turning the raw batches into the model's input: the model contract's
        ``prepare`` (blank numbers, yes/no words, dtypes) and, for a
        scikit-learn ``Pipeline``, every step before the final estimator.
    predict_seconds : float
        The final estimator's ``predict_proba``.
    monitor_seconds : float
        Summarising the rows for the monitor (with ``monitor=``).
    write_seconds : float
        Building and writing the part file.
    worker : str
        The thread (local engine) or Dask worker address that ran it.
    blank_ids : int
        Rows scored whose id was missing or blank (they cannot be joined back).
    """

    partition: int
    input_url: str
    rows: int
    read_seconds: float
    predict_seconds: float
    monitor_seconds: float
    write_seconds: float
    worker: str
    encode_seconds: float = 0.0
    blank_ids: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringResult:
    """Outcome of :func:`score_table`.

    Attributes
    ----------
    output_url : str
        The completed output dataset (a directory with a ``_SUCCESS`` marker).
    rows : int
        Rows scored and written.
    n_partitions : int
        Partitions (work units, one output part file each).
    files : tuple of str
        The committed part files, in partition order.
    model_version : str
        The model-store version, or ``"sha-<hash>"`` for a fitted model.
    kind : {"churn", "uplift"}
        What the model scores: churn risk (``predict_proba``), or the effect
        of the retention offer (an uplift model: ``predict_uplift``).
    columns : tuple of str
        The columns of every output row, in order: the keys, the scores
        (``churn_probability``, ``churn_predicted``; for an uplift model
        ``churn_reduction_if_offered``, with ``churn_probability`` -- without
        the offer --, ``churn_probability_if_offered`` and ``churn_predicted``
        when it models both arms), ``model_version`` and ``scored_at``.
    threshold : float
        The decision threshold used for ``churn_predicted`` (not used when no
        ``churn_predicted`` is written).
    threshold_source : {"argument", "model", "default"}
        Where the threshold came from ("model": the model contract, a
        threshold wrapper, or the store version's metadata).
    id_columns : tuple of str
        The key columns written first in every output row: ``id_column=``, else
        the id column the model contract recorded in training.
    contract : {"model", "inferred"}
        Where the input rules came from: the contract the model carries, or
        (for a model trained outside :class:`~churnlib.ChurnTrainer`, or
        published before contracts existed) one inferred from the model's
        feature names and the input's first rows.
    engine : {"local", "dask"}
        The engine that ran.
    scored_at : datetime
        The run's timestamp (UTC), also written in every row.
    seconds : float
        Wall time of the whole call, including logging to the monitor.
    plan_seconds, run_seconds, commit_seconds : float
        Its phases: loading the model and reading every file's schema;
        scoring every partition (on the engine); publishing the parts and
        ``_SUCCESS``.
    partitions : tuple of PartitionStats
        Per-partition costs, in partition order.
    drift : DriftSummary or None
        With ``monitor=``, the drift histograms of the monitor's features and
        the score, computed per partition and merged.
    drift_report : DataFrame or None
        With ``monitor=``, ``monitor.detector_.check(drift)``: one row per
        feature with its drift statistics against the monitor's reference.
    """

    output_url: str
    rows: int
    n_partitions: int
    files: tuple[str, ...]
    model_version: str
    threshold: float
    threshold_source: str
    engine: str
    scored_at: datetime
    seconds: float
    plan_seconds: float = field(default=0.0, repr=False)
    run_seconds: float = field(default=0.0, repr=False)
    commit_seconds: float = field(default=0.0, repr=False)
    partitions: tuple[PartitionStats, ...] = field(default=(), repr=False)
    drift: Any = field(default=None, repr=False)
    drift_report: pd.DataFrame | None = field(default=None, repr=False)
    id_columns: tuple[str, ...] = ()
    contract: str = "model"
    kind: str = "churn"
    columns: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Per-partition costs as a DataFrame (one row per partition)."""
        cols = list(PartitionStats.__slots__)
        return pd.DataFrame(
            [[getattr(p, c) for c in cols] for p in self.partitions], columns=cols
        )
