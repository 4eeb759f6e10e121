"""Prometheus metrics of the service, in a registry of its own.

Labels are fixed endpoint names and status codes, never anything a client
sends (no paths, ids or tokens), so the series stay few and hold no secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ServeMetrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServeMetrics:
    """Counters, the latency histogram and live gauges of one app.

    Parameters
    ----------
    state : callable
        Returns a dict with ``version``, ``backlog``, ``written`` (kind ->
        rows), ``dropped`` (kind -> rows), ``failures`` and ``switches`` at
        scrape time.
    """

    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "churnlib_serve_requests",
            "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "churnlib_serve_request_duration_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "churnlib_serve_rows_scored",
            "Rows scored and answered.",
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "churnlib_serve_auth_failures",
            "Requests refused by access control (missing or wrong key).",
            ["reason"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(state))

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _StateCollector:
    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        self._state = state

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            InfoMetricFamily,
        )

        s = self._state()
        info = InfoMetricFamily(
            "churnlib_serve_model", "The model version answering requests."
        )
        info.add_metric([], {"version": str(s.get("version") or "")})
        yield info
        yield GaugeMetricFamily(
            "churnlib_serve_log_backlog_rows",
            "Rows queued for the monitor store and not yet written.",
            value=float(s.get("backlog", 0)),
        )
        yield GaugeMetricFamily(
            "churnlib_serve_log_last_write_seconds",
            "Duration of the last write to the monitor store.",
            value=float(s.get("last_write_seconds", 0.0)),
        )
        written = CounterMetricFamily(
            "churnlib_serve_rows_logged",
            "Rows written to the monitor store, by kind.",
            labels=["kind"],
        )
        for kind, n in sorted(s.get("written", {}).items()):
            written.add_metric([kind], float(n))
        yield written
        dropped = CounterMetricFamily(
            "churnlib_serve_rows_dropped",
            "Rows the monitor refused (a bug: requests are validated first).",
            labels=["kind"],
        )
        for kind, n in sorted(s.get("dropped", {}).items()):
            dropped.add_metric([kind], float(n))
        yield dropped
        yield CounterMetricFamily(
            "churnlib_serve_log_write_failures",
            "Failed writes to the monitor store (each retried).",
            value=float(s.get("failures", 0)),
        )
        yield CounterMetricFamily(
            "churnlib_serve_batches",
            "Calls that scored several waiting requests together.",
            value=float(s.get("batches", 0)),
        )
        yield CounterMetricFamily(
            "churnlib_serve_batched_requests",
            "Requests scored as part of such a batch.",
            value=float(s.get("batched_requests", 0)),
        )
        yield CounterMetricFamily(
            "churnlib_serve_batch_waits",
            "Batches that waited (at most --max-wait-ms) for a request in flight.",
            value=float(s.get("batch_waits", 0)),
        )
        yield CounterMetricFamily(
            "churnlib_serve_model_switches",
            "Times the followed alias moved and another version was swapped in.",
            value=float(s.get("switches", 0)),
        )
