"""``churnlib serve`` as a real server process: scoring, logging, refusals, auth."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.serve.conftest import (
    OTHER_TOKEN,
    TOKEN,
    Published,
    Server,
    read_log,
    start_server,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logged(published: Published, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server logging to a file:// monitor store, with small limits."""
    root = tmp_path_factory.mktemp("logged")
    monitor = (root / "monitor").as_uri()
    token_file = root / "tokens.txt"
    token_file.write_text(f"# keys\n{OTHER_TOKEN}\n")
    server = start_server(
        [
            published.ref,
            "--monitor",
            monitor,
            "--reference",
            str(published.reference),
            "--token-file",
            str(token_file),
            "--flush-seconds",
            "0.2",
            "--reload-interval",
            "0.3",
            "--max-rows",
            "500",
            "--max-body-bytes",
            "400000",
        ],
        root / "server.log",
    )
    yield server, monitor, token_file
    server.terminate()


def _model(published: Published, version: str) -> Any:
    from churnlib.deployment import ModelStore

    return ModelStore(published.store_url).load(version)


def _expected(published: Published, version: str, records: list[dict]) -> np.ndarray:
    from churnlib._core.contract import get_contract
    from churnlib._core.model_facts import churn_proba

    model = _model(published, version)
    X = get_contract(model).prepare(pd.DataFrame(records))
    return churn_proba(model, X)


def _wait_rows(url: str, ids: set[str], kind: str = "predictions") -> pd.DataFrame:
    deadline = time.monotonic() + 20
    while True:
        log = read_log(url, kind)
        rows = log[log["__id__"].isin(ids)] if len(log) else log
        if len(rows) >= len(ids) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_predict_round_trip_into_the_monitor_store(logged, published):
    server, monitor, _ = logged
    records = published.records[:120]
    with server.client() as c:
        r = c.post("/v1/predict", json=records)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == published.v1
    assert r.headers["x-churnlib-model-version"] == published.v1
    assert body["n_rows"] == 120
    assert body["logged"] is True
    rows = pd.DataFrame(body["predictions"])
    assert list(rows["customer_id"]) == [rec["customer_id"] for rec in records]
    expected = _expected(published, published.v1, records)
    np.testing.assert_allclose(rows["churn_probability"], expected, rtol=1e-12)
    np.testing.assert_array_equal(rows["churn"], expected >= body["threshold"])
    assert set(rows["model_version"]) == {published.v1}
    assert rows["prediction_id"].is_unique
    assert pd.to_datetime(rows["scored_at"]).is_monotonic_increasing

    logged_rows = _wait_rows(monitor, set(rows["customer_id"]))
    assert len(logged_rows) == 120
    by_id = logged_rows.set_index("__id__")["__score__"]
    np.testing.assert_allclose(by_id[rows["customer_id"]].to_numpy(), expected)
    stamps = pd.to_datetime(rows["scored_at"], utc=True)
    logged_at = logged_rows.set_index("__id__")["__timestamp__"][rows["customer_id"]]
    assert (logged_at.to_numpy() == stamps.to_numpy()).all()
    # every logged row names the version that answered
    assert set(logged_rows["__model_version__"]) == {published.v1}
    # the features logged are the model's features, not the id
    assert "customer_id" not in logged_rows.columns
    assert {"tenure_months", "contract"} <= set(logged_rows.columns)


def test_csv_and_split_json_score_like_records(logged, published):
    server, _, _ = logged
    records = published.records[120:130]
    frame = pd.DataFrame(records)
    with server.client() as c:
        by_records = c.post("/v1/predict", json={"records": records}).json()
        by_csv = c.post(
            "/v1/predict",
            content=frame.to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        ).json()
        split = json.loads(frame.to_json(orient="split", index=False))
        by_split = c.post("/v1/predict", json={"dataframe_split": split}).json()
    expected = [p["churn_probability"] for p in by_records["predictions"]]
    for other in (by_csv, by_split):
        got = [p["churn_probability"] for p in other["predictions"]]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def _bad(records: list[dict], n: int, **change: Any) -> list[dict]:
    rows = [dict(r, customer_id=f"BAD-{n}-{i}") for i, r in enumerate(records)]
    rows[0].update(change)
    return rows


BAD_CASES = [
    ("malformed", 400, "not valid JSON", None),
    ("nan literal", 400, "NaN is not a JSON value", None),
    ("wrong columns", 422, "lacks the feature column", ["tenure_months"]),
    ("unknown category", 422, "unknown categories ['weekly']", ["contract"]),
    ("infinite", 422, "finite numbers", ["monthly_charges"]),
    ("null", 422, "missing values in ['age']", ["age"]),
    ("nested", 422, "hold lists or objects", ["age"]),
    ("not a number", 422, "cannot be read as numbers", ["tenure_months"]),
    ("too many rows", 413, "at most 500", None),
    ("oversized", 413, "at most 400000 bytes", None),
    ("content type", 415, "Unsupported Content-Type", None),
    ("empty", 422, "no rows", None),
    ("huge integer", 400, "a number with more than 4300 digits", None),
    ("deep nesting", 400, "JSON nested deeper than this service reads", None),
    ("repeated key", 422, "names 'age' more than once", ["age"]),
    ("csv repeated column", 422, "CSV header names 'age' more than once", ["age"]),
    ("csv semicolons", 422, "the body looks separated by ';'", None),
]


def _bad_request(case: str, records: list[dict], n: int) -> dict[str, Any]:
    good = _bad(records, n)
    as_json = {"headers": {"Content-Type": "application/json"}}
    if case == "malformed":
        return {"content": json.dumps(good)[:-5], **as_json}
    if case == "nan literal":
        return {
            "content": json.dumps(good).replace('"age": 50', '"age": NaN'),
            **as_json,
        }
    if case == "wrong columns":
        rows = [{k: v for k, v in r.items() if k != "tenure_months"} for r in good]
        return {"json": rows}
    if case == "unknown category":
        return {"json": _bad(records, n, contract="weekly")}
    if case == "infinite":  # 1e999 is valid JSON that overflows to inf
        text = json.dumps(_bad(records, n, monthly_charges=123456.5))
        return {"content": text.replace("123456.5", "1e999"), **as_json}
    if case == "null":
        return {"json": _bad(records, n, age=None)}
    if case == "nested":
        return {"json": _bad(records, n, age=[50])}
    if case == "not a number":
        return {"json": _bad(records, n, tenure_months="twelve")}
    if case == "too many rows":
        return {"json": [good[0]] * 501}
    if case == "oversized":
        return {"json": [*good, {"padding": "x" * 400000}]}
    if case == "content type":
        return {"content": "age=3", "headers": {"Content-Type": "text/plain"}}
    if case == "empty":
        return {"json": []}
    if case == "huge integer":
        text = json.dumps(good).replace('"age": 50', '"age": ' + "9" * 5000, 1)
        return {"content": text, **as_json}
    if case == "deep nesting":  # 100 kB, under the body limit
        return {"content": "[" * 50_000 + "]" * 50_000, **as_json}
    if case == "repeated key":  # the last value would silently win
        text = json.dumps(good).replace('"age": 50', '"age": 50, "age": 18', 1)
        return {"content": text, **as_json}
    as_csv = {"headers": {"Content-Type": "text/csv"}}
    if case == "csv repeated column":  # pandas would read the second as age.1
        frame = pd.DataFrame(good)
        frame.insert(len(frame.columns), "age", 18, allow_duplicates=True)
        return {"content": frame.to_csv(index=False), **as_csv}
    if case == "csv semicolons":
        return {"content": pd.DataFrame(good).to_csv(index=False, sep=";"), **as_csv}
    raise AssertionError(case)


@pytest.mark.parametrize(("case", "status", "message", "columns"), BAD_CASES)
def test_bad_requests_get_clear_4xx(logged, published, case, status, message, columns):
    server, _, _ = logged
    n = [c[0] for c in BAD_CASES].index(case)
    records = [r for r in published.records[:5] if r["age"] == 50] or published.records[
        :5
    ]
    records = [dict(r, age=50) for r in records[:3]]
    with server.client() as c:
        r = c.post("/v1/predict", **_bad_request(case, records, n))
    assert r.status_code == status, r.text
    body = r.json()
    assert message in body["error"]
    if columns is not None:
        assert body["columns"] == columns
    assert TOKEN not in r.text


def test_refused_requests_log_nothing(logged, published):
    server, monitor, _ = logged
    records = [dict(r, age=50) for r in published.records[:3]]
    with server.client() as c:
        for n, (case, *_rest) in enumerate(BAD_CASES):
            assert (
                c.post("/v1/predict", **_bad_request(case, records, n)).status_code
                >= 400
            )
        # a good request afterwards: once it is in the store, so would be the rest
        ok = c.post("/v1/predict", json=[dict(records[0], customer_id="AFTER-BAD")])
    assert ok.status_code == 200
    _wait_rows(monitor, {"AFTER-BAD"})
    log = read_log(monitor)
    assert not log["__id__"].str.startswith("BAD-").any()
    assert (log["__id__"] == "AFTER-BAD").sum() == 1


def test_refusals_log_only_their_access_lines(logged, published):
    """Bad bodies on every endpoint: a 4xx each, no traceback, nothing stored."""
    server, monitor, _ = logged
    records = [dict(r, age=50) for r in published.records[:3]]
    json_type = {"Content-Type": "application/json"}
    before = len(server.output())
    with server.client() as c:
        statuses = [
            c.post("/v1/predict", **_bad_request(case, records, n)).status_code
            for n, (case, *_rest) in enumerate(BAD_CASES)
        ]
        for path in ("/v1/outcomes", "/v1/churn-events"):
            huge = c.post(
                path, content='[{"id": ' + "9" * 5000 + "}]", headers=json_type
            )
            assert huge.status_code == 400, huge.text
            assert "more than 4300 digits" in huge.json()["error"]
            deep = c.post(path, content="[" * 50_000 + "]" * 50_000, headers=json_type)
            assert deep.status_code == 400, deep.text
            assert "nested deeper" in deep.json()["error"]
        twice = c.post(
            "/v1/outcomes",
            content='[{"id": "LATE-0", "churned": true, "churned": false}]',
            headers=json_type,
        )
        assert twice.status_code == 422, twice.text
        assert twice.json()["columns"] == ["churned"]
        assert "'churned' more than once" in twice.json()["error"]
        future = c.post(
            "/v1/outcomes",
            json=[{"id": "LATE-1", "churned": True, "observed_at": "9999-12-31"}],
        )
        assert future.status_code == 422, future.text
        assert future.json()["columns"] == ["observed_at"]
        assert "observed_at times lie in the future" in future.json()["error"]
        ok = c.post(
            "/v1/outcomes",
            json=[{"id": "LATE-OK", "churned": True, "observed_at": "2026-01-02"}],
        )
        assert ok.status_code == 202, ok.text
    assert all(400 <= s < 500 for s in statuses), statuses
    got = _wait_rows(monitor, {"LATE-OK"}, "outcomes")
    assert len(got) == 1
    stored = read_log(monitor, "outcomes")["__id__"]
    assert not stored.isin(["LATE-0", "LATE-1"]).any()
    new_lines = server.output()[before:].splitlines()
    assert new_lines  # the access lines
    for line in new_lines:
        assert '"POST /v1/' in line, line  # nothing but the request lines
    assert "Traceback" not in server.output()


def test_keys_in_query_strings_never_reach_the_log(logged, published):
    server, _, _ = logged
    with server.client(token=None) as c:
        refused = c.post(f"/v1/predict?api_key={TOKEN}", json=published.records[:1])
        assert refused.status_code == 401
        assert TOKEN not in refused.text
    with server.client() as c:
        served = c.post(
            f"/v1/predict?token={OTHER_TOKEN}&x=1", json=published.records[:1]
        )
        assert served.status_code == 200
        metrics = c.get(f"/metrics?key={OTHER_TOKEN}").text
    assert OTHER_TOKEN not in metrics
    output = server.output()
    assert TOKEN not in output
    assert OTHER_TOKEN not in output
    assert '"POST /v1/predict?[query redacted] HTTP/1.1" 401' in output
    assert '"POST /v1/predict?[query redacted] HTTP/1.1" 200' in output


def test_outcomes_and_churn_events_round_trip(logged, published):
    server, monitor, _ = logged
    records = [
        dict(r, customer_id=f"OUT-{i}") for i, r in enumerate(published.records[:4])
    ]
    with server.client() as c:
        preds = c.post("/v1/predict", json=records).json()["predictions"]
        outcomes = [
            {"id": p["customer_id"], "churned": i % 2 == 0, "scored_at": p["scored_at"]}
            for i, p in enumerate(preds[:3])
        ]
        r = c.post("/v1/outcomes", json=outcomes)
        assert r.status_code == 202, r.text
        assert r.json() == {"accepted": 3}
        events = c.post(
            "/v1/churn-events",
            json=[{"id": "OUT-3", "churned_at": "2026-01-15"}],
        )
        assert events.status_code == 202, events.text
        future = c.post(
            "/v1/churn-events", json=[{"id": "OUT-3", "churned_at": "2999-01-01"}]
        )
        assert future.status_code == 422
        assert "future" in future.json()["error"]
        bad = c.post("/v1/outcomes", json=[{"id": "OUT-0", "churned": "perhaps"}])
        assert bad.status_code == 422
        assert bad.json()["columns"] == ["churned"]
    got = _wait_rows(monitor, {"OUT-0", "OUT-1", "OUT-2"}, "outcomes")
    got = got.set_index("__id__").sort_index()
    assert got["__y__"].tolist() == [True, False, True]
    scored = pd.to_datetime([p["scored_at"] for p in preds[:3]], utc=True)
    stored = got["__scored_at__"]
    if pd.api.types.is_integer_dtype(stored):  # µs since the epoch
        stored = pd.to_datetime(stored, unit="us", utc=True)
    assert (pd.DatetimeIndex(stored) == scored).all()
    ev = _wait_rows(monitor, {"OUT-3"}, "events")
    assert len(ev) == 1


def test_access_control(logged, published):
    server, _, _token_file = logged
    records = published.records[:2]
    with server.client(token=None) as c:
        assert c.get("/healthz").text == "ok"
        assert c.get("/readyz").json()["model_version"] == published.v1
        missing = c.post("/v1/predict", json=records)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/metrics").status_code == 401
        assert c.post("/v1/outcomes", json=[]).status_code == 401
        wrong = c.post(
            "/v1/predict", json=records, headers={"Authorization": "Bearer nope-nope"}
        )
        assert wrong.status_code == 403
        assert "nope-nope" not in wrong.text
        basic = c.post(
            "/v1/predict", json=records, headers={"Authorization": f"Basic {TOKEN}"}
        )
        assert basic.status_code == 401
        by_header = c.post("/v1/predict", json=records, headers={"X-API-Key": TOKEN})
        assert by_header.status_code == 200
    with server.client(token=OTHER_TOKEN) as c:  # from the token file
        assert c.post("/v1/predict", json=records).status_code == 200


def test_revoked_token_is_refused_without_restart(logged, published):
    server, _, token_file = logged
    records = published.records[:1]
    revoked = "revoked-token-0123456789abcdef"
    token_file.write_text(f"{OTHER_TOKEN}\n{revoked}\n")
    deadline = time.monotonic() + 10
    with server.client(token=revoked) as c:
        while c.post("/v1/predict", json=records).status_code != 200:
            assert time.monotonic() < deadline, "new key never accepted"
            time.sleep(0.1)
        token_file.write_text(f"{OTHER_TOKEN}\n")
        while (status := c.post("/v1/predict", json=records).status_code) == 200:
            assert time.monotonic() < deadline, "revoked key still accepted"
            time.sleep(0.1)
        assert status == 403
    with server.client() as c:  # the environment's key is untouched
        assert c.post("/v1/predict", json=records).status_code == 200


def test_metrics_and_no_secret_anywhere(logged, published):
    server, _, _ = logged
    with server.client() as c:
        c.post("/v1/predict", json=published.records[:7])
        text = c.get("/metrics").text
    assert f'churnlib_serve_model_info{{version="{published.v1}"}} 1.0' in text
    assert 'churnlib_serve_requests_total{endpoint="predict",status="200"}' in text
    assert "churnlib_serve_request_duration_seconds_bucket" in text
    assert "churnlib_serve_log_backlog_rows" in text
    assert 'churnlib_serve_rows_logged_total{kind="predictions"}' in text
    scored = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("churnlib_serve_rows_scored_total")
    ]
    assert scored
    assert scored[0] >= 7
    for secret in (TOKEN, OTHER_TOKEN):
        assert secret not in text
        assert secret not in server.output()


def test_generated_key_is_printed_once_and_works(serve, published):
    server: Server = serve(
        [published.ref, "--reload-interval", "0"],
        env={"CHURNLIB_SERVE_TOKENS": ""},
        token=None,
    )
    out = server.output()
    assert "generated one for this run" in out
    lines = [line.strip() for line in out.splitlines()]
    key = next(
        line for line in lines if len(line) == 43 and " " not in line
    )  # token_urlsafe(32)
    assert out.count(key) == 2  # the key line and the curl example, once
    with server.client(token=None) as c:
        assert c.post("/v1/predict", json=published.records[:1]).status_code == 401
    with server.client(token=key) as c:
        r = c.post("/v1/predict", json=published.records[:1])
        assert r.status_code == 200
        assert r.json()["logged"] is False


def test_no_auth_serves_openly(serve, published):
    server = serve([published.ref, "--no-auth", "--reload-interval", "0"], token=None)
    anonymous = [
        {k: v for k, v in r.items() if k != "customer_id"}
        for r in published.records[:3]
    ]
    with server.client(token=None) as c:
        r = c.post("/v1/predict", json=anonymous)
        assert r.status_code == 200
        rows = r.json()["predictions"]
        assert [p["customer_id"] for p in rows] == [None, None, None]
        assert len({p["prediction_id"] for p in rows}) == 3
        assert c.get("/metrics").status_code == 200
        assert (
            c.post("/v1/outcomes", json=[{"id": "x", "churned": 1}]).status_code == 409
        )
    assert "--no-auth" in server.output()


def test_concurrent_requests_batched_keep_their_own_answers(logged, published):
    """Good and bad requests at once: each gets its own rows or its own error."""
    import asyncio

    import httpx

    server, monitor, _ = logged
    base = published.records[:30]

    def body(i: int) -> list[dict]:
        rows = [
            dict(r, customer_id=f"CC{i}-{j}") for j, r in enumerate(base[: 1 + i % 7])
        ]
        if i % 5 == 3:
            rows[0]["contract"] = "weekly"
        if i % 5 == 4:  # a column missing from every row of this request
            rows = [{k: v for k, v in r.items() if k != "tenure_months"} for r in rows]
        return rows

    async def fire() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=120
        ) as c:
            for _ in range(3):  # several waves, so some land together
                out = await asyncio.gather(
                    *(c.post("/v1/predict", json=body(i)) for i in range(40))
                )
            return list(out)

    answers = asyncio.run(fire())
    good_ids: set[str] = set()
    for i, r in enumerate(answers):
        if i % 5 == 3:
            assert r.status_code == 422
            assert r.json()["columns"] == ["contract"]
            continue
        if i % 5 == 4:
            assert r.status_code == 422
            assert r.json()["columns"] == ["tenure_months"]
            continue
        assert r.status_code == 200, r.text
        rows = r.json()["predictions"]
        sent = body(i)
        assert [p["customer_id"] for p in rows] == [s["customer_id"] for s in sent]
        expected = _expected(published, published.v1, sent)
        np.testing.assert_allclose([p["churn_probability"] for p in rows], expected)
        good_ids.update(p["customer_id"] for p in rows)

    async def fire_good() -> None:  # all valid: these can be scored together
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=120
        ) as c:
            for _ in range(3):
                got = await asyncio.gather(
                    *(c.post("/v1/predict", json=base[: 1 + i % 7]) for i in range(40))
                )
                assert {r.status_code for r in got} == {200}

    asyncio.run(fire_good())
    with server.client() as c:
        text = c.get("/metrics").text
    batches = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("churnlib_serve_batches_total")
    ]
    assert batches
    assert batches[0] >= 1  # concurrent requests were scored together
    logged_rows = _wait_rows(monitor, good_ids)
    # three waves of the same ids: each good row logged three times, bad never
    assert logged_rows["__id__"].value_counts().eq(3).all()
    assert set(logged_rows["__id__"]) == good_ids


def test_direct_route_serves_the_models_exact_probabilities(logged, published):
    """Once the shortcut through the pipeline is trusted, answers stay bit-equal."""
    server, _, _ = logged
    with server.client() as c:
        for i in range(4):  # the first batches are checked against the model
            assert (
                c.post("/v1/predict", json=published.records[i : i + 2]).status_code
                == 200
            )
        ready = c.get("/readyz").json()
        assert (ready["predict_route"], ready["predict_route_kind"]) == (
            "direct",
            "arrays",
        )
        for rows in (published.records[:1], published.records[20:120]):
            r = c.post("/v1/predict", json=rows)
            assert r.status_code == 200, r.text
            got = [p["churn_probability"] for p in r.json()["predictions"]]
            np.testing.assert_array_equal(got, _expected(published, published.v1, rows))
