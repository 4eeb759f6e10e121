"""churnlib.uplift's face: sorted, importable __all__; a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import churnlib.uplift

HEAVY = (
    "mlflow",
    "matplotlib",
    "seaborn",
    "s3fs",
    "adlfs",
    "gcsfs",
    "empulse",
    "sklift",
)


def test_all_is_sorted_unique_and_importable():
    names = churnlib.uplift.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(churnlib.uplift, name).__module__.startswith("churnlib.uplift")


def test_import_is_light():
    code = (
        "import json, sys, churnlib.uplift, churnlib.evaluation, churnlib.data; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
