"""How logged batches are normalized: the fast readings equal the plain ones."""

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import DataValidationError
from churnlib.monitoring import ChurnMonitor
from churnlib.monitoring._monitor import _to_utc
from churnlib.monitoring._reference import STRING


def _plain(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """What normalize did before its fast paths, column by column."""
    out = {}
    for name in reference.columns:
        dtype = reference[name].dtype
        col = frame[name]
        if pd.api.types.is_bool_dtype(dtype):
            out[name] = col
        elif pd.api.types.is_numeric_dtype(dtype):
            out[name] = pd.to_numeric(col).astype(np.float64)
        else:
            out[name] = col.astype(STRING)
    return pd.DataFrame(out, index=frame.index)


@pytest.fixture
def reference():
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame(
        {
            "plan": pd.Categorical(rng.choice(["basic", "pro", None], n)),
            "region": pd.Categorical(rng.choice([1, 2, 3], n)),  # number labels
            "ratio": pd.Categorical(rng.choice([0.5, 1.5], n)),
            "text": rng.choice(["a", "b"], n).astype(object),
            "tenure": rng.integers(0, 70, n),
            "charges": rng.normal(50, 10, n),
            "small": rng.integers(0, 9, n).astype(np.int8),
            "partner": rng.random(n) < 0.5,
        }
    )


def test_normalized_columns_equal_the_plain_reading(reference):
    monitor = ChurnMonitor(
        reference, reference_scores=np.linspace(0, 1, len(reference)), id_column=None
    )
    ref = monitor._ref
    batch = reference.sample(frac=1, random_state=1).iloc[:120]
    batch.index = pd.RangeIndex(1000, 1120)  # not the reference's index
    got = ref.normalize(batch)
    pd.testing.assert_frame_equal(got, _plain(batch, reference))
    # the same on a batch whose categoricals have other (unprepared) dtypes
    recast = batch.astype({"plan": pd.CategoricalDtype(["pro", "basic", "gold"])})
    pd.testing.assert_frame_equal(ref.normalize(recast), _plain(recast, reference))
    # nullable numbers with missing values read as NaN
    nullable = batch.astype({"tenure": "Int64"})
    nullable.loc[nullable.index[:5], "tenure"] = pd.NA
    got = ref.normalize(nullable)
    assert got["tenure"].dtype == np.float64
    assert got["tenure"].isna().sum() == 5


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_numpy_times_read_like_pandas_times(unit):
    stamps = np.array(
        ["2026-01-01T00:00:01", "2026-03-04T05:06:07.123"], dtype=f"datetime64[{unit}]"
    )
    expected = (
        pd.Series(pd.to_datetime(stamps))
        .astype("datetime64[us]")
        .to_numpy()
        .view(np.int64)
    )
    np.testing.assert_array_equal(_to_utc(stamps, 2, "x"), expected)
    np.testing.assert_array_equal(_to_utc(list(stamps), 2, "x"), expected)


def test_numpy_times_missing_or_miscounted_are_refused():
    with pytest.raises(DataValidationError, match="missing values"):
        _to_utc(np.array(["2026-01-01", "NaT"], dtype="datetime64[us]"), 2, "x")
    with pytest.raises(DataValidationError, match="3 values for 2 rows"):
        _to_utc(np.array(["2026-01-01"] * 3, dtype="datetime64[us]"), 2, "x")
