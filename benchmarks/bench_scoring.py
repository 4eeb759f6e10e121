"""Batch scoring: ``score_table`` vs the pyarrow batch loop a user would write.

Usage: ``python benchmarks/bench_scoring.py [--quick] [--repeat N] [--before DIR]``
(2M rows, 3 rounds; ``--quick``, a smoke run: 20k rows in two files, a model fitted
on 2k rows, one round).

1. Generates the rows with ``generate_customers`` and writes them as Parquet
   part files (100k-row row groups; 5k with ``--quick``) to a temporary folder.
2. Fits the pipeline a churn model usually is (one-hot encoding of the text
   columns + a 50-tree RandomForest, ``n_jobs=-1``) on 20k other rows, and
   attaches the contract :class:`~churnlib.ChurnTrainer` would (so
   ``score_table`` does its whole job: cleaning every batch by the contract).
3. Times, in **interleaved rounds** (A B C, C B A, A B C), each side in its
   own fresh subprocess so its peak RSS is its own:
   - ``loop``: the 15-line pyarrow loop -- for each file, ``iter_batches``,
     ``to_pandas``, ``predict_proba``, write ids + probability with a
     ``ParquetWriter``, one batch after the other;
   - ``local``: ``score_table(engine="local")`` end to end (plan, read,
     prepare, encode, predict, write, commit);
   - ``dask``: ``score_table(engine="dask")`` on a LocalCluster of 2 worker
     processes started in the child beforehand and warmed up on one file
     (cluster start-up and imports are reported apart).
4. Reports the median and range of each side, the paired ratios, peak RSS,
   where the local engine's time goes, and rows per core-hour.
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

from _harness import Report, Sample, interleaved

ROW_GROUP = 100_000
BATCH_ROWS = 100_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, n_rows: int, chunk: int, row_group: int) -> None:
    from churnlib.data import generate_customers

    folder.mkdir(parents=True)
    for i, start in enumerate(range(0, n_rows, chunk)):
        n = min(chunk, n_rows - start)
        frame = generate_customers(n, random_state=1000 + i).drop(columns="churned")
        frame.to_parquet(folder / f"part-{i:04d}.parquet", row_group_size=row_group)


def train(path: Path, n_rows: int = 20_000) -> None:
    import joblib
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from churnlib import infer_contract
    from churnlib._core.contract import attach_contract
    from churnlib.data import generate_customers

    df = generate_customers(n_rows, random_state=7)
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
    model = make_pipeline(encode, forest).fit(X, df["churned"])
    attach_contract(
        model, infer_contract(X, df["churned"], id_columns=("customer_id",))
    )
    # our own artifact in our own temp folder (never a remote one)
    joblib.dump(model, path)


# -- child processes -----------------------------------------------------------


def child_loop(folder: Path, model_path: Path, out: Path) -> dict:
    """The plain pyarrow batch loop a user would write (timed end to end)."""
    import joblib
    import pyarrow as pa
    import pyarrow.parquet as pq

    model = joblib.load(model_path)
    features = list(model.feature_names_in_)
    t0 = time.perf_counter()
    out.mkdir()
    rows = 0
    for i, path in enumerate(sorted(folder.glob("*.parquet"))):
        writer = None
        for batch in pq.ParquetFile(path).iter_batches(
            batch_size=BATCH_ROWS, columns=["customer_id", *features]
        ):
            frame = batch.to_pandas()
            proba = model.predict_proba(frame[features])[:, 1]
            table = pa.table(
                {"customer_id": frame["customer_id"], "churn_probability": proba}
            )
            if writer is None:
                writer = pq.ParquetWriter(out / f"part-{i:05d}.parquet", table.schema)
            writer.write_table(table)
            rows += len(frame)
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": _rss_mb()}


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
        "encode": float(frame.get("encode_seconds", frame["rows"] * 0).sum()),
        "predict": float(frame["predict_seconds"].sum()),
        "write": float(frame["write_seconds"].sum()),
        "workers": int(frame["worker"].nunique()),
    }


def child_local(folder: Path, model_path: Path, out: Path) -> dict:
    import joblib

    from churnlib.scoring import score_table

    model = joblib.load(model_path)
    result = score_table(model, folder, out, batch_rows=BATCH_ROWS)
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
        score_table(
            model,
            first,
            out.with_name(out.name + "-warm"),
            engine="dask",
            client=client,
        )
        warmup = time.perf_counter() - t0
        result = score_table(
            model, folder, out, engine="dask", client=client, batch_rows=BATCH_ROWS
        )
        worker_rss = client.run(_rss_mb)
    finally:
        client.close()
        cluster.close()
    return {
        **_summary(result),
        "startup_seconds": startup,
        "warmup_seconds": warmup,
        "peak_rss_mb": _rss_mb(),
        "worker_peak_rss_mb": max(worker_rss.values()),
    }


CHILDREN = {
    "loop": child_loop,
    "local": child_local,
    "dask": child_dask,
    "before": child_local,  # the same call, on an older churnlib (--before)
}


def run_child(
    mode: str, folder: Path, model: Path, out: Path, before: str | None = None
) -> Sample:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.with_name(out.name + "-warm"), ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder), str(model), str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "BENCH_SCORING_BATCH_ROWS": str(BATCH_ROWS),
            # --before: import churnlib from an exported older tree
            **({"PYTHONPATH": before} if mode == "before" and before else {}),
        },
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child {mode} failed")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        mode,
        {k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()},
        flush=True,
    )
    return Sample(info["seconds"], info)


def main(argv: list[str]) -> int:
    global BATCH_ROWS
    if argv and argv[0] == "--child":
        mode, *paths = argv[1:]
        BATCH_ROWS = int(os.environ.get("BENCH_SCORING_BATCH_ROWS", BATCH_ROWS))
        print(json.dumps(CHILDREN[mode](*map(Path, paths))))
        return 0

    quick = "--quick" in argv
    repeat = 1 if quick else 3
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else repeat
    # --before DIR: also time score_table from an older tree, e.g. exported with
    # `git archive <commit> churnlib | tar -x -C DIR` (the "before" column)
    before = argv[argv.index("--before") + 1] if "--before" in argv else None
    n_rows = 20_000 if quick else 2_000_000
    chunk = 10_000 if quick else 500_000
    row_group = 5_000 if quick else ROW_GROUP
    BATCH_ROWS = 5_000 if quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="churnlib-bench-scoring-"))
    try:
        t0 = time.perf_counter()
        generate(tmp / "in", n_rows, chunk, row_group)
        train(tmp / "model.joblib", 2_000 if quick else 20_000)
        print(
            f"generated {n_rows:,} rows in {time.perf_counter() - t0:.1f}s", flush=True
        )
        args = (tmp / "in", tmp / "model.joblib")
        modes = ["loop", "local", "dask"] + (["before"] if before else [])
        times = interleaved(
            {
                mode: (lambda m=mode: run_child(m, *args, tmp / f"out-{m}", before))
                for mode in modes
            },
            repeat=repeat,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    loop, local, dask = times["loop"], times["local"], times["dask"]
    cores = os.cpu_count() or 1
    report = Report("scoring" + ("_quick" if quick else ""))
    report.value(
        "rows scored",
        n_rows,
        unit="rows",
        note=f"{local.info[0]['partitions']} partitions of <= {BATCH_ROWS:,} rows; "
        f"{cores} cores",
    )
    report.compare(
        "local score_table (read + contract prepare + encode + predict + write)",
        local,
        loop,
        baseline="the pyarrow batch loop (read, predict_proba, write; no cleaning)",
        target=0.8,
        basis="end to end wall time, each side a fresh process",
    )
    if "before" in times:
        old = times["before"]
        report.compare(
            "BEFORE (churnlib without the stage pipeline) score_table",
            old,
            loop,
            baseline="the pyarrow batch loop",
            basis="same rounds, same input; the older tree via --before",
            note=f"peak RSS {old.info_max('peak_rss_mb'):.0f} MiB",
        )
        report.compare(
            "after vs before: local score_table", local, old, baseline="before"
        )
    rss = local.info_max("peak_rss_mb")
    report.value(
        "local score_table peak RSS",
        round(rss),
        unit="MiB",
        target="<= 600",
        ok=rss <= 600,
        value_range=(
            round(min(i["peak_rss_mb"] for i in local.info)),
            round(rss),
        ),
        note=f"pyarrow loop: {loop.info_max('peak_rss_mb'):.0f} MiB",
    )
    report.compare(
        "dask engine, 2 local worker processes",
        dask,
        local,
        baseline="local engine",
        basis="warm cluster; start-up and a first run on one file not included",
        note=(
            f"cluster start-up {dask.info_median('startup_seconds'):.1f}s, "
            f"warm-up run {dask.info_median('warmup_seconds'):.1f}s, worker peak "
            f"RSS {dask.info_max('worker_peak_rss_mb'):.0f} MiB"
        ),
    )
    busy = {k: local.info_median(k) for k in ("read", "encode", "predict", "write")}
    report.value(
        "local: where the time goes",
        round(local.median, 2),
        unit="s",
        note=(
            f"plan {local.info_median('plan_seconds'):.2f}s, commit "
            f"{local.info_median('commit_seconds'):.2f}s; summed over stage "
            "threads: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in busy.items())
            + " (stages overlap, so the sum exceeds the wall time)"
        ),
    )
    for name, t in (("local engine", local), ("pyarrow loop", loop), ("dask", dask)):
        per_hour = [
            i["rows"] / (s * cores) * 3600
            for i, s in zip(t.info, t.samples, strict=True)
        ]
        per_hour.sort()
        report.value(
            f"{name}: rows per core-hour",
            f"{per_hour[len(per_hour) // 2] / 1e6:,.0f}M",
            unit="rows/core-hour",
            value_range=(
                round(per_hour[0] / 1e6),
                round(per_hour[-1] / 1e6),
            ),
            note=f"rows / (wall seconds x {cores} cores); object-store latency "
            "not included",
        )
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
