"""The association's networks and how their names, handles, dates and follower counts are
written: each normalised to its one stored form, or refused with one sentence (a
ValueError). Pure functions, no I/O; `social` (fetching and the commands) and `social_csv`
(the import) check what they are given with them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from urllib.parse import urlsplit

from bot.text import quoted
from storage.social import SocialAccount

NETWORKS: dict[str, str] = {  # name -> how replies spell it, in display order
    "facebook": "Facebook",
    "x": "X",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "tumblr": "Tumblr",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
}
FETCHED = frozenset({"mastodon", "bluesky"})  # public follower counts, fetched daily
MANUAL = frozenset(NETWORKS) - FETCHED  # recorded with /stats record or the CSV import
ALIASES = {"twitter": "x", "bsky": "bluesky", "fb": "facebook", "ig": "instagram"}

MAX_FOLLOWERS = 10**10  # a sanity bound far above any real account
EARLIEST_DAY = date(2000, 1, 1)

_MASTODON_USER = re.compile(r"[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?")  # Mastodon's USERNAME_RE
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DID = re.compile(r"did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.-]{1,253})")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE = re.compile(r"\d+|\d{1,3}(?:,\d{3})+")


def normalise_network(name: str) -> str:
    """`Mastodon`, ` twitter ` -> `mastodon`, `x`; raises ValueError with one sentence."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in NETWORKS:
        shown = quoted(name) if name.strip() else "'(nothing)'"
        raise ValueError(f"{shown} is not a platform the bot knows; use one of {', '.join(NETWORKS)}.")
    return key


def display(network: str, handle: str = "") -> str:
    """`Mastodon alcts@mastodon.social`, or `Facebook` for a network-wide count."""
    name = NETWORKS.get(network, network)
    return f"{name} {handle}" if handle else name


def normalise_handle(network: str, handle: str) -> str:
    """The one stored form of an account's handle (lower case, no leading `@`).

    Mastodon: `@alcts@mastodon.social`, `alcts@mastodon.social` or the profile address
    `https://mastodon.social/@alcts` -> `alcts@mastodon.social`. Bluesky:
    `@alcts.bsky.social` or `https://bsky.app/profile/alcts.bsky.social` ->
    `alcts.bsky.social` (a `did:plc:` or `did:web:` id is kept as is). Other networks: any
    name without spaces, up to 100 characters, in lower case (`@ALCTS` and `alcts` are one
    account: these networks match handles without regard to case). Raises ValueError with
    one sentence."""
    text = handle.strip()
    if network == "mastodon":
        return _mastodon_handle(text)
    if network == "bluesky":
        return _bluesky_handle(text)
    text = text.removeprefix("@").lower()
    if not text or len(text) > 100 or _WHITESPACE_OR_CONTROL.search(text):
        raise ValueError(f"A {display(network)} handle is 1 to 100 characters without spaces.")
    return text


def _mastodon_handle(text: str) -> str:
    example = "like alcts@mastodon.social"
    if text.lower().startswith(("https://", "http://")):  # a profile address
        parts = urlsplit(text)
        path = parts.path.strip("/")
        if not path.startswith("@") or "/" in path:
            raise ValueError(f"Give the Mastodon handle {example}, or its profile address like https://mastodon.social/@alcts.")
        text = path[1:] if "@" in path[1:] else f"{path[1:]}@{parts.hostname or ''}"
    text = text.removeprefix("@").lower()
    if len(text) > 320 or text.count("@") != 1:
        raise ValueError(f"Give the Mastodon handle with its server, {example}.")
    user, server = text.split("@")
    if not user or len(user) > 64 or not _MASTODON_USER.fullmatch(user):
        raise ValueError(f"{quoted(user)} is not a Mastodon user name; it is letters, digits and _, {example}.")
    if not _is_domain(server):
        raise ValueError(f"{quoted(server)} is not a Mastodon server name; give one {example}.")
    return f"{user}@{server}"


def _bluesky_handle(text: str) -> str:
    example = "like alcts.bsky.social"
    if text.lower().startswith(("https://", "http://")):
        path = urlsplit(text).path.strip("/")
        if not path.startswith("profile/") or path.count("/") != 1:
            raise ValueError(f"Give the Bluesky handle {example}, or its profile address like https://bsky.app/profile/alcts.bsky.social.")
        text = path.removeprefix("profile/")
    text = text.removeprefix("@")
    if text.lower().startswith("did:"):
        if not _DID.fullmatch(text):
            raise ValueError("That Bluesky id is not a did:plc: or did:web: identifier.")
        return text
    text = text.lower()
    if not _is_domain(text):
        raise ValueError(f"{quoted(text)} is not a Bluesky handle; give one {example}.")
    return text


def _is_domain(name: str) -> bool:
    """A DNS name of two labels or more, ASCII (punycode for others), whose last label
    starts with a letter (so not an IP address), at most 253 characters."""
    labels = name.split(".")
    return (0 < len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)
            and labels[-1][0].isalpha())  # fmt: skip


def check_account(network: str, handle: str) -> tuple[str, str]:
    """What `/stats accounts add NETWORK HANDLE` accepts: a fetched network's handle, both
    normalised. Raises ValueError with one sentence (a manual network points at /stats record)."""
    network = normalise_network(network)
    if network not in FETCHED:
        raise ValueError(
            f"{display(network)} has no public follower count the bot can read; "
            f"record it with /stats record {network} COUNT."
        )
    return network, normalise_handle(network, handle)


def resolve_handle(accounts: Sequence[SocialAccount], network: str, handle: str) -> str:
    """The handle a manual or imported count is stored under: the one given; else, for a
    network with exactly one registered account, that account's; else `''` (the network as
    a whole). Raises ValueError when no handle is given and the network has several."""
    if handle or network not in FETCHED:
        return handle
    mine = [a.handle for a in accounts if a.network == network]
    if len(mine) > 1:
        raise ValueError(f"{display(network)} has {len(mine)} accounts; say which with handle= ({', '.join(mine)}).")
    return mine[0] if mine else ""


def parse_day(text: str, today: date) -> str:
    """An ISO date (YYYY-MM-DD) from 2000 up to `today` plus one day (time zones), as text."""
    text = text.strip()
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not a date like 2026-03-01.") from None
    if day < EARLIEST_DAY:
        raise ValueError(f"{text} is too early; give a date from {EARLIEST_DAY.isoformat()} on.")
    if day > today + timedelta(days=1):
        raise ValueError(f"{text} is in the future.")
    return day.isoformat()


def parse_count(text: str | int) -> int:
    """A whole number of followers, 0 or more (`1234` or `1,234`)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        raw = str(text).strip()
        if not _WHOLE.fullmatch(raw):
            raise ValueError(f"{quoted(raw)} is not a whole number of followers like 1234.")
        value = int(raw.replace(",", ""))
    if not 0 <= value <= MAX_FOLLOWERS:
        raise ValueError(f"{value} is not a follower count; give a whole number from 0 to {MAX_FOLLOWERS:,}.")
    return value
