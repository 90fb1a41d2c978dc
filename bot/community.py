"""Per-community settings: the catalogue features declare, and a read-through cache.

A feature owns its settings: a cog lists `settings = (Setting(...), ...)`, the Bot adds
them to the catalogue, and `/config show` lists only declared settings, grouped by the
feature that reads them. A change is announced to listeners (the scheduler moves a
community's local-time series when its `timezone` changes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import CORE_SETTINGS, CommunitySettings, Setting
from bot.errors import UserError
from bot.model import Community, Member
from bot.text import channel_setting, echo
from storage.settings import SettingsStore

ChangeListener = Callable[[Community, str, str | None], Awaitable[None]]
MAX_VALUE = 200  # characters; a setting is a name, a zone or a channel, never an essay


class CommunityConfig:
    """Per-community settings with a read-through cache (they change rarely)."""

    def __init__(self, store: SettingsStore, default_tz: str) -> None:
        self.store = store
        self.default_tz = default_tz
        self.catalogue: dict[str, tuple[str, Setting]] = {}
        self.listeners: list[ChangeListener] = []
        self._cache: dict[Community, CommunitySettings] = {}
        self.declare("core", tuple(replace(s, default=default_tz) if s.key == "timezone" else s for s in CORE_SETTINGS))

    def declare(self, feature: str, settings: tuple[Setting, ...]) -> None:
        """Add a feature's settings; a key declared twice raises ValueError (at start-up)."""
        for setting in settings:
            if setting.key in self.catalogue:
                raise ValueError(f"setting {setting.key!r} is declared twice")
            self.catalogue[setting.key] = (feature, setting)

    def cached(self, community: Community) -> CommunitySettings | None:
        return self._cache.get(community)

    async def get(self, community: Community) -> CommunitySettings:
        config = self._cache.get(community)
        if config is None:
            config = self._cache[community] = CommunitySettings(await self.store.get_all(community))
        return config

    async def set(self, community: Community, key: str, value: str | None, by: Member, at: datetime) -> CommunitySettings:
        """Validate and store one setting (None clears it), then tell the listeners.
        Raises UserError naming the problem."""
        declared = self.catalogue.get(key)
        if declared is None:
            raise UserError(f"There is no setting {echo(key)}; settings are {', '.join(self.catalogue)}.")
        _, setting = declared
        if value is not None:
            value = value.strip()
            if not value:
                raise UserError(f"{key}: give a value, or none to clear it.")
            if len(value) > MAX_VALUE:
                raise UserError(f"{key}: that value is {len(value)} characters; keep it to {MAX_VALUE}.")
            try:
                if setting.channel:
                    value = channel_setting(value)
                if setting.check is not None:
                    value = setting.check(value)
            except ValueError as exc:
                raise UserError(f"{key}: {exc}.") from None
        current = dict((await self.get(community)).values)
        if value is None:
            await self.store.unset(community, key)
            current.pop(key, None)
        else:
            await self.store.set(community, key, value, by.id, at)
            current[key] = value
        updated = CommunitySettings(current)
        self._cache[community] = updated
        for listener in self.listeners:
            await listener(community, key, value)
        return updated

    def by_feature(self, config: CommunitySettings) -> dict[str, list[tuple[Setting, str | None]]]:
        """Declared settings with this community's values, grouped by feature."""
        grouped: dict[str, list[tuple[Setting, str | None]]] = {}
        for key, (feature, setting) in self.catalogue.items():
            grouped.setdefault(feature, []).append((setting, config.get(key)))
        return grouped

    def timezone(self, config: CommunitySettings) -> ZoneInfo:
        return ZoneInfo(config.timezone or self.default_tz)

    async def zone_of(self, platform: str, community_id: str) -> ZoneInfo:
        """The community's current zone (what local-time timers follow)."""
        return self.timezone(await self.get(Community(platform, community_id)))
