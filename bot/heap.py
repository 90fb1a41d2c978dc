"""The garbage collector, set for a long-running bot: call `settle()` once, from the
process's entry point (`alcts-bot run`), after start-up.

Why: start-up makes objects that live as long as the process (the cogs, the trivia bank,
the platform libraries' clients and pydantic schemas), and CPython's full collections
walk every one of them: 40-60 ms pauses, about one a second under a burst of clicks
(measured in bench.slack_clicks: 13 full collections, 760 ms in all). An interaction then
allocates a few hundred short-lived objects, so CPython's default young-generation
threshold (700 allocations) collects several times per interaction, mostly for nothing.

One other caller, on purpose: the benchmarks' fake Discord and Slack (bench/fakes.py), an
instrument that keeps every request it saw for good, settle before each burst, so that a
burst is not timed through the collector walking the bursts before it.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # allocations between young collections (CPython's default: 700)
OLDER = 20  # young collections between middle ones, and middle ones between full ones (default 10, 10)


def settle() -> None:
    """Collect once, then move everything alive into the permanent generation
    (`gc.freeze()`: never walked again), and collect the young less often. Process-wide:
    not for a library, a test or a console session, whose objects would then never be
    collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, OLDER, OLDER)
