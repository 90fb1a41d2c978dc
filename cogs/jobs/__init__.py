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
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from bot.app import Bot, Context, Messenger
from bot.cards import Card, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import Args, ChannelName, Choice, When, button, command, suggests, timer
from bot.community import CommunityConfig
from bot.config import Setting
from bot.context import postable
from bot.errors import UserError
from bot.fetched import FetchError, FetchResult, HttpStatus
from bot.forms import Form, FormField
from bot.model import Member, Place, Role
from bot.quotas import Quota, button_quota
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from bot.text import quoted, truncate, visible
from bot.timeparse import FURTHEST_AHEAD
from cogs.jobs.cards import digest_card, feeds_card, job_card, list_card
from cogs.jobs.feed import ACCEPT, FeedEntry, NotAFeed, clean, parse_feed
from cogs.jobs.filters import Filter, passes
from storage.job_posts import Feed, JobItem, JobPostStore, NewItem

log = logging.getLogger(__name__)

Fetch = Callable[..., Awaitable[FetchResult]]
Content = Callable[[Place, str, str, datetime], None]
DEFAULT_MINUTES, FEWEST_MINUTES, MOST_MINUTES = 30, 10, 24 * 60
FETCH_LIMIT = 4  # feeds fetched at once
POSTS_PER_POLL = 5  # the rest of a busy poll goes in one digest
FLOOD = 30  # new items in one poll beyond which the rest are held and the feed flagged
BACKOFF = timedelta(minutes=5)
LONGEST_WAIT = timedelta(hours=24)
DISABLE_AFTER = 10
REGENERATED_AT_LEAST = 10  # new items in one fetch before the old-dates check applies


def poll_minutes(value: str) -> str:
    if not value.isdigit() or not FEWEST_MINUTES <= int(value) <= MOST_MINUTES:
        raise ValueError(f"jobs_poll_minutes is whole minutes from {FEWEST_MINUTES} to {MOST_MINUTES}, e.g. 30")
    return str(int(value))


HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$")


def http_url(value: str) -> str:
    """An http(s) address with a well-formed host and no spaces; raises ValueError."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        host = parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        host, port_ok, parts = "", False, urlsplit("")
    if (parts.scheme not in ("http", "https") or not host or not port_ok or any(c.isspace() for c in value)
            or len(value) > 2000 or not HOST.match(host.lower().rstrip("."))):  # fmt: skip
        raise ValueError(f"{quoted(value)} is not a web address; give one starting with https://")
    return value


class SubscribeArgs(Args):
    positional = ("url",)
    url: str = Field(description="the RSS or Atom feed's address, starting with https://")
    keywords: str | None = Field(None, description="post only jobs with one of these terms, separated by commas")
    exclude: str | None = Field(None, description="skip jobs with any of these terms, separated by commas")
    channel: ChannelName | None = Field(None, description="where new jobs go (default: jobs_channel, else here)")
    backfill: int = Field(0, ge=0, le=20, description="how many of the newest jobs already in the feed to post now")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


SUBSCRIBE_FORM = Form(
    "Subscribe to a job feed",
    (
        FormField("url", "Feed address (RSS or Atom)", required=True, placeholder="https://..."),
        FormField("channel", "Post jobs in", kind="channel", hint="Default: the jobs channel, else here"),
        FormField("keywords", "Only jobs mentioning", placeholder="cataloging, metadata",
                  hint="Separated by commas; every job if empty"),
        FormField("exclude", "Skip jobs mentioning", placeholder="intern"),
        FormField("backfill", "Post the newest now", kind="choice",
                  choices=(("0", "None"), ("3", "3"), ("5", "5"), ("10", "10"), ("20", "20"))),
    ),
    submit="Subscribe",
)  # fmt: skip


class FeedId(Args):
    positional = ("id",)
    id: int = Field(ge=1, description="the feed's number, as /jobs feeds lists it")

    @suggests("id")
    @classmethod
    async def feeds_here(cls, cog: JobPosts, ctx: Context, typed: str) -> list[Choice]:
        """This community's job feeds (a feed is managed from anywhere in its community)."""
        return [Choice(f"#{feed.id} {feed.title or feed.url}", feed.id) for feed in await cog.store.feeds(ctx.community)]


class UrlArgs(Args):
    positional = ("url",)
    url: str = Field(description="the RSS or Atom feed's address, starting with https://")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


class PostArgs(Args):
    positional = ("title", "url")
    title: str = Field(min_length=1, max_length=200, description="the job's title")
    url: str = Field(description="the job ad's address, starting with https://")
    employer: str | None = Field(None, max_length=120, description="who is hiring")
    location: str | None = Field(None, max_length=120, description="where the job is, or remote")
    closes: When | None = Field(None, description='the application deadline, like 2026-05-01 or "friday 5pm"')

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))
    _title = field_validator("title")(classmethod(lambda cls, v: visible(v, "title")))

    @field_validator("closes")
    @classmethod
    def _closes(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        now = (info.context or {}).get("now")
        if value is not None and now is not None and value > now + FURTHEST_AHEAD:
            raise ValueError("closes is more than two years ahead; give the application deadline, like 2026-05-01")
        return value


class LatestArgs(Args):
    positional = ("count",)
    count: int = Field(5, ge=1, le=20, description="how many job posts to show")
    keywords: str | None = Field(None, description="only jobs with one of these terms, separated by commas")


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
        self.config = config
        self.fetch = fetch
        self.content = content
        self.content_changed = content_changed  # members' homes show the latest posts
        self._posting: dict[int, asyncio.Lock] = {}

    # -- subscriptions ------------------------------------------------------------------------

    @command("jobs subscribe", args=SubscribeArgs, role=Role.MODERATOR, help="Post new jobs from an RSS or Atom feed",
             quota=Quota(10, 3600, channel=20, moderators=True), form=SUBSCRIBE_FORM)
    async def subscribe(self, ctx: Context, args: SubscribeArgs) -> Card:
        keywords, exclude = _filters(args.keywords, args.exclude)
        place = await postable(self.messenger, self._place(ctx, args.channel))  # new jobs go there later
        result = await self.fetch(args.url, accept=ACCEPT)  # FetchError is one sentence for the moderator
        parsed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        entries = _unique(parsed.entries)
        wanted = [e for e in entries if passes(keywords, exclude, _text(e))]
        backfill = {e.identity for e in wanted[: args.backfill]}  # feeds list the newest first
        items = [_new(e, "to_post" if e.identity in backfill else "seen") for e in entries]
        feed_id = await self.store.subscribe(place, args.url, parsed.title, keywords.text, exclude.text, ctx.member.id,
                                             ctx.now, items, result.etag, result.last_modified)  # fmt: skip
        if feed_id is None:
            raise UserError(f"{place.mention} already gets that feed; /jobs feeds lists them.")
        minutes = await self._minutes(place)
        await self._every(feed_id, place, timedelta(minutes=minutes))
        feed = await self.store.feed(feed_id)
        assert feed is not None
        await self._post_pending(feed)
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
        return feeds_card(await self.store.feeds(ctx.community), await self._minutes(ctx.place))

    @command("jobs test", activity=False, args=UrlArgs, role=Role.MODERATOR, help="Fetch a feed once and show what would be posted",
             quota=Quota(20, 3600, moderators=True))
    async def test(self, ctx: Context, args: UrlArgs) -> Card:
        result = await self.fetch(args.url, accept=ACCEPT)
        parsed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        entries = _unique(parsed.entries)
        shown = [_new(e, "seen") for e in entries[:POSTS_PER_POLL]]
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
            await self._failed(feed, str(exc), exc.retry_after if isinstance(exc, HttpStatus) else None)
            return
        items, flag = ([], None) if parsed is None else await self._decide(feed, parsed.entries)
        wait = timedelta(minutes=await self._minutes(feed.place))
        for hint in (result.max_age, result.retry_after):
            if hint is not None:
                wait = max(wait, min(hint, LONGEST_WAIT))
        await self.store.record_success(feed, items, now, result.etag, result.last_modified, flag, now + wait)
        await self._every(feed.id, feed.place, wait)
        await self._post_pending(feed)  # a read when nothing waits; posts what earlier failures left

    @timer("jobs.flush", rerun=True)
    async def flush(self, key: str, payload: dict[str, Any]) -> None:
        """Post what a crash left decided but unposted (scheduled at start-up)."""
        feed = await self.store.feed(int(key))
        if feed is not None and feed.active:
            await self._post_pending(feed)

    async def start(self) -> None:
        """Every live subscription has its polling series; decided posts a crash left
        unposted go out once the platforms are up."""
        now = self.clock.now()
        for feed in await self.store.active_feeds():
            if not await self.scheduler.repeating("jobs.fetch", str(feed.id)):
                await self._every(feed.id, feed.place, timedelta(minutes=await self._minutes(feed.place)))
            if await self.store.waiting(feed.id):
                await self.scheduler.schedule("jobs.flush", feed.id, now, revive=True)

    async def _decide(self, feed: Feed, entries: list[FeedEntry]) -> tuple[list[NewItem], str | None]:
        entries = _unique(entries)
        known = await self.store.known(feed.id, [e.identity for e in entries])
        fresh = [e for e in entries if e.identity not in known]
        keywords, exclude = Filter.parse(feed.keywords), Filter.parse(feed.exclude, "exclude")
        flag = None
        if len(fresh) > FLOOD:
            flag = (f"{len(fresh)} new items in one fetch ({self.clock.now():%Y-%m-%d}); the feed may have changed its "
                    f"item ids, so only {FLOOD} were considered and the rest held")  # fmt: skip
        newest = await self.store.newest_published(feed.id) if len(fresh) >= REGENERATED_AT_LEAST else None
        if newest is not None:  # most "new" items older than what the feed showed before: ids were regenerated
            old = [e for e in fresh if e.published is not None and e.published < newest - timedelta(days=1)]
            if len(old) * 2 > len(fresh):
                flag = f"{len(fresh)} items came back with new ids but old dates; they were not posted"
                return [_new(e, "seen") for e in fresh], flag
        decided = []
        for position, entry in enumerate(fresh):
            if position >= FLOOD:
                status = "held"
            elif passes(keywords, exclude, _text(entry)):
                status = "to_post"
            else:
                status = "filtered"
            decided.append(_new(entry, status))
        return decided, flag

    async def _post_pending(self, feed: Feed) -> None:
        """Post what is decided and not yet posted; one poster a feed at a time (a rerun
        poll and a start-up flush must not post the same item twice)."""
        lock = self._posting.setdefault(feed.id, asyncio.Lock())
        async with lock:
            await self._post_pending_now(feed)

    async def _post_pending_now(self, feed: Feed) -> None:
        """First what an earlier attempt left 'sending' (by its key and intent time: the
        platform tells whether it went out), then what is decided, each post's intent
        stored before it is sent."""
        for key, since, items in await self.store.unfinished(feed.id):
            log.warning("job post resolved after an interruption feed=%s key=%s", feed.id, key)
            card = digest_card(items, feed.title) if key.startswith("jobs-digest:") else job_card(items[0], feed.title)
            if not await self._send(feed, items, card, key, since):
                return
        pending = await self.store.to_post(feed.id)
        one_by_one, rest = pending[:POSTS_PER_POLL], pending[POSTS_PER_POLL:]
        now = self.clock.now()
        for item in one_by_one:
            if not await self._send(feed, [item], job_card(item, feed.title), f"job:{item.id}"):
                return  # the platform refuses: the rest wait for the next poll
            self.content(feed.place, "job_posted", str(item.id), now)
        if rest and await self._send(feed, rest, digest_card(rest, feed.title), f"jobs-digest:{rest[0].id}:{len(rest)}"):
            self.content(feed.place, "job_digest", ",".join(str(i.id) for i in rest[:50]), now)

    async def _send(self, feed: Feed, items: list[JobItem], card: Card, key: str, since: datetime | None = None) -> bool:
        """One post, once: its intent ('sending', `key`) is stored first unless this is a
        retry (`since`: the earlier intent's time), then sent with the key, then marked."""
        ids = [i.id for i in items]
        if since is None:
            await self.store.sending(ids, key, self.clock.now())
        try:
            ref = await self.messenger.send(feed.place, card, key=key, since=since)
        except Exception:
            log.exception("job post failed feed=%s items=%s", feed.id, ids)
            await self.store.post_failed(ids)
            return False
        await self.store.posted(ids, ref, self.clock.now())
        self.content_changed(feed.place.community, "jobs")
        return True

    async def _failed(self, feed: Feed, reason: str, retry_after: timedelta | None) -> None:
        now = self.clock.now()
        disable = feed.failures + 1 >= DISABLE_AFTER
        failures = await self.store.record_failure(feed.id, now, reason, disable)
        log.info("job feed failed feed=%s failures=%d reason=%s", feed.id, failures, reason)
        if disable:
            await self.scheduler.stop_repeating("jobs.fetch", str(feed.id))
            await self.store.set_next_try(feed.id, None)
            await self.messenger.send(feed.place, notice(
                f"Moderators: job feed #{feed.id} ({feed.title}) failed {failures} times in a row, so I stopped "
                f"checking it. Last error: {reason} Check the address, then /jobs unsubscribe {feed.id} and "
                "/jobs subscribe it again.", ephemeral=False))  # fmt: skip
            return
        wait = min(LONGEST_WAIT, BACKOFF * 2 ** (failures - 1))
        if retry_after is not None:
            wait = max(wait, min(retry_after, LONGEST_WAIT))
        await self._every(feed.id, feed.place, wait)
        await self.store.set_next_try(feed.id, now + wait)

    # -- helpers ---------------------------------------------------------------------------------

    async def _every(self, feed_id: int, place: Place, wait: timedelta) -> None:
        await self.scheduler.repeat("jobs.fetch", str(feed_id), Recurrence.every(wait), community=place.community)

    async def _minutes(self, place: Place) -> int:
        return int((await self.config.get(place.community)).get("jobs_poll_minutes") or DEFAULT_MINUTES)

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


def _unique(entries: list[FeedEntry]) -> list[FeedEntry]:
    """One entry per identity (a guid reused within one fetch counts once)."""
    seen: set[str] = set()
    return [e for e in entries if not (e.identity in seen or seen.add(e.identity))]  # type: ignore[func-returns-value]


def _new(entry: FeedEntry, status: str) -> NewItem:
    return NewItem(entry.identity, entry.title, entry.link, entry.employer, entry.location, entry.summary,
                   entry.published, status)  # fmt: skip


def _text(entry: FeedEntry) -> str:
    return " ".join(part for part in (entry.title, entry.employer, entry.location, entry.summary) if part)


def _item_text(item: JobItem) -> str:
    return " ".join(part for part in (item.title, item.employer, item.location, item.summary) if part)


def setup(bot: Bot) -> None:
    bot.add_cog(JobPosts(JobPostStore(bot.db), bot.scheduler, bot, bot.clock, bot.config, bot.fetch, bot.engagement.content,
                         bot.content_changed))  # fmt: skip
