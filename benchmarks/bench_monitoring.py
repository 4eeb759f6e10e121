"""Monitoring: DriftDetector vs a per-column scipy loop; streaming a 10M-row log.

Usage: ``python benchmarks/bench_monitoring.py [--quick]``.

1. 1M reference rows vs 1M current rows x 20 mixed columns (15 numeric: normal,
   log-normal and Poisson counts; 5 string categoricals), three of them
   drifted. ``DriftDetector.check`` (reference histograms precomputed by
   ``fit``) against a plain loop that computes the same statistics column by
   column with numpy/scipy: PSI on reference deciles plus
   ``scipy.stats.ks_2samp`` for numeric columns, PSI plus
   ``scipy.stats.chi2_contingency`` for categorical ones. Targets: check
   <= 1 s and <= 0.05x the loop; fit + check <= 0.1x the loop (on pandas 2
   and 3: run it in a pandas 2 venv too). Fit + check is timed twice: on the
   frames as built in memory from NumPy arrays (on pandas < 3 their string
   columns hold one Python object per row), and on the same frames written
   to Parquet and read back by pandas, as a user loads them (on pandas < 3
   one Python object per distinct value, shared by the rows).
2. A 10M-row prediction log: one base of 1M customers re-scored 10 times
   (10 Parquet batches of 1M rows, the same ids each time, 20 features plus
   id, time and score), summarized by ``ChurnMonitor.report`` in a fresh
   subprocess, whose peak RSS is the figure (target < 1.5 GB).
3. Per-segment monitoring: ``report()`` over 1M logged rows x 20 columns
   with ``segments=["segment"]`` (10 values): target <= 2 s.

``--quick`` uses 100k rows and a 1M-row log. ``--drift-only`` times the
detector alone and names the result after the pandas major version, so the
same script run in a pandas 2 environment gives the pandas 2 figure.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report, best_of, interleaved

CATEGORIES = np.array(
    ["month-to-month", "one year", "two year", "DSL", "fiber optic", "none", "other"]
)


def make_frame(n: int, seed: int, *, drift: bool = False) -> pd.DataFrame:
    """15 numeric + 5 categorical columns; ``drift`` moves n0, n4 and c0."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for j in range(15):
        shift = 0.3 if drift and j in (0, 4) else 0.0
        if j % 3 == 0:
            cols[f"n{j}"] = rng.normal(shift, 1.0, n)
        elif j % 3 == 1:
            cols[f"n{j}"] = rng.lognormal(3.0 + shift, 0.6, n)
        else:
            cols[f"n{j}"] = rng.poisson(3, n).astype(np.int64)
    for j in range(5):
        p = np.array([0.35, 0.2, 0.15, 0.12, 0.08, 0.06, 0.04])
        if drift and j == 0:
            p = p[::-1]
        cols[f"c{j}"] = pd.Series(CATEGORIES[rng.choice(7, n, p=p)], dtype="str")
    return pd.DataFrame(cols)


def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, tuple]:
    """The same statistics, one column at a time, with numpy/scipy."""
    from scipy import stats

    out = {}
    for name in ref.columns:
        r, c = ref[name], cur[name]
        if pd.api.types.is_numeric_dtype(r):
            edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
            bins = np.concatenate([[-np.inf], edges, [np.inf]])
            p = np.histogram(r, bins)[0] + 0.5
            q = np.histogram(c, bins)[0] + 0.5
            p, q = p / p.sum(), q / q.sum()
            psi = float(((q - p) * np.log(q / p)).sum())
            out[name] = (psi, stats.ks_2samp(r, c).statistic)
        else:
            table = pd.concat([r.value_counts(), c.value_counts()], axis=1).fillna(0)
            p = table.iloc[:, 0].to_numpy() + 0.5
            q = table.iloc[:, 1].to_numpy() + 0.5
            p, q = p / p.sum(), q / q.sum()
            psi = float(((q - p) * np.log(q / p)).sum())
            out[name] = (psi, stats.chi2_contingency(table.to_numpy().T)[0])
    return out


def bench_detector(report: Report, n: int) -> None:
    from churnlib.monitoring import DriftDetector

    ref = make_frame(n, 0)
    cur = make_frame(n, 1, drift=True)
    det = DriftDetector().fit(ref)  # warm-up: lazy imports are not fit time
    result = det.check(cur)
    flagged = sorted(set(result.loc[result["drifted"], "feature"]))
    assert flagged == ["c0", "n0", "n4"], flagged
    # paired rounds: check (fitted once), fit + check, and the scipy loop,
    # in alternating order, so a change in machine load hits every side
    t = interleaved(
        {
            "check": lambda: det.check(cur),
            "fit": lambda: DriftDetector().fit(ref),
            "fit_check": lambda: DriftDetector().fit(ref).check(cur),
            "scipy": lambda: scipy_loop(ref, cur),
        }
    )
    report.timing(
        f"DriftDetector.check, {n:,} vs {n:,} rows x 20 columns",
        t["check"],
        target=1.0,
    )
    report.timing(f"DriftDetector.fit, {n:,} rows x 20", t["fit"])
    compare_with_loop(
        report,
        t,
        "",
        note=f"pandas {pd.__version__}; frames built in memory from NumPy arrays"
        + (
            " (one Python object per row in the string columns)"
            if ref["c0"].dtype == object
            else ""
        ),
    )
    # the same frames as a user loads them: written to Parquet and read back
    # by pandas. On pandas < 3 the string columns then hold one Python object
    # per distinct value (pandas' readers share them), not one per row.
    ref, cur = read_back(ref), read_back(cur)
    det = DriftDetector().fit(ref)
    t = interleaved(
        {
            "check": lambda: det.check(cur),
            "fit_check": lambda: DriftDetector().fit(ref).check(cur),
            "scipy": lambda: scipy_loop(ref, cur),
        }
    )
    compare_with_loop(
        report,
        t,
        ", frames read from Parquet",
        note=f"pandas {pd.__version__}; string columns as pandas.read_parquet "
        f"gives them ({ref['c0'].dtype})",
    )


def compare_with_loop(report: Report, t: dict, frames: str, note: str) -> None:
    """Report check and fit + check against the scipy loop of the same rounds."""
    report.compare(
        "DriftDetector.check vs per-column scipy loop"
        + (frames or " (same statistics)"),
        t["check"],
        t["scipy"],
        baseline="scipy loop",
        target=0.05,
        basis="check only, against a reference fitted once",
    )
    report.compare(
        "DriftDetector fit + check vs per-column scipy loop" + frames,
        t["fit_check"],
        t["scipy"],
        baseline="scipy loop",
        target=0.1,
        basis="fit + check; the loop redoes the reference every time",
        note=note,
    )


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` written to Parquet in memory and read back by pandas."""
    buf = io.BytesIO()
    frame.to_parquet(buf)
    buf.seek(0)
    return pd.read_parquet(buf)


def _hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss survives fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_report(store: str, n_ref: int) -> None:
    """Open the stored log in a fresh process and report; print peak RSS."""
    from churnlib.monitoring import ChurnMonitor

    ref = make_frame(n_ref, 0)
    scores = np.random.default_rng(9).random(n_ref)
    monitor = ChurnMonitor(
        ref, reference_scores=scores, store=store, rules=(), sinks=[]
    )
    base = _hwm_mb()
    t0 = time.perf_counter()
    rep = monitor.report(chunk_size=500_000)
    seconds = time.perf_counter() - t0
    peak = _hwm_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "before_report_mb": base,
                "rows": int(rep.chunks["n"].sum()),
                "chunks": len(rep.chunks),
            }
        )
    )


def bench_stream(report: Report, n_batches: int, batch: int) -> None:
    from churnlib.monitoring import ChurnMonitor

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp).as_uri()
        ref = make_frame(100_000, 0)
        scores = np.random.default_rng(9).random(100_000)
        monitor = ChurnMonitor(
            ref, reference_scores=scores, store=store, rules=(), sinks=[]
        )
        log_s = 0.0
        ids = np.char.add("C", np.arange(batch).astype(str))  # one re-scored base
        for i in range(n_batches):
            X = make_frame(batch, 100 + i, drift=i >= n_batches // 2)
            s = np.random.default_rng(i).random(batch)
            day = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=i)
            t0 = time.perf_counter()
            monitor.log_predictions(X, s, ids=ids, timestamp=day)
            log_s += time.perf_counter() - t0
            del X
        out = subprocess.run(
            [sys.executable, __file__, "--child", store, "100000"],
            capture_output=True,
            text=True,
            check=True,
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
    rows = n_batches * batch
    assert res["rows"] == rows, res
    report.value(
        f"log_predictions, {n_batches} batches of {batch:,} rows (Parquet, local)",
        round(log_s, 2),
        unit="s",
        note=f"{rows / log_s:,.0f} rows/s",
    )
    report.value(
        f"report() over a {rows:,}-row log: peak RSS of a fresh process",
        round(res["peak_mb"]),
        unit="MiB",
        target="< 1536 MiB",
        ok=res["peak_mb"] < 1536,
        note=(
            f"{res['before_report_mb']:.0f} MiB before report(); report took "
            f"{res['seconds']:.1f} s ({rows / res['seconds']:,.0f} rows/s), "
            f"{res['chunks']} chunks"
        ),
    )


def bench_segments(report: Report, n: int) -> None:
    from churnlib.monitoring import ChurnMonitor

    ref = make_frame(200_000, 0).assign(
        segment=lambda f: np.char.add("s", (np.arange(len(f)) % 10).astype(str))
    )
    scores = np.random.default_rng(9).random(len(ref))
    monitor = ChurnMonitor(
        ref, reference_scores=scores, segments=["segment"], rules=(), sinks=[]
    )
    X = make_frame(n, 1, drift=True).assign(
        segment=np.char.add("s", (np.arange(n) % 10).astype(str))
    )
    ids = np.char.add("C", np.arange(n).astype(str))
    monitor.log_predictions(
        X, np.random.default_rng(1).random(n), ids=ids, timestamp="2026-01-01"
    )
    seconds = best_of(lambda: monitor.report(chunk_size=n), repeat=2)
    rep = monitor.report(chunk_size=n)
    assert len(rep.segments) == 10, rep.segments
    report.value(
        f"report() with 10 segments, {n:,} rows x 21 columns (memory log)",
        round(seconds, 2),
        unit="s",
        target="<= 2 s",
        ok=seconds <= 2.0,
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child_report(argv[1], int(argv[2]))
        return
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes")
    parser.add_argument(
        "--drift-only",
        action="store_true",
        help="only the detector figures, written to "
        "results/monitoring_drift_pandas<major>.json (run it in an environment "
        "with the other pandas major to compare pandas 2 and 3)",
    )
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    if args.drift_only:
        name = f"monitoring_drift_pandas{pd.__version__.split('.')[0]}"
        report = Report(f"{name}_quick" if args.quick else name)
        bench_detector(report, n)
        report.write()
        return
    report = Report("monitoring_quick" if args.quick else "monitoring")
    bench_detector(report, n)
    bench_segments(report, n)
    if args.quick:
        bench_stream(report, 4, 250_000)
    else:
        bench_stream(report, 10, 1_000_000)
    report.write()


if __name__ == "__main__":
    main(sys.argv[1:])
