"""Live scoring: ``churnlib serve`` (logging on) against ``mlflow models serve``.

One run, same model, same machine, loopback only, bounded request counts:

1. Both servers start on free 127.0.0.1 ports, serving the same published
   version: ``mlflow models serve -m <version>/model --env-manager local``
   and ``churnlib serve STORE@production --monitor ... --reference ...``
   (API key on, access log on, every prediction logged to a file:// monitor
   store).
2. A bounded asyncio client loop sends a fixed number of requests of 1 row
   and of 100 rows at 1, 8 and 32 concurrent clients (one keep-alive
   connection each; a client sends its next request when the last was
   answered), alternating which server goes first in each cell and round;
   each figure is the median of ``--rounds`` rounds (throughput, p50, p99;
   only HTTP 200 responses count as answered). Latency runs from before a
   request is written to its whole response read.

   The load generator shares the two cores with the servers, so it is kept
   light, the same for both servers: since round 5 it writes each request as
   prepared bytes on an asyncio connection and reads the response with
   httptools (the C parser uvicorn uses), about 0.1 ms of CPU a request;
   ``--client httpx`` uses ``httpx.AsyncClient`` as rounds 1-4 did (about
   1.5 ms a request, as much as a 1-row request costs the server). After
   training the benchmark's model this process freezes its heap
   (:func:`gc.freeze`), so the collector's full passes stop pausing every
   client at once (0.1 s each).
3. Logging: the churnlib server is stopped with SIGTERM and the rows in the
   monitor store are counted against the rows it answered (target: 0 lost).
4. Crash: a fresh churnlib server is loaded and killed with SIGKILL mid-run;
   rows answered but missing from the store must fit in one flush window
   (rows wait up to ``flush_seconds``, then one write runs: the rows answered
   in the last ``flush_seconds`` + the last write's duration, read from
   ``/metrics`` just before the kill), and the store must still read.

Targets: >= 2x MLflow's throughput on 100-row requests; p99 <= 50 ms for
1-row requests at 8 clients.

Run: ``python benchmarks/bench_serve.py`` (about 3-5 minutes on 2 cores);
``--quick`` is a smoke run of every phase with small counts (under 40 s on 2
idle cores; it reports missed targets but fails only on errors);
``--output FILE`` writes the figures as JSON; ``--serve-arg=--max-wait-ms=1``
passes options to both churnlib servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-token-0123456789abcdef0123"
SIZES = (1, 100)


# ------------------------------------------------------------------ set-up
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish(
    root: Path, n_train: int = 20_000
) -> tuple[str, str, Path, list[dict[str, Any]]]:
    """Train a plain sklearn Pipeline, publish it; return store, version dir, ref."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from churnlib._core.contract import attach_contract, infer_contract
    from churnlib.data import generate_customers
    from churnlib.deployment import ModelStore

    df = generate_customers(n_train, random_state=0)
    y = df.pop("churned")
    X = df.drop(columns="customer_id")
    cats = list(X.select_dtypes("category").columns)
    nums = [c for c in X.columns if c not in cats]
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
                        ("num", StandardScaler(), nums),
                    ]
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ).fit(X, y)
    attach_contract(pipe, infer_contract(X, y, id_columns=["customer_id"]))
    store_url = (root / "models").as_uri()
    version = ModelStore(store_url).publish(pipe, alias="production").version
    reference = root / "reference.csv"
    generate_customers(5000, random_state=1).to_csv(reference, index=False)
    batch = generate_customers(100, random_state=2).drop(columns="churned")
    records = json.loads(batch.to_json(orient="records"))
    model_dir = root / "models" / "versions" / version / "model"
    return store_url, str(model_dir), reference, records


class Proc:
    """A server process in its own process group (stopped by its id)."""

    def __init__(self, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        out = open(log, "wb")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        out.close()

    def wait_ready(self, url: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{url} not ready after {timeout}s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)


def launch_churnlib(
    root: Path, store_url: str, reference: Path, monitor: str, name: str, *extra: str
) -> tuple[Proc, str]:
    """Start ``churnlib serve`` (not waiting for it: see :meth:`Proc.wait_ready`)."""
    port = free_port()
    env = {**os.environ, "CHURNLIB_SERVE_TOKENS": TOKEN}
    cmd = [
        sys.executable,
        "-m",
        "churnlib.serve",
        f"{store_url}@production",
        "--monitor",
        monitor,
        "--reference",
        str(reference),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]
    return Proc(cmd, root / f"{name}.log", env), f"http://127.0.0.1:{port}"


def launch_mlflow(root: Path, model_dir: str) -> tuple[Proc, str]:
    """Start ``mlflow models serve`` on the version's model folder (not waiting)."""
    port = free_port()
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    mlflow = shutil.which("mlflow", path=env["PATH"]) or "mlflow"
    cmd = [
        mlflow,
        "models",
        "serve",
        "-m",
        model_dir,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--env-manager",
        "local",
    ]
    return Proc(cmd, root / "mlflow.log", env), f"http://127.0.0.1:{port}"


# ------------------------------------------------------------------ load
#: the load generator: "raw" (asyncio streams and httptools' C parser, the
#: default) or "httpx" (httpx.AsyncClient, the generator of rounds 1-4)
CLIENT = "raw"
TIMEOUT = 60.0


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: send a request, await its response.

    The request is sent as prepared bytes (the same for every request of a
    cell) and the response parsed by httptools (the C parser uvicorn uses):
    status and body, chunked or not. A closed or reset connection, or no
    answer within ``TIMEOUT`` seconds, raises ConnectionError.
    """

    def __init__(self) -> None:
        import httptools

        self._parser = httptools.HttpResponseParser(self)
        self._error = httptools.HttpParserError
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._body: list[bytes] = []
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except self._error as err:
            self._fail(ConnectionError(f"unreadable response: {err}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("the server closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._body = []

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(
                (
                    self._parser.get_status_code(),
                    b"".join(self._body),
                    self._parser.should_keep_alive(),
                )
            )

    def _fail(self, err: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(err)
        if self.transport is not None:
            self.transport.close()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(
            TIMEOUT, self._fail, ConnectionError(f"no answer in {TIMEOUT:g} s")
        )
        assert self.transport is not None
        self.transport.write(request)
        try:
            status, body, keep_alive = await waiter
        finally:
            timer.cancel()
        if not keep_alive:
            self.transport.close()
            self.closed = True
        return status, body


def _request_bytes(url: str, payload: bytes, headers: dict[str, str]) -> bytes:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        *(f"{k}: {v}" for k, v in headers.items()),
        f"Content-Length: {len(payload)}",
        "",
        "",
    ]
    return "\r\n".join(head).encode("latin-1") + payload


async def _load(
    url: str,
    payload: bytes,
    headers: dict[str, str],
    n_requests: int,
    concurrency: int,
    *,
    keep: bool = False,
    client: str | None = None,
) -> dict[str, Any]:
    """Send ``n_requests`` from ``concurrency`` workers, one connection each.

    Each worker sends its next request when the last one was answered (a
    closed loop); latency is from before the request is sent to its whole
    response read, and only 200 responses count as answered.
    """
    latencies: list[float] = []
    failures = 0
    ok = 0
    transport_errors = 0  # no answer: the server may still have logged it
    bodies: list[tuple[float, bytes]] = []
    todo = iter(range(n_requests))
    kind = client or CLIENT

    if kind == "httpx":
        limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency
        )
        http = httpx.AsyncClient(limits=limits, timeout=TIMEOUT)

        async def post() -> tuple[int, bytes]:
            r = await http.post(url, content=payload, headers=headers)
            return r.status_code, r.content

        def worker_post() -> Any:
            return post

        closing: Any = http.aclose
    else:
        from urllib.parse import urlsplit

        request = _request_bytes(url, payload, headers)
        where = urlsplit(url)
        loop = asyncio.get_running_loop()
        opened: list[_Connection] = []

        def worker_post() -> Any:
            conn: list[_Connection] = []

            async def post() -> tuple[int, bytes]:
                if not conn or conn[0].closed:
                    try:
                        _, protocol = await loop.create_connection(
                            _Connection, where.hostname, where.port
                        )
                    except OSError as err:
                        raise ConnectionError(str(err)) from None
                    conn[:] = [protocol]
                    opened.append(protocol)
                return await conn[0].send(request)

            return post

        async def closing() -> None:
            for protocol in opened:
                if protocol.transport is not None:
                    protocol.transport.close()

    errors = (httpx.TransportError, ConnectionError)

    async def worker() -> None:
        nonlocal failures, ok, transport_errors
        post = worker_post()
        for _ in todo:
            t0 = time.perf_counter()
            try:
                status, content = await post()
            except errors:
                failures += 1
                transport_errors += 1
                if keep:  # the server is gone (crash run): stop
                    return
                continue
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                failures += 1
            else:
                ok += 1
                if keep:
                    bodies.append((time.time(), content))

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await closing()
    wall = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n_requests,
        "answered": ok,  # 200 responses
        "failures": failures,
        "transport_errors": transport_errors,
        "seconds": wall,
        "throughput": n / wall if wall else 0.0,
        "p50_ms": 1000 * latencies[n // 2] if n else float("nan"),
        "p99_ms": 1000 * latencies[min(n - 1, int(0.99 * n))] if n else float("nan"),
        "bodies": bodies,
    }


def load(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(_load(*args, **kwargs))


def payloads(records: list[dict[str, Any]]) -> dict[int, bytes]:
    """The same body for both servers: MLflow's ``dataframe_records`` shape."""
    return {n: json.dumps({"dataframe_records": records[:n]}).encode() for n in SIZES}


def store_rows(monitor: str, kind: str = "predictions") -> tuple[int, int]:
    """(rows, part files) in a monitor store; every part must read."""
    import fsspec
    import pyarrow.parquet as pq

    fs, root = fsspec.core.url_to_fs(monitor)
    folder = f"{root}/{kind}"
    try:
        parts = [p for p in fs.ls(folder, detail=False) if "/part-" in p]
    except FileNotFoundError:
        return 0, 0
    rows = 0
    for p in parts:
        with fs.open(p, "rb") as f:
            rows += pq.read_table(f).num_rows
    return rows, len(parts)


# ------------------------------------------------------------------ phases
def compare(
    servers: dict[str, tuple[str, dict[str, str]]],
    bodies: dict[int, bytes],
    counts: dict[int, int],
    concurrencies: tuple[int, ...],
    rounds: int,
) -> list[dict[str, Any]]:
    cells = []
    names = list(servers)
    for size in SIZES:
        for conc in concurrencies:
            per: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
            for r in range(rounds):
                order = names if (r + len(cells)) % 2 == 0 else names[::-1]
                for name in order:
                    url, headers = servers[name]
                    per[name].append(
                        load(url, bodies[size], headers, counts[size], conc)
                    )
            cell: dict[str, Any] = {"rows": size, "clients": conc}
            for name in names:
                runs = per[name]
                cell[name] = {
                    "throughput": statistics.median(x["throughput"] for x in runs),
                    "rows_per_s": size
                    * statistics.median(x["throughput"] for x in runs),
                    "p50_ms": statistics.median(x["p50_ms"] for x in runs),
                    "p99_ms": statistics.median(x["p99_ms"] for x in runs),
                    "failures": sum(x["failures"] for x in runs),
                    "answered": sum(x["answered"] for x in runs),
                    "transport_errors": sum(x["transport_errors"] for x in runs),
                    "range": [
                        min(x["throughput"] for x in runs),
                        max(x["throughput"] for x in runs),
                    ],
                }
            theirs = cell["mlflow"]
            cell["ratio"] = cell["churnlib"]["throughput"] / theirs["throughput"]
            print(
                f"{size:>4} rows {conc:>3} clients: churnlib "
                f"{cell['churnlib']['throughput']:7.0f} req/s "
                f"(p50 {cell['churnlib']['p50_ms']:6.1f} p99 "
                f"{cell['churnlib']['p99_ms']:6.1f} ms) | mlflow "
                f"{cell['mlflow']['throughput']:7.0f} req/s (p50 "
                f"{theirs['p50_ms']:6.1f} p99 {theirs['p99_ms']:6.1f} ms)"
                f" | x{cell['ratio']:.2f}",
                flush=True,
            )
            cells.append(cell)
    return cells


def crash_run(
    proc: Proc,
    url: str,
    monitor: str,
    records: list[dict[str, Any]],
    flush_seconds: float,
    kill_after: float,
) -> dict[str, Any]:
    """Load a fresh server, SIGKILL it mid-run; count what the store kept."""
    body = json.dumps(records[:10]).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    info: dict[str, float] = {}

    async def run() -> tuple[dict[str, Any], float]:
        task = asyncio.create_task(
            _load(f"{url}/v1/predict", body, headers, 100_000, 8, keep=True)
        )
        await asyncio.sleep(kill_after)
        async with httpx.AsyncClient(timeout=30) as c:  # how long a write takes
            text = (await c.get(f"{url}/metrics", headers=headers)).text
        write_s = max(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("churnlib_serve_log_last_write_seconds")
        )
        info["write_seconds"] = write_s
        killed_at = time.time()
        os.killpg(proc.proc.pid, signal.SIGKILL)
        return await task, killed_at

    result, killed_at = asyncio.run(run())
    proc.stop()
    answered = 10 * len(result["bodies"])
    # one flush window: rows wait up to flush_seconds, then one write runs
    span = flush_seconds + info["write_seconds"] + 0.25
    window = 10 * sum(1 for t, _ in result["bodies"] if t >= killed_at - span)
    rows, parts = store_rows(monitor)
    missing = answered - rows
    out = {
        "answered_rows": answered,
        "stored_rows": rows,
        "part_files": parts,
        "missing_rows": missing,
        "rows_answered_in_last_flush_window": window,
        "flush_seconds": flush_seconds,
        "last_write_seconds": info["write_seconds"],
        "within_one_window": 0 <= missing <= window,
        "store_reads": True,
    }
    print(
        f"kill -9 after {kill_after:.1f}s: answered {answered} rows, store holds "
        f"{rows} in {parts} parts; missing {missing} (one window: the last "
        f"{span:.2f}s = flush {flush_seconds:g}s + a write of "
        f"{info['write_seconds']:.2f}s answered {window})",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests-1", type=int, default=1500)
    parser.add_argument("--requests-100", type=int, default=400)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--output", help="write the figures as JSON here")
    parser.add_argument("--workdir", help="keep the files here (default: temp)")
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: asyncio streams + httptools (raw, default) or "
        "httpx.AsyncClient (the generator of rounds 1-4, about 1.5 ms of CPU "
        "a request on these cores)",
    )
    parser.add_argument(
        "--serve-arg",
        dest="serve_args",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for churnlib serve, e.g. --serve-arg=--max-wait-ms=1 "
        "(repeatable)",
    )
    args = parser.parse_args(argv)
    global CLIENT
    CLIENT = args.client
    # stopped from outside: still stop the servers (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n_train, kill_after = 20_000, 3.0
    if args.quick:  # a smoke run (CI): every phase, small counts
        args.rounds, args.requests_1, args.requests_100 = 1, 60, 20
        n_train, kill_after = 3_000, 1.5
    concurrencies = tuple(int(c) for c in args.concurrency.split(","))
    counts = {1: args.requests_1, 100: args.requests_100}

    # how busy the machine was: figures from a loaded machine are ratios only
    load_before = os.getloadavg()
    niceness = os.nice(0)
    print(
        f"load average {load_before[0]:.1f}, niceness {niceness}"
        + (" (niced: absolute latencies are not comparable)" if niceness else ""),
        flush=True,
    )
    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench-serve-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.perf_counter() - started - sum(phases.values()), 1)

    store_url, model_dir, reference, records = publish(root, n_train)
    # Training imported pandas, sklearn and churnlib into this process, which
    # is also the load generator: without this, a full collection of that
    # heap (0.1 s on 2 cores) pauses every client at once now and then.
    gc.collect()
    gc.freeze()
    bodies = payloads(records)
    monitor = (root / "monitor").as_uri()
    crash_monitor = (root / "monitor-crash").as_uri()
    flush_seconds = 1.0
    phase("publish")
    procs: list[Proc] = []
    try:
        # all three start at once (the crash run's server idles until used)
        ours, ours_url = launch_churnlib(
            root, store_url, reference, monitor, "churnlib", *args.serve_args
        )
        procs.append(ours)
        theirs, theirs_url = launch_mlflow(root, model_dir)
        procs.append(theirs)
        doomed, doomed_url = launch_churnlib(
            root,
            store_url,
            reference,
            crash_monitor,
            "churnlib-crash",
            "--flush-seconds",
            str(flush_seconds),
            "--flush-rows",
            "100000",
            *args.serve_args,
        )
        procs.append(doomed)
        ours.wait_ready(f"{ours_url}/readyz")
        theirs.wait_ready(f"{theirs_url}/health")
        doomed.wait_ready(f"{doomed_url}/readyz")
        phase("start servers")
        auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        plain = {"Content-Type": "application/json"}
        servers = {
            "churnlib": (f"{ours_url}/v1/predict", auth),
            "mlflow": (f"{theirs_url}/invocations", plain),
        }
        warm = 0
        for name, (url, headers) in servers.items():  # warm up both
            r = load(url, bodies[100], headers, 20, 2)
            assert r["failures"] == 0, f"{name} failed during warm-up"
            if name == "churnlib":
                warm += 20 * 100
        cells = compare(servers, bodies, counts, concurrencies, args.rounds)
        phase("load")
        answered = warm + sum(c["rows"] * c["churnlib"]["answered"] for c in cells)
        ours.stop(signal.SIGTERM)
        stored, parts = store_rows(monitor)
        # a request the client gave up on (no answer) may still have been
        # scored and logged: the store may hold up to those rows more
        unanswered = sum(c["rows"] * c["churnlib"]["transport_errors"] for c in cells)
        logging = {
            "answered_rows": answered,
            "stored_rows": stored,
            "part_files": parts,
            "lost_rows": max(answered - stored, 0),
            "rows_of_requests_without_answer": unanswered,
            "counts_agree": 0 <= stored - answered <= unanswered,
        }
        print(
            f"logging: answered {answered} rows, store holds {stored} in {parts} "
            f"parts: {max(answered - stored, 0)} lost"
            + (
                f" ({unanswered} rows of requests the client got no answer "
                "to, which the server may have logged)"
                if unanswered
                else ""
            ),
            flush=True,
        )
        theirs.stop(signal.SIGTERM)
        phase("logging count")
        crash = crash_run(
            doomed, doomed_url, crash_monitor, records, flush_seconds, kill_after
        )
        phase("kill -9 run")
    finally:
        for p in procs:
            p.stop(signal.SIGKILL, timeout=10)

    p99_target = (
        next(
            c["churnlib"]["p99_ms"]
            for c in cells
            if c["rows"] == 1 and c["clients"] == 8
        )
        if 8 in concurrencies
        else float("nan")
    )
    ratios_100 = [c["ratio"] for c in cells if c["rows"] == 100]
    verdict = {
        "throughput_100_rows_ratio_min": min(ratios_100),
        "throughput_target_met": min(ratios_100) >= 2.0,
        "p99_1_row_8_clients_ms": p99_target,
        "p99_target_met": p99_target <= 50.0,
        "no_logged_prediction_lost": logging["lost_rows"] == 0
        and logging["counts_agree"],
        "crash_within_one_window": crash["within_one_window"],
    }
    print(json.dumps(verdict, indent=2))
    print(f"phases (s): {phases}", flush=True)
    if args.output:
        Path(args.output).write_text(
            json.dumps(
                {
                    "machine": {
                        "python": platform.python_version(),
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                        "load_average_at_start": load_before[0],
                        "load_average_at_end": os.getloadavg()[0],
                        "niceness": niceness,
                    },
                    "settings": vars(args),
                    "phases_seconds": phases,
                    "cells": cells,
                    "logging": logging,
                    "crash": crash,
                    "verdict": verdict,
                },
                indent=2,
            )
        )
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
