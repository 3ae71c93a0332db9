"""The SQLite store: the only module that speaks SQL.

Every verb takes the Slack workspace (``team``) first and every query is scoped by it, so one
workspace can never read or change another's rows. Times are integer Unix seconds (UTC).

Each thread gets its own connection (WAL lets readers and one writer work at once); writes take
the lock up front with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing half-way.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_MS = 10_000
# A scheduled post is tried at most this many times; a claim not finished within the lease is abandoned.
MAX_ATTEMPTS = 3
CLAIM_LEASE = 600
MIGRATION_SET = "coprod"

migrations = Migrations(MIGRATION_SET)


class StoreError(Exception):
    """The database cannot be used; the message is one line a coordinator can act on."""


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    # On a brand-new file, connections racing to switch it to WAL get "database is locked" at once,
    # without the busy timeout; retry until it holds.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _execute_each(db: sqlite_utils.Database, script: str) -> None:
    # Not executescript: it commits first, which would end the migration's transaction half-way.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    _execute_each(
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
        """
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('responder_key', ?)", [secrets.token_hex(32)])


@migrations()
def m002_retention(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE partnerships ADD COLUMN retention_months INTEGER")


@migrations()
def m003_history_index(db: sqlite_utils.Database) -> None:
    # The rotation's history (last_asked) is then read from the index alone.
    db.execute("DROP INDEX checkins_by_facilitator")
    db.execute(
        "CREATE INDEX checkins_by_facilitator ON checkins (partnership_id, kind, facilitator_id, asked_at, level_id)"
    )


@migrations()
def m004_post_attempts(db: sqlite_utils.Database) -> None:
    # A failed or abandoned scheduled post is tried again, a few times, while still in its grace period.
    db.execute("ALTER TABLE posts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1")


# ---- plain records handed to callers -------------------------------------------------------


@dataclass(frozen=True)
class Partnership:
    id: int
    team_id: str
    channel_id: str
    timezone: str
    window_weeks: int
    k: int
    member_count: int | None
    pinned: str | None
    paused_reason: str | None
    created_by: str | None
    created_at: int
    retention_months: int | None


@dataclass(frozen=True)
class ScheduleRow:
    kind: str
    cadence: str
    weekday: int
    at_minute: int
    remind_minutes: int | None
    anchor: str
    set_at: int = 0  # nothing fires for a schedule before it was set


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    timezone: str | None
    is_admin: bool
    fetched_at: int


@dataclass(frozen=True)
class Checkin:
    id: int
    partnership_id: int
    team_id: str
    channel_id: str
    kind: str
    facilitator_id: str
    level_id: str
    asked_at: int
    message_ts: str | None


@dataclass(frozen=True)
class Answer:
    rating: int
    comment: str | None
    anonymous: bool
    created: bool
    count: int


@dataclass(frozen=True)
class LevelActivity:
    level_id: str
    checkins: int
    responses: int
    responders: int
    mean: float | None
    last_activity: int | None
    covered: int = 0  # distinct practices (facilitators) asked about


@dataclass(frozen=True)
class ScheduledPartnership:
    partnership: Partnership
    schedule: ScheduleRow


_PARTNERSHIP_COLUMNS = (
    "id, team_id, channel_id, timezone, window_weeks, k, member_count, pinned, paused_reason, "
    "created_by, created_at, retention_months"
)


def _partnership(row: tuple) -> Partnership:
    return Partnership(*row)


class Store:
    """All reads and writes of coprod's data, behind verbs."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._responder_key: bytes | None = None
        self._write_lock = threading.RLock()
        self._closed = False

    # ---- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (creating or upgrading) the database, or raise StoreError with one clear line."""
        store = cls(path)
        store.upgrade()
        return store

    def upgrade(self) -> list[str]:
        """Apply pending migrations; return their names."""
        parent = Path(self.path).resolve().parent
        if not parent.is_dir():
            raise StoreError(f"cannot open database {self.path}: folder {parent} does not exist (set COPROD_DB)")
        try:
            db = self._db()
            applied = {m.name for m in migrations.applied(db)}
            known = {m.name for m in migrations._migrations}
            unknown = applied - known
            if unknown:
                raise StoreError(
                    f"database {self.path} was written by a newer coprod (it has {sorted(unknown)[0]}); "
                    "upgrade coprod or point COPROD_DB at another file"
                )
            pending = [m.name for m in migrations.pending(db)]
            if pending:
                # Hold the write lock for the whole upgrade: a second process (or thread) waits,
                # then finds nothing left to do.
                with self._write():
                    pending = [m.name for m in migrations.pending(db)]
                    migrations.apply(db)
            db.execute("SELECT COUNT(*) FROM meta").fetchone()
            return pending
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc} (check COPROD_DB and file permissions)") from None

    def close(self) -> None:
        """Close every thread's connection; the store can't be used afterwards."""
        with self._lock:
            self._closed = True
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise StoreError(f"database {self.path} is closed")
            try:
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
                )
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                mode = _switch_to_wal(conn)
                if mode.lower() != "wal":
                    raise StoreError(f"cannot switch database {self.path} to WAL mode")
                conn.execute("PRAGMA foreign_keys = ON")
                # FULL: an acknowledged answer survives a power cut too, not only a killed process
                # (NORMAL in WAL mode may lose the last commits to an OS crash); it costs ~0.2 ms a write.
                conn.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot open database {self.path}: {exc} (check COPROD_DB and that the folder is writable)"
                ) from None
            db = sqlite_utils.Database(conn, execute_plugins=False)
            self._local.db = db
            with self._lock:
                self._connections.append(conn)
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._db().conn
        # One writer at a time within this process: threads queue here in order, where SQLite's busy
        # handler would make them sleep and retry in steps of up to 100 ms (a slow tail under load).
        # Other processes on the same file still wait on the busy timeout.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self._db().conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple | list = ()) -> tuple | None:
        return self._db().conn.execute(sql, params).fetchone()

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self._db())]

    def integrity_check(self) -> str:
        return self._one("PRAGMA integrity_check")[0]

    # ---- identity ------------------------------------------------------------------------

    def responder_key(self, team: str, user: str) -> str:
        """A keyed hash standing for one person in one workspace; the user id itself is not kept."""
        if self._responder_key is None:
            self._responder_key = bytes.fromhex(self._one("SELECT value FROM meta WHERE key = 'responder_key'")[0])
        return hmac.new(self._responder_key, f"{team}:{user}".encode(), hashlib.sha256).hexdigest()[:32]

    # ---- partnerships ----------------------------------------------------------------------

    def partnership(self, team: str, channel: str) -> Partnership | None:
        row = self._one(
            f"SELECT {_PARTNERSHIP_COLUMNS} FROM partnerships WHERE team_id = ? AND channel_id = ?", (team, channel)
        )
        return _partnership(row) if row else None

    def partnerships(self, team: str) -> list[Partnership]:
        rows = self._query(
            f"SELECT {_PARTNERSHIP_COLUMNS} FROM partnerships WHERE team_id = ? ORDER BY id", (team,)
        )
        return [_partnership(r) for r in rows]

    def ensure_partnership(self, team: str, channel: str, *, timezone: str, created_by: str, now: int) -> Partnership:
        """The channel's partnership, created on first use with its creator as first coordinator."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO partnerships (team_id, channel_id, timezone, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (team, channel, timezone, created_by, now),
            )
            if cur.rowcount:
                conn.execute(
                    "INSERT OR IGNORE INTO coordinators (partnership_id, team_id, user_id, added_by)"
                    " VALUES (?, ?, ?, ?)",
                    (cur.lastrowid, team, created_by, created_by),
                )
        found = self.partnership(team, channel)
        assert found is not None
        return found

    def _partnership_id(self, conn: sqlite3.Connection, team: str, channel: str) -> int:
        row = conn.execute(
            "SELECT id FROM partnerships WHERE team_id = ? AND channel_id = ?", (team, channel)
        ).fetchone()
        if row is None:
            raise KeyError(f"no partnership for {team}/{channel}")
        return row[0]

    def _update_partnership(self, team: str, channel: str, column: str, value: object) -> None:
        with self._write() as conn:
            conn.execute(
                f"UPDATE partnerships SET {column} = ? WHERE team_id = ? AND channel_id = ?", (value, team, channel)
            )

    def set_timezone(self, team: str, channel: str, timezone: str, *, now: int) -> None:
        """Change the timezone; schedules count as set now, so a time already passed today isn't posted again."""
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            conn.execute("UPDATE partnerships SET timezone = ? WHERE id = ?", (timezone, pid))
            conn.execute("UPDATE schedules SET set_at = ? WHERE partnership_id = ?", (now, pid))

    def set_member_count(self, team: str, channel: str, count: int) -> None:
        self._update_partnership(team, channel, "member_count", count)

    def set_pin(self, team: str, channel: str, target: str | None) -> None:
        self._update_partnership(team, channel, "pinned", target)

    def set_paused(self, team: str, channel: str, reason: str | None) -> None:
        self._update_partnership(team, channel, "paused_reason", reason)

    def set_retention(self, team: str, channel: str, months: int | None) -> None:
        self._update_partnership(team, channel, "retention_months", months)

    # ---- schedules ------------------------------------------------------------------------

    def set_schedule(
        self,
        team: str,
        channel: str,
        *,
        kind: str,
        cadence: str,
        weekday: int,
        at_minute: int,
        anchor: str,
        set_by: str,
        now: int,
        remind_minutes: int | None = None,
    ) -> None:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            conn.execute(
                "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes,"
                " anchor, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (partnership_id, kind) DO UPDATE SET cadence = excluded.cadence,"
                " weekday = excluded.weekday, at_minute = excluded.at_minute,"
                " remind_minutes = excluded.remind_minutes, anchor = excluded.anchor,"
                " set_by = excluded.set_by, set_at = excluded.set_at",
                (pid, team, kind, cadence, weekday, at_minute, remind_minutes, anchor, set_by, now),
            )

    def clear_schedule(self, team: str, channel: str, kind: str) -> bool:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute("DELETE FROM schedules WHERE partnership_id = ? AND kind = ?", (pid, kind))
            return cur.rowcount > 0

    def schedules(self, team: str, channel: str) -> dict[str, ScheduleRow]:
        rows = self._query(
            "SELECT s.kind, s.cadence, s.weekday, s.at_minute, s.remind_minutes, s.anchor, s.set_at FROM schedules s"
            " JOIN partnerships p ON p.id = s.partnership_id WHERE p.team_id = ? AND p.channel_id = ?",
            (team, channel),
        )
        return {r[0]: ScheduleRow(*r) for r in rows}

    def active_schedules(self) -> list[ScheduledPartnership]:
        """Every schedule of every unpaused partnership: the scheduler's work list (all workspaces)."""
        cols = ", ".join(f"p.{c.strip()}" for c in _PARTNERSHIP_COLUMNS.split(","))
        rows = self._query(
            f"SELECT {cols}, s.kind, s.cadence, s.weekday, s.at_minute, s.remind_minutes, s.anchor, s.set_at"
            " FROM schedules s JOIN partnerships p ON p.id = s.partnership_id"
            " WHERE p.paused_reason IS NULL ORDER BY p.id, s.kind"
        )
        return [ScheduledPartnership(_partnership(r[:12]), ScheduleRow(*r[12:])) for r in rows]

    # ---- people --------------------------------------------------------------------------

    def coordinators(self, team: str, channel: str) -> list[str]:
        rows = self._query(
            "SELECT c.user_id FROM coordinators c JOIN partnerships p ON p.id = c.partnership_id"
            " WHERE p.team_id = ? AND p.channel_id = ? ORDER BY c.rowid",
            (team, channel),
        )
        return [r[0] for r in rows]

    def is_coordinator(self, team: str, channel: str, user: str) -> bool:
        return user in self.coordinators(team, channel)

    def add_coordinator(self, team: str, channel: str, user: str, *, added_by: str) -> bool:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute(
                "INSERT OR IGNORE INTO coordinators (partnership_id, team_id, user_id, added_by) VALUES (?, ?, ?, ?)",
                (pid, team, user, added_by),
            )
            return cur.rowcount > 0

    def remove_coordinator(self, team: str, channel: str, user: str) -> bool:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute("DELETE FROM coordinators WHERE partnership_id = ? AND user_id = ?", (pid, user))
            return cur.rowcount > 0

    def remember_user(self, team: str, user: str, *, timezone: str | None, is_admin: bool, now: int) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO users (team_id, user_id, timezone, is_admin, fetched_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (team_id, user_id) DO UPDATE SET timezone = excluded.timezone,"
                " is_admin = excluded.is_admin, fetched_at = excluded.fetched_at",
                (team, user, timezone, int(is_admin), now),
            )

    def user(self, team: str, user: str) -> UserInfo | None:
        row = self._one(
            "SELECT user_id, timezone, is_admin, fetched_at FROM users WHERE team_id = ? AND user_id = ?", (team, user)
        )
        return UserInfo(row[0], row[1], bool(row[2]), row[3]) if row else None

    def set_role(self, team: str, channel: str, user: str, role: str) -> None:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            conn.execute(
                "INSERT INTO roles (partnership_id, team_id, user_id, role) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (partnership_id, user_id) DO UPDATE SET role = excluded.role",
                (pid, team, user, role),
            )

    def roles(self, team: str, channel: str) -> dict[str, str]:
        rows = self._query(
            "SELECT r.user_id, r.role FROM roles r JOIN partnerships p ON p.id = r.partnership_id"
            " WHERE p.team_id = ? AND p.channel_id = ?",
            (team, channel),
        )
        return dict(rows)

    def set_reflexivity_optout(self, team: str, channel: str, user: str, opted_out: bool) -> None:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            if opted_out:
                conn.execute(
                    "INSERT OR IGNORE INTO reflexivity_optouts (partnership_id, team_id, user_id) VALUES (?, ?, ?)",
                    (pid, team, user),
                )
            else:
                conn.execute("DELETE FROM reflexivity_optouts WHERE partnership_id = ? AND user_id = ?", (pid, user))

    def reflexivity_optouts(self, team: str, channel: str) -> set[str]:
        rows = self._query(
            "SELECT o.user_id FROM reflexivity_optouts o JOIN partnerships p ON p.id = o.partnership_id"
            " WHERE p.team_id = ? AND p.channel_id = ?",
            (team, channel),
        )
        return {r[0] for r in rows}

    # ---- check-ins and answers -------------------------------------------------------------

    def record_checkin(
        self,
        team: str,
        channel: str,
        *,
        facilitator_id: str,
        level_id: str,
        asked_at: int,
        kind: str = "checkin",
        message_ts: str | None = None,
    ) -> int:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute(
                "INSERT INTO checkins (partnership_id, team_id, kind, facilitator_id, level_id, asked_at, message_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, team, kind, facilitator_id, level_id, asked_at, message_ts),
            )
            return int(cur.lastrowid)

    def set_checkin_message(self, team: str, checkin_id: int, message_ts: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE checkins SET message_ts = ? WHERE id = ? AND team_id = ?", (message_ts, checkin_id, team)
            )

    def delete_checkin(self, team: str, checkin_id: int) -> None:
        """Undo a check-in that never reached Slack, so the rotation doesn't count it."""
        with self._write() as conn:
            conn.execute("DELETE FROM checkins WHERE id = ? AND team_id = ?", (checkin_id, team))

    def checkin(self, team: str, checkin_id: int) -> Checkin | None:
        row = self._one(
            "SELECT c.id, c.partnership_id, c.team_id, p.channel_id, c.kind, c.facilitator_id, c.level_id,"
            " c.asked_at, c.message_ts FROM checkins c JOIN partnerships p ON p.id = c.partnership_id"
            " WHERE c.id = ? AND c.team_id = ?",
            (checkin_id, team),
        )
        return Checkin(*row) if row else None

    def record_response(
        self,
        team: str,
        checkin_id: int,
        user: str,
        *,
        rating: int | None,
        now: int,
        comment: str | None = None,
        anonymous: bool | None = None,
        private: bool = False,
        role: str | None = None,
    ) -> Answer:
        """Store or update one person's answer to one check-in, in one transaction.

        ``rating=None`` keeps an earlier rating (a comment added later); ``anonymous=None`` keeps
        the earlier choice. Anonymous answers keep no user id, only the keyed responder hash.
        """
        responder = self.responder_key(team, user)
        with self._write() as conn:
            # One statement: the check-in is this workspace's, and this person's earlier answer, if any.
            found = conn.execute(
                "SELECT r.checkin_id IS NOT NULL, r.rating, r.comment, r.anonymous FROM checkins c"
                " LEFT JOIN responses r ON r.checkin_id = c.id AND r.responder = ?"
                " WHERE c.id = ? AND c.team_id = ?",
                (responder, checkin_id, team),
            ).fetchone()
            if found is None:
                raise KeyError(f"no check-in {checkin_id} in {team}")
            before = found[1:] if found[0] else None
            if before is None and rating is None:
                raise ValueError("a first answer needs a rating")
            new_rating = rating if rating is not None else before[0]
            new_comment = comment if comment is not None else (before[1] if before else None)
            new_anon = anonymous if anonymous is not None else (bool(before[2]) if before else False)
            conn.execute(
                "INSERT INTO responses (checkin_id, team_id, responder, user_id, anonymous, private, rating,"
                " comment, role, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (checkin_id, responder) DO UPDATE SET user_id = excluded.user_id,"
                " anonymous = excluded.anonymous, rating = excluded.rating, comment = excluded.comment,"
                " role = excluded.role, answered_at = excluded.answered_at",
                (
                    checkin_id,
                    team,
                    responder,
                    None if new_anon else user,
                    int(new_anon),
                    int(private),
                    new_rating,
                    new_comment or None,
                    None if new_anon else role,  # a role can single out an anonymous answer
                    now,
                ),
            )
            count = conn.execute("SELECT COUNT(*) FROM responses WHERE checkin_id = ?", (checkin_id,)).fetchone()[0]
        return Answer(new_rating, new_comment or None, new_anon, before is None, count)

    def my_answer(self, team: str, checkin_id: int, user: str) -> Answer | None:
        responder = self.responder_key(team, user)
        row = self._one(
            "SELECT r.rating, r.comment, r.anonymous FROM responses r WHERE r.checkin_id = ? AND r.responder = ?"
            " AND r.team_id = ?",
            (checkin_id, responder, team),
        )
        if row is None:
            return None
        count = self.response_count(team, checkin_id)
        return Answer(row[0], row[1], bool(row[2]), False, count)

    def response_count(self, team: str, checkin_id: int) -> int:
        return self._one(
            "SELECT COUNT(*) FROM responses WHERE checkin_id = ? AND team_id = ?", (checkin_id, team)
        )[0]

    # ---- meetings -------------------------------------------------------------------------

    def log_meeting(self, team: str, channel: str, *, held_on: str, user: str, now: int) -> bool:
        """Log that the team met on a (local) date; a second log for the same date changes nothing."""
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute(
                "INSERT OR IGNORE INTO meetings (partnership_id, team_id, held_on, held_at, logged_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (pid, team, held_on, now, user),
            )
            return cur.rowcount > 0

    def last_meeting(self, team: str, channel: str) -> int | None:
        row = self._one(
            "SELECT MAX(m.held_at) FROM meetings m JOIN partnerships p ON p.id = m.partnership_id"
            " WHERE p.team_id = ? AND p.channel_id = ?",
            (team, channel),
        )
        return row[0] if row else None

    # ---- what the summary and rotation read ------------------------------------------------

    def level_activity(
        self, team: str, channel: str, *, since: int, until: int, k: int = 1
    ) -> dict[str, LevelActivity]:
        """Per level: check-ins asked, answers, distinct people, mean rating and last activity in [since, until).

        The mean counts only check-ins that ``k`` or more people answered: comparing two windows can then
        never reveal fewer than k people's ratings (a window one small check-in longer would otherwise give
        away that check-in's answers)."""
        partnership = self.partnership(team, channel)
        if partnership is None:
            return {}
        means = dict(self._query(
            "SELECT level_id, CAST(SUM(total) AS REAL) / SUM(n) FROM ("
            " SELECT c.level_id, SUM(r.rating) AS total, COUNT(r.id) AS n"
            " FROM checkins c JOIN responses r ON r.checkin_id = c.id"
            " WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ?"
            " GROUP BY c.id HAVING COUNT(r.id) >= ?) GROUP BY level_id",
            (partnership.id, since, until, k),
        ))
        rows = self._query(
            "SELECT c.level_id, COUNT(DISTINCT c.id), COUNT(r.id), COUNT(DISTINCT r.responder), NULL,"
            " MAX(c.asked_at), MAX(r.answered_at), COUNT(DISTINCT c.facilitator_id)"
            " FROM checkins c LEFT JOIN responses r ON r.checkin_id = c.id"
            " WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ?"
            " GROUP BY c.level_id",
            (partnership.id, since, until),
        )
        return {
            r[0]: LevelActivity(r[0], r[1], r[2], r[3], means.get(r[0]),
                                max(t for t in (r[5], r[6]) if t is not None), r[7])
            for r in rows
        }

    def answered_roles(self, team: str, channel: str, *, since: int, until: int) -> set[str]:
        partnership = self.partnership(team, channel)
        if partnership is None:
            return set()
        rows = self._query(
            "SELECT DISTINCT r.role FROM checkins c JOIN responses r ON r.checkin_id = c.id"
            " WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND r.role IS NOT NULL",
            (partnership.id, since, until),
        )
        return {r[0] for r in rows}

    def last_asked(self, team: str, channel: str, kind: str = "checkin") -> dict[str, tuple[str, int]]:
        """facilitator id -> (level id, when it was last asked), for the rotation."""
        partnership = self.partnership(team, channel)
        if partnership is None:
            return {}
        rows = self._query(
            "SELECT facilitator_id, level_id, MAX(asked_at) FROM checkins"
            " WHERE partnership_id = ? AND kind = ? GROUP BY facilitator_id",
            (partnership.id, kind),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    # ---- scheduled posts: claimed before posting, so each happens once -------------------

    def claim_post(self, team: str, channel: str, *, kind: str, fire_at: int, now: int) -> bool:
        """Claim the right to make one scheduled post; False when someone already has.

        A claim whose post failed (up to MAX_ATTEMPTS tries) or whose claimer vanished without finishing
        (after CLAIM_LEASE seconds) can be claimed again."""
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            cur = conn.execute(
                "INSERT OR IGNORE INTO posts (partnership_id, team_id, kind, fire_at, claimed_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (pid, team, kind, fire_at, now),
            )
            if cur.rowcount:
                return True
            cur = conn.execute(
                "UPDATE posts SET status = 'claimed', claimed_at = ?, attempts = attempts + 1"
                " WHERE partnership_id = ? AND kind = ? AND fire_at = ? AND attempts < ?"
                " AND (status = 'failed' OR (status = 'claimed' AND claimed_at < ?))",
                (now, pid, kind, fire_at, MAX_ATTEMPTS, now - CLAIM_LEASE),
            )
            return cur.rowcount > 0

    def settled_posts(self, *, since: int, now: int) -> set[tuple[int, str, int]]:
        """(partnership id, kind, fire time) of every post since ``since`` that needs no more work:
        posted, skipped, out of attempts, or claimed by someone still working on it (all workspaces)."""
        rows = self._query(
            "SELECT partnership_id, kind, fire_at FROM posts WHERE fire_at >= ? AND (status IN ('posted', 'skipped')"
            " OR attempts >= ? OR (status = 'claimed' AND claimed_at >= ?))",
            (since, MAX_ATTEMPTS, now - CLAIM_LEASE),
        )
        return {tuple(r) for r in rows}

    def finish_post(self, team: str, channel: str, *, kind: str, fire_at: int, status: str, detail: str = "") -> None:
        with self._write() as conn:
            pid = self._partnership_id(conn, team, channel)
            conn.execute(
                "UPDATE posts SET status = ?, detail = ? WHERE partnership_id = ? AND kind = ? AND fire_at = ?",
                (status, detail, pid, kind, fire_at),
            )

    def posts(self, team: str, channel: str, kind: str | None = None) -> list[tuple[str, int, str]]:
        rows = self._query(
            "SELECT s.kind, s.fire_at, s.status FROM posts s JOIN partnerships p ON p.id = s.partnership_id"
            " WHERE p.team_id = ? AND p.channel_id = ? AND (? IS NULL OR s.kind = ?) ORDER BY s.fire_at",
            (team, channel, kind, kind),
        )
        return [tuple(r) for r in rows]

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def first_time_event(self, team: str, event_id: str, *, now: int) -> bool:
        """True the first time an event id is seen; Slack's retries of it answer False."""
        with self._write() as conn:
            conn.execute("DELETE FROM events_seen WHERE seen_at < ?", (now - 86_400,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO events_seen (team_id, event_id, seen_at) VALUES (?, ?, ?)", (team, event_id, now)
            )
            return cur.rowcount > 0

    # ---- export, erasure, retention ---------------------------------------------------------

    def export_rows(self, team: str, channel: str | None = None) -> Iterator[dict]:
        """Every answer in a workspace (or one channel): anonymous rows carry no identity; private
        reflexivity answers (rating, comment and who) belong to their author and are left out."""
        sql = (
            "SELECT p.channel_id, c.level_id, c.facilitator_id, c.kind, c.asked_at, r.rating,"
            " CASE WHEN r.private THEN NULL ELSE r.comment END, r.anonymous, r.user_id, r.role, r.answered_at"
            " FROM responses r JOIN checkins c ON c.id = r.checkin_id JOIN partnerships p ON p.id = c.partnership_id"
            " WHERE r.team_id = ? AND p.team_id = ? AND (? IS NULL OR p.channel_id = ?) AND r.private = 0"
            " ORDER BY c.asked_at, c.id, r.id"
        )
        cursor = self._db().conn.execute(sql, (team, team, channel, channel))
        names = (
            "channel",
            "level",
            "facilitator",
            "kind",
            "asked_at",
            "rating",
            "comment",
            "anonymous",
            "user",
            "role",
            "answered_at",
        )
        for row in cursor:
            record = dict(zip(names, row, strict=True))
            record["anonymous"] = bool(record["anonymous"])
            if record["anonymous"]:
                record["user"] = None
                record["role"] = None
            yield record

    def forget_user(self, team: str, user: str) -> dict[str, int]:
        """Erase one person's answers, roles, reflexivity settings and cached profile in a workspace.

        Coordinator rights stay (a channel must keep a coordinator; `coordinators remove` takes them away),
        but the person's id is cleared from who-set-what records."""
        responder = self.responder_key(team, user)
        with self._write() as conn:
            counts = {
                "answers": conn.execute(
                    "DELETE FROM responses WHERE team_id = ? AND responder = ?", (team, responder)
                ).rowcount,
                "roles": conn.execute("DELETE FROM roles WHERE team_id = ? AND user_id = ?", (team, user)).rowcount,
                "reflexivity settings": conn.execute(
                    "DELETE FROM reflexivity_optouts WHERE team_id = ? AND user_id = ?", (team, user)
                ).rowcount,
                "profile": conn.execute("DELETE FROM users WHERE team_id = ? AND user_id = ?", (team, user)).rowcount,
            }
            conn.execute("UPDATE meetings SET logged_by = NULL WHERE team_id = ? AND logged_by = ?", (team, user))
            conn.execute("UPDATE schedules SET set_by = NULL WHERE team_id = ? AND set_by = ?", (team, user))
            conn.execute("UPDATE coordinators SET added_by = NULL WHERE team_id = ? AND added_by = ?", (team, user))
        return counts

    def purge_old_comments(self, *, now: int) -> int:
        """Blank comments older than each partnership's retention setting; returns how many."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE responses SET comment = NULL WHERE comment IS NOT NULL AND id IN ("
                " SELECT r.id FROM responses r JOIN checkins c ON c.id = r.checkin_id"
                " JOIN partnerships p ON p.id = c.partnership_id"
                " WHERE p.retention_months IS NOT NULL AND r.answered_at < ? - p.retention_months * 30 * 86400)",
                (now,),
            )
            return cur.rowcount
