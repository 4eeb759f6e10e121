"""The one churn-label decoder: which raw label value means churn.

Training, reading, evaluation, scoring, monitoring, the CLI and the service all
decode labels here, so ``"Attrited Customer"`` means churn everywhere or
nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.cleaning import (
    CHURN_WORDS,
    FALSE_WORDS,
    NEGATION,
    STAY_WORDS,
    TRUE_WORDS,
    describe_values,
    factorize_text,
    is_text,
    python_scalar,
)
from churnlib.exceptions import DataValidationError

__all__ = ["LabelRule", "decode_labels", "infer_label_rule"]


def _fold(value: Any) -> str:
    # a full stop ends some exports' labels ("True." / "False." in the UCI
    # telecom churn table): the same word as without it
    text = str(value).strip().casefold()
    return text[:-1].rstrip() if text.endswith(".") and len(text) > 1 else text


def _as_series(values: Any, name: str | None) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.Index):
        return pd.Series(values, name=name)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataValidationError(
            f"Labels must be one-dimensional; got an array of shape {arr.shape}.",
            columns=[name] if name else (),
        )
    return pd.Series(arr, name=name)


def _codes(s: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes (-1 = missing) and the distinct present raw values, vectorized."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if is_text(s):
        codes, levels = factorize_text(s)
        return codes, list(levels)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), [python_scalar(u) for u in uniques]


def _label_name(name: str | None) -> str:
    return f"target column {name!r}" if name else "label column"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRule:
    """How the raw values of a churn label decode to True (churned) / False.

    Decided once, by :func:`infer_label_rule` (in training), and carried by
    the model's contract, so every later stage decodes labels the same way.

    Parameters
    ----------
    pos_label : object
        The raw value meaning churn (``"Yes"``, ``1``, ``True``,
        ``"Attrited Customer"``); None when training saw only non-churners.
    neg_labels : tuple
        The raw values meaning the customer stayed.
    name : str or None
        The target column, for messages.

    Examples
    --------
    >>> from churnlib import infer_label_rule
    >>> rule = infer_label_rule(["Existing Customer", "Attrited Customer"])
    >>> rule.pos_label
    'Attrited Customer'
    >>> rule.decode(["attrited customer ", "Existing Customer"]).tolist()
    [True, False]
    """

    pos_label: Any
    neg_labels: tuple[Any, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "neg_labels", tuple(python_scalar(v) for v in self.neg_labels)
        )
        object.__setattr__(self, "pos_label", python_scalar(self.pos_label))

    @staticmethod
    def _matches(levels: list[Any], label: Any) -> np.ndarray:
        """Which of ``levels`` equal ``label`` (exactly, or as folded text).

        A boolean, 0/1 or yes/no-word label also matches the other spellings
        of the same answer, so a rule learned on ``True``/``False`` decodes
        ``"Yes"`` and one learned on ``"Yes"``/``"No"`` decodes ``1``/``0``.
        """
        out = np.zeros(len(levels), dtype=bool)
        if label is None:
            return out
        folded = _fold(label)
        truth: bool | None = None
        if isinstance(label, bool | np.bool_) or (
            isinstance(label, int | float) and label in (0, 1)
        ):
            truth = bool(label)
        elif isinstance(label, str) and folded in TRUE_WORDS | FALSE_WORDS:
            truth = folded in TRUE_WORDS
        words = None if truth is None else (TRUE_WORDS if truth else FALSE_WORDS)
        for i, v in enumerate(levels):  # a loop over distinct values, not rows
            if words is not None:
                if isinstance(v, bool | np.bool_ | int | float):
                    out[i] = float(v) == float(bool(truth))
                else:
                    out[i] = _fold(v) in words
            else:
                out[i] = (type(v) is type(label) and v == label) or _fold(v) == folded
        return out

    def is_missing(self, values: Any) -> np.ndarray:
        """Boolean mask of unlabelled rows (missing, blank or placeholder labels).

        Parameters
        ----------
        values : array-like of shape (n_samples,)

        Returns
        -------
        ndarray of bool
        """
        codes, _ = _codes(_as_series(values, self.name))
        return np.asarray(codes < 0, dtype=bool)

    def decode(self, values: Any) -> np.ndarray:
        """Decode raw labels to booleans (True = churned).

        Parameters
        ----------
        values : array-like of shape (n_samples,)
            Raw label values, as read.

        Returns
        -------
        ndarray of bool

        Raises
        ------
        DataValidationError
            If a label is missing (select labelled rows with
            :meth:`is_missing` first) or is neither the churn label nor a
            known non-churn label.
        """
        s = _as_series(values, self.name)
        codes, levels = _codes(s)
        what = _label_name(self.name)
        cols = [self.name] if self.name else ()
        n_missing = int((codes < 0).sum())
        if n_missing:
            raise DataValidationError(
                f"The {what} has {n_missing} missing label(s) (blank, NaN or a "
                "placeholder such as 'Unknown'): keep only labelled rows (they "
                "can still be scored) before decoding.",
                columns=cols,
            )
        positive = self._matches(levels, self.pos_label)
        negative = np.zeros(len(levels), dtype=bool)
        for neg in self.neg_labels:
            negative |= self._matches(levels, neg)
        unknown = [
            v
            for v, p, n in zip(levels, positive, negative, strict=True)
            if not (p or n)
        ]
        if unknown and self.neg_labels:
            raise DataValidationError(
                f"The {what} holds {describe_values(unknown)}, which is neither the "
                f"churn label {self.pos_label!r} nor a non-churn label "
                f"({describe_values(self.neg_labels)}) seen in training. Map those "
                "values to one of these labels first.",
                columns=cols,
            )
        return positive[codes] if codes.size else np.zeros(0, dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {
            "pos_label": self.pos_label,
            "neg_labels": list(self.neg_labels),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelRule:
        """Inverse of :meth:`to_dict`."""
        return cls(
            pos_label=data.get("pos_label"),
            neg_labels=tuple(data.get("neg_labels") or ()),
            name=data.get("name"),
        )


def _names_staying(name: str | None) -> bool:
    """Whether a target's name asks "did the customer stay?" (``Retained``).

    Its yes/true/1 answer then means the customer stayed, and churn is the
    other one. Words are split at ``_``, ``-``, ``.`` and camel case first
    (``IsActive``, ``is_active``); a name that also names churn or negates
    (``churn_active``, ``NotActive``) does not count.
    """
    if not name:
        return False
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    words = re.sub(r"[_\-.]+", " ", words)
    return bool(
        STAY_WORDS.search(words)
        and not CHURN_WORDS.search(words)
        and not NEGATION.search(words)
    )


def _choose_positive(levels: list[Any], name: str | None) -> Any:
    """Pick the churn value among the distinct labels (see infer_label_rule)."""
    what = _label_name(name)
    # a target named for staying (Retained, IsActive): yes means stayed
    churn_answer = not _names_staying(name)
    if all(isinstance(v, bool | np.bool_) for v in levels):
        if churn_answer:
            return True
        return False if any(not bool(v) for v in levels) else None
    folded = [_fold(v) for v in levels]
    if len(levels) <= 2 and set(folded) <= (TRUE_WORDS | FALSE_WORDS):
        answer = TRUE_WORDS if churn_answer else FALSE_WORDS
        pos = [v for v, f in zip(levels, folded, strict=True) if f in answer]
        if len(pos) == 1:
            return pos[0]
        if not pos:
            return None  # only the non-churn label occurs
    if len(levels) == 2:
        churn = [
            v
            for v in levels
            if CHURN_WORDS.search(str(v)) and not NEGATION.search(str(v))
        ]
        if len(churn) == 1:
            return churn[0]
        stay = [v for v in levels if STAY_WORDS.search(str(v))]
        if len(stay) == 1:
            return next(v for v in levels if v is not stay[0] and v != stay[0])
    if (
        len(levels) == 1
        and CHURN_WORDS.search(str(levels[0]))
        and not NEGATION.search(str(levels[0]))
    ):
        return levels[0]
    if len(levels) > 2:
        hint = "a churn label has two values"
    else:
        hint = "its values do not say which one is churn"
    raise DataValidationError(
        f"Cannot tell which value of the {what} means churn ({hint}): its "
        f"values are {describe_values(levels)}. Pass pos_label=<the churn label>"
        f" (--positive on the command line), e.g. pos_label={levels[0]!r}.",
        columns=[name] if name else (),
    )


def infer_label_rule(
    values: Any, *, pos_label: Any = None, name: str | None = None
) -> LabelRule:
    """Decide which raw label value means churn.

    Missing labels (NaN, blank, placeholders such as ``"Unknown"``) are
    ignored here: they are unlabelled rows, not a third class.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Raw label values.
    pos_label : object, default=None
        The churn value, when known. It is matched exactly, else as
        case-insensitive stripped text (``"yes"`` finds ``"Yes"``).
    name : str, default=None
        The target column, for messages.

    Returns
    -------
    LabelRule

    Raises
    ------
    DataValidationError
        If ``pos_label`` does not occur, there is no label at all, there are
        more than two labels, or the churn value cannot be decided.

    Notes
    -----
    Without ``pos_label``: ``True`` for booleans; the yes/true/1 value of a
    yes/no-style pair (``Yes``/``No``, ``1``/``0``, ``Y``/``N``, ``T``/``F``);
    for a ``name`` asking whether the customer stayed (``Retained``,
    ``IsActive``, ``Renewed``) the no/false/0 value of those instead; of two
    text labels, the single one naming churn (churn, attrit, exit,
    left, leav, cancel, lost, quit, closed, terminat, defect, lapse, gone,
    departed, inactive; not negated as in ``"Not churned"``), else the one
    other than the single one naming staying (stay, retain, existing, active,
    loyal, current, remain, renew). Anything else is ambiguous and raises:
    churnlib refuses rather than guesses (``1``/``2`` codes need
    ``pos_label``).

    Examples
    --------
    >>> from churnlib import infer_label_rule
    >>> infer_label_rule(["Stayed", "Left", "Stayed"]).pos_label
    'Left'
    >>> infer_label_rule([0, 1, 1]).pos_label
    1
    >>> infer_label_rule(["churner", "loyal"]).pos_label
    'churner'
    """
    s = _as_series(values, name)
    _, levels = _codes(s)
    # "Yes" and "yes " are one label written twice, not two labels.
    levels = list({_fold(v): v for v in reversed(levels)}.values())[::-1]
    what = _label_name(name)
    cols = [name] if name else ()
    if not levels:
        raise DataValidationError(
            f"The {what} has no labels"
            + (" (every value is missing)." if len(s) else " (no rows)."),
            columns=cols,
        )
    if pos_label is not None:
        probe = LabelRule(pos_label=pos_label)
        hits = probe._matches(levels, pos_label)
        if not hits.any():
            raise DataValidationError(
                f"pos_label={pos_label!r} does not occur in the {what}, whose "
                f"values are {describe_values(levels)}. Pass one of those.",
                columns=cols,
            )
        matched = [v for v, h in zip(levels, hits, strict=True) if h]
        pos = matched[0] if len(matched) == 1 else pos_label
        # The user named churn: every other label means the customer stayed.
        negs = tuple(v for v, h in zip(levels, hits, strict=True) if not h)
        return LabelRule(pos_label=pos, neg_labels=negs, name=name)
    if len(levels) > 2:
        _choose_positive(levels, name)  # raises with the values listed
    pos = _choose_positive(levels, name)
    negs = tuple(v for v in levels if not (v is pos or (pos is not None and v == pos)))
    return LabelRule(pos_label=pos, neg_labels=negs, name=name)


def decode_labels(
    values: Any, *, pos_label: Any = None, name: str | None = None
) -> tuple[np.ndarray, LabelRule]:
    """Decode raw churn labels to booleans with the one churnlib rule.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Raw label values, none missing.
    pos_label : object, default=None
        The churn value; None decides it (see :func:`infer_label_rule`).
    name : str, default=None
        The target column, for messages.

    Returns
    -------
    y : ndarray of bool
        True for churn.
    rule : LabelRule
        The rule applied, to decode later labels the same way.

    Examples
    --------
    >>> from churnlib import decode_labels
    >>> y, rule = decode_labels(["Yes", "No", "yes "])
    >>> y.tolist(), rule.pos_label
    ([True, False, True], 'Yes')
    """
    rule = infer_label_rule(values, pos_label=pos_label, name=name)
    return rule.decode(values), rule
