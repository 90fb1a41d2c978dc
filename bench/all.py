"""Every benchmark, within about five minutes: `python -m bench.all [--json]`.

Each benchmark runs in its own process with sizes small enough for the budget. With
`--json`, benchmarks that report figures as JSON pass them through (one object per figure:
name, value, unit, baseline, ratio, goal); the others, which print a table, are reported as
one figure each, their running time, with their text on standard error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

RUNS: list[tuple[str, list[str], bool]] = [  # module, arguments, speaks JSON
    ("bench.startup", ["--runs", "3"], False),
    ("bench.dispatch", ["--events", "20000"], False),
    ("bench.polls", ["--votes", "1000"], False),
    ("bench.discord_clicks", ["--clicks", "500", "--rounds", "1"], False),
    ("bench.slack_clicks", ["--clicks", "500", "--rounds", "1", "--seconds", "3"], False),
    ("bench.jobs", ["--rounds", "1", "--feeds", "100"], True),
    ("bench.report", ["--events", "200000"], True),
]
EACH_SECONDS = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    args = parser.parse_args()
    failed = 0
    for module, extra, speaks_json in RUNS:
        command = [sys.executable, "-m", module, *extra, *(["--json"] if args.json and speaks_json else [])]
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=EACH_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"{module}: over {EACH_SECONDS} s, stopped", file=sys.stderr)
            failed += 1
            continue
        took = time.monotonic() - started
        if done.returncode != 0:
            print(f"{module}: exit {done.returncode}\n{done.stderr[-2000:]}", file=sys.stderr)
            failed += 1
            continue
        if not args.json:
            print(f"== {module} ({took:.1f} s)\n{done.stdout}")
        elif speaks_json:
            sys.stdout.write(done.stdout)
        else:
            sys.stderr.write(f"== {module}\n{done.stdout}")
            print(json.dumps({"name": f"{module} run time", "value": round(took, 2), "unit": "s",
                              "baseline": None, "ratio": None, "goal": None}))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
