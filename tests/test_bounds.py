"""Issue 18 item 3 outside the model store: tables against dead or silent endpoints.

Every storage call of the table reader and writer fails within the bound (the
store's setting: ``timeout=``, ``CHURNLIB_STORAGE_TIMEOUT``, 60 s by default)
plus a small slack, with a churnlib error naming the redacted URL and the fix,
and no credential anywhere in the error chain. The endpoints are real: a TCP
server that never answers, and a proxy in front of moto that goes quiet.
"""

from __future__ import annotations

import time
import traceback

import numpy as np
import pandas as pd
import pytest

from churnlib._core.tables import read_table, write_bytes, write_table
from churnlib._core.timeouts import BoundedFileSystem, StorageTimeoutError
from churnlib.exceptions import ChurnlibError, StorageError
from tests.fixtures.cloud import AZURITE_KEY, fresh_bucket_name, make_bucket
from tests.fixtures.silent import (
    GoQuietProxy,
    dead_port,
    silent_options,
    silent_server,
)

SECRET = "planted-secret-Zq8Vv1xY"
BOUND = 2.0
# the live half of a test: generous, the machine is shared and niced
LIVE = 60.0
# one request times out at the bound; the slack covers client set-up and the
# one-second polling of fsspec's sync() (the store's tests use the same)
SLACK = 3.5


def all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def assert_bounded(call, *, error=ChurnlibError, bound=BOUND):
    t0 = time.perf_counter()
    with pytest.raises(error) as info:
        call()
    elapsed = time.perf_counter() - t0
    assert elapsed < bound + SLACK, elapsed
    message = str(info.value)
    assert f"did not answer within {bound:g} s" in message, message
    assert "CHURNLIB_STORAGE_TIMEOUT" in message
    text = all_text(info.value)
    assert SECRET not in text
    assert AZURITE_KEY not in text
    return info.value, elapsed


@pytest.fixture
def frame():
    return pd.DataFrame({"customer_id": ["a", "b", "c"], "tenure": [1.0, 5.0, 40.0]})


# ------------------------------------------------------------ silent endpoint
@pytest.mark.parametrize("backend", ["s3", "az", "gs"])
@pytest.mark.parametrize("name", ["customers.csv", "customers.parquet"])
def test_read_and_write_table_fail_within_the_bound(backend, name, frame):
    with silent_server() as port:
        options = silent_options(backend, port, SECRET)
        url = f"{backend}://bucket-silent/tables/{name}?sig={SECRET}"
        err, _ = assert_bounded(
            lambda: read_table(url, storage_options=options, timeout=BOUND),
            error=StorageError,
        )
        assert f"Could not read '{backend}://bucket-silent/tables/{name}" in str(err)
        assert "read_table(..., timeout=seconds)" in str(err)
        assert err.url is not None
        assert SECRET not in err.url
        err, _ = assert_bounded(
            lambda: write_table(frame, url, storage_options=options, timeout=BOUND),
            error=StorageError,
        )
        assert str(err).startswith(f"Could not write '{backend}://bucket-silent/")
        assert_bounded(
            lambda: write_bytes(b"x", url, storage_options=options, timeout=BOUND),
            error=StorageError,
        )


@pytest.mark.parametrize("backend", ["s3", "az", "gs"])
def test_a_dead_endpoint_fails_within_the_bound_too(backend, frame):
    """Connections refused: the clients' retries end within the bound as well."""
    options = silent_options(backend, dead_port(), SECRET)
    url = f"{backend}://bucket-dead/t.parquet"
    for call in (
        lambda: read_table(url, storage_options=options, timeout=BOUND),
        lambda: write_table(frame, url, storage_options=options, timeout=BOUND),
    ):
        t0 = time.perf_counter()
        with pytest.raises(ChurnlibError) as info:
            call()
        assert time.perf_counter() - t0 < BOUND + SLACK
        assert "bucket-dead/t.parquet" in str(info.value)
        text = all_text(info.value)
        assert SECRET not in text
        assert AZURITE_KEY not in text


def test_the_environment_sets_the_bound_and_the_argument_wins(monkeypatch, frame):
    with silent_server() as port:
        options = silent_options("s3", port, SECRET)
        url = "s3://bucket-silent/t.parquet"
        monkeypatch.setenv("CHURNLIB_STORAGE_TIMEOUT", "1.5")
        assert_bounded(lambda: read_table(url, storage_options=options), bound=1.5)
        assert_bounded(
            lambda: read_table(url, storage_options=options, timeout=3), bound=3
        )


# -------------------------------------------- a live endpoint that goes quiet
@pytest.fixture
def quiet_s3(s3_server):
    """``(proxy, storage_options, bucket)``: moto behind a proxy that can go quiet."""
    port = int(s3_server.rsplit(":", 1)[1])
    with GoQuietProxy(port) as proxy:
        options = {
            "key": "testing",
            "secret": SECRET,
            "client_kwargs": {"endpoint_url": proxy.endpoint},
        }
        bucket = fresh_bucket_name("bounds")
        make_bucket("s3", options, bucket)
        yield proxy, options, bucket


def test_tables_round_trip_then_fail_within_the_bound_once_quiet(quiet_s3, frame):
    proxy, options, bucket = quiet_s3
    for name in ("t.parquet", "t.csv"):
        url = f"s3://{bucket}/{name}"
        write_table(frame, url, storage_options=options, timeout=LIVE)
        back = read_table(url, storage_options=options, timeout=LIVE)
        pd.testing.assert_frame_equal(back, frame)
    # a gzip CSV streams through the bounded reader too
    gz = f"s3://{bucket}/t.csv.gz"
    write_bytes(
        __import__("gzip").compress(frame.to_csv(index=False).encode()),
        gz,
        storage_options=options,
        timeout=LIVE,
    )
    back = read_table(gz, storage_options=options, timeout=LIVE)
    pd.testing.assert_frame_equal(back, frame)
    proxy.go_quiet()
    for name in ("t.parquet", "t.csv"):
        url = f"s3://{bucket}/{name}"
        assert_bounded(
            lambda u=url: read_table(u, storage_options=options, timeout=BOUND),
            error=StorageError,
        )
        assert_bounded(
            lambda u=url: write_table(frame, u, storage_options=options, timeout=BOUND),
            error=StorageError,
        )


def test_bounded_files_read_in_ranges_and_write_whole(quiet_s3, monkeypatch):
    """A file bigger than one read request, and a write that fails, leaves nothing."""
    import s3fs

    from churnlib._core import timeouts

    # smaller requests and buffer than the 16 MiB / 4 MiB defaults, same code
    monkeypatch.setattr(timeouts, "_READ_REQUEST", 64 * 1024)
    monkeypatch.setattr(timeouts, "_READ_BUFFER", 16 * 1024)
    proxy, options, bucket = quiet_s3
    live = BoundedFileSystem(s3fs.S3FileSystem(**options), timeout=LIVE)
    data = np.random.default_rng(0).bytes(300_017)  # several requests
    with live.open(f"{bucket}/big.bin", "wb") as f:
        f.write(data[:5])
        f.write(data[5:])
    with live.open(f"{bucket}/big.bin", "rb") as f:
        assert f.read(3) == data[:3]
        f.seek(len(data) - 10)
        assert f.read() == data[-10:]
        f.seek(0)
        assert f.read() == data

    def fail_half_way():
        with live.open(f"{bucket}/never.bin", "wb") as f:
            f.write(b"half")
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert not live.exists(f"{bucket}/never.bin")
    with live.open(f"{bucket}/claim", "xb") as f:
        f.write(b"1")
    with pytest.raises(FileExistsError), live.open(f"{bucket}/claim", "xb") as f:
        f.write(b"2")
    assert live.cat_file(f"{bucket}/claim") == b"1"
    fs = BoundedFileSystem(live.fs, timeout=BOUND)
    proxy.go_quiet()
    t0 = time.perf_counter()
    with pytest.raises(StorageTimeoutError):
        fs.ls(bucket)
    assert time.perf_counter() - t0 < BOUND + SLACK
