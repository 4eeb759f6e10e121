"""The one table reader and writer, for every stage and interface.

Reads CSV (any common delimiter and encoding, compressed by suffix), Parquet
and Excel from any fsspec URL as raw values (no cleaning: that is the
reader's and the contract's job); writes CSV or Parquet atomically.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from churnlib._core.atomic import atomic_write_bytes
from churnlib._core.timeouts import (
    BoundedFileSystem,
    StorageTimeoutError,
    bounded_storage_options,
    resolve_timeout,
    timeout_message,
)
from churnlib._urls import redact_url
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
    StorageError,
    TableNotFoundError,
)

__all__ = ["FORMATS", "read_table", "table_format", "write_bytes", "write_table"]

#: Table formats churnlib reads (``write_table`` writes csv and parquet).
FORMATS = ("csv", "parquet", "excel")

_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".dat": "csv",
}
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024


def _open_fs(
    url: str, storage_options: Mapping[str, Any] | None, timeout: float
) -> tuple[BoundedFileSystem, str]:
    """Open the filesystem of ``url``, every request bounded; return it and the path."""
    import fsspec

    protocol = fsspec.core.split_protocol(url)[0] or "file"
    options = bounded_storage_options(protocol, storage_options or {}, timeout=timeout)
    fs, path = fsspec.core.url_to_fs(url, **options)
    return BoundedFileSystem(fs, timeout), path


def _path_of(url: str) -> str:
    return urlsplit(url).path if "://" in url else url


def table_format(url: str | os.PathLike[str], head: bytes = b"") -> str | None:
    """Tell the format of a table from its suffix, else its first bytes.

    Parameters
    ----------
    url : str or os.PathLike
    head : bytes, default=b""
        The first bytes of the file, when already read.

    Returns
    -------
    {"csv", "parquet", "excel"} or None
        None when neither the suffix nor the bytes tell.

    Examples
    --------
    >>> from churnlib._core.tables import table_format
    >>> table_format("s3://bucket/churn.csv.gz"), table_format("x.xlsx")
    ('csv', 'excel')
    >>> table_format("data", b"PAR1")
    'parquet'
    """
    suffixes = [s.lower() for s in PurePosixPath(_path_of(os.fspath(url))).suffixes]
    for suffix in reversed(suffixes):
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "excel"
    return "csv" if head else None


def _sniff_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the first lines into the most equal fields."""
    lines = [ln for ln in sample.splitlines()[:30] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_fields = ",", 1
    for delim in _DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delim))
        widths = {len(r) for r in rows}
        if len(widths) == 1 and (n := widths.pop()) > best_fields:
            best, best_fields = delim, n
    return best


def _header_duplicates(sample: str, sep: str) -> list[str]:
    first = next(csv.reader(io.StringIO(sample), delimiter=sep), [])
    seen: set[str] = set()
    dup = []
    for name in (c.strip() for c in first):
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    return dup


def _read_csv(
    f: Any,
    safe: str,
    *,
    sep: str | None,
    encoding: str | None,
    na_values: Sequence[str] | None,
    columns: Sequence[str] | None,
) -> pd.DataFrame:
    head = f.read(_SNIFF_BYTES)
    f.seek(0)
    if isinstance(head, str):  # pragma: no cover - text-mode file objects
        head = head.encode()
    sample = head.decode(encoding or "utf-8", errors="replace")
    delimiter = sep or _sniff_delimiter(sample)
    dup = _header_duplicates(sample, delimiter)
    if dup:
        warnings.warn(
            f"The header of {safe} repeats the column name(s) {dup!r}; they are "
            f"read as {dup[0]!r}, {dup[0] + '.1'!r}, ... Rename them in the file "
            "if they are different columns, or drop the copies.",
            DataQualityWarning,
            stacklevel=4,
        )
    kwargs: dict[str, Any] = {
        "sep": delimiter,
        "na_values": na_values,
        "low_memory": False,
        "usecols": columns,
    }
    try:
        return pd.read_csv(f, encoding=encoding or "utf-8", **kwargs)
    except UnicodeDecodeError:
        if encoding is not None:
            raise
    f.seek(0)
    warnings.warn(
        f"{safe} is not valid UTF-8; it was read as latin-1 (Windows-1252 "
        "text reads the same for letters). Pass encoding= if accents look wrong.",
        DataQualityWarning,
        stacklevel=4,
    )
    return pd.read_csv(f, encoding="latin-1", **kwargs)


def _read_excel(f: Any, safe: str, sheet: str | int | None) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"Reading the Excel file {safe} needs openpyxl: "
            'pip install "churnlib[excel]".'
        ) from err
    data = f.read()
    if sheet is not None:
        try:
            return pd.read_excel(io.BytesIO(data), sheet_name=sheet)
        except (ValueError, KeyError) as err:
            names = pd.ExcelFile(io.BytesIO(data)).sheet_names
            raise DataValidationError(
                f"{safe} has no sheet {sheet!r}; its sheets are {names!r}. Pass "
                "one of those as sheet=."
            ) from err
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    # The table is on the sheet with the most filled cells (notes and pivot
    # sheets are small).
    filled = {
        name: int(frame.notna().to_numpy().sum()) for name, frame in sheets.items()
    }
    if not filled or max(filled.values()) == 0:
        raise DataValidationError(f"{safe} has no filled cells on any sheet.")
    return sheets[max(filled, key=lambda k: filled[k])]


def read_table(
    url: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    format: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    timeout: float | None = None,
) -> pd.DataFrame:
    r"""Read a table from any fsspec URL, values as they are.

    Parameters
    ----------
    url : str or os.PathLike
        Local path or fsspec URL (``s3://``, ``az://``, ``gs://``,
        ``memory://``, ``https://``...). CSV may be compressed (``.gz``,
        ``.zip``, ``.bz2``, ``.xz``, by suffix).
    storage_options : mapping, default=None
        Passed to fsspec (credentials, endpoint). Never shown in messages.
    format : {"csv", "parquet", "excel"}, default=None
        None tells it from the suffix, else from the first bytes.
    sheet : str or int, default=None
        Excel: the sheet. None takes the sheet with the most filled cells.
    sep : str, default=None
        CSV delimiter. None sniffs ``,``, ``;``, tab or ``|`` from the first
        lines.
    encoding : str, default=None
        CSV text encoding. None tries UTF-8, then latin-1 with a
        :class:`~churnlib.exceptions.DataQualityWarning`.
    na_values : sequence of str, default=None
        Extra strings read as missing (CSV).
    columns : sequence of str, default=None
        Read only these columns (CSV and Parquet).
    timeout : float, default=None
        Seconds one storage request may take, whatever the client's own
        retries (S3, Azure, GCS, HTTP). None: ``CHURNLIB_STORAGE_TIMEOUT``,
        else 60, as for :class:`~churnlib.deployment.ModelStore`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    TableNotFoundError
        If nothing exists at ``url``.
    DataValidationError
        If the file cannot be parsed as the format.
    StorageError
        If the storage did not answer within ``timeout``.

    Examples
    --------
    >>> import fsspec
    >>> from churnlib._core.tables import read_table
    >>> with fsspec.open("memory://tables-doc/churn.csv", "w") as f:
    ...     _ = f.write("id;tenure;churn\n1;3;yes\n2;40;no\n")
    >>> read_table("memory://tables-doc/churn.csv")
       id  tenure churn
    0   1       3   yes
    1   2      40    no
    """
    if not isinstance(url, str | os.PathLike):
        raise InvalidParameterError(
            f"A table URL must be a str or os.PathLike. Got {type(url).__name__}."
        )
    url = os.fspath(url)
    if format is not None and format not in FORMATS:
        raise InvalidParameterError(
            f"The 'format' parameter must be one of {FORMATS} or None. Got {format!r}."
        )
    safe = repr(redact_url(url))
    bound = resolve_timeout(timeout)
    fmt = format
    # Errors are raised outside the except blocks: the original exception
    # (whose message may hold the unredacted URL) is neither the cause nor the
    # context of what the user sees.
    failure: Exception | None = None
    try:
        fs, path = _open_fs(url, storage_options, bound)
        with fs.open(path, mode="rb", compression="infer") as f:
            if fmt is None:
                head = f.read(8)
                f.seek(0)
                fmt = table_format(url, head) or "csv"
            if fmt == "csv":
                return _read_csv(
                    f,
                    safe,
                    sep=sep,
                    encoding=encoding,
                    na_values=na_values,
                    columns=columns,
                )
            if fmt == "parquet":
                frame = pd.read_parquet(f, columns=list(columns) if columns else None)
            else:
                frame = _read_excel(f, safe, sheet)
                if columns:
                    frame = frame[list(columns)]
            if na_values:
                frame = frame.replace(list(na_values), float("nan"))
            return frame
    except FileNotFoundError:
        failure = TableNotFoundError(
            f"No table at {safe}: check the path or URL (and storage_options or "
            "credentials for remote stores).",
            url=redact_url(url),
        )
    except (DataValidationError, ImportError):
        raise
    except StorageTimeoutError:
        failure = StorageError(
            timeout_message("read", safe, bound, "read_table(..., timeout=seconds)"),
            url=redact_url(url),
        )
    except pd.errors.EmptyDataError:
        failure = DataValidationError(
            f"Could not read {safe}: the file is empty (a table needs a header row)."
        )
    except (ValueError, OSError, pd.errors.ParserError, KeyError) as err:
        detail = redact_url(str(err).replace(url, redact_url(url)))
        failure = DataValidationError(
            f"Could not read {safe} as a {fmt or 'CSV'} table: {type(err).__name__}: "
            f"{detail}. Check the file format (CSV with a header row, Parquet or "
            "Excel) or pass format=."
        )
    except Exception as err:  # botocore and friends: never pass their URL through
        failure = DataValidationError(
            f"Could not read {safe}: {type(err).__name__}. Check the URL and the "
            "credentials or endpoint in storage_options."
        )
    raise failure


def write_bytes(
    data: bytes,
    url: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> None:
    """Write bytes to any fsspec URL atomically; errors name the redacted URL.

    Parameters
    ----------
    data : bytes
    url : str or os.PathLike
    storage_options : mapping, default=None
    timeout : float, default=None
        Seconds one storage request may take (see :func:`read_table`).

    Raises
    ------
    StorageError
        If the location cannot be written, or the storage did not answer
        within ``timeout`` (nothing is left behind).
    """
    url = os.fspath(url)
    safe = repr(redact_url(url))
    bound = resolve_timeout(timeout)
    failure: Exception | None = None
    try:
        fs, path = _open_fs(url, storage_options, bound)
        atomic_write_bytes(fs, path, data)
    except ImportError:
        raise
    except StorageTimeoutError:
        failure = StorageError(
            timeout_message("write", safe, bound, "timeout=seconds"),
            url=redact_url(url),
        )
    except Exception as err:  # botocore and friends: never pass their URL through
        failure = StorageError(
            f"Cannot write {safe}: {type(err).__name__}. Check that the location "
            "exists and that its credentials are set (storage_options or the "
            "environment).",
            url=redact_url(url),
        )
    if failure is not None:
        raise failure


def write_table(
    frame: pd.DataFrame,
    url: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    format: str | None = None,
    index: bool = False,
    timeout: float | None = None,
) -> None:
    """Write a frame as CSV or Parquet, atomically (whole or not at all).

    Parameters
    ----------
    frame : pandas.DataFrame
    url : str or os.PathLike
        Where to write; the suffix picks the format unless ``format`` is set.
    storage_options : mapping, default=None
    format : {"csv", "parquet"}, default=None
    index : bool, default=False
        Write the index as a column.
    timeout : float, default=None
        Seconds one storage request may take (see :func:`read_table`).

    Raises
    ------
    InvalidParameterError
        If the format cannot be told or is not writable.
    StorageError
        If the location cannot be written, or the storage did not answer
        within ``timeout`` (nothing is left behind).
    """
    url = os.fspath(url)
    safe = repr(redact_url(url))
    fmt = format or table_format(url)
    if fmt not in ("csv", "parquet"):
        raise InvalidParameterError(
            f"Cannot tell which format to write {safe} in: end the URL in .csv or "
            ".parquet, or pass format='csv' or format='parquet'."
        )
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=index)
        data = buffer.getvalue()
    else:
        data = frame.to_csv(index=index).encode()
    write_bytes(data, url, storage_options=storage_options, timeout=timeout)
