"""Parameter validation shared by churnlib estimators and functions.

A small, public-API-free counterpart of scikit-learn's private
``_param_validation``: a class declares ``_parameter_constraints`` (a dict of
parameter name to a list of accepted constraints) and ``fit`` calls
:func:`validate_params`. Messages follow scikit-learn's wording.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from churnlib.exceptions import InvalidParameterError

__all__ = ["Interval", "Options", "StrOptions", "validate_params"]


@dataclass(frozen=True)
class Interval:
    """Numbers of ``type`` in ``[left, right]`` (ends open or closed; None = inf)."""

    type: type
    left: float | None
    right: float | None
    closed: str = "both"  # "left", "right", "both" or "neither"

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_) or not isinstance(value, self.type):
            return False
        if isinstance(value, float) and np.isnan(value):
            return False
        # ``isinstance(value, self.type)`` narrows to ``object``: it is a real number.
        number = cast("float", value)
        lo_ok = self.left is None or (
            number >= self.left
            if self.closed in ("left", "both")
            else number > self.left
        )
        hi_ok = self.right is None or (
            number <= self.right
            if self.closed in ("right", "both")
            else number < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        kind = "an int" if self.type is numbers.Integral else "a float"
        if self.type is numbers.Real:
            kind = "a float"
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        left = "-inf" if self.left is None else self.left
        right = "inf" if self.right is None else self.right
        return f"{kind} in the range {lb}{left}, {right}{rb}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    options: frozenset[Any]

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.options
        except TypeError:  # unhashable
            return False

    def __str__(self) -> str:
        return f"one of {sorted(self.options, key=repr)!r}"


class StrOptions(Options):
    """One of a fixed set of strings."""

    def __init__(self, options: set[str] | frozenset[str]) -> None:
        super().__init__(frozenset(options))

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return f"a str among {sorted(self.options)!r}"


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "an instance of 'bool'"
    if constraint == "array-like":
        return "an array-like"
    if constraint == "random_state":
        return "an int, a numpy.random.RandomState instance or None"
    if constraint is callable:
        return "a callable"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__!r}"
    return str(constraint)


def _satisfied(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "array-like":
        return hasattr(value, "__len__") or hasattr(value, "__array__")
    if constraint == "random_state":
        return value is None or isinstance(
            value, numbers.Integral | np.random.RandomState | np.random.Generator
        )
    if constraint is callable:
        # ``is`` narrows the builtin ``callable`` to ``Any`` as well; keep a bool.
        return bool(callable(value))
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return bool(constraint.is_satisfied_by(value))


def validate_params(
    constraints: Mapping[str, list[Any]],
    params: Mapping[str, Any],
    caller_name: str,
) -> None:
    """Check ``params`` against ``constraints``; raise on the first violation.

    Parameters
    ----------
    constraints : mapping of str to list
        Accepted constraints per parameter name: ``None``, a type,
        ``"boolean"``, ``"array-like"``, ``"random_state"``, ``callable``,
        :class:`Interval`, :class:`StrOptions` or :class:`Options`. A parameter
        without an entry is not checked.
    params : mapping of str to object
        Parameter values, e.g. ``estimator.get_params(deep=False)``.
    caller_name : str
        Class or function name used in the message.

    Raises
    ------
    InvalidParameterError
        With scikit-learn's wording: "The 'n_bins' parameter of TenureBinner
        must be an int in the range [2, inf). Got 1 instead."
    """
    for name, accepted in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfied(c, value) for c in accepted):
            continue
        described = [_describe(c) for c in accepted]
        if len(described) > 1:
            text = ", ".join(described[:-1]) + " or " + described[-1]
        else:
            text = described[0]
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be {text}. "
            f"Got {value!r} instead."
        )


def validate_estimator_params(estimator: Any) -> None:
    """Validate an estimator's ``get_params(deep=False)`` against its table."""
    validate_params(
        type(estimator)._parameter_constraints,
        estimator.get_params(deep=False),
        type(estimator).__name__,
    )


ParamCheck = Callable[[Any], bool]
