"""Content changes: a neutral signal from cogs to the platforms that show a member's home.

A cog calls `Bot.content_changed(community, what, member=..., audience=...)` after its
change is committed (a webinar added, moved or RSVPed, a job posted, the daily question
posted or answered, a follow); the Bot hands a `ContentChanged` to every listener in
`Bot.content_listeners`. A platform with a home view (Slack's App Home tab) listens and
publishes the homes again, coalesced; a platform without one does not listen, so a change
costs nothing there. Listeners are called synchronously and must return at once: they
schedule their work, they never await it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.model import Community, Member, Role


@dataclass(frozen=True)
class ContentChanged:
    """What changed, and whose home shows it.

    `what`: the feature whose home cards changed ("webinars", "jobs", "trivia", "follow"),
    for logs. `member_id`: only that member's home (their own answer or follow state); None:
    every member's. `audience`: only members with at least this role (organizers' figures).
    """

    community: Community
    what: str
    member_id: str | None = None
    audience: Role = Role.MEMBER


ContentListener = Callable[[ContentChanged], None]


class ContentChangedHook(Protocol):
    """`Bot.content_changed`, as cogs are given it."""

    def __call__(self, community: Community, what: str, *, member: Member | None = None,
                 audience: Role = Role.MEMBER) -> None: ...  # fmt: skip


def unheard(community: Community, what: str, *, member: Member | None = None, audience: Role = Role.MEMBER) -> None:
    """The hook of a cog built without a Bot (a unit test): nobody listens."""
