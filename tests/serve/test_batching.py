"""Dynamic batching: concurrent requests scored together, each answered alone.

In process (the :class:`Batcher` with a real loaded model and a real writer):
the wait rules. Against real server processes: distinct concurrent payloads
get exactly their own answers, a bad request among good ones gets its own
422, an alias switch under concurrent load never mixes versions, and the
monitor store holds exactly the rows answered.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.serve.conftest import TOKEN, Published, read_log

pytestmark = pytest.mark.slow


def _expected(store_url: str, version: str, records: list[dict]) -> np.ndarray:
    from churnlib._core.contract import get_contract
    from churnlib._core.model_facts import churn_proba
    from churnlib.deployment import ModelStore

    model = ModelStore(store_url).load(version)
    return churn_proba(model, get_contract(model).prepare(pd.DataFrame(records)))


def _distinct(published: Published, i: int) -> list[dict]:
    """Request i: its own customers, its own feature values, 1 to 9 rows."""
    base = published.records
    rows = []
    for j in range(1 + i % 9):
        r = dict(base[(7 * i + j) % len(base)])
        r["customer_id"] = f"B{i}-{j}"
        r["tenure_months"] = (i * 13 + j) % 72  # no two requests alike
        rows.append(r)
    return rows


# ------------------------------------------------------------------ in process
def _rows(scored: Any) -> list[dict]:
    return list(json.loads(scored.rows_json))


@pytest.fixture(scope="module")
def batcher_parts(published: Published) -> Any:
    from churnlib.deployment import ModelStore
    from churnlib.serve._batch import Clock
    from churnlib.serve._model import load_served
    from churnlib.serve._writer import LogWriter

    served = load_served(ModelStore(published.store_url), published.v1)
    return served, LogWriter(), Clock()


def _records(published: Published, n: int, tag: str) -> Any:
    from churnlib.serve._parse import Records

    return Records(
        dict(r, customer_id=f"{tag}{k}") for k, r in enumerate(published.records[:n])
    )


def test_a_lone_request_never_waits(batcher_parts, published):
    from churnlib.serve._batch import Batcher

    served, writer, clock = batcher_parts
    batcher = Batcher(lambda: served, writer, clock, max_wait=5.0)

    async def run() -> tuple[float, Any]:
        t0 = time.perf_counter()
        scored = await batcher.score(_records(published, 3, "L"))
        return time.perf_counter() - t0, scored

    seconds, scored = asyncio.run(run())
    assert seconds < 2.5  # far below the 5 s the batch could wait
    assert scored.n == 3
    assert (batcher.waits, batcher.batches) == (0, 0)


def test_a_batch_waits_for_a_request_in_flight_then_scores_both(
    batcher_parts, published
):
    from churnlib.serve._batch import Batcher

    served, writer, clock = batcher_parts
    batcher = Batcher(lambda: served, writer, clock, max_wait=5.0)

    async def run() -> tuple[float, list[Any]]:
        async def late() -> Any:
            with batcher.arriving():  # its body is still being read
                await asyncio.sleep(0.2)
            return await batcher.score(_records(published, 2, "Y"))

        t0 = time.perf_counter()
        second = asyncio.create_task(late())
        await asyncio.sleep(0)  # the late one is in flight now
        first = await batcher.score(_records(published, 4, "X"))
        return time.perf_counter() - t0, [first, await second]

    seconds, (first, second) = asyncio.run(run())
    # scored as soon as the late one was queued, long before the 5 s limit
    assert 0.15 < seconds < 2.5
    assert (batcher.batches, batcher.batched_requests, batcher.waits) == (1, 2, 1)
    ids = [[p["customer_id"] for p in _rows(s)] for s in (first, second)]
    assert ids == [["X0", "X1", "X2", "X3"], ["Y0", "Y1"]]
    got = np.array([p["churn_probability"] for p in _rows(first)])
    np.testing.assert_allclose(
        got,
        _expected(published.store_url, published.v1, list(_records(published, 4, "X"))),
        rtol=1e-12,
    )


def test_a_batch_waits_at_most_max_wait(batcher_parts, published):
    from churnlib.serve._batch import Batcher

    served, writer, clock = batcher_parts
    batcher = Batcher(lambda: served, writer, clock, max_wait=0.3)

    async def run() -> float:
        with batcher.arriving():  # in flight and never queued
            t0 = time.perf_counter()
            await batcher.score(_records(published, 1, "W"))
            return time.perf_counter() - t0

    seconds = asyncio.run(run())
    assert 0.28 < seconds < 2.5
    assert batcher.waits == 1


def test_rows_cap_splits_a_batch(batcher_parts, published):
    from churnlib.serve._batch import Batcher

    served, writer, clock = batcher_parts
    batcher = Batcher(lambda: served, writer, clock, max_batch_rows=10)

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                *(batcher.score(_records(published, 4, f"R{i}-")) for i in range(5))
            )
        )

    answers = asyncio.run(run())
    assert [a.n for a in answers] == [4] * 5
    # 4 + 4 fit under 10 rows, the fifth alone: batches of 2, 2, 1 requests
    assert (batcher.batches, batcher.batched_requests) == (2, 4)
    for i, a in enumerate(answers):
        assert [p["customer_id"] for p in _rows(a)] == [f"R{i}-{k}" for k in range(4)]


# ------------------------------------------------------------ real servers
def _copy_store(published: Published, tmp_path) -> str:
    dest = tmp_path / "models"
    shutil.copytree(published.root / "models", dest)
    return dest.as_uri()


async def _fire(url: str, bodies: list[Any], clients: int) -> list[httpx.Response]:
    """Send every body from ``clients`` concurrent connections, in order."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    out: list[Any] = [None] * len(bodies)
    todo = iter(range(len(bodies)))
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=120, limits=limits
    ) as c:

        async def worker() -> None:
            for i in todo:
                out[i] = await c.post("/v1/predict", json=bodies[i])

        await asyncio.gather(*(worker() for _ in range(clients)))
    return out


def test_concurrent_distinct_requests_get_exactly_their_own_answers(
    serve, published, tmp_path
):
    monitor = (tmp_path / "monitor").as_uri()
    server = serve(
        [
            published.ref,
            "--monitor",
            monitor,
            "--flush-seconds",
            "0.2",
            "--max-wait-ms",
            "2",
            "--max-batch-rows",
            "40",
            "--no-access-log",
        ]
    )
    bodies: list[Any] = [_distinct(published, i) for i in range(160)]
    bad = {17: "contract", 58: "tenure_months", 101: "contract"}
    for i, column in bad.items():
        if column == "contract":
            bodies[i][-1]["contract"] = "weekly"  # a level the model never saw
        else:
            bodies[i][0]["tenure_months"] = "soon"  # text in a number column
    bodies[133] = {"dataframe_records": "not a table"}
    answers = asyncio.run(_fire(server.url, bodies, clients=12))

    good_ids: list[str] = []
    for i, r in enumerate(answers):
        if i in bad:
            assert r.status_code == 422, r.text
            assert r.json()["columns"] == [bad[i]]
            continue
        if i == 133:
            assert r.status_code == 422
            continue
        assert r.status_code == 200, r.text
        rows = r.json()["predictions"]
        sent = bodies[i]
        assert [p["customer_id"] for p in rows] == [s["customer_id"] for s in sent]
        np.testing.assert_allclose(
            [p["churn_probability"] for p in rows],
            _expected(published.store_url, published.v1, sent),
            rtol=1e-12,
        )
        good_ids += [p["customer_id"] for p in rows]

    with server.client() as c:
        metrics = c.get("/metrics").text
    batches = {
        line.split()[0]: float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("churnlib_serve_batch")
    }
    assert batches["churnlib_serve_batches_total"] >= 1
    assert batches["churnlib_serve_batched_requests_total"] >= 2
    server.terminate()
    log = read_log(monitor)
    # every answered row logged once, no refused row logged
    assert sorted(log["__id__"]) == sorted(good_ids)


def test_alias_switch_under_concurrent_load_never_mixes_versions(
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
            "--reload-interval",
            "0.2",
            "--flush-seconds",
            "0.2",
            "--max-wait-ms",
            "2",
            "--no-access-log",
        ]
    )
    store = ModelStore(store_url)

    async def run() -> list[tuple[list[dict], httpx.Response]]:
        answers: list[tuple[list[dict], httpx.Response]] = []
        stop = asyncio.Event()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=120
        ) as c:

            async def worker(w: int) -> None:
                i = w
                while not stop.is_set():
                    body = _distinct(published, i)
                    answers.append((body, await c.post("/v1/predict", json=body)))
                    i += 8

            async def promote() -> None:
                await asyncio.sleep(0.8)
                await asyncio.to_thread(store.promote, published.v2, "production")
                deadline = time.monotonic() + 30
                while not any(
                    r.json().get("model_version") == published.v2
                    for _, r in answers[-8:]
                ):
                    assert time.monotonic() < deadline, "promotion never picked up"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                stop.set()

            await asyncio.gather(promote(), *(worker(w) for w in range(8)))
        return answers

    answers = asyncio.run(run())
    assert {r.status_code for _, r in answers} == {200}
    versions = {r.json()["model_version"] for _, r in answers}
    assert versions == {published.v1, published.v2}
    answered = {}
    for body, r in answers:
        out = r.json()
        version = out["model_version"]
        assert r.headers["x-churnlib-model-version"] == version
        assert {p["model_version"] for p in out["predictions"]} == {version}
        np.testing.assert_allclose(
            [p["churn_probability"] for p in out["predictions"]],
            _expected(store_url, version, body),
            rtol=1e-12,
        )
        for p in out["predictions"]:
            answered.setdefault(p["customer_id"], []).append(version)
    with server.client() as c:
        metrics = c.get("/metrics").text
    assert "churnlib_serve_model_switches_total 1.0" in metrics
    batched = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("churnlib_serve_batched_requests_total")
    ]
    assert batched[0] >= 2  # concurrent requests were scored together
    server.terminate()
    log = read_log(monitor)
    assert len(log) == sum(len(v) for v in answered.values())
    # the store names, for every row, the version that answered it
    logged = log.groupby("__id__")["__model_version__"].apply(sorted).to_dict()
    assert logged == {k: sorted(v) for k, v in answered.items()}
