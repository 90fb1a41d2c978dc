"""Sending to Slack: channel posts, DMs, response_url answers, chart and file uploads, and
the Web API calls behind them. A mixin of `SlackPlatform`, which owns the client, the
session and the remembered clicks it uses."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.cards import Card, File, Image
from bot.config import ConfigError
from bot.model import MessageRef, Place
from bot.platforms.base import DELIVERY_EVENT
from bot.platforms.slack_blocks import render
from bot.platforms.slack_manifest import API_SCOPES

log = logging.getLogger("bot.platforms.slack")

PLATFORM = "slack"
CLICKED_MAX = 1000  # messages whose latest click's response_url is remembered
RESPONSE_URL_LIFE = 30 * 60.0  # seconds
UNREACHABLE = {"not_in_channel", "channel_not_found"}  # answer via response_url instead
HISTORY_MARGIN = timedelta(minutes=10)  # read history from this long before a delivery's intent
HISTORY_PAGES = 5  # of 200 messages: how far back a retry looks for its key
RENDERED = 256  # cards whose Slack blocks are remembered (see SlackSending.rendered)
RESPONSE_URL_USES = 5  # Slack accepts five posts to one response_url, within 30 minutes


def remembered_renders(spell: Callable[[str], str]) -> Callable[[Card], dict[str, Any]]:
    """`render(card, spell=spell)`, remembering the latest RENDERED cards' blocks."""
    return lru_cache(maxsize=RENDERED)(partial(render, spell=spell))


class ResponseUrl:
    """An interaction's response_url, good for a few posts."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.uses = 0

    def take(self) -> str | None:
        if not self.url or self.uses >= RESPONSE_URL_USES:
            return None
        self.uses += 1
        return self.url


class SlackSending:
    """What `SlackPlatform` does to put a card in front of someone."""

    _clicked: OrderedDict[tuple[str, str], tuple[float, ResponseUrl]]  # oldest click first
    spell: Callable[[str], str]
    _rendered: Callable[[Card], dict[str, Any]]  # `rendered()`, remembered (set once `spell` is)

    def rendered(self, card: Card) -> dict[str, Any]:
        """`render(card)` for a card without a chart, as a value the caller must not change
        (spread it into a new dict); the latest RENDERED text-only cards (`Card.text_only`)
        are remembered, so the same answer to a thousand clicks ("Your vote: RDA.") is built
        once."""
        if not card.text_only:
            return render(card, spell=self.spell)
        try:
            return self._rendered(card)
        except TypeError:  # a card holding a list, not a tuple: unhashable, built afresh
            return render(card, spell=self.spell)

    def _remember_click(self, ref: MessageRef, response_url: ResponseUrl) -> None:
        """Keep a click's response_url (shared with its answers' uses) to edit its message.
        O(1) a click (amortised): the message moves to the newest end, and only the expired
        or surplus entries at the oldest end are looked at, each once."""
        now = time.monotonic()
        clicked = self._clicked
        key = (ref.channel_id, ref.message_id)
        clicked[key] = (now, response_url)
        clicked.move_to_end(key)
        while len(clicked) > CLICKED_MAX or clicked[next(iter(clicked))][0] <= now - RESPONSE_URL_LIFE:
            clicked.popitem(last=False)  # the new click is the newest and not expired: the loop ends there

    def _click_url(self, channel_id: str, message_ts: str) -> str | None:
        """A usable response_url from the latest click on a message, if one is remembered."""
        clicked = self._clicked.get((channel_id, message_ts))
        if clicked is None:
            return None
        since, response_url = clicked
        if since <= time.monotonic() - RESPONSE_URL_LIFE:
            del self._clicked[(channel_id, message_ts)]
            return None
        return response_url.take()

    async def deliver(
        self, place: Place, card: Card, *, user: str | None = None, response_url: ResponseUrl | None = None,
        key: str | None = None, since: datetime | None = None,
    ) -> MessageRef | None:  # fmt: skip
        """Ephemeral cards go to the actor through response_url (else chat.postEphemeral);
        others are posted with chat.postMessage, whose `ts` makes them editable later.
        Where the bot may not post (a DM, a private channel it is not in), response_url
        answers in the channel instead.

        With `key` (an idempotency key, bot/platforms/base.py) the message carries it in
        its metadata; with `since` too (a retry of a delivery that may have gone out), the
        channel's history from shortly before `since` is read first, and a message carrying
        the key is returned instead of posting again. Where history cannot be read, the
        card is posted again (at-least-once)."""
        if key is not None and since is not None and not card.ephemeral:
            found = await self._find_delivery(place.channel_id, key, since)
            if found is not None:
                log.info("delivery found in history, not posted again key=%s ts=%s", key, found.message_id)
                return found
        message = await self._message(card)
        keyed = {} if key is None else {"metadata": {"event_type": DELIVERY_EVENT, "event_payload": {"key": key}}}
        ref = None
        if card.ephemeral and user:
            url = response_url.take() if response_url else None
            if not (url and await self._post_to_url(url, card, {"response_type": "ephemeral", **message})):
                await self._post(card, "chat.postEphemeral", channel=place.channel_id, user=user, **message)
        else:
            try:
                posted = await self._post(card, "chat.postMessage", channel=place.channel_id, **message, **keyed)
                ref = MessageRef(PLATFORM, posted["channel"], posted["ts"])
            except SlackApiError as exc:
                url = response_url.take() if response_url else None
                if url is None or exc.response.get("error") not in UNREACHABLE:
                    raise
                if not await self._post_to_url(url, card, {"response_type": "in_channel", **message}):
                    raise
        if card.file is not None:
            await self._share_file(place, card.file, user if card.ephemeral else None)
        return ref

    async def _find_delivery(self, channel: str, key: str, since: datetime) -> MessageRef | None:
        """The bot's message carrying `key` in its metadata, posted from HISTORY_MARGIN
        before `since` on (newest first, at most HISTORY_PAGES pages); None when there is
        none or the history cannot be read (a DM: no im:history; a refusal)."""
        if channel.startswith("D") or self._client is None:
            return None
        oldest = f"{(since - HISTORY_MARGIN).timestamp():.6f}"
        cursor = None
        try:
            for _ in range(HISTORY_PAGES):
                page = await self._api("conversations.history", channel=channel, oldest=oldest, include_all_metadata=True, limit=200,
                                           **({"cursor": cursor} if cursor else {}))  # fmt: skip
                for message in page.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    if (metadata.get("event_type") == DELIVERY_EVENT
                            and (metadata.get("event_payload") or {}).get("key") == key):  # fmt: skip
                        return MessageRef(PLATFORM, channel, str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            log.warning("delivery history unreadable, posting again key=%s error=%s", key, exc.response.get("error"))
            return None
        log.warning("delivery not found in %d history pages, posting again key=%s", HISTORY_PAGES, key)
        return None

    async def _message(self, card: Card) -> dict[str, Any]:
        if card.image is None:
            return self.rendered(card)
        return render(card, await self._upload_image(card.image), self.spell)

    async def _post(self, card: Card, method: str, **args: Any) -> AsyncSlackResponse:
        """Post; if Slack cannot show an uploaded chart yet, post it with a text note."""
        try:
            return await self._api(method, **args)
        except SlackApiError as exc:
            if card.image is None or exc.response.get("error") != "invalid_blocks":
                raise
            log.warning("chart refused by Slack, sent as a note method=%s", method)
            return await self._api(method, **{**args, **render(card, spell=self.spell)})

    async def _post_to_url(self, url: str, card: Card, body: dict[str, Any]) -> bool:
        """Answer through a response_url; False when Slack refused it (expired, used up)."""
        webhook = AsyncWebhookClient(url, session=self._session)
        response = await webhook.send_dict(body)
        if response.status_code != 200 and card.image is not None and "invalid_blocks" in response.body:
            response = await webhook.send_dict({**body, **render(card, spell=self.spell)})
        if response.status_code != 200:
            log.warning("response_url refused an answer status=%d body=%s", response.status_code, response.body[:100])
        return response.status_code == 200

    async def _upload_image(self, image: Image) -> str | None:
        """Upload a chart once (by content); None means: show a text note instead."""
        digest = hashlib.sha256(image.data).hexdigest()
        if digest not in self._uploaded:
            try:
                self._uploaded[digest] = await self._upload(image.filename, image.data, image.alt or image.filename)
            except (SlackApiError, SlackUploadError) as exc:
                log.warning("chart upload failed file=%s error=%s", image.filename, exc)
                return None
        return self._uploaded[digest]

    async def _share_file(self, place: Place, file: File, private_to: str | None) -> None:
        """A download in the channel, or in the member's DM when the card was private."""
        channel = place.channel_id
        if private_to is not None:
            channel = (await self._api("conversations.open", users=private_to))["channel"]["id"]
        await self._upload(file.filename, file.data, file.filename, channel)

    async def _upload(self, filename: str, data: bytes, title: str, channel: str | None = None) -> str:
        """slack-sdk's files_upload_v2 (files.getUploadURLExternal, the bytes,
        files.completeUploadExternal); without a channel the file stays unshared. Returns
        the file id. Raises SlackApiError, or SlackUploadError when the bytes are refused."""
        for method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            if method not in API_SCOPES:  # as _api: the manifest must declare what is called
                raise LookupError(f"{method} is not declared in slack_manifest.API_SCOPES")
        if self._client is None:
            raise RuntimeError("the Slack platform has not started")
        try:
            response = await self._client.files_upload_v2(
                filename=filename, content=data, title=title, alt_txt=title, channel=channel
            )
        except SlackRequestError as exc:  # the upload URL answered something other than 200
            raise SlackUploadError(str(exc)) from None
        return str(response["files"][0]["id"])

    async def _api(self, method: str, **args: Any) -> AsyncSlackResponse:
        """Every Web API call (but auth.test) goes through here: the manifest's scopes
        come from API_SCOPES, so a method missing there must not be called."""
        if method not in API_SCOPES:
            raise LookupError(f"{method} is not declared in slack_manifest.API_SCOPES")
        if self._client is None:
            raise RuntimeError("the Slack platform has not started")
        return await getattr(self._client, method.replace(".", "_"))(**args)  # type: ignore[no-any-return]



class SlackUploadError(Exception):
    pass




async def _checked(name: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """A call that proves a token works; a refusal is a configuration error, in one line."""
    try:
        return await call
    except SlackApiError as exc:
        raise ConfigError([f"config: {name} was refused by Slack ({exc.response.get('error')})"]) from None
