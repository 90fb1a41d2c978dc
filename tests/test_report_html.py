"""The HTML report, opened in headless Chromium: the charts are really drawn.

The report of a small history is rendered to a file, Chromium takes a screenshot, and the
screenshot's pixels are counted: the follow-rate line's blue (#1f6fb4) and the 25%
reference line's orange (#d9731f). The same page with the follow-rate chart taken out is
the control, so the blue of headings and of the other charts does not count.

Chromium is Debian's `chromium` package (.ci/run installs it). Without it the test is
skipped locally and fails in CI (CI is set).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cogs.stats.report import build_report, render
from storage.db import Database
from tests.test_growth import History, local

BLUE, ORANGE = (0x1F, 0x6F, 0xB4), (0xD9, 0x73, 0x1F)
FOLLOW_RATE_IMG = re.compile(r'<img alt="Follow rate per day[^"]*" src="data:image/png;base64,[^"]+">')


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is required in CI (Debian's chromium package; .ci/run installs it)")
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def screenshot(browser: str, page: Path, png: Path, profile: Path) -> np.ndarray:
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1200,3000", page.as_uri()],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert png.exists(), f"no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    with Image.open(png) as image:
        assert image.size == (1200, 3000)
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def pixels(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """Pixels within `tolerance` of `colour` on every channel (antialiasing blurs edges)."""
    return int((np.abs(image - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2).sum())


async def small_history(db: Database) -> None:
    """Thirty days of one community: 40 members, followers from 4 (10%) up to 13 (32.5%)."""
    h = History(db, ("console", "local"))
    await h.members(40, local("2026-11-01 08:00"))
    follower = 0
    for day in range(30):
        when = local("2026-11-01 12:00") + timedelta(days=day)
        for n in range(4):
            h.event(when + timedelta(minutes=n), f"m{(day + n) % 40}")
        if day == 0 or day % 3 == 0:
            for _ in range(4 if day == 0 else 1):
                follower += 1
                await h.follow(when, f"m{follower}")
        await h.snapshot(when + timedelta(hours=10))


async def test_the_html_report_shows_its_charts_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium()
    db = Database(tmp_path / "report.sqlite3")
    await db.open()
    try:
        await small_history(db)
        now = local("2026-11-30 20:00")
        report = await build_report(db, days=30, brand="ALCTS", default_zone="America/Chicago", community="local",
                                    now=now)  # fmt: skip
    finally:
        await db.close()
    scope = report.scopes[0]
    assert [s.scope for s in report.scopes] == ["console:local"] and scope.since == date(2026, 11, 1).isoformat()
    assert (scope.followers_start, scope.followers_end, scope.members_end) == (0, 13, 40)  # before the window: 0
    html = render(report, "html")
    assert len(FOLLOW_RATE_IMG.findall(html)) == 1
    page, control = tmp_path / "report.html", tmp_path / "control.html"
    page.write_text(html, encoding="utf-8")
    control.write_text(FOLLOW_RATE_IMG.sub('<img alt="" src="">', html), encoding="utf-8")

    shot = screenshot(browser, page, tmp_path / "report.png", tmp_path / "profile")
    without = screenshot(browser, control, tmp_path / "control.png", tmp_path / "profile")

    # the follow-rate line (2 px wide, about 800 px long) and its legend sample: hundreds of
    # blue pixels that the page without the chart does not have
    blue = pixels(shot, BLUE) - pixels(without, BLUE)
    assert blue > 1000, f"follow-rate line not drawn: {blue} blue pixels"
    # the 25% line: dashed, 1.5 px, across the plot, and its legend sample; nowhere else
    orange = pixels(shot, ORANGE)
    assert orange > 500, f"reference line not drawn: {orange} orange pixels"
    assert pixels(without, ORANGE) < 20
