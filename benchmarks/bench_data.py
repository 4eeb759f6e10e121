"""Benchmark the data layer against raw baselines measured in the same run.

- ``generate_customers(1_000_000)`` vs plain numpy drawing the same number of
  random values (16 per customer; target: under 2 s on one core);
- ``simulate_production`` (10 batches of 100,000) vs the same baseline;
- ``read_churn_table`` on the shipped IBM Telco table vs ``pandas.read_csv``.

Every figure: median and range of 5 interleaved rounds (``--quick``, a smoke
run: 20,000 customers, one round).

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
from _harness import Report, interleaved

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
    n = 20_000 if quick else 1_000_000
    repeat = 1 if quick else 5
    report = Report("bench_data" + ("_quick" if quick else ""))

    def baseline() -> None:
        np.random.default_rng(0).random(DRAWS_PER_CUSTOMER * n)

    batch = n // 10
    draws = f"numpy rng.random({DRAWS_PER_CUSTOMER} x {n:,})"
    t = interleaved(
        {
            "numpy": baseline,
            "generate": lambda: generate_customers(n, random_state=0),
            "rate": lambda: generate_customers(n, churn_rate=0.5, random_state=0),
            "simulate": lambda: list(
                simulate_production(
                    10, batch, scenario="covariate_shift", onset=5, random_state=0
                )
            ),
        },
        repeat=repeat,
    )
    report.compare(
        f"generate_customers({n:,})",
        t["generate"],
        t["numpy"],
        baseline=draws,
        target=8.0,  # 16 draws plus the arithmetic, ids and frame assembly
        basis="the same number of random draws, nothing else",
    )
    if not quick:
        report.timing(
            "generate_customers(1,000,000) wall time", t["generate"], target=2.0
        )
    report.compare(
        f"generate_customers({n:,}, churn_rate=0.5)",
        t["rate"],
        t["numpy"],
        baseline=draws,
        note="includes solving the intercept",
    )
    report.compare(
        f"simulate_production(10, {batch:,}, covariate_shift)",
        t["simulate"],
        t["numpy"],
        baseline=draws,
    )

    resource = files("churnlib.data").joinpath("_datasets", "telco_customer_churn.csv")
    with as_file(resource) as path:
        t = interleaved(
            {
                "pandas": lambda: pd.read_csv(path),
                "churnlib": lambda: read_churn_table(path, target="Churn"),
            },
            repeat=repeat,
        )
    report.compare(
        "read_churn_table(telco, 7043 rows)",
        t["churnlib"],
        t["pandas"],
        baseline="pandas.read_csv",
        basis="read + cleaning + schema + leakage check vs a bare read",
    )
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
