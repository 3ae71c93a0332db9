"""The migrations after the first seven (m008 on: actions and pauses, removed workspaces, the record of
involvement, ...), in order; never edited once released. A new migration goes at the end of this module."""

from __future__ import annotations

import sqlite_utils

from bot.store.migration_set import execute_each, known


@known
def m008_closing_the_loop(db: sqlite_utils.Database) -> None:
    # Issue 12: actions planned from a flag, with their status changes; the reminder to those who haven't
    # answered (its setting, who was reminded and who said "don't remind me", both by responder hash, never by
    # user id); and holiday pauses, kept apart from the pause Slack forces when a channel is gone.
    execute_each(
        db,
        """
        ALTER TABLE partnerships ADD COLUMN nudge_hours INTEGER;
        ALTER TABLE partnerships ADD COLUMN nudge_set_at INTEGER;
        CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            what TEXT NOT NULL,
            facilitator_id TEXT NOT NULL,
            level_id TEXT NOT NULL,
            lead TEXT,
            due_on TEXT,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
            planned_by TEXT,
            planned_at INTEGER NOT NULL,
            closed_at INTEGER,
            message_ts TEXT,
            overdue_listed TEXT
        );
        CREATE INDEX actions_by_partnership ON actions (partnership_id, status, closed_at);
        CREATE INDEX actions_by_due ON actions (status, due_on);
        CREATE TABLE action_events (
            id INTEGER PRIMARY KEY,
            action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            event TEXT NOT NULL,
            due_on TEXT,
            by_user TEXT,
            at INTEGER NOT NULL
        );
        CREATE INDEX action_events_by_action ON action_events (action_id);
        CREATE TABLE nudges (
            checkin_id INTEGER NOT NULL REFERENCES checkins(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            responder TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (checkin_id, responder)
        );
        CREATE INDEX nudges_by_responder ON nudges (team_id, responder);
        CREATE TABLE nudge_optouts (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            responder TEXT NOT NULL,
            PRIMARY KEY (partnership_id, responder)
        );
        CREATE INDEX nudge_optouts_by_responder ON nudge_optouts (team_id, responder);
        CREATE TABLE pauses (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            starts_at INTEGER NOT NULL,
            ends_at INTEGER NOT NULL,
            until_on TEXT NOT NULL,
            set_by TEXT
        );
        CREATE INDEX pauses_by_partnership ON pauses (partnership_id, ends_at);
        CREATE INDEX pauses_by_end ON pauses (ends_at)
        """,
    )


@known
def m009_removed_workspaces(db: sqlite_utils.Database) -> None:
    # A workspace that removed coprod (several-workspace mode): its data is kept until `erase_at`, in case it
    # comes back, then erased (bot/store/workspaces.py).
    db.execute(
        "CREATE TABLE removed_workspaces (team_id TEXT PRIMARY KEY, removed_at INTEGER NOT NULL,"
        " erase_at INTEGER NOT NULL)"
    )


@known
def m010_next_fire(db: sqlite_utils.Database) -> None:
    # The scheduler reads only what is due: each schedule keeps its next fire time (UTC seconds; NULL while
    # its partnership is paused; -1 until the scheduler first works it out, from its last tick).
    db.execute("ALTER TABLE schedules ADD COLUMN next_fire_at INTEGER")
    db.execute(
        "UPDATE schedules SET next_fire_at = -1 WHERE partnership_id IN"
        " (SELECT id FROM partnerships WHERE paused_reason IS NULL)"
    )
    db.execute("CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE next_fire_at IS NOT NULL")
    # Claims still open (being posted, or failed and to be tried again) are found without reading the
    # ledger's history: posted and skipped rows are not in this index.
    db.execute("CREATE INDEX posts_open ON posts (fire_at) WHERE status IN ('claimed', 'failed')")
    # Forgetting events older than a day reads only those.
    db.execute("CREATE INDEX events_seen_by_time ON events_seen (seen_at)")
    # The reminders to those who haven't answered are looked for, each tick, only among partnerships that remind.
    db.execute("CREATE INDEX partnerships_reminding ON partnerships (nudge_hours) WHERE nudge_hours IS NOT NULL")


@known
def m011_purge_indexes(db: sqlite_utils.Database) -> None:
    # The 6-hourly purge reads only what it removes, holding the write lock for no longer: check-ins still
    # posting (a handful) from an index of their own rather than every check-in, and the ledger's posted and
    # skipped rows by fire time rather than the whole ledger.
    db.execute("CREATE INDEX checkins_posting ON checkins (asked_at) WHERE posting IS NOT NULL")
    db.execute("CREATE INDEX posts_settled ON posts (fire_at) WHERE status IN ('posted', 'skipped')")


@known
def m012_nudge_at(db: sqlite_utils.Database) -> None:
    # Each posted check-in keeps the time its reminder round falls due (NULL when none will), so a tick reads
    # only the reminders due, not every check-in of every partnership that reminds. Filled in for the
    # check-ins of the last week; ones whose round was already sent are cleared by the first tick.
    db.execute("ALTER TABLE checkins ADD COLUMN nudge_at INTEGER")
    db.execute(
        """
        UPDATE checkins SET nudge_at = checkins.asked_at + p.nudge_hours * 3600
        FROM partnerships p
        WHERE p.id = checkins.partnership_id AND p.nudge_hours IS NOT NULL AND checkins.kind = 'checkin'
          AND checkins.posting IS NULL AND checkins.asked_at > CAST(strftime('%s', 'now') AS INTEGER) - 8 * 86400
          AND checkins.asked_at + p.nudge_hours * 3600 >= p.nudge_set_at
        """
    )
    db.execute("CREATE INDEX checkins_nudge_at ON checkins (nudge_at) WHERE nudge_at IS NOT NULL")


@known
def m013_involvement(db: sqlite_utils.Database) -> None:
    # The record of involvement (issue 24). It names people, because paying them needs names, so it is kept
    # apart from the answers: no column here holds a responder hash, a check-in id or anything else that
    # joins to ``responses`` (docs/design.md, "Involvement"). A change record points at nothing either: the
    # person whose comment it answers is found once, when it is recorded, and told; nothing of that is kept.
    execute_each(
        db,
        """
        CREATE TABLE involvement (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('meeting', 'work')),
            done_on TEXT NOT NULL,
            minutes INTEGER NOT NULL CHECK (minutes > 0),
            stage TEXT,
            what TEXT NOT NULL,
            logged_by TEXT NOT NULL,
            logged_at INTEGER NOT NULL,
            paid_on TEXT,
            paid_by TEXT
        );
        CREATE INDEX involvement_by_person ON involvement (partnership_id, user_id, done_on);
        CREATE UNIQUE INDEX involvement_one_meeting_line ON involvement (partnership_id, user_id, done_on)
            WHERE kind = 'meeting';
        CREATE TABLE pay_rates (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            activity TEXT NOT NULL,
            pence_per_hour INTEGER NOT NULL CHECK (pence_per_hour >= 0),
            currency TEXT NOT NULL,
            set_by TEXT NOT NULL,
            PRIMARY KEY (partnership_id, activity)
        );
        CREATE TABLE pay_choices (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('paid', 'voucher', 'none')),
            PRIMARY KEY (partnership_id, user_id)
        );
        CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            changed_on TEXT NOT NULL,
            source TEXT NOT NULL,
            said TEXT NOT NULL,
            what_changed TEXT NOT NULL,
            difference TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            recorded_at INTEGER NOT NULL
        );
        CREATE INDEX changes_by_time ON changes (partnership_id, changed_on);
        CREATE TABLE ledger_names (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (partnership_id, user_id)
        );
        CREATE TABLE report_texts (
            partnership_id INTEGER NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
            team_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (partnership_id, name)
        )
        """,
    )


@known
def m014_show_closed(db: sqlite_utils.Database) -> None:
    # A posted check-in's message is shown closed (its buttons taken off) when it closes: each keeps the time
    # that falls due (NULL once shown, or for none to show), so a tick reads only those due. Filled in for the
    # check-ins still open or closed within the last day; older ones stay as they were.
    db.execute("ALTER TABLE checkins ADD COLUMN show_closed_at INTEGER")
    db.execute(
        """
        UPDATE checkins SET show_closed_at = closes_at
        WHERE kind = 'checkin' AND message_ts IS NOT NULL AND posting IS NULL
          AND closes_at > CAST(strftime('%s', 'now') AS INTEGER) - 86400
        """
    )
    db.execute("CREATE INDEX checkins_show_closed ON checkins (show_closed_at) WHERE show_closed_at IS NOT NULL")


@known
def m015_not_sure(db: sqlite_utils.Database) -> None:
    # "Not sure yet" is an answer: it counts as taking part and in no mean. Its `rating` holds a placeholder
    # (the column is NOT NULL, CHECK 1..5, since the first schema); every figure reads only `unsure = 0`.
    db.execute("ALTER TABLE responses ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0")


@known
def m016_partnership_size(db: sqlite_utils.Database) -> None:
    # The paper defines roles in large projects and keeps them fluid in small ones: the rotation asks the one
    # that fits (bot/domain/rotation.py). NULL: not said yet, so both are asked.
    db.execute("ALTER TABLE partnerships ADD COLUMN size TEXT")


@known
def m017_outbox(db: sqlite_utils.Database) -> None:
    # What the worker process still has to send after a request was acknowledged (bot/store/outbox.py): a
    # click's confirmation, a check-in's new count. One row per key; no token and no user id in any.
    db.execute(
        """
        CREATE TABLE outbox (
            key TEXT PRIMARY KEY,
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'call')),
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            due REAL NOT NULL,
            version INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX outbox_due ON outbox (due)")
