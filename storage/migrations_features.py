"""Schema migrations 4 onwards: timers and series, announcements, job posts, webinars,
growth rollups. Never edit a released migration: add the next number."""

from __future__ import annotations

from storage.migration_step import Migration
from storage.rollup_backfill import backfill_growth, backfill_hourly

FEATURE_MIGRATIONS: list[Migration] = [
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
        )
        """,
        backfill_growth,  # local days (until 2026-11 it was SQL on UTC days; databases migrated before keep that)
    ),
    Migration(
        9,
        "growth_indexes",
        """
        CREATE INDEX active_members_by_member ON active_members (platform, community_id, member_id, day)
        """,
    ),
    Migration(
        10,
        "growth_summaries",
        """
        CREATE TABLE member_activity (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            first_day TEXT NOT NULL,
            second_day TEXT,
            last_day TEXT NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (platform, community_id, member_id)
        );
        CREATE TABLE active_daily (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            members INTEGER NOT NULL,
            PRIMARY KEY (platform, community_id, day)
        );
        CREATE TABLE engagement_hourly (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            day TEXT NOT NULL,
            hour INTEGER NOT NULL,
            events INTEGER NOT NULL,
            PRIMARY KEY (platform, community_id, day, hour)
        );
        DROP TABLE engagement_hours;
        CREATE TABLE community_names (
            platform TEXT NOT NULL,
            community_id TEXT NOT NULL,
            name TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (platform, community_id)
        );
        CREATE INDEX first_engagement_by_day ON first_engagement (platform, community_id, day, cog);

        INSERT INTO active_daily (platform, community_id, day, members)
            SELECT platform, community_id, day, COUNT(*) FROM active_members GROUP BY 1, 2, 3;
        WITH spans AS (
            SELECT platform, community_id, member_id, MIN(day) AS first_day, MAX(day) AS last_day,
                   SUM(events) AS events
            FROM active_members GROUP BY 1, 2, 3
        )
        INSERT INTO member_activity (platform, community_id, member_id, first_day, second_day, last_day, events)
            SELECT s.platform, s.community_id, s.member_id, s.first_day,
                   (SELECT MIN(a.day) FROM active_members a WHERE a.platform = s.platform
                    AND a.community_id = s.community_id AND a.member_id = s.member_id AND a.day > s.first_day),
                   s.last_day, s.events
            FROM spans s;

        CREATE TRIGGER active_members_added AFTER INSERT ON active_members BEGIN
            INSERT INTO active_daily (platform, community_id, day, members)
                VALUES (new.platform, new.community_id, new.day, 1)
                ON CONFLICT (platform, community_id, day) DO UPDATE SET members = members + 1;
            INSERT INTO member_activity (platform, community_id, member_id, first_day, second_day, last_day, events)
                VALUES (new.platform, new.community_id, new.member_id, new.day, NULL, new.day, new.events)
                ON CONFLICT (platform, community_id, member_id) DO UPDATE SET
                    second_day = CASE
                        WHEN excluded.first_day < first_day THEN first_day
                        WHEN excluded.first_day > first_day AND (second_day IS NULL OR excluded.first_day < second_day)
                            THEN excluded.first_day
                        ELSE second_day END,
                    first_day = min(first_day, excluded.first_day),
                    last_day = max(last_day, excluded.last_day),
                    events = events + excluded.events;
        END;
        CREATE TRIGGER active_members_counted AFTER UPDATE OF events ON active_members BEGIN
            UPDATE member_activity SET events = events + new.events - old.events
                WHERE platform = new.platform AND community_id = new.community_id AND member_id = new.member_id;
        END
        """,
        backfill_hourly,
    ),
    Migration(
        11,
        "deliveries",
        """
        ALTER TABLE webinar_deliveries ADD COLUMN state TEXT NOT NULL DEFAULT 'sent';
        ALTER TABLE job_items ADD COLUMN delivery_key TEXT;
        ALTER TABLE job_items ADD COLUMN sending_at TEXT
        """,
    ),
    Migration(
        12,
        "poll_key_check",
        """
        CREATE TABLE poll_key_check (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            fingerprint TEXT NOT NULL,
            checked_at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        13,
        "poll_deleted",
        """
        ALTER TABLE polls ADD COLUMN deleted_at TEXT
        """,
    ),
]
