"""Counting the values of categorical columns, the fast way for each kind.

Three kinds of column reach the drift check, and each is counted where its
values live:

* **Arrow strings** (pandas >= 3 ``str``, ``string[pyarrow]``): hashed by
  Arrow's C++ code, which runs without the GIL.
* **pandas categoricals**: their codes are recoded, no value is hashed.
* **Python objects** (strings on pandas < 3, mixed values): hashed by
  pandas' object hash table, which holds the GIL for every value. Columns
  read by pandas (``read_csv``, ``read_parquet``, ``read_excel``) or built
  from a list of categories hold one Python object per *distinct* value, each
  shared by many rows. For those the rows are first grouped by object
  identity -- the object pointers are counted as integers, without the GIL
  and without touching an object -- and only the few distinct objects are
  hashed. Columns with one object per row (a NumPy string array cast to
  ``object``) are hashed row by row as before.

Every route gives the same counts as pandas' own ``value_counts`` and
``Index.get_indexer`` (tested against them).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "arrow_strings",
    "category_codes",
    "category_counts",
    "counted_without_gil",
    "object_counts",
    "value_counts",
]

#: Fewest rows for which grouping by object identity is tried: below it
#: hashing every value costs well under a millisecond.
_SHARED_MIN_ROWS = 8_192
#: Rows sampled to decide whether objects are shared: enough to see a few
#: thousand distinct values repeat.
_SHARED_SAMPLE = 8_192


def arrow_strings(col: pd.Series) -> Any:
    """Return the Arrow string array behind ``col`` (None if there is none).

    Zero-copy for pandas >= 3 ``str`` columns and ``string[pyarrow]`` ones, so
    their hashing runs in Arrow's C++ code (without the GIL).
    """
    data = getattr(col.array, "_pa_array", None)
    if data is None:
        return None
    import pyarrow as pa

    if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return data


def _addresses(values: np.ndarray) -> np.ndarray:
    """Read the object pointers of a C-contiguous object array as integers.

    NumPy refuses to view an object array as integers, so the pointer slots
    are read through ctypes. The integers are only compared, never turned
    back into objects: the objects are taken from ``values`` by position.
    ``values`` must outlive the returned array (the caller holds it).
    """
    slots = (ctypes.c_ssize_t * len(values)).from_address(values.ctypes.data)
    addresses: np.ndarray = np.frombuffer(memoryview(slots), dtype=np.intp)
    return addresses


def _shares_objects(values: np.ndarray) -> bool:
    """Whether most rows of a C-contiguous object array share their objects.

    Judged on a strided sample: at most half of it distinct. Only a matter
    of speed -- both routes give the same counts.
    """
    n = len(values)
    if n < _SHARED_MIN_ROWS:
        return False
    sample = _addresses(values)[:: n // _SHARED_SAMPLE]
    return len(pd.unique(sample)) <= len(sample) // 2


def _shared_objects(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Group the rows of an object array by object identity.

    Returns the identity code of each row and one object per code (codes in
    first-seen order), or None when the column does not share objects or is
    too small to gain (see :func:`_shares_objects`).
    """
    if not _shares_objects(values):
        return None
    n = len(values)
    codes, _ = pd.factorize(_addresses(values))
    # any row of a code gives its object (the last one written wins)
    rows = np.empty(int(codes.max()) + 1, dtype=np.intp)
    rows[codes] = np.arange(n, dtype=np.intp)
    return codes, values[rows]


def counted_without_gil(col: pd.Series) -> bool:
    """Whether counting ``col`` runs mostly without the GIL.

    False only for Python-object columns with one object per row: hashing
    them holds the GIL throughout, so on a thread they would stall the
    threads doing numpy work.
    """
    if col.dtype != object:
        return True
    return _shares_objects(np.ascontiguousarray(col.to_numpy(), dtype=object))


def object_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Count the distinct values of an object array, first seen first.

    Parameters
    ----------
    values : ndarray of object
        One-dimensional.

    Returns
    -------
    uniques : ndarray of object
        The distinct non-missing values (pandas' equality: ``1 == 1.0``), in
        the order they are first seen.
    counts : ndarray of int64
        Rows per value in ``uniques``.
    n_missing : int
        Rows holding a missing value (None, NaN, NA, NaT).
    """
    values = np.ascontiguousarray(values, dtype=object)
    shared = _shared_objects(values)
    if shared is None:
        codes, uniques = pd.factorize(values)
        counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    else:
        # hash only the distinct objects; each weighs the rows that share it
        identity, objects = shared
        per_object = np.bincount(identity, minlength=len(objects))
        codes, uniques = pd.factorize(objects)
        counts = np.bincount(
            codes + 1, weights=per_object, minlength=len(uniques) + 1
        ).astype(np.int64)  # exact: float64 counts are integers below 2**53
    return np.asarray(uniques, dtype=object), counts[1:], int(counts[0])


def value_counts(col: pd.Series) -> tuple[pd.Series, int]:
    """Count the non-missing values of ``col``, in first-seen order.

    Returns the counts and the number of missing values. Arrow strings are
    counted by Arrow, Python objects by :func:`object_counts`, other kinds
    by pandas.
    """
    if col.dtype == object:
        uniques, counts, n_missing = object_counts(col.to_numpy())
        return pd.Series(counts, index=pd.Index(uniques, dtype=object)), n_missing
    if isinstance(col.dtype, pd.CategoricalDtype):
        # the levels that occur, first seen first, as for any other kind (not
        # in level order, and not the unused levels, which no row holds)
        codes = col.cat.codes.to_numpy()
        present = codes[codes >= 0]
        order = pd.unique(present)
        per_level = np.bincount(present, minlength=len(col.cat.categories))
        index = pd.Index(np.asarray(col.cat.categories, dtype=object)[order])
        return pd.Series(per_level[order], index=index), len(codes) - len(present)
    data = arrow_strings(col)
    if data is None:
        found = col.value_counts(dropna=True, sort=False)
        return found, len(col) - int(found.sum())  # the rest is missing
    import pyarrow.compute as pc

    vc = pc.value_counts(data)
    values = vc.field("values")
    counts_ = vc.field("counts").to_numpy()
    keep = values.is_valid().to_numpy(zero_copy_only=False)
    index = pd.Index(np.asarray(values.to_pylist(), dtype=object)[keep])
    return pd.Series(counts_[keep], index=index), int(data.null_count)


def category_counts(col: pd.Series, categories: pd.Index) -> tuple[np.ndarray, int]:
    """Count ``col`` per category; the last slot: missing or unseen values.

    Returns the counts (``len(categories) + 1``) and the number of missing
    values. Arrow strings are looked up with the slot already in place of
    nulls and counted as the int32 codes they are (no shifting or widening
    pass); Python objects are counted first and only their distinct values
    looked up; the other kinds go through :func:`category_codes`.
    """
    n = len(categories)
    if col.dtype == object:
        uniques, counts, n_missing = object_counts(col.to_numpy())
        slot = categories.get_indexer(uniques)
        slot[slot < 0] = n
        full = np.bincount(slot, weights=counts, minlength=n + 1).astype(np.int64)
        full[n] += n_missing
        return full, n_missing
    data = arrow_strings(col)
    if (
        data is not None
        and not isinstance(col.dtype, pd.CategoricalDtype)
        and all(isinstance(c, str) for c in categories)
    ):
        import pyarrow as pa
        import pyarrow.compute as pc

        value_set = pa.array(list(categories), type=data.type)
        idx = pc.index_in(data, value_set=value_set).fill_null(n)
        codes = idx.to_numpy(zero_copy_only=False)
        return np.bincount(codes, minlength=n + 1), int(data.null_count)
    codes, n_missing = category_codes(col, categories)
    found = np.bincount(codes + 1, minlength=n + 1)
    return np.roll(found, -1), n_missing


def category_codes(col: pd.Series, categories: pd.Index) -> tuple[np.ndarray, int]:
    """Position of each value in ``categories`` (-1: missing or unseen)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        recode = categories.get_indexer(col.cat.categories)
        codes = col.cat.codes.to_numpy()
        if len(recode) == 0:  # no level at all: every value is missing
            return np.full(len(codes), -1, dtype=np.intp), len(codes)
        out = np.where(codes >= 0, recode[np.maximum(codes, 0)], -1)
        return out.astype(np.intp), int((codes < 0).sum())
    data = None if col.dtype == object else arrow_strings(col)
    if data is not None and all(isinstance(c, str) for c in categories):
        import pyarrow as pa
        import pyarrow.compute as pc

        value_set = pa.array(list(categories), type=data.type)
        idx = pc.index_in(data, value_set=value_set).fill_null(-1)
        codes = np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.intp)
        return codes, int(data.null_count)
    values = col.to_numpy(dtype=object)
    codes = categories.get_indexer(values).astype(np.intp)
    # only values that are not a reference category can be missing: testing
    # those few costs far less than isna over a column of Python objects
    unknown = codes < 0
    n_missing = int(pd.isna(values[unknown]).sum()) if unknown.any() else 0
    return codes, n_missing
