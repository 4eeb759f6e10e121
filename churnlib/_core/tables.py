"""The one table reader and writer, for every stage and interface.

Reads CSV (any common delimiter and encoding, compressed by suffix), Parquet
and Excel from any fsspec URL as raw values (no cleaning: that is the
reader's and the contract's job); writes CSV or Parquet atomically.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import numpy as np
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

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "csv_options",
    "layout_hint",
    "read_table",
    "table_format",
    "write_bytes",
    "write_table",
]

#: Table formats churnlib reads (``write_table`` writes csv and parquet).
FORMATS = ("csv", "parquet", "excel")

#: The one suffix table of every reader (training, scoring, the CLI).
SUFFIXES: Mapping[str, str] = {
    ".parquet": "parquet",
    ".parq": "parquet",
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
#: Texts CSV and Excel cells read as missing: pandas' defaults without
#: ``"None"``, an ordinary category in churn tables (InternetService "None")
#: that Parquet files and service requests keep as text.
NA_STRINGS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
)
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tabs", "|": "'|'"}
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 30

#: The error handler of the UTF-8 fallback: a byte that is not UTF-8 is read
#: as Windows-1252 (cp1252), the five bytes cp1252 leaves undefined as latin-1.
#: Per byte, so training (the whole file) and scoring (batch by batch) decode
#: every file the same way, wherever its first such byte is.
FALLBACK_ERRORS = "churnlib-cp1252"
_CP1252 = tuple(
    bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)
)


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return "".join(_CP1252[b] for b in err.object[err.start : err.end]), err.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


def is_utf8(f: Any, chunk: int = 1 << 22) -> bool:
    """Tell whether the rest of an open binary file is valid UTF-8 (streamed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := f.read(chunk):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def warn_not_utf8(safe: str, stacklevel: int = 4) -> None:
    """Warn that a CSV was not all UTF-8 (the one wording, training and scoring)."""
    warnings.warn(
        f"{safe} is not valid UTF-8: the bytes that are not UTF-8 were read as "
        "Windows-1252 (cp1252, the encoding of Western Windows and Excel). Pass "
        "encoding= (--encoding) if accents still look wrong, e.g. "
        "encoding='cp1250' for Central European exports.",
        DataQualityWarning,
        stacklevel=stacklevel,
    )


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(head: bytes, safe: str, encoding: str | None) -> tuple[str, str]:
    """Return ``(encoding, errors)`` to decode a CSV whose first bytes are ``head``.

    ``encoding`` given: it, strict. Else a byte-order mark decides (UTF-8,
    UTF-16, UTF-32); UTF-16 without one is told by its NUL bytes; any other
    text is UTF-8 with the cp1252 fallback (:data:`FALLBACK_ERRORS`).

    Raises
    ------
    DataValidationError
        If ``head`` holds NUL bytes in no UTF-16 pattern (not a text table),
        or ``encoding`` is no codec Python knows.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataValidationError(
                f"Cannot read {safe}: {encoding!r} is no text encoding Python "
                "knows. Pass one such as 'utf-8', 'cp1252', 'utf-16' or 'latin-1'."
            ) from None
        return encoding, "strict"
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, "strict"
    nul = head.count(0)
    if not nul:
        return "utf-8", FALLBACK_ERRORS
    share = [head[i::4].count(0) / max(1, len(head[i::4])) for i in range(4)]
    if min(share[1:]) > 0.9 and share[0] < 0.05:
        return "utf-32-le", "strict"
    if min(share[:3]) > 0.9 and share[3] < 0.05:
        return "utf-32-be", "strict"
    even, odd = (share[0] + share[2]) / 2, (share[1] + share[3]) / 2
    if odd > 0.3 and even < 0.05:
        return "utf-16-le", "strict"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be", "strict"
    if nul <= max(1, len(head) // 100):  # a few stray NULs in text (DB dumps)
        line = head[: head.index(0)].count(b"\n") + 1
        warnings.warn(
            f"{safe} holds NUL bytes (the first on line {line}); they are kept in "
            "the values as read. Clean the export if they are not meant to be there.",
            DataQualityWarning,
            stacklevel=5,
        )
        return "utf-8", FALLBACK_ERRORS
    raise DataValidationError(
        f"Cannot read {safe} as a CSV table: {nul} of its first {len(head)} bytes "
        "are NUL, in no UTF-16 or UTF-32 pattern, so it does not look like text. "
        "Check that it is a table (CSV, Parquet or Excel), or pass its encoding= "
        "(--encoding) if it is text in an encoding churnlib does not tell."
    )


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
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "excel"
    return "csv" if head else None


def _widths(lines: Sequence[str], delim: str) -> list[int]:
    return [len(r) for r in csv.reader(lines, delimiter=delim)]


def _sniff_delimiter(sample: str) -> str:
    """Pick the delimiter (, ; tab |) that splits the first lines into most fields.

    A delimiter counts when at least all but one of the first 30 lines
    (the last one of a sample may be cut short) have the same number of
    fields, more than one: one ragged line does not hide it. One that every
    line agrees on comes first, then the one giving more fields.
    """
    lines = [ln for ln in sample.splitlines()[:_SNIFF_LINES] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_fields, best_exact = ",", 1, False
    for delim in _DELIMITERS:
        widths = _widths(lines, delim)
        if not widths:
            continue
        n, hits = Counter(widths).most_common(1)[0]
        exact = hits == len(widths)
        if n < 2 or hits < len(widths) - 1:
            continue
        # every line agreeing beats all but one; then the most fields win
        if (exact, n) > (best_exact, best_fields):
            best, best_fields, best_exact = delim, n, exact
    return best


def table_start(sample: str, delim: str) -> int:
    """Return the 0-based line where the table seems to start (0, or past a title).

    The later lines of the sample tell how many fields a row has; when the
    first line has another number (a title such as ``Export from CRM``, a
    blank line), the table starts at the first line with that many.
    """
    lines = sample.splitlines()[: _SNIFF_LINES + 10]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    widths = _widths(lines, delim)
    filled = [w for w in widths if w]
    if len(filled) < 3:
        return 0
    tail = filled[-min(len(filled) - 1, _SNIFF_LINES // 2) :]
    n, hits = Counter(tail).most_common(1)[0]
    if n < 2 or hits < len(tail) - 1 or widths[0] == n:
        return 0
    return next((i for i, w in enumerate(widths) if w == n), 0)


def layout_hint(frame: pd.DataFrame) -> str:
    """Say in a sentence why a table's columns look wrong, or return ``""``.

    One column whose name holds ``;``, a tab or ``|``: the file seems
    delimited by it. Columns all named ``Unnamed: k``, or one column while
    later lines hold more fields: the header is not on the first line.
    """
    names = [str(c) for c in frame.columns]
    if len(names) == 1:
        for delim in _DELIMITERS[1:]:
            if delim in names[0]:
                shown = "'\\t'" if delim == "\t" else repr(delim)
                return (
                    f" The table was read as one column {names[0][:60]!r}: the "
                    f"file seems delimited by {_DELIMITER_NAMES[delim]}; pass "
                    f"sep={shown} (--sep {shown})."
                )
    start = frame.attrs.get(_HEADER_ATTR)
    n_unnamed = sum(n.startswith("Unnamed: ") for n in names)
    unnamed = bool(names) and 2 * n_unnamed >= len(names)
    if unnamed and not start and len(frame):
        # a sheet with a title: the header is the first row filled across
        full = np.flatnonzero(frame.head(50).notna().all(axis=1).to_numpy())
        start = int(full[0]) + 1 if full.size else None
    if start or unnamed or (len(names) == 1 and len(frame) > 0):
        where = (
            f"; the table seems to start on line {start + 1}: pass "
            f"header_row={start} (--header-row {start})"
            if start
            else ": pass header_row= (--header-row) with the 0-based line or row "
            "of the header"
        )
        return (
            f" Its header does not seem to be on the first line (read as "
            f"{describe_names(names)}){where}."
        )
    return ""


#: ``DataFrame.attrs`` key: the line a CSV read as one column seems to start at.
_HEADER_ATTR = "churnlib.header_line"


def describe_names(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _header_duplicates(sample: str, sep: str) -> list[str]:
    lines = sample.splitlines()[:1]  # any line ending: \n, \r\n or a bare \r
    try:
        first = next(csv.reader(lines, delimiter=sep), [])
    except csv.Error:
        return []
    seen: set[str] = set()
    dup = []
    for name in (c.strip() for c in first):
        if not name:
            continue  # pandas names empty cells "Unnamed: k", never copies
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    return dup


def _check_separator(value: str | None, name: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) != 1):
        raise InvalidParameterError(
            f"The {name!r} parameter must be one character (such as ',' or '.') "
            f"or None. Got {value!r}."
        )


def csv_options(
    head: bytes,
    safe: str,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    na_values: Sequence[str] | None = None,
    header_row: int | None = None,
    warn: bool = True,
) -> dict[str, Any]:
    """Decide how to read a CSV from its first bytes: the pandas keywords.

    The one home of the CSV rules: the encoding (:func:`text_encoding`), the
    delimiter (sniffed from the first lines unless ``sep``), the header line,
    explicit decimal and thousands separators. Training reads the whole file
    with them and scoring each batch.
    """
    _check_separator(sep, "sep")
    _check_separator(decimal, "decimal")
    _check_separator(thousands, "thousands")
    if decimal is not None and decimal == thousands:
        raise InvalidParameterError(
            f"decimal= and thousands= must differ. Got {decimal!r} for both."
        )
    if header_row is not None and (
        not isinstance(header_row, int)
        or isinstance(header_row, bool)
        or header_row < 0
    ):
        raise InvalidParameterError(
            f"The 'header_row' parameter must be an integer >= 0 or None. Got "
            f"{header_row!r}."
        )
    enc, errors = text_encoding(head, safe, encoding)
    sample = head.decode(enc, errors="replace")
    if enc.startswith("utf-8") and errors == FALLBACK_ERRORS:
        sample = head.decode("utf-8", errors=FALLBACK_ERRORS)
    if sample.startswith("\ufeff"):
        sample = sample[1:]
    if header_row:
        sample = "\n".join(sample.splitlines()[header_row:])
    delimiter = sep or _sniff_delimiter(sample)
    dup = _header_duplicates(sample, delimiter)
    if dup and warn:
        warnings.warn(
            f"The header of {safe} repeats the column name(s) {dup!r}; they are "
            f"read as {dup[0]!r}, {dup[0] + '.1'!r}, ... Rename them in the file "
            "if they are different columns, or drop the copies.",
            DataQualityWarning,
            stacklevel=5,
        )
    options: dict[str, Any] = {
        "sep": delimiter,
        "encoding": enc,
        "encoding_errors": errors,
        "na_values": [*NA_STRINGS, *(na_values or ())],
        "keep_default_na": False,
        "skiprows": header_row or None,
    }
    if decimal is not None:
        options["decimal"] = decimal
    if thousands is not None:
        options["thousands"] = thousands
    return options


# -- numbers written with a decimal comma or thousands separators ---------------

_EXP = r"(?:[eE][+-]?\d+)?"
_NUMBER_FORMATS: dict[tuple[str, str], re.Pattern[str]] = {}


def _number_pattern(decimal: str, thousands: str) -> re.Pattern[str]:
    key = (decimal, thousands)
    if key not in _NUMBER_FORMATS:
        d, t = re.escape(decimal), re.escape(thousands) if thousands else ""
        grouped = rf"\d{{1,3}}(?:{t}\d{{3}})+|" if thousands else ""
        _NUMBER_FORMATS[key] = re.compile(
            rf"[+-]?(?:(?:{grouped}\d+)(?:{d}\d*)?|{d}\d+){_EXP}|[+-]?inf(?:inity)?",
            re.IGNORECASE,
        )
    return _NUMBER_FORMATS[key]


#: The two ways numbers are written: (decimal, thousands).
_EUROPEAN, _ENGLISH = (",", "."), (".", ",")


def _levels(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from churnlib._core.cleaning import factorize_text

    return factorize_text(s)


def _matches(levels: np.ndarray, decimal: str, thousands: str) -> np.ndarray:
    pattern = _number_pattern(decimal, thousands)
    return np.fromiter(
        (pattern.fullmatch(v) is not None for v in levels), bool, len(levels)
    )


#: Symbols a spreadsheet writes around a number: a percent sign (the value
#: is divided by 100) or a currency symbol, before or after it.
_AFFIXES = ("%", "$", "\u20ac", "\u00a3", "\u00a5")


def _affix(levels: np.ndarray) -> str:
    """Return the symbol every level carries (``"%"``, ``"$"``...), or ``""``."""
    for affix in _AFFIXES:
        if all(
            v.startswith(affix) or v.endswith(affix) or v.lstrip("+-").startswith(affix)
            for v in levels
        ):
            return affix
    return ""


def _strip(levels: np.ndarray, affix: str) -> np.ndarray:
    if not affix:
        return levels
    out = np.empty(levels.size, dtype=object)
    out[:] = [v.replace(affix, "", 1).strip() for v in levels]
    return out


def number_formats(
    frame: pd.DataFrame,
    safe: str,
    *,
    sep: str,
    decimal: str | None = None,
    thousands: str | None = None,
    warn: bool = True,
    quoted: bool = True,
    affixes: bool = True,
) -> dict[str, tuple[str, str, str]]:
    """Text columns of a CSV that hold numbers: column -> (decimal, thousands, affix).

    A text column qualifies when every value present (blanks and
    placeholders such as ``"Unknown"`` aside) is a number written with a
    decimal comma (``29,85``, ``1.234,50``) or thousands commas
    (``1,234.50``), at least one value holding a comma, or a number that
    every value writes with the same percent sign (``41.7%``, read as
    0.417) or currency symbol (``$29.85``, ``29,85 \u20ac``). In a
    comma-delimited file only thousands commas can be (a decimal comma would
    need quotes, and ``"1,2"`` there is more likely a version or a list).
    Where both readings fit every value (``1,234``), a ``;``-delimited file
    reads decimal commas; other files keep the text and warn.
    ``decimal``/``thousands`` given decide instead.
    """
    from churnlib._core.cleaning import is_text

    formats: dict[str, tuple[str, str, str]] = {}
    given = decimal is not None or thousands is not None
    marks = [","]
    if given:
        candidates = [(decimal or ".", thousands or "")]
        marks = [m for m in (decimal, thousands) if m and m != "."]
    elif sep == ",":
        candidates = [_ENGLISH]
        if not quoted:
            marks = []  # a comma in a comma file's value needs quotes
    else:
        candidates = [_EUROPEAN, _ENGLISH]
    symbols = (*marks, *(_AFFIXES if affixes else ()))
    if not symbols:
        return formats
    for column in frame.columns:
        s = frame[column]
        if not is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if not any(s.str.contains(m, regex=False, na=False).any() for m in symbols):
            continue
        _, levels = _levels(s)
        if levels.size == 0:
            continue
        affix = _affix(levels)
        stripped = _strip(levels, affix)
        if not affix and not any(m in v for v in stripped for m in marks):
            continue
        fits = [c for c in candidates if _matches(stripped, *c).all()]
        if len(fits) == 2:
            if not any("," in v for v in stripped):
                fits = [_ENGLISH]  # no comma: the reading pandas gives
            elif sep == ";":
                fits = [_EUROPEAN]
            else:
                if warn:
                    example = next(v for v in stripped if "," in v)
                    warnings.warn(
                        f"Column {column!r} of {safe} holds numbers such as "
                        f"{example!r}, which may mean {example.replace(',', '')} or "
                        f"{example.replace(',', '.')}: it is read as text. Pass "
                        "decimal=',' (--decimal ,) or thousands=',' (--thousands ,).",
                        DataQualityWarning,
                        stacklevel=5,
                    )
                continue
        if fits:
            formats[str(column)] = (*fits[0], affix)
    return formats


def apply_number_formats(
    frame: pd.DataFrame, formats: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """Turn the text of ``formats``' columns into numbers, in place; return ``frame``.

    Blanks and placeholders become NaN. A value not written that way stays
    the text it is (the column becomes object), so the check that follows
    names it. Whole numbers with no value missing become int64, as pandas
    reads them; percentages are divided by 100.
    """
    for column, (decimal, thousands, *rest) in formats.items():
        affix = rest[0] if rest else ""
        if column not in frame.columns:
            continue
        s = frame[column]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(
            s.dtype, pd.CategoricalDtype
        ):
            continue  # this batch's values were plain numbers
        codes, levels = _levels(s)
        stripped = _strip(levels, affix)
        ok = _matches(stripped, decimal, thousands)
        text = pd.Series(stripped[ok], dtype=object)
        if thousands:
            text = text.str.replace(thousands, "", regex=False)
        if decimal != ".":
            text = text.str.replace(decimal, ".", regex=False)
        numbers = np.full(levels.size, np.nan)
        numbers[ok] = text.to_numpy(dtype=object).astype(float)
        if affix == "%":
            numbers = numbers / 100.0
        present = codes >= 0
        if ok.all():
            values = np.where(present, numbers[np.maximum(codes, 0)], np.nan)
            whole = (
                present.all()
                and affix != "%"
                and not any(
                    decimal in v or "e" in v.lower() or "n" in v.lower()
                    for v in stripped
                )
            )
            if whole and np.all(np.abs(values) < 2.0**63):
                values = values.astype(np.int64)
            frame[column] = pd.Series(values, index=s.index)
        else:
            out = np.full(len(s), np.nan, dtype=object)
            out[present] = np.where(ok, numbers.astype(object), levels.astype(object))[
                codes[present]
            ]
            frame[column] = pd.Series(out, index=s.index, dtype=object)
    return frame


# -- identifiers written with leading zeros ----------------------------------------

_LEADING_ZERO = re.compile(rb'[\n\r,;\t|"]0[0-9]+"?(?=[\r\n,;\t|]|\Z)')
_FIELD_START = np.zeros(256, dtype=bool)
_FIELD_START[list(b'\n\r,;\t|"')] = True
_ZERO_PADDED = r"0[0-9]+"
_FIELD_END = np.zeros(256, dtype=bool)
_FIELD_END[list(b'\n\r,;\t|"')] = True
_NEWLINE = np.frombuffer(b"\n", dtype=np.uint8)
_CHUNK = 1 << 24
_WINDOW = 24


def may_have_leading_zeros(data: bytes) -> bool:
    """Tell cheaply whether a field of this text is digits led by a zero.

    Vectorized: the fields that start with ``0`` and a digit (after a
    delimiter, a line break or a quote) are found with NumPy, chunk by
    chunk, and kept when the digits run to the field's end.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    for lo in range(0, max(arr.size - 2, 0), _CHUNK):
        a = np.concatenate([arr[lo : lo + _CHUNK + _WINDOW + 2], _NEWLINE])
        n = min(_CHUNK, a.size - 3)
        hits = np.flatnonzero(a[1 : n + 1] == 48)  # a "0" after the byte at hits
        hits = hits[_FIELD_START[a[hits]] & ((a[hits + 2] - 48) <= 9)]
        if not hits.size:
            continue
        window = a[np.minimum(hits[:, None] + np.arange(2, 2 + _WINDOW), a.size - 1)]
        other = (window - 48) > 9  # not a digit
        first = other.argmax(axis=1)
        ends = _FIELD_END[window[np.arange(hits.size), first]] & other.any(axis=1)
        if ends.any():
            return True
        for pos in hits[~other.any(axis=1)].tolist():  # digit runs past the window
            if _LEADING_ZERO.match(data, lo + pos):
                return True
    return False


def zero_padded(text: pd.DataFrame) -> list[str]:
    """Columns of a frame read as text where a value is digits led by a zero.

    ``"007"`` is not the number 7: such a column is an identifier or a code
    (account numbers, zip codes) and keeps its text.
    """
    found = []
    for column in text.columns:
        s = text[column].dropna()
        if len(s) and bool(s.astype(str).str.strip().str.fullmatch(_ZERO_PADDED).any()):
            found.append(str(column))
    return found


_DOT_GROUPS = re.compile(rb";-?[1-9][0-9]{0,2}\.[0-9]{3}(?:\.[0-9]{3})*(?=[;\r\n]|\Z)")
_DOT_THOUSANDS = r"-?[1-9]\d{0,2}(?:\.\d{3})+"


def _warn_dot_thousands(
    frame: pd.DataFrame,
    data: bytes,
    safe: str,
    options: Mapping[str, Any],
    columns: Sequence[str] | None,
) -> None:
    """Warn about ``;`` files' number columns that may hold ``1.500`` for 1500.

    pandas reads ``1.500`` as 1.5; in a European export it is 1500 with a
    thousands dot. Only a warning: a column rounded to three decimals reads
    the same, and ``thousands='.'`` decides.
    """
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats or not _DOT_GROUPS.search(data):
        return
    raw = pd.read_csv(
        io.BytesIO(data),
        low_memory=False,
        usecols=columns,
        dtype=dict.fromkeys(floats, str),
        **options,
    )
    for column in floats:
        s = raw[column].dropna().astype(str).str.strip()
        dotted = s.str.fullmatch(_DOT_THOUSANDS)
        if dotted.any() and (dotted | s.str.fullmatch(r"-?\d+")).all():
            example = s[dotted].iloc[0]
            warnings.warn(
                f"Column {column!r} of {safe} holds numbers such as {example!r}, "
                f"read as {float(example)}; in a ';'-delimited export that may be "
                f"{example.replace('.', '')} written with a thousands dot. Pass "
                "thousands='.' (--thousands .) if so.",
                DataQualityWarning,
                stacklevel=5,
            )


def _csv_error(
    err: Exception, safe: str, delimiter: str, start: int = 0
) -> DataValidationError:
    """Put a CSV parse failure in words: the line, the delimiter, the fixes."""
    text = one_line_text(str(err))
    if start:
        return DataValidationError(
            f"Could not read {safe} as CSV: its header does not seem to be on the "
            f"first line; the table seems to start on line {start + 1}. Pass "
            f"header_row={start} (--header-row {start}) to skip the lines above it."
        )
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        n, line, saw = match.groups()
        return DataValidationError(
            f"Could not read {safe} as CSV delimited by "
            f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))}: line {line} has "
            f"{saw} fields where the header has {n}. Fix that line (a stray "
            "delimiter, or a value that needs quotes), or pass sep= (--sep) if "
            "that is not the delimiter, or header_row= (--header-row) if the "
            "header is not on the first line."
        )
    return DataValidationError(
        f"Could not read {safe} as CSV delimited by "
        f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))}: {type(err).__name__}: "
        f"{text}. Pass sep= (--sep) or encoding= (--encoding) if those are wrong."
    )


def _without_implicit_index(
    data: bytes,
    safe: str,
    options: Mapping[str, Any],
    columns: Sequence[str] | None,
    header_row: int | None,
) -> pd.DataFrame:
    """Re-read a CSV whose rows hold more fields than its header, or refuse.

    Empty extra fields (a delimiter at the end of each row) are dropped; any
    other extra value is refused: which column it belongs to is a guess.
    """
    start = 0 if header_row else _start_of(data, options["sep"])
    if start:
        raise _csv_error(ValueError(), safe, options["sep"], start)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                io.BytesIO(data),
                low_memory=False,
                usecols=columns,
                index_col=False,
                **options,
            )
        except pd.errors.ParserWarning:
            pass
    raise DataValidationError(
        f"Could not read {safe} as CSV delimited by "
        f"{_DELIMITER_NAMES.get(options['sep'], repr(options['sep']))}: some rows "
        "hold more values than its header names columns, so which column each "
        "value belongs to is a guess. Fix those rows (a stray delimiter, a value "
        "that needs quotes) or the header, or pass sep= (--sep) if that is not "
        "the delimiter."
    )


def _start_of(data: bytes, sep: str) -> int:
    """:func:`table_start` of a file's first bytes, for the other delimiters too."""
    sample = data[:_SNIFF_BYTES].decode("utf-8", errors="replace")
    starts = [table_start(sample, d) for d in dict.fromkeys((sep, *_DELIMITERS))]
    return next((s for s in starts if s), 0)


def one_line_text(text: str) -> str:
    return " ".join(text.split())


def _read_csv(
    f: Any,
    safe: str,
    *,
    sep: str | None,
    encoding: str | None,
    decimal: str | None,
    thousands: str | None,
    na_values: Sequence[str] | None,
    header_row: int | None,
    columns: Sequence[str] | None,
) -> pd.DataFrame:
    data = f.read()
    if isinstance(data, str):  # pragma: no cover - text-mode file objects
        data = data.encode()
    options = csv_options(
        data[:_SNIFF_BYTES],
        safe,
        sep=sep,
        encoding=encoding,
        decimal=decimal,
        thousands=thousands,
        na_values=na_values,
        header_row=header_row,
    )
    enc = options["encoding"]
    if enc.startswith(("utf-16", "utf-32")):  # once to UTF-8: one code path
        try:
            data = data.decode(enc).encode("utf-8")
        except UnicodeDecodeError as err:
            raise DataValidationError(
                f"Could not read {safe} as {enc} text (byte {err.start} is not "
                "valid there): pass encoding= (--encoding) with its encoding."
            ) from None
        options["encoding"] = "utf-8"
    fallback = options["encoding_errors"] == FALLBACK_ERRORS
    read = dict(options, encoding_errors="strict")  # pandas' fast path
    frame = None
    while frame is None:
        try:
            frame = pd.read_csv(
                io.BytesIO(data), low_memory=False, usecols=columns, **read
            )
        except UnicodeDecodeError as err:
            if not fallback or read is options:
                raise DataValidationError(
                    f"Could not read {safe} as {enc} text: byte {err.start} is not "
                    f"valid {enc}. Pass the file's encoding= (--encoding), e.g. "
                    "'cp1252' or 'latin-1', or leave it out to let churnlib tell."
                ) from None
            read = options  # not all UTF-8: the per-byte cp1252 fallback
            warn_not_utf8(safe, stacklevel=5)
        except pd.errors.ParserError as err:
            start = 0 if header_row else _start_of(data, options["sep"])
            raise _csv_error(err, safe, options["sep"], start) from None
    options = read
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # rows with more fields than the header: pandas took the first ones
        # for an index, shifting every value into its neighbour's column
        frame = _without_implicit_index(data, safe, options, columns, header_row)
    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if numeric and may_have_leading_zeros(data):
        text = pd.read_csv(
            io.BytesIO(data),
            low_memory=False,
            usecols=columns,
            dtype=dict.fromkeys(numeric, str),
            **options,
        )[numeric]
        for column in zero_padded(text):
            frame[column] = text[column]
    if options["sep"] == ";" and decimal is None and thousands is None:
        _warn_dot_thousands(frame, data, safe, options, columns)
    formats = number_formats(
        frame,
        safe,
        sep=options["sep"],
        decimal=decimal,
        thousands=thousands,
        quoted=b'"' in data,
        affixes=any(a.encode() in data for a in _AFFIXES),
    )
    apply_number_formats(frame, formats)
    if frame.shape[1] == 1 and header_row is None:
        start = _start_of(data, options["sep"])
        if start:
            frame.attrs[_HEADER_ATTR] = start
    return frame


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _check_legacy_excel(safe: str) -> None:
    """Refuse an Excel 97-2003 workbook when no reader for it is installed."""
    import importlib.util

    if importlib.util.find_spec("python_calamine") or importlib.util.find_spec("xlrd"):
        return
    raise DataValidationError(
        f"{safe} is a legacy Excel 97-2003 workbook (.xls), which openpyxl cannot "
        "read: save it as .xlsx or CSV, or pip install python-calamine (pandas "
        "reads .xls with it)."
    )


def read_excel(
    f: Any, safe: str, sheet: str | int | None, header_row: int | None = None
) -> pd.DataFrame:
    """Read an open Excel file: ``sheet``, else the sheet holding the table."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"Reading the Excel file {safe} needs openpyxl: "
            'pip install "churnlib[excel]".'
        ) from err
    data = f.read()
    if data.startswith(_OLE2):
        _check_legacy_excel(safe)
    if sheet is not None:
        try:
            frame = pd.read_excel(
                io.BytesIO(data),
                sheet_name=sheet,
                header=header_row or 0,
                keep_default_na=False,
                na_values=list(NA_STRINGS),
            )
        except (ValueError, KeyError) as err:
            names = pd.ExcelFile(io.BytesIO(data)).sheet_names
            raise DataValidationError(
                f"{safe} has no sheet {sheet!r}; its sheets are {names!r}. Pass "
                "one of those as sheet= (--sheet)."
            ) from err
        return _keep_zero_padded(frame, data, sheet, header_row)
    sheets = pd.read_excel(
        io.BytesIO(data),
        sheet_name=None,
        header=header_row or 0,
        keep_default_na=False,
        na_values=list(NA_STRINGS),
    )
    # The table is on the sheet with the most filled cells (notes and pivot
    # sheets are small).
    filled = {
        name: int(frame.notna().to_numpy().sum()) for name, frame in sheets.items()
    }
    if not filled or max(filled.values()) == 0:
        raise DataValidationError(f"{safe} has no filled cells on any sheet.")
    sheet = max(filled, key=lambda k: filled[k])
    return _keep_zero_padded(sheets[sheet], data, sheet, header_row)


_XLSX_ZERO_PADDED = re.compile(rb"<t(?: [^>]*)?>0[0-9]+</t>")


def _xlsx_may_hold_zero_padded(data: bytes) -> bool:
    """Tell cheaply whether a workbook may hold a text cell such as ``"007"``.

    Text cells of an ``.xlsx`` are its shared strings (or inline strings in
    a sheet); reading them is much cheaper than reading the sheet again.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return any(
                _XLSX_ZERO_PADDED.search(book.read(n))
                for n in book.namelist()
                if n == "xl/sharedStrings.xml"
                or (n.startswith("xl/worksheets/") and n.endswith(".xml"))
            )
    except (zipfile.BadZipFile, KeyError, OSError):
        return True  # not an .xlsx: read the cells to tell


def _keep_zero_padded(
    frame: pd.DataFrame, data: bytes, sheet: str | int, header_row: int | None
) -> pd.DataFrame:
    """Give back their text to number columns whose cells were ``"007"`` text."""
    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not numeric or not _xlsx_may_hold_zero_padded(data):
        return frame
    raw = pd.read_excel(
        io.BytesIO(data),
        sheet_name=sheet,
        header=header_row or 0,
        dtype=object,
        keep_default_na=False,
        na_values=list(NA_STRINGS),
    )
    cells = raw[numeric]
    texts = cells.apply(lambda s: s.map(lambda v: v if isinstance(v, str) else None))
    for column in zero_padded(texts):
        s = raw[column]
        frame[column] = s.where(s.isna(), s.astype(str))
    return frame


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
    decimal: str | None = None,
    thousands: str | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    r"""Read a table from any fsspec URL, values as they are.

    Parameters
    ----------
    url : str or os.PathLike
        Local path or fsspec URL (``s3://``, ``az://``, ``gs://``,
        ``memory://``, ``https://``...). CSV may be compressed (``.gz``,
        ``.zip`` holding one file, ``.bz2``, ``.xz``, by suffix).
    storage_options : mapping, default=None
        Passed to fsspec (credentials, endpoint). Never shown in messages.
    format : {"csv", "parquet", "excel"}, default=None
        None tells it from the suffix, else from the first bytes.
    sheet : str or int, default=None
        Excel: the sheet. None takes the sheet with the most filled cells.
    sep : str, default=None
        CSV delimiter. None sniffs ``,``, ``;``, tab or ``|`` from the first
        30 lines (the one most of them split into the same number of fields).
    encoding : str, default=None
        CSV text encoding. None reads a byte-order mark (UTF-8, UTF-16,
        UTF-32; UTF-16 without one by its NUL bytes), else UTF-8 where bytes
        are UTF-8 and Windows-1252 (cp1252) where they are not, with a
        :class:`~churnlib.exceptions.DataQualityWarning`.
    na_values : sequence of str, default=None
        Extra strings read as missing (CSV).
    columns : sequence of str, default=None
        Read only these columns (CSV and Parquet).
    timeout : float, default=None
        Seconds one storage request may take, whatever the client's own
        retries (S3, Azure, GCS, HTTP). None: ``CHURNLIB_STORAGE_TIMEOUT``,
        else 60, as for :class:`~churnlib.deployment.ModelStore`.
    decimal : str, default=None
        CSV decimal separator (``","`` for ``29,85``). None detects, column by
        column, text whose every value is a number with a decimal comma
        (``29,85``, ``1.234,50``; not in comma-delimited files) or with
        thousands commas (``"1,234.50"``) and reads it as numbers.
    thousands : str, default=None
        CSV thousands separator (``","`` for ``1,234.50``, ``"."`` for
        ``1.234,50``). None detects it with ``decimal``.
    header_row : int, default=None
        The 0-based line (CSV) or row (Excel) of the header, for a file with
        a title above its table. None: the first.

    Returns
    -------
    pandas.DataFrame
        Text as read, except that a column of digits where a value has a
        leading zero (``"007"``: an account number, a zip code) stays text,
        and numbers written as above become numbers.

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
        check_zip(fs, path, safe)
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
                    decimal=decimal,
                    thousands=thousands,
                    na_values=na_values,
                    header_row=header_row,
                    columns=columns,
                )
            if fmt == "parquet":
                frame = pd.read_parquet(f, columns=list(columns) if columns else None)
            else:
                frame = read_excel(f, safe, sheet, header_row)
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
    except (DataValidationError, InvalidParameterError, ImportError, Warning):
        raise  # a Warning: a DataQualityWarning turned into an error by a filter
    except StorageTimeoutError:
        failure = StorageError(
            timeout_message("read", safe, bound, "read_table(..., timeout=seconds)"),
            url=redact_url(url),
        )
    except IsADirectoryError:
        failure = DataValidationError(
            f"{safe} is a folder, not a table: pass one file (churnlib score also "
            "takes a folder of part files)."
        )
    except pd.errors.EmptyDataError:
        failure = DataValidationError(
            f"Could not read {safe}: the file is empty (a table needs a header row)."
        )
    except (
        ValueError,
        OSError,
        pd.errors.ParserError,
        KeyError,
        csv.Error,
        UnicodeError,
    ) as err:
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


def zip_members(fs: Any, path: str) -> list[str] | None:
    """Return the files of a ``.zip`` archive (no folders, no dot files), or None."""
    if not path.lower().endswith(".zip"):
        return None
    import zipfile

    with fs.open(path, mode="rb") as f, zipfile.ZipFile(f) as archive:
        return [
            info.filename
            for info in archive.infolist()
            if not info.is_dir()
            and not any(
                part.startswith(".") or part == "__MACOSX"
                for part in info.filename.split("/")
            )
        ]


def check_zip(fs: Any, path: str, safe: str) -> None:
    """Refuse a ``.zip`` holding more than one file: all but one would be lost.

    Raises
    ------
    DataValidationError
        Naming the archive, its files and the fix.
    """
    members = zip_members(fs, path)
    if members is not None and len(members) != 1:
        shown = ", ".join(members[:6]) + (" ..." if len(members) > 6 else "")
        raise DataValidationError(
            f"{safe} holds {len(members)} files ({shown or 'none'}); a zipped "
            "table must hold one file. Unzip it and pass each file (or, to score "
            "them all, the folder holding them)."
        )


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
