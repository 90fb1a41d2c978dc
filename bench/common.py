"""What every benchmark shares: the figure contract, paired rounds, the human table.

**The contract** (DESIGN.md): with `--json`, one JSON object per figure, exactly
`{"name", "value", "unit", "baseline", "ratio", "goal"}`:

- `value`: what the bot did (the median over rounds, unless the name says otherwise);
- `baseline`: the same measure of the floor (bare library, raw SQLite...) in the same run,
  or null when there is none;
- `ratio`: for paired rounds, the median of the per-round ratios value/baseline (so not
  always `value / baseline` exactly); else value/baseline; null without a baseline;
- `goal`: null, or a string `"<ratio|value> <op> <number>"` with op one of `>= > <= < ==`,
  e.g. `"ratio >= 0.8"` (keep at least 0.8 of the floor's throughput) or `"value < 3000"`
  (an absolute bound, in the figure's unit). `met()` evaluates it.

**Paired rounds.** The machine is shared, so load drifts; a floor measured at one moment and
a load at another compare nothing. Each round runs the floor and the load back to back,
alternating which goes first, and the figure's ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import statistics
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

KEYS = ("name", "value", "unit", "baseline", "ratio", "goal")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
}  # fmt: skip

T = TypeVar("T")
U = TypeVar("U")


def parse_goal(goal: str) -> tuple[str, str, float]:
    """`"ratio >= 0.8"` -> ("ratio", ">=", 0.8); ValueError for anything else."""
    parts = goal.split()
    if len(parts) != 3 or parts[0] not in ("ratio", "value") or parts[1] not in OPS:
        raise ValueError(f"a goal reads '<ratio|value> <op> <number>', not {goal!r}")
    return parts[0], parts[1], float(parts[2])


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: str | None = None

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "value": _round(self.value), "unit": self.unit,
                "baseline": _round(self.baseline), "ratio": _round(self.ratio, 3), "goal": self.goal}  # fmt: skip

    def met(self) -> bool | None:
        """Whether the goal is met; None without a goal (or without what it needs)."""
        return met(self.json())


def met(item: dict[str, Any]) -> bool | None:
    if not item.get("goal"):
        return None
    what, op, bound = parse_goal(item["goal"])
    measured = item.get(what)
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return None
    return OPS[op](float(measured), bound)


def figure(name: str, value: float | None, unit: str, baseline: float | None = None, *,
           ratio: float | None = None, goal: str | None = None) -> Figure:  # fmt: skip
    """A figure; without `ratio`, value/baseline (when both are there)."""
    if goal is not None:
        parse_goal(goal)
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    return Figure(name, value, unit, baseline, ratio, goal)


def _round(x: float | None, digits: int = 4) -> float | None:
    if x is None:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    magnitude = abs(x)
    if magnitude >= 100:
        return round(x, 1)
    return round(x, digits)


# -- statistics and pairing ------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank (0.99 of 1,000 samples: the 990th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def ratios(loads: Sequence[float], floors: Sequence[float]) -> list[float]:
    return [load / floor if floor else float("nan") for load, floor in zip(loads, floors, strict=True)]


def paired(name: str, unit: str, loads: Sequence[float], floors: Sequence[float], goal: str | None = None) -> Figure:
    """A figure from paired rounds: medians of each side, the median of per-round ratios."""
    return figure(name, median(loads), unit, median(floors), ratio=median(ratios(loads, floors)), goal=goal)


async def alternate(rounds: int, floor: Callable[[int], Awaitable[T]],
                    load: Callable[[int], Awaitable[U]]) -> list[tuple[T, U]]:  # fmt: skip
    """`rounds` pairs (floor, load), run back to back; even rounds run the floor first."""
    pairs = []
    for r in range(rounds):
        if r % 2 == 0:
            f = await floor(r)
            lo = await load(r)
        else:
            lo = await load(r)
            f = await floor(r)
        pairs.append((f, lo))
    return pairs


# -- output ------------------------------------------------------------------------------------


def emit(figures: Sequence[Figure], as_json: bool, notes: Sequence[str] = ()) -> None:
    """The notes and a table of the figures; with `as_json`, one JSON object per figure on
    standard output and the notes and table on standard error (for the person watching)."""
    human = sys.stderr if as_json else sys.stdout
    for line in notes:
        print(line, file=human)
    print(table(figures), file=human, flush=True)
    if as_json:
        for item in figures:
            print(json.dumps(item.json()), flush=True)


def table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "goal", "")]
    for f in figures:
        verdict = {True: "met", False: "NOT met", None: ""}[f.met()]
        rows.append((f.name, _show(f.value, f.unit), _show(f.baseline, f.unit), _show(f.ratio, ""),
                     f.goal or "", verdict))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _show(x: float | None, unit: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    return f"{text} {unit}".strip()


def arguments(description: str, **defaults: Any) -> argparse.ArgumentParser:
    """A parser with the options every benchmark takes: --json and --rounds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    parser.add_argument("--rounds", type=int, default=defaults.get("rounds", 5),
                        help="rounds (which contestant goes first changes from round to round)")  # fmt: skip
    return parser


def history_arguments(parser: argparse.ArgumentParser, default_events: int = 1_000_000) -> None:
    """--history PATH (a database of prior events, built by bench.history; copied, never
    written) or --history-events N (build one here first; 0: no history variant)."""
    parser.add_argument("--history", type=str, default=None, help="a database built by bench.history")
    parser.add_argument("--history-events", type=int, default=default_events,
                        help="without --history: build a history of this many events first (0: skip)")  # fmt: skip
