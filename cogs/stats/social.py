"""The association's other platforms: follower counts from Mastodon and Bluesky (public
APIs that need no login, fetched daily) and counts organizers record for the rest
(Facebook, X, Instagram, LinkedIn, Tumblr) with `/stats record` or `alcts-bot stats import`.

Everything here is plain functions over a `SocialStore` and a fetch function (`Bot.fetch`,
or `Fetcher.fetch` in tests), so the stats cog's timer and commands and the CLI share them.

- Mastodon: `GET {base}/api/v1/accounts/lookup?acct=...` -> `followers_count`; `base` is
  BOT_MASTODON_URL when set (a proxy, tests; then `acct` is the whole `user@server`), else
  `https://{server}` from the handle (then `acct` is the user name).
- Bluesky: `GET {BOT_BLUESKY_URL}/xrpc/app.bsky.actor.getProfile?actor=HANDLE` ->
  `followersCount`.

A count for a network as a whole (not one account) is stored with the handle `''`; a
manual count for Mastodon or Bluesky goes to the registered account when there is exactly
one (see `resolve_handle`).

Network names, handles, dates and counts are checked in `social_names`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.config import Settings
from bot.errors import UserError
from bot.fetched import BadUrl, BlockedAddress, FetchError, FetchResult, HttpStatus, Unreachable
from bot.model import Member
from bot.text import echo
from cogs.stats.social_names import (
    FETCHED,
    MAX_FOLLOWERS,
    NETWORKS,
    check_account,
    display,
    normalise_handle,
    normalise_network,
    parse_count,
    resolve_handle,
)
from storage.social import SocialAccount, SocialStore

log = logging.getLogger(__name__)

Fetch = Callable[..., Awaitable[FetchResult]]
Retry = Callable[[str, datetime, dict[str, Any]], Awaitable[None]]
"""(key, due, payload): ask for one account's fetch again later (a one-shot timer)."""

ANSWER_BYTES = 1_000_000  # a profile is a few kilobytes
ACCEPT = "application/json"
SOURCE_API, SOURCE_MANUAL, SOURCE_IMPORT = "api", "manual", "import"
BUSY = (429, 503)  # "too many requests", "unavailable": ask that account again later
RETRIES = 3
RETRY_WAIT = timedelta(minutes=15)  # when the server does not say how long (Retry-After)
RETRY_SOONEST, RETRY_LONGEST = timedelta(minutes=1), timedelta(hours=6)


class SocialFetchError(FetchError):
    """A follower count could not be read: one sentence naming the account."""


class UnknownAccount(SocialFetchError):
    """The network has no such account (HTTP 400/404/410, or an error answer)."""


class BadAnswer(SocialFetchError):
    """The answer was not the JSON the network's API documents."""


# -- fetching ---------------------------------------------------------------------------


async def fetch_followers(
    network: str, handle: str, fetch: Fetch, *, mastodon_url: str | None, bluesky_url: str
) -> int:
    """The account's public follower count. `handle` is normalised (`normalise_handle`).

    Raises UnknownAccount ("Mastodon has no account alcts@x.") for HTTP 400/404/410 or an
    error answer, BadAnswer for an answer that is not the documented JSON, and any other
    FetchError from `fetch` as it came (HttpStatus 429 keeps its `retry_after`)."""
    if network == "mastodon":
        user, server = handle.split("@", 1)
        if mastodon_url:
            url = f"{mastodon_url.rstrip('/')}/api/v1/accounts/lookup?acct={quote(handle, safe='')}"
        else:
            url = f"https://{server}/api/v1/accounts/lookup?acct={quote(user, safe='')}"
        key = "followers_count"
    elif network == "bluesky":
        url = f"{bluesky_url.rstrip('/')}/xrpc/app.bsky.actor.getProfile?actor={quote(handle, safe='')}"
        key = "followersCount"
    else:
        raise ValueError(f"{display(network)} has no public follower count the bot can read.")
    who = display(network, echo(handle))  # an error repeats at most 80 characters of a handle
    try:
        result = await fetch(url, max_bytes=ANSWER_BYTES, accept=ACCEPT)
    except HttpStatus as exc:
        if exc.status in (400, 404, 410):
            raise UnknownAccount(f"{NETWORKS[network]} has no account {echo(handle)}.") from None
        raise
    try:
        answer = json.loads(result.body)
    except (ValueError, UnicodeDecodeError):
        raise BadAnswer(f"The answer for {who} was not readable JSON; is that server running {NETWORKS[network]}?") from None
    if isinstance(answer, dict) and "error" in answer:
        raise UnknownAccount(f"{NETWORKS[network]} has no account {echo(handle)}.")
    count = answer.get(key) if isinstance(answer, dict) else None
    if type(count) is not int or not 0 <= count <= MAX_FOLLOWERS:
        raise BadAnswer(f"The answer for {who} had no follower count.")
    return count


async def refresh_all(
    store: SocialStore, fetch: Fetch, settings: Settings, now: datetime, day: str, retry: Retry | None = None
) -> list[str]:
    """Fetch every registered Mastodon and Bluesky account once, record each count for
    `day` (source 'api'; a second run on the same day replaces the first) and each
    account's outcome (`last_fetch_at`, `last_error`). Returns one sentence per account
    that failed (or waits to be asked again), naming it.

    Each account is its own fetch: a server that answers one account with "busy" (HTTP 429
    or 503) does not fail the others, which are asked as usual. With `retry` (the stats
    cog's timer), that one account is asked again alone after the wait the server asked for
    (`Retry-After`, else 15 minutes; at most 6 hours), up to 3 times, and marked failed only
    if the last try fails too. Sequential: a handful of accounts, each fetch bounded by the
    fetcher's 15 s."""
    problems: list[str] = []
    for account in await store.accounts():
        if account.network in FETCHED:
            problem = await refresh_account(store, fetch, settings, account, now, day, retry)
            if problem is not None:
                problems.append(problem)
    return problems


async def refresh_again(
    store: SocialStore, fetch: Fetch, settings: Settings, now: datetime, payload: dict[str, Any],
    retry: Retry | None = None,
) -> str | None:  # fmt: skip
    """The retry `refresh_all` asked for: that one account (gone: nothing), for the same day."""
    account = next((a for a in await store.accounts() if a.id == payload.get("account")), None)
    if account is None:
        return None
    return await refresh_account(store, fetch, settings, account, now, str(payload["day"]), retry,
                                 attempt=int(payload.get("attempt", 1)))  # fmt: skip


async def refresh_account(
    store: SocialStore, fetch: Fetch, settings: Settings, account: SocialAccount, now: datetime, day: str,
    retry: Retry | None = None, *, attempt: int = 0,
) -> str | None:  # fmt: skip
    """Fetch one account's count and record it and the outcome; None when it worked, else
    the sentence naming the account and what went wrong. `attempt`: how many retries came
    before this one (see `refresh_all`)."""
    who = display(account.network, account.handle)
    try:
        followers = await fetch_followers(
            account.network, account.handle, fetch,
            mastodon_url=settings.bot_mastodon_url, bluesky_url=settings.bot_bluesky_url,
        )  # fmt: skip
    except FetchError as exc:
        error = str(exc)
        if isinstance(exc, HttpStatus) and exc.status in BUSY:
            wait = f" (it asked for {_seconds(exc.retry_after)})" if exc.retry_after else ""
            error = f"{error.rstrip('.')}{wait}."
            if retry is not None and attempt < RETRIES:
                due = now + min(max(exc.retry_after or RETRY_WAIT, RETRY_SOONEST), RETRY_LONGEST)
                payload = {"account": account.id, "day": day, "attempt": attempt + 1}
                await retry(f"{account.id}:{day}:{attempt + 1}", due, payload)
                return f"{who}: {error.rstrip('.')}; asked again alone at {due:%H:%M} UTC."
        await store.fetched(account.id, now, error)
        return f"{who}: {error}"
    except Exception:  # a bug here must not stop the other accounts
        log.exception("social fetch failed network=%s handle=%s", account.network, account.handle)
        error = "Something went wrong on our side; it has been logged."
        await store.fetched(account.id, now, error)
        return f"{who}: {error}"
    await store.record(account.network, account.handle, day, followers, SOURCE_API, now)
    await store.fetched(account.id, now, None)
    return None


def _seconds(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds} seconds" if seconds < 120 else f"{seconds // 60} minutes"


# -- what the commands do ---------------------------------------------------------------


async def add_account(
    store: SocialStore, fetch: Fetch, settings: Settings, network: str, handle: str,
    by: Member | None, now: datetime, day: str,
) -> str:  # fmt: skip
    """`/stats accounts add NETWORK HANDLE`: check the names, ask the network once (an
    unknown account, or a server that is not Mastodon, is refused and nothing is stored),
    register the account and record today's count. Refused too: a server that cannot be
    reached or resolved, or a private address. A fetch that fails for another reason (a
    timeout, a 429, a 5xx) still registers it: the daily fetch tries again. Returns the reply
    sentence; raises UserError with one sentence."""
    try:
        network, handle = check_account(network, handle)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    who = display(network, handle)
    followers: int | None = None
    failure: str | None = None
    try:
        followers = await fetch_followers(
            network, handle, fetch, mastodon_url=settings.bot_mastodon_url, bluesky_url=settings.bot_bluesky_url
        )
    except (UnknownAccount, BadAnswer, BadUrl, BlockedAddress, Unreachable):
        raise  # a typo or a server that is not there: refused, nothing stored
    except FetchError as exc:
        failure = str(exc)
    if not await store.add_account(network, handle, by, now):
        return f"{who} is already fetched daily."
    await store.fetched(await _account_id(store, network, handle), now, failure)
    if followers is None:
        return f"Added {who}; the first fetch failed ({(failure or '').rstrip('.')}), and it is tried again daily."
    await store.record(network, handle, day, followers, SOURCE_API, now)
    return f"Added {who}: {followers:,} followers today. Its count is fetched daily."


async def remove_account(store: SocialStore, network: str, handle: str) -> str:
    """`/stats accounts remove NETWORK HANDLE`: the account and its counts go. Raises
    UserError for an account that is not registered."""
    try:
        network = normalise_network(network)
        handle = normalise_handle(network, handle) if handle else ""
    except ValueError as exc:
        raise UserError(str(exc)) from None
    dropped = await store.remove_account(network, handle)
    if dropped < 0:
        raise UserError(f"There is no {display(network, echo(handle))} account here; /stats accounts lists them.")
    return f"Removed {display(network, handle)} and its {dropped} count{'' if dropped == 1 else 's'}."


async def _account_id(store: SocialStore, network: str, handle: str) -> int:
    return next(a.id for a in await store.accounts(network) if a.handle == handle)


async def record_count(
    store: SocialStore, network: str, count: int | str, day: str, at: datetime, *, handle: str = ""
) -> str:
    """`/stats record NETWORK COUNT [date=] [handle=]`: store a count (source 'manual') for
    `day` (an ISO date the caller has checked, e.g. with `parse_day`), replacing any count
    already there for that day. Returns the reply; raises UserError with one sentence."""
    try:
        network = normalise_network(network)
        followers = parse_count(count)
        handle = normalise_handle(network, handle) if handle.strip() else ""
        handle = resolve_handle(await store.accounts(network), network, handle)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    await store.record(network, handle, day, followers, SOURCE_MANUAL, at)
    return f"Recorded {followers:,} {display(network, handle)} followers on {day}."


async def accounts_lines(store: SocialStore) -> list[str]:
    """One line per registered account for `/stats accounts`: its latest count and day, and
    the last fetch's error if it failed."""
    latest = {(c.network, c.handle): c for c in await store.latest()}
    lines = []
    for account in await store.accounts():
        count = latest.get((account.network, account.handle))
        line = display(account.network, account.handle) + ": "
        line += f"{count.followers:,} followers on {count.day}" if count else "no count yet"
        if account.last_error:
            line += f"; last fetch failed: {account.last_error}"
        lines.append(line)
    return lines
