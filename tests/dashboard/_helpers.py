"""Helpers of the dashboard tests (AppTest element lookups)."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "churnlib" / "dashboard" / "app.py"


def make_app():
    """A fresh AppTest of the dashboard (one browser session)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=240)


def by_label(elements, label):
    """The one element of an AppTest element list with this label."""
    found = [e for e in elements if e.label == label]
    assert found, f"no element labelled {label!r} in {[e.label for e in elements]}"
    return found[0]


def click(at, label):
    """Click the button (or form submit button) labelled ``label`` and rerun."""
    by_label(at.button, label).click()
    at.run()
    return at


def metrics(at):
    """Shown ``st.metric`` values by label."""
    return {m.label: m.value for m in at.metric}


def texts(elements):
    """The values of a list of text-like elements (error, success, info...)."""
    return [str(e.value) for e in elements]


def no_errors(at):
    """Assert that the page shows neither an exception nor an error box."""
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)


def array(value):
    """A Plotly JSON array (a list, or ``{"dtype", "bdata"}`` in Plotly 6+)."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if shape:
            dims = [int(d) for d in str(shape).split(",")]
            data = data.reshape(dims)
        return data
    return np.asarray(value)


def figures(at):
    """The Plotly figures (JSON dicts) on the page, by title."""
    import json

    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def frame_with(at, column):
    """The first ``st.dataframe`` on the page that has ``column``."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column on the page")
