"""Benchmark: ``evaluate`` on 1M customers against the raw sklearn calls it wraps.

What is compared (honestly):

- ``evaluate``: a trivial model returns precomputed probabilities, so scoring
  costs nothing and the time is validation + every metric of the report
  (sklearn's metrics plus lift, KS and the campaign profit curve, which share
  ONE extra sort). No plots, no permutation importance.
- baseline "sklearn calls": exactly the sklearn.metrics calls ``evaluate``
  makes (roc_auc_score, average_precision_score, accuracy_score,
  precision_recall_fscore_support, brier_score_loss, log_loss,
  confusion_matrix) on the same arrays. Target: ratio <= 1.5.
- for information, the naive user code that calls precision_score,
  recall_score and f1_score separately instead of precision_recall_fscore_support;
  and the churn curves alone against sklearn's roc_curve (also one sort).

Usage: ``python benchmarks/bench_evaluation.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Report, interleaved

from churnlib.evaluation import (
    cumulative_gain,
    evaluate,
    expected_campaign_profit,
)


class PrecomputedScores:
    """A fitted 'model' whose predict_proba returns fixed probabilities."""

    classes_ = np.array([0, 1])

    def __init__(self, proba: np.ndarray) -> None:
        self._proba = proba

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._proba


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    n = 20_000 if quick else 1_000_000  # --quick: a smoke run
    repeat = 1 if quick else 5
    rng = np.random.default_rng(0)
    # Churn-like scores: ~20% churners, informative but imperfect, with ties
    # (rounded to 4 decimals, as many models' scores are).
    latent = rng.normal(size=n)
    y = rng.random(n) < 1 / (1 + np.exp(-(latent * 1.5 - 1.8)))
    s = np.round(1 / (1 + np.exp(-(latent * 1.4 - 1.6))), 4)
    proba = np.column_stack([1 - s, s])
    model = PrecomputedScores(proba)
    X = np.empty((n, 0))

    def run_evaluate():
        return evaluate(model, X, y)

    def sklearn_calls():
        pred = s >= 0.5
        roc_auc_score(y, s)
        average_precision_score(y, s)
        accuracy_score(y, pred)
        precision_recall_fscore_support(
            y, pred, pos_label=True, average="binary", zero_division=0.0
        )
        brier_score_loss(y, s)
        log_loss(y, s, labels=[False, True])
        confusion_matrix(y, pred, labels=[False, True])

    def naive_sklearn_calls():
        pred = s >= 0.5
        roc_auc_score(y, s)
        average_precision_score(y, s)
        accuracy_score(y, pred)
        precision_score(y, pred, zero_division=0.0)
        recall_score(y, pred, zero_division=0.0)
        f1_score(y, pred, zero_division=0.0)
        brier_score_loss(y, s)
        log_loss(y, s)
        confusion_matrix(y, pred)

    # sanity: evaluate computes what the baseline computes
    report = run_evaluate()
    assert report.metrics["roc_auc"] == roc_auc_score(y, s)

    rep = Report("evaluation" + ("_quick" if quick else ""))
    # Interleaved rounds (alternating order) so load from other processes hits
    # every side alike; medians and ranges of the rounds.
    t = interleaved(
        {
            "eval": run_evaluate,
            "base": sklearn_calls,
            "naive": naive_sklearn_calls,
            "gain": lambda: cumulative_gain(y, s),
            "roc": lambda: roc_curve(y, s),
            "profit": lambda: expected_campaign_profit(
                y,
                s,
                customer_value=200,
                incentive_cost=10,
                contact_cost=1,
                acceptance_rate=0.3,
            ),
        },
        repeat=repeat,
    )
    rep.compare(
        f"evaluate, all metrics, {n:,} rows",
        t["eval"],
        t["base"],
        baseline="the sklearn.metrics calls it wraps",
        target=1.5,
        basis="scores precomputed; includes lift, KS, profit curve",
    )
    rep.compare(
        f"evaluate, all metrics, {n:,} rows",
        t["eval"],
        t["naive"],
        baseline="naive sklearn calls (precision/recall/f1 separately)",
        note="for information",
    )
    rep.compare(
        f"cumulative_gain, {n:,} rows",
        t["gain"],
        t["roc"],
        baseline="sklearn roc_curve (one sort too)",
        note="for information",
    )
    rep.compare(
        f"expected_campaign_profit, {n:,} rows",
        t["profit"],
        t["roc"],
        baseline="sklearn roc_curve (one sort too)",
        note="for information",
    )
    rep.write()


if __name__ == "__main__":
    main(sys.argv[1:])
