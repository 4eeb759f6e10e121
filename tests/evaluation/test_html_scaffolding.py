"""The shared HTML scaffolding (``churnlib._html``) of both report pages."""

import base64
import math

import numpy as np
import pandas as pd

from churnlib._html import NA, figure_html, figure_png, format_value, page, table_html


def test_page_escapes_the_title_and_is_self_contained():
    document = page("a <b> & c", "<p>body</p>")
    assert document.startswith("<!DOCTYPE html>")
    assert "<title>a &lt;b&gt; &amp; c</title>" in document
    assert "<p>body</p>" in document
    assert "http" not in document
    assert "<link" not in document


def test_figure_png_and_embedding(pyplot):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    png = figure_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG")
    block = figure_html("k'ey", "T<1>", "cap & more", png, wide=True)
    assert block.startswith("<figure id='k&#x27;ey' class='wide'><h3>T&lt;1&gt;</h3>")
    encoded = block.split("base64,")[1].split("'")[0]
    assert base64.b64decode(encoded) == png
    assert "<figcaption>cap &amp; more</figcaption>" in block


def test_format_value():
    assert format_value(1234567) == "1,234,567"
    assert format_value(np.int64(3)) == "3"
    assert format_value(0.123456) == "0.1235"
    assert format_value(0.5, digits=2) == "0.50"
    assert format_value(True) == "yes"
    assert format_value(math.inf) == "inf"
    assert format_value(pd.Timestamp("2026-01-02", tz="UTC")) == "2026-01-02"
    assert format_value(pd.Timestamp("2026-01-02 06:30")) == "2026-01-02 06:30"
    assert format_value(float("nan")) == ""


def test_table_html_escapes_formats_and_marks_missing():
    frame = pd.DataFrame(
        {"name": ["<b>x</b>", None], "value": [0.5, np.nan], "n": [1, 2]}
    )
    out = table_html(frame)
    assert "<thead><tr><th>name</th><th>value</th><th>n</th></tr></thead>" in out
    assert "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<b>x</b>" not in out
    assert "<td class='num'>0.5000</td>" in out
    assert out.count(f"<td class='na'>{NA}</td>") == 2
    assert "NaN" not in out
    assert "None" not in out
    # per-row text for missing cells, highlighted cells, trusted HTML columns
    flags = pd.DataFrame({"value": [True, False]})
    out = table_html(
        frame,
        row_na=[None, "no labels yet"],
        flags=flags,
        formatters={"name": lambda v: f"<i>{v}</i>"},
        raw=("name",),
        headers={"n": "rows"},
    )
    assert "<td class='num flag'>0.5000</td>" in out
    assert out.count("<td class='na'>no labels yet</td>") == 2
    assert "<td><i><b>x</b></i></td>" in out
    assert "<th>rows</th>" in out


def test_table_html_index_and_empty():
    frame = pd.DataFrame({"v": [1.0]}, index=pd.Index(["a"], name="k"))
    out = table_html(frame, index=True)
    assert "<tr><th>a</th><td class='num'>1.0000</td></tr>" in out
    empty = table_html(pd.DataFrame({"a": []}))
    assert "<th>a</th>" in empty
    assert "<td" not in empty
