"""train_test_split_churn: stratified and out-of-time splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.features import train_test_split_churn


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 500
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "signup": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.permutation(n), unit="D"),
        },
        index=[f"c{i}" for i in range(n)],
    )
    y = pd.Series(rng.random(n) < 0.2, index=X.index, name="churned")
    return X, y


def test_stratified_by_default(frame):
    X, y = frame
    X_tr, X_te, y_tr, y_te = train_test_split_churn(X, y, random_state=0)
    assert (len(X_tr), len(X_te)) == (400, 100)
    assert abs(y_tr.mean() - y.mean()) < 0.005
    assert abs(y_te.mean() - y.mean()) < 0.01
    assert X_tr.index.equals(y_tr.index)
    assert X_te.index.equals(y_te.index)
    assert not set(X_tr.index) & set(X_te.index)


def test_reproducible_and_int_test_size(frame):
    X, y = frame
    a = train_test_split_churn(X, y, test_size=50, random_state=3)
    b = train_test_split_churn(X, y, test_size=50, random_state=3)
    assert len(a[1]) == 50
    for p, q in zip(a, b, strict=True):
        assert p.index.equals(q.index)


def test_numpy_inputs():
    X = np.arange(40).reshape(20, 2)
    y = np.array([0, 1] * 10)
    X_tr, _X_te, _y_tr, y_te = train_test_split_churn(
        X, y, test_size=0.5, random_state=0
    )
    assert isinstance(X_tr, np.ndarray)
    assert y_te.sum() == 5


def test_unstratified(frame):
    X, y = frame
    parts = train_test_split_churn(X, y, stratify=False, random_state=0)
    assert len(parts[1]) == 100
    # a plain shuffled split, exactly as scikit-learn's without stratify
    expected = train_test_split(X, y, test_size=100, random_state=0)
    for part, want in zip(parts, expected, strict=True):
        assert part.index.equals(want.index)
    stratified = train_test_split_churn(X, y, random_state=0)
    assert not parts[1].index.equals(stratified[1].index)


def test_out_of_time_split(frame):
    X, y = frame
    X_tr, X_te, y_tr, _y_te = train_test_split_churn(X, y, time_column="signup")
    assert len(X_te) == 100
    assert X_tr["signup"].max() < X_te["signup"].min()
    assert y_tr.index.equals(X_tr.index)
    assert "signup" in X_tr.columns


def test_out_of_time_ties_go_to_test():
    X = pd.DataFrame({"month": [1, 1, 2, 2, 3, 3, 3, 3, 4, 4]})
    y = pd.Series([0, 1] * 5)
    X_tr, X_te, _, _ = train_test_split_churn(X, y, test_size=0.3, time_column="month")
    # the latest 3 rows are month 4, 4 and 3: every month-3 row joins the test
    assert sorted(X_te["month"]) == [3, 3, 3, 3, 4, 4]
    assert X_tr["month"].max() < X_te["month"].min()


def test_out_of_time_errors(frame):
    X, y = frame
    with pytest.raises(DataValidationError, match="'when'") as exc:
        train_test_split_churn(X, y, time_column="when")
    assert exc.value.columns == ("when",)
    with pytest.raises(DataValidationError, match="DataFrame"):
        train_test_split_churn(X.to_numpy(), y, time_column="signup")
    same = X.assign(signup=pd.Timestamp("2024-01-01"))
    with pytest.raises(DataValidationError, match="too few distinct"):
        train_test_split_churn(same, y, time_column="signup")
    gaps = X.copy()
    gaps.iloc[0, gaps.columns.get_loc("signup")] = pd.NaT
    with pytest.raises(DataValidationError, match="missing"):
        train_test_split_churn(gaps, y, time_column="signup")
    early_all_stay = pd.Series(
        np.r_[np.zeros(400, bool), np.ones(100, bool)], index=X.index
    )
    by_time = X.sort_values("signup")
    with pytest.raises(DataValidationError, match="single class"):
        train_test_split_churn(
            by_time, early_all_stay.set_axis(by_time.index), time_column="signup"
        )


def test_single_class(frame):
    X, _ = frame
    y = pd.Series(False, index=X.index)
    with pytest.raises(DataValidationError, match="single class"):
        train_test_split_churn(X, y)
    # the value as the user wrote it, not numpy's repr (np.True_)
    with pytest.raises(DataValidationError, match=r"single class \(True for all"):
        train_test_split_churn(X, np.ones(len(X), dtype=bool))


def test_too_few_per_class():
    X = pd.DataFrame({"x": range(10)})
    y = [0] * 9 + [1]
    with pytest.raises(DataValidationError, match=r"fewer than 2 rows") as exc:
        train_test_split_churn(X, y)
    assert "stratify=False" in str(exc.value)
    parts = train_test_split_churn(X, y, stratify=False, random_state=0)
    assert len(parts[1]) == 2


def test_test_part_too_small_for_classes():
    X = pd.DataFrame({"x": range(10)})
    y = [0, 1] * 5
    with pytest.raises(DataValidationError, match="too few to hold"):
        train_test_split_churn(X, y, test_size=1)


def test_length_mismatch(frame):
    X, y = frame
    with pytest.raises(DataValidationError, match="500 rows but y has 499"):
        train_test_split_churn(X, y.iloc[:-1])


def test_missing_labels(frame):
    X, y = frame
    y = y.astype(object)
    y.iloc[3] = None
    with pytest.raises(DataValidationError, match="missing label"):
        train_test_split_churn(X, y)


def test_two_dimensional_y(frame):
    X, y = frame
    train_test_split_churn(X, y.to_frame(), random_state=0)
    with pytest.raises(DataValidationError, match="one label column"):
        train_test_split_churn(X, pd.DataFrame({"a": y, "b": y}))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_size": 0.0}, "'test_size'"),
        ({"test_size": 1.0}, "'test_size'"),
        ({"test_size": -3}, "'test_size'"),
        ({"random_state": "seed"}, "'random_state'"),
        ({"time_column": 3}, "'time_column'"),
        ({"stratify": "yes"}, "'stratify'"),
    ],
)
def test_invalid_parameters(frame, kwargs, match):
    X, y = frame
    with pytest.raises(InvalidParameterError, match=match):
        train_test_split_churn(X, y, **kwargs)


def test_test_size_leaving_no_train_rows():
    X = pd.DataFrame({"x": range(4)})
    with pytest.raises(DataValidationError, match="both parts"):
        train_test_split_churn(X, [0, 1, 0, 1], test_size=4)


def test_empty_and_multiclass_inputs_are_refused_with_the_fix():
    import pandas as pd

    with pytest.raises(DataValidationError, match="no customers to split"):
        train_test_split_churn(pd.DataFrame({"a": []}), pd.Series([], dtype=bool))
    X = pd.DataFrame({"a": range(30)})
    with pytest.raises(DataValidationError, match=r"3 classes.*decode_labels"):
        train_test_split_churn(X, pd.Series(["gold", "silver", "bronze"] * 10))
