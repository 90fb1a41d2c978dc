"""Start-up time of `alcts-bot shell` to its first line of output (goal under 1 s), next to
a bare `python -c pass` in the same run.

    python -m bench.startup [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 1.0


def first_line_seconds(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.communicate(":quit\n", timeout=30)
    return elapsed


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BOT_DATABASE": str(Path(tmp) / "bench.sqlite3")}
        python = [first_line_seconds([sys.executable, "-c", "print()"], env) for _ in range(runs)]
        shell = [first_line_seconds([sys.executable, "-m", "bot", "shell"], env) for _ in range(runs)]
    base, median = statistics.median(python), statistics.median(shell)
    print(f"runs:                         {runs}")
    print(f"python -c print() (baseline)  {base * 1000:7.0f} ms median")
    print(f"alcts-bot shell first line    {median * 1000:7.0f} ms median, {max(shell) * 1000:.0f} ms max")
    print(f"ratio to bare python          {median / base:7.1f}x")
    print(f"goal < {GOAL_SECONDS:.0f} s: {'met' if median < GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
