"""Feed polling and posting for the jobs cog: the poll interval (the `jobs_poll_minutes`
setting) and each feed's timer series, deciding which fetched entries are new and
postable, backing off and disabling a failing feed, and posting what is decided, each
post's intent stored before it is sent. The cog's `jobs.fetch` and `jobs.flush` timers
and its commands call into `FeedPoller`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.app import Messenger
from bot.cards import Card, notice
from bot.changes import ContentChangedHook
from bot.clock import Clock
from bot.community import CommunityConfig
from bot.model import Place
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from cogs.jobs.cards import digest_card, job_card
from cogs.jobs.feed import FeedEntry
from cogs.jobs.filters import Filter, passes
from storage.job_posts import Feed, JobItem, JobPostStore, NewItem

log = logging.getLogger("cogs.jobs")  # the cog's logger, as before the split

Content = Callable[[Place, str, str, datetime], None]
DEFAULT_MINUTES, FEWEST_MINUTES, MOST_MINUTES = 30, 10, 24 * 60
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


class FeedPoller:
    """Each feed's polling series, what a poll decides, and posting it once."""

    def __init__(
        self, store: JobPostStore, scheduler: Scheduler, messenger: Messenger, clock: Clock,
        config: CommunityConfig, content: Content, content_changed: ContentChangedHook,
    ) -> None:  # fmt: skip
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.config = config
        self.content = content
        self.content_changed = content_changed  # members' homes show the latest posts
        self._posting: dict[int, asyncio.Lock] = {}

    async def decide(self, feed: Feed, entries: list[FeedEntry]) -> tuple[list[NewItem], str | None]:
        entries = unique(entries)
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
                return [new_item(e, "seen") for e in fresh], flag
        decided = []
        for position, entry in enumerate(fresh):
            if position >= FLOOD:
                status = "held"
            elif passes(keywords, exclude, entry_text(entry)):
                status = "to_post"
            else:
                status = "filtered"
            decided.append(new_item(entry, status))
        return decided, flag

    async def post_pending(self, feed: Feed) -> None:
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
            if not await self.send(feed, items, card, key, since):
                return
        pending = await self.store.to_post(feed.id)
        one_by_one, rest = pending[:POSTS_PER_POLL], pending[POSTS_PER_POLL:]
        now = self.clock.now()
        for item in one_by_one:
            if not await self.send(feed, [item], job_card(item, feed.title), f"job:{item.id}"):
                return  # the platform refuses: the rest wait for the next poll
            self.content(feed.place, "job_posted", str(item.id), now)
        if rest and await self.send(feed, rest, digest_card(rest, feed.title), f"jobs-digest:{rest[0].id}:{len(rest)}"):
            self.content(feed.place, "job_digest", ",".join(str(i.id) for i in rest[:50]), now)

    async def send(self, feed: Feed, items: list[JobItem], card: Card, key: str, since: datetime | None = None) -> bool:
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

    async def failed(self, feed: Feed, reason: str, retry_after: timedelta | None) -> None:
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
        await self.every(feed.id, feed.place, wait)
        await self.store.set_next_try(feed.id, now + wait)

    async def every(self, feed_id: int, place: Place, wait: timedelta) -> None:
        await self.scheduler.repeat("jobs.fetch", str(feed_id), Recurrence.every(wait), community=place.community)

    async def minutes(self, place: Place) -> int:
        return int((await self.config.get(place.community)).get("jobs_poll_minutes") or DEFAULT_MINUTES)


def unique(entries: list[FeedEntry]) -> list[FeedEntry]:
    """One entry per identity (a guid reused within one fetch counts once)."""
    seen: set[str] = set()
    return [e for e in entries if not (e.identity in seen or seen.add(e.identity))]  # type: ignore[func-returns-value]


def new_item(entry: FeedEntry, status: str) -> NewItem:
    return NewItem(entry.identity, entry.title, entry.link, entry.employer, entry.location, entry.summary,
                   entry.published, status)  # fmt: skip


def entry_text(entry: FeedEntry) -> str:
    return " ".join(part for part in (entry.title, entry.employer, entry.location, entry.summary) if part)
