"""Uplift: ranking quality on campaigns with known effects, and fit + Qini speed.

Usage: ``python benchmarks/bench_uplift.py [--quick]``.

1. Quality (issue 16). Campaigns from ``generate_campaign`` with a 50/50
   random offer and 10 % sleeping dogs: a model is fitted on one 50k campaign
   (``ChurnPreprocessor`` then the uplift model) and judged on another 50k
   campaign with a different seed, for 3 seeds. Figures: the Qini coefficient
   and its ratio to the oracle's (ranking by the true effect ``p0 - p1``;
   target >= 0.8 for the default ``TwoModelUplift()``), uplift@30 %, and for the
   top 30 % by uplift vs the top 30 % by churn risk (the same model's churn
   probability without the offer): the true expected customers kept and the
   true expected profit (200 per customer kept, 1 per contact, 10 per
   redeemed incentive). Side by side: scikit-uplift's ``ClassTransformation``
   and ``TwoModels`` on the same matrices when scikit-uplift is installed
   (its uplift is of the "good" outcome, so it is given ``stayed``), and, with
   ``--flexible``, the variants with ``HistGradientBoosting`` bases.
2. Speed. 1M customers, preprocessed once: ``TwoModelUplift().fit`` +
   ``predict_uplift`` + ``qini_coefficient`` against the plain two-model fit a
   user would write (two ``LogisticRegression(max_iter=1000)`` fits on the arms),
   paired and interleaved, 3 rounds. Target: ratio <= 2.

``--quick`` (a smoke run, targets not judged) uses 2k + 2k customers, one seed,
and 20k rows and one round for the speed part;
``--flexible`` adds the three models with ``HistGradientBoosting`` bases to the
quality part (slow on a loaded 2-core machine).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report, interleaved
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression

from churnlib.data import generate_campaign
from churnlib.evaluation import compare_targeting, qini_coefficient, uplift_at_k
from churnlib.features import ChurnPreprocessor
from churnlib.uplift import ClassTransformationUplift, TwoModelUplift, XLearnerUplift

ECONOMICS = {"customer_value": 200.0, "incentive_cost": 10.0, "contact_cost": 1.0}


def _features(df: Any) -> Any:
    return df.drop(
        columns=[
            c
            for c in (
                "churned",
                "offer",
                "churn_probability_control",
                "churn_probability_treated",
                "true_uplift",
                "segment",
                "propensity",
            )
            if c in df.columns
        ]
    )


def _models(*, flexible: bool) -> dict[str, Any]:
    models: dict[str, Any] = {
        "TwoModelUplift() [default]": TwoModelUplift(),
        "XLearnerUplift()": XLearnerUplift(),
        "ClassTransformationUplift()": ClassTransformationUplift(),
    }
    if flexible:
        hgb = {"max_iter": 100, "random_state": 0}
        models["TwoModelUplift(HGB)"] = TwoModelUplift(
            HistGradientBoostingClassifier(**hgb)
        )
        models["XLearnerUplift(HGB, HGB)"] = XLearnerUplift(
            HistGradientBoostingClassifier(**hgb),
            effect_estimator=HistGradientBoostingRegressor(**hgb),
        )
        models["ClassTransformationUplift(HGB)"] = ClassTransformationUplift(
            HistGradientBoostingClassifier(**hgb)
        )
    try:
        from sklift.models import ClassTransformation, TwoModels
    except ImportError:  # pragma: no cover - optional peer
        print("scikit-uplift is not installed: no side-by-side")
        return models
    models["sklift ClassTransformation(LR)"] = (
        "sklift",
        ClassTransformation(LogisticRegression(max_iter=1000)),
    )
    models["sklift TwoModels(LR, vanilla)"] = (
        "sklift",
        TwoModels(
            LogisticRegression(max_iter=1000),
            LogisticRegression(max_iter=1000),
            method="vanilla",
        ),
    )
    return models


def _predict(model: Any, X_tr: Any, y_tr: Any, t_tr: Any, X_te: Any) -> np.ndarray:
    if isinstance(model, tuple):  # scikit-uplift: uplift of the good outcome
        est = model[1]
        est.fit(X_tr, (~y_tr).astype(int), t_tr.astype(int))
        return np.asarray(est.predict(X_te), dtype=np.float64)
    return model.fit(X_tr, y_tr, treatment=t_tr).predict_uplift(X_te)


def quality(report: Report, *, n: int, seeds: list[int], flexible: bool) -> None:
    rows: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        train = generate_campaign(n, sleeping_dog_share=0.1, random_state=seed)
        test = generate_campaign(
            n, sleeping_dog_share=0.1, random_state=seed + 1000, return_truth=True
        )
        prep = ChurnPreprocessor().fit(_features(train))
        X_tr, X_te = prep.transform(_features(train)), prep.transform(_features(test))
        y_tr, t_tr = train["churned"].to_numpy(), train["offer"].to_numpy()
        y_te, t_te = test["churned"], test["offer"]
        oracle = qini_coefficient(y_te, test["true_uplift"], t_te)
        rows.setdefault("oracle (true effect)", []).append(
            {"qini": oracle, "ratio": 1.0}
        )
        for name, model in _models(flexible=flexible).items():
            t0 = time.perf_counter()
            uplift = _predict(model, X_tr, y_tr, t_tr, X_te)
            seconds = time.perf_counter() - t0
            q = qini_coefficient(y_te, uplift, t_te)
            row = {
                "qini": q,
                "ratio": q / oracle,
                "uplift_at_30": uplift_at_k(y_te, uplift, t_te, k=0.3),
                "fit_seconds": seconds,
            }
            if name.startswith("TwoModelUplift() [default]"):
                risk = model.predict_outcomes(X_te)[:, 0]
                table = compare_targeting(
                    y_te, t_te, uplift, risk, fraction=0.3, truth=test, **ECONOMICS
                )
                for label, key in (("uplift", "u"), ("churn probability", "c")):
                    row[f"kept_{key}"] = table.loc[label, "true_kept"]
                    row[f"profit_{key}"] = table.loc[label, "true_profit"]
            rows.setdefault(name, []).append(row)
        print(f"seed {seed} done", flush=True)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    def rng(name: str, key: str) -> tuple[float, float]:
        values = [r[key] for r in rows[name]]
        return (round(min(values), 4), round(max(values), 4))

    basis = f"{n:,} train + {n:,} test customers, 50/50 offer, 10 % sleeping dogs"
    report.value(
        "Qini coefficient, oracle (ranking by the true effect)",
        round(med("oracle (true effect)", "qini"), 4),
        unit="",
        value_range=rng("oracle (true effect)", "qini"),
        note=basis,
    )
    for name in rows:
        if name.startswith("oracle"):
            continue
        default = name.startswith("TwoModelUplift() [default]")
        ratio = med(name, "ratio")
        report.value(
            f"Qini coefficient / oracle's, {name}",
            round(ratio, 3),
            unit="x oracle",
            target=">= 0.8" if default else "",
            ok=bool(ratio >= 0.8) if default else None,
            value_range=rng(name, "ratio"),
            note=(
                f"Qini {med(name, 'qini'):.4f}, uplift@30% "
                f"{med(name, 'uplift_at_30'):.4f}, fit+predict "
                f"{med(name, 'fit_seconds'):.1f} s"
            ),
        )
    d = "TwoModelUplift() [default]"
    kept_u, kept_c = med(d, "kept_u"), med(d, "kept_c")
    prof_u, prof_c = med(d, "profit_u"), med(d, "profit_c")
    report.value(
        "Customers kept, top 30 % by uplift vs by churn risk (true expected)",
        round(kept_u / kept_c, 3),
        unit="x",
        target="> 1",
        ok=bool(kept_u > kept_c),
        note=f"{kept_u:,.0f} vs {kept_c:,.0f} of {0.3 * n:,.0f} offered",
    )
    report.value(
        "Campaign profit, top 30 % by uplift vs by churn risk (true expected)",
        round(prof_u / prof_c, 3),
        unit="x",
        target="> 1",
        ok=bool(prof_u > prof_c),
        note=f"{prof_u:,.0f} vs {prof_c:,.0f} (200 per kept, 1 per contact, 10 "
        "per redeemed incentive)",
    )


def speed(report: Report, *, n: int, repeat: int = 3) -> None:
    df = generate_campaign(n, random_state=7)
    X = ChurnPreprocessor().fit_transform(_features(df))
    y, t = df["churned"].to_numpy(), df["offer"].to_numpy()

    def ours() -> None:
        model = TwoModelUplift().fit(X, y, treatment=t)
        qini_coefficient(y, model.predict_uplift(X), t)

    def plain() -> None:
        LogisticRegression(max_iter=1000).fit(X[t], y[t])
        LogisticRegression(max_iter=1000).fit(X[~t], y[~t])

    times = interleaved({"ours": ours, "plain": plain}, repeat=repeat)
    report.compare(
        f"TwoModelUplift fit + predict_uplift + qini_coefficient, {n:,} rows x "
        f"{X.shape[1]}",
        times["ours"],
        times["plain"],
        baseline="two LogisticRegression fits on the arms",
        target=2.0,
    )


def main() -> None:
    quick = "--quick" in sys.argv
    report = Report("uplift_quick" if quick else "uplift")
    quality(
        report,
        n=2_000 if quick else 50_000,
        seeds=[1] if quick else [1, 2, 3],
        flexible="--flexible" in sys.argv,
    )
    if quick:
        speed(report, n=20_000, repeat=1)
    else:
        speed(report, n=1_000_000)
    report.write()


if __name__ == "__main__":
    main()
