"""Issue 18 item 3: score_table against dead or silent endpoints, both engines.

``score_table(..., timeout=)`` is the model store's setting. The input, the
output and the model store fail within the bound plus a small slack with a
churnlib error naming the redacted location that hung -- also when the hang
starts half-way, on the writer thread or on a Dask worker.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from churnlib.exceptions import DeploymentError, StorageError
from churnlib.scoring import read_scores, score_table
from tests.fixtures.cloud import fresh_bucket_name, make_bucket
from tests.fixtures.silent import (
    GoQuietProxy,
    behind_proxy,
    server_port,
    silent_options,
    silent_server,
)
from tests.test_bounds import SECRET, SLACK, all_text, assert_bounded

BOUND = 2.0


@pytest.mark.parametrize("backend", ["s3", "az", "gs"])
def test_silent_input_output_and_store(backend, churn_model, customers_dir, tmp_path):
    with silent_server() as port:
        options = silent_options(backend, port, SECRET)
        silent_in = f"{backend}://bucket-silent/customers.parquet?sig={SECRET}"
        err, _ = assert_bounded(
            lambda: score_table(
                churn_model,
                silent_in,
                tmp_path / "out",
                storage_options=options,
                timeout=BOUND,
            ),
            error=StorageError,
        )
        assert f"Could not reach '{backend}://bucket-silent/customers.parquet" in str(
            err
        )
        assert "score_table(..., timeout=seconds)" in str(err)
        assert SECRET not in (err.url or "")
        assert not (tmp_path / "out").exists()

        # a wider bound here: a client answering "no such file" after the
        # whole bound (adlfs' isfile did) would cost two bounds, > 4 + 3.5 s
        err, _ = assert_bounded(
            lambda: score_table(
                churn_model,
                customers_dir,
                f"{backend}://bucket-silent/scores",
                storage_options=options,
                timeout=4.0,
            ),
            error=StorageError,
            bound=4.0,
        )
        assert f"'{backend}://bucket-silent/scores'" in str(err)

        err, _ = assert_bounded(
            lambda: score_table(
                f"{backend}://bucket-silent/models@production",
                customers_dir,
                tmp_path / "out",
                storage_options=options,
                timeout=BOUND,
            ),
            error=DeploymentError,
        )
        assert "ModelStore(..., timeout=seconds)" in str(err)

        err, _ = assert_bounded(
            lambda: read_scores(
                f"{backend}://bucket-silent/scores",
                storage_options=options,
                timeout=BOUND,
            ),
            error=StorageError,
        )
        assert "read_scores(..., timeout=seconds)" in str(err)


_SERVERS = {"s3": "s3_server", "az": "azurite_server", "gs": "gcs_server"}


@pytest.fixture
def quiet_output(request):
    """``(proxy, options, url)``: an emulator behind a proxy that goes quiet at
    the first part file written (after planning and preparing the output)."""
    backend = request.node.callspec.params["backend"]
    server = request.getfixturevalue(_SERVERS[backend])
    # S3 and Azure PUT the object; GCS POSTs it, its name url-encoded
    trigger = rb"^(PUT|POST) [^ ]*(/|%2F)part-0"
    with GoQuietProxy(server_port(server), trigger=trigger) as proxy:
        options = behind_proxy(backend, server, proxy.port)
        bucket = fresh_bucket_name("score-bounds")
        make_bucket(backend, options, bucket)
        yield proxy, options, f"{backend}://{bucket}/scores"


def _engine_kwargs(engine, request):
    if engine == "local":
        return {}
    pytest.importorskip("distributed")
    return {"engine": "dask", "client": request.getfixturevalue("dask_client")}


def _warm(kwargs, model, input_dir, tmp_path):
    """One run on file:// first: workers import and unpickle outside the clock."""
    if kwargs:
        score_table(model, input_dir, tmp_path / "warm", batch_rows=150, **kwargs)


@pytest.mark.parametrize(
    ("backend", "engine"),
    [
        ("s3", "local"),
        ("az", "local"),
        ("gs", "local"),
        pytest.param("s3", "dask", marks=pytest.mark.slow),
    ],
)
def test_output_that_hangs_mid_run_fails_within_the_bound(
    backend, engine, request, quiet_output, churn_model, customers_dir, tmp_path
):
    proxy, options, out = quiet_output
    kwargs = _engine_kwargs(engine, request)
    _warm(kwargs, churn_model, customers_dir, tmp_path)
    # a Dask worker opens its own S3 client inside its first (bounded)
    # request: on a loaded machine that alone can take 2 s
    bound = BOUND if engine == "local" else 6.0
    with pytest.raises(StorageError) as info:
        score_table(
            churn_model,
            customers_dir,
            out,
            storage_options=options,
            timeout=bound,
            batch_rows=150,
            **kwargs,
        )
    failed_at = time.perf_counter()
    assert proxy.quiet.is_set()  # it did hang in the run, not before
    # planning, scattering and scoring came first: the clock starts at the hang
    assert failed_at - proxy.quiet_at < bound + SLACK
    err = info.value
    assert f"did not answer within {bound:g} s" in str(err)
    assert SECRET not in all_text(err)
    assert str(err).startswith(f"Could not reach '{out}'"), str(err)
    assert err.url == out


@pytest.mark.parametrize(
    "engine", ["local", pytest.param("dask", marks=pytest.mark.slow)]
)
def test_s3_run_within_the_bound_gives_the_same_scores(
    engine, request, s3_server, customers, churn_model, customers_dir, tmp_path
):
    """The bounded reader and writer change no value (input and output on S3)."""
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_server},
    }
    bucket = fresh_bucket_name("score-bounded")
    make_bucket("s3", options, bucket)
    import fsspec

    fs = fsspec.filesystem("s3", **options)
    fs.put(customers_dir, f"{bucket}/in", recursive=True)
    kwargs = _engine_kwargs(engine, request)
    result = score_table(
        churn_model,
        f"s3://{bucket}/in",
        f"s3://{bucket}/scores",
        storage_options=options,
        batch_rows=150,
        timeout=60,
        **kwargs,
    )
    assert result.rows == 600
    got = read_scores(f"s3://{bucket}/scores", storage_options=options, timeout=60)
    X = customers.drop(columns=["customer_id", "churned"])
    expected = churn_model.predict_proba(X)[:, 1]
    assert got["customer_id"].tolist() == customers["customer_id"].tolist()
    pd.testing.assert_series_equal(
        got["churn_probability"],
        pd.Series(expected, name="churn_probability"),
        check_exact=False,
        rtol=1e-12,
    )


def test_an_incomplete_output_is_named_without_its_token():
    from churnlib.exceptions import DataValidationError

    with pytest.raises(DataValidationError, match="is not complete") as info:
        read_scores(f"memory://bounds-token/out?sig={SECRET}")
    assert SECRET not in all_text(info.value)
    assert "memory://bounds-token/out" in str(info.value)
