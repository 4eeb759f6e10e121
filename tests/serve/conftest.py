"""Fixtures for the scoring service: published models and real server processes.

Every server is ``python -m churnlib.serve ...`` in its own process group on a
free 127.0.0.1 port, stopped by its process id (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")
httpx = pytest.importorskip("httpx")

TOKEN = "test-token-0123456789abcdef"
OTHER_TOKEN = "other-token-0123456789abcdef"
READY_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_pipeline(n: int = 2000, *, random_state: int = 0, C: float = 1.0) -> Any:
    """A plain sklearn Pipeline on generated customers, with its contract."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from churnlib._core.contract import attach_contract, infer_contract
    from churnlib.data import generate_customers

    df = generate_customers(n, random_state=random_state)
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
            ("clf", LogisticRegression(C=C, max_iter=1000)),
        ]
    ).fit(X, y)
    return attach_contract(pipe, infer_contract(X, y, id_columns=["customer_id"]))


@dataclass
class Published:
    """A model store with two versions (v1 aliased production) and data."""

    root: Path
    store_url: str
    v1: str
    v2: str
    reference: Path
    records: list[dict[str, Any]] = field(repr=False)

    @property
    def ref(self) -> str:
        return f"{self.store_url}@production"


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    from churnlib.data import generate_customers
    from churnlib.deployment import ModelStore

    root = tmp_path_factory.mktemp("serve")
    store_url = (root / "models").as_uri()
    store = ModelStore(store_url)
    v1 = store.publish(train_pipeline(C=1.0), alias="production").version
    v2 = store.publish(train_pipeline(random_state=5, C=0.05)).version
    reference = root / "reference.csv"
    generate_customers(800, random_state=1).to_csv(reference, index=False)
    batch = generate_customers(200, random_state=2).drop(columns="churned")
    records = json.loads(batch.to_json(orient="records"))
    return Published(root, store_url, v1, v2, reference, records)


@dataclass
class Server:
    """A running ``churnlib serve`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str | None = TOKEN

    def client(self, token: str | None = "default", **kwargs: Any) -> Any:
        tok = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)


def start_server(
    args: list[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    token: str | None = TOKEN,
    wait_ready: bool = True,
) -> Server:
    port = free_port()
    full_env = {**os.environ, "CHURNLIB_SERVE_TOKENS": TOKEN, **(env or {})}
    out = open(log, "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "churnlib.serve",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=full_env,
        start_new_session=True,
    )
    out.close()
    server = Server(proc, f"http://127.0.0.1:{port}", log, token)
    if not wait_ready:
        return server
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate(signal.SIGKILL)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT}s:\n{server.output()}")


@pytest.fixture
def serve(tmp_path: Path) -> Any:
    """Start servers for one test; every one is stopped afterwards."""
    started: list[Server] = []

    def run(args: list[str], **kwargs: Any) -> Server:
        log = tmp_path / f"server-{len(started)}.log"
        server = start_server(args, log, **kwargs)
        started.append(server)
        return server

    yield run
    for server in started:
        server.terminate()


def read_log(url: str, kind: str = "predictions", storage_options: Any = None) -> Any:
    """Every row of one kind in a monitor store (reads the Parquet parts)."""
    import fsspec
    import pandas as pd

    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    fs.invalidate_cache()
    folder = f"{root.rstrip('/')}/{kind}"
    try:
        paths = sorted(
            p
            for p in fs.ls(folder, detail=False)
            if p.rsplit("/", 1)[-1].startswith("part-")
        )
    except FileNotFoundError:
        paths = []
    if not paths:
        return pd.DataFrame()
    frames = []
    for p in paths:
        with fs.open(p, "rb") as f:
            frames.append(pd.read_parquet(f))
    return pd.concat(frames, ignore_index=True)
