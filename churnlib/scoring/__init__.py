"""Batch scoring of whole tables, streamed locally or distributed on Dask.

:func:`score_table` reads a Parquet or CSV dataset at any fsspec URL in
bounded-memory batches, scores it with a fitted churn model or a model-store
reference -- reading the raw table the way training read it, by the model's
contract -- and writes the scores as a dataset whose ``_SUCCESS`` manifest
marks it complete. :func:`read_scores` reads a completed output back.
"""

from churnlib.scoring._output import read_scores
from churnlib.scoring._result import PartitionStats, ScoringResult
from churnlib.scoring._score import score_table

__all__ = ["PartitionStats", "ScoringResult", "read_scores", "score_table"]
