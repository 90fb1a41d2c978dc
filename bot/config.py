"""Configuration: the process environment and `.env` (contract names), plus the typed
per-community settings that organizers change with `/config set`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.text import quoted
from bot.timeparse import ZONE_HINT, zone_setting

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def check_timezone(value: str) -> str:
    """A time zone as `bot.timeparse.zone_setting` reads it: an IANA name in any case, with
    spaces for underscores (`america/new york`), a city one zone is named after (`chicago`),
    or ET, CT, MT, PT (EST, CDT...: the zone, not a fixed offset), UTC. Returns the IANA name
    as the zone database spells it; raises ValueError with a sentence."""
    spelled = zone_setting(value)
    try:
        if spelled is None:
            raise ValueError
        ZoneInfo(spelled)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{quoted(value)} is not a time zone; {ZONE_HINT}") from None
    return spelled


def split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything the process reads from its environment; `.env.example` lists it all."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    bot_database: Path = Path("data/alcts-bot.sqlite3")
    bot_timezone: str = "America/Chicago"
    bot_http_host: str = "127.0.0.1"
    bot_http_port: int = Field(3000, ge=1, le=65535)
    bot_log_level: str = "INFO"
    bot_brand: str = "ALCTS"
    bot_poll_secret: SecretStr | None = None
    bot_poll_key_file: Path | None = None  # where the anonymous-poll key is kept when BOT_POLL_SECRET is unset
    bot_trivia_packs: Path | None = None
    bot_quota_scale: float = Field(1.0, ge=0, le=100)  # multiplies every command quota; 0 turns them off
    bot_allow_private_urls: bool = False  # tests: let fetches reach servers on 127.0.0.1
    bot_mastodon_url: str | None = None  # set: Mastodon lookups go here, not to each handle's server
    bot_bluesky_url: str = "https://public.api.bsky.app"  # Bluesky's public AppView (getProfile)

    discord_token: SecretStr | None = None
    discord_guild_ids: Annotated[list[int], NoDecode] = []
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None
    discord_shards: int | None = Field(None, ge=1)
    discord_members_intent: bool = False  # privileged: member join/leave events
    discord_message_content_intent: bool = False  # privileged: typed answers in channels

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/alcts"
    slack_moderators: Annotated[list[str], NoDecode] = []
    slack_organizers: Annotated[list[str], NoDecode] = []

    @field_validator("bot_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("bot_log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("discord_guild_ids", "slack_moderators", "slack_organizers", mode="before")
    @classmethod
    def _commas(cls, value: Any) -> Any:
        return split_commas(value)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"  # slack-sdk drops /api without it

    @field_validator("bot_mastodon_url", "bot_bluesky_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, _, rest = value.strip().partition("://")
        if scheme.lower() not in ("http", "https") or not rest.strip("/"):
            raise ValueError(f"{value[:60]!r} is not a base URL like https://example.org")
        return value.strip().rstrip("/")

    @field_validator("slack_command")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.startswith("/") else "/" + value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    def secrets(self) -> list[str]:
        """Every token value, so logging can redact it wherever it appears."""
        values = [self.discord_token, self.slack_bot_token, self.slack_signing_secret,
                  self.slack_app_token, self.bot_poll_secret]  # fmt: skip
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


class ConfigError(Exception):
    """Bad configuration: one line per problem, for the person starting the bot."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            name = "_".join(str(part) for part in error["loc"][:1]).upper()
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"config: {name}: {message} (got {error.get('input')!r})")
        raise ConfigError(lines) from None


@dataclass(frozen=True)
class Setting:
    """A per-community setting that a feature declares (a cog's `settings` tuple):
    `/config show` lists it under the feature, `/config set` validates it with `check`
    (returns the value to store, raises ValueError with a sentence)."""

    key: str
    help: str
    check: Callable[[str], str] | None = None
    default: str | None = None
    """What applies while the setting is not set, shown by `/config show`."""
    channel: bool = False
    """A channel: stored as its mention (`<#123>`, `<#C123|news>`), or `#name` on the
    console, so `news`, `#news` and a mention of it are one value."""
    role: bool = False
    """A platform role (or Slack user group): where the platform can, its roles are suggested
    while the value is typed (Discord's autocomplete), and `/config set` refuses one the
    platform does not have."""
    powers: bool = False
    """A role whose holders get powers (moderator_role, organizer_role): never the same role
    as a `given` one."""
    given: bool = False
    """A role the bot hands to members (follower_role on /follow): never one with moderating
    powers, nor the role of a `powers` setting (it would never be given)."""
    choices: tuple[str, ...] = ()
    """The only values it takes (a switch: `("yes", "no")`), suggested while typed; `/config
    set` refuses others."""


class CommunitySettings:
    """One community's stored settings; an unset (or undeclared) key reads as None.

    Attribute access (`config.follower_role`) reads the value of that key."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def __getattr__(self, key: str) -> str | None:
        if key.startswith("_"):
            raise AttributeError(key)
        return self.values.get(key)


CORE_SETTINGS = (
    Setting("timezone", "time zone for daily trivia, webinars and reports (e.g. America/Chicago)", check_timezone),
    Setting("moderator_role", "platform role (or Slack user group) whose holders moderate", role=True, powers=True),
    Setting("organizer_role", "platform role (or Slack user group) whose holders organize", role=True, powers=True),
)
