"""Numbered schema migrations, applied in order at start-up and by `alcts-bot db upgrade`:
the first three (core, polls, trivia) here, the later features' in `migrations_features`.

Each migration is plain, portable SQL (no SQLite-only types) so that a PostgreSQL
backend can replay them. Never edit a released migration: add the next number.
"""

from __future__ import annotations

from storage.migration_step import Migration
from storage.migrations_features import FEATURE_MIGRATIONS

CORE_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "core",
        """
        CREATE TABLE engagement_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT,
            kind TEXT NOT NULL,
            cog TEXT,
            subject TEXT
        );
        CREATE INDEX engagement_events_by_time ON engagement_events (platform, community_id, at);
        CREATE INDEX engagement_events_by_member ON engagement_events (platform, member_id);

        CREATE TABLE follows (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            followed_at TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, member_id)
        );

        CREATE TABLE members_seen (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, member_id)
        );

        CREATE TABLE member_counts (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            at TEXT NOT NULL,
            members INTEGER NOT NULL
        );
        CREATE INDEX member_counts_by_time ON member_counts (platform, community_id, at);

        CREATE TABLE community_settings (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, key)
        );

        CREATE TABLE scheduled_jobs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            job_key TEXT NOT NULL,
            due_at TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            grace_seconds INTEGER,
            status TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL,
            finished_at TEXT,
            error TEXT,
            UNIQUE (name, job_key)
        );
        CREATE INDEX scheduled_jobs_due ON scheduled_jobs (status, due_at);

        CREATE TABLE seen_events (
            platform TEXT NOT NULL,
            event_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (platform, event_id)
        );

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT,
            action TEXT NOT NULL,
            allowed INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )
        """,
    ),
    Migration(
        2,
        "polls",
        """
        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            creator_id TEXT,
            creator_name TEXT NOT NULL DEFAULT '',
            question TEXT NOT NULL,
            multi INTEGER NOT NULL DEFAULT 1,
            anonymous INTEGER NOT NULL DEFAULT 0,
            hidden INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            closes_at TEXT,
            closed_at TEXT,
            message_ref TEXT
        );
        CREATE INDEX polls_open ON polls (platform, community_id, closed_at);

        CREATE TABLE poll_options (
            poll_id INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            label TEXT NOT NULL,
            PRIMARY KEY (poll_id, position)
        );

        CREATE TABLE poll_votes (
            poll_id INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            voter TEXT NOT NULL,
            position INTEGER NOT NULL,
            voted_at TEXT,
            PRIMARY KEY (poll_id, voter, position),
            FOREIGN KEY (poll_id, position) REFERENCES poll_options (poll_id, position)
        ) WITHOUT ROWID
        """,
    ),
    Migration(
        3,
        "trivia",
        """
        CREATE TABLE trivia_rounds (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            starter_id TEXT,
            category TEXT,
            total INTEGER NOT NULL,
            seconds INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            started_at TEXT NOT NULL,
            ended_at TEXT,
            players INTEGER NOT NULL DEFAULT 0,
            winner_id TEXT
        );
        CREATE UNIQUE INDEX trivia_one_round_per_channel
            ON trivia_rounds (platform, community_id, channel_id) WHERE status = 'running';

        CREATE TABLE trivia_asked (
            round_id INTEGER NOT NULL REFERENCES trivia_rounds (id),
            position INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            choices TEXT NOT NULL,
            correct INTEGER NOT NULL,
            asked_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            revealed_at TEXT,
            message_ref TEXT,
            PRIMARY KEY (round_id, position)
        );

        CREATE TABLE trivia_daily_channels (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, channel_id)
        );

        CREATE TABLE trivia_daily (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            day TEXT NOT NULL,
            question_id TEXT NOT NULL,
            choices TEXT NOT NULL,
            correct INTEGER NOT NULL,
            posted_at TEXT NOT NULL,
            message_ref TEXT,
            revealed_at TEXT,
            UNIQUE (platform, community_id, channel_id, day)
        );

        CREATE TABLE trivia_answers (
            id INTEGER PRIMARY KEY,
            round_id INTEGER REFERENCES trivia_rounds (id),
            position INTEGER,
            daily_id INTEGER REFERENCES trivia_daily (id),
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT,
            member_name TEXT NOT NULL DEFAULT '',
            question_id TEXT NOT NULL,
            category TEXT NOT NULL,
            choice INTEGER,
            correct INTEGER NOT NULL,
            points INTEGER NOT NULL,
            streak INTEGER NOT NULL DEFAULT 0,
            answered_at TEXT NOT NULL,
            UNIQUE (round_id, position, member_id),
            UNIQUE (daily_id, member_id)
        );
        CREATE INDEX trivia_answers_board ON trivia_answers (platform, community_id, answered_at);
        CREATE INDEX trivia_answers_member ON trivia_answers (platform, member_id);

        CREATE TABLE trivia_flags (
            id INTEGER PRIMARY KEY,
            question_id TEXT NOT NULL,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT,
            member_name TEXT NOT NULL DEFAULT '',
            by_moderator INTEGER NOT NULL,
            reason TEXT NOT NULL,
            flagged_at TEXT NOT NULL
        );
        CREATE INDEX trivia_flags_by_question ON trivia_flags (platform, community_id, question_id)
        """,
    ),
]

MIGRATIONS: list[Migration] = [*CORE_MIGRATIONS, *FEATURE_MIGRATIONS]

__all__ = ["MIGRATIONS", "Migration"]
