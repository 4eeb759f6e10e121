"""Which outcome belongs to which prediction: keys, horizons, maturity.

A prediction is keyed by (customer id, scored at). Its label comes from, in
order of precedence:

1. an outcome logged for that key (``log_outcomes`` with the keys
   ``log_predictions`` returned, or ``scored_at=``);
2. an outcome logged for the customer id alone, when that customer has
   exactly one prediction (several predictions make it ambiguous: refused);
3. churn events (``log_churn_events``): a prediction scored at ``s`` is a
   positive when the customer churned in ``[s, s + horizon)``, a matured
   negative when ``s + horizon <= as_of`` and no event fell inside, and
   pending otherwise. A prediction made after the customer's churn date is
   excluded (counted, never labelled).

Everything is vectorized over the whole log: ids are dictionary-encoded once
with Arrow, keys are int64 codes, matches are hash lookups or one
``searchsorted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib.exceptions import DataValidationError

__all__ = ["Attribution", "KeyIndex", "attribute"]

#: Sentinel "scored at" of outcomes logged by customer id only.
NO_SCORED_AT = np.iinfo(np.int64).min


def _arrow_strings(values: Any) -> Any:
    import pyarrow as pa

    data = getattr(getattr(values, "array", None), "_pa_array", None)
    if data is not None:
        arr = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


@dataclass(frozen=True, eq=False)
class KeyIndex:
    """The (id, scored at) key of every logged prediction, in log order."""

    dictionary: Any  # pyarrow string array of distinct ids
    codes: np.ndarray  # int64 id code per prediction
    scored_at: np.ndarray  # int64 microseconds per prediction

    @classmethod
    def build(cls, ids: list[Any], times: list[np.ndarray]) -> KeyIndex:
        """Build from per-part id arrays (Arrow or pandas) and time arrays."""
        import pyarrow as pa

        if ids:
            arrays = [_arrow_strings(i) for i in ids]
            combined = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
            encoded = combined.dictionary_encode()
            codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
            dictionary = encoded.dictionary
            scored = np.concatenate(times).astype(np.int64, copy=False)
        else:
            dictionary = pa.array([], type=pa.string())
            codes = np.zeros(0, np.int64)
            scored = np.zeros(0, np.int64)
        return cls(dictionary, codes, scored)

    def __len__(self) -> int:
        return len(self.codes)

    def lookup(self, ids: Any) -> np.ndarray:
        """Id codes of ``ids`` (-1: not a logged customer)."""
        import pyarrow.compute as pc

        if len(ids) == 0:
            return np.zeros(0, np.int64)
        idx = pc.index_in(_arrow_strings(ids), value_set=self.dictionary)
        return np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)

    def names(self, codes: np.ndarray) -> list[str]:
        """Ids of some codes (for messages)."""
        return [str(self.dictionary[int(c)].as_py()) for c in codes]

    def check_unique(self, where: str) -> None:
        """Raise on a duplicate (id, scored at) key."""
        if not len(self.codes):
            return
        order = np.lexsort((self.scored_at, self.codes))
        c, t = self.codes[order], self.scored_at[order]
        dup = (c[1:] == c[:-1]) & (t[1:] == t[:-1])
        if dup.any():
            first = np.flatnonzero(dup)[:5]
            ids = self.names(c[first])
            when = [str(pd.Timestamp(int(v), unit="us", tz="UTC")) for v in t[first]]
            n = int(dup.sum())
            pairs = ", ".join(f"({i!r}, {w})" for i, w in zip(ids, when, strict=True))
            raise DataValidationError(
                f"{where} holds {n:,} duplicate prediction key(s) (customer id, "
                f"scored at), e.g. {pairs}. A customer can be scored once per "
                "time stamp: give each scoring run its own timestamp, or drop the "
                "repeated rows before logging.",
                columns=["customer id", "scored at"],
            )


@dataclass(frozen=True, eq=False)
class Attribution:
    """Labels per prediction (NaN: pending or excluded) and counts."""

    labels: np.ndarray  # float64 0/1/NaN, log order
    excluded: np.ndarray  # bool: scored after the customer's churn date
    unmatched_outcomes: int
    unmatched_events: int
    as_of: pd.Timestamp | None


def attribute(
    keys: KeyIndex,
    outcomes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    horizon_us: int | None,
    as_of_us: int | None,
) -> Attribution:
    """Label every prediction from outcomes and churn events.

    Parameters
    ----------
    keys : KeyIndex
    outcomes : DataFrame
        ``__id__``, ``__scored_at__`` (int64 us or ``NO_SCORED_AT``),
        ``__timestamp__`` (observed at, us), ``__y__``.
    events : DataFrame
        ``__id__``, ``__event_at__`` (us).
    horizon_us, as_of_us : int or None
        The horizon and the time up to which events are complete.
    """
    n = len(keys)
    labels = np.full(n, np.nan)
    excluded = np.zeros(n, dtype=bool)
    unmatched = 0
    if len(outcomes):
        out = outcomes.sort_values("__timestamp__", kind="stable")
        code = keys.lookup(out["__id__"])
        scored = out["__scored_at__"].to_numpy(dtype=np.int64)
        y = out["__y__"].to_numpy(dtype=np.float64)
        keyed = scored != NO_SCORED_AT
        # 1. keyed outcomes: (code, scored at) -> prediction row
        row = np.full(len(out), -1, dtype=np.int64)
        if keyed.any() and n:
            pred = pd.MultiIndex.from_arrays([keys.codes, keys.scored_at])
            want = pd.MultiIndex.from_arrays([code[keyed], scored[keyed]])
            row[keyed] = pred.get_indexer(want)
        # 2. id-only outcomes: the customer's single prediction
        plain = ~keyed & (code >= 0)
        if plain.any():
            counts = np.bincount(keys.codes, minlength=len(keys.dictionary))
            many = plain & (counts[np.maximum(code, 0)] > 1)
            if many.any():
                bad = np.unique(code[many])
                names = keys.names(bad[:5])
                raise DataValidationError(
                    f"{len(bad):,} outcome(s) were logged by customer id alone for "
                    f"customers scored several times (e.g. {names}): which "
                    "prediction each belongs to is ambiguous, and churnlib never "
                    "guesses. Pass the keys log_predictions returned (or "
                    "scored_at=) to log_outcomes, or log churn events with a date "
                    "(log_churn_events) and let the horizon attribute them.",
                    columns=["customer id"],
                )
            first = np.full(len(keys.dictionary), -1, dtype=np.int64)
            first[keys.codes[::-1]] = np.arange(n - 1, -1, -1)
            row[plain] = first[code[plain]]
        hit = row >= 0
        unmatched = int((~hit).sum())
        labels[row[hit]] = y[hit]  # sorted by time: the latest outcome wins
    unmatched_events = 0
    as_of = None
    if horizon_us is not None and n and (len(events) or as_of_us is not None):
        ecode = keys.lookup(events["__id__"])
        eat = events["__event_at__"].to_numpy(dtype=np.int64)
        unmatched_events = int((ecode < 0).sum())
        ecode, eat = ecode[ecode >= 0], eat[ecode >= 0]
        order = np.lexsort((eat, ecode))
        ecode, eat = ecode[order], eat[order]
        # position of the first event of the same customer at or after scoring
        t0 = int(min(eat.min(initial=keys.scored_at.min()), keys.scored_at.min()))
        shift = np.int64(31)
        esec = (eat - t0) // 1_000_000
        psec = (keys.scored_at - t0) // 1_000_000
        ekey = (ecode << shift) + esec
        pkey = (keys.codes << shift) + psec
        pos = np.searchsorted(ekey, pkey, side="left")
        inside = np.zeros(n, dtype=bool)
        before = np.zeros(n, dtype=bool)
        if len(ekey):
            nxt = np.minimum(pos, len(ekey) - 1)
            inside = (
                (pos < len(ekey))
                & (ecode[nxt] == keys.codes)
                & (eat[nxt] >= keys.scored_at)
                & (eat[nxt] < keys.scored_at + horizon_us)
            )
            prev = np.maximum(pos - 1, 0)
            before = (
                (pos > 0) & (ecode[prev] == keys.codes) & (eat[prev] < keys.scored_at)
            )
        todo = np.isnan(labels)
        labels[todo & inside] = 1.0
        if as_of_us is not None:
            matured = keys.scored_at + horizon_us <= as_of_us
            labels[todo & ~inside & ~before & matured] = 0.0
            as_of = pd.Timestamp(int(as_of_us), unit="us", tz="UTC")
        excluded = todo & before & ~inside
        labels[excluded] = np.nan
    return Attribution(labels, excluded, unmatched, unmatched_events, as_of)
