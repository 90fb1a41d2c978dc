"""A fake Discord on 127.0.0.1: enough REST and gateway for the real discord.py 2.7 to log
in, sync slash commands, receive interactions and answer them, reconnect and resume.

Used in-process by the e2e tests (the bot runs in the test's loop or as an `alcts-bot run`
subprocess) and as a process of its own by `bench/discord_clicks.py`
(`python -m tests.e2e.discord.fake_discord --control`), which drives it over /_control.

What discord.py needs from it, learned the hard way: JSON answers with Content-Type exactly
`application/json`; every INTERACTION_CREATE carries id, application_id, type, token,
version and attachment_size_limit; the interaction callback (posted with_response=1)
answers with an `interaction` object and the created message as `resource`; READY carries
`resume_gateway_url` (and `shard` for a sharded client).

Modals: a callback of type 9 is refused as Discord refuses it (`fake_modals.modal_error`, and
never in answer to a modal's submission); `submit` sends the MODAL_SUBMIT (interaction type 5)
that Discord's client sends when a member fills in a modal and presses Submit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.e2e.discord.fake_modals import modal_error, submission

TOKEN = "fake-bot-token.for-loopback.tests"
APP_ID = 900000000000000001
GUILD_ID = 800000000000000001
CHANNEL_ID = 700000000000000001
EPOCH = "2026-01-01T00:00:00.000000+00:00"
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11)  # view channel, send messages
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content

MODAL = 9  # the interaction callback type that opens a modal

# gateway opcodes
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    0, 1, 2, 6, 7, 8, 9, 10, 11)  # fmt: skip


@dataclass
class FakeUser:
    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    permissions: int = MEMBER_PERMISSIONS
    bot: bool = False

    def user(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "discriminator": "0", "global_name": self.name,
                "avatar": None, "bot": self.bot}  # fmt: skip

    def member(self) -> dict[str, Any]:
        return {"user": self.user(), "roles": [str(r) for r in self.roles], "joined_at": EPOCH, "deaf": False,
                "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
                "permissions": str(self.permissions)}  # fmt: skip


@dataclass
class FakeGuild:
    id: int = GUILD_ID
    name: str = "ALCTS Test Guild"
    member_count: int = 42
    channel_id: int = CHANNEL_ID
    roles: dict[int, str] = field(default_factory=dict)  # id -> name, besides @everyone
    channels: dict[int, str] = field(default_factory=dict)  # more text channels: id -> name
    private: dict[int, int] = field(default_factory=dict)  # channel id -> the one role that may view it
    read_only: set[int] = field(default_factory=set)  # channels where @everyone may not send messages

    def channel(self, channel_id: int | None = None) -> dict[str, Any]:
        """A text channel of this guild as interactions carry it (`general`, one of `channels`,
        or `channel-ID`); a `private` one denies @everyone the View Channel permission and
        grants it to its role; a `read_only` one denies @everyone Send Messages."""
        channel_id = channel_id or self.channel_id
        name = "general" if channel_id == self.channel_id else self.channels.get(channel_id, f"channel-{channel_id}")
        overwrites = []
        if channel_id in self.private:
            overwrites = [{"id": str(self.id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
                          {"id": str(self.private[channel_id]), "type": 0, "allow": str(VIEW_CHANNEL), "deny": "0"}]  # fmt: skip
        if channel_id in self.read_only:
            overwrites.append({"id": str(self.id), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)})
        position = list(self.channels).index(channel_id) + 1 if channel_id in self.channels else 0
        return {"id": str(channel_id), "type": 0, "name": name, "guild_id": str(self.id), "position": position,
                "permission_overwrites": overwrites, "nsfw": False, "parent_id": None}  # fmt: skip

    def role(self, role_id: int) -> dict[str, Any]:
        names = {self.id: "@everyone", **self.roles}
        if role_id not in names:
            raise AssertionError(f"no role {role_id} in guild {self.id}")
        return _role(role_id, names[role_id], list(names).index(role_id), 0)

    def bot_refusal(self, channel_id: int) -> tuple[str, int] | None:
        """How Discord refuses the bot's post in one of this guild's channels, or None: the bot
        holds only @everyone, so a `private` channel is Missing Access, a `read_only` one
        Missing Permissions."""
        if channel_id in self.private:
            return "Missing Access", 50001
        if channel_id in self.read_only:
            return "Missing Permissions", 50013
        return None

    def payload(self, me: FakeUser | None = None) -> dict[str, Any]:
        """GUILD_CREATE's guild; `me`, the bot, is its one member there (as Discord always
        includes the current user), so discord.py knows `guild.me` and its permissions."""
        roles = [_role(self.id, "@everyone", 0, MEMBER_PERMISSIONS)]
        roles += [_role(rid, name, i + 1, 0) for i, (rid, name) in enumerate(self.roles.items())]
        channel = {"id": str(self.channel_id), "type": 0, "name": "general", "position": 0,
                   "guild_id": str(self.id), "permission_overwrites": [], "nsfw": False, "parent_id": None}  # fmt: skip
        more = [self.channel(channel_id) for channel_id in self.channels]
        return {
            "id": str(self.id), "name": self.name, "icon": None, "owner_id": "1", "member_count": self.member_count,
            "approximate_member_count": self.member_count, "roles": roles, "channels": [channel, *more],
            "members": [{k: v for k, v in me.member().items() if k != "permissions"}] if me else [],
            "voice_states": [], "presences": [], "threads": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "emojis": [], "stickers": [], "features": [],
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "preferred_locale": "en-US",
            "system_channel_id": str(self.channel_id), "system_channel_flags": 0, "large": False,
            "unavailable": False, "joined_at": EPOCH,
        }  # fmt: skip


def _role(role_id: int, name: str, position: int, permissions: int) -> dict[str, Any]:
    return {"id": str(role_id), "name": name, "color": 0, "hoist": False, "position": position,
            "permissions": str(permissions), "managed": False, "mentionable": False, "flags": 0}  # fmt: skip


@dataclass
class Session:
    """A gateway session: outlives its websocket, so RESUME can replay what was missed."""

    id: str
    shard: list[int] | None
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


@dataclass
class Answer:
    """Something the bot did to answer an interaction, in order."""

    kind: str  # callback | edit_original | delete_original | followup
    body: dict[str, Any]
    message: dict[str, Any] | None = None

    @property
    def type(self) -> int | None:
        return self.body.get("type")

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data") or self.body

    @property
    def text(self) -> str:
        return message_text(self.message or self.data)

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & 64)

    @property
    def custom_ids(self) -> list[str]:
        return custom_ids(self.message or self.data)


def message_text(message: dict[str, Any]) -> str:
    """Content, embed titles, descriptions, fields and footers as plain lines."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for c in buttons(message) if "custom_id" in c]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button as sent, in order: `{"style": 5, "label", "url"}` for a link button."""
    return [c for row in message.get("components") or [] for c in row.get("components", [])]


class FakeDiscord:
    def __init__(self, *, token: str = TOKEN, guilds: list[FakeGuild] | None = None,
                 heartbeat_ms: int = 41250, host: str = "127.0.0.1") -> None:  # fmt: skip
        self.token = token
        self.guilds = guilds or [FakeGuild()]
        self.heartbeat_ms = heartbeat_ms
        self.host = host
        self.port = 0
        self.bot_user = FakeUser(APP_ID, "ALCTS Bot", bot=True)
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self.requests: list[tuple[str, str]] = []
        self.sync_bodies: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.channel_posts: list[dict[str, Any]] = []
        self.message_edits: list[tuple[int, dict[str, Any]]] = []
        self.role_changes: list[tuple[str, int, int, int]] = []
        self.answers: dict[int, list[Answer]] = {}
        self.answered_at: dict[int, float] = {}
        self.sent_at: dict[int, float] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.sessions: dict[str, Session] = {}
        self.dm_channels: dict[int, int] = {}  # DM channel id -> the member's user id
        self.direct_messages: list[tuple[int, dict[str, Any]]] = []  # (user id, message) in DMs
        self.nonces: dict[tuple[int, str], int] = {}  # (channel, enforced nonce) -> the message it created
        self.dms_closed: set[int] = set()  # users whose DMs answer 403 code 50007
        self.fail_roles = False  # answer role changes with 403, as Discord does without Manage Roles
        self.privileged_allowed = True  # False: refuse privileged intents (4014), as when the portal has them off
        self.edit_delay = 0.0  # seconds each message edit takes
        self.failing_edits = 0  # refuse the next N message edits as Discord does an hour-old message's (30046)
        self.edits_in_flight = 0
        self.max_edits_in_flight = 0
        self.callback_delay = 0.0  # seconds each interaction callback takes to answer, once recorded
        self.on_callback: Callable[[int, Answer], None] | None = None  # called as each callback arrives
        self.interaction_ttl: float | None = None  # refuse callbacks later than this (Discord's is 3 s) with 10062
        self.scheduled_events: dict[int, dict[str, Any]] = {}  # guild scheduled events by id, as they are now
        self.event_changes: list[tuple[str, int, dict[str, Any]]] = []  # (create|edit|delete, event id, body)
        self.refuse_events = False  # answer scheduled-event calls 403 code 50013, as without Manage Events
        self.refuse_event_cancel = False  # refuse status 4 (cancel) with 400, so the bot has to delete instead
        self._tokens: dict[str, int] = {}  # interaction token -> id
        self._interaction_types: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.all_answered = asyncio.Event()
        self.expected_answers = 0

    # -- life ------------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def env(self) -> dict[str, str]:
        return {"DISCORD_TOKEN": self.token, "DISCORD_API_BASE": self.api_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    async def start(self, port: int = 0, *, control: bool = False) -> FakeDiscord:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        api = "/api/v10"
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get(api + "/users/@me", self._me)
        app.router.add_post(api + "/users/@me/channels", self._open_dm)
        app.router.add_get(api + "/oauth2/applications/@me", self._application)
        app.router.add_get(api + "/gateway/bot", self._gateway_bot)
        app.router.add_put(api + "/applications/{app}/commands", self._sync)
        app.router.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync)
        app.router.add_post(api + "/interactions/{id}/{token}/callback", self._callback)
        app.router.add_patch(api + "/webhooks/{app}/{token}/messages/@original", self._edit_original)
        app.router.add_delete(api + "/webhooks/{app}/{token}/messages/@original", self._delete_original)
        app.router.add_post(api + "/webhooks/{app}/{token}", self._followup)
        app.router.add_post(api + "/channels/{channel}/messages", self._channel_post)
        app.router.add_patch(api + "/channels/{channel}/messages/{message}", self._channel_edit)
        app.router.add_get(api + "/guilds/{guild}", self._guild)
        app.router.add_get(api + "/guilds/{guild}/members/{user}", self._guild_member)
        app.router.add_put(api + "/guilds/{guild}/members/{user}/roles/{role}", self._role_change)
        app.router.add_delete(api + "/guilds/{guild}/members/{user}/roles/{role}", self._role_change)
        app.router.add_get(api + "/guilds/{guild}/scheduled-events", self._list_events)
        app.router.add_post(api + "/guilds/{guild}/scheduled-events", self._create_event)
        app.router.add_get(api + "/guilds/{guild}/scheduled-events/{event}", self._get_event)
        app.router.add_patch(api + "/guilds/{guild}/scheduled-events/{event}", self._edit_event)
        app.router.add_delete(api + "/guilds/{guild}/scheduled-events/{event}", self._delete_event)
        if control:
            app.router.add_post("/_control/burst", self._control_burst)
            app.router.add_get("/_control/ready", self._control_ready)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests do -----------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy (checked after every request and gateway frame)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)
        return predicate()

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        await self.wait_for(lambda: sum(1 for s in self.sessions.values() if s.ws is not None) >= count, within)

    async def slash(self, name: str, user: FakeUser, guild: FakeGuild | None = None, *,
                    channel_id: int | None = None, **options: Any) -> int:  # fmt: skip
        """A member runs `/name` with options, as Discord would send it from the synced schema:
        a channel or role option is given as its id (the member picked it), `channel_id` is
        where the member is (default: the guild's channel)."""
        guild = guild or self.guilds[0]
        return await self._interact(2, user, guild, self._command_data(name, options, guild), channel_id=channel_id)

    async def autocomplete(self, name: str, option: str, typed: str, user: FakeUser, guild: FakeGuild | None = None,
                           *, channel_id: int | None = None, **options: Any) -> list[dict[str, Any]]:  # fmt: skip
        """A member types `typed` into `option` of `/name` (the other options as given): the
        autocomplete interaction (type 4) Discord sends for an option synced with
        autocomplete; returns the choices the bot answered with (callback type 8)."""
        guild = guild or self.guilds[0]
        data = self._command_data(name, options, guild, focused=(option, typed))
        interaction_id = await self._interact(4, user, guild, data, channel_id=channel_id)
        answer = await self.reply(interaction_id)
        if answer.type != 8:
            raise AssertionError(f"an autocomplete was answered with type {answer.type}, not 8")
        choices: list[dict[str, Any]] = answer.data["choices"]
        return choices

    async def click(self, custom_id: str, user: FakeUser, message: dict[str, Any] | None = None,
                    guild: FakeGuild | None = None) -> int:  # fmt: skip
        """A member clicks a button; `message` is the message it sits on (any id will do)."""
        guild = guild or self.guilds[0]
        message = message or self._message(guild.channel_id, {"content": "old message"})
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, user, guild, data, message=message)

    async def submit(self, modal: dict[str, Any], user: FakeUser, values: dict[str, Any] | None = None,
                     guild: FakeGuild | None = None, *, channel_id: int | None = None) -> int:  # fmt: skip
        """A member fills in `modal` (the `data` of a type-9 callback) and sends it: the
        MODAL_SUBMIT interaction (type 5) Discord sends (see fake_modals.submission for
        `values` and the shapes), from `channel_id` (default: the guild's channel)."""
        guild = guild or self.guilds[0]

        def channel(picked: int) -> dict[str, Any]:
            return {**guild.channel(picked), "permissions": str(MEMBER_PERMISSIONS)}

        return await self.modal_submit(submission(modal, values or {}, channel), user, guild, channel_id=channel_id)

    async def modal_submit(self, data: dict[str, Any], user: FakeUser, guild: FakeGuild | None = None, *,
                           channel_id: int | None = None) -> int:  # fmt: skip
        """A MODAL_SUBMIT interaction (type 5) carrying `data` as it is (no checks: for a
        client that sends anything)."""
        return await self._interact(5, user, guild or self.guilds[0], data, channel_id=channel_id)

    async def answers_for(self, interaction_id: int, count: int = 1, within: float = 10.0) -> list[Answer]:
        """The first `count` answers to an interaction (callback, edits, follow-ups), in order."""
        await self.wait_for(lambda: len(self.answers.get(interaction_id, [])) >= count, within)
        return self.answers[interaction_id]

    async def reply(self, interaction_id: int, within: float = 10.0) -> Answer:
        return (await self.answers_for(interaction_id, 1, within))[0]

    async def dispatch(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> None:
        """Send a gateway event to the session whose shard holds the guild (logged for RESUME)."""
        for session in list(self.sessions.values()):
            if guild_id is not None and not self._holds(session, guild_id):
                continue
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
            session.log.append(frame)
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(json.dumps(frame))

    async def member_join(self, user: FakeUser, guild: FakeGuild | None = None) -> None:
        guild = guild or self.guilds[0]
        await self.dispatch("GUILD_MEMBER_ADD", {**user.member(), "guild_id": str(guild.id)}, guild.id)

    async def member_leave(self, user: FakeUser, guild: FakeGuild | None = None) -> None:
        guild = guild or self.guilds[0]
        await self.dispatch("GUILD_MEMBER_REMOVE", {"user": user.user(), "guild_id": str(guild.id)}, guild.id)

    async def chat(self, text: str, user: FakeUser, guild: FakeGuild | None = None) -> None:
        guild = guild or self.guilds[0]
        message = self._message(guild.channel_id, {"content": text}, author=user)
        member = {k: v for k, v in user.member().items() if k not in ("user", "permissions")}
        await self.dispatch("MESSAGE_CREATE", {**message, "guild_id": str(guild.id), "member": member}, guild.id)

    async def event_interest(self, event_id: int | str, user: FakeUser, interested: bool = True,
                             guild: FakeGuild | None = None) -> None:  # fmt: skip
        """A member clicks "Interested" on a scheduled event (or takes it back):
        GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE, which carry only ids, as Discord sends them."""
        guild = guild or self.guilds[0]
        event = self.scheduled_events.get(int(event_id))
        if event is not None:
            event["user_count"] = max(0, event.get("user_count", 0) + (1 if interested else -1))
        kind = "GUILD_SCHEDULED_EVENT_USER_ADD" if interested else "GUILD_SCHEDULED_EVENT_USER_REMOVE"
        data = {"guild_scheduled_event_id": str(event_id), "user_id": str(user.id), "guild_id": str(guild.id)}
        await self.dispatch(kind, data, guild.id)

    def events_changed(self, kind: str, event_id: int | str | None = None) -> list[dict[str, Any]]:
        """The bodies of every `create`, `edit` or `delete` of scheduled events (of one event)."""
        return [body for k, i, body in self.event_changes if k == kind and (event_id is None or i == int(event_id))]

    def close_dms(self, user: FakeUser | int) -> None:
        """The user accepts no direct messages: posting into their DM answers 403, code 50007."""
        self.dms_closed.add(user if isinstance(user, int) else user.id)

    def dms_to(self, user: FakeUser | int) -> list[dict[str, Any]]:
        user_id = user if isinstance(user, int) else user.id
        return [message for recipient, message in self.direct_messages if recipient == user_id]

    async def reconnect(self) -> None:
        """Ask every connected session to reconnect (op 7); discord.py then RESUMEs."""
        for session in list(self.sessions.values()):
            if session.ws is not None:
                await session.ws.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def drop(self, code: int = 4000) -> None:
        """Close every gateway connection as a network failure would (resumable close code)."""
        for session in list(self.sessions.values()):
            if session.ws is not None:
                ws, session.ws = session.ws, None
                await ws.close(code=code)

    def synced_names(self, guild_id: int | None = None) -> set[str]:
        """Every command name the last sync declared: `help`, `config show`, ..."""
        names = set()
        for top in self.commands.get(guild_id, []):
            subs = [o["name"] for o in top.get("options", []) if o["type"] == 1]
            names |= {f"{top['name']} {s}" for s in subs} if subs else {top["name"]}
        return names

    def synced(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        """The synced definition of `help` or `config set` (a subcommand's own dict)."""
        words = name.split()
        top = next(c for c in self.commands[guild_id] if c["name"] == words[0])
        return top if len(words) == 1 else next(o for o in top["options"] if o["name"] == words[1])

    # -- interactions ------------------------------------------------------------------------

    async def _interact(self, kind: int, user: FakeUser, guild: FakeGuild, data: dict[str, Any],
                        message: dict[str, Any] | None = None, channel_id: int | None = None) -> int:  # fmt: skip
        channel = guild.channel(channel_id)
        interaction_id = next(self._ids)
        token = f"itoken-{interaction_id}"
        self._tokens[token] = interaction_id
        self._interaction_types[interaction_id] = kind
        self.answers[interaction_id] = []
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": kind, "token": token,
            "version": 1, "attachment_size_limit": 8 * 1024 * 1024, "guild_id": str(guild.id),
            "channel_id": channel["id"], "channel": channel, "member": user.member(), "data": data, "app_permissions": str(MEMBER_PERMISSIONS),
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)}, "context": 0,
        }  # fmt: skip
        if message is not None:
            payload["message"] = message
        self.sent_at[interaction_id] = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload, guild.id)
        return interaction_id

    def _command_data(self, name: str, given: dict[str, Any], guild: FakeGuild,
                      focused: tuple[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
        scope: int | None = guild.id if guild.id in self.commands else None
        words = name.split()
        top = next((c for c in self.commands.get(scope, []) if c["name"] == words[0]), None)
        if top is None:
            raise AssertionError(f"/{words[0]} was never synced")
        resolved: dict[str, dict[str, Any]] = {}
        definitions = top.get("options", [])
        if len(words) == 2:
            sub = next((o for o in definitions if o["name"] == words[1] and o["type"] == 1), None)
            if sub is None:
                raise AssertionError(f"/{name} was never synced")
            definitions = sub.get("options", [])
        values = _values(definitions, given, guild, resolved, focused)
        options = [{"type": 1, "name": words[1], "options": values}] if len(words) == 2 else values
        data = {"id": top["id"], "name": words[0], "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    def suggested_options(self, guild_id: int | None = None) -> set[str]:
        """Every option synced with autocomplete, as `poll results id`."""
        found = set()
        for top in self.commands.get(guild_id, []):
            for option in top.get("options", []):
                if option["type"] == 1:
                    found |= {f"{top['name']} {option['name']} {o['name']}" for o in option.get("options", []) if o.get("autocomplete")}
                elif option.get("autocomplete"):
                    found.add(f"{top['name']} {option['name']}")
        return found

    def _answer(self, interaction_id: int, answer: Answer) -> None:
        self.answers.setdefault(interaction_id, []).append(answer)
        self.answered_at.setdefault(interaction_id, time.perf_counter())
        if self.expected_answers and len(self.answered_at) >= self.expected_answers:
            self.all_answered.set()

    # -- REST ----------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        self.requests.append((request.method, path))
        needs_auth = path.startswith("/api/") and not path.startswith(("/api/v10/interactions/", "/api/v10/webhooks/"))
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        try:
            return await handler(request)
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _me(self, request: web.Request) -> web.Response:
        return _json({**self.bot_user.user(), "verified": True, "mfa_enabled": False, "flags": 0})

    async def _application(self, request: web.Request) -> web.Response:
        return _json({
            "id": str(APP_ID), "name": "ALCTS Bot", "icon": None, "description": "", "rpc_origins": [],
            "bot_public": True, "bot_require_code_grant": False, "owner": {**self.bot_user.user(), "bot": False},
            "summary": "", "verify_key": "0" * 64, "team": None, "flags": 0, "interactions_endpoint_url": None,
            "redirect_uris": [], "approximate_guild_count": len(self.guilds),
        })  # fmt: skip

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _sync(self, request: web.Request) -> web.Response:
        body = await request.json()
        guild = int(request.match_info["guild"]) if "guild" in request.match_info else None
        self.sync_bodies.append((guild, body))
        stored = []
        for command in body:
            item = {**command, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1",
                    "type": command.get("type", 1)}  # fmt: skip
            if guild is not None:
                item["guild_id"] = str(guild)
            stored.append(item)
        self.commands[guild] = stored
        return _json(stored)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction_id = int(request.match_info["id"])
        if self._tokens.get(request.match_info["token"]) != interaction_id:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        if any(a.kind == "callback" for a in self.answers.get(interaction_id, [])):
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, status=400)
        late = self.interaction_ttl is not None and time.perf_counter() - self.sent_at[interaction_id] > self.interaction_ttl
        if late:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        body, files = await _read_body(request)
        kind = body.get("type")
        data = body.get("data") or {}
        if kind == MODAL:  # only a command or a click may be answered with a modal
            error = modal_error(data) if self._interaction_types.get(interaction_id) in (2, 3) else "not a modal's answer"
            if error:
                return _json({"message": f"Invalid Form Body ({error})", "code": 50035}, status=400)
        channel_id = self.guilds[0].channel_id
        message = None
        if kind in (4, 5):  # a message, or the "thinking" placeholder
            placeholder = {"content": "", "flags": data.get("flags", 0) | (128 if kind == 5 else 0)}
            message = self._message(channel_id, data if kind == 4 else placeholder, files=files, kind=20)
        answer = Answer("callback", body, message)
        self._answer(interaction_id, answer)
        if self.on_callback is not None:
            self.on_callback(interaction_id, answer)
        if self.callback_delay:  # acknowledged on arrival; the answer to the bot is slow
            await asyncio.sleep(self.callback_delay)
        result: dict[str, Any] = {"interaction": {
            "id": str(interaction_id), "type": self._interaction_types.get(interaction_id, 2),
            "response_message_loading": kind == 5, "response_message_ephemeral": bool(data.get("flags", 0) & 64),
        }}  # fmt: skip
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": kind, "message": message}
        else:
            result["resource"] = {"type": kind}
        return _json(result)

    async def _edit_original(self, request: web.Request) -> web.Response:
        interaction_id = self._tokens[request.match_info["token"]]
        body, files = await _read_body(request)
        original = next((a.message for a in self.answers[interaction_id] if a.kind == "callback" and a.message), None)
        if original is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        original.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        original["flags"] = original.get("flags", 0) & ~128
        original["attachments"] = _attachments(files, self._ids)
        self._answer(interaction_id, Answer("edit_original", body, dict(original)))
        return _json(original)

    async def _delete_original(self, request: web.Request) -> web.Response:
        interaction_id = self._tokens[request.match_info["token"]]
        self._answer(interaction_id, Answer("delete_original", {}))
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        interaction_id = self._tokens[request.match_info["token"]]
        body, files = await _read_body(request)
        message = self._message(self.guilds[0].channel_id, body, files=files)
        self._answer(interaction_id, Answer("followup", body, message))
        return _json(message)

    async def _channel_post(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        recipient = self.dm_channels.get(channel_id)
        if recipient in self.dms_closed:  # as Discord answers when the user's DMs are closed
            return _json({"message": "Cannot send messages to this user", "code": 50007}, status=403)
        refusal = next((r for g in self.guilds if (r := g.bot_refusal(channel_id))), None)
        if refusal is not None:  # as Discord answers a bot that may not see or write in the channel
            return _json({"message": refusal[0], "code": refusal[1]}, status=403)
        body, files = await _read_body(request)
        if error := component_error(body.get("components") or []):
            return _json({"message": f"Invalid Form Body ({error})", "code": 50035}, status=400)
        nonce = body.get("nonce")
        # as Discord: the same enforced nonce in the same channel within the window (a few
        # minutes; here, for the fake's life) answers with the message already created
        if nonce is not None and body.get("enforce_nonce") and (earlier := self.nonces.get((channel_id, str(nonce)))):
            return _json(self.messages[earlier])
        message = self._message(channel_id, body, files=files)
        if nonce is not None:
            message["nonce"] = nonce
            if body.get("enforce_nonce"):
                self.nonces[(channel_id, str(nonce))] = int(message["id"])
        if recipient is None:
            self.channel_posts.append(message)
        else:
            self.direct_messages.append((recipient, message))
        return _json(message)

    async def _open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels: the DM channel with a user (the same one each time)."""
        user_id = int((await request.json())["recipient_id"])
        channel_id = next((c for c, u in self.dm_channels.items() if u == user_id), None) or next(self._ids)
        self.dm_channels[channel_id] = user_id
        return _json({"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0,
                      "recipients": [FakeUser(user_id, f"user{user_id}").user()]})  # fmt: skip

    async def _channel_edit(self, request: web.Request) -> web.Response:
        message_id = int(request.match_info["message"])
        body, files = await _read_body(request)
        self.edits_in_flight += 1
        self.max_edits_in_flight = max(self.max_edits_in_flight, self.edits_in_flight)
        try:
            await asyncio.sleep(self.edit_delay)
        finally:
            self.edits_in_flight -= 1
        message = self.messages.get(message_id)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        if self.failing_edits > 0:
            self.failing_edits -= 1
            message_text = "Maximum number of edits to messages older than 1 hour reached. Try again later."
            return _json({"message": message_text, "code": 30046}, status=400)
        message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        message["attachments"] = _attachments(files, self._ids)
        self.message_edits.append((message_id, body))
        return _json(message)

    async def _guild(self, request: web.Request) -> web.Response:
        guild = next(g for g in self.guilds if g.id == int(request.match_info["guild"]))
        return _json(guild.payload())

    async def _guild_member(self, request: web.Request) -> web.Response:
        user_id = int(request.match_info["user"])
        member = FakeUser(user_id, f"user{user_id}").member()
        member.pop("permissions")
        return _json(member)

    async def _role_change(self, request: web.Request) -> web.Response:
        if self.fail_roles:
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        info = request.match_info
        self.role_changes.append((request.method, int(info["guild"]), int(info["user"]), int(info["role"])))
        return web.Response(status=204)

    # -- guild scheduled events (a Manage Events permission switch, Discord's checks) ---------------

    async def _create_event(self, request: web.Request) -> web.Response:
        if self.refuse_events:
            return _missing_permissions()
        guild_id = int(request.match_info["guild"])
        body = await request.json()
        event = {
            "id": str(next(self._ids)), "guild_id": str(guild_id), "channel_id": None, "creator_id": str(APP_ID),
            "creator": self.bot_user.user(), "name": "", "description": None, "scheduled_start_time": None,
            "scheduled_end_time": None, "privacy_level": 2, "status": 1, "entity_type": 3, "entity_id": None,
            "entity_metadata": None, "user_count": 0, "image": None, "recurrence_rule": None,
        }  # fmt: skip
        event.update({k: v for k, v in body.items() if k in event})
        if error := event_error(event):
            return _json({"message": f"Invalid Form Body ({error})", "code": 50035}, status=400)
        self.scheduled_events[int(event["id"])] = event
        self.event_changes.append(("create", int(event["id"]), body))
        await self.dispatch("GUILD_SCHEDULED_EVENT_CREATE", event, guild_id)
        return _json(event)

    async def _list_events(self, request: web.Request) -> web.Response:
        if self.refuse_events:
            return _missing_permissions()
        guild_id = request.match_info["guild"]
        return _json([e for e in self.scheduled_events.values() if e["guild_id"] == guild_id])

    def _find_event(self, request: web.Request) -> dict[str, Any] | None:
        event = self.scheduled_events.get(int(request.match_info["event"]))
        return event if event is not None and event["guild_id"] == request.match_info["guild"] else None

    async def _get_event(self, request: web.Request) -> web.Response:
        if self.refuse_events:
            return _missing_permissions()
        event = self._find_event(request)
        if event is None:
            return _unknown_event()
        return _json(event)

    async def _edit_event(self, request: web.Request) -> web.Response:
        if self.refuse_events:
            return _missing_permissions()
        event = self._find_event(request)
        if event is None:
            return _unknown_event()
        body = await request.json()
        status = body.get("status", event["status"])
        allowed = {1: {1, 2, 4}, 2: {2, 3}}.get(event["status"], {event["status"]})  # SCHEDULED, ACTIVE
        if status not in allowed or (status == 4 and self.refuse_event_cancel) or (event["status"] in (3, 4) and body):
            return _json({"message": "Cannot update event status or a finished event", "code": 180000}, status=400)
        changed = {**event, **{k: v for k, v in body.items() if k in event}}
        if error := event_error(changed):
            return _json({"message": f"Invalid Form Body ({error})", "code": 50035}, status=400)
        event.update(changed)
        self.event_changes.append(("edit", int(event["id"]), body))
        await self.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event, int(event["guild_id"]))
        return _json(event)

    async def _delete_event(self, request: web.Request) -> web.Response:
        if self.refuse_events:
            return _missing_permissions()
        event = self._find_event(request)
        if event is None:
            return _unknown_event()
        del self.scheduled_events[int(event["id"])]
        self.event_changes.append(("delete", int(event["id"]), {}))
        await self.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event, int(event["guild_id"]))
        return web.Response(status=204)

    def _message(self, channel_id: int, body: dict[str, Any], *, files: list[tuple[str, int]] | None = None,
                 author: FakeUser | None = None, kind: int = 0) -> dict[str, Any]:  # fmt: skip
        message_id = next(self._ids)
        message = {
            "id": str(message_id), "channel_id": str(channel_id), "type": kind, "content": body.get("content") or "",
            "embeds": body.get("embeds") or [], "components": body.get("components") or [],
            "attachments": _attachments(files or [], self._ids), "author": (author or self.bot_user).user(),
            "timestamp": EPOCH, "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "pinned": False, "flags": body.get("flags", 0),
            "allowed_mentions": body.get("allowed_mentions"),
        }  # fmt: skip
        self.messages[message_id] = message
        return message

    # -- gateway -------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_ms}}))
        session: Session | None = None
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            if op == HEARTBEAT:
                await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            elif op == IDENTIFY:
                self.identifies.append(data)
                if data.get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                if not self.privileged_allowed and data.get("intents", 0) & PRIVILEGED_INTENTS:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                session = await self._identify(ws, data)
            elif op == RESUME:
                self.resumes.append(data)
                session = await self._resume(ws, data)
            elif op == REQUEST_MEMBERS:
                chunk = {"guild_id": str(data["guild_id"]), "members": [], "chunk_index": 0, "chunk_count": 1,
                         "nonce": data.get("nonce")}  # fmt: skip
                await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, int(data["guild_id"]))
            async with self._changed:
                self._changed.notify_all()
        if session is not None and session.ws is ws:
            session.ws = None
        async with self._changed:
            self._changed.notify_all()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session:
        session = Session(f"session-{next(self._ids)}", data.get("shard"), ws=ws)
        self.sessions[session.id] = session
        mine = [g for g in self.guilds if self._holds(session, g.id)]
        ready = {
            "v": 10, "user": {**self.bot_user.user(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in mine], "session_id": session.id,
            "resume_gateway_url": self.gateway_url, "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [], "relationships": [],
        }  # fmt: skip
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._send(session, "READY", ready)
        for guild in mine:
            await self._send(session, "GUILD_CREATE", guild.payload(self.bot_user))
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.token:
            await ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        session.ws = ws
        for frame in session.log:
            if frame["s"] > (data.get("seq") or 0):
                await ws.send_str(json.dumps(frame))
        await self._send(session, "RESUMED", {})
        return session

    async def _send(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        assert session.ws is not None
        await session.ws.send_str(json.dumps(frame))

    @staticmethod
    def _holds(session: Session, guild_id: int) -> bool:
        if session.shard is None:
            return True
        shard_id, count = session.shard
        return (guild_id >> 22) % count == shard_id

    # -- control (the benchmark drives a fake in another process) --------------------------------

    async def _control_ready(self, request: web.Request) -> web.Response:
        connected = sum(1 for s in self.sessions.values() if s.ws is not None)
        return _json({"connected": connected, "synced": sorted(self.synced_names())})

    async def _control_burst(self, request: web.Request) -> web.Response:
        """Send `count` clicks from `members` members (all at once, or at `rate` a second);
        answers with each click's time from INTERACTION_CREATE to its callback."""
        spec = await request.json()
        count, members, rate = int(spec["count"]), int(spec["members"]), float(spec.get("rate") or 0)
        prefix, timeout = spec["action"], float(spec.get("timeout", 60))
        self.answered_at, self.sent_at = {}, {}
        self.all_answered = asyncio.Event()
        self.expected_answers = count
        guild = self.guilds[0]
        message = self._message(guild.channel_id, {"content": "bench"})
        users = [FakeUser(10_000 + i, f"member{i}") for i in range(members)]
        started = time.perf_counter()
        ids = []
        for n in range(count):
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            ids.append(await self.click(f"{prefix}:{n}", users[n % members], message))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_answered.wait(), timeout)
        finished = max(self.answered_at.values(), default=time.perf_counter())
        latencies = [self.answered_at[i] - self.sent_at[i] for i in ids if i in self.answered_at]
        self.expected_answers = 0
        return _json({
            "sent": count, "answered": len(latencies), "seconds": finished - started,
            "latencies_ms": sorted(1000 * x for x in latencies),
            "error_answers": sum(1 for i in ids for a in self.answers.get(i, []) if "went wrong" in a.text),
        })  # fmt: skip


def component_error(rows: list[dict[str, Any]]) -> str | None:
    """Why Discord would refuse these buttons, or None: 5 rows of 5, a label of at most 80;
    a link button (style 5) has an http(s) url and no custom_id, the others the reverse."""
    if len(rows) > 5 or any(len(row.get("components", [])) > 5 for row in rows):
        return "more than 5 rows or 5 buttons in a row"
    for button in (c for row in rows for c in row.get("components", [])):
        if len(button.get("label", "")) > 80:
            return "label over 80 characters"
        if button.get("style") == 5:
            if "custom_id" in button or not str(button.get("url", "")).startswith(("http://", "https://")):
                return "a link button needs an http(s) url and no custom_id"
            if len(button["url"]) > 512:
                return "url over 512 characters"
        elif "url" in button or not 1 <= len(button.get("custom_id", "")) <= 100:
            return "a button needs a custom_id of 1 to 100 characters and no url"
    return None


def event_error(event: dict[str, Any]) -> str | None:
    """Why Discord would refuse this scheduled event, or None: a name of 1-100, a description
    up to 1,000, an ISO start; an external one (entity_type 3) needs a location of 1-100 in
    entity_metadata and an end after its start; privacy_level 2 (guild only)."""
    if not 1 <= len(event.get("name") or "") <= 100:
        return "name: 1 to 100 characters"
    if len(event.get("description") or "") > 1000:
        return "description: at most 1000 characters"
    if event.get("privacy_level") != 2:
        return "privacy_level: must be 2"
    try:
        start = datetime.fromisoformat(str(event.get("scheduled_start_time")))
        end = datetime.fromisoformat(str(event["scheduled_end_time"])) if event.get("scheduled_end_time") else None
    except ValueError:
        return "scheduled_start_time/scheduled_end_time: ISO8601 timestamps"
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        return "scheduled_start_time/scheduled_end_time: need an offset"
    if event.get("entity_type") == 3:
        if not 1 <= len((event.get("entity_metadata") or {}).get("location") or "") <= 100:
            return "entity_metadata.location: 1 to 100 characters for an external event"
        if end is None or end <= start:
            return "scheduled_end_time: required after the start for an external event"
    elif event.get("entity_type") not in (1, 2):
        return "entity_type: 1, 2 or 3"
    return None


def _missing_permissions() -> web.Response:
    return _json({"message": "Missing Permissions", "code": 50013}, status=403)


def _unknown_event() -> web.Response:
    return _json({"message": "Unknown Guild Scheduled Event", "code": 10070}, status=404)


CHANNEL_OPTION, ROLE_OPTION = 7, 8


def _values(definitions: list[dict[str, Any]], given: dict[str, Any], guild: FakeGuild,
            resolved: dict[str, dict[str, Any]], focused: tuple[str, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Typed option values, checked against the synced schema as Discord's client would: a
    channel or role is picked (given as its id; it is sent with its `resolved` object), and
    an autocomplete carries the option being typed, as text, marked `focused`."""
    by_name = {d["name"]: d for d in definitions}
    values = []
    for name, value in given.items():
        definition = by_name.get(name)
        if definition is None:
            raise AssertionError(f"no option {name!r}; synced: {sorted(by_name)}")
        kind = definition["type"]
        kinds = {3: str, 4: int, 5: bool, 10: float, CHANNEL_OPTION: int, ROLE_OPTION: int}
        if not isinstance(value, kinds[kind]) or isinstance(value, bool) is not (kind == 5):
            raise AssertionError(f"option {name} takes {kinds[kind].__name__}, got {value!r}")
        choices = [c["value"] for c in definition.get("choices") or []]
        if choices and value not in choices:
            raise AssertionError(f"option {name} must be one of {choices}")
        if kind == CHANNEL_OPTION:
            channel = guild.channel(value)
            if definition.get("channel_types") and channel["type"] not in definition["channel_types"]:
                raise AssertionError(f"option {name} takes channels of types {definition['channel_types']}")
            resolved.setdefault("channels", {})[str(value)] = {**channel, "permissions": str(MEMBER_PERMISSIONS)}
            value = str(value)
        elif kind == ROLE_OPTION:
            resolved.setdefault("roles", {})[str(value)] = guild.role(value)
            value = str(value)
        values.append({"name": name, "type": kind, "value": value})
    if focused is not None:
        name, typed = focused
        definition = by_name.get(name)
        if definition is None or not definition.get("autocomplete"):
            raise AssertionError(f"option {name!r} was not synced with autocomplete")
        values.append({"name": name, "type": definition["type"], "value": typed, "focused": True})
    else:
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in given]
        if missing:
            raise AssertionError(f"missing required options {missing}")
    return values


async def _read_body(request: web.Request) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """JSON, or multipart (payload_json plus files[n]) when discord.py attaches a file."""
    if not request.content_type.startswith("multipart/"):
        return (await request.json() if request.can_read_body else {}), []
    body: dict[str, Any] = {}
    files: list[tuple[str, int]] = []
    reader = await request.multipart()
    async for part in reader:
        if part.name == "payload_json":
            body = json.loads(await part.text())  # type: ignore[union-attr]
        else:
            files.append((part.filename or "file", len(await part.read())))  # type: ignore[union-attr]
    return body, files


def _attachments(files: list[tuple[str, int]], ids: itertools.count[int]) -> list[dict[str, Any]]:
    return [{"id": str(next(ids)), "filename": name, "size": size, "url": f"https://cdn.invalid/{name}",
             "proxy_url": f"https://cdn.invalid/{name}"} for name, size in files]  # fmt: skip


def _json(data: Any, status: int = 200) -> web.Response:
    # exactly "application/json": discord.py does not parse "application/json; charset=utf-8"
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(latencies_ms)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": ordered[-1],
    }


async def _serve(port: int, control: bool) -> None:
    fake = await FakeDiscord().start(port, control=control)
    print(json.dumps({"port": fake.port, "token": fake.token}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="a fake Discord on 127.0.0.1, driven over /_control")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control", action="store_true", help="serve /_control (the benchmark)")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.control))


if __name__ == "__main__":
    main()
