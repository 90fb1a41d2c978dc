"""Every benchmark, within five minutes: `python -m bench.all [--json] [--history-events N]`.

First a database holding 1 million prior events is built, once for the run
(`bench.history`, about a minute). Copies of it serve dispatch's and polls' large-database
variants (beside their empty-database ones), the report, and the bot of the Discord and
Slack vote benchmarks (a bot that has run for a year). Then each benchmark runs in a process of its own, one
after the other (two at once would time each other), at the sizes below, which fit the
budget on a 2-core machine. The click benchmarks take 9 rounds: one round's ratio
there moves by 0.2-0.5 on this machine, and the median of 9 moves less than that of 5.
Each of their rounds also times the platform's adapter alone, in front of a core that
answers at once and stores nothing: as near the floor as the whole bot could come
(bench/clicks.py).

With `--json`, standard output carries one JSON object per figure, `{"name", "value",
"unit", "baseline", "ratio", "goal"}` (see bench/common.py), ending with each benchmark's
running time and `bench.all.seconds` (goal: within 300 s); the benchmarks' tables go to
standard error. Without it, the tables. A benchmark that fails or overruns is reported on
standard error, its running time is null, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, figure

RUNS: list[tuple[str, list[str], bool]] = [  # module, arguments, takes --history
    ("bench.startup", ["--rounds", "5"], False),
    ("bench.dispatch", ["--events", "20000", "--rounds", "7"], True),
    ("bench.polls", ["--votes", "1000", "--rounds", "7"], True),
    ("bench.discord_clicks", ["--clicks", "1000", "--rounds", "9", "--seconds", "3"], True),
    ("bench.slack_clicks", ["--clicks", "1000", "--rounds", "9", "--seconds", "3"], True),
    ("bench.jobs", ["--rounds", "3", "--feeds", "100"], False),
    ("bench.report", [], True),
]
EACH_SECONDS = 150
BUDGET_SECONDS = 300


def run(module: str, args: list[str], as_json: bool) -> tuple[float | None, str]:
    """Run one benchmark; returns (its seconds or None if it failed, its standard output)."""
    command = [sys.executable, "-m", module, *args, *(["--json"] if as_json else [])]
    started = time.monotonic()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=None if as_json else subprocess.PIPE,
                              text=True, timeout=EACH_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        print(f"{module}: over {EACH_SECONDS} s, stopped", file=sys.stderr)
        return None, exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    if done.returncode != 0:
        print(f"{module}: exit {done.returncode}\n{(done.stderr or '')[-3000:]}", file=sys.stderr)
        return None, done.stdout
    return time.monotonic() - started, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    parser.add_argument("--history-events", type=int, default=1_000_000,
                        help="prior events in the large database (0: no large-database variants)")  # fmt: skip
    parser.add_argument("--only", default="", help="a comma-separated subset, e.g. bench.dispatch,bench.polls")
    options = parser.parse_args()
    only = {m.strip() for m in options.only.split(",") if m.strip()}
    human = sys.stderr if options.json else sys.stdout
    started = time.monotonic()
    times: list[Figure] = []
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.sqlite3"
        plan = [entry for entry in RUNS if not only or entry[0] in only]
        if options.history_events > 0 and any(takes for _, _, takes in plan):
            plan.insert(0, ("bench.history", ["--events", str(options.history_events), "--out", str(history)], False))
        for module, args, takes_history in plan:
            if takes_history:
                args = [*args, *(["--history", str(history)] if options.history_events > 0 else ["--history-events", "0"])]
            print(f"== {module} {' '.join(args)}", file=human, flush=True)
            seconds, out = run(module, args, options.json)
            if seconds is None:
                failed += 1
                if module == "bench.history":
                    options.history_events = 0  # the others run without their large-database variants
            sys.stdout.write(out)
            sys.stdout.flush()
            times.append(figure(f"{module}.seconds", seconds, "s"))
            print(f"== {module}: {'failed' if seconds is None else f'{seconds:.1f} s'}", file=human, flush=True)
    total = figure("bench.all.seconds", time.monotonic() - started, "s", goal=f"value <= {BUDGET_SECONDS}")
    if options.json:
        for item in [*times, total]:
            print(json.dumps(item.json()))
    else:
        print(f"\nbench.all: {total.value:.0f} s in all ({'within' if total.met() else 'over'} {BUDGET_SECONDS} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
