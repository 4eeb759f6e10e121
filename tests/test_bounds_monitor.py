"""Issue 18 item 3: the monitor store against dead or silent endpoints.

``ChurnMonitor(..., timeout=)`` is the model store's setting (same name, same
default, same ``CHURNLIB_STORAGE_TIMEOUT``). Every call that touches the store
-- opening it, ``log_predictions``, ``log_outcomes``, ``report`` -- fails within
the bound plus a small slack with a :class:`MonitorStoreError` naming the
redacted store URL and the fix, even when the endpoint hangs half-way through
a report (a hang is not a damaged file).
"""

from __future__ import annotations

import pytest

from churnlib.data import generate_customers, simulate_production
from churnlib.monitoring import ChurnMonitor, MonitorStoreError
from tests.fixtures.cloud import fresh_bucket_name, make_bucket
from tests.fixtures.silent import (
    GoQuietProxy,
    behind_proxy,
    server_port,
    silent_options,
    silent_server,
)
from tests.test_bounds import SECRET, assert_bounded

# the monitor's bound holds for the live half of a test too, so it is a little
# wider than the tables' 2 s: opening an S3 client on a loaded machine takes ~1 s
BOUND = 4.0


@pytest.fixture(scope="module")
def reference():
    return generate_customers(1500, random_state=0, return_truth=True)


@pytest.fixture(scope="module")
def batch():
    return next(iter(simulate_production(1, 300, random_state=1)))


def monitor_on(reference, store, options, timeout=BOUND):
    return ChurnMonitor(
        reference.drop(columns="churn_probability"),
        reference_scores=reference["churn_probability"],
        target="churned",
        rules=(),
        sinks=[],
        store=store,
        storage_options=options,
        timeout=timeout,
    )


@pytest.mark.parametrize("backend", ["s3", "az", "gs"])
def test_opening_a_monitor_store_on_a_silent_endpoint(backend, reference):
    with silent_server() as port:
        options = silent_options(backend, port, SECRET)
        # a query token in the URL is refused before any request
        # (tests/test_storage_urls.py); the secret travels in the options
        store = f"{backend}://bucket-silent/monitor"
        err, _ = assert_bounded(
            lambda: monitor_on(reference, store, options, timeout=2.0),
            error=MonitorStoreError,
            bound=2.0,
        )
        assert f"'{backend}://bucket-silent/monitor" in str(err)
        assert "ChurnMonitor(..., timeout=seconds)" in str(err)
        assert err.url is not None
        assert SECRET not in err.url


_SERVERS = {"s3": "s3_server", "az": "azurite_server", "gs": "gcs_server"}


@pytest.fixture(params=["s3", "az", "gs"])
def proxied(request):
    """``(make_proxy, url)``: proxies in front of an emulator, a fresh bucket."""
    backend = request.param
    server = request.getfixturevalue(_SERVERS[backend])
    proxies = []

    def make(trigger=None):
        proxy = GoQuietProxy(server_port(server), trigger=trigger)
        proxies.append(proxy)
        return proxy, behind_proxy(backend, server, proxy.port)

    bucket = fresh_bucket_name("monitor-bounds")
    _, options = make()
    make_bucket(backend, options, bucket)
    yield make, f"{backend}://{bucket}/monitor"
    for proxy in proxies:
        proxy.close()


def test_log_and_report_fail_within_the_bound_once_quiet(proxied, reference, batch):
    make, store = proxied
    proxy, options = make()
    monitor = monitor_on(reference, store, options)
    ids = monitor.log_predictions(batch.X, batch.truth, timestamp=batch.timestamp)
    assert monitor.log_outcomes(ids, batch.y, timestamp=batch.labels_at) == 300
    assert monitor.report(chunk_size=300).chunks["n_labeled"].tolist() == [300]

    proxy.go_quiet()
    calls = {
        "log_predictions": lambda: monitor.log_predictions(
            batch.X, batch.truth, ids=[f"x{i}" for i in range(300)]
        ),
        "log_outcomes": lambda: monitor.log_outcomes(ids, batch.y),
        "report": lambda: monitor.report(chunk_size=300),
    }
    for name, call in calls.items():
        err, _ = assert_bounded(call, error=MonitorStoreError, bound=BOUND)
        assert store in str(err), name
        assert "ChurnMonitor(..., timeout=seconds)" in str(err), name


def test_a_hang_half_way_through_a_report_is_not_a_damaged_file(
    proxied, reference, batch
):
    """Listing answers, then the first part file read hangs: raise, never skip."""
    make, store = proxied
    # the first request naming a part file (GCS encodes the slashes)
    proxy, options = make(trigger=rb"^(HEAD|GET) [^ ]*(/|%2F)predictions(/|%2F)part-")
    monitor = monitor_on(reference, store, options)
    monitor.log_predictions(batch.X, batch.truth, timestamp=batch.timestamp)
    assert not proxy.quiet.is_set()  # writes do not trip the trigger
    # with filterwarnings=error a skipped "damaged" part would fail differently
    err, _ = assert_bounded(
        lambda: monitor.report(chunk_size=300), error=MonitorStoreError, bound=BOUND
    )
    assert proxy.quiet.is_set()
    assert "/predictions/part-" in str(err)
    assert str(err).startswith(f"Could not read '{store}/predictions/part-")
