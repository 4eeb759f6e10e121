"""DriftDetector vs Evidently's DataDriftPreset and NannyML's univariate drift.

Usage (each peer in its own venv, see the ``bench_peers`` nox session)::

    nox -s bench_peers                      # both peers, 1M rows x 15 columns
    nox -s bench_peers -- --quick           # 50k rows
    python benchmarks/bench_peers.py --peer nannyml [--quick] [--rows N]

Same data for everyone: 1M reference and 1M current rows x 15 columns (10
numeric: normal, log-normal, Poisson counts; 5 string categoricals; three
columns drifted), written once to Parquet under ``benchmarks/.data/peers`` and
read back with pandas (reading is not timed). In one process:

- ``churnlib``: ``DriftDetector().fit(reference).check(current)`` -- PSI + KS
  (numeric), PSI + chi-square (categorical);
- ``scipy loop``: the same statistics column by column with numpy/scipy;
- the peer, with its defaults: Evidently ``Report([DataDriftPreset()])``
  (K-S / chi-square p-values below 1,000 rows, Wasserstein / Jensen-Shannon
  distances above), NannyML ``UnivariateDriftCalculator`` in its usual
  10 chunks (thresholds from the spread over reference chunks), with KS +
  Jensen-Shannon for numeric and chi-square + Jensen-Shannon for categorical
  columns, so it computes what we compute; a column counts as flagged when
  any chunk alerts.

Each figure is a ratio to the peer measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report, best_of

DATA = Path(__file__).parent / ".data" / "peers"
NUMERIC = [f"n{j}" for j in range(10)]
CATEGORICAL = [f"c{j}" for j in range(5)]
LEVELS = np.array(["month-to-month", "one year", "two year", "DSL", "fiber", "none"])


def make(n: int, seed: int, drift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for j, name in enumerate(NUMERIC):
        shift = 0.3 if drift and j in (0, 1) else 0.0
        if j % 3 == 0:
            cols[name] = rng.normal(shift, 1.0, n)
        elif j % 3 == 1:
            cols[name] = rng.lognormal(3.0 + shift, 0.6, n)
        else:
            cols[name] = rng.poisson(3, n).astype(np.int64)
    for j, name in enumerate(CATEGORICAL):
        p = np.array([0.35, 0.25, 0.15, 0.12, 0.08, 0.05])
        if drift and j == 0:
            p = p[::-1]
        cols[name] = LEVELS[rng.choice(len(LEVELS), n, p=p)]
    return pd.DataFrame(cols)


def data(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    DATA.mkdir(parents=True, exist_ok=True)
    paths = [DATA / f"{kind}-{n}.parquet" for kind in ("reference", "current")]
    if not all(p.exists() for p in paths):
        for path, (seed, drift) in zip(paths, [(0, False), (1, True)], strict=True):
            tmp = path.with_suffix(".tmp")
            make(n, seed, drift).to_parquet(tmp, index=False)
            tmp.replace(path)
    return pd.read_parquet(paths[0]), pd.read_parquet(paths[1])


def run_churnlib(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    from churnlib.monitoring import DriftDetector

    out = DriftDetector().fit(ref).check(cur)
    return sorted(set(out.loc[out["drifted"], "feature"]))


def run_scipy(ref: pd.DataFrame, cur: pd.DataFrame) -> None:
    from bench_monitoring import scipy_loop

    scipy_loop(ref, cur)


def run_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=NUMERIC, categorical_columns=CATEGORICAL
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    flagged = []
    for metric in snapshot.dict().get("metrics", []):
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        # p-value tests flag below the threshold, distances at or above it
        is_p_value = "p_value" in config["method"] or "test" in config["method"]
        if (value < threshold) if is_p_value else (value >= threshold):
            flagged.append(config["column"])
    return sorted(flagged)


def run_nannyml(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(
        column_names=NUMERIC + CATEGORICAL,
        treat_as_categorical=CATEGORICAL,
        continuous_methods=["kolmogorov_smirnov", "jensen_shannon"],
        categorical_methods=["chi2", "jensen_shannon"],
        chunk_number=10,
    )
    result = calc.fit(ref).calculate(cur).to_df()
    alerts = [c for c in result.columns if c[-1] == "alert"]
    return sorted({c[0] for c in alerts if bool(result[c].any())})


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", choices=["evidently", "nannyml"], required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (50_000 if args.quick else 1_000_000)
    ref, cur = data(n)
    peer = {"evidently": run_evidently, "nannyml": run_nannyml}[args.peer]

    # import everything before timing (Evidently alone takes seconds to import)
    if args.peer == "evidently":
        import evidently.presets  # noqa: F401
    else:
        import nannyml  # noqa: F401
    ours_flagged = run_churnlib(ref, cur)
    ours = best_of(lambda: run_churnlib(ref, cur))
    scipy_s = best_of(lambda: run_scipy(ref, cur), repeat=1)
    t0 = time.perf_counter()
    peer_flagged = peer(ref, cur)
    peer_s = time.perf_counter() - t0

    import importlib.metadata as md

    version = md.version(args.peer)
    report = Report(f"peers_{args.peer}" + ("_quick" if args.quick else ""))
    what = f"{n:,} vs {n:,} rows x 15 columns"
    report.ratio(
        f"churnlib DriftDetector fit+check vs {args.peer} {version}, {what}",
        ours,
        peer_s,
        baseline=args.peer,
        note=f"flagged: churnlib {ours_flagged}, {args.peer} {peer_flagged}",
    )
    report.ratio(
        f"scipy per-column loop vs {args.peer} {version}",
        scipy_s,
        peer_s,
        baseline=args.peer,
    )
    report.ratio(
        "churnlib DriftDetector fit+check vs scipy per-column loop",
        ours,
        scipy_s,
        baseline="scipy loop",
        note=f"pandas {pd.__version__}",
    )
    report.write()


if __name__ == "__main__":
    main(sys.argv[1:])
