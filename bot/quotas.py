"""Per-member and per-channel quotas on commands that post publicly or write lasting rows.

A quota is N uses in a sliding window of seconds, declared on the command
(`@command(..., quota=Quota(5, 600))`). Moderators and organizers are exempt. Counts live in
memory (a restart forgives), bounded by pruning idle keys. `BOT_QUOTA_SCALE` multiplies
every limit (2 doubles them; 0 turns quotas off).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Quota:
    """At most `member` uses per member and `channel` uses per channel in `seconds`."""

    member: int
    seconds: int
    channel: int | None = None


class QuotaBook:
    def __init__(self, scale: float = 1.0, max_keys: int = 50_000) -> None:
        self.scale = scale
        self.max_keys = max_keys
        self._uses: dict[tuple[str, ...], deque[float]] = {}

    def take(self, quota: Quota, member_key: tuple[str, ...], channel_key: tuple[str, ...], now: datetime) -> float:
        """Count one use; returns 0 when allowed, else the seconds until the next is."""
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
        if wait > 0:
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
