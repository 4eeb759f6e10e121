"""ModelStore round trip vs raw fsspec transfer of the same bytes.

Publishes and loads a random forest of about 50 MB (``--quick``: about 5 MB) on
``file://`` and on a local moto S3 server, and compares with the same work done
by hand: ``skops.io.dumps`` -> ``fs.pipe_file`` -> ``fs.cat_file`` ->
``skops.io.loads``. Serialization is in both sides, so the ratio is the store's
own overhead: hashing, the manifest, the MLflow metadata files, verification.
Target: <= 1.3x.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Report, best_of

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


def raw_round_trip(fs, path: str, model, trusted: list[str]) -> None:
    import skops.io as sio

    data = sio.dumps(model)
    fs.pipe_file(path, data)
    back = fs.cat_file(path)
    sio.loads(back, trusted=trusted)


def interleaved(ours, raw, *, repeat: int) -> tuple[float, float]:
    """Best-of timings of two functions run alternately (fair under load)."""
    t_ours, t_raw = [], []
    for _ in range(repeat):
        t_raw.append(best_of(raw, repeat=1))
        t_ours.append(best_of(ours, repeat=1))
    return min(t_ours), min(t_raw)


def main(quick: bool) -> None:
    import skops.io as sio

    from churnlib.deployment import ModelStore

    report = Report("deployment_quick" if quick else "deployment")
    # the 1.3x target is for the 50 MB model; --quick is a smoke run where
    # the fixed per-file round trips dominate
    target = None if quick else 1.3
    model = make_model(5 if quick else 50)
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
    repeat = 2 if quick else 5

    with tempfile.TemporaryDirectory() as tmp:
        import fsspec

        store = ModelStore(Path(tmp, "store").as_uri())
        fs = fsspec.filesystem("file")

        def ours_file() -> None:
            v = store.publish(model)
            store.load(v.version)

        ours, raw = interleaved(
            ours_file,
            lambda: raw_round_trip(fs, str(Path(tmp, "raw.skops")), model, trusted),
            repeat=repeat,
        )
        report.ratio(
            "publish+load file://",
            ours,
            raw,
            baseline="dumps+pipe_file+cat_file+loads",
            target=target,
            note=f"{size_mb:.0f} MB",
        )

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://{host}:{port}"},
        }
        s3 = fsspec.filesystem("s3", **options)
        s3.mkdir("bench-raw")
        store = ModelStore("s3://bench-store/models", storage_options=options)

        def ours_s3() -> None:
            v = store.publish(model)
            store.load(v.version)

        ours, raw = interleaved(
            ours_s3,
            lambda: raw_round_trip(s3, "bench-raw/model.skops", model, trusted),
            repeat=repeat,
        )
        report.ratio(
            "publish+load s3:// (moto server)",
            ours,
            raw,
            baseline="dumps+pipe_file+cat_file+loads",
            target=target,
            note=f"{size_mb:.0f} MB",
        )
    finally:
        server.stop()
    report.write()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
