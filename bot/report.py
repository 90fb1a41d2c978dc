"""`alcts-bot report`: engagement and follower figures as HTML, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from jinja2 import Environment, PackageLoader, select_autoescape

from storage.db import Database
from storage.reports import ReportQueries
from storage.runs import RunLog


@dataclass
class Report:
    brand: str
    generated_at: str
    days: int
    communities: list[dict[str, object]]
    daily: list[dict[str, object]]
    by_kind: list[dict[str, object]]
    unclean_stops: int = 0
    """Times the bot stopped without shutting down (kill -9, power cut) in the period; each
    may have lost up to half a second of engagement events still buffered."""


async def build_report(db: Database, *, days: int, brand: str, now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    queries = ReportQueries(db)
    since = now - timedelta(days=days)
    communities = await queries.communities()
    for row in communities:
        members = int(row["members"] or 0)  # type: ignore[call-overload]
        followers = int(row["followers"] or 0)  # type: ignore[call-overload]
        row["follow_share"] = round(100 * followers / members, 1) if members else 0.0
    return Report(
        brand=brand,
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        days=days,
        communities=communities,
        daily=await queries.daily_activity(since),
        by_kind=await queries.events_by_kind(since),
        unclean_stops=await RunLog(db).unclean_since(since),
    )


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(asdict(report), indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(
            out, ["day", "platform", "events", "active_members", "follows", "unfollows"]
        )
        writer.writeheader()
        writer.writerows(report.daily)
        return out.getvalue()
    env = Environment(loader=PackageLoader("bot", "templates"), autoescape=select_autoescape())
    return env.get_template("report.html").render(report=report)
