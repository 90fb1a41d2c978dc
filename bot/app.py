"""The Bot: wiring and lifecycle, and the one path every interaction takes.

platform event -> neutral interaction -> `Bot.dispatch` (role check, one engagement
event, the cog's handler) -> Cards -> the platform renders them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.cards import Card, notice
from bot.changes import ContentChanged, ContentListener
from bot.clock import Clock
from bot.commands import ButtonRoute, Command, CommandSpec, Handler, Registry
from bot.community import CommunityConfig
from bot.config import CommunitySettings, Settings
from bot.context import Context as Context  # where cogs have always found it
from bot.context import Messenger as Messenger
from bot.edits import CardSource, EditCoalescer
from bot.errors import NotAllowed, UserError
from bot.forms import form_args, open_form, show_form_errors
from bot.grammar import build_args, resolve_name, resolve_text, validate_args
from bot.model import (
    ButtonPressed,
    CommandInvoked,
    Community,
    EventInterest,
    Interaction,
    Member,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageRef,
    Place,
    Role,
)
from bot.platforms.base import Platform, Responder, SilentResponder
from bot.quotas import Quota, QuotaBook, quota_of
from bot.reach import PlatformReach
from bot.scheduler import Scheduler
from bot.text import clip_echoes
from bot.timeparse import format_duration
from storage.activity import FORM_OPENED, NO_CHANGE, REFUSED
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
SORRY = "Something went wrong on our side; it has been logged. Please try again."
AUDIT_REFUSALS = Quota(20, 60, moderators=True)  # refused attempts audited per member a minute
AUDIT_FLOOD_NOTE = Quota(1, 60, moderators=True)

ForgetHook = Callable[[Member], Awaitable[int]]


class Bot(PlatformReach):
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

    # -- the one path in -------------------------------------------------------------------

    async def dispatch(self, event: Interaction, responder: Responder) -> bool:
        """Handle one interaction, answering through `responder`; never raises for what the
        member did. Returns True when the handler ran to its end, False when the member was
        told of a problem (refused, mistyped, or a failure of ours, which is logged)."""
        ok = False
        debug = log.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        now = self.clock.now()
        kind, cog, subject = KINDS.get(type(event), "event"), None, None
        community = event.place.community
        try:
            config = self.config.cached(community) or await self.config.get(community)
            ctx = Context(event, responder, now, self._zone(config), config)
            if isinstance(event, CommandInvoked):
                done = False
                try:
                    command, tokens = self._command(event)
                    cog, subject = command.cog, command.spec.name
                    kind = kind if command.spec.activity else NO_CHANGE  # read-only: logged, not activity
                    ctx.carry = (self.engagement, kind, cog, subject)  # a unit of work may write it
                    if await self._run_command(ctx, event, command, tokens):
                        kind = FORM_OPENED
                    elif not ctx.activity:  # the handler changed nothing (/unfollow when not following)
                        kind = NO_CHANGE
                    done = True
                finally:  # refused, mistyped or over quota: logged, but not taking part
                    self._record(ctx, kind if done else REFUSED, cog, subject)
            elif isinstance(event, ButtonPressed):
                try:
                    action, route, args = self._button(event)
                    cog, subject = route.cog, action
                    ctx.carry = (self.engagement, kind, cog, subject)  # a unit of work may write it (a vote)
                    await self._run_button(ctx, action, route.handler, args)
                finally:  # after the handler, which may ask for no name (an anonymous ballot)
                    self._record(ctx, kind, cog, subject)
            else:
                try:
                    cog = await self._run_listeners(ctx, self.registry.listeners.get(type(event), []))
                finally:  # credited to the cog that took the message (a typed trivia answer)
                    self._record(ctx, kind, cog, None)
            ok = True
        except UserError as exc:
            if not await show_form_errors(self.registry, event, responder, exc):
                typed = (getattr(event, "text", ""), getattr(event, "options", None))  # never echoed whole
                await self._safe_respond(responder, notice(clip_echoes(str(exc), *typed)))
        except Exception:
            log.exception(
                "handler failed platform=%s community=%s member=%s kind=%s subject=%s",
                community.platform, community.id, event.member.id, kind, subject,
            )
            await self._safe_respond(responder, notice(SORRY))
        if debug:
            log.debug(
                "dispatched platform=%s community=%s member=%s kind=%s subject=%s ms=%.1f",
                community.platform, community.id, event.member.id, kind, subject,
                (time.perf_counter() - started) * 1000,
            )
        return ok

    def _audit_refusal(self, ctx: Context) -> bool:
        """Whether to write a refused attempt to the audit log: up to AUDIT_REFUSALS per
        member a minute, so a flood of refused commands cannot fill the database (the log
        line says so once a minute)."""
        key = (ctx.community.platform, ctx.community.id, ctx.member.id, "refused")
        if self.quotas.take(AUDIT_REFUSALS, key, key, ctx.now) == 0:
            return True
        if self.quotas.take(AUDIT_FLOOD_NOTE, (*key, "noted"), key, ctx.now) == 0:
            log.warning("refusals not audited member=%s: over %d a minute", ctx.member.id, AUDIT_REFUSALS.member)
        return False

    def _zone(self, config: CommunitySettings) -> ZoneInfo:
        """The community's zone; the configured name is looked up once per name."""
        name = config.values.get("timezone")
        zone = self._zones.get(name)
        if zone is None:
            zone = self._zones[name] = self.config.timezone(config)
        return zone

    def _command(self, event: CommandInvoked) -> tuple[Command, list[str]]:
        """The command an event names, and its argument tokens: a platform with typed
        options (Discord) names it; text that is exactly a command's name (`trivia stop`)
        is looked up as it is; any other text goes through the grammar."""
        if event.name:
            return resolve_name(self.registry, event.name), []
        return resolve_text(self.registry, event.text)

    def _button(self, event: ButtonPressed) -> tuple[str, ButtonRoute, list[Any]]:
        """The route a button's id names (`poll.vote:3:2`), and its arguments converted."""
        action, _, raw = event.custom_id.partition(":")
        route = self.registry.buttons.get(action)
        if route is None:
            raise UserError("That button no longer does anything.")
        return action, route, route.convert(raw.split(":") if raw else [])

    async def _run_button(self, ctx: Context, action: str, handler: Callable[..., Any], args: list[Any]) -> None:
        self._take_quota(ctx, quota_of(handler), action, "clicked that")
        result = await handler(ctx, *args)
        await self._deliver(ctx, result)

    async def _run_listeners(self, ctx: Context, listeners: list[tuple[str, Handler]]) -> str | None:
        """Every listener hears the event; returns the first cog that answered it."""
        took = None
        for cog, handler in listeners:
            result = await handler(ctx)
            if result is not None and took is None:
                took = cog
            await self._deliver(ctx, result)
        return took

    def _record(self, ctx: Context, kind: str, cog: str | None, subject: str | None) -> None:
        """Buffer the interaction's engagement event, unless the handler's unit of work
        carried it into its own transaction (`ctx.engagement()`: then `ctx.recorded`)."""
        if ctx.recorded:
            return
        if ctx.unnamed:  # counted in the daily totals only: no member, no time, no raw row
            self.engagement.record_unnamed(ctx.community, kind, cog, ctx.now.astimezone(ctx.tz))
            return
        self.engagement.event(ctx.community, ctx.member, kind, cog, subject, ctx.now, ctx.tz)

    async def _run_command(
        self, ctx: Context, event: CommandInvoked, command: Command, tokens: list[str]
    ) -> bool:
        """Run a command; True when, instead, its form was opened (bot/forms.py)."""
        spec = command.spec
        if spec.role > Role.MEMBER:
            allowed = ctx.member.role >= spec.role
            if allowed or self._audit_refusal(ctx):
                await self.engagement.audit(ctx.community, ctx.member, f"/{spec.name}", allowed, ctx.now)
            if not allowed:
                log.warning("refused member=%s command=/%s role=%s", ctx.member.id, spec.name, ctx.member.role.label)
                raise NotAllowed(f"Only {spec.role.label}s can use /{spec.name}.")
        options = event.options
        if not options and not tokens and spec.no_args is not None:
            args = spec.no_args  # one shared, frozen instance: nothing to parse or validate
        elif event.form and spec.form is not None:
            args = form_args(spec, options or {}, {"now": ctx.now, "tz": ctx.tz})
        elif not options and not tokens and spec.form is not None and await self._open_form(ctx, spec):
            return True
        elif options is not None:
            args = validate_args(spec, dict(options), {"now": ctx.now, "tz": ctx.tz})
        else:
            args = build_args(spec, tokens, {"now": ctx.now, "tz": ctx.tz})
        if spec.quota is not None:
            self._take_quota(ctx, spec.quota, spec.name, f"used /{spec.name}")
        result = await command.handler(ctx, args)
        await self._deliver(ctx, result)
        return False

    async def _open_form(self, ctx: Context, spec: CommandSpec) -> bool:
        """Open the command's form where the platform has forms (bot/forms.py), unless the
        member is over its quota: no form is filled in only to be refused."""
        if getattr(ctx._responder, "open_form", None) is None:
            return False
        self._take_quota(ctx, spec.quota, spec.name, f"used /{spec.name}", peek=True)
        return await open_form(ctx._responder, spec)

    def _take_quota(self, ctx: Context, quota: Quota | None, name: str, done: str, *, peek: bool = False) -> None:
        """Count one use of `name` against its quota (per member and per channel, see
        bot/quotas.py; `peek`: count nothing); raises NotAllowed "You have {done} a lot just
        now; try again in N" (a refusal for now: no form field could fix it)."""
        if quota is None or not quota.applies_to(ctx.member.role):
            return
        wait = self.quotas.take(
            quota, (ctx.community.platform, ctx.community.id, ctx.member.id, name),
            (ctx.community.platform, ctx.community.id, ctx.place.channel_id, name), ctx.now, peek=peek,
        )  # fmt: skip
        if wait:
            raise NotAllowed(f"You have {done} a lot just now; try again in "
                            f"{format_duration(timedelta(seconds=wait + 0.5))}.")  # fmt: skip

    def _deliver(self, ctx: Context, result: Card | list[Card] | None) -> Awaitable[Any]:
        """Answer with what a handler returned. A plain function: the usual answer, one card,
        is handed straight to the responder (no coroutine of ours in between, on the hot path)."""
        if type(result) is Card:
            return ctx._responder.respond(result)
        return self._deliver_all(ctx, result)

    async def _deliver_all(self, ctx: Context, result: Card | list[Card] | None) -> None:
        for card in [result] if isinstance(result, Card) else list(result or []):
            await ctx.respond(card)

    async def _safe_respond(self, responder: Responder, card: Card) -> None:
        try:
            await responder.respond(card)
        except Exception:
            log.exception("could not deliver an error notice")


def _log_failure(task: asyncio.Task[Any], what: str) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background task failed: %s", what, exc_info=exc)


KINDS: dict[type, str] = {
    CommandInvoked: "command",
    ButtonPressed: "button",
    MessagePosted: "message",
    MemberJoined: "member_joined",
    EventInterest: "event_interest",
    MemberLeft: "member_left",
}
