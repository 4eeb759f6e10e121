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
- the peer, at its defaults: Evidently ``Report([DataDriftPreset()])``
  (K-S / chi-square p-values below 1,000 rows, Wasserstein / Jensen-Shannon
  distances above), NannyML ``UnivariateDriftCalculator`` in its usual
  10 chunks (Jensen-Shannon for every column, thresholds from the spread over
  reference chunks); a column counts as flagged when any chunk alerts;
- an extra, non-default row for NannyML: KS + Jensen-Shannon for numeric and
  chi-square + Jensen-Shannon for categorical columns, so it computes what
  churnlib computes.

Every side is called once untimed (imports done, caches warm), then timed in
paired, interleaved rounds (3, or 1 with ``--quick``); each figure is the
median and range of the per-round ratios.

``--power`` measures detection power instead of speed (issue 17): the share of
20 seeded trials in which each tool, at its defaults, flags one column whose
mean moved by 0, 0.1, 0.2, 0.3 and 0.5 standard deviations (a normal
variable), or one categorical column (6 levels, shares 0.35 ... 0.05) of which
0, 1, 2, 5 or 10 percentage points moved from the most to the least frequent
level, for current chunks of 2,000 and 50,000 rows against a reference ten
times as large (NannyML's reference is those ten chunks). ``--peer churnlib``
also measures churnlib's false-alarm rate over 500 no-drift trials. Results
go to ``benchmarks/.data/power-<peer>.json`` and print as a Markdown table::

    python benchmarks/bench_peers.py --peer churnlib --power
    nox -s bench_peers -- --power
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report, interleaved

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


def run_nannyml(
    ref: pd.DataFrame, cur: pd.DataFrame, *, matched: bool = False
) -> list[str]:
    """NannyML at its defaults (Jensen-Shannon for every column), or matched.

    ``matched``: KS + Jensen-Shannon (numeric) and chi-square + Jensen-Shannon
    (categorical), so that it computes what churnlib computes -- an extra,
    non-default row.
    """
    import nannyml as nml

    methods: dict[str, Any] = {}
    if matched:
        methods = {
            "continuous_methods": ["kolmogorov_smirnov", "jensen_shannon"],
            "categorical_methods": ["chi2", "jensen_shannon"],
        }
    calc = nml.UnivariateDriftCalculator(
        column_names=NUMERIC + CATEGORICAL,
        treat_as_categorical=CATEGORICAL,
        chunk_number=10,
        **methods,
    )
    result = calc.fit(ref).calculate(cur).to_df()
    alerts = [c for c in result.columns if c[-1] == "alert"]
    return sorted({c[0] for c in alerts if bool(result[c].any())})


# --------------------------------------------------------------------------- #
# detection power
# --------------------------------------------------------------------------- #
MEAN_SHIFTS = (0.0, 0.1, 0.2, 0.3, 0.5)  # in standard deviations
SHARE_MOVED = (0.0, 0.01, 0.02, 0.05, 0.10)  # of the rows, level a -> level f
SIZES = (2_000, 50_000)
TRIALS = 20
LEVEL_P = np.array([0.35, 0.25, 0.15, 0.12, 0.08, 0.05])
POWER_LEVELS = np.array(["a", "b", "c", "d", "e", "f"])


def _numeric(n: int, shift: float, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n)})


def _categorical(n: int, moved: float, rng: np.random.Generator) -> pd.DataFrame:
    p = LEVEL_P.copy()
    p[0] -= moved
    p[-1] += moved
    return pd.DataFrame({"c": POWER_LEVELS[rng.choice(len(p), n, p=p)]})


def flag_churnlib(ref: pd.DataFrame, cur: pd.DataFrame) -> bool:
    from churnlib.monitoring import DriftDetector

    return bool(DriftDetector().fit(ref).check(cur)["drifted"].any())


def flag_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> bool:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    col = ref.columns[0]
    numeric = col == "x"
    definition = DataDefinition(
        numerical_columns=[col] if numeric else [],
        categorical_columns=[] if numeric else [col],
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    for metric in snapshot.dict().get("metrics", []):
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        is_p_value = "p_value" in config["method"] or "test" in config["method"]
        return bool((value < threshold) if is_p_value else (value >= threshold))
    raise RuntimeError("Evidently returned no ValueDrift metric")


def flag_nannyml(ref: pd.DataFrame, cur: pd.DataFrame) -> bool:
    import nannyml as nml

    col = ref.columns[0]
    calc = nml.UnivariateDriftCalculator(
        column_names=[col],
        treat_as_categorical=[] if col == "x" else [col],
        chunk_size=len(cur),
    )
    result = calc.fit(ref).calculate(cur).filter(period="analysis").to_df()
    alerts = [c for c in result.columns if c[-1] == "alert"]
    return bool(any(result[c].any() for c in alerts))


def power_table(flag: Any, trials: int = TRIALS) -> list[dict[str, Any]]:
    rows = []
    for n in SIZES:
        for kind, make, shifts in (
            ("mean shift (sd)", _numeric, MEAN_SHIFTS),
            ("share moved", _categorical, SHARE_MOVED),
        ):
            for shift in shifts:
                hits = 0
                for trial in range(trials):
                    rng = np.random.default_rng(
                        [trial, n, int(shift * 1000), len(kind)]
                    )
                    ref = make(10 * n, 0.0, rng)
                    cur = make(n, shift, rng)
                    hits += flag(ref, cur)
                rows.append(
                    {"rows": n, "kind": kind, "shift": shift, "flagged": hits / trials}
                )
                print(rows[-1], flush=True)
    return rows


def false_alarms(trials: int = 500) -> dict[str, float]:
    out = {}
    for n in SIZES:
        for kind, make in (("numeric", _numeric), ("categorical", _categorical)):
            hits = 0
            for trial in range(trials):
                rng = np.random.default_rng([10_000 + trial, n, len(kind)])
                hits += flag_churnlib(make(10 * n, 0.0, rng), make(n, 0.0, rng))
            out[f"{kind} {n}"] = hits / trials
            print(kind, n, hits / trials, flush=True)
    return out


def run_power(peer: str) -> None:
    import json

    flag = {
        "churnlib": flag_churnlib,
        "evidently": flag_evidently,
        "nannyml": flag_nannyml,
    }[peer]
    result: dict[str, Any] = {"peer": peer, "power": power_table(flag)}
    if peer == "churnlib":
        result["false_alarms_500_trials"] = false_alarms()
    else:
        import importlib.metadata as md

        result["version"] = md.version(peer)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    path = DATA.parent / f"power-{peer}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--peer", choices=["evidently", "nannyml", "churnlib"], required=True
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--power", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    # the peers' telemetry off, as the nox session sets it: an upload that
    # times out (no internet) would be timed as the peer's work
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if args.power or args.peer == "churnlib":
        run_power(args.peer)
        return
    n = args.rows or (50_000 if args.quick else 1_000_000)
    ref, cur = data(n)
    peer = {"evidently": run_evidently, "nannyml": run_nannyml}[args.peer]

    # import everything before timing (Evidently alone takes seconds to import)
    if args.peer == "evidently":
        import evidently.presets  # noqa: F401
    else:
        import nannyml  # noqa: F401
    import importlib.metadata as md

    version = md.version(args.peer)
    flagged = {"churnlib": run_churnlib(ref, cur), args.peer: peer(ref, cur)}
    sides = {
        "churnlib": lambda: run_churnlib(ref, cur),
        "scipy": lambda: run_scipy(ref, cur),
        args.peer: lambda: peer(ref, cur),
    }
    matched = f"{args.peer}, KS + JS / chi2 + JS"
    if args.peer == "nannyml":
        flagged[matched] = run_nannyml(ref, cur, matched=True)
        sides[matched] = lambda: run_nannyml(ref, cur, matched=True)
    # every side warm (imported, called once: the flags above), then paired,
    # interleaved rounds: the same treatment for churnlib and the peer
    t = interleaved(sides)
    report = Report(f"peers_{args.peer}" + ("_quick" if args.quick else ""))
    what = f"{n:,} vs {n:,} rows x 15 columns"
    basis = "fit + check, every side warm, at its defaults"
    report.compare(
        f"churnlib DriftDetector fit+check vs {args.peer} {version}, {what}",
        t["churnlib"],
        t[args.peer],
        baseline=f"{args.peer} {version}",
        basis=basis,
        note=f"flagged: churnlib {flagged['churnlib']}, "
        f"{args.peer} {flagged[args.peer]}",
    )
    if matched in sides:
        report.compare(
            f"churnlib DriftDetector fit+check vs {matched} (not its default)",
            t["churnlib"],
            t[matched],
            baseline=matched,
            basis="fit + check, every side warm; the peer computes what we compute",
            note=f"flagged: {matched} {flagged[matched]}",
        )
    report.compare(
        f"scipy per-column loop vs {args.peer} {version}",
        t["scipy"],
        t[args.peer],
        baseline=f"{args.peer} {version}",
        basis=basis,
    )
    report.compare(
        "churnlib DriftDetector fit+check vs scipy per-column loop",
        t["churnlib"],
        t["scipy"],
        baseline="scipy loop",
        basis="fit + check; the loop redoes the reference every time",
        note=f"pandas {pd.__version__}",
    )
    report.write()


if __name__ == "__main__":
    main(sys.argv[1:])
