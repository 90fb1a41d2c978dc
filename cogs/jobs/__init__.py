"""Job posts: feed subscriptions polled politely, items posted once, filters, digests,
moderator posts, saved jobs. ("Job posts" is the feature; the scheduler's units of work
are timers.)

Polling: each subscription is a timer series (`jobs.fetch`, at most FETCH_LIMIT at once)
every `jobs_poll_minutes` (default 30, never under 10). One conditional GET per poll
through the core's safe fetcher; a 304 posts nothing; Retry-After and max-age stretch the
interval; failures back off 5 min x 2^n; ten in a row disable the feed and the channel is
told why. Deciding: the first fetch remembers everything and posts nothing (unless
`backfill=N`); later, an identity not seen before is new; what to post is stored with the
feed's new state in one transaction, then posted (a failed post is retried).

The commands' arguments are in `args`; deciding, posting and backing off in `polling`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.app import Bot, Context, Messenger
from bot.cards import Card, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import button, command, timer
from bot.community import CommunityConfig
from bot.config import Setting
from bot.context import postable
from bot.errors import UserError
from bot.fetched import FetchError, FetchResult, HttpStatus
from bot.model import Member, Place, Role
from bot.quotas import Quota, button_quota
from bot.scheduler import Scheduler
from bot.text import truncate
from cogs.jobs.args import SUBSCRIBE_FORM, FeedId, LatestArgs, PostArgs, SubscribeArgs, UrlArgs
from cogs.jobs.cards import feeds_card, job_card, list_card
from cogs.jobs.feed import ACCEPT, NotAFeed, clean, parse_feed
from cogs.jobs.filters import Filter, passes
from cogs.jobs.polling import (
    DEFAULT_MINUTES,
    FEWEST_MINUTES,
    LONGEST_WAIT,
    POSTS_PER_POLL,
    Content,
    FeedPoller,
    entry_text,
    new_item,
    poll_minutes,
    unique,
)
from storage.job_posts import Feed, JobItem, JobPostStore

log = logging.getLogger(__name__)

Fetch = Callable[..., Awaitable[FetchResult]]
FETCH_LIMIT = 4  # feeds fetched at once

HOME_JOBS = 5  # job posts shown on a member's home


class JobPosts:
    """Job posts from feeds and moderators"""

    name = "jobs"
    settings = (
        Setting("jobs_channel", "where job posts go when /jobs subscribe or /jobs post name no channel=", channel=True),
        Setting("jobs_poll_minutes", f"how often each job feed is checked, in minutes (default {DEFAULT_MINUTES}, "
                                     f"at least {FEWEST_MINUTES})", poll_minutes),  # fmt: skip
    )

    def __init__(
        self, store: JobPostStore, scheduler: Scheduler, messenger: Messenger, clock: Clock,
        config: CommunityConfig, fetch: Fetch, content: Content, content_changed: ContentChangedHook = unheard,
    ) -> None:  # fmt: skip
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.fetch = fetch
        self.content = content
        self.content_changed = content_changed  # members' homes show the latest posts
        self.poller = FeedPoller(store, scheduler, messenger, clock, config, content, content_changed)

    # -- subscriptions ------------------------------------------------------------------------

    @command("jobs subscribe", args=SubscribeArgs, role=Role.MODERATOR, help="Post new jobs from an RSS or Atom feed",
             quota=Quota(10, 3600, channel=20, moderators=True), form=SUBSCRIBE_FORM)
    async def subscribe(self, ctx: Context, args: SubscribeArgs) -> Card:
        keywords, exclude = _filters(args.keywords, args.exclude)
        place = await postable(self.messenger, self._place(ctx, args.channel))  # new jobs go there later
        result = await self.fetch(args.url, accept=ACCEPT)  # FetchError is one sentence for the moderator
        parsed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        entries = unique(parsed.entries)
        wanted = [e for e in entries if passes(keywords, exclude, entry_text(e))]
        backfill = {e.identity for e in wanted[: args.backfill]}  # feeds list the newest first
        items = [new_item(e, "to_post" if e.identity in backfill else "seen") for e in entries]
        feed_id = await self.store.subscribe(place, args.url, parsed.title, keywords.text, exclude.text, ctx.member.id,
                                             ctx.now, items, result.etag, result.last_modified)  # fmt: skip
        if feed_id is None:
            raise UserError(f"{place.mention} already gets that feed; /jobs feeds lists them.")
        minutes = await self.poller.minutes(place)
        await self.poller.every(feed_id, place, timedelta(minutes=minutes))
        feed = await self.store.feed(feed_id)
        assert feed is not None
        await self.poller.post_pending(feed)
        posted = f", posting the newest {len(backfill)} now" if backfill else "; only new jobs will be posted"
        return notice(
            f"Subscribed feed #{feed_id}: {parsed.title} ({_jobs(len(entries))} in it now{posted}). "
            f"Checked every {minutes} minutes; new jobs go to {place.mention}.", ephemeral=False,
        )  # fmt: skip

    @command("jobs unsubscribe", args=FeedId, role=Role.MODERATOR, help="Stop a job feed", quota=Quota(20, 3600, moderators=True))
    async def unsubscribe(self, ctx: Context, args: FeedId) -> Card:
        feed = await self._feed(ctx, args.id)
        await self.store.unsubscribe(feed.id)
        await self.scheduler.stop_repeating("jobs.fetch", str(feed.id))
        return notice(f"Feed #{feed.id} ({feed.title}) is unsubscribed; nothing more will be posted from it.", ephemeral=False)

    @command("jobs feeds", activity=False, role=Role.MODERATOR, help="The job feeds here and how each is doing")
    async def feeds(self, ctx: Context, args: object) -> Card:
        return feeds_card(await self.store.feeds(ctx.community), await self.poller.minutes(ctx.place))

    @command("jobs test", activity=False, args=UrlArgs, role=Role.MODERATOR, help="Fetch a feed once and show what would be posted",
             quota=Quota(20, 3600, moderators=True))
    async def test(self, ctx: Context, args: UrlArgs) -> Card:
        result = await self.fetch(args.url, accept=ACCEPT)
        parsed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        entries = unique(parsed.entries)
        shown = [new_item(e, "seen") for e in entries[:POSTS_PER_POLL]]
        lines = [f"• {i.title}" + (f" ({', '.join(p for p in (i.employer, i.location) if p)})" if i.employer or i.location else "")
                 for i in shown]  # fmt: skip
        return Card(title=f"{parsed.title}: {_jobs(len(entries))}", text="\n".join(lines) or "The feed has no items.",
                    footer="Nothing was posted or stored. /jobs subscribe URL posts new jobs from now on.", ephemeral=True)  # fmt: skip

    # -- posts ------------------------------------------------------------------------------------

    @command("jobs post", args=PostArgs, role=Role.MODERATOR, help="Post a job by hand",
             quota=Quota(20, 3600, channel=40, moderators=True))
    async def post(self, ctx: Context, args: PostArgs) -> Card | None:
        place = self._place(ctx, None)
        if place != ctx.place and (reason := await self.messenger.can_post(place)) is not None:
            raise UserError(f"Job posts go to {place.mention} (the jobs_channel setting), but: {reason}")
        item_id = await self.store.add_manual(place, clean(args.title), args.url, args.employer and clean(args.employer),
                                              args.location and clean(args.location), args.closes, ctx.member.id, ctx.now)  # fmt: skip
        item = await self.store.item(item_id)
        assert item is not None
        source = f"{ctx.member.display_name}"
        if place == ctx.place:
            ref = await ctx.respond(job_card(item, source))
        else:
            await self.store.sending([item.id], f"job:{item.id}", ctx.now)
            ref = await self.messenger.send(place, job_card(item, source), key=f"job:{item.id}")
        await self.store.posted([item.id], ref, self.clock.now())
        self.content(place, "job_posted", str(item.id), ctx.now)
        self.content_changed(ctx.community, "jobs")
        return notice(f"Posted in {place.mention}.") if place != ctx.place else None

    @command("jobs latest", activity=False, args=LatestArgs, help="Recent job posts here")
    async def latest(self, ctx: Context, args: LatestArgs) -> Card:
        keywords, _ = _filters(args.keywords, None)
        items = [i for i in await self.store.latest(ctx.community, 200) if keywords.empty or keywords.matches(_item_text(i))]
        return list_card("Recent job posts", items[: args.count], "No job posts match yet.")

    @command("jobs saved", activity=False, help="The jobs you saved")
    async def saved(self, ctx: Context, args: object) -> Card:
        return list_card("Your saved jobs", await self.store.saved(ctx.member, ctx.community),
                         "You have no saved jobs; click Save on a job post.")  # fmt: skip

    async def home(self, ctx: Context) -> list[Card]:
        """The member's home (Slack's App Home): the latest job posts."""
        items = await self.store.latest(ctx.community, HOME_JOBS)
        card = list_card("Latest job posts", items, "No job posts yet.")
        return [Card(title="Latest job posts", text=card.text)]  # titled also when there are none

    @button("jobs.save")
    @button_quota(Quota(30, 600))
    async def save(self, ctx: Context, item_id: int) -> Card:
        item = await self.store.item(item_id)
        if item is None or item.place.community != ctx.community:
            raise UserError("That job post is no longer here.")
        if await self.store.toggle_saved(ctx.member, item.id, ctx.now):
            return notice(f"Saved: {truncate(item.title, 100)}. /jobs saved lists your saved jobs.")
        return notice(f"Removed from your saved jobs: {truncate(item.title, 100)}.")

    # -- polling ---------------------------------------------------------------------------------

    @timer("jobs.fetch", rerun=True, limit=FETCH_LIMIT)
    async def poll(self, key: str, payload: dict[str, Any]) -> None:
        """One conditional GET; new items decided and stored with the feed's state; posted."""
        feed = await self.store.feed(int(key))
        if feed is None or not feed.active or feed.disabled_reason:
            await self.scheduler.stop_repeating("jobs.fetch", key)
            return
        now = self.clock.now()
        try:
            result = await self.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified, accept=ACCEPT)
            parsed = None if result.not_modified else await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        except (FetchError, NotAFeed) as exc:
            await self.poller.failed(feed, str(exc), exc.retry_after if isinstance(exc, HttpStatus) else None)
            return
        items, flag = ([], None) if parsed is None else await self.poller.decide(feed, parsed.entries)
        wait = timedelta(minutes=await self.poller.minutes(feed.place))
        for hint in (result.max_age, result.retry_after):
            if hint is not None:
                wait = max(wait, min(hint, LONGEST_WAIT))
        await self.store.record_success(feed, items, now, result.etag, result.last_modified, flag, now + wait)
        await self.poller.every(feed.id, feed.place, wait)
        await self.poller.post_pending(feed)  # a read when nothing waits; posts what earlier failures left

    @timer("jobs.flush", rerun=True)
    async def flush(self, key: str, payload: dict[str, Any]) -> None:
        """Post what a crash left decided but unposted (scheduled at start-up)."""
        feed = await self.store.feed(int(key))
        if feed is not None and feed.active:
            await self.poller.post_pending(feed)

    async def start(self) -> None:
        """Every live subscription has its polling series; decided posts a crash left
        unposted go out once the platforms are up."""
        now = self.clock.now()
        for feed in await self.store.active_feeds():
            if not await self.scheduler.repeating("jobs.fetch", str(feed.id)):
                await self.poller.every(feed.id, feed.place, timedelta(minutes=await self.poller.minutes(feed.place)))
            if await self.store.waiting(feed.id):
                await self.scheduler.schedule("jobs.flush", feed.id, now, revive=True)

    # -- helpers ---------------------------------------------------------------------------------

    def _place(self, ctx: Context, channel: str | None) -> Place:
        """channel=, else the jobs_channel setting, else here."""
        return ctx.channel(channel, "jobs_channel", "#jobs")

    async def _feed(self, ctx: Context, feed_id: int) -> Feed:
        feed = await self.store.feed(feed_id)
        if feed is None or not feed.active or feed.place.community != ctx.community:
            raise UserError(f"There is no job feed #{feed_id} here; /jobs feeds lists them.")
        return feed

    async def forget_member(self, member: Member) -> int:
        return await self.store.forget_member(member)


def _jobs(count: int) -> str:
    return f"{count} job{'s' if count != 1 else ''}"


def _filters(keywords: str | None, exclude: str | None) -> tuple[Filter, Filter]:
    try:
        return Filter.parse(keywords), Filter.parse(exclude, "exclude")
    except ValueError as exc:
        raise UserError(f"{exc}.") from None


def _item_text(item: JobItem) -> str:
    return " ".join(part for part in (item.title, item.employer, item.location, item.summary) if part)


def setup(bot: Bot) -> None:
    bot.add_cog(JobPosts(JobPostStore(bot.db), bot.scheduler, bot, bot.clock, bot.config, bot.fetch, bot.engagement.content,
                         bot.content_changed))  # fmt: skip
