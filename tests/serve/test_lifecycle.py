"""Alias following, shutdown flushing, S3 stores, start-up errors, key handling."""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from tests.serve.conftest import TOKEN, Published, read_log

pytestmark = pytest.mark.slow


def _copy_store(published: Published, tmp_path) -> str:
    dest = tmp_path / "models"
    shutil.copytree(published.root / "models", dest)
    return dest.as_uri()


def _expected(store_url: str, version: str, records: list[dict]) -> np.ndarray:
    from churnlib._core.contract import get_contract
    from churnlib._core.model_facts import churn_proba
    from churnlib.deployment import ModelStore

    model = ModelStore(store_url).load(version)
    return churn_proba(model, get_contract(model).prepare(pd.DataFrame(records)))


def test_alias_promoted_mid_run_switches_without_a_failed_request(
    serve, published, tmp_path
):
    from churnlib.deployment import ModelStore

    store_url = _copy_store(published, tmp_path)
    monitor = (tmp_path / "monitor").as_uri()
    server = serve(
        [
            f"{store_url}@production",
            "--monitor",
            monitor,
            "--reference",
            str(published.reference),
            "--reload-interval",
            "0.3",
            "--flush-seconds",
            "0.2",
        ]
    )
    records = published.records[:10]
    answers: list[tuple[int, str | None, list[float]]] = []
    stop = threading.Event()

    def hammer() -> None:
        with server.client() as c:
            while not stop.is_set():
                r = c.post("/v1/predict", json=records)
                body = r.json() if r.status_code == 200 else {}
                answers.append(
                    (
                        r.status_code,
                        body.get("model_version"),
                        [p["churn_probability"] for p in body.get("predictions", [])],
                    )
                )

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(1.0)
        store = ModelStore(store_url)
        store.promote(published.v2, "production")
        deadline = time.monotonic() + 30
        while not any(v == published.v2 for _, v, _ in answers[-5:]):
            assert time.monotonic() < deadline, "promotion never picked up"
            time.sleep(0.05)
        n_before_rollback = len(answers)
        store.rollback("production")
        while not any(v == published.v1 for _, v, _ in answers[n_before_rollback:]):
            assert time.monotonic() < deadline, "rollback never picked up"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(30)

    assert {status for status, _, _ in answers} == {200}
    versions = [v for _, v, _ in answers]
    # v1, then v2, then v1 again: each switch happens once, never flickers
    changes = [versions[0]] + [b for a, b in itertools.pairwise(versions) if a != b]
    assert changes == [published.v1, published.v2, published.v1]
    # every answer came whole from the version it names
    expected = {
        v: _expected(store_url, v, records) for v in (published.v1, published.v2)
    }
    assert not np.allclose(expected[published.v1], expected[published.v2])
    for _, version, probs in answers:
        np.testing.assert_allclose(probs, expected[version], rtol=1e-12)
    with server.client() as c:
        text = c.get("/metrics").text
    assert "churnlib_serve_model_switches_total 2.0" in text
    # every answered row is in the store
    server.terminate()
    assert len(read_log(monitor)) == 10 * len(answers)


def test_sigterm_flushes_every_queued_row(serve, published, tmp_path):
    monitor = (tmp_path / "monitor").as_uri()
    server = serve(
        [
            published.ref,
            "--monitor",
            monitor,
            "--reference",
            str(published.reference),
            "--flush-seconds",
            "600",
            "--flush-rows",
            "1000000",
            "--reload-interval",
            "0",
        ]
    )
    with server.client() as c:
        for i in range(20):
            rows = [
                dict(r, customer_id=f"T{i}-{j}")
                for j, r in enumerate(published.records[:10])
            ]
            assert c.post("/v1/predict", json=rows).status_code == 200
        assert (
            c.post("/v1/outcomes", json=[{"id": "T0-0", "churned": True}]).status_code
            == 202
        )
        backlog = [
            line
            for line in c.get("/metrics").text.splitlines()
            if line.startswith("churnlib_serve_log_backlog_rows")
        ]
    assert backlog == ["churnlib_serve_log_backlog_rows 201.0"]
    assert len(read_log(monitor)) == 0  # nothing written yet: all queued
    # uvicorn re-raises SIGTERM after its graceful shutdown
    assert server.terminate(signal.SIGTERM) in (0, -signal.SIGTERM)
    log = read_log(monitor)
    assert len(log) == 200
    assert log["__id__"].is_unique
    assert len(read_log(monitor, "outcomes")) == 1
    assert "200 predictions and 1 outcomes logged" in server.output()


@pytest.mark.cloud
def test_round_trip_on_moto_s3(serve, published, s3_server, s3_storage_options):
    import fsspec

    from churnlib.deployment import ModelStore
    from tests.fixtures.cloud import fresh_bucket_name, make_bucket
    from tests.serve.conftest import train_pipeline

    bucket = fresh_bucket_name()
    make_bucket("s3", s3_storage_options, bucket)
    store_url = f"s3://{bucket}/models"
    version = (
        ModelStore(store_url, storage_options=s3_storage_options)
        .publish(train_pipeline(), alias="production")
        .version
    )
    fs = fsspec.filesystem("s3", **s3_storage_options)
    fs.pipe_file(f"{bucket}/reference.csv", published.reference.read_bytes())
    monitor = f"s3://{bucket}/monitor"
    options = [
        "--storage-option",
        "key=testing",
        "--storage-option",
        "secret=testing",
        "--storage-option",
        "client_kwargs=" + json.dumps({"endpoint_url": s3_server}),
    ]
    server = serve(
        [
            f"{store_url}@production",
            "--monitor",
            monitor,
            "--reference",
            f"s3://{bucket}/reference.csv",
            "--flush-seconds",
            "0.2",
            *options,
        ]
    )
    records = published.records[:25]
    with server.client() as c:
        r = c.post("/v1/predict", json=records)
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == version
        preds = r.json()["predictions"]
        o = c.post(
            "/v1/outcomes",
            json=[
                {"id": p["customer_id"], "churned": 1, "scored_at": p["scored_at"]}
                for p in preds[:5]
            ],
        )
        assert o.status_code == 202
        first = _wait_for(
            lambda: len(read_log(monitor, "outcomes", s3_storage_options))
        )
        assert first == 5
        log = read_log(monitor, storage_options=s3_storage_options)
        assert sorted(log["__id__"]) == sorted(rec["customer_id"] for rec in records)
        np.testing.assert_allclose(
            log.set_index("__id__")["__score__"][[p["customer_id"] for p in preds]],
            [p["churn_probability"] for p in preds],
        )
        # the monitor bucket disappears: answers are queued and retried
        fs.rm(bucket, recursive=True)
        fs.invalidate_cache()
        later = [dict(r, customer_id=f"LATE-{i}") for i, r in enumerate(records[:7])]
        assert c.post("/v1/predict", json=later).status_code == 200
        assert _wait_for(lambda: c.get("/readyz").status_code == 503)
        assert c.get("/readyz").json()["status"] == "degraded"
        make_bucket("s3", s3_storage_options, bucket)  # it is back
        assert _wait_for(lambda: c.get("/readyz").status_code == 200)
    assert server.terminate() in (0, -signal.SIGTERM)
    log = read_log(monitor, storage_options=s3_storage_options)
    assert sorted(log["__id__"]) == sorted(r["customer_id"] for r in later)
    assert "could not write 7 predictions" in server.output()


def _wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            return value
        time.sleep(0.1)
    return value


def _run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "churnlib.serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHURNLIB_SERVE_TOKENS": TOKEN, **(env or {})},
        check=False,
    )


def test_wrong_model_reference_fails_in_one_line(published):
    done = _run_cli(
        f"{published.store_url}@staging",
        "--port",
        "0",
        env={"CHURNLIB_SERVE_TOKENS": ""},
    )
    assert done.returncode == 1
    assert "generated" not in done.stderr  # no key shown for a server never up
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("churnlib serve: error: No alias 'staging'")
    assert "production" in lines[-1]  # the message lists what exists
    assert "Traceback" not in done.stderr


def test_usage_errors_exit_2(published):
    both = _run_cli(published.ref, "--no-auth", "--token-file", "x")
    assert both.returncode == 2
    assert "exclude each other" in both.stderr
    short = _run_cli(published.ref, env={"CHURNLIB_SERVE_TOKENS": "short"})
    assert short.returncode == 1
    assert "shorter than 16 characters" in short.stderr
    assert "short" not in short.stderr.replace("shorter", "")
