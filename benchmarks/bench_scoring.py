"""Batch scoring: streamed local engine vs raw predict_proba; Dask vs local.

Usage: ``python benchmarks/bench_scoring.py [--quick]`` (10M rows, or 200k).

1. Generates the rows in chunks with ``generate_customers`` and writes them as
   Parquet part files (100k-row row groups) to a temporary folder.
2. Fits a RandomForest pipeline (one-hot encoding + 50 trees, ``n_jobs=-1``)
   on 20k other rows.
3. Runs each side in its own subprocess, so peak RSS is that side's own:
   - ``raw``: reads every row into one DataFrame (not timed), then times one
     ``model.predict_proba(X)`` -- the in-memory baseline;
   - ``local``: times ``score_table(engine="local")`` end to end (read,
     predict, write Parquet parts, commit);
   - ``dask``: starts a LocalCluster (2 worker processes, 1 thread each, timed
     apart), then times ``score_table(engine="dask")`` on the same input.
4. Splits the Dask run into planning, per-partition read / predict / write,
   scheduling and idle time, and commit; and estimates rows/hour on a
   10-worker cluster from the measured per-partition costs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report

CHUNK = 500_000
ROW_GROUP = 100_000
BATCH_ROWS = 100_000


def _batch_rows() -> int:
    return int(os.environ.get("BENCH_SCORING_BATCH_ROWS", BATCH_ROWS))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, n_rows: int, chunk: int, row_group: int) -> None:
    from churnlib.data import generate_customers

    folder.mkdir(parents=True)
    for i, start in enumerate(range(0, n_rows, chunk)):
        n = min(chunk, n_rows - start)
        frame = generate_customers(n, random_state=1000 + i).drop(columns="churned")
        frame.to_parquet(folder / f"part-{i:04d}.parquet", row_group_size=row_group)


def train(path: Path) -> None:
    import joblib
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from churnlib.data import generate_customers

    df = generate_customers(20_000, random_state=7)
    X = df.drop(columns=["customer_id", "churned"])
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder="passthrough",
    )
    forest = RandomForestClassifier(
        n_estimators=50, max_depth=12, min_samples_leaf=5, n_jobs=-1, random_state=0
    )
    # our own artifact in our own temp folder (never a remote one)
    joblib.dump(make_pipeline(encode, forest).fit(X, df["churned"]), path)


# -- child processes -----------------------------------------------------------


def child_raw(folder: Path, model_path: Path) -> dict:
    import joblib
    import pandas as pd

    model = joblib.load(model_path)
    X = pd.read_parquet(folder, columns=list(model.feature_names_in_))
    t0 = time.perf_counter()
    proba = model.predict_proba(X)[:, 1]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(proba), "peak_rss_mb": _rss_mb()}


def _summary(result) -> dict:
    frame = result.to_frame()
    return {
        "seconds": result.seconds,
        "plan_seconds": result.plan_seconds,
        "run_seconds": result.run_seconds,
        "commit_seconds": result.commit_seconds,
        "rows": result.rows,
        "partitions": result.n_partitions,
        "read": float(frame["read_seconds"].sum()),
        "predict": float(frame["predict_seconds"].sum()),
        "write": float(frame["write_seconds"].sum()),
        "workers": int(frame["worker"].nunique()),
    }


def child_local(folder: Path, model_path: Path, out: Path) -> dict:
    import joblib

    from churnlib.scoring import score_table

    model = joblib.load(model_path)
    result = score_table(model, folder, out, batch_rows=_batch_rows())
    return {**_summary(result), "peak_rss_mb": _rss_mb()}


def child_dask(folder: Path, model_path: Path, out: Path) -> dict:
    import joblib
    from distributed import Client, LocalCluster

    from churnlib.scoring import score_table

    model = joblib.load(model_path)
    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = Client(cluster)
    startup = time.perf_counter() - t0
    try:
        # warm-up on the first file: worker imports and the model broadcast,
        # paid once per cluster (a scheduled job on a long-lived cluster skips it)
        first = sorted(folder.glob("*.parquet"))[0]
        t0 = time.perf_counter()
        client.run(_import_stack)
        imports = time.perf_counter() - t0
        t0 = time.perf_counter()
        score_table(model, first, out.with_name("warm"), engine="dask", client=client)
        warmup = time.perf_counter() - t0
        result = score_table(
            model, folder, out, engine="dask", client=client, batch_rows=_batch_rows()
        )
        worker_rss = client.run(_rss_mb)
    finally:
        client.close()
        cluster.close()
    return {
        **_summary(result),
        "startup_seconds": startup,
        "warmup_seconds": warmup,
        "import_seconds": imports,
        "peak_rss_mb": _rss_mb(),
        "worker_peak_rss_mb": max(worker_rss.values()),
    }


def _import_stack() -> None:
    import sklearn.ensemble  # noqa: F401

    import churnlib.scoring  # noqa: F401


def run_child(mode: str, *args: Path, batch_rows: int = BATCH_ROWS) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BENCH_SCORING_BATCH_ROWS": str(batch_rows)},
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child {mode} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        mode, *paths = argv[1:]
        fn = {"raw": child_raw, "local": child_local, "dask": child_dask}[mode]
        print(json.dumps(fn(*map(Path, paths))))
        return 0

    quick = "--quick" in argv
    n_rows = 200_000 if quick else 10_000_000
    chunk = 50_000 if quick else CHUNK
    row_group = 25_000 if quick else ROW_GROUP
    batch = 25_000 if quick else BATCH_ROWS  # quick: 8 partitions for 2 cores
    tmp = Path(tempfile.mkdtemp(prefix="churnlib-bench-scoring-"))
    try:
        t0 = time.perf_counter()
        generate(tmp / "in", n_rows, chunk, row_group)
        gen_s = time.perf_counter() - t0
        train(tmp / "model.joblib")
        print(f"generated {n_rows:,} rows in {gen_s:.1f}s", flush=True)

        raw = run_child("raw", tmp / "in", tmp / "model.joblib")
        print("raw", raw, flush=True)
        local = run_child(
            "local", tmp / "in", tmp / "model.joblib", tmp / "out-l", batch_rows=batch
        )
        print("local", local, flush=True)
        dask = run_child(
            "dask", tmp / "in", tmp / "model.joblib", tmp / "out-d", batch_rows=batch
        )
        print("dask", dask, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    report = Report("scoring" + ("_quick" if quick else ""))
    report.value("rows", n_rows, unit="rows", note=f"{dask['partitions']} partitions")
    report.ratio(
        "local streaming score_table (read + predict + write Parquet)",
        local["seconds"],
        raw["seconds"],
        baseline="raw predict_proba in memory",
        target=1.2,
    )
    report.value(
        "local streaming peak RSS",
        round(local["peak_rss_mb"]),
        unit="MiB",
        target="< 2048",
        ok=local["peak_rss_mb"] < 2048,
        note=f"raw in-memory side: {raw['peak_rss_mb']:.0f} MiB",
    )
    report.ratio(
        "dask engine, 2 local worker processes",
        dask["seconds"],
        local["seconds"],
        baseline="local engine",
        note=(
            f"warm cluster; not included: cluster start-up "
            f"{dask['startup_seconds']:.1f}s, worker imports "
            f"{dask['import_seconds']:.1f}s, a first run on one file (model "
            f"broadcast, first partitions) {dask['warmup_seconds']:.1f}s"
        ),
    )
    busy = dask["read"] + dask["predict"] + dask["write"]
    capacity = dask["run_seconds"] * dask["workers"]
    report.value(
        "dask: where the time goes",
        round(dask["seconds"], 2),
        unit="s",
        note=(
            f"plan {dask['plan_seconds']:.2f}s; in tasks read {dask['read']:.1f}s, "
            f"predict {dask['predict']:.1f}s, write {dask['write']:.1f}s "
            f"= {busy / capacity:.0%} of {dask['workers']} workers x "
            f"{dask['run_seconds']:.1f}s; scheduling/transfer/idle "
            f"{capacity - busy:.1f}s; commit {dask['commit_seconds']:.2f}s"
        ),
    )
    report.value(
        "local: where the time goes",
        round(local["seconds"], 2),
        unit="s",
        note=(
            f"plan {local['plan_seconds']:.2f}s; summed over threads read "
            f"{local['read']:.1f}s, predict {local['predict']:.1f}s, write "
            f"{local['write']:.1f}s; commit {local['commit_seconds']:.2f}s"
        ),
    )
    report.value("dask worker peak RSS", round(dask["worker_peak_rss_mb"]), unit="MiB")
    # paper estimate: each of 10 workers (2 cores each, like this machine's
    # workers here share 2 cores) runs partitions back to back at the measured
    # per-partition cost, with the measured scheduling efficiency
    per_row = busy / dask["rows"]  # core-seconds per row, all phases
    efficiency = busy / capacity
    rows_per_hour = 10 * 3600 / per_row * efficiency
    report.value(
        "paper estimate: 10 workers of one core each",
        f"{rows_per_hour / 1e6:,.0f}M",
        unit="rows/hour",
        note=(
            f"{per_row * 1e6:.2f} core-us/row measured (read+predict+write), x "
            f"{efficiency:.0%} task efficiency; object-store latency not included"
        ),
    )
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
