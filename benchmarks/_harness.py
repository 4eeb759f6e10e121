"""Benchmark harness: paired, interleaved timings with repeats; result files.

Every figure churnlib reports is measured **paired and interleaved** against
the baseline a user would write, in the same process (or the same kind of
child process) and the same run: round ``i`` times every side once, the order
of the sides alternates between rounds (A B, B A, A B, ...), and each figure
reports the **median and range** of at least three rounds. A change in
machine load then hits both sides alike, and the ratio is the median of the
per-round ratios, not a ratio of two unrelated best cases.

Typical use::

    times = interleaved({"churnlib": ours, "baseline": theirs}, repeat=3)
    report.compare(
        "what",
        times["churnlib"],
        times["baseline"],
        baseline="pandas.read_csv",
        target=1.2,
    )
    report.write()

A side may return a :class:`Sample` (for example from a child process that
measured itself and its peak memory); its ``seconds`` then replace the wall
time seen from outside, and its ``info`` is kept with the timing.

``--quick`` (on the script's command line) is a **smoke run**: every code path
of the script at tiny sizes, so that ``run.py --quick`` (what CI runs) catches a
benchmark that no longer runs. Its figures say nothing: :func:`interleaved`
then accepts a single round, and :class:`Report` records each target but never
judges it (``ok`` is None, printed as "not judged"). A quick run fails only
when the script crashes.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
MIN_REPEAT = 3
QUICK = "--quick" in sys.argv[1:]  # a smoke run: see the module docstring


@dataclass
class Sample:
    """One measurement a side took itself: seconds plus anything else it saw."""

    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timing:
    """The rounds of one side: seconds per round, in round order."""

    samples: list[float] = field(default_factory=list)
    info: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    def info_median(self, key: str) -> float:
        """Median over rounds of a number a side reported in its :class:`Sample`."""
        return statistics.median(float(i[key]) for i in self.info)

    def info_max(self, key: str) -> float:
        return max(float(i[key]) for i in self.info)


def interleaved(
    sides: Mapping[str, Callable[[], Any]],
    *,
    repeat: int = MIN_REPEAT,
    warmup: bool = False,
    after_round: Callable[[], Any] | None = None,
) -> dict[str, Timing]:
    """Time every side once per round, alternating the order between rounds.

    Parameters
    ----------
    sides : mapping of name to callable
        The work to time; called with no argument. A callable returning a
        :class:`Sample` reports its own seconds (and info).
    repeat : int, default=3
        Rounds; at least 3 (a median and a range need them), or 1 on a
        ``--quick`` smoke run.
    warmup : bool, default=False
        Call every side once, untimed, before the first round (both warm);
        the default times every side cold-or-warm alike as it comes.
    after_round : callable, default=None
        Called, untimed, after every round (e.g. to delete written files).
    """
    least = 1 if QUICK else MIN_REPEAT
    if repeat < least:
        raise ValueError(f"repeat must be >= {least}, got {repeat}")
    names = list(sides)
    if warmup:
        for name in names:
            sides[name]()
    out = {name: Timing() for name in names}
    for i in range(repeat):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            t0 = time.perf_counter()
            got = sides[name]()
            wall = time.perf_counter() - t0
            if isinstance(got, Sample):
                out[name].samples.append(got.seconds)
                out[name].info.append(got.info)
            else:
                out[name].samples.append(wall)
                out[name].info.append({})
        if after_round is not None:
            after_round()
    return out


def best_of(fn: Callable[[], Any], *, repeat: int = 3) -> float:
    """Minimum wall time in seconds over ``repeat`` calls of ``fn``.

    Kept for single-sided figures (an absolute wall time, no baseline); a
    figure compared to a baseline uses :func:`interleaved`.
    """
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


def _r(x: float) -> float:
    return round(x, 4)


def _judged(ok: bool | None) -> bool | None:
    """A target's verdict; none on a ``--quick`` smoke run (its sizes are not
    the target's)."""
    return None if QUICK else ok


class Report:
    """Collect figures and write ``results/<name>.json`` plus a printed summary."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []

    def compare(
        self,
        what: str,
        ours: Timing,
        base: Timing,
        *,
        baseline: str,
        target: float | None = None,
        basis: str = "",
        note: str = "",
    ) -> float:
        """A paired figure: median and range of both sides and of the ratio.

        The ratio is the median of the per-round ratios ``ours[i] / base[i]``
        (rounds are paired); the target, if any, applies to that median.
        """
        if len(ours.samples) != len(base.samples):
            raise ValueError("paired timings need the same number of rounds")
        ratios = [o / b for o, b in zip(ours.samples, base.samples, strict=True)]
        r = statistics.median(ratios)
        self.rows.append(
            {
                "what": what,
                "kind": "paired",
                "repeats": len(ratios),
                "seconds": _r(ours.median),
                "seconds_range": [_r(ours.low), _r(ours.high)],
                "baseline": baseline,
                "baseline_seconds": _r(base.median),
                "baseline_seconds_range": [_r(base.low), _r(base.high)],
                "ratio": _sig(r),
                "ratio_range": [_sig(min(ratios)), _sig(max(ratios))],
                "target": target,
                "ok": None if target is None else _judged(r <= target),
                "basis": basis,
                "note": note,
            }
        )
        return r

    def timing(
        self,
        what: str,
        t: Timing,
        *,
        target: float | None = None,
        basis: str = "",
        note: str = "",
    ) -> float:
        """A single-sided wall time (median and range over its rounds)."""
        self.rows.append(
            {
                "what": what,
                "kind": "timing",
                "repeats": len(t.samples),
                "seconds": _r(t.median),
                "seconds_range": [_r(t.low), _r(t.high)],
                "target": target,
                "ok": None if target is None else _judged(t.median <= target),
                "basis": basis,
                "note": note,
            }
        )
        return t.median

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
        """An unpaired ratio of two single numbers (legacy; prefer :meth:`compare`)."""
        r = seconds / baseline_seconds
        self.rows.append(
            {
                "what": what,
                "kind": "ratio",
                "seconds": _r(seconds),
                "baseline": baseline,
                "baseline_seconds": _r(baseline_seconds),
                "ratio": round(r, 3),
                "target": target,
                "ok": None if target is None else _judged(r <= target),
                "note": note,
            }
        )
        return r

    def value(
        self,
        what: str,
        value: Any,
        *,
        unit: str,
        target: str = "",
        ok: bool | None = None,
        value_range: tuple[float, float] | None = None,
        note: str = "",
    ) -> None:
        """Any other figure (memory, rows/hour, a quality metric)."""
        row: dict[str, Any] = {
            "what": what,
            "kind": "value",
            "value": value,
            "unit": unit,
            "target": target,
            "ok": _judged(ok),
            "note": note,
        }
        if value_range is not None:
            row["value_range"] = [value_range[0], value_range[1]]
        self.rows.append(row)

    def write(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        meta = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "quick": QUICK,
        }
        (RESULTS / f"{self.name}.json").write_text(
            json.dumps({"meta": meta, "rows": self.rows}, indent=2) + "\n"
        )
        print(f"\n## {self.name}")
        if QUICK:
            print("(--quick: a smoke run at tiny sizes; targets are not judged)")
        for row in self.rows:
            print("- " + format_row(row))


def _sig(x: float) -> float:
    """Three significant digits (a ratio of 0.0031 keeps its 31)."""
    return float(f"{x:.3g}")


def _rng(pair: list[float], fmt: str) -> str:
    return f"[{format(pair[0], fmt)}-{format(pair[1], fmt)}]"


def format_row(row: Mapping[str, Any]) -> str:
    """One result row as a line of text (also used for the README table)."""
    status = {True: "ok", False: "MISSED", None: ""}[row.get("ok")]
    if row.get("ok") is None and row.get("target") and QUICK:
        status = "not judged"
    kind = row.get("kind", "ratio" if "ratio" in row else "value")
    note = f" {row['note']}" if row.get("note") else ""
    if kind == "paired":
        target = f" (target <= {row['target']}x)" if row.get("target") else ""
        # two decimals, or enough to show a ratio far below 0.01 (the peers)
        fmt = ".2f" if row["ratio_range"][0] >= 0.01 else ".4f"
        return (
            f"{row['what']}: {format(row['ratio'], fmt)}x "
            f"{_rng(row['ratio_range'], fmt)} "
            f"= {row['seconds']:.3f}s {_rng(row['seconds_range'], '.3f')} vs "
            f"{row['baseline']} {row['baseline_seconds']:.3f}s "
            f"{_rng(row['baseline_seconds_range'], '.3f')}, "
            f"median of {row['repeats']}{target} {status}{note}"
        )
    if kind == "timing":
        target = f" (target <= {row['target']}s)" if row.get("target") else ""
        return (
            f"{row['what']}: {row['seconds']:.3f}s {_rng(row['seconds_range'], '.3f')}"
            f", median of {row['repeats']}{target} {status}{note}"
        )
    if kind == "ratio":
        target = f" (target <= {row['target']}x)" if row.get("target") else ""
        return (
            f"{row['what']}: {row['seconds']:.3f}s vs {row['baseline']} "
            f"{row['baseline_seconds']:.3f}s -> {row['ratio']:.2f}x (single shot)"
            f"{target} {status}{note}"
        )
    rng = ""
    if row.get("value_range"):
        rng = " " + _rng(row["value_range"], "")
    return (
        f"{row['what']}: {row['value']}{rng} {row['unit']} {row.get('target', '')} "
        f"{status}{note}"
    )
