"""How the Discord adapter answers: an interaction (reply, follow-ups, a deferral when a
command's handler is slow) or a chat message (a post in its channel)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord

from bot.cards import Card
from bot.model import MessageRef
from bot.platforms.discord_render import Rendered, render

log = logging.getLogger("bot.platforms.discord")

PLATFORM = "discord"
UNKNOWN_INTERACTION = 10062  # answered after Discord's 3 s: the member saw "This interaction failed"


class InteractionResponder:
    """Answers one interaction: the first card replies, later ones follow up.

    If a command's handler has not answered within `defer_after` seconds it is deferred
    (Discord shows "thinking"), so slow work never misses Discord's 3 s limit; the first
    card then replaces the placeholder.

    A click is never deferred on a timer: a silent deferral tells Discord (and the member)
    the click was taken, and Discord never redelivers it, so a vote still waiting for the
    database when the process dies would be acknowledged and lost. A click is acknowledged
    by its handler's first answer, which comes after the handler has committed its effect,
    or by `finish()` once the handler is done. One answered after Discord's 3 s is refused
    by Discord (the member sees "This interaction failed"; the effect is stored).
    """

    def __init__(self, interaction: discord.Interaction, *, component: bool, defer_after: float,
                 render: Callable[[Card], Rendered] = render) -> None:  # fmt: skip
        """`render`: how cards become messages (the platform's, which remembers them)."""
        self.interaction = interaction
        self.render = render
        self.component = component
        self._lock = asyncio.Lock()
        self._thinking = False  # a public "thinking" placeholder is waiting to be replaced
        self._expired = False  # Discord refused the first answer as too late
        self._deferral: asyncio.Task[None] | None = None
        self._timer = None if component else asyncio.get_running_loop().call_later(defer_after, self._start_deferral)

    async def respond(self, card: Card) -> MessageRef | None:
        rendered = self.render(card)
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self._expired:
                return None
            try:
                message_id = await self._deliver(rendered.send_kwargs, rendered.edit_kwargs, card.ephemeral)
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_INTERACTION or self.interaction.response.is_done():
                    raise
                self._expired = True
                log.warning("answered after Discord's 3 s interaction=%s: the member saw it fail", self.interaction.id)
                return None
        if message_id is None:
            return None
        return MessageRef(PLATFORM, str(self.interaction.channel_id), str(message_id))

    async def _deliver(self, send: Callable[[], dict[str, Any]], edit: Callable[[], dict[str, Any]], ephemeral: bool) -> int | None:
        response = self.interaction.response
        if not response.is_done():
            callback = await response.send_message(**send(), ephemeral=ephemeral)
            return callback.message_id
        if self._thinking:
            self._thinking = False
            if not ephemeral:
                return (await self.interaction.edit_original_response(**edit())).id
            await self.interaction.delete_original_response()  # the placeholder was public; this card is not
        message = await self.interaction.followup.send(**send(), ephemeral=ephemeral, wait=True)
        return message.id

    def _start_deferral(self) -> None:
        self._deferral = asyncio.create_task(self._defer())

    async def _defer(self) -> None:
        async with self._lock:
            if self.interaction.response.is_done():
                return
            try:
                if self.component:
                    await self.interaction.response.defer()
                else:
                    await self.interaction.response.defer(thinking=True)
                    self._thinking = True
            except discord.HTTPException as exc:
                log.warning("could not defer interaction=%s status=%s", self.interaction.id, exc.status)

    async def finish(self) -> None:
        """After the handler: acknowledge a click nobody answered, drop an unused placeholder."""
        if self._timer is not None:
            self._timer.cancel()
        if self._deferral is not None:
            await asyncio.gather(self._deferral, return_exceptions=True)
        async with self._lock:
            if self._expired:
                return
            try:
                if not self.interaction.response.is_done():
                    if self.component:
                        await self.interaction.response.defer()
                    else:
                        await self.interaction.response.send_message("Done.", ephemeral=True)
                elif self._thinking:
                    self._thinking = False
                    await self.interaction.delete_original_response()
            except discord.HTTPException as exc:
                log.warning("could not close interaction=%s status=%s", self.interaction.id, exc.status)


class ChannelResponder:
    """Answers a chat message in its channel. Discord has no private reply to a message,
    so ephemeral cards (meant for the author only) are not shown."""

    def __init__(self, channel: discord.abc.Messageable, channel_id: str) -> None:
        self.channel = channel
        self.channel_id = channel_id

    async def respond(self, card: Card) -> MessageRef | None:
        if card.ephemeral:
            log.debug("not shown on Discord: a private answer to a chat message")
            return None
        message = await self.channel.send(**render(card).send_kwargs())
        return MessageRef(PLATFORM, self.channel_id, str(message.id))
