"""Per-member and per-channel quotas on commands and buttons that post publicly or write
lasting rows.

A quota is N uses in a sliding window of seconds, declared on the command
(`@command(..., quota=Quota(5, 600))`) or on a button handler (`@button_quota(Quota(20, 600))`
beside its `@button`). Moderators and organizers are exempt unless the quota says
`moderators=True` (the moderators' own commands: job feeds, job posts, webinars), which
limits them like everyone else. Counts live in memory (a restart forgives), bounded by
pruning idle keys. `BOT_QUOTA_SCALE` multiplies every limit (2 doubles them; 0 turns
quotas off).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from bot.model import Role

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Quota:
    """At most `member` uses per member and `channel` uses per channel in `seconds`;
    `moderators=True` counts moderators' and organizers' uses too."""

    member: int
    seconds: int
    channel: int | None = None
    moderators: bool = False

    def applies_to(self, role: Role) -> bool:
        return self.moderators or role < Role.MODERATOR


def button_quota(quota: Quota) -> Callable[[F], F]:
    """Mark a button handler with a quota on its clicks (metadata only, like `@button`)."""

    def mark(func: F) -> F:
        func.__bot_quota__ = quota  # type: ignore[attr-defined]
        return func

    return mark


def quota_of(handler: Callable[..., Any]) -> Quota | None:
    """The quota a button handler (or its bound method) was marked with, if any."""
    return getattr(handler, "__bot_quota__", None)


class QuotaBook:
    def __init__(self, scale: float = 1.0, max_keys: int = 50_000) -> None:
        self.scale = scale
        self.max_keys = max_keys
        self._uses: dict[tuple[str, ...], deque[float]] = {}

    def take(self, quota: Quota, member_key: tuple[str, ...], channel_key: tuple[str, ...], now: datetime,
             *, peek: bool = False) -> float:  # fmt: skip
        """Count one use; returns 0 when allowed, else the seconds until the next is.
        `peek`: only say so, counting nothing (before a form opens for a use to come)."""
        if self.scale <= 0:
            return 0.0
        at = now.timestamp()
        limits = [(member_key, quota.member)]
        if quota.channel is not None:
            limits.append((channel_key, quota.channel))
        wait = 0.0
        for key, limit in limits:
            uses = self._window(key, at - quota.seconds)
            allowed = max(1, round(limit * self.scale))
            if len(uses) >= allowed:
                wait = max(wait, uses[0] + quota.seconds - at)
        if wait > 0 or peek:
            return wait
        for key, _ in limits:
            self._uses.setdefault(key, deque()).append(at)
        if len(self._uses) > self.max_keys:
            self._prune(at - quota.seconds)
        return 0.0

    def _window(self, key: tuple[str, ...], since: float) -> deque[float]:
        uses = self._uses.get(key, deque())
        while uses and uses[0] <= since:
            uses.popleft()
        return uses

    def _prune(self, since: float) -> None:
        for key in [k for k, uses in self._uses.items() if not uses or uses[-1] <= since]:
            del self._uses[key]
