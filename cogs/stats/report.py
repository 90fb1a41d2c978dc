"""`alcts-bot report`: the organizers' report as one self-contained HTML file (charts
embedded as PNG data, no network), CSV or JSON, with the same numbers in each.

Scopes: every community combined, then each community (or one, with `--community`).
Days are each community's local days; the combined scope uses BOT_TIMEZONE's day.

`csv` columns (one row per scope and day): scope, day, members, followers, follow_rate
(0-1), follows, unfollows (changes of state that day), active_members (DAU).

`csv-summary` holds every other number of the JSON, one per row (a long table): scope,
metric, key, value. Metrics: followers_start, followers_end, net_growth, growth_rate,
members_end, follow_rate_end, reference_rate, dau, wau, mau, new_members,
retained_week_one, retention_week_one (key empty); events, per_active_member,
items_offered, per_item, first_engaged, followed_within_14_days, conversion (key: the
feature); hour_of_week (key: e.g. `Tue 14:00` local, value: events); top_member (key: the
name, value: events); closed_poll_voters (key: `#id question`); and, with the scope
`other platforms`, followers and change (key: `network handle`). Shares are 0-1; an empty
value means not defined (a rate from zero).
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
from bot.text import spreadsheet_cell
from cogs.stats.charts import activity_chart, content_chart, follow_rate_chart
from cogs.stats.metrics import Metrics, compute
from storage.db import Database
from storage.growth import GrowthQueries
from storage.runs import RunLog
from storage.settings import SettingsStore

CSV_COLUMNS = ["scope", "day", "members", "followers", "follow_rate", "follows", "unfollows", "active_members"]
SUMMARY_COLUMNS = ["scope", "metric", "key", "value"]
SCOPE_FIGURES = ("followers_start", "followers_end", "net_growth", "growth_rate", "members_end", "follow_rate_end",
                 "reference_rate", "dau", "wau", "mau", "new_members", "retained_week_one", "retention_week_one")
FEATURE_FIGURES = ("events", "per_active_member", "items_offered", "per_item", "first_engaged",
                   "followed_within_14_days", "conversion")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FORMATS = ("html", "csv", "csv-summary", "json")


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
    `community` limits the report to one community, given as its id, `platform:id` (as the
    report names scopes) or its name as last seen. Raises ValueError for an unknown one."""
    queries = GrowthQueries(db)
    await db.flush()
    known = await queries.communities()
    chosen = known if community is None else await _matching(db, known, community)
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


async def _matching(db: Database, known: list[tuple[str, str]], given: str) -> list[tuple[str, str]]:
    wanted = given.strip().casefold()
    by_id = [key for key in known if wanted in (key[1].casefold(), f"{key[0]}:{key[1]}".casefold())]
    if by_id:
        return by_id
    names = await db.fetchall("SELECT platform, community_id, name FROM community_names")
    return [key for key in known if any((r[0], r[1]) == key and (r[2] or "").casefold() == wanted for r in names)]


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(asdict(report), indent=2, default=_plain) + "\n"
    if fmt == "csv-summary":
        return _summary_csv(report)
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


def _summary_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SUMMARY_COLUMNS)

    def row(scope: str, metric: str, key: str, value: object) -> None:  # names come from members: no formulas
        writer.writerow([spreadsheet_cell(scope), metric, spreadsheet_cell(key), "" if value is None else value])

    for scope in report.scopes:
        for name in SCOPE_FIGURES:
            row(scope.scope, name, "", getattr(scope, name))
        for feature in scope.features:
            for name in FEATURE_FIGURES:
                row(scope.scope, name, feature.feature, getattr(feature, name))
        for hour, events in enumerate(scope.hours_of_week):
            if events:
                row(scope.scope, "hour_of_week", f"{DAY_NAMES[hour // 24]} {hour % 24:02d}:00", events)
        for name, events in scope.top_members:
            row(scope.scope, "top_member", name, events)
        for poll in scope.closed_polls:
            row(scope.scope, "closed_poll_voters", f"#{poll['id']} {poll['question']}", poll["voters"])
    for account in report.social:
        key = f"{account['network']} {account['handle']}".strip()
        row("other platforms", "followers", key, account["followers"])
        row("other platforms", "change", key, account["change"])
    return out.getvalue()


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
