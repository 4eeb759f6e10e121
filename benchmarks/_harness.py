"""Tiny benchmark harness: best-of timings, ratios, peak memory, result files.

Every figure churnlib reports is a ratio against a raw baseline measured in the
same process and run, so numbers stay comparable across machines.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def best_of(fn: Callable[[], Any], *, repeat: int = 3) -> float:
    """Minimum wall time in seconds over ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Report:
    """Collect rows ``(name, value, baseline, target)`` and write them out."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []

    def ratio(
        self,
        what: str,
        seconds: float,
        baseline_seconds: float,
        *,
        baseline: str,
        target: float | None = None,
        note: str = "",
    ) -> float:
        r = seconds / baseline_seconds
        ok = None if target is None else r <= target
        self.rows.append(
            {
                "what": what,
                "seconds": round(seconds, 4),
                "baseline": baseline,
                "baseline_seconds": round(baseline_seconds, 4),
                "ratio": round(r, 3),
                "target": target,
                "ok": ok,
                "note": note,
            }
        )
        return r

    def value(
        self,
        what: str,
        value: float,
        *,
        unit: str,
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> None:
        self.rows.append(
            {
                "what": what,
                "value": value,
                "unit": unit,
                "target": target,
                "ok": ok,
                "note": note,
            }
        )

    def write(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        meta = {"python": platform.python_version(), "machine": platform.machine()}
        (RESULTS / f"{self.name}.json").write_text(
            json.dumps({"meta": meta, "rows": self.rows}, indent=2) + "\n"
        )
        print(f"\n## {self.name}")
        for row in self.rows:
            status = {True: "ok", False: "MISSED", None: ""}[row["ok"]]
            if "ratio" in row:
                print(
                    f"- {row['what']}: {row['seconds']:.3f}s vs {row['baseline']} "
                    f"{row['baseline_seconds']:.3f}s -> {row['ratio']:.2f}x"
                    + (f" (target <= {row['target']}x)" if row["target"] else "")
                    + f" {status} {row['note']}"
                )
            else:
                print(
                    f"- {row['what']}: {row['value']} {row['unit']} "
                    f"{row['target']} {status} {row['note']}"
                )
