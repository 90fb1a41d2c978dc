"""The Bot: wiring and lifecycle. The one path every interaction takes, `Bot.dispatch`,
is in bot/dispatch.py; what reaches the platforms outside an interaction in bot/reach.py.

platform event -> neutral interaction -> `Bot.dispatch` (role check, one engagement
event, the cog's handler) -> Cards -> the platform renders them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.cards import Card
from bot.changes import ContentChanged, ContentListener
from bot.clock import Clock
from bot.commands import Registry
from bot.community import CommunityConfig
from bot.config import Settings
from bot.context import Context as Context  # where cogs have always found it
from bot.context import Messenger as Messenger
from bot.dispatch import SORRY as SORRY  # where the tests have always found it
from bot.dispatch import Dispatch
from bot.edits import CardSource, EditCoalescer
from bot.model import (
    Community,
    Interaction,
    Member,
    MessageRef,
    Place,
    Role,
)
from bot.platforms.base import Platform, SilentResponder
from bot.quotas import QuotaBook
from bot.reach import PlatformReach
from bot.scheduler import Scheduler
from storage.db import Database
from storage.engagement import EngagementLog
from storage.runs import RunLog
from storage.seen_events import SeenEvents
from storage.settings import SettingsStore

if TYPE_CHECKING:
    from bot.fetch import Fetcher, FetchResult

__all__ = ["Bot", "CommunityConfig", "Context", "Messenger"]

log = logging.getLogger(__name__)

DEFAULT_COGS = (
    "cogs.help", "cogs.trivia", "cogs.polls", "cogs.jobs", "cogs.webinars", "cogs.follow", "cogs.stats",
    "cogs.settings", "cogs.privacy",
)
CLOSE_GRACE_SECONDS = 10.0
TIMER_GRACE_SECONDS = 30.0

ForgetHook = Callable[[Member], Awaitable[int]]


class Bot(Dispatch, PlatformReach):
    def __init__(self, settings: Settings, db: Database, clock: Clock, *, edit_interval: float = 1.0) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.registry = Registry()
        self.config = CommunityConfig(SettingsStore(db), settings.bot_timezone)
        self.scheduler = Scheduler(db, clock, zone_of=self.config.zone_of)
        self.config.listeners.append(self._setting_changed)
        self.engagement = EngagementLog(db)
        self.seen = SeenEvents(db)
        self.quotas = QuotaBook(settings.bot_quota_scale)
        self.runs = RunLog(db)
        self.role = "bot"  # what this process is, for the run log (the CLI names it)
        self._run_id: int | None = None
        self._fetcher: Fetcher | None = None  # made on first use: aiohttp is heavy to import
        self.cogs: list[object] = []
        self.platforms: dict[str, Platform] = {}
        self.forget_hooks: dict[str, ForgetHook] = {
            "engagement": self.engagement.forget_member,
            "settings": self.config.store.forget_member,
        }
        self.content_listeners: list[ContentListener] = []  # platforms with a home view (bot/changes.py)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._zones: dict[str | None, ZoneInfo] = {}  # configured zone name -> zone
        self.edits = EditCoalescer(self._edit_now, self.spawn, min_interval=edit_interval)
        self._scheduler_task: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------

    def add_cog(self, cog: object) -> None:
        """Collect a cog's commands, buttons, listeners, timers and settings; a name
        registered twice raises ValueError (at start-up, not at the first click)."""
        name = self.registry.collect(cog)
        for route in self.registry.timers.values():
            if getattr(route.handler, "__self__", None) is cog:  # this cog's own (two cogs may share a name)
                self.scheduler.register(route.name, route.handler, rerun=route.rerun, limit=route.limit,
                                        cleanup=route.cleanup)  # fmt: skip
        self.config.declare(name, tuple(getattr(cog, "settings", ())))
        forget = getattr(cog, "forget_member", None)
        if forget is not None:
            self.forget_hooks[name] = forget
        self.cogs.append(cog)

    def load_cogs(self, modules: tuple[str, ...] = DEFAULT_COGS) -> None:
        """Each cog module has `setup(bot)`, which builds the cog with what it needs."""
        for module in modules:
            importlib.import_module(module).setup(self)

    def add_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Open storage, recover the scheduler, then start each cog (its `start()` hook
        reconciles what a crash may have left half-done); platforms start separately."""
        await self.db.open()
        self._run_id = await self.runs.started(self.clock.now(), self.role)
        recovered = await self.scheduler.recover()
        if any(recovered.values()):
            log.warning("scheduler recovery %s", " ".join(f"{k}={v}" for k, v in recovered.items()))
        for cog in self.cogs:
            start = getattr(cog, "start", None)
            if start is not None:
                await start()

    def start_scheduler(self) -> None:
        self._scheduler_task = asyncio.create_task(self.scheduler.run_forever(), name="scheduler")

    async def close(self) -> None:
        """Stop taking work, finish what is in flight, flush writes, close connections.

        Order matters: timers in progress finish first (one cut short is recovered at the
        next start), then cogs stop, and background work such as coalesced edits gets a
        moment while the platforms can still deliver it."""
        if self._scheduler_task is not None:
            self._scheduler_task.cancel()
            await asyncio.gather(self._scheduler_task, return_exceptions=True)
            self._scheduler_task = None
        await self.scheduler.stop(TIMER_GRACE_SECONDS)
        for cog in reversed(self.cogs):
            stop = getattr(cog, "stop", None)
            if stop is not None:
                try:
                    await stop()
                except Exception:
                    log.exception("stopping cog %s failed", type(cog).__name__)
        try:
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await self.idle()
        except TimeoutError:
            log.warning("background work still running after %ss; closing anyway", CLOSE_GRACE_SECONDS)
        for platform in list(self.platforms.values()):
            try:
                await platform.close()
            except Exception:
                log.exception("closing platform %s failed", platform.name)
        await self.idle()
        if self._fetcher is not None:
            await self._fetcher.close()
        if self._run_id is not None:
            try:
                await self.runs.stopped(self._run_id, self.clock.now())
            except Exception:
                log.exception("could not record a clean stop")
        await self.db.close()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "") -> asyncio.Task[Any]:
        """Run work in the background, tracked so shutdown and the console can wait for it;
        an exception it raises is logged with `what` (and the coroutine's name)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: _log_failure(done, what or getattr(coro, "__qualname__", "task")))
        return task

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- sending outside an interaction -----------------------------------------------------

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        max_bytes: int | None = None, accept: str | None = None,
    ) -> FetchResult:  # fmt: skip
        """Fetch a URL that a member or moderator gave, through the Bot's one HTTP session
        and its safety rules (see bot/fetch.py: private addresses refused unless
        BOT_ALLOW_PRIVATE_URLS, time and size bounds, conditional GET). Raises FetchError."""
        if self._fetcher is None:
            from bot.fetch import Fetcher

            self._fetcher = Fetcher(allow_private=self.settings.bot_allow_private_urls)
            await self._fetcher.start()
        return await self._fetcher.fetch(url, etag=etag, last_modified=last_modified, max_bytes=max_bytes, accept=accept)

    async def first_time(self, platform: str, identity: str) -> bool:
        """Remember a platform request or event identity, durably; True only the first time
        (a retried or replayed delivery is then handled once, also across restarts)."""
        return await self.seen.first_time(platform, identity, self.clock.now())

    async def forget_seen(self, platform: str, older_than: timedelta) -> int:
        """Forget identities older than any retry or replay could be; returns how many went."""
        return await self.seen.prune(platform, self.clock.now() - older_than)

    async def seen_before(self, platform: str, identity: str) -> bool:
        """Whether `first_time` took the identity already (it is not taken here): for work
        recorded as done only once it is done (a form's submission, see slack_forms.py)."""
        return await self.seen.seen(platform, identity)

    async def _setting_changed(self, community: Community, key: str, value: str | None) -> None:
        if key == "timezone":
            moved = await self.scheduler.rezone(community)
            log.info("timezone changed community=%s:%s series_moved=%d", community.platform, community.id, moved)

    def edit(self, ref: MessageRef, card: CardSource, *, final: bool = False) -> None:
        """Update a message soon; edits of one message are coalesced and retried until they
        land (see bot/edits.py). `final`: the message's last state, never given up on."""
        self.edits.submit(ref, card, final=final)

    async def forget_member(self, member: Member) -> dict[str, int]:
        """Run every delete-my-data hook (the core's engagement and settings, then each cog's);
        returns what each removed or anonymised."""
        return {name: await hook(member) for name, hook in self.forget_hooks.items()}

    def content_changed(
        self, community: Community, what: str, *, member: Member | None = None, audience: Role = Role.MEMBER
    ) -> None:
        """What members' homes show may have changed (call it after the change is committed):
        every listener (a platform with a home view) hears it at once and refreshes later,
        coalesced. `member`: only that member's home; `audience`: only from that role up."""
        change = ContentChanged(community, what, member.id if member is not None else None, audience)
        for listener in list(self.content_listeners):
            try:
                listener(change)
            except Exception:
                log.exception("content listener failed what=%s", what)

    async def home(self, member: Member, place: Place) -> list[Card]:
        """A member's home (Slack's App Home tab): the cards of every cog that has
        `async def home(ctx) -> list[Card]`, in cog order (a few cards each, for the
        member's role: organizers get figures; the platform fits them in its own limit,
        Slack's 100 blocks). A cog that fails is left out (and logged); the others still
        show. Rendered again when content changes: see `content_changed`."""
        now = self.clock.now()
        config = self.config.cached(place.community) or await self.config.get(place.community)
        ctx = Context(Interaction(member, place), SilentResponder(), now, self._zone(config), config)
        cards: list[Card] = []
        for cog in self.cogs:
            hook = getattr(cog, "home", None)
            if hook is None or not callable(hook):
                continue
            try:
                cards += await hook(ctx)
            except Exception:
                log.exception("home cards failed cog=%s member=%s", type(cog).__name__, member.id)
        return cards


def _log_failure(task: asyncio.Task[Any], what: str) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background task failed: %s", what, exc_info=exc)
