"""Start-up time of `alcts-bot shell` to its first line of output (goal under 1 s), next to
a bare `python -c print()` in paired rounds (the two alternate which goes first).

    python -m bench.startup [--rounds 5] [--json]

Figure: startup.shell_first_line, the median of the shell's times; the baseline is the
median of bare python's; the ratio, the median of per-round ratios. The goal is absolute.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import alternate, arguments, emit, paired

GOAL = "value < 1000"  # ms


def first_line_ms(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.communicate(":quit\n", timeout=30)
    return elapsed * 1000


async def run(rounds: int, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BOT_DATABASE": str(Path(tmp) / "bench.sqlite3")}
        first_line_ms([sys.executable, "-m", "bot", "shell"], env)  # warm: the database made, files cached

        async def python(r: int) -> float:
            return first_line_ms([sys.executable, "-c", "print()"], env)

        async def shell(r: int) -> float:
            return first_line_ms([sys.executable, "-m", "bot", "shell"], env)

        pairs = await alternate(rounds, python, shell)
    bare, bot = [p for p, _ in pairs], [s for _, s in pairs]
    emit([paired("startup.shell_first_line", "ms", bot, bare, GOAL)], as_json,
         [f"{rounds} paired rounds; shell: {' '.join(f'{x:.0f}' for x in bot)} ms; "
          f"python -c print(): {' '.join(f'{x:.0f}' for x in bare)} ms"])  # fmt: skip


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    asyncio.run(run(args.rounds, args.json))


if __name__ == "__main__":
    main()
