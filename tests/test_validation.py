"""Parameter validation (churnlib._validation)."""

from __future__ import annotations

import numbers
import re

import numpy as np
import pytest

from churnlib._validation import Interval, Options, StrOptions, validate_params
from churnlib.exceptions import InvalidParameterError

CONSTRAINTS = {
    "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
    "alpha": [Interval(numbers.Real, 0, 1, closed="neither"), None],
    "extra": [StrOptions({"ignore", "warn", "raise"})],
    "flag": ["boolean"],
    "seed": ["random_state"],
    "fn": [callable, None],
    "level": [Options(frozenset({1, 2}))],
    "name": [str],
}


def test_valid_params_pass():
    validate_params(
        CONSTRAINTS,
        {
            "n_bins": 2,
            "alpha": 0.5,
            "extra": "warn",
            "flag": np.True_,
            "seed": np.random.RandomState(0),
            "fn": len,
            "level": 2,
            "name": "x",
            "unchecked": object(),
        },
        "Thing",
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"n_bins": 1},
            "The 'n_bins' parameter of Thing must be an int in the range [2, inf). "
            "Got 1 instead.",
        ),
        ({"n_bins": True}, "The 'n_bins' parameter of Thing must be an int"),
        (
            {"alpha": 1.0},
            "The 'alpha' parameter of Thing must be a float in the range (0, 1) "
            "or None. Got 1.0 instead.",
        ),
        ({"alpha": float("nan")}, "Got nan instead."),
        ({"extra": "loud"}, "must be a str among ['ignore', 'raise', 'warn']"),
        ({"flag": 1}, "must be an instance of 'bool'"),
        ({"seed": "zero"}, "an int, a numpy.random.RandomState instance or None"),
        ({"fn": 3}, "must be a callable or None"),
        ({"level": [1]}, "must be one of [1, 2]"),
        ({"name": 3}, "must be an instance of 'str'"),
    ],
)
def test_invalid_params_name_parameter_and_value(params, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        validate_params(CONSTRAINTS, params, "Thing")


def test_invalid_parameter_error_is_value_and_type_error():
    with pytest.raises(ValueError):
        validate_params(CONSTRAINTS, {"n_bins": 0}, "Thing")
    with pytest.raises(TypeError):
        validate_params(CONSTRAINTS, {"n_bins": 0}, "Thing")
