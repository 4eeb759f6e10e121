"""Input datasets: discover files, plan work units, check schemas, read batches.

A *work unit* is the piece of input one task scores and writes as one output
part file: a run of consecutive row groups of one Parquet file (at most about
``batch_rows`` rows), or one whole CSV file. Both engines use the same units,
so the local and the Dask engine write the same part files with the same rows.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.timeouts import StorageTimeoutError
from churnlib.exceptions import DataValidationError, TableNotFoundError

__all__: list[str] = []

_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz", ".tsv")
# How many rows of each CSV file are sampled to learn its column kinds.
_CSV_SAMPLE_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One task's share of the input: a file, and for Parquet its row groups."""

    index: int
    path: str  # protocol-stripped path, as the filesystem understands it
    url: str  # the same path with its protocol, for messages
    fmt: str  # "parquet" or "csv"
    row_groups: tuple[int, ...] | None
    rows: int | None  # known for Parquet, None for CSV
    csv_options: tuple[tuple[str, str], ...] = ()  # CSV: sniffed sep and encoding

    def describe(self) -> str:
        """Name this unit in an error message."""
        where = f"partition {self.index} (file {self.url!r}"
        if self.row_groups is not None and self.row_groups:
            first, last = self.row_groups[0], self.row_groups[-1]
            groups = f"{first}" if first == last else f"{first}-{last}"
            where += f", row groups {groups}"
        return where + ")"


@dataclass(frozen=True, slots=True)
class InputPlan:
    """Everything learned about the input before any row is scored."""

    url: str
    fmt: str
    files: tuple[str, ...]
    units: tuple[WorkUnit, ...]
    columns: tuple[str, ...]  # columns present in every file, first file's order
    schemas: Mapping[str, Mapping[str, str]]  # file -> column -> kind


def infer_format(path: str) -> str | None:
    """``"parquet"``, ``"csv"`` or None from a file name."""
    name = path.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    return None


def _visible(path: str, root: str) -> bool:
    rel = posixpath.relpath(path, root) if path != root else posixpath.basename(path)
    return not any(part.startswith(("_", ".")) for part in rel.split("/"))


def list_input_files(
    fs: Any, path: str, url: str, fmt: str | None
) -> tuple[str, list[str]]:
    """Return ``(format, files)`` for a file, a directory of parts or a glob."""
    if any(ch in path for ch in "*?["):
        files = sorted(p for p in fs.glob(path) if fs.isfile(p))
    elif fs.isdir(path):
        files = sorted(p for p in fs.find(path) if _visible(p, path) and fs.isfile(p))
        if fmt is None:
            files = [p for p in files if infer_format(p) is not None]
        elif fmt == "parquet":
            files = [p for p in files if infer_format(p) in (None, "parquet")]
        else:
            files = [p for p in files if infer_format(p) in (None, "csv")]
    elif fs.exists(path):
        files = [path]
    else:
        raise TableNotFoundError(
            f"The input {url!r} does not exist. Pass the URL of a Parquet or CSV "
            "file, a directory of part files, or a glob pattern.",
            url=url,
        )
    if not files:
        raise DataValidationError(
            f"The input {url!r} contains no Parquet or CSV files (names ending in "
            f"{', '.join(_PARQUET_SUFFIXES + _CSV_SUFFIXES[:2])}); files starting "
            "with '_' or '.' are ignored. Pass input_format= for other names."
        )
    if fmt is None:
        found = {f for f in map(infer_format, files) if f is not None}
        if len(found) != 1:
            raise DataValidationError(
                f"Cannot tell the format of the input {url!r}: found "
                f"{sorted(found) or 'no known'} file suffixes. Pass "
                "input_format='parquet' or input_format='csv'."
            )
        fmt = found.pop()
    return fmt, files


def arrow_kind(dtype: Any) -> str:
    """Coarse kind of an Arrow type: numeric, bool, string, temporal, null, other."""
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_dictionary(dtype):
        dtype = dtype.value_type
    if pat.is_null(dtype):
        return "null"
    if pat.is_boolean(dtype):
        return "bool"
    if pat.is_integer(dtype) or pat.is_floating(dtype) or pat.is_decimal(dtype):
        return "numeric"
    if pat.is_string(dtype) or pat.is_large_string(dtype) or dtype == pa.string_view():
        return "string"
    if pat.is_temporal(dtype):
        return "temporal"
    return "other"


def pandas_kind(series: pd.Series) -> str:
    """Coarse kind of a pandas column, with the same names as :func:`arrow_kind`."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        if series.isna().all():
            return "null"
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "temporal"
    if series.isna().all():
        return "null"
    if dtype is np.dtype(object):  # e.g. booleans or dates with missing values
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return {
            "boolean": "bool",
            "integer": "numeric",
            "floating": "numeric",
            "mixed-integer-float": "numeric",
            "decimal": "numeric",
            "string": "string",
            "date": "temporal",
            "datetime": "temporal",
            "datetime64": "temporal",
            "empty": "null",
        }.get(
            inferred,
            "string" if "string" in inferred or "mixed" in inferred else "other",
        )
    if pd.api.types.is_string_dtype(dtype):
        return "string"
    return "other"


def _csv_kind(series: pd.Series) -> str:
    """Kind of a sampled CSV column; mostly-numeric text counts as numeric.

    A stray ``"n/a"`` or ``"many"`` in a numeric CSV column turns the whole
    column into text; calling it numeric lets the batch check name the bad
    value instead of blaming the clean batches.
    """
    kind = pandas_kind(series)
    if kind != "string":
        return kind
    present = series.dropna()
    parsed = pd.to_numeric(present, errors="coerce").notna().mean()
    return "numeric" if parsed > 0.5 else kind


def _compatible(kind: str, expected: str) -> bool:
    return kind == expected or "null" in (kind, expected)


def _csv_read_kwargs(path: str) -> dict[str, Any]:
    kw: dict[str, Any] = {"compression": "infer"}
    if path.lower().endswith(".tsv"):
        kw["sep"] = "\t"
    return kw


def _open_csv(fs: Any, path: str) -> Any:
    from fsspec.utils import infer_compression

    return fs.open(path, "rb", compression=infer_compression(path))


def _sniff_csv(fs: Any, path: str) -> dict[str, str]:
    """Sniff the delimiter (, ; tab |) and encoding (utf-8, else latin-1) of a CSV.

    The same rules the training reader applies, so a semicolon-separated
    European export scores without options.
    """
    import csv

    with _open_csv(fs, path) as f:
        head = f.read(64 * 1024)
    try:
        text = head.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 4:  # a character cut by the 64 KiB window
            text, encoding = head[: err.start].decode("utf-8"), "utf-8"
        else:
            text, encoding = head.decode("latin-1"), "latin-1"
    options = {"encoding": encoding}
    if path.lower().endswith(".tsv"):
        return options
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line may be cut by the window
    # one column, or too little text to tell: pandas' default ","
    with contextlib.suppress(csv.Error):
        options["sep"] = csv.Sniffer().sniff("\n".join(lines), ",;\t|").delimiter
    return options


def _parquet_footer(fs: Any, path: str, url: str) -> tuple[dict[str, str], list[int]]:
    """Column kinds and rows per row group, from a Parquet footer."""
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as f:
            meta = pq.ParquetFile(f).metadata
            schema = meta.schema.to_arrow_schema()
    except StorageTimeoutError:
        raise  # the storage hangs: not the file's fault
    except Exception as err:  # unreadable footer: not a Parquet file
        raise DataValidationError(
            f"Cannot read {url!r} as Parquet ({err}). Remove it from the input "
            "or pass input_format='csv' for CSV files."
        ) from err
    kinds = {f.name: arrow_kind(f.type) for f in schema}
    return kinds, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def _csv_sample(fs: Any, path: str, url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Column kinds from the first rows of a CSV file, and its read options."""
    try:
        options = _sniff_csv(fs, path)
        with _open_csv(fs, path) as f:
            sample = pd.read_csv(
                f, nrows=_CSV_SAMPLE_ROWS, **_csv_read_kwargs(path), **options
            )
    except StorageTimeoutError:
        raise
    except Exception as err:
        raise DataValidationError(
            f"Cannot read {url!r} as CSV ({err}). Remove it from the input or "
            "pass input_format='parquet' for Parquet files."
        ) from err
    return {str(c): _csv_kind(sample[c]) for c in sample.columns}, options


def plan_input(
    fs: Any,
    path: str,
    url: str,
    *,
    fmt: str | None,
    batch_rows: int,
    required: Sequence[str],
) -> InputPlan:
    """List the input, read every file's schema, check it and cut work units.

    Raises :class:`DataValidationError` naming the file and the column when a
    required column is missing from a file or has a different kind there than
    in most files.
    """
    fmt, files = list_input_files(fs, path, url, fmt)
    protocol = url.split("://", 1)[0] + "://" if "://" in url else ""
    schemas: dict[str, dict[str, str]] = {}
    units: list[WorkUnit] = []

    def file_url(p: str) -> str:
        return p if "://" in p else protocol + p if protocol else p

    # footers and CSV samples are read concurrently: on an object store each
    # one is a round trip, and a dataset may have thousands of files
    reader = _parquet_footer if fmt == "parquet" else _csv_sample
    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(files))))
    try:
        facts = list(pool.map(lambda p: reader(fs, p, file_url(p)), files))
    finally:  # after a failure, files not started yet are not read at all
        pool.shutdown(wait=True, cancel_futures=True)
    for p, (kinds, row_groups) in zip(files, facts, strict=True):
        schemas[p] = kinds
        if isinstance(row_groups, dict):  # CSV: one unit a file
            options = tuple(sorted(row_groups.items()))
            units.append(WorkUnit(len(units), p, file_url(p), fmt, None, None, options))
            continue
        group: list[int] = []
        group_rows = 0
        for rg, n in enumerate(row_groups):
            if group and group_rows + n > batch_rows:
                units.append(
                    WorkUnit(len(units), p, file_url(p), fmt, tuple(group), group_rows)
                )
                group, group_rows = [], 0
            group.append(rg)
            group_rows += n
        if group or not row_groups:
            units.append(
                WorkUnit(len(units), p, file_url(p), fmt, tuple(group), group_rows)
            )

    # columns present everywhere, and the expected kind of each (majority vote)
    first = schemas[files[0]]
    for p in files:
        missing = [c for c in required if c not in schemas[p]]
        if missing:
            raise DataValidationError(
                f"{_unit_of(units, p).describe()} is missing the column(s) "
                f"{missing} that scoring needs. Every input file must have the "
                "model's feature columns and the id column(s).",
                columns=missing,
            )
    columns = tuple(c for c in first if all(c in s for s in schemas.values()))
    return InputPlan(url, fmt, tuple(files), tuple(units), columns, schemas)


def expected_kinds(
    plan: InputPlan, columns: Sequence[str], *, check: bool = True
) -> dict[str, str]:
    """Return the expected kind of each column (majority of files).

    With ``check``, raises :class:`DataValidationError` naming the file, its
    partition and the column when a file's kind differs from the majority.
    """
    schemas = plan.schemas
    kinds: dict[str, str] = {}
    for col in columns:
        votes = Counter(s[col] for s in schemas.values() if s[col] != "null")
        if not votes:
            kinds[col] = "null"
            continue
        top = max(votes.values())
        expected = next(
            s[col]
            for s in schemas.values()
            if s[col] != "null" and votes[s[col]] == top
        )
        kinds[col] = expected
        for p in plan.files if check else ():
            kind = schemas[p][col]
            if not _compatible(kind, expected):
                raise DataValidationError(
                    f"Column {col!r} has {kind} values in "
                    f"{_unit_of(plan.units, p).describe()} but {expected} values in "
                    f"the other input files. Fix the dtype of {col!r} in that file "
                    "(every file must use the same column types).",
                    columns=[col],
                )
    return kinds


def _unit_of(units: Sequence[WorkUnit], path: str) -> WorkUnit:
    return next(u for u in units if u.path == path)


def iter_unit_batches(
    fs: Any,
    unit: WorkUnit,
    columns: Sequence[str],
    batch_rows: int,
    dictionary: Sequence[str] = (),
) -> Iterator[pd.DataFrame]:
    """Yield the unit's rows as pandas frames of at most ``batch_rows`` rows.

    Parquet text columns named in ``dictionary`` are read dictionary-encoded
    (pandas categoricals): a few distinct levels instead of one Python string
    a row, which cleaning and one-hot encoding then handle per level.
    """
    if unit.fmt == "parquet":
        import pyarrow.parquet as pq

        if not unit.row_groups:
            return
        with fs.open(unit.path, "rb") as f:
            pf = pq.ParquetFile(f, read_dictionary=list(dictionary) or None)
            for batch in pf.iter_batches(
                batch_size=batch_rows,
                row_groups=list(unit.row_groups),
                columns=list(columns),
                use_threads=False,
            ):
                yield batch.to_pandas()
    else:
        with _open_csv(fs, unit.path) as f:
            reader = pd.read_csv(
                f,
                usecols=list(columns),
                chunksize=batch_rows,
                **_csv_read_kwargs(unit.path),
                **dict(unit.csv_options),
            )
            with reader:
                yield from reader
