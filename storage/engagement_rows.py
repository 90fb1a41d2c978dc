"""What one engagement event becomes, decided in one place (storage/engagement.py's three
paths, `EngagementLog.event`, `_write` and `carry`, all ask here):

- its raw row in engagement_events (INSERT_EVENT: `(at text, platform, community, member,
  kind, cog, subject)`; the fast path writes `at` as microseconds, INSERT_EVENT_US);
- the counters it adds one to (`rollups`): DAILY always; HOURLY and ACTIVE only when it
  counts as activity (storage.activity), HOURLY only with a time of day and ACTIVE only
  with a member (`counter_rows`: as the `(statement, key)` pairs the writers take);
- whether its first_engagement row is due (`rollups`): an activity of a feature (cog) by a
  member whose first use of it this process has not written (`Known.firsts`);
- whether the member's members_seen row is refreshed (`seen_due`: at most every
  SEEN_REFRESH) and whether the community's name row is written (`name_due`);
- whether its values certainly bind (`plain`; then no row needs `storage.buffer.storable`).

Shapes: a row is `(statement, parameters)`; a counter is `(statement, key)`, the statement
an upsert whose parameters are the key and then the number to add (`Database.count`).
`rollups` gives the keys alone, in COUNTERS order (the fast path merges them per batch).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import MICROSECOND
from bot.model import Community
from storage.activity import counts_as_activity

INSERT_EVENT = (
    "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_EVENT_US = (  # `at` as microseconds since the epoch (?1): SQLite writes its iso() text
    "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
    " VALUES (strftime('%Y-%m-%dT%H:%M:%S.', ?1 / 1000000, 'unixepoch') || substr(?1 % 1000000 + 1000000, 2) || 'Z',"
    " ?2, ?3, ?4, ?5, ?6, ?7)"
)
UPSERT_MEMBER = (  # (platform, community, member, display name, first seen, last seen)
    "INSERT INTO members_seen (platform, community_id, member_id, display_name, first_seen, last_seen)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, member_id)"
    " DO UPDATE SET display_name = excluded.display_name, last_seen = excluded.last_seen"
)
NAME_COMMUNITY = (  # (platform, community, name, seen at)
    "INSERT INTO community_names (platform, community_id, name, seen_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at"
)

# the rollups' counters: the key's columns, then how many events to add (Database.count)
DAILY = (
    "INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, kind, cog) DO UPDATE SET events = events + excluded.events"
)
HOURLY = (
    "INSERT INTO engagement_hourly (platform, community_id, day, hour, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, hour) DO UPDATE SET events = events + excluded.events"
)
ACTIVE = (
    "INSERT INTO active_members (platform, community_id, day, member_id, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, member_id) DO UPDATE SET events = events + excluded.events"
)
COUNTERS = (DAILY, HOURLY, ACTIVE)  # in the order `rollups` gives their keys
FIRST = "INSERT OR IGNORE INTO first_engagement (platform, community_id, member_id, cog, day) VALUES (?, ?, ?, ?, ?)"

SEEN_REFRESH = timedelta(minutes=5)
SEEN_REFRESH_US = SEEN_REFRESH // MICROSECOND

Row = tuple[str, tuple[Any, ...]]  # (statement, parameters), or a counter's (statement, key)
Rows = list[Row]  # (statement, parameters), as a unit of work writes them
Counts = tuple[Row, ...]  # (counter statement, key): one more each
Key = tuple[Any, ...]  # a counter's key: its statement's parameters but the last (the number to add)
FirstRow = tuple[str, str, str, str, str]  # FIRST's parameters: (platform, community, member, cog, day)
Rollups = tuple[Key, Key | None, Key | None, FirstRow | None]  # (DAILY, HOURLY, ACTIVE keys, FIRST row): `rollups`


class Known:
    """What this process has written about one member: when members_seen was last
    refreshed (microseconds, see bot.clock.micros), the features whose first_engagement
    row is written (a second INSERT OR IGNORE would change nothing), and whether SQLite
    can store the member's id and community (checked once, see storage.buffer.storable)."""

    __slots__ = ("seen", "firsts", "storable")

    def __init__(self, storable: bool) -> None:
        self.seen: int | None = None
        self.firsts: tuple[str, ...] = ()
        self.storable = storable

    def saw(self, us: int) -> None:
        """members_seen written as of `us` (a later refresh already written stays)."""
        if self.seen is None or self.seen < us:
            self.seen = us

    def wrote_first(self, cog: str) -> None:
        """The first_engagement row of `cog` is written (or on its way)."""
        if cog not in self.firsts:
            self.firsts += (cog,)


def rollups(
    platform: str, community_id: str, member_id: str | None, day: str, hour: int | None, kind: str,
    cog: str | None, known: Known | None,
) -> Rollups:  # fmt: skip
    """What one event adds to the rollups: the keys of the counters it adds one to, in
    COUNTERS order, None for a counter it leaves alone, then its FIRST row or None.

    - DAILY `(platform, community, day, kind, cog or "")`: always;
    - HOURLY `(platform, community, day, hour)`: when it counts as activity
      (storage.activity) and has a time of day (`hour`; an unnamed event has none);
    - ACTIVE `(platform, community, day, member)`: when it counts as activity and has a member;
    - FIRST `(platform, community, member, cog, day)`: when ACTIVE is counted and a feature
      (cog) is named that is not in `known.firsts` (no `known`: this process has not written
      it). Nothing is noted here: the caller notes it (`Known.wrote_first`) when written."""
    daily = (platform, community_id, day, kind, cog or "")
    if not counts_as_activity(kind, cog):
        return daily, None, None, None
    hourly = None if hour is None else (platform, community_id, day, hour)  # when members take part: when to post
    if member_id is None:
        return daily, hourly, None, None
    active = (platform, community_id, day, member_id)
    if cog and (known is None or cog not in known.firsts):
        return daily, hourly, active, (platform, community_id, member_id, cog, day)
    return daily, hourly, active, None


def counter_rows(daily: Key, hourly: Key | None, active: Key | None) -> Counts:
    """The counter keys `rollups` gives, as `(statement, key)` pairs (COUNTERS order)."""
    if active is None:
        return ((DAILY, daily),) if hourly is None else ((DAILY, daily), (HOURLY, hourly))
    if hourly is None:
        return (DAILY, daily), (ACTIVE, active)
    return (DAILY, daily), (HOURLY, hourly), (ACTIVE, active)


def seen_due(known: Known | None, us: int) -> bool:
    """Whether an event at `us` refreshes the member's members_seen row (UPSERT_MEMBER):
    never written by this process, or last written SEEN_REFRESH ago or more."""
    return known is None or known.seen is None or us - known.seen >= SEEN_REFRESH_US


def name_due(names: dict[tuple[str, str], str], community: Community) -> bool:
    """Whether the community's name row (NAME_COMMUNITY) is written: it has a name, and not
    the one this process last wrote (`names`: (platform, community) -> name)."""
    return bool(community.name) and names.get((community.platform, community.id)) != community.name


def plain(kind: str, cog: str | None, subject: str | None) -> bool:
    """The event's own text is ASCII: with a member whose key is storable (`Known.storable`)
    and the times this module makes (ASCII text, small integers), its raw row, counters and
    FIRST row certainly bind; otherwise `storage.buffer.storable` decides, row by row."""
    return kind.isascii() and (cog is None or cog.isascii()) and (subject is None or subject.isascii())
