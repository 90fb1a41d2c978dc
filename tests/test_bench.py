"""The benchmarks' contract (DESIGN.md: `python -m bench.all [--json]`): with --json, one
JSON object per figure with exactly name, value, unit, baseline, ratio and goal, the goal
a string the figure can be checked against. Tiny sizes: this checks that the benchmarks
run and speak the contract, never how fast anything is (no timed assertions)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import KEYS, figure, met, paired, parse_goal, percentile

ROOT = Path(__file__).resolve().parents[1]


def run_json(*args: str, timeout: float = 150) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", *args, "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, done.stderr[-3000:]
    items = [json.loads(line) for line in lines]
    for item in items:
        assert tuple(item) == KEYS, item
        assert isinstance(item["name"], str) and isinstance(item["unit"], str)
        for key in ("value", "baseline", "ratio"):
            assert item[key] is None or isinstance(item[key], int | float), item
        if item["goal"] is not None:
            parse_goal(item["goal"])
            assert met(item) is not None, item  # a goal comes with what it is checked against
        if item["baseline"] is None:
            assert item["ratio"] is None, item
    return items


def names(items: list[dict[str, object]]) -> set[str]:
    return {str(item["name"]) for item in items}


def test_figures_and_goals() -> None:
    assert parse_goal("ratio >= 0.8") == ("ratio", ">=", 0.8)
    for bad in ("ratio >= ", ">= 0.8", "speed >= 1", "ratio => 1"):
        with pytest.raises(ValueError):
            parse_goal(bad)
    slow = figure("x", 40.0, "votes/s", 100.0, goal="ratio >= 0.8")
    assert slow.ratio == pytest.approx(0.4) and slow.met() is False
    assert figure("y", 250.0, "ms", goal="value < 1000").met() is True
    assert figure("z", 1.0, "s").met() is None
    assert tuple(slow.json()) == KEYS
    # paired rounds: the ratio is the median of per-round ratios, not a ratio of medians
    rounds = paired("p", "votes/s", [10, 30, 40], [20, 30, 100], "ratio >= 0.5")
    assert rounds.value == 30 and rounds.baseline == 30 and rounds.ratio == pytest.approx(0.5)
    assert percentile(list(range(1, 1001)), 0.99) == 990
    assert math.isnan(percentile([], 0.99))


def test_dispatch_and_polls_on_a_small_history(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    built = run_json("bench.history", "--events", "3000", "--days", "3", "--out", str(history))
    assert {"history.build", "history.events"} <= names(built)
    dispatch = run_json("bench.dispatch", "--events", "300", "--rounds", "2", "--history", str(history))
    assert {"dispatch.events_per_s", "dispatch.events_per_s_vs_bare_logger", "dispatch.bare_logger_vs_raw",
            "dispatch.events_per_s_3k", "engagement.write_cost_3k"} == names(dispatch)
    polls = run_json("bench.polls", "--votes", "30", "--rounds", "1", "--history", str(history))
    assert {"polls.votes_per_s", "polls.votes_per_s_3k", "polls.votes_stored"} <= names(polls)
    stored = next(item for item in polls if item["name"] == "polls.votes_stored")
    assert stored["ratio"] == 1


@pytest.mark.parametrize("module", ["bench.discord_clicks", "bench.slack_clicks"])
def test_clicks_through_the_fakes_in_their_own_process(module: str) -> None:
    items = run_json(module, "--clicks", "20", "--rounds", "1", "--rate", "50", "--seconds", "0.2")
    prefix = module.removeprefix("bench.").split("_")[0]
    assert {f"{prefix}.vote_burst", f"{prefix}.votes_answered", f"{prefix}.votes_stored",
            f"{prefix}.adapter_only.vote_burst", f"{prefix}.adapter_only.votes_answered"} <= names(items)
    by_name = {item["name"]: item for item in items}
    for name in (f"{prefix}.votes_answered", f"{prefix}.votes_stored", f"{prefix}.adapter_only.votes_answered"):
        assert by_name[name]["ratio"] == 1  # every vote, exactly once
    assert by_name[f"{prefix}.adapter_only.vote_burst"]["goal"] is None  # a ceiling, not a goal
    assert by_name[f"{prefix}.votes_stored"]["value"] == by_name[f"{prefix}.votes_answered"]["value"]


def test_startup() -> None:
    (item,) = run_json("bench.startup", "--rounds", "1")
    assert item["name"] == "startup.shell_first_line" and item["goal"] == "value < 1000"


def test_the_bare_logger_writes_every_row_it_takes_one_a_loop_turn() -> None:
    """bench.dispatch's bare logger is a floor only if it does the work: every row stored
    (a last, partial batch too), each waiting for its own turn of the loop, as the core's
    events do. Its connection is a stand-in that never yields, so every turn counted is
    the logger's own."""
    import asyncio
    from types import SimpleNamespace

    from bench import dispatch

    class Connection:
        def __init__(self) -> None:
            self.rows: list[object] = []

        async def execute(self, sql: str) -> None:
            return None

        async def executemany(self, sql: str, rows: list[object]) -> None:
            self.rows.extend(rows)

    async def go() -> tuple[int, int]:
        raw = Connection()
        side = SimpleNamespace(clock=dispatch.ManualClock(dispatch.START), raw=raw)
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count_turns())
        await asyncio.sleep(0)
        turns = 0
        await dispatch.logger_round(side, 1234)  # type: ignore[arg-type]
        counter.cancel()
        return len(raw.rows), turns

    rows, turns = asyncio.run(go())
    assert rows == 1234
    assert 1234 <= turns <= 1236
