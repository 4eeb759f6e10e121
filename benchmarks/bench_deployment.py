"""ModelStore round trip vs raw fsspec transfer of the same bytes.

Publishes and loads a random forest of about 50 MB (``--quick``, a smoke run:
about 1 MB, one round)
on ``file://`` and on a moto S3 server (its own process), and compares with the
same work done by hand: ``skops.io.dumps`` -> ``fs.pipe_file`` ->
``fs.cat_file`` -> ``skops.io.loads``. Serialization is in both sides, so the
ratio is the store's own overhead: hashing, the manifest, the MLflow metadata
files, verification.
Target: <= 1.3x. Both sides run in interleaved rounds (alternating order);
the median and range of each side and of the per-round ratio are reported.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Report, interleaved

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def make_model(target_mb: float):
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    n = 20_000
    X = rng.normal(size=(n, 10))
    y = rng.integers(0, 2, n)  # noise: trees grow to full depth
    # about 0.6 MB per fully grown tree on 20k rows
    trees = max(2, round(target_mb / 0.6))
    return RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=1).fit(
        X, y
    )


def raw_round_trip(fs, folder: str, model, trusted: list[str]) -> None:
    """The same work by hand. Each call writes a new file, as a publish does."""
    import uuid

    import skops.io as sio

    data = sio.dumps(model)
    path = f"{folder}/{uuid.uuid4().hex}.skops"
    fs.pipe_file(path, data)
    back = fs.cat_file(path)
    sio.loads(back, trusted=trusted)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main(quick: bool) -> None:
    import skops.io as sio

    from churnlib.deployment import ModelStore

    report = Report("deployment_quick" if quick else "deployment")
    # the 1.3x target is for the 50 MB model; --quick is a smoke run where
    # the fixed per-file round trips dominate
    target = None if quick else 1.3
    model = make_model(1 if quick else 50)
    data = sio.dumps(model)
    size_mb = len(data) / 2**20
    trusted = sio.get_untrusted_types(data=data)
    report.value("model size (skops)", round(size_mb, 1), unit="MB")
    t0 = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    report.value(
        "sha256 throughput",
        round(size_mb / (time.perf_counter() - t0)),
        unit="MB/s",
    )
    repeat = 1 if quick else 9

    with tempfile.TemporaryDirectory() as tmp:
        import fsspec

        store = ModelStore(Path(tmp, "store").as_uri())
        fs = fsspec.filesystem("file", auto_mkdir=True)

        def ours_file() -> None:
            v = store.publish(model)
            store.load(v.version)

        t = interleaved(
            {
                "raw": lambda: raw_round_trip(
                    fs, str(Path(tmp, "raw")), model, trusted
                ),
                "ours": ours_file,
            },
            repeat=repeat,
            after_round=lambda: (
                fs.rm(str(Path(tmp, "raw")), recursive=True),
                store.prune(keep=0),
            ),
        )
        report.compare(
            "publish+load file://",
            t["ours"],
            t["raw"],
            baseline="dumps+pipe_file+cat_file+loads",
            target=target,
            basis="serialization on both sides; the ratio is the store's own work",
            note=f"{size_mb:.0f} MB",
        )

    # moto in its own process, as a real S3 endpoint would be: in-process, its
    # request handling would compete with the client for the GIL
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("moto_server")),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/moto-api/")
        options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
        }
        s3 = fsspec.filesystem("s3", **options)
        s3.mkdir("bench-raw")
        store = ModelStore("s3://bench-store/models", storage_options=options)

        def ours_s3() -> None:
            v = store.publish(model)
            store.load(v.version)

        t = interleaved(
            {
                "raw": lambda: raw_round_trip(s3, "bench-raw/models", model, trusted),
                "ours": ours_s3,
            },
            repeat=repeat,
            after_round=lambda: (
                s3.rm("bench-raw/models", recursive=True),
                store.prune(keep=0),
            ),
        )
        report.compare(
            "publish+load s3:// (moto server)",
            t["ours"],
            t["raw"],
            baseline="dumps+pipe_file+cat_file+loads",
            target=target,
            basis="serialization on both sides; moto server in its own process",
            note=f"{size_mb:.0f} MB",
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    report.write()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
