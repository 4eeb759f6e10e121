"""The walkthrough notebooks are committed clean: no outputs, no execution counts.

They are executed and rendered by the docs build (``nox -s docs``, part of the
README's test command; an error in any cell fails it), so stored outputs would
only go stale and bloat diffs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "00_quickstart.ipynb",
    "01_data.ipynb",
    "02_training_and_tracking.ipynb",
    "03_evaluation.ipynb",
    "04_deployment.ipynb",
    "05_monitoring.ipynb",
    "06_uplift.ipynb",
]


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_walkthrough_is_there():
    assert [p.name for p in _notebooks()] == EXPECTED


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert dirty == [], (
        f"{path.name}: code cells {dirty} have outputs or execution counts; "
        "clear them (jupyter nbconvert --clear-output --inplace) before committing"
    )


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_has_a_kernel_and_opens_with_an_explanation(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown"
    assert "".join(first["source"]).lstrip().startswith("# ")
    # every section (## heading) opens with prose before any code
    for i, cell in enumerate(nb["cells"]):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.lstrip().startswith("## "):
            body = text.split("\n", 1)[1].strip() if "\n" in text else ""
            assert body, f"{path.name}: section in cell {i} has no explanation"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_writes_only_to_a_temporary_folder(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
    )
    assert "tempfile.mkdtemp(" in code
