"""Labels are paired with rows by index when both are pandas, else by position."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from churnlib._core.alignment import aligned_labels
from churnlib.exceptions import DataValidationError


def _frame(index):
    return pd.DataFrame({"tenure": np.arange(len(index))}, index=index)


def test_the_same_index_is_used_as_given():
    X = _frame(["a", "b", "c"])
    y = pd.Series([1, 0, 1], index=X.index)
    assert aligned_labels(X, y) is y


@given(st.permutations(list(range(12))))
def test_the_same_customers_in_another_order_are_reordered(order):
    X = _frame([f"c{i}" for i in range(12)])
    y = pd.Series(np.arange(12) % 2 == 0, index=X.index).iloc[list(order)]
    got = aligned_labels(X, y)
    assert got.index.equals(X.index)
    assert got.tolist() == (np.arange(12) % 2 == 0).tolist()


def test_a_shuffled_default_index_is_matched_by_label_not_position():
    # y = df["Churn"].sample(frac=1): a RangeIndex, permuted
    X = _frame(pd.RangeIndex(5))
    y = pd.Series([10, 11, 12, 13, 14]).iloc[[4, 2, 0, 1, 3]]
    assert aligned_labels(X, y).tolist() == [10, 11, 12, 13, 14]


def test_a_list_made_series_pairs_by_position():
    X = _frame(["a", "b", "c"])
    y = pd.Series([1, 0, 1])  # index 0..2: built from a list
    assert aligned_labels(X, y) is y
    assert aligned_labels(X, np.array([1, 0, 1])).tolist() == [1, 0, 1]
    assert aligned_labels(np.zeros((3, 1)), y) is y  # X without an index


def test_other_rows_are_refused_with_both_fixes():
    X = _frame(["a", "b", "c"])
    y = pd.Series([1, 0, 1], index=["a", "b", "z"])
    with pytest.raises(DataValidationError) as err:
        aligned_labels(X, y, caller="ChurnTrainer.fit")
    msg = str(err.value)
    assert msg.startswith("ChurnTrainer.fit: the index of y does not match")
    assert "1 of 3 labels of y are for rows X does not hold" in msg
    assert "y.reindex(X.index)" in msg
    assert "y.to_numpy()" in msg


def test_repeated_index_labels_cannot_be_matched():
    X = _frame(["a", "a", "b"])
    y = pd.Series([1, 0, 1], index=["b", "a", "a"])
    with pytest.raises(DataValidationError, match="repeats index labels"):
        aligned_labels(X, y, x_name="X_valid", y_name="y_valid")


def test_a_length_mismatch_is_left_to_the_callers_check():
    X = _frame(["a", "b"])
    y = pd.Series([1, 0, 1], index=["x", "y", "z"])
    assert aligned_labels(X, y) is y
