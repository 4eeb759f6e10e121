"""Input datasets: discover files, plan work units, check schemas, read batches.

A *work unit* is the piece of input one task scores and writes as one output
part file: a run of consecutive row groups of one Parquet file (at most about
``batch_rows`` rows), or one whole CSV file. Both engines use the same units,
so the local and the Dask engine write the same part files with the same rows.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core import tables
from churnlib._core.timeouts import StorageTimeoutError
from churnlib._urls import redact_url, redact_urls_in
from churnlib.exceptions import (
    ChurnlibError,
    DataValidationError,
    InvalidParameterError,
    TableNotFoundError,
)

__all__: list[str] = []

# How many rows of each CSV file are sampled to learn its column kinds.
_CSV_SAMPLE_ROWS = 10_000
#: The read options score_table passes through (as read_table's keywords).
READ_OPTIONS = (
    "sep",
    "encoding",
    "decimal",
    "thousands",
    "na_values",
    "sheet",
    "header_row",
)


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One task's share of the input: a file, and for Parquet its row groups."""

    index: int
    path: str  # protocol-stripped path, as the filesystem understands it
    url: str  # the same path with its protocol, for messages
    fmt: str  # "parquet", "csv" or "excel"
    row_groups: tuple[int, ...] | None
    rows: int | None  # known for Parquet, None for CSV
    # CSV: the read options decided from the file's first bytes and rows
    # (pandas keywords, text and number columns); Excel: sheet and header row
    csv_options: tuple[tuple[str, Any], ...] = ()

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
    """``"parquet"``, ``"csv"``, ``"excel"`` or None from a file name.

    The one suffix table of :mod:`churnlib._core.tables` (compression
    suffixes such as ``.csv.gz`` included).
    """
    return tables.table_format(path)


def _visible(path: str, root: str) -> bool:
    rel = posixpath.relpath(path, root) if path != root else posixpath.basename(path)
    return not any(part.startswith(("_", ".")) for part in rel.split("/"))


def _head(fs: Any, path: str, n: int = 8) -> bytes:
    with fs.open(path, "rb") as f:
        head: bytes = f.read(n)
    return head


def list_input_files(
    fs: Any, path: str, url: str, fmt: str | None
) -> tuple[str, list[str]]:
    """Return ``(format, files)`` for a file, a directory of parts or a glob."""
    url = redact_url(url)
    single = False
    if any(ch in path for ch in "*?["):
        files = sorted(p for p in fs.glob(path) if fs.isfile(p))
    elif fs.isdir(path):
        files = sorted(p for p in fs.find(path) if _visible(p, path) and fs.isfile(p))
        if fmt is None:
            files = [p for p in files if infer_format(p) is not None]
        else:
            files = [p for p in files if infer_format(p) in (None, fmt)]
    elif fs.exists(path):
        files, single = [path], True
    else:
        raise TableNotFoundError(
            f"The input {url!r} does not exist. Pass the URL of a CSV, Parquet or "
            "Excel file, a directory of part files, or a glob pattern.",
            url=url,
        )
    if not files:
        known = ", ".join(sorted(tables.SUFFIXES))
        raise DataValidationError(
            f"The input {url!r} contains no table files (names ending in {known}, "
            "optionally compressed: .gz, .zip, ...); files starting with '_' or '.' "
            "are ignored. Pass input_format= (--input-format) for other names."
        )
    if fmt is None:
        found = {f for f in map(infer_format, files) if f is not None}
        if not found and single:  # a file without a known suffix: its bytes
            found = {tables.table_format(path, _head(fs, path)) or "csv"}
        if len(found) != 1:
            raise DataValidationError(
                f"Cannot tell the format of the input {url!r}: it holds "
                + (
                    f"{' and '.join(sorted(found))} files"
                    if found
                    else "no file with a known suffix"
                )
                + ". Score one format at a time (a folder or glob per format), or "
                "pass input_format= (--input-format) to read every file as one."
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


def _open_csv(fs: Any, path: str) -> Any:
    from fsspec.utils import infer_compression

    return fs.open(path, "rb", compression=infer_compression(path))


def _read_error(url: str, fmt: str, err: BaseException) -> DataValidationError:
    """Say that a file cannot be read as ``fmt``: named (redacted), with the fix."""
    detail = redact_urls_in(tables.one_line_text(str(err)))
    fixes = {
        "csv": "Check that it is a CSV table (pass encoding= / --encoding or sep= / "
        "--sep if the automatic choice is wrong), or pass input_format= "
        "(--input-format) if it is another format",
        "parquet": "Check that it is a complete Parquet file, or pass input_format= "
        "(--input-format) if it is another format",
        "excel": "Check that it is an Excel workbook, or save it as CSV or Parquet",
    }
    name = {"csv": "CSV", "parquet": "Parquet", "excel": "Excel"}[fmt]
    return DataValidationError(
        f"Cannot read {redact_url(url)!r} as {name} ({type(err).__name__}: "
        f"{detail[:300]}). {fixes[fmt]}."
    )


def _parquet_footer(
    fs: Any, path: str, url: str, read: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[int]]:
    """Column kinds and rows per row group, from a Parquet footer."""
    import pyarrow.parquet as pq

    failure: Exception | None = None
    try:
        with fs.open(path, "rb") as f:
            meta = pq.ParquetFile(f).metadata
            schema = meta.schema.to_arrow_schema()
        kinds = {f.name: arrow_kind(f.type) for f in schema}
        return kinds, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    except StorageTimeoutError:
        raise  # the storage hangs: not the file's fault
    except Exception as err:  # unreadable footer: not a Parquet file
        failure = _read_error(url, "parquet", err)
    raise failure


def _csv_plan(
    fs: Any, path: str, url: str, read: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Column kinds from a CSV file's first rows, and how to read all of it.

    The rules of the training reader (:mod:`churnlib._core.tables`), applied
    to the first 64 KiB and the first 10,000 rows: encoding, delimiter,
    header line; columns of zero-padded digits read as text in every batch;
    numbers written with decimal commas or thousands separators.
    """
    safe = repr(redact_url(url))
    tables.check_zip(fs, path, safe)
    with _open_csv(fs, path) as f:
        head = f.read(64 * 1024)
    options = tables.csv_options(
        head,
        safe,
        sep=read.get("sep"),
        encoding=read.get("encoding"),
        decimal=read.get("decimal"),
        thousands=read.get("thousands"),
        na_values=read.get("na_values"),
        header_row=read.get("header_row"),
        warn=False,
    )
    fallback = options["encoding_errors"] == tables.FALLBACK_ERRORS
    options["encoding_errors"] = "strict"
    plan: dict[str, Any] = {"not_utf8": False}

    def sample(**extra: Any) -> pd.DataFrame:
        with _open_csv(fs, path) as f:
            return pd.read_csv(f, nrows=_CSV_SAMPLE_ROWS, **options, **extra)

    try:
        frame = sample()
    except UnicodeDecodeError:
        if not fallback:
            raise
        options["encoding_errors"] = tables.FALLBACK_ERRORS
        plan["not_utf8"] = True
        frame = sample()
    numeric = [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    text = [str(c) for c in frame.columns if pandas_kind(frame[c]) == "string"]
    if numeric:
        raw = sample(dtype=dict.fromkeys(numeric, str))[numeric]
        padded = tables.zero_padded(raw)
        for column in padded:
            frame[column] = raw[column]
        text += padded
    formats = tables.number_formats(
        frame,
        safe,
        sep=options["sep"],
        decimal=read.get("decimal"),
        thousands=read.get("thousands"),
        warn=False,
    )
    tables.apply_number_formats(frame, formats)
    text = [c for c in text if c not in formats]
    plan["options"] = options
    # pandas infers each batch anew, so a text column whose sampled values
    # include number-like text (ids 123, codes 007, True) could come out as
    # numbers in a batch holding only those: such columns are read as text
    # in every batch. The others are left to pandas, which reads text as
    # text: forcing a dtype doubles the parsing time (200,000 rows x 17:
    # 0.15 -> 0.30 s of CPU with five text columns forced). Key columns are
    # forced by keys_as_text.
    plan["text"] = tuple(c for c in text if _number_like(frame[c]))
    plan["numbers"] = tuple((c, *fmt) for c, fmt in formats.items())
    # a file past its first rows is checked for UTF-8 by its task, before it
    # is read (a shorter one was decoded whole by the sample already)
    plan["verify_utf8"] = (
        fallback and not plan["not_utf8"] and len(frame) >= _CSV_SAMPLE_ROWS
    )
    return {str(c): _csv_kind(frame[c]) for c in frame.columns}, plan


#: Texts pandas' CSV parser reads as booleans.
_BOOL_TEXT = frozenset({"True", "False", "TRUE", "FALSE", "true", "false"})


def _number_like(column: pd.Series) -> bool:
    """Whether some sampled value of a text column would parse as a number or bool."""
    values = pd.Series(pd.unique(column.dropna().astype(str)))
    if values.empty:
        return False
    if values.isin(_BOOL_TEXT).any():
        return True
    return bool(pd.to_numeric(values, errors="coerce").notna().any())


def _csv_sample(
    fs: Any, path: str, url: str, read: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Column kinds from the first rows of a CSV file, and its read options."""
    failure: Exception | None = None
    try:
        return _csv_plan(fs, path, url, read or {})
    except StorageTimeoutError:
        raise
    except (ChurnlibError, ImportError):
        raise
    except Exception as err:  # parse errors: never chained (the URL is in them)
        failure = _read_error(url, "csv", err)
    raise failure


def _excel_sample(
    fs: Any, path: str, url: str, read: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Column kinds of an Excel file (read whole: it is one partition)."""
    read = dict(read or {})
    frame = _read_excel(fs, path, url, read)
    if read.get("na_values"):
        frame = frame.replace(list(read["na_values"]), float("nan"))
    options = {k: read.get(k) for k in ("sheet", "header_row", "na_values")}
    return {str(c): pandas_kind(frame[c]) for c in frame.columns}, {
        "excel": tuple(options.items()),
        "rows": len(frame),
    }


def _read_excel(fs: Any, path: str, url: str, read: Mapping[str, Any]) -> pd.DataFrame:
    safe = repr(redact_url(url))
    failure: Exception | None = None
    try:
        with fs.open(path, "rb") as f:
            return tables.read_excel(f, safe, read.get("sheet"), read.get("header_row"))
    except StorageTimeoutError:
        raise
    except (ChurnlibError, ImportError):
        raise
    except Exception as err:
        failure = _read_error(url, "excel", err)
    raise failure


def _check_read_options(read: Mapping[str, Any], fmt: str, url: str) -> dict[str, Any]:
    """Keep the read options that were given; refuse those the format has not."""
    given = {k: v for k, v in read.items() if v is not None}
    unknown = sorted(set(given) - set(READ_OPTIONS))
    if unknown:
        raise InvalidParameterError(
            f"Unknown read option(s) {unknown}; the scoring reader takes "
            f"{list(READ_OPTIONS)}."
        )
    if "sheet" in given and fmt != "excel":
        raise InvalidParameterError(
            f"sheet= (--sheet) is for Excel inputs; {redact_url(url)!r} is read "
            f"as {fmt}."
        )
    if fmt == "parquet" and given:
        raise InvalidParameterError(
            f"{sorted(given)} are read options for CSV (and Excel) inputs; "
            f"{redact_url(url)!r} is read as Parquet, which needs none."
        )
    if fmt == "excel":
        extra = sorted(set(given) - {"sheet", "header_row", "na_values"})
        if extra:
            raise InvalidParameterError(
                f"{extra} are read options for CSV inputs; {redact_url(url)!r} is "
                "read as Excel (sheet=, header_row= and na_values= apply)."
            )
    return given


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def plan_input(
    fs: Any,
    path: str,
    url: str,
    *,
    fmt: str | None,
    batch_rows: int,
    required: Sequence[str],
    read_options: Mapping[str, Any] | None = None,
    passthrough: Sequence[str] = (),
) -> InputPlan:
    """List the input, read every file's schema, check it and cut work units.

    ``read_options`` are :func:`~churnlib._core.tables.read_table`'s
    keywords (``sep``, ``encoding``, ``decimal``, ``thousands``,
    ``na_values``, ``sheet``, ``header_row``), applied to every file.

    Raises :class:`DataValidationError` naming the file and the column when a
    required column is missing from a file or has a different kind there than
    in most files.
    """
    url = redact_url(url)
    fmt, files = list_input_files(fs, path, url, fmt)
    read = _check_read_options(read_options or {}, fmt, url)
    protocol = url.split("://", 1)[0] + "://" if "://" in url else ""
    schemas: dict[str, dict[str, str]] = {}
    units: list[WorkUnit] = []

    def file_url(p: str) -> str:
        return redact_url(p if "://" in p else protocol + p if protocol else p)

    # footers and CSV samples are read concurrently: on an object store each
    # one is a round trip, and a dataset may have thousands of files
    reader = {"parquet": _parquet_footer, "csv": _csv_sample, "excel": _excel_sample}[
        fmt
    ]
    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(files))))
    try:
        facts = list(pool.map(lambda p: reader(fs, p, file_url(p), read), files))
    finally:  # after a failure, files not started yet are not read at all
        pool.shutdown(wait=True, cancel_futures=True)
    for p, (kinds, row_groups) in zip(files, facts, strict=True):
        schemas[p] = kinds
        if isinstance(row_groups, dict) and "excel" in row_groups:  # one unit a file
            units.append(
                WorkUnit(
                    len(units),
                    p,
                    file_url(p),
                    fmt,
                    None,
                    row_groups["rows"],
                    (("excel", _hashable(dict(row_groups["excel"]))),),
                )
            )
            continue
        if isinstance(row_groups, dict):  # CSV: one unit a file
            if row_groups.pop("not_utf8"):
                tables.warn_not_utf8(repr(file_url(p)), stacklevel=4)
            options = tuple(sorted((k, _hashable(v)) for k, v in row_groups.items()))
            units.append(WorkUnit(len(units), p, file_url(p), fmt, None, None, options))
            continue
        assert isinstance(row_groups, list)
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
    asked = set(passthrough)
    for p in files:
        missing = [c for c in required if c not in schemas[p]]
        if missing:
            extra = [c for c in missing if c in asked]
            needed = [c for c in missing if c not in asked]
            parts = []
            if needed:
                parts.append(
                    f"the column(s) {needed} that scoring needs (every input file "
                    "must have the model's feature columns and the id column)"
                )
            if extra:
                parts.append(
                    f"the column(s) {extra} asked for by columns= (--column) "
                    "to copy to the output"
                )
            hint = tables.layout_hint(pd.DataFrame(columns=list(schemas[p])))
            raise DataValidationError(
                f"{_unit_of(units, p).describe()} is missing "
                + " and ".join(parts)
                + f".{hint}",
                columns=missing,
            )
    columns = tuple(c for c in first if all(c in s for s in schemas.values()))
    return InputPlan(url, fmt, tuple(files), tuple(units), columns, schemas)


def keys_as_text(plan: InputPlan, keys: Sequence[str]) -> InputPlan:
    """Read the copied-through columns blank in a CSV file's first rows as text.

    An id or ``--column`` column with no value in the sampled rows has no
    kind yet; pandas would guess one batch by batch (numbers in one, text in
    the next), and one output part cannot hold both. As text, each batch
    writes the values as they are in the file.
    """
    import dataclasses

    units = []
    for unit in plan.units:
        schema = plan.schemas[unit.path]
        # keys blank in the sample, and text keys: one output part holds one
        # kind, whatever a later batch's ids look like
        blank = [c for c in keys if schema.get(c) in ("null", "string")]
        text = set(dict(unit.csv_options).get("text", ()))
        numeric = tuple(c for c in keys if schema.get(c) == "numeric" and c not in text)
        if unit.fmt != "csv" or not (blank or numeric):
            units.append(unit)
            continue
        options = dict(unit.csv_options)
        options["text"] = tuple(dict.fromkeys((*options.get("text", ()), *blank)))
        options["numeric_keys"] = numeric
        units.append(
            dataclasses.replace(unit, csv_options=tuple(sorted(options.items())))
        )
    return dataclasses.replace(plan, units=tuple(units))


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


def _with_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn an index pyarrow restored from pandas metadata back into columns.

    ``df.set_index("customerID").to_parquet(...)`` stores the id as the
    index; the scoring engine reads it as the column the schema lists.
    """
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.name is None:
        return frame
    named = any(n is not None for n in index.names)
    return frame.reset_index(drop=not named)


def _check_numeric_keys(
    frame: pd.DataFrame, keys: Sequence[str], unit: WorkUnit, first: int
) -> None:
    """Refuse an id or copied column that turns from numbers to text mid-file."""
    from churnlib._core.cleaning import is_text

    for column in keys:
        s = frame[column]
        if not is_text(s):
            continue
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        if bad.empty:
            continue
        row = first + int(np.flatnonzero(s.index == bad.index[0])[0])
        raise DataValidationError(
            f"Column {column!r} of {unit.describe()} holds numbers in its first "
            f"10,000 rows but the text {str(bad.iloc[0])[:60]!r} at row {row}: "
            "an output column holds one type. Write that column's values all as "
            "text in the file (e.g. quoted with a letter prefix), or key the "
            "output by another column (id_column=, --id-column).",
            columns=[column],
        )


def _csv_batches(
    fs: Any, unit: WorkUnit, columns: Sequence[str], batch_rows: int
) -> Iterator[pd.DataFrame]:
    plan = dict(unit.csv_options)
    options = dict(plan.get("options", ()))
    if options.get("na_values") is not None:
        options["na_values"] = list(options["na_values"])
    if plan.get("verify_utf8"):
        # the first rows were UTF-8; the rest must be too, else the file is
        # read as training reads it (cp1252 where bytes are not UTF-8)
        with _open_csv(fs, unit.path) as f:
            if not tables.is_utf8(f):
                options["encoding_errors"] = tables.FALLBACK_ERRORS
                tables.warn_not_utf8(repr(unit.url), stacklevel=4)
    wanted = set(columns)
    text = [c for c in plan.get("text", ()) if c in wanted]
    numbers = {c: tuple(f) for c, *f in plan.get("numbers", ()) if c in wanted}
    keys = [c for c in plan.get("numeric_keys", ()) if c in wanted]
    failure: Exception | None = None
    try:
        with _open_csv(fs, unit.path) as f:
            reader = pd.read_csv(
                f,
                usecols=list(columns),
                chunksize=batch_rows,
                dtype=dict.fromkeys(text, str) or None,
                **options,
            )
            with reader:
                first = 0
                for frame in reader:
                    _check_numeric_keys(frame, keys, unit, first)
                    first += len(frame)
                    yield tables.apply_number_formats(frame, numbers)
        return
    except StorageTimeoutError:
        raise
    except ChurnlibError:
        raise
    except UnicodeDecodeError as err:
        failure = DataValidationError(
            f"Cannot read {unit.describe()} as {options.get('encoding')} text: a byte "
            f"past its first rows is not valid there ({err.reason}). Pass the file's "
            "encoding= (--encoding), e.g. 'cp1252'."
        )
    except (ValueError, pd.errors.ParserError) as err:
        failure = _read_error(unit.url, "csv", err)
    raise failure


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
    a row, which cleaning and one-hot encoding then handle per level. CSV
    files are read with the options :func:`plan_input` decided from their
    first rows; an Excel file is read whole, then cut.
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
                yield _with_columns(batch.to_pandas())
    elif unit.fmt == "excel":
        read = dict(dict(unit.csv_options).get("excel", ()))
        frame = _read_excel(fs, unit.path, unit.url, read)
        na_values = read.get("na_values")
        if na_values:
            frame = frame.replace(list(na_values), float("nan"))
        frame = frame[list(columns)]
        for lo in range(0, len(frame), batch_rows):
            yield frame.iloc[lo : lo + batch_rows].reset_index(drop=True)
    else:
        yield from _csv_batches(fs, unit, columns, batch_rows)
