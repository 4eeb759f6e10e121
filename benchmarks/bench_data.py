"""Benchmark the data layer against raw baselines measured in the same run.

- ``generate_customers(1_000_000)`` vs plain numpy drawing the same number of
  random values (16 per customer; target: under 2 s on one core);
- ``simulate_production`` (10 batches of 100,000) vs the same baseline;
- ``read_churn_table`` on the shipped IBM Telco table vs ``pandas.read_csv``.

Usage: ``python benchmarks/bench_data.py [--quick]``.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from importlib.resources import as_file, files

import numpy as np
import pandas as pd
from _harness import Report, best_of

from churnlib.data import (
    generate_customers,
    read_churn_table,
    simulate_production,
)

# Random values generate_customers draws per customer: age, gender, partner,
# dependents, contract, tenure (beta), internet, phone, tech support,
# streaming, paperless, payment, monthly-charge noise, total-charge noise,
# support calls (Poisson) and the label.
DRAWS_PER_CUSTOMER = 16


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n = 50_000 if quick else 1_000_000
    repeat = 2 if quick else 3
    report = Report("bench_data")

    def baseline() -> None:
        np.random.default_rng(0).random(DRAWS_PER_CUSTOMER * n)

    base = best_of(baseline, repeat=repeat)
    gen = best_of(lambda: generate_customers(n, random_state=0), repeat=repeat)
    report.ratio(
        f"generate_customers({n:,})",
        gen,
        base,
        baseline=f"numpy rng.random({DRAWS_PER_CUSTOMER} x {n:,})",
        target=8.0,  # 16 draws plus the arithmetic, ids and frame assembly
        note="1 core",
    )
    if not quick:
        report.value(
            "generate_customers(1,000,000) wall time",
            round(gen, 3),
            unit="s",
            target="< 2 s",
            ok=gen < 2.0,
        )
    rate = best_of(
        lambda: generate_customers(n, churn_rate=0.5, random_state=0), repeat=repeat
    )
    report.ratio(
        f"generate_customers({n:,}, churn_rate=0.5)",
        rate,
        base,
        baseline=f"numpy rng.random({DRAWS_PER_CUSTOMER} x {n:,})",
        note="includes solving the intercept",
    )

    batch = n // 10
    sim = best_of(
        lambda: list(
            simulate_production(
                10, batch, scenario="covariate_shift", onset=5, random_state=0
            )
        ),
        repeat=repeat,
    )
    report.ratio(
        f"simulate_production(10, {batch:,}, covariate_shift)",
        sim,
        base,
        baseline=f"numpy rng.random({DRAWS_PER_CUSTOMER} x {n:,})",
    )

    resource = files("churnlib.data").joinpath("_datasets", "telco_customer_churn.csv")
    with as_file(resource) as path:
        raw = best_of(lambda: pd.read_csv(path), repeat=repeat)
        read = best_of(lambda: read_churn_table(path, target="Churn"), repeat=repeat)
    report.ratio(
        "read_churn_table(telco, 7043 rows)",
        read,
        raw,
        baseline="pandas.read_csv",
        note="cleaning, schema, leakage check",
    )
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
