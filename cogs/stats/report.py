"""`alcts-bot report`: the organizers' report as one self-contained HTML file (charts
embedded as PNG data, no network), CSV or JSON, with the same numbers in each.

Scopes: every community combined, then each community (or one, with `--community`).
Days are each community's local days; the combined scope uses BOT_TIMEZONE's day.

CSV columns (one row per scope and day): scope, day, members, followers, follow_rate
(0-1), follows, unfollows (changes of state that day), active_members (DAU).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.model import Community
from cogs.stats.charts import activity_chart, content_chart, follow_rate_chart
from cogs.stats.metrics import Metrics, compute
from storage.db import Database
from storage.growth import GrowthQueries
from storage.runs import RunLog
from storage.settings import SettingsStore

CSV_COLUMNS = ["scope", "day", "members", "followers", "follow_rate", "follows", "unfollows", "active_members"]


@dataclass
class Report:
    brand: str
    generated_at: str
    days: int
    since: str
    until: str
    scopes: list[Metrics]
    social: list[dict[str, object]]
    unclean_stops: int


class Progress:
    """A one-line progress bar on a terminal, shown only once the work passes a second."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.done, self.started = max(total, 1), 0, time.monotonic()
        self.stream = stream or sys.stderr
        self.shown = False

    def step(self, what: str) -> None:
        self.done += 1
        if not self.stream.isatty() or time.monotonic() - self.started < 1.0:
            return
        filled = round(30 * self.done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {what[:30]:<30}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 75 + "\r")
            self.stream.flush()


async def build_report(
    db: Database, *, days: int, brand: str, default_zone: str, now: datetime, community: str | None = None,
) -> Report:  # fmt: skip
    """Every figure for the last `days` local days up to `now` (the caller's clock).
    `community` (an id) limits the report to that community. Raises ValueError for an
    unknown community."""
    queries = GrowthQueries(db)
    await db.flush()
    known = await queries.communities()
    chosen = [key for key in known if community is None or key[1] == community]
    if community is not None and not chosen:
        raise ValueError(f"there is no community {community!r} in this database; known: "
                         f"{', '.join(k[1] for k in known) or 'none yet'}")  # fmt: skip
    settings = SettingsStore(db)
    progress = Progress(len(chosen) + 1)
    scopes = []
    until = now.astimezone(ZoneInfo(default_zone)).date()
    since = until - timedelta(days=days - 1)
    if community is None:
        scopes.append(await compute(queries, None, since, until, "all communities", default_zone))
        progress.step("all communities")
    for platform, community_id in chosen:
        zone = (await settings.get_all(Community(platform, community_id))).get("timezone") or default_zone
        local_until = now.astimezone(ZoneInfo(zone)).date()
        scopes.append(await compute(queries, (platform, community_id), local_until - timedelta(days=days - 1),
                                    local_until, f"{platform}:{community_id}", zone))  # fmt: skip
        progress.step(f"{platform}:{community_id}")
    progress.close()
    return Report(
        brand=brand, generated_at=now.strftime("%Y-%m-%d %H:%M UTC"), days=days, since=since.isoformat(),
        until=until.isoformat(), scopes=scopes, social=await queries.social(since, until),
        unclean_stops=await RunLog(db).unclean_since(datetime.combine(since, datetime.min.time(), UTC)),
    )  # fmt: skip


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(asdict(report), indent=2, default=_plain) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for scope in report.scopes:
            for day in scope.days:
                writer.writerow([scope.scope, day.day, day.members, day.followers, day.follow_rate, day.follows,
                                 day.unfollows, day.active])  # fmt: skip
        return out.getvalue()
    charts = {scope.scope: _charts(scope) for scope in report.scopes}
    env = Environment(loader=PackageLoader("cogs.stats", "templates"), autoescape=select_autoescape())
    return env.get_template("report.html").render(report=report, charts=charts, percent=_percent)


def _charts(scope: Metrics) -> dict[str, str]:
    def data(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode()

    return {
        "follow_rate": data(follow_rate_chart(scope, f"Follow rate: {scope.scope}")),
        "activity": data(activity_chart(scope, f"Active members and followers: {scope.scope}")),
        "content": data(content_chart(scope, f"Engagement by feature: {scope.scope}")),
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
