"""Benchmark: ``ChurnPreprocessor`` against the raw ColumnTransformer it wraps.

What is compared (honestly):

- ``ChurnPreprocessor().fit_transform(X)`` with no arguments: schema
  inference (``infer_schema``), the SchemaValidator (fit + checks), then
  imputation, scaling and one-hot encoding.
- baseline "raw ColumnTransformer": the same scikit-learn work written by
  hand on the same frame, with the column lists typed in (no inference, no
  validation): ``SimpleImputer(median) + StandardScaler`` on the numeric
  columns, ``OneHotEncoder(handle_unknown="infrequent_if_exist",
  min_frequency=10)`` on the categorical and bool columns, identifier
  dropped. The two outputs are checked to be equal.
  Target: ratio <= 1.2 on 1,000,000 generated customers.
- the same, as the median of per-round ratios (runs are interleaved, so
  this is robust to other jobs loading the machine), and churnlib's own work
  alone (role inference on a sample + SchemaValidator) as a share of the raw
  fit_transform time: that share is the real overhead.
- for information, the same ratio for ``transform`` alone (scoring time).

Usage: ``python benchmarks/bench_features.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Report, interleaved

from churnlib.data import ChurnSchema, generate_customers
from churnlib.features import ChurnPreprocessor, SchemaValidator
from churnlib.features._roles import resolve_schema

NUMERIC = ["age", "tenure_months", "monthly_charges", "total_charges", "support_calls"]


def churnlib_own_work(X):
    """What ChurnPreprocessor does besides the ColumnTransformer, at fit."""
    schema = resolve_schema(X, None, caller="bench")
    features = [c for c in X.columns if c in set(schema.features)]
    validator = SchemaValidator(
        schema=ChurnSchema(
            numeric=tuple(c for c in schema.numeric if c in features),
            categorical=tuple(c for c in schema.categorical if c in features),
            binary=tuple(c for c in schema.binary if c in features),
        )
    )
    return validator.fit_transform(X[features])


def raw_column_transformer(categorical: list[str]) -> ColumnTransformer:
    return ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler()),
                    ]
                ),
                NUMERIC,
            ),
            (
                "categorical",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=10,
                    sparse_output=False,
                ),
                categorical,
            ),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n = 5_000 if quick else 1_000_000  # --quick: a smoke run
    repeat = 1 if quick else 5
    df = generate_customers(n, random_state=0)
    X = df.drop(columns="churned")
    categorical = [c for c in X.columns if c not in NUMERIC and c != "customer_id"]

    # same work, same output
    ours = ChurnPreprocessor().fit(X)
    raw = raw_column_transformer(categorical).fit(X)
    same = np.allclose(ours.transform(X), raw.transform(X))

    # Interleaved rounds (the order alternates), every side once a round:
    # a change in machine load hits both sides alike. Each figure is the
    # median and range of the rounds, and the ratio the median of per-round
    # ratios. churnlib's own work (role inference + validator) is timed in
    # the same rounds: it is what the ratio should be made of.
    t = interleaved(
        {
            "ours": lambda: ChurnPreprocessor().fit_transform(X),
            "raw": lambda: raw_column_transformer(categorical).fit_transform(X),
            "ours_tr": lambda: ours.transform(X),
            "raw_tr": lambda: raw.transform(X),
            "own": lambda: churnlib_own_work(X),
        },
        repeat=repeat,
    )

    report = Report("bench_features" + ("_quick" if quick else ""))
    report.compare(
        f"ChurnPreprocessor().fit_transform, {n:,} rows",
        t["ours"],
        t["raw"],
        baseline="raw ColumnTransformer",
        target=1.2,
        basis="same output, column lists typed in by hand on the baseline side",
        note=f"same output: {same}",
    )
    report.compare(
        "  churnlib's own work (role inference + validation)",
        t["own"],
        t["raw"],
        baseline="raw fit_transform",
        target=0.2,
    )
    report.compare(
        f"ChurnPreprocessor.transform, {n:,} rows",
        t["ours_tr"],
        t["raw_tr"],
        baseline="raw ColumnTransformer.transform",
        note="scoring time, for information",
    )
    report.write()
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
