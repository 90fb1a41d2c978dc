"""The one path every interaction takes: `dispatch` (a mixin of the Bot, bot/app.py).

neutral interaction -> the community's settings and zone -> the command, button or
listeners it names -> role check, quota, arguments (typed text, a platform's options or a
form) -> the cog's handler -> its cards to the responder -> one engagement event (unless
the handler's unit of work carried it: `Context.engagement`). What the member did wrong is
told in one sentence (UserError, NotAllowed); a failure of ours is logged and told as SORRY.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.cards import Card, notice
from bot.clock import Clock
from bot.commands import ButtonRoute, Command, CommandSpec, Handler, Registry
from bot.community import CommunityConfig
from bot.config import CommunitySettings
from bot.context import Context
from bot.errors import NotAllowed, UserError
from bot.forms import form_args, open_form, show_form_errors
from bot.grammar import build_args, resolve_name, resolve_text, validate_args
from bot.model import (
    ButtonPressed,
    CommandInvoked,
    EventInterest,
    Interaction,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    Role,
)
from bot.platforms.base import Responder
from bot.quotas import Quota, QuotaBook, quota_of
from bot.text import clip_echoes
from bot.timeparse import format_duration
from storage.activity import FORM_OPENED, NO_CHANGE, REFUSED
from storage.engagement import EngagementLog

log = logging.getLogger("bot.app")

SORRY = "Something went wrong on our side; it has been logged. Please try again."
AUDIT_REFUSALS = Quota(20, 60, moderators=True)  # refused attempts audited per member a minute
AUDIT_FLOOD_NOTE = Quota(1, 60, moderators=True)

KINDS: dict[type, str] = {
    CommandInvoked: "command",
    ButtonPressed: "button",
    MessagePosted: "message",
    MemberJoined: "member_joined",
    EventInterest: "event_interest",
    MemberLeft: "member_left",
}


class Dispatch:
    """The Bot's `dispatch`; the Bot sets the attributes."""

    clock: Clock
    config: CommunityConfig
    registry: Registry
    engagement: EngagementLog
    quotas: QuotaBook
    _zones: dict[str | None, ZoneInfo]

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
