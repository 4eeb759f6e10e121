"""Request bodies to tables: JSON records or CSV, strict and bounded.

Every refusal is a :class:`RequestError` with an HTTP status and a message
that says what is wrong and how to fix it. Messages never quote header values
(where tokens live) and quote body values only when naming a bad column.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Records",
    "RequestError",
    "parse_events",
    "parse_outcomes",
    "parse_table",
    "records_frame",
]

_SCALARS = (str, int, float, bool, type(None))


class RequestError(Exception):
    """A request the service refuses: ``status`` and a client-facing message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        columns: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.columns = columns
        self.headers = headers or {}


def _no_constants(name: str) -> Any:
    raise RequestError(
        400,
        f"The body is not valid JSON: {name} is not a JSON value. Send null for a "
        "missing value and finite numbers otherwise.",
    )


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: the object, or a 422 naming its repeated keys."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        repeated = sorted(k for k, n in counts.items() if n > 1)
        raise RequestError(
            422,
            f"A JSON object in the body names {_describe_repeats(repeated)} more "
            "than once, so which value counts would be a guess; send each "
            "column (field) once an object.",
            columns=tuple(repeated),
        )
    return obj


def _describe_repeats(names: list[str]) -> str:
    """``'age'`` or ``the columns ['age', 'contract']``, for a refusal."""
    return repr(names[0]) if len(names) == 1 else f"the columns {names}"


def _keys_held(payload: Any) -> int:
    """Count the keys of the objects at the top two levels of a JSON body.

    Every key in the text is followed by one ``:`` (strings may hold more),
    and an object that repeats a key holds fewer keys than its text names.
    So when the body's ``:`` count equals this count, no object repeats a
    key; otherwise the body is parsed again, refusing repeats (bodies with
    ``:`` in strings, e.g. timestamps, or objects nested deeper).
    """
    held = 0
    items = [payload]
    if isinstance(payload, dict):
        held += len(payload)
        items = list(payload.values())
    for item in items:
        if isinstance(item, dict):
            held += len(item)
        elif isinstance(item, list) and item and set(map(type, item)) == {dict}:
            held += sum(map(len, item))
    return held


def _decode(text: str, hook: Any = None) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=hook)
    except json.JSONDecodeError as err:
        raise RequestError(
            400,
            f"The body is not valid JSON: {err.msg} at line {err.lineno} column "
            f"{err.colno}. Send a list of records, e.g. "
            '[{"tenure_months": 3, "contract": "month-to-month"}].',
        ) from None
    except RecursionError:
        raise RequestError(
            400,
            "The body is JSON nested deeper than this service reads (lists or "
            f"objects inside each other about {sys.getrecursionlimit()} levels "
            "deep); send a list of records of plain values.",
        ) from None
    except ValueError as err:  # Python's limit on the digits of an integer
        if "integer string conversion" not in str(err):
            raise RequestError(
                400,
                f"The body could not be read as JSON ({type(err).__name__}); send "
                "a list of records of plain values.",
            ) from None
        raise RequestError(
            400,
            "The body holds a number with more than "
            f"{sys.get_int_max_str_digits()} digits, more than this service "
            "reads; send numbers as ordinary (64-bit) integers or decimals.",
        ) from None


def _loads(body: bytes) -> Any:
    """Decode a JSON body; 400 for what is not JSON, 422 for repeated keys."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError(
            400, f"The body is not UTF-8 text (byte {err.start}); send UTF-8 JSON."
        ) from None
    payload = _decode(text)
    if text.count(":") != _keys_held(payload):
        payload = _decode(text, _refuse_repeats)
    return payload


def _check_rows(n: int, max_rows: int) -> None:
    if n == 0:
        raise RequestError(422, "The request holds no rows; send at least one record.")
    if n > max_rows:
        raise RequestError(
            413,
            f"The request holds {n} rows; this service takes at most {max_rows} "
            "a request. Split it into smaller requests.",
        )


class Records(list):  # type: ignore[type-arg]
    """JSON records not yet made a table.

    The tables of requests waiting together are built in one call.
    """

    def columns(self) -> set[str]:
        """Return every key of every record."""
        return set().union(*self)

    def frame(self) -> pd.DataFrame:
        """Return the table of these records (nested values refused)."""
        return records_frame(self)


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Build one table from JSON records; refuse nested values."""
    frame = pd.DataFrame.from_records(records)
    _check_cells(frame)
    return frame


def _records_frame(
    records: Any, max_rows: int, lazy: bool = False
) -> pd.DataFrame | Records:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RequestError(
            422,
            "Send a JSON list of records (objects mapping column to value), "
            '{"records": [...]}, or {"columns": [...], "data": [[...], ...]}.',
        )
    _check_rows(len(records), max_rows)
    if lazy:
        return Records(records)
    return records_frame(records)


def _split_frame(payload: dict[str, Any], max_rows: int) -> pd.DataFrame:
    columns, data = payload.get("columns"), payload.get("data")
    if (
        not isinstance(columns, list)
        or not all(isinstance(c, str) for c in columns)
        or not isinstance(data, list)
        or not all(isinstance(r, list) for r in data)
    ):
        raise RequestError(
            422,
            'A split table needs "columns" (a list of names) and "data" (a list of '
            "rows, each a list of values).",
        )
    _check_rows(len(data), max_rows)
    widths = {len(r) for r in data}
    if widths != {len(columns)}:
        raise RequestError(
            422,
            f'Every row of "data" must hold {len(columns)} values (one per column);'
            f" found rows of {sorted(widths)} values.",
        )
    if len(set(columns)) != len(columns):
        raise RequestError(422, "The column names repeat; send each column once.")
    frame = pd.DataFrame(data, columns=columns)
    _check_cells(frame)
    return frame


def _check_cells(frame: pd.DataFrame) -> None:
    """Refuse nested values (objects or lists inside a cell), naming the columns."""
    bad = []
    array_of = getattr(frame, "_get_column_array", None)  # no Series, no dtypes
    for i, name in enumerate(frame.columns):
        values = frame.iloc[:, i] if array_of is None else array_of(i)
        if values.dtype != "object":
            continue
        col = frame[name]
        kind = pd.api.types.infer_dtype(col, skipna=True)
        if (
            kind.startswith("mixed")
            and (
                ~col.map(_is_scalar, na_action="ignore").fillna(True).astype(bool)
            ).any()
        ):
            bad.append(str(name))
    if bad:
        raise RequestError(
            422,
            f"Columns {bad} hold lists or objects; every value must be a string, "
            "number, boolean or null.",
            columns=tuple(bad),
        )


def _is_scalar(value: Any) -> bool:
    return isinstance(value, _SCALARS)


def parse_table(
    body: bytes, content_type: str, *, max_rows: int, lazy: bool = False
) -> Any:
    """Read the table a predict request carries (JSON records, split JSON, CSV).

    Also accepts MLflow's ``dataframe_records`` / ``dataframe_split`` payloads,
    so clients of ``mlflow models serve`` work unchanged. With ``lazy=True``
    JSON records come back as :class:`Records` (made a table later, together
    with other waiting requests); everything else is a DataFrame.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return _csv_frame(body, max_rows)
    if kind not in ("application/json", "", "application/*+json") and not kind.endswith(
        "+json"
    ):
        raise RequestError(
            415,
            f"Unsupported Content-Type {kind!r}; send application/json or text/csv.",
        )
    payload = _loads(body)
    if isinstance(payload, list):
        return _records_frame(payload, max_rows, lazy)
    if isinstance(payload, dict):
        for key in ("records", "dataframe_records", "instances"):
            if key in payload:
                return _records_frame(payload[key], max_rows, lazy)
        if "dataframe_split" in payload and isinstance(
            payload["dataframe_split"], dict
        ):
            return _split_frame(payload["dataframe_split"], max_rows)
        if "columns" in payload and "data" in payload:
            return _split_frame(payload, max_rows)
    raise RequestError(
        422,
        "Send a JSON list of records (objects mapping column to value), "
        '{"records": [...]}, or {"columns": [...], "data": [[...], ...]}.',
    )


def _csv_frame(body: bytes, max_rows: int) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(body), nrows=max_rows + 1, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise RequestError(
            422, "The CSV body is empty; send a header line and at least one row."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RequestError(
            400,
            f"The CSV body could not be read ({first}){_separator_hint(body)}; "
            "send comma-separated UTF-8 text with one header line.",
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas reads the values beyond the header as the index and shifts
        # every column by them: each name would get its neighbour's values
        raise RequestError(
            400,
            f"The CSV rows hold more values than the header's {frame.shape[1]} "
            "names (a trailing comma adds an empty value), so no value could be "
            f"matched to its column{_separator_hint(body)}; send one header name "
            "per value.",
        )
    _check_header(frame, body)
    _check_rows(len(frame), max_rows)
    return frame


#: separators of CSV-like text that pandas, reading commas, takes for text
_OTHER_SEPARATORS = ((";", "';'"), ("\t", "tabs"), ("|", "'|'"))


def _separator_of(header: str) -> str | None:
    """Name the separator a header without commas seems to use, if any."""
    if "," in header:
        return None
    for sep, label in _OTHER_SEPARATORS:
        if sep in header:
            return label
    return None


def _separator_hint(body: bytes) -> str:
    header = body.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    label = _separator_of(header)
    return "" if label is None else f" (the header looks separated by {label})"


# pandas renames a repeated CSV column "age" to "age.1" (or "age.2", ...)
_MANGLED = re.compile(r"(.+)\.[0-9]+")

#: the key of ``DataFrame.attrs`` holding a hint for a CSV read as one column
CSV_HINT = "churnlib_serve_hint"


def _check_header(frame: pd.DataFrame, body: bytes) -> None:
    """Refuse a CSV header that repeats a column; note one read as one column."""
    names = [str(c) for c in frame.columns]
    present = set(names)
    if any((m := _MANGLED.fullmatch(n)) and m[1] in present for n in names):
        header = pd.read_csv(
            io.BytesIO(body),
            header=None,
            nrows=1,
            dtype=str,
            encoding="utf-8",
            na_filter=False,  # a column named "NA" is a name
        ).iloc[0]
        counts = Counter(str(v) for v in header.tolist())
        # empty names are pandas' distinct "Unnamed: i"
        repeated = sorted(n for n, k in counts.items() if k > 1 and n)
        if repeated:
            raise RequestError(
                422,
                f"The CSV header names {_describe_repeats(repeated)} more than "
                "once, so which value counts would be a guess; send each column "
                "once.",
                columns=tuple(repeated),
            )
    label = _separator_of(names[0]) if len(names) == 1 else None
    if label is not None:
        frame.attrs[CSV_HINT] = (
            "The CSV header was read as one column: the body looks separated by "
            f"{label}; send comma-separated CSV."
        )


def _labels(values: Any, decode: Any) -> np.ndarray:
    col = pd.Series(values, dtype=object)
    if col.isna().any():
        raise RequestError(
            422,
            "Some outcomes have no label; send churned: true/false for each.",
            columns=("churned",),
        )
    kind = pd.api.types.infer_dtype(col, skipna=False)
    if kind != "string" and col.isin([0, 1]).all():  # True == 1, False == 0
        flags: np.ndarray = col.to_numpy(dtype=np.float64).astype(bool)
        return flags
    if kind == "string" and decode is not None:
        from churnlib.exceptions import DataValidationError

        try:
            return np.asarray(decode(col), dtype=bool)
        except DataValidationError as err:
            raise RequestError(422, str(err), columns=("churned",)) from None
    raise RequestError(
        422,
        "Outcome labels must be true/false or 0/1 (1 = churned)"
        + (" or the model's own labels" if decode is not None else "")
        + ".",
        columns=("churned",),
    )


def _micros(values: Any, n: int, field: str) -> np.ndarray:
    """Read times (ISO, one or one per row; None: now) as µs since the epoch, UTC."""
    import time

    if values is None:
        return np.full(n, time.time_ns() // 1000, dtype=np.int64)
    try:
        stamps = pd.to_datetime(
            pd.Series([values] * n if isinstance(values, str) else values),
            utc=True,
            format="ISO8601",
        )
    except (TypeError, ValueError, OverflowError):
        raise RequestError(
            422,
            f"{field} must be an ISO 8601 date or time (e.g. "
            '"2026-03-01T12:00:00Z"), one for all rows or one per row.',
            columns=(field,),
        ) from None
    if len(stamps) != n or stamps.isna().any():
        raise RequestError(
            422,
            f"{field} has {len(stamps)} values (some missing?) for {n} rows; "
            "send one time, or one per row.",
            columns=(field,),
        )
    micros: np.ndarray = (
        stamps.dt.tz_localize(None).astype("datetime64[us]").to_numpy().view(np.int64)
    )
    return micros


def _refuse_future(micros: np.ndarray, field: str, fix: str) -> None:
    """Refuse times after now (this server's clock, no allowance for skew)."""
    import time

    if (micros > time.time_ns() // 1000).any():
        raise RequestError(
            422,
            f"Some {field} times lie in the future; {fix}.",
            columns=(field,),
        )


def parse_outcomes(
    body: bytes, *, max_rows: int, decode: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, churned, observed_at µs)`` from an outcomes request.

    Accepted bodies: ``[{"id": ..., "churned": ..., "scored_at": ...,
    "observed_at": ...}, ...]`` (``scored_at``, the time the predict response
    gave, and ``observed_at`` optional) or ``{"ids": [...], "churned": [...],
    "scored_at": [...], "observed_at": "..." | [...]}``.

    Returns
    -------
    ids, churned, observed_at, scored_at
        ``scored_at`` is None when no outcome names it.
    """
    payload = _loads(body)
    if isinstance(payload, dict) and "ids" in payload:
        ids, labels = payload.get("ids"), payload.get("churned")
        observed = payload.get("observed_at")
        scored_raw = payload.get("scored_at")
        if not isinstance(ids, list) or not isinstance(labels, list):
            raise RequestError(
                422, '"ids" and "churned" must be lists of the same length.'
            )
        frame = pd.DataFrame({"id": pd.Series(ids, dtype=object)})
        if len(labels) != len(ids):
            raise RequestError(
                422,
                f'"ids" has {len(ids)} values but "churned" has {len(labels)}; send '
                "one label per id.",
                columns=("churned",),
            )
        frame["churned"] = pd.Series(labels, dtype=object)
    elif isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
        frame = pd.DataFrame.from_records(payload)
        observed = frame.get("observed_at")
        scored_raw = frame.get("scored_at")
    else:
        raise RequestError(
            422,
            'Send [{"id": "C0001", "churned": true}, ...] or {"ids": [...], '
            '"churned": [...]}.',
        )
    _check_rows(len(frame), max_rows)
    missing = [c for c in ("id", "churned") if c not in frame.columns]
    if missing:
        raise RequestError(
            422,
            f"Outcomes need the fields {missing}: the id a prediction was logged "
            "under (the customer id, or the prediction_id) and churned.",
            columns=tuple(missing),
        )
    ids_col = frame["id"]
    kind = pd.api.types.infer_dtype(ids_col, skipna=False)
    if ids_col.isna().any() or kind not in ("string", "integer", "mixed-integer"):
        raise RequestError(
            422, "Every outcome needs an id (a string or an integer).", columns=("id",)
        )
    labels_arr = _labels(frame["churned"], decode)
    micros = _micros(_plain(observed), len(frame), "observed_at")
    if observed is not None:
        _refuse_future(micros, "observed_at", "send outcomes once observed")
    scored = None
    if scored_raw is not None:
        scored = _micros(_plain(scored_raw), len(frame), "scored_at")
    return ids_col.astype(str).to_numpy(dtype=object), labels_arr, micros, scored


def _plain(values: Any) -> Any:
    return values.tolist() if isinstance(values, pd.Series) else values


def parse_events(body: bytes, *, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(ids, churned_at µs)`` from a churn-events request.

    Accepted bodies: ``[{"id": "C0001", "churned_at": "2026-03-01"}, ...]`` or
    ``{"ids": [...], "churned_at": [...] | "..."}``. Dates may not lie in the
    future (an event is something that happened).
    """
    payload = _loads(body)
    if isinstance(payload, dict) and "ids" in payload:
        ids = payload.get("ids")
        if not isinstance(ids, list):
            raise RequestError(422, '"ids" must be a list of customer ids.')
        frame = pd.DataFrame({"id": pd.Series(ids, dtype=object)})
        when = payload.get("churned_at")
    elif isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
        frame = pd.DataFrame.from_records(payload)
        when = frame.get("churned_at")
    else:
        raise RequestError(
            422,
            'Send [{"id": "C0001", "churned_at": "2026-03-01"}, ...] or '
            '{"ids": [...], "churned_at": [...]}.',
        )
    _check_rows(len(frame), max_rows)
    if "id" not in frame.columns or when is None:
        raise RequestError(
            422,
            "Churn events need the fields 'id' (the customer id) and 'churned_at' "
            "(the date the customer left).",
            columns=("id", "churned_at"),
        )
    ids_col = frame["id"]
    kind = pd.api.types.infer_dtype(ids_col, skipna=False)
    if ids_col.isna().any() or kind not in ("string", "integer", "mixed-integer"):
        raise RequestError(
            422, "Every event needs an id (a string or an integer).", columns=("id",)
        )
    if isinstance(when, pd.Series) and when.isna().any():
        raise RequestError(
            422, "Every event needs a churned_at date.", columns=("churned_at",)
        )
    churned_at = _micros(_plain(when), len(frame), "churned_at")
    _refuse_future(churned_at, "churned_at", "send events once they happened")
    return ids_col.astype(str).to_numpy(dtype=object), churned_at
