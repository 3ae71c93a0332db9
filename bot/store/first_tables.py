"""The tables coprod was first released with (m001) and their first changes (m002-m007), in order; never
edited once released."""

from __future__ import annotations

import secrets

import sqlite_utils

from bot.domain.anonymity import CLOSE_AFTER
from bot.store.migration_set import execute_each, known

CLOSE_SECONDS = int(CLOSE_AFTER.total_seconds())


@known
def m001_initial(db: sqlite_utils.Database) -> None:
    execute_each(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE partnerships (
            id INTEGER PRIMARY KEY,
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            timezone TEXT NOT NULL DEFAULT 'UTC',
            window_weeks INTEGER NOT NULL DEFAULT 8,
            k INTEGER NOT NULL DEFAULT 3,
            member_count INTEGER,
            pinned TEXT,
            paused_reason TEXT,
            created_by TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (team_id, channel_id)
        );
        CREATE TABLE schedules (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            cadence TEXT NOT NULL,
            weekday INTEGER NOT NULL,
            at_minute INTEGER NOT NULL,
            remind_minutes INTEGER,
            anchor TEXT NOT NULL,
            set_by TEXT,
            set_at INTEGER NOT NULL,
            PRIMARY KEY (partnership_id, kind)
        );
        CREATE TABLE coordinators (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            added_by TEXT,
            PRIMARY KEY (partnership_id, user_id)
        );
        CREATE TABLE users (
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            timezone TEXT,
            is_admin INTEGER NOT NULL DEFAULT 0,
            fetched_at INTEGER NOT NULL,
            PRIMARY KEY (team_id, user_id)
        );
        CREATE TABLE roles (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (partnership_id, user_id)
        );
        CREATE TABLE checkins (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'checkin',
            facilitator_id TEXT NOT NULL,
            level_id TEXT NOT NULL,
            asked_at INTEGER NOT NULL,
            message_ts TEXT
        );
        CREATE INDEX checkins_by_time ON checkins (partnership_id, asked_at);
        CREATE INDEX checkins_by_facilitator ON checkins (partnership_id, kind, facilitator_id, asked_at);
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            checkin_id INTEGER NOT NULL REFERENCES checkins(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            responder TEXT NOT NULL,
            user_id TEXT,
            anonymous INTEGER NOT NULL DEFAULT 0,
            private INTEGER NOT NULL DEFAULT 0,
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            comment TEXT,
            role TEXT,
            answered_at INTEGER NOT NULL,
            CHECK (anonymous = 0 OR user_id IS NULL),
            UNIQUE (checkin_id, responder)
        );
        CREATE INDEX responses_by_responder ON responses (team_id, responder);
        CREATE TABLE meetings (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            held_on TEXT NOT NULL,
            held_at INTEGER NOT NULL,
            logged_by TEXT,
            UNIQUE (partnership_id, held_on)
        );
        CREATE TABLE posts (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            fire_at INTEGER NOT NULL,
            claimed_at INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'claimed',
            detail TEXT,
            PRIMARY KEY (partnership_id, kind, fire_at)
        );
        CREATE TABLE reflexivity_optouts (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            PRIMARY KEY (partnership_id, user_id)
        );
        CREATE TABLE events_seen (
            team_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            seen_at INTEGER NOT NULL,
            PRIMARY KEY (team_id, event_id)
        );
        """,
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('responder_key', ?)", [secrets.token_hex(32)])


@known
def m002_retention(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE partnerships ADD COLUMN retention_months INTEGER")


@known
def m003_history_index(db: sqlite_utils.Database) -> None:
    # The rotation's history (last_asked) is then read from the index alone.
    db.execute("DROP INDEX checkins_by_facilitator")
    db.execute(
        "CREATE INDEX checkins_by_facilitator ON checkins (partnership_id, kind, facilitator_id, asked_at, level_id)"
    )


@known
def m004_post_attempts(db: sqlite_utils.Database) -> None:
    # A failed or abandoned scheduled post is tried again, a few times, while still in its grace period.
    db.execute("ALTER TABLE posts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1")


@known
def m005_checkin_posting(db: sqlite_utils.Database) -> None:
    # A check-in's row is written before its message is posted (the buttons carry its id). `posting` holds
    # the post's claim until Slack has the message; a row still posting counts nowhere. Rows an older coprod
    # left half-made (a check-in with no message that nobody answered) are marked so, and swept later.
    db.execute("ALTER TABLE checkins ADD COLUMN posting TEXT")
    db.execute(
        "UPDATE checkins SET posting = 'half-made' WHERE kind = 'checkin' AND message_ts IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.checkin_id = checkins.id)"
    )
    # The rotation's history (last_asked) still reads from the index alone.
    db.execute("DROP INDEX checkins_by_facilitator")
    db.execute(
        "CREATE INDEX checkins_by_facilitator"
        " ON checkins (partnership_id, kind, facilitator_id, asked_at, level_id, posting)"
    )


@known
def m006_checkins_close(db: sqlite_utils.Database) -> None:
    # A check-in's answers count toward any mean only once it has closed (bot/domain/anonymity.py): when the next
    # check-in of its kind was posted, or a week after it was posted.
    db.execute("ALTER TABLE checkins ADD COLUMN closes_at INTEGER")
    db.execute(
        """
        UPDATE checkins SET closes_at = MIN(asked_at + ?, COALESCE((
            SELECT MIN(n.asked_at) FROM checkins n
            WHERE n.partnership_id = checkins.partnership_id AND n.kind = checkins.kind
              AND n.posting IS NULL
              AND (n.asked_at > checkins.asked_at OR (n.asked_at = checkins.asked_at AND n.id > checkins.id))
        ), asked_at + ?))
        """,
        [CLOSE_SECONDS, CLOSE_SECONDS],
    )


@known
def m007_pictures(db: sqlite_utils.Database) -> None:
    # The last coverage picture shared in each partnership's channel (a Slack file), for App Home to show.
    execute_each(
        db,
        """
        CREATE TABLE pictures (
            partnership_id INTEGER PRIMARY KEY REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            file_id TEXT NOT NULL,
            alt_text TEXT NOT NULL,
            shared_at INTEGER NOT NULL
        )
        """,
    )
