"""bot/heap.py: the collector settled once start-up is done (checked in a process of its
own: freezing the test process would keep every test's garbage for good)."""

import subprocess
import sys

SCRIPT = """
import gc
from bot import heap
before = gc.get_threshold()
heap.settle()
print(before[0], gc.get_threshold()[0], gc.get_freeze_count() > 0)
"""


def test_settle_freezes_start_up_and_collects_the_young_less_often() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["700", "10000", "True"]

