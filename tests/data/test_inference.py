"""Inference rules of read_churn_table on awkward real files.

The leakage check on high-cardinality text, identifiers (integer ids,
repeated ids, saved pandas indexes), nested Parquet cells, and the messages
of a target that is not found. Every table is written to a real file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnlib.data import read_churn_table
from churnlib.data._reader import LEAKAGE_AUC, _leakage_scores
from churnlib.exceptions import DataQualityWarning

SHARED = Path(__file__).parents[2].parent / "shared" / "data"


def read_quietly(path: Path, **kwargs):
    """read_churn_table with every warning an error (the table is clean)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_churn_table(path, **kwargs)


def churn_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n),
            "Churn": np.where(rng.random(n) < 0.25, "Yes", "No"),
        }
    )


# --------------------------------------------------------------------------
# D2: the leakage check scores categoricals out of fold


def noise_columns(n: int, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed + 1)
    return {
        # 82 % distinct, random: the review's repro
        "postcode": [f"AB{i:05d}" for i in rng.integers(0, 5000, n)],
        "street": [f"{i} Main St" for i in rng.integers(0, 1500, n)],
        "note": [f"called on {i}" for i in rng.integers(0, 10**6, n)],
        # amounts written with a thousands separator: one level per amount
        "amount_text": [f"{v:,.2f}" for v in rng.gamma(2.0, 800.0, n)],
    }


def test_random_high_cardinality_text_is_not_called_a_leak(tmp_path):
    df = churn_frame()
    df = df.assign(**noise_columns(len(df), 0))
    path = tmp_path / "noise.csv"
    df.to_csv(path, index=False)
    X, y, schema = read_quietly(path, target="Churn")  # no leakage warning
    assert schema.leakage == {}
    assert set(schema.categorical) == {"postcode", "street", "note", "amount_text"}
    scores = _leakage_scores(X, y.to_numpy())
    for c in ("postcode", "street", "note", "amount_text"):
        assert abs(scores[c] - 0.5) < 0.05, (c, scores[c])


def test_genuine_categorical_leaks_are_still_flagged(tmp_path):
    df = churn_frame()
    churned = (df["Churn"] == "Yes").to_numpy()
    rng = np.random.default_rng(5)
    reasons = np.array(["price", "service", "moved", "competitor", "other"])
    n = len(df)
    days, months = rng.integers(1, 29, n), rng.integers(1, 13, n)
    df["churn_reason"] = np.where(churned, reasons[rng.integers(0, 5, n)], "")
    df["churn_note"] = np.where(churned, [f"said {i}" for i in range(n)], "")
    df["cancel_date"] = np.where(  # not ISO: read as text, one level per date
        churned,
        [f"{d:02d}/{m:02d}/2023" for d, m in zip(days, months, strict=True)],
        "",
    )
    df["status"] = np.where(churned, "closed", "active")
    path = tmp_path / "leaks.csv"
    df.to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match="suspected target leakage") as rec:
        _, _, schema = read_churn_table(path, target="Churn")
    flagged = {"churn_reason", "churn_note", "cancel_date", "status"}
    assert set(schema.leakage) == flagged
    assert all(auc > 0.999 for auc in schema.leakage.values())
    assert len(rec) == 4


def test_leak_by_absence_is_flagged(tmp_path):
    # filled for the customers who stayed, blank for the churners
    df = churn_frame()
    stayed = (df["Churn"] == "No").to_numpy()
    df["renewal_ref"] = np.where(stayed, [f"R{i}" for i in range(len(df))], "")
    path = tmp_path / "renewal.csv"
    df.to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match="'renewal_ref'"):
        _, _, schema = read_churn_table(path, target="Churn")
    assert schema.leakage["renewal_ref"] > 0.999


def test_categorical_scores_match_the_in_sample_rate_for_large_levels():
    # few large levels: scoring out of fold changes nothing that matters
    rng = np.random.default_rng(3)
    n = 6000
    level = rng.integers(0, 3, n)
    y = rng.random(n) < np.array([0.1, 0.3, 0.5])[level]
    X = pd.DataFrame({"plan": pd.Categorical(np.array(["a", "b", "c"])[level])})
    in_sample = pd.Series(y).groupby(level).transform("mean").to_numpy()
    from churnlib.data._reader import _auc

    expected = float(_auc(in_sample[:, None], y)[0])
    assert _leakage_scores(X, y)["plan"] == pytest.approx(expected, abs=0.01)
    assert _leakage_scores(X, y) == _leakage_scores(X, y)  # deterministic


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(200, 1500),
    distinct=st.floats(0.3, 1.0),
    rate=st.floats(0.1, 0.5),
    seed=st.integers(0, 2**16),
)
def test_property_random_text_never_scores_near_perfect(n, distinct, rate, seed):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < rate
    if min(y.sum(), (~y).sum()) < 20:
        y[:20], y[20:40] = True, False
    values = rng.integers(0, max(1, int(distinct * n)), n)
    X = pd.DataFrame({"free_text": pd.Categorical([f"t{v}" for v in values])})
    assert _leakage_scores(X, y)["free_text"] < 0.65 < LEAKAGE_AUC


@pytest.mark.parametrize(
    ("name", "target", "leaks"),
    [
        ("telco_customer_churn.csv", "Churn", set()),
        ("bank_churn_modelling.csv", "Exited", set()),
        (
            "credit_card_churners.csv",
            "Attrition_Flag",
            {
                "Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_"
                f"12_mon_Dependent_count_Education_Level_Months_Inactive_12_mon_{k}"
                for k in (1, 2)
            },
        ),
    ],
)
def test_public_tables_keep_their_leak_verdicts(name, target, leaks):
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared churn table {name} not found next to the repository")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        X, y, schema = read_churn_table(path, target=target)
    assert set(schema.leakage) == leaks
    assert len(rec) == len(leaks)
    scores = _leakage_scores(X, y.to_numpy())
    assert max(scores[c] for c in schema.categorical) < 0.75  # Contract 0.739
