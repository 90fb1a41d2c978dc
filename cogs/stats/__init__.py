"""Growth: follower and engagement figures for organizers, each member's own activity,
the daily community snapshot, and raw-event retention.

Timers: `stats.snapshot` (hourly series) records each community's members and followers
for its local day (idempotent: the day's row is replaced) and deletes raw events older
than `stats_raw_days` (the rollups keep every figure); `stats.social` (daily) fetches the
follower counts of the association's accounts on other networks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from bot.app import Bot, Context
from bot.cards import Card, Image, notice
from bot.cards import Field as CardField
from bot.clock import Clock
from bot.commands import Args, command, timer
from bot.community import CommunityConfig
from bot.config import Setting, Settings
from bot.errors import UsageError
from bot.model import Community, Member, Role
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from cogs.stats.charts import content_chart, follow_rate_chart
from cogs.stats.metrics import REFERENCE_RATE, Metrics, compute
from cogs.stats.social import (
    Fetch,
    accounts_lines,
    add_account,
    record_count,
    refresh_again,
    refresh_all,
    remove_account,
)
from cogs.stats.social_names import parse_day
from storage.growth import GrowthQueries
from storage.social import SocialStore

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = timedelta(hours=1)


def raw_days(value: str) -> str:
    if not (value.isascii() and value.isdigit()) or not 30 <= int(value) <= 3650:  # ASCII digits only
        raise ValueError("stats_raw_days is whole days from 30 to 3650, e.g. 365")
    return str(int(value))


class AccountArgs(Args):
    positional = ("action", "network", "handle")
    action: Literal["list", "add", "remove"] = Field("list", description="list the accounts, add one, or remove one")
    network: str | None = Field(None, max_length=20, description="for add: mastodon or bluesky")
    handle: str | None = Field(None, max_length=200, description="for add: the account, like alcts@mastodon.social")


class RecordArgs(Args):
    positional = ("network", "count")
    network: str = Field(max_length=20, description="the network, like facebook, x, instagram or linkedin")
    count: str = Field(max_length=20, description="how many followers the account has, like 1200")
    date: str | None = Field(None, max_length=20, description="the day it was counted, like 2026-03-01 (default: today)")
    handle: str = Field("", max_length=200, description="the account, when the association has more than one there")


class DaysArgs(Args):
    positional = ("days",)
    days: int = Field(90, ge=7, le=730, description="how many days back to look")


class EngagementArgs(Args):
    positional = ("days",)
    days: int = Field(30, ge=7, le=730, description="how many days back to look")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


class Stats:
    """Follower and engagement growth"""

    name = "stats"
    settings = (
        Setting("stats_raw_days", "days raw engagement events are kept before only daily totals remain "
                                  "(unset: kept for good)", raw_days),  # fmt: skip
    )

    def __init__(
        self, queries: GrowthQueries, social: SocialStore, scheduler: Scheduler, clock: Clock, config: CommunityConfig,
        fetch: Fetch, settings: Settings,
    ) -> None:  # fmt: skip
        self.queries = queries
        self.social = social
        self.fetch = fetch
        self.process_settings = settings
        self.scheduler = scheduler
        self.clock = clock
        self.config = config

    # -- organizers ------------------------------------------------------------------------------

    @command("stats growth", args=DaysArgs, role=Role.ORGANIZER, help="Followers and follow rate over time, with a chart")
    async def growth(self, ctx: Context, args: DaysArgs) -> Card:
        metrics = await self._metrics(ctx, args.days)
        chart = await asyncio.to_thread(follow_rate_chart, metrics, f"Follow rate, last {args.days} days")
        growth = "-" if metrics.growth_rate is None else f"{metrics.growth_rate * 100:+.1f}%"
        fields = (
            CardField("Followers", f"{metrics.followers_end} of {metrics.members_end} members ({percent(metrics.follow_rate_end)})"),
            CardField("Net growth", f"{metrics.net_growth:+d} ({growth})"),
            CardField("The study's reference", f"{percent(metrics.reference_rate)} of members following"),
        )
        return Card(title=f"Growth, {metrics.since} to {metrics.until}", fields=fields,
                    image=Image("follow-rate.png", chart, "follow rate per day with the 25% reference line"),
                    footer="Days are this community's local days. alcts-bot report has the full picture.", ephemeral=True)  # fmt: skip

    @command("stats engagement", args=EngagementArgs, role=Role.ORGANIZER, help="Active members, retention, content mix")
    async def engagement(self, ctx: Context, args: EngagementArgs) -> Card:
        metrics = await self._metrics(ctx, args.days)
        chart = await asyncio.to_thread(content_chart, metrics, f"Engagement by feature, last {args.days} days")
        mix = "\n".join(
            f"{f.feature}: {f.events} events, {f.per_active_member} per active member"
            + (f", {f.per_item} per item offered" if f.per_item is not None else "")
            + (f"; {percent(f.conversion)} of first-timers followed within 14 days" if f.conversion is not None else "")
            for f in metrics.features
        )  # fmt: skip
        fields = (
            CardField("Active members", f"{metrics.dau} today, {metrics.wau} this week, {metrics.mau} in 28 days"),
            CardField("Week-one retention", f"{percent(metrics.retention_week_one)} of {metrics.new_members} new members"),
            CardField("By feature", mix or "-", inline=False),
            CardField("Busiest hours", ", ".join(metrics.best_hours) or "-"),
        )
        return Card(title=f"Engagement, {metrics.since} to {metrics.until}", fields=fields,
                    image=Image("engagement.png", chart, "events per feature"), ephemeral=True)  # fmt: skip

    @command("stats accounts", args=AccountArgs, role=Role.ORGANIZER,
             help="List the association's accounts on other networks, add a Mastodon or Bluesky one (counted daily),"
                  " or remove one")  # fmt: skip
    async def accounts(self, ctx: Context, args: AccountArgs) -> Card:
        if args.action == "add":
            if not args.network or not args.handle:
                raise UsageError("stats accounts add needs a network and a handle, e.g. /stats accounts add mastodon alcts@mastodon.social")
            day = ctx.now.astimezone(ctx.tz).date().isoformat()
            return notice(await add_account(self.social, self.fetch, self.process_settings, args.network, args.handle,
                                            ctx.member, ctx.now, day))  # fmt: skip
        if args.action == "remove":
            if not args.network:
                raise UsageError("stats accounts remove needs a network (and a handle), as /stats accounts lists them")
            return notice(await remove_account(self.social, args.network, args.handle or ""))
        lines = await accounts_lines(self.social)
        return Card(title="Accounts on other networks", text="\n".join(lines) or "None yet: /stats accounts add mastodon HANDLE",
                    ephemeral=True)  # fmt: skip

    @command("stats record", args=RecordArgs, role=Role.ORGANIZER,
             help="Record a follower count from another network (Facebook, X, Instagram, LinkedIn, Tumblr...)")  # fmt: skip
    async def record(self, ctx: Context, args: RecordArgs) -> Card:
        today = ctx.now.astimezone(ctx.tz).date()
        try:
            day = parse_day(args.date, today) if args.date else today.isoformat()
        except ValueError as exc:
            raise UsageError(f"stats record: {str(exc).rstrip('.')}.") from None
        return notice(await record_count(self.social, args.network, args.count, day, ctx.now, handle=args.handle))

    async def home(self, ctx: Context) -> list[Card]:
        """An organizer's home (Slack's App Home): this week's figures in one card of three
        fields (followers and their change over the last 7 local days, the follow rate
        against the study's reference, active members: WAU), from `GrowthQueries.glance`
        (a few milliseconds on a year of a million events). Nothing for anyone else."""
        if ctx.member.role < Role.ORGANIZER:
            return []
        until = ctx.now.astimezone(ctx.tz).date()
        glance = await self.queries.glance((ctx.community.platform, ctx.community.id), until - timedelta(days=6), until)
        fields = (
            CardField("Followers", f"{glance.followers} ({glance.change:+d} this week)"),
            CardField("Follow rate", f"{percent(glance.follow_rate)} of {glance.members} members "
                                     f"(the study's reference: {percent(REFERENCE_RATE)})"),  # fmt: skip
            CardField("Active members", f"{glance.active} this week"),
        )
        return [Card(title="This week's growth", fields=fields,
                     footer="Only organizers see this. /stats growth has the chart; /stats engagement, the rest.")]  # fmt: skip

    # -- members ---------------------------------------------------------------------------------

    @command("stats me", help="Your own activity here (only you see it)")
    async def me(self, ctx: Context, args: object) -> Card:
        await self.queries.db.flush()
        activity = await self.queries.member_activity(ctx.member, ctx.community, ctx.now - timedelta(days=30))
        days, first = await self.queries.active_days(ctx.member, ctx.community)
        lines = [f"{name}: {count}" for name, count in activity.items()] or ["nothing yet"]
        optout = " You are left out of top-participant lists (/stats optout again to be included)." if (
            await self.queries.opted_out(ctx.member)) else ""  # fmt: skip
        active = (f"Active on {days} day{'s' if days != 1 else ''} since {first}." if days
                  else "No activity yet (trivia, polls, jobs, webinars and following count).")  # fmt: skip
        return Card(title=f"Your activity, {ctx.member.display_name}", text="Last 30 days: " + ", ".join(lines),
                    footer=active + optout, ephemeral=True)  # fmt: skip

    @command("stats optout", help="Leave (or rejoin) the top-participant lists")
    async def optout(self, ctx: Context, args: object) -> Card:
        out = not await self.queries.opted_out(ctx.member)
        await self.queries.set_optout(ctx.member, ctx.now, out)
        if out:
            return notice("You are left out of top-participant lists from now on. /stats optout again undoes it.")
        return notice("You can appear in top-participant lists again.")

    # -- timers ----------------------------------------------------------------------------------

    @timer("stats.snapshot", rerun=True)
    async def snapshot(self, key: str, payload: dict[str, Any]) -> None:
        now = self.clock.now()
        for platform, community_id in await self.queries.communities():
            community = Community(platform, community_id)
            config = await self.config.get(community)
            day = now.astimezone(self.config.timezone(config)).date().isoformat()
            await self.queries.snapshot(community, day, now)
            keep = config.get("stats_raw_days")
            if keep:
                pruned = await self.queries.prune((platform, community_id), now - timedelta(days=int(keep)))
                if pruned:
                    log.info("raw events pruned community=%s:%s rows=%d", platform, community_id, pruned)

    @timer("stats.social", rerun=True)
    async def refresh_social(self, key: str, payload: dict[str, Any]) -> None:
        """Daily: each Mastodon and Bluesky account's public follower count."""
        now = self.clock.now()
        for problem in await refresh_all(self.social, self.fetch, self.process_settings, now, now.date().isoformat(),
                                         self._retry_social):  # fmt: skip
            log.warning("social follower count: %s", problem)

    @timer("stats.social_retry", rerun=True)
    async def retry_social(self, key: str, payload: dict[str, Any]) -> None:
        """One account whose server answered "busy" (HTTP 429 or 503), asked again alone."""
        problem = await refresh_again(self.social, self.fetch, self.process_settings, self.clock.now(), payload,
                                      self._retry_social)  # fmt: skip
        if problem is not None:
            log.warning("social follower count: %s", problem)

    async def _retry_social(self, key: str, due: datetime, payload: dict[str, Any]) -> None:
        await self.scheduler.schedule("stats.social_retry", key, due, payload)

    async def start(self) -> None:
        if not await self.scheduler.repeating("stats.snapshot", "all"):
            await self.scheduler.repeat("stats.snapshot", "all", Recurrence.every(SNAPSHOT_EVERY))
        if not await self.scheduler.repeating("stats.social", "all"):
            await self.scheduler.repeat("stats.social", "all", Recurrence.daily("06:00"), zone="UTC")

    # -- helpers ---------------------------------------------------------------------------------

    async def _metrics(self, ctx: Context, days: int) -> Metrics:
        await self.queries.db.flush()
        until = ctx.now.astimezone(ctx.tz).date()
        since = until - timedelta(days=days - 1)
        return await compute(self.queries, (ctx.community.platform, ctx.community.id), since, until,
                             f"{ctx.community.platform}:{ctx.community.id}", ctx.tz.key)  # fmt: skip

    async def forget_member(self, member: Member) -> int:
        await self.queries.set_optout(member, self.clock.now(), False)
        return await self.social.forget_member(member)


def setup(bot: Bot) -> None:
    bot.add_cog(Stats(GrowthQueries(bot.db), SocialStore(bot.db), bot.scheduler, bot.clock, bot.config, bot.fetch,
                      bot.settings))  # fmt: skip
