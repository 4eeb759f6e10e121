"""Pairing labels with rows: by the index when both carry one, else by position.

scikit-learn pairs ``X`` and ``y`` by position. churnlib keys its frames by
customer (the reader's index is the id column), so a pandas ``y`` whose index
holds the same customers in another order -- after a ``sort_values``, a
``groupby`` or a merge with an outcome table -- would silently train or
evaluate on shuffled labels. Every function taking ``X`` and ``y`` passes them
through :func:`aligned_labels` first; this module is the rule's one home.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from churnlib.exceptions import DataValidationError

__all__ = ["aligned_labels"]


def _positional(index: pd.Index) -> bool:
    """Whether ``index`` is the 0..n-1 a plain list or array gets as a Series."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def aligned_labels(
    X: Any, y: Any, *, x_name: str = "X", y_name: str = "y", caller: str = ""
) -> Any:
    """Return ``y`` in the row order of ``X``.

    Only a pandas ``X`` and a pandas ``y`` (Series or one-column DataFrame)
    are matched by index; anything else is returned as given (paired by
    position, as scikit-learn does).

    - The same index: ``y`` as given.
    - The same customers in another order (both indexes unique): ``y``
      reordered to ``X``'s index.
    - Other labels, and ``y``'s index is 0..n-1 (a list or an array made a
      Series): paired by position.
    - Other labels otherwise: refused, since no pairing is certain.

    Raises
    ------
    DataValidationError
        If both carry an index and they name different rows.
    """
    if not isinstance(X, pd.DataFrame) or not isinstance(y, pd.Series | pd.DataFrame):
        return y
    rows, labels = X.index, y.index
    if len(rows) != len(labels) or labels.equals(rows):
        return y  # a length mismatch is reported by the caller's own check
    if rows.is_unique and labels.is_unique:
        foreign = ~labels.isin(rows)
        if not foreign.any():  # same length, unique, a subset: the same rows
            return y.reindex(rows)
        n_foreign = int(foreign.sum())
    else:
        n_foreign = None
    if _positional(labels):
        return y
    who = f"{caller}: " if caller else ""
    if n_foreign is None:
        detail = f"{x_name} or {y_name} repeats index labels, so they cannot be matched"
    else:
        detail = (
            f"{n_foreign:,} of {len(labels):,} labels of {y_name} are for rows "
            f"{x_name} does not hold"
        )
    raise DataValidationError(
        f"{who}the index of {y_name} does not match the index of {x_name}: "
        f"{detail}. Pass {y_name} with {x_name}'s index "
        f"({y_name}.reindex({x_name}.index) when it holds the same customers), "
        f"or as a plain array ({y_name}.to_numpy()) to pair them by position."
    )
