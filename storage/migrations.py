"""Numbered schema migrations, applied in order at start-up and by `alcts-bot db upgrade`.

Each migration is plain, portable SQL (no SQLite-only types) so that a PostgreSQL
backend can replay them. Never edit a released migration: add the next number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        return [part.strip() for part in self.sql.split(";") if part.strip()]


MIGRATIONS: list[Migration] = [
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
    Migration(
        4,
        "timers",
        """
        CREATE TABLE timer_series (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            series_key TEXT NOT NULL,
            recurrence TEXT NOT NULL,
            zone TEXT,
            platform TEXT,
            community_id TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            grace_seconds INTEGER,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            UNIQUE (name, series_key)
        );
        CREATE INDEX timer_series_by_community ON timer_series (platform, community_id);

        ALTER TABLE scheduled_jobs RENAME TO timers;
        ALTER TABLE timers RENAME COLUMN job_key TO timer_key;
        ALTER TABLE timers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE timers ADD COLUMN series_id INTEGER REFERENCES timer_series (id);
        DROP INDEX scheduled_jobs_due;
        CREATE INDEX timers_due ON timers (status, due_at);


        UPDATE timers SET status = 'cancelled', error = 'replaced by a recurring series'
            WHERE name = 'trivia.daily' AND status = 'pending'
        """,
    ),
    Migration(
        5,
        "announcements",
        """
        ALTER TABLE polls ADD COLUMN announced_at TEXT;
        UPDATE polls SET announced_at = closed_at WHERE closed_at IS NOT NULL;
        ALTER TABLE trivia_asked ADD COLUMN reveal_posted_at TEXT;
        UPDATE trivia_asked SET reveal_posted_at = revealed_at WHERE revealed_at IS NOT NULL;
        CREATE TABLE process_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            stopped_at TEXT,
            command TEXT NOT NULL
        )
        """,
    ),
    Migration(
        6,
        "job_posts",
        """
        CREATE TABLE job_feeds (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            keywords TEXT NOT NULL DEFAULT '',
            exclude TEXT NOT NULL DEFAULT '',
            created_by TEXT,
            created_at TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            etag TEXT,
            last_modified TEXT,
            last_fetch_at TEXT,
            last_success_at TEXT,
            next_try_at TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            disabled_at TEXT,
            disabled_reason TEXT,
            flag TEXT,
            items_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX job_feeds_once_per_channel
            ON job_feeds (platform, community_id, channel_id, url) WHERE active = 1;

        CREATE TABLE job_items (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER REFERENCES job_feeds (id),
            identity TEXT NOT NULL,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL,
            link TEXT,
            employer TEXT,
            location TEXT,
            summary TEXT NOT NULL DEFAULT '',
            published_at TEXT,
            closes_at TEXT,
            first_seen TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            posted_at TEXT,
            message_ref TEXT,
            posted_by TEXT,
            UNIQUE (feed_id, identity)
        );
        CREATE INDEX job_items_by_status ON job_items (status, feed_id);
        CREATE INDEX job_items_recent ON job_items (platform, community_id, posted_at);

        CREATE TABLE saved_jobs (
            platform TEXT NOT NULL,
            member_id TEXT NOT NULL,
            item_id INTEGER NOT NULL REFERENCES job_items (id),
            saved_at TEXT NOT NULL,
            PRIMARY KEY (platform, member_id, item_id)
        );

        CREATE TABLE content_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT,
            kind TEXT NOT NULL,
            subject TEXT
        );
        CREATE INDEX content_events_by_time ON content_events (platform, community_id, at)
        """,
    ),
    Migration(
        7,
        "webinars",
        """
        CREATE TABLE webinar_calendars (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            created_by TEXT,
            created_at TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            last_sync_at TEXT,
            last_error TEXT
        );

        CREATE TABLE webinars (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            channel_name TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            url TEXT,
            local_start TEXT NOT NULL,
            zone TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            duration_seconds INTEGER NOT NULL,
            all_day INTEGER NOT NULL DEFAULT 0,
            reminders TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'scheduled',
            sequence INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 1,
            calendar_id INTEGER REFERENCES webinar_calendars (id),
            source_key TEXT,
            source_sequence INTEGER,
            message_ref TEXT,
            discord_event_id TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX webinars_upcoming ON webinars (platform, community_id, status, starts_at);
        CREATE UNIQUE INDEX webinars_from_calendar ON webinars (calendar_id, source_key) WHERE calendar_id IS NOT NULL;

        CREATE TABLE webinar_rsvps (
            webinar_id INTEGER NOT NULL REFERENCES webinars (id),
            platform TEXT NOT NULL,
            member_id TEXT NOT NULL,
            member_name TEXT NOT NULL DEFAULT '',
            going INTEGER,
            remind INTEGER NOT NULL DEFAULT 0,
            dm_closed_told INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (webinar_id, platform, member_id)
        );

        CREATE TABLE webinar_deliveries (
            webinar_id INTEGER NOT NULL REFERENCES webinars (id),
            version INTEGER NOT NULL,
            offset_seconds INTEGER NOT NULL,
            target TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (webinar_id, version, offset_seconds, target)
        )
        """,
    ),
    Migration(
        8,
        "growth",
        """
        DROP INDEX engagement_events_by_member;

        CREATE TABLE engagement_daily (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            cog TEXT NOT NULL DEFAULT '',
            events INTEGER NOT NULL,
            PRIMARY KEY (platform, community_id, day, kind, cog)
        );
        CREATE TABLE engagement_hours (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            hour_of_week INTEGER NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (platform, community_id, hour_of_week)
        );
        CREATE TABLE active_members (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            member_id TEXT NOT NULL,
            events INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (platform, community_id, day, member_id)
        );
        CREATE TABLE first_engagement (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            cog TEXT NOT NULL,
            day TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, member_id, cog)
        );
        CREATE TABLE follow_history (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            at TEXT NOT NULL,
            day TEXT NOT NULL,
            followed INTEGER NOT NULL
        );
        CREATE INDEX follow_history_by_member ON follow_history (platform, community_id, member_id, at);
        CREATE TABLE follow_daily (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            follows INTEGER NOT NULL DEFAULT 0,
            unfollows INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, community_id, day)
        );
        CREATE TABLE community_snapshots (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            members INTEGER NOT NULL,
            followers INTEGER NOT NULL,
            taken_at TEXT NOT NULL,
            PRIMARY KEY (platform, community_id, day)
        );
        CREATE TABLE social_accounts (
            id INTEGER PRIMARY KEY,
            network TEXT NOT NULL,
            handle TEXT NOT NULL,
            added_by TEXT,
            added_at TEXT NOT NULL,
            last_fetch_at TEXT,
            last_error TEXT,
            UNIQUE (network, handle)
        );
        CREATE TABLE social_counts (
            network TEXT NOT NULL,
            handle TEXT NOT NULL DEFAULT '',
            day TEXT NOT NULL,
            followers INTEGER NOT NULL,
            source TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (network, handle, day)
        );
        CREATE TABLE stats_optouts (
            platform TEXT NOT NULL,
            member_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (platform, member_id)
        );

        INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events)
            SELECT platform, community_id, substr(at, 1, 10), kind, COALESCE(cog, ''), COUNT(*)
            FROM engagement_events GROUP BY platform, community_id, substr(at, 1, 10), kind, COALESCE(cog, '');
        INSERT INTO engagement_hours (platform, community_id, hour_of_week, events)
            SELECT platform, community_id,
                   ((CAST(strftime('%w', substr(at, 1, 19)) AS INTEGER) + 6) % 7) * 24
                   + CAST(strftime('%H', substr(at, 1, 19)) AS INTEGER), COUNT(*)
            FROM engagement_events GROUP BY 1, 2, 3;
        INSERT OR IGNORE INTO active_members (platform, community_id, day, member_id, events)
            SELECT platform, community_id, substr(at, 1, 10), member_id, COUNT(*)
            FROM engagement_events WHERE member_id IS NOT NULL AND kind NOT IN ('member_joined', 'member_left')
            GROUP BY 1, 2, 3, 4;
        INSERT OR IGNORE INTO first_engagement (platform, community_id, member_id, cog, day)
            SELECT platform, community_id, member_id, cog, MIN(substr(at, 1, 10))
            FROM engagement_events WHERE member_id IS NOT NULL AND cog IS NOT NULL
            AND kind NOT IN ('member_joined', 'member_left') GROUP BY 1, 2, 3, 4;
        INSERT INTO follow_history (platform, community_id, member_id, at, day, followed)
            SELECT platform, community_id, member_id, followed_at, substr(followed_at, 1, 10), 1 FROM follows;
        INSERT INTO follow_daily (platform, community_id, day, follows)
            SELECT platform, community_id, substr(followed_at, 1, 10), COUNT(*) FROM follows GROUP BY 1, 2, 3
        """,
    ),
    Migration(
        9,
        "growth_indexes",
        """
        CREATE INDEX active_members_by_member ON active_members (platform, community_id, member_id, day)
        """,
    ),
]
