"""The churnlib web dashboard: the whole loop in a browser (Streamlit + Plotly).

Start it with ``churnlib dashboard [--workdir DIR] [--host 127.0.0.1]
[--port N]`` (install the ``dashboard`` extra). Five pages, each a thin layer
over the public API:

- **Data** -- generate customers or read a CSV / Excel / Parquet table; the
  inferred schema, editable; distributions and churn rate by feature;
- **Train** -- :class:`~churnlib.training.ChurnTrainer` with an MLflow run
  in the work directory; the runs of the tracking store;
- **Evaluate** -- :func:`~churnlib.evaluation.evaluate` as interactive charts
  and the campaign view (profit curve and recommended cutoff);
- **Monitor** -- :class:`~churnlib.monitoring.ChurnMonitor` reports of a
  monitor store, optionally a simulated production scenario;
- **Deploy** -- :class:`~churnlib.deployment.ModelStore`: versions, publish,
  promote, roll back.

Importing this package imports nothing heavy (no Streamlit, no Plotly).
"""

from churnlib.dashboard._cli import APP_FILE, WORKDIR_ENV, add_parser, run_dashboard

__all__ = ["APP_FILE", "WORKDIR_ENV", "add_parser", "run_dashboard"]
