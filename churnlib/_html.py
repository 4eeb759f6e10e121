"""Shared scaffolding of churnlib's self-contained HTML pages.

The evaluation report card and the monitoring report use the same skeleton,
style sheet, figure embedding and table rendering, so they read as one family.
Pages reference nothing outside themselves: the CSS is inline and figures are
base64 PNGs. matplotlib is only needed (and imported) by :func:`figure_png`'s
caller, which passes a ready figure.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CSS",
    "NA",
    "created_stamp",
    "esc",
    "figure_html",
    "figure_png",
    "format_value",
    "page",
    "table_html",
]

#: What a missing value looks like in a table cell.
NA = "\u2014"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2933;line-height:1.5;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;
border-bottom:1px solid #d9e2ec;padding-bottom:.2rem}
.meta{color:#52606d;font-size:.9rem}.summary p{margin:.5rem 0}
.target{background:#f0f4f8;border-left:4px solid #2680c2;padding:.6rem 1rem}
table{border-collapse:collapse;font-size:.92rem}th,td{padding:.25rem .7rem;
text-align:left;border-bottom:1px solid #e4e7eb}td.num{text-align:right;
font-variant-numeric:tabular-nums}td.na{color:#9aa5b1;text-align:center}
td.flag{background:#ffe3e3;color:#8a041a;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1.2rem}
figure{margin:0;border:1px solid #e4e7eb;border-radius:6px;padding:.6rem}
figure img{width:100%;height:auto}figcaption{font-size:.88rem;color:#52606d}
figure.wide{grid-column:1/-1}.scroll{overflow-x:auto}
.scroll th,.scroll td{white-space:nowrap}
.sev{display:inline-block;border-radius:3px;padding:0 .4rem;font-size:.85rem;
font-weight:600}.sev-critical{background:#facdcd;color:#8a041a}
.sev-warning{background:#fce588;color:#5c4813}.sev-info{background:#d9e8f6;color:#0b4f8a}
"""


def esc(value: Any) -> str:
    """Escape ``str(value)`` for HTML text and quoted attributes."""
    return html.escape(str(value), quote=True)


def created_stamp() -> str:
    """Return the current UTC time, as pages print it."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def page(title: str, body: str) -> str:
    """Wrap ``body`` (trusted HTML) in a complete, self-contained document.

    ``title`` is plain text and is escaped.
    """
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """Render a matplotlib ``Figure`` to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_html(
    key: str, title: str, caption: str, png: bytes, *, wide: bool = False
) -> str:
    """One ``<figure>`` with a heading, the embedded PNG and a caption."""
    cls = " class='wide'" if wide else ""
    return (
        f"<figure id='{esc(key)}'{cls}><h3>{esc(title)}</h3>"
        f"<img alt='{esc(title)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode('ascii')}'>"
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _timestamp_label(ts: pd.Timestamp) -> str:
    if ts.hour or ts.minute or ts.second:
        fmt = "%Y-%m-%d %H:%M:%S" if ts.second else "%Y-%m-%d %H:%M"
    else:
        fmt = "%Y-%m-%d"
    label: str = ts.strftime(fmt)
    return label


def format_value(value: Any, *, digits: int = 4) -> str:
    """Plain-text rendering of one cell (no escaping); missing -> ``""``."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return _timestamp_label(value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if not math.isfinite(value):
            return str(float(value))
        return f"{float(value):.{digits}f}"
    return str(value)


def _is_missing(column: pd.Series) -> np.ndarray:
    missing: np.ndarray = column.isna().to_numpy(dtype=bool)
    return missing


def table_html(
    frame: pd.DataFrame,
    *,
    index: bool = False,
    na_rep: str | Mapping[str, str] = NA,
    digits: int = 4,
    formatters: Mapping[Any, Callable[[Any], str]] | None = None,
    headers: Mapping[Any, str] | None = None,
    raw: tuple[Any, ...] = (),
    row_na: Sequence[str | None] | None = None,
    flags: pd.DataFrame | None = None,
) -> str:
    """Render a DataFrame as an escaped HTML table.

    Parameters
    ----------
    frame : DataFrame
        The table; flat or MultiIndex columns (joined with a space).
    index : bool, default=False
        Include the index as the first column (a header cell per row).
    na_rep : str or mapping, default="\u2014"
        Text of missing cells, globally or per column.
    digits : int, default=4
        Decimals of float cells.
    formatters : mapping, default=None
        Column -> function returning the cell's plain text.
    headers : mapping, default=None
        Column -> header text.
    raw : tuple, default=()
        Columns whose formatter returns trusted HTML (not escaped).
    row_na : sequence of str or None, default=None
        Per-row text of missing cells, overriding ``na_rep`` where not None
        (e.g. "no labels yet" on chunks without outcomes).
    flags : DataFrame of bool, default=None
        Cells to highlight (class ``flag``), aligned on ``frame``'s columns
        and positions.
    """
    formatters = dict(formatters or {})
    headers = dict(headers or {})
    data = frame.reset_index() if index else frame
    columns = list(data.columns)
    n_rows = len(data)
    flagged = np.zeros((n_rows, len(columns)), dtype=bool)
    if flags is not None:
        offset = len(columns) - frame.shape[1]
        aligned = flags.reindex(columns=frame.columns, fill_value=False)
        flagged[:, offset:] = aligned.fillna(False).to_numpy(dtype=bool)[:n_rows]
    per_row = list(row_na) if row_na is not None else [None] * n_rows
    names = [
        headers.get(c, " ".join(map(str, c)) if isinstance(c, tuple) else str(c))
        for c in columns
    ]
    rendered: list[list[str]] = []
    for pos, col in enumerate(columns):
        series = data.iloc[:, pos]
        missing = _is_missing(series)
        fmt = formatters.get(col)
        numeric = pd.api.types.is_numeric_dtype(series) and not (
            pd.api.types.is_bool_dtype(series)
        )
        na = na_rep.get(col, NA) if isinstance(na_rep, Mapping) else na_rep
        tag = "th" if index and pos == 0 else "td"
        cls = "num" if numeric and tag == "td" else ""
        cells = []
        for value, is_na, row_text, flag in zip(
            series.tolist(), missing, per_row, flagged[:, pos], strict=True
        ):
            if is_na:
                text = row_text if row_text is not None else na
                cells.append(f"<{tag} class='na'>{esc(text)}</{tag}>")
                continue
            text = fmt(value) if fmt else format_value(value, digits=digits)
            text = text if col in raw else esc(text)
            classes = " ".join(c for c in (cls, "flag" if flag else "") if c)
            attr = f" class='{classes}'" if classes else ""
            cells.append(f"<{tag}{attr}>{text}</{tag}>")
        rendered.append(cells)
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    body = "\n".join(f"<tr>{''.join(row)}</tr>" for row in zip(*rendered, strict=True))
    return (
        f"<div class='scroll'><table>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )
