"""A fake Slack on 127.0.0.1, for the real slack-bolt app to talk to.

`FakeSlack` serves the Web API methods the adapter calls (JSON, form and query bodies,
bearer tokens, scopes, Block Kit limits checked the way Slack rejects a message), the
response_url endpoints, file uploads, modals (`views.open`, `views.update`: fake_views.py)
and a Socket Mode websocket. `SlackWire` builds the payloads Slack sends (a modal's
submission and clicks too) and signs them (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`).
The fake keeps its own table of the scopes each method needs; the token is granted the
manifest's scopes, so a method the manifest forgot fails as `missing_scope`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.e2e.slack.fake_views import FakeViews, Trigger, ViewWire

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0LIBRARY"
TEAM_NAME = "Library Folk"
BOT_USER = "U0BOTUSER"
BOT_ID = "B0BOTID01"

METHOD_SCOPES: dict[str, set[str]] = {  # any one of these grants the method (Slack's docs)
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "users.info": {"users:read"},
    "users.list": {"users:read"},
    "usergroups.users.list": {"usergroups:read"},
    "usergroups.list": {"usergroups:read"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    "conversations.members": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "conversations.join": {"channels:join"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.open": {"im:write"},
    "conversations.history": {"channels:history", "groups:history"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}


POST_ERRORS = {"messages_tab_disabled", "restricted_action", "is_archived"}  # chat.postMessage's DM refusals


def dm_channel(user_id: str) -> str:
    """The id of the bot's DM with a user: D..., as Slack's DM ids start with D."""
    return "D" + user_id[1:]


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class User:
    id: str
    name: str
    display_name: str = ""
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    team_id: str = TEAM_ID  # another team's id: a Slack Connect user
    is_restricted: bool = False  # a guest

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "team_id": self.team_id, "name": self.name, "real_name": self.name.title(),
            "is_admin": self.is_admin, "is_owner": self.is_owner, "is_primary_owner": False,
            "is_bot": self.is_bot, "deleted": self.deleted, "is_restricted": self.is_restricted,
            "profile": {"display_name": self.display_name, "real_name": self.name.title()},
        }  # fmt: skip


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    members: set[str] = field(default_factory=set)


@dataclass
class Post:
    """One message as members would see it, however it was sent."""

    via: str  # chat.postMessage, chat.postEphemeral, response_url, file
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str = ""
    user: str | None = None  # who sees an ephemeral message
    ephemeral: bool = False
    edits: int = 0
    metadata: dict[str, Any] | None = None  # chat.postMessage's `metadata`, as conversations.history shows it

    def headers(self) -> list[str]:
        return [b["text"]["text"] for b in self.blocks if b["type"] == "header"]

    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b["type"] == "actions" for e in b["elements"]]

    def everything(self) -> str:
        """All the text of the message, for assertions."""
        return json.dumps(self.blocks, ensure_ascii=False) + "\n" + self.text


class FakeSlack(FakeViews):
    def __init__(self, scopes: set[str]) -> None:
        self.scopes = scopes
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, set[str]] = {}
        self.usergroup_handles: dict[str, str] = {}  # id -> handle (`organizers`); unset: the id in lower case
        self.files: dict[str, dict[str, Any]] = {}
        self.posts: list[Post] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.homes: dict[str, Post] = {}  # user -> their Home tab as last published (views.publish)
        self.views: dict[str, dict[str, Any]] = {}  # modals: views.open and views.update (fake_views.py)
        self.triggers: dict[str, Trigger] = {}  # trigger_id -> when, by whom, where (fake_views.py)
        self.response_urls: dict[str, int] = {}  # token -> uses
        self.response_url_messages: dict[str, str] = {}  # token -> ts of the message clicked
        self.ratelimit_next: dict[str, int] = {}  # method -> how many 429s to answer
        self.delays: dict[str, float] = {}  # method, or "response_url" -> seconds before answering
        self.reject_slack_files = False  # as Slack does while an upload is still processing
        self.dm_refusals: dict[str, tuple[str, str]] = {}  # user -> (method, error) refusing a DM
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._add_bot()

    # -- the workspace ---------------------------------------------------------------------

    def _add_bot(self) -> None:
        self.users[BOT_USER] = User(BOT_USER, "alcts-bot", is_bot=True)

    def add_user(self, user_id: str, name: str, **flags: Any) -> User:
        self.users[user_id] = User(user_id, name, **flags)
        return self.users[user_id]

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, bot_member: bool = True,
                    members: tuple[str, ...] = ()) -> Channel:  # fmt: skip
        channel = Channel(channel_id, name, private, set(members) | ({BOT_USER} if bot_member else set()))
        self.channels[channel_id] = channel
        return channel

    def refuse_dms(self, user_id: str, error: str = "messages_tab_disabled") -> None:
        """Direct messages to the user fail with `error`: at chat.postMessage for the ones
        Slack gives there (the app's Messages tab is off...), else at conversations.open."""
        method = "chat.postMessage" if error in POST_ERRORS else "conversations.open"
        self.dm_refusals[user_id] = (method, error)

    def dms_to(self, user_id: str) -> list[Post]:
        """Messages in the bot's DM with the user."""
        return [p for p in self.posts if p.channel == dm_channel(user_id) and not p.ephemeral]

    # -- serving ---------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        await web.SockSite(self._runner, sock, backlog=2048).start()
        return self

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def new_response_url(self, message_ts: str = "") -> str:
        """A response_url; a click's one knows its message, for `replace_original`."""
        token = f"r{next(self._ids)}"
        self.response_urls[token] = 0
        if message_ts:
            self.response_url_messages[token] = message_ts
        return f"{self.url}/response/{token}"

    def called(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def in_channel(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel and not p.ephemeral]

    def seen_by(self, user: str) -> list[Post]:
        """Ephemeral posts shown to `user`."""
        return [p for p in self.posts if p.ephemeral and p.user == user]

    # -- the Web API -----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(await request.post())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.pop("token", "")
        self.calls.append((method, args))
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if self.ratelimit_next.get(method):
            self.ratelimit_next[method] -= 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})
        try:
            self._authorize(method, token)
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            result = handler(args)
        except SlackError as exc:
            return web.json_response({"ok": False, "error": exc.error})
        return web.json_response({"ok": True, **result})

    def _authorize(self, method: str, token: str) -> None:
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            raise SlackError("invalid_auth" if token else "not_authed")
        needed = METHOD_SCOPES.get(method)
        if needed is not None and not needed & self.scopes:
            raise SlackError("missing_scope")

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://library-folk.example/", "team": TEAM_NAME, "user": "alcts-bot",
                "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID}  # fmt: skip

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://") + "/socket"}

    def _channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None or (channel.private and BOT_USER not in channel.members):
            raise SlackError("channel_not_found")
        return channel

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        self._refuse_dm("chat.postMessage", next((u for u in channel.members if dm_channel(u) == channel.id), ""))
        if BOT_USER not in channel.members and "chat:write.public" not in self.scopes:
            raise SlackError("not_in_channel")
        post = self._post("chat.postMessage", channel.id, args)
        post.ts = self._ts()
        metadata = args.get("metadata")
        post.metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.posts.append(post)
        return {"channel": channel.id, "ts": post.ts, "message": {"text": post.text, "blocks": post.blocks}}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        if BOT_USER not in channel.members:
            raise SlackError("not_in_channel")
        post = self._post("chat.postEphemeral", channel.id, args)
        post.ephemeral, post.user = True, args["user"]
        self.posts.append(post)
        return {"message_ts": self._ts()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args["channel"])  # a private channel the bot is not in: channel_not_found
        target = next((p for p in self.posts if p.ts == args["ts"] and p.channel == args["channel"]), None)
        if target is None:
            raise SlackError("message_not_found")
        update = self._post("chat.update", target.channel, args)
        target.text, target.blocks, target.edits = update.text, update.blocks, target.edits + 1
        return {"channel": target.channel, "ts": target.ts, "text": target.text}

    def _post(self, via: str, channel: str, args: dict[str, Any]) -> Post:
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if error := self.block_error(blocks):
            raise SlackError("invalid_blocks") from AssertionError(error)
        text = args.get("text") or ""
        if not text and not blocks:
            raise SlackError("no_text")
        return Post(via, channel, text, blocks)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """A member's Home tab; needs only a bot token (no scope). Kept per user, last one wins."""
        user = args.get("user_id", "")
        if user not in self.users:
            raise SlackError("user_not_found")
        view = args.get("view") or {}
        if isinstance(view, str):
            view = json.loads(view)
        if view.get("type") != "home":
            raise SlackError("invalid_arguments")
        blocks = view.get("blocks") or []
        if len(blocks) > 100:
            raise SlackError("invalid_blocks") from AssertionError("more than 100 blocks in a view")
        if error := self.block_error(blocks, limit=100):
            raise SlackError("invalid_blocks") from AssertionError(error)
        view_id = f"V{next(self._ids):08d}"
        self.homes[user] = Post("views.publish", view_id, "", blocks, user=user)
        return {"view": {"id": view_id, "type": "home", "blocks": blocks, "hash": f"h{view_id}"}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args["user"])
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.as_json()}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._page(args, "members", [u.as_json() for u in self.users.values()])

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(args["usergroup"])
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": sorted(group)}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"usergroups": [{"id": gid, "team_id": TEAM_ID, "handle": self.usergroup_handles.get(gid, gid.lower()),
                                "name": self.usergroup_handles.get(gid, gid.lower()).title(), "user_count": len(users)}
                               for gid, users in self.usergroups.items()]}  # fmt: skip

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        return self._page(args, "members", sorted(channel.members))

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        return {"channel": self._channel_json(channel)}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        visible = [self._channel_json(c) for c in self.channels.values() if not c.private or BOT_USER in c.members]
        return self._page(args, "channels", visible)

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        if channel.private:
            raise SlackError("method_not_supported_for_channel_type")
        channel.members.add(BOT_USER)
        return {"channel": self._channel_json(channel)}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        if BOT_USER not in channel.members:
            raise SlackError("not_in_channel")
        users = str(args["users"]).split(",")
        if all(u in channel.members for u in users):
            raise SlackError("already_in_channel")
        channel.members.update(users)
        return {"channel": self._channel_json(channel)}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channel's messages newest first, from `oldest` on; each message's metadata
        only with include_all_metadata (as Slack). A DM needs im:history, which the bot
        lacks: missing_scope."""
        channel = self._channel(args["channel"])
        if channel.id.startswith("D") and "im:history" not in self.scopes:
            raise SlackError("missing_scope")
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for post in reversed(self.posts):
            if post.channel != channel.id or post.ephemeral or not post.ts or float(post.ts) < oldest:
                continue
            message: dict[str, Any] = {"type": "message", "ts": post.ts, "text": post.text, "blocks": post.blocks,
                                       "bot_id": BOT_ID, "user": BOT_USER}  # fmt: skip
            if with_metadata and post.metadata:
                message["metadata"] = post.metadata
            messages.append(message)
        page = self._page(args, "messages", messages)
        page["has_more"] = bool(page["response_metadata"]["next_cursor"])
        return page

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args["users"]
        found = self.users.get(user)
        if found is None or found.deleted or found.is_bot:
            raise SlackError("user_not_found" if found is None else "user_disabled" if found.deleted else "cannot_dm_bot")
        self._refuse_dm("conversations.open", user)
        channel_id = dm_channel(user)
        if channel_id not in self.channels:
            self.add_channel(channel_id, "", private=True, members=(user,))
        return {"channel": {"id": channel_id}}

    def _refuse_dm(self, method: str, user: str) -> None:
        refusal = self.dm_refusals.get(user)
        if refusal is not None and refusal[0] == method:
            raise SlackError(refusal[1])

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"filename": args["filename"], "length": int(args["length"]), "data": None,
                               "title": None, "shared_in": None}  # fmt: skip
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        items = json.loads(args["files"]) if isinstance(args["files"], str) else args["files"]
        done = []
        for item in items:
            upload = self.files.get(item["id"])
            if upload is None or upload["data"] is None:
                raise SlackError("file_not_found")
            upload["title"] = item.get("title")
            if channel_id := args.get("channel_id"):
                self._channel(channel_id)
                upload["shared_in"] = channel_id
                self.posts.append(Post("file", channel_id, upload["filename"], [], ts=self._ts()))
            done.append({"id": item["id"], "title": upload["title"]})
        return {"files": done}

    def _channel_json(self, channel: Channel) -> dict[str, Any]:
        return {"id": channel.id, "name": channel.name, "is_private": channel.private,
                "is_member": BOT_USER in channel.members, "num_members": len(channel.members)}  # fmt: skip

    def _page(self, args: dict[str, Any], key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        end = start + min(limit, 2)  # small pages, so paging is exercised
        return {key: items[start:end], "response_metadata": {"next_cursor": str(end) if end < len(items) else ""}}

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    # -- response_url and uploads ------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if self.delays.get("response_url"):
            await asyncio.sleep(self.delays["response_url"])
        if token not in self.response_urls or self.response_urls[token] >= 5:
            return web.Response(status=404, text="expired_url")
        self.response_urls[token] += 1
        body = await request.json()
        blocks = body.get("blocks") or []
        if self.block_error(blocks):
            return web.Response(status=400, text="invalid_blocks")
        channel = request.query.get("channel", "")
        if body.get("replace_original"):  # as Slack does: the clicked message takes the new content
            ts = self.response_url_messages.get(token)
            target = next((p for p in self.posts if ts and p.ts == ts and p.channel == channel), None)
            if target is None:
                return web.Response(status=404, text="message_not_found")
            target.text, target.blocks, target.edits = body.get("text", ""), blocks, target.edits + 1
            return web.Response(text="ok")
        ephemeral = body.get("response_type", "ephemeral") == "ephemeral"
        post = Post("response_url", channel, body.get("text", ""), blocks,
                    ephemeral=ephemeral, user=request.query.get("user"))  # fmt: skip
        if not ephemeral:
            post.ts = self._ts()  # a message in the channel, which later clicks name
        self.posts.append(post)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.files.get(request.match_info["file_id"])
        data = await request.read()
        if upload is None or len(data) != upload["length"]:
            return web.Response(status=400, text="bad upload")
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    # -- Socket Mode -------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    future = self.acks.pop(ack.get("envelope_id", ""), None)
                    if future is not None and not future.done():
                        future.set_result(ack)
        finally:
            self.sockets.remove(ws)
        return ws

    async def envelope(self, kind: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Push one Socket Mode envelope; returns the app's acknowledgement."""
        envelope_id = f"env-{next(self._ids)}"
        future = self.acks[envelope_id] = asyncio.get_running_loop().create_future()
        await self.sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                          "accepts_response_payload": kind != "events_api", **extra})  # fmt: skip
        return await asyncio.wait_for(future, 5)

    # -- what Slack rejects --------------------------------------------------------------------

    def block_error(self, blocks: list[dict[str, Any]], limit: int = 50) -> str | None:
        """Why Slack would answer invalid_blocks, or None (the limits in Slack's reference;
        50 blocks a message, 100 a Home tab view)."""
        if len(blocks) > limit:
            return f"more than {limit} blocks"
        action_ids: set[str] = set()
        for block in blocks:
            kind = block["type"]
            if kind == "header":
                if not _text_ok(block["text"], 150, "plain_text"):
                    return "header text"
            elif kind == "section":
                if "text" in block and not _text_ok(block["text"], 3000):
                    return "section text"
                fields = block.get("fields", [])
                if len(fields) > 10 or not all(_text_ok(f, 2000) for f in fields):
                    return "section fields"
                if "text" not in block and not fields:
                    return "empty section"
            elif kind == "context":
                elements = block["elements"]
                if not 0 < len(elements) <= 10 or not all(_text_ok(e, 3000) for e in elements):
                    return "context"
            elif kind == "actions":
                elements = block["elements"]
                if not 0 < len(elements) <= 25:
                    return "actions: 1 to 25 elements"
                for element in elements:
                    action_id = element["action_id"]
                    if not _text_ok(element["text"], 75, "plain_text") or len(action_id) > 255:
                        return "button text or action_id"
                    if len(element.get("value", "")) > 2000 or action_id in action_ids:
                        return "button value or duplicate action_id"
                    url = element.get("url")
                    if url is not None and not (str(url).startswith(("http://", "https://")) and len(url) <= 3000):
                        return "button url"
                    action_ids.add(action_id)
            elif kind == "divider":
                if set(block) - {"type", "block_id"}:
                    return "divider"
            elif kind == "image":
                slack_file = block.get("slack_file") or {}
                if not block.get("alt_text") or len(block["alt_text"]) > 2000:
                    return "image alt_text"
                if self.reject_slack_files or self.files.get(slack_file.get("id", ""), {}).get("data") is None:
                    return "image slack_file"
            else:
                return f"unknown block {kind}"
        return None


def _text_ok(obj: dict[str, Any], limit: int, kind: str | None = None) -> bool:
    return (kind is None or obj.get("type") == kind) and 0 < len(obj.get("text", "")) <= limit


# -- what Slack sends to the app ------------------------------------------------------------


class SlackWire(ViewWire):
    """Builds the payloads Slack sends, signs them, and POSTs them to the app."""

    def __init__(self, fake: FakeSlack, app_url: str = "", secret: str = SIGNING_SECRET) -> None:
        self.fake = fake
        self.app_url = app_url
        self.secret = secret
        self._ids = itertools.count(1)

    def command(self, text: str, user: str, channel: str, command: str = "/alcts") -> dict[str, str]:
        user_obj = self.fake.users[user]
        response_url = self.fake.new_response_url() + "?" + urlencode({"channel": channel, "user": user})
        return {
            "token": "verification-token", "team_id": TEAM_ID, "team_domain": "library-folk",
            "channel_id": channel, "channel_name": self.fake.channels[channel].name or "directmessage",
            "user_id": user, "user_name": user_obj.name, "command": command, "text": text,
            "api_app_id": "A0APP", "response_url": response_url,
            "trigger_id": self.fake.issue_trigger(f"t{next(self._ids)}", user, channel),
        }  # fmt: skip

    def click(self, value: str, user: str, channel: str, message_ts: str = "", *,
              action_id: str | None = None, ephemeral: bool = False) -> dict[str, Any]:  # fmt: skip
        message_ts = message_ts or self.fake._ts()
        response_url = (self.fake.new_response_url("" if ephemeral else message_ts)
                        + "?" + urlencode({"channel": channel, "user": user}))  # fmt: skip
        return {
            "type": "block_actions", "token": "verification-token", "api_app_id": "A0APP",
            "user": {"id": user, "username": self.fake.users[user].name, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "library-folk"},
            "container": {"type": "message", "message_ts": message_ts,
                          "channel_id": channel, "is_ephemeral": ephemeral},
            "channel": {"id": channel, "name": self.fake.channels[channel].name},
            "response_url": response_url, "trigger_id": f"t{next(self._ids)}",
            "actions": [{"type": "button", "action_id": action_id or value, "block_id": "b",
                         "value": value, "text": {"type": "plain_text", "text": "x"},
                         "action_ts": self.fake._ts()}],
        }  # fmt: skip

    def link_click(self, action_id: str, user: str, channel: str, message_ts: str = "") -> dict[str, Any]:
        """A click on a link button (one with a `url`): Slack opens the page and still sends
        block_actions, with the button's action_id and no value."""
        payload = self.click("", user, channel, message_ts, action_id=action_id)
        del payload["actions"][0]["value"]
        return payload

    def home_opened(self, user: str, tab: str = "home") -> dict[str, Any]:
        """The `app_home_opened` event of `user` opening the app's Home (or Messages) tab."""
        home = self.fake.homes.get(user)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": dm_channel(user), "tab": tab}
        if home is not None:
            event["view"] = {"id": home.channel, "type": "home"}
        return self.event(event)

    def home_click(self, value: str, user: str, *, action_id: str | None = None) -> dict[str, Any]:
        """A click on a button of `user`'s Home tab: block_actions with a `view`, no channel,
        no message and no response_url, as Slack sends it."""
        home = self.fake.homes[user]
        return {
            "type": "block_actions", "token": "verification-token", "api_app_id": "A0APP",
            "user": {"id": user, "username": self.fake.users[user].name, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "library-folk"},
            "container": {"type": "view", "view_id": home.channel},
            "view": {"id": home.channel, "type": "home", "hash": f"h{home.channel}", "callback_id": ""},
            "trigger_id": f"t{next(self._ids)}",
            "actions": [{"type": "button", "action_id": action_id or value, "block_id": "b",
                         "value": value, "text": {"type": "plain_text", "text": "x"},
                         "action_ts": self.fake._ts()}],
        }  # fmt: skip

    def event(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "verification-token", "team_id": TEAM_ID, "api_app_id": "A0APP",
            "event": {"event_ts": self.fake._ts(), **event}, "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True}],
        }  # fmt: skip

    # -- HTTP: signed requests -------------------------------------------------------------

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    @staticmethod
    def encode(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
        """The body and content type Slack uses for each kind of request."""
        if kind == "command":
            return urlencode(payload), "application/x-www-form-urlencoded"
        if kind == "interactive":
            return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        return json.dumps(payload), "application/json"

    def signed(self, kind: str, payload: dict[str, Any], timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The exact bytes and headers of one request, to send (and replay) with `post_raw`."""
        body, content_type = self.encode(kind, payload)
        return body.encode(), {"Content-Type": content_type, **self.sign(body, timestamp)}

    async def post_raw(self, session: aiohttp.ClientSession, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST these bytes with these headers, signed or not, well-formed or not."""
        async with session.post(self.app_url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def post(self, session: aiohttp.ClientSession, kind: str, payload: dict[str, Any], *,
                   timestamp: int | None = None, secret: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, str]:  # fmt: skip
        body, content_type = self.encode(kind, payload)
        signer = SlackWire(self.fake, self.app_url, secret) if secret else self
        all_headers = {"Content-Type": content_type, **signer.sign(body, timestamp), **(headers or {})}
        async with session.post(self.app_url, data=body.encode(), headers=all_headers) as response:
            return response.status, await response.text()
