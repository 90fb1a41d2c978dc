"""Slack's App Home tab: the cards the cogs give for a member's home (`Bot.home`), rendered
with the message renderer and published with `views.publish`.

The tab is published when the member opens it (`app_home_opened`) and again after each
click on it, so what it shows follows what is stored (RSVP counts, follow state). A click
on the tab has no channel and no `response_url`: its answers (a notice such as "You're
going to ...") are shown at the top of the republished tab instead of as a message.

When the content changes (`Bot.content_changed`: a webinar added, moved, cancelled or
RSVPed, a job posted, the daily question posted, answered or revealed, a follow), the
`HomeRefresher` publishes the tab again for the members who opened it lately: at most
MAX_VIEWERS a community, seen in the last VIEWER_TTL. Bursts are coalesced: a member's tab
is published at most once every REFRESH_INTERVAL seconds (a change in between gets one
trailing refresh, rendered from what is stored then), and all refreshes together at most
PUBLISH_RATE a second (views.publish is in Slack's Tier 4, 100+ a minute), the most recent
viewers first. A hundred RSVPs in a minute cost each viewer at most seven views.publish
calls, not a hundred.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from bot.cards import Card
from bot.changes import ContentChanged
from bot.model import Community, Member, MessageRef
from bot.platforms.slack_blocks import ELLIPSIS, Block, render

log = logging.getLogger("bot.platforms.slack")

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
VIEWER_TTL = 24 * 3600.0  # seconds a member's tab is kept fresh after they last opened it
MAX_VIEWERS = 3000  # recent viewers remembered per community; the least recent go first
MAX_COMMUNITIES = 50  # communities (workspaces) with viewers remembered at once
REFRESH_INTERVAL = 10.0  # seconds between two refreshes of one member's tab, at least
DEBOUNCE = 1.0  # seconds a refresh waits after the first change, to take in its burst
PUBLISH_RATE = 1.5  # refreshes a second at most, all members together
FAILURE_LOG_EVERY = 60.0  # seconds between two log lines about failed refreshes
DIVIDER: Block = {"type": "divider"}


def home_view(
    cards: list[Card], spell: Callable[[str], str] = str, notes: list[str] | None = None
) -> dict[str, Any]:
    """A `home` view: each card as its message blocks, a divider between cards. Cards that
    do not fit in Slack's 100 blocks are left out, and a last line says how many."""
    blocks: list[Block] = []
    for note in notes or []:
        blocks += render(Card(text=note), spell=spell)["blocks"]
    if blocks:
        blocks.append(DIVIDER)
    for index, card in enumerate(cards):
        rendered = render(card, spell=spell)["blocks"]
        separator = [DIVIDER] if index else []
        if len(blocks) + len(separator) + len(rendered) > MAX_HOME_BLOCKS - 1:
            left = len(cards) - index
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"{ELLIPSIS} {left} more part(s) not shown"}]})  # fmt: skip
            break
        blocks += separator + rendered
    if not blocks:
        blocks = render(Card(text="Nothing here yet."), spell=spell)["blocks"]
    return {"type": "home", "blocks": blocks}


class HomeResponder:
    """Answers a click on the Home tab: its cards' texts become notes at the top of the
    tab, which the adapter publishes again once the click is handled."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    async def respond(self, card: Card) -> MessageRef | None:
        if text := "\n".join(part for part in (card.title, card.text) if part):
            self.notes.append(text)
        return None


Publish = Callable[[Community, str], Awaitable[None]]
"""Publish the home of (community, user id) again: the adapter resolves the member (their
role may have changed) and calls `publish_home`."""


@dataclass
class Viewer:
    member: Member  # as last resolved: their role decides organizer-only refreshes
    seen: float  # when they last opened the tab (or clicked on it)
    rendered: float = -math.inf  # when a view of their tab last began rendering


class HomeRefresher:
    """Keeps recent viewers' Home tabs current when content changes, coalesced.

    `opened` remembers a viewer (bounded: `limit` a community, `communities` communities,
    least recent first out; forgotten after `ttl` seconds); `changed` (a `Bot` content
    listener) marks the viewers a change concerns; one background task publishes each
    marked tab once its time comes: `debounce` after the first change, and never sooner
    than `interval` after the member's last render; at most `rate` a second. A change that
    comes while a member's refresh waits joins it; one after its render began gets a
    trailing refresh. `rendering` (every publish calls it, also on open and after a click)
    cancels a waiting refresh that the new render already covers. Memory is bounded by the
    viewers remembered: one waiting refresh each at most."""

    def __init__(
        self, publish: Publish, *, platform: str = "slack", interval: float = REFRESH_INTERVAL,
        debounce: float = DEBOUNCE, rate: float = PUBLISH_RATE, ttl: float = VIEWER_TTL, limit: int = MAX_VIEWERS,
        communities: int = MAX_COMMUNITIES, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._publish = publish
        self.platform = platform
        self.interval, self.debounce, self.rate, self.ttl = interval, debounce, rate, ttl
        self.limit, self.max_communities = limit, communities
        self.clock = clock
        self._viewers: OrderedDict[str, OrderedDict[str, Viewer]] = OrderedDict()  # community id -> user id -> viewer
        self._communities: dict[str, Community] = {}
        self._due: dict[tuple[str, str], float] = {}  # (community, user) -> when its refresh is due
        self._heap: list[tuple[float, int, tuple[str, str]]] = []
        self._order = itertools.count()
        self._next_slot = -math.inf
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failure_logged = -math.inf
        self.refreshed = 0  # tabs published again because content changed
        self.failed = 0

    # -- viewers -------------------------------------------------------------------------------

    def opened(self, community: Community, member: Member) -> None:
        """The member opened their tab (or clicked on it): keep it fresh for `ttl` seconds."""
        viewers = self._viewers.get(community.id)
        if viewers is None:
            viewers = self._viewers[community.id] = OrderedDict()
            self._communities[community.id] = community
            while len(self._viewers) > self.max_communities:
                gone, _ = self._viewers.popitem(last=False)
                self._communities.pop(gone, None)
                self._due = {key: due for key, due in self._due.items() if key[0] != gone}
        else:
            self._viewers.move_to_end(community.id)
        earlier = viewers.pop(member.id, None)
        viewers[member.id] = Viewer(member, self.clock(), earlier.rendered if earlier else -math.inf)
        while len(viewers) > self.limit:
            user, _ = viewers.popitem(last=False)
            self._due.pop((community.id, user), None)

    def rendering(self, community: Community, member: Member) -> None:
        """A view of the member's tab begins rendering now: it shows every change signalled
        so far (cogs signal after their commit), so a refresh waiting for the member is
        dropped, and the next one waits `interval`."""
        viewer = self._viewer(community.id, member.id)
        if viewer is not None:
            viewer.member, viewer.rendered = member, self.clock()
        self._due.pop((community.id, member.id), None)  # its heap entry is skipped when it comes up

    def _viewer(self, community_id: str, user_id: str) -> Viewer | None:
        viewers = self._viewers.get(community_id)
        viewer = viewers.get(user_id) if viewers is not None else None
        if viewer is not None and self.clock() - viewer.seen > self.ttl:
            return None
        return viewer

    # -- changes -------------------------------------------------------------------------------

    def changed(self, change: ContentChanged) -> None:
        """A `Bot` content listener: mark the tabs the change concerns; returns at once."""
        if self._closed or change.community.platform != self.platform:
            return
        viewers = self._viewers.get(change.community.id)
        if not viewers:
            return
        now = self.clock()
        while viewers and now - next(iter(viewers.values())).seen > self.ttl:
            user, _ = viewers.popitem(last=False)
            self._due.pop((change.community.id, user), None)
        if change.member_id is not None:
            viewer = viewers.get(change.member_id)
            targets = [viewer] if viewer is not None else []
        else:  # the most recent viewers first: the likeliest to be looking
            targets = [v for v in reversed(viewers.values()) if v.member.role >= change.audience]
        for viewer in targets:
            self._want((change.community.id, viewer.member.id), viewer, now)
        if targets and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="slack-home-refresh")

    def _want(self, key: tuple[str, str], viewer: Viewer, now: float) -> None:
        if key in self._due:  # joins the refresh already waiting: it renders what is stored then
            return
        due = max(now + self.debounce, viewer.rendered + self.interval)
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._order), key))
        self._wake.set()

    async def _run(self) -> None:
        try:
            while self._heap:
                due, _, key = self._heap[0]
                if self._due.get(key) != due:
                    heapq.heappop(self._heap)  # dropped, or its community forgotten
                    continue
                wait = max(due, self._next_slot) - self.clock()
                if wait > 0:
                    self._wake.clear()
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    continue
                heapq.heappop(self._heap)
                del self._due[key]
                self._next_slot = self.clock() + 1 / self.rate
                community = self._communities.get(key[0])
                if community is not None and self._viewer(*key) is not None:
                    await self._refresh(community, key[1])
        finally:
            self._task = None

    async def _refresh(self, community: Community, user_id: str) -> None:
        try:
            await self._publish(community, user_id)
            self.refreshed += 1
        except Exception as exc:
            self.failed += 1
            if self.clock() - self._failure_logged >= FAILURE_LOG_EVERY:
                self._failure_logged = self.clock()
                log.warning("home refresh failed user=%s error=%r (failures so far: %d)", user_id, exc, self.failed)

    # -- lifecycle -----------------------------------------------------------------------------

    async def idle(self) -> None:
        """Until every waiting refresh is published (tests; `close` does not wait)."""
        while self._task is not None:
            await asyncio.wait({self._task})

    async def close(self) -> None:
        """Stop: waiting refreshes are dropped (each member's next open publishes anew)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._due.clear()
        self._heap.clear()
