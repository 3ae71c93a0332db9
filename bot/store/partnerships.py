"""Partnerships (one per channel) and their settings and schedules.

A partnership is looked up once, at the edge, by workspace and channel; every other verb takes the
:class:`Partnership` record it got and works by its id, which already belongs to one workspace.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

from bot.domain.holidays import Pause
from bot.domain.schedule import next_fire, offset_of, spec_of
from bot.store.db import Database
from bot.store.records import DueSchedule, Partnership, ScheduledPartnership, ScheduleRow, from_row

_COLUMNS = (
    "id, team_id, channel_id, timezone, window_weeks, k, member_count, pinned, paused_reason, "
    "created_by, created_at, retention_months, nudge_hours, nudge_set_at, size"
)
_SCHEDULE_COLUMNS = "kind, cadence, weekday, at_minute, remind_minutes, anchor, set_at"
# A schedule whose next fire time the scheduler works out on its next tick (after a pause, on upgrade).
UNKNOWN_NEXT = -1


def next_fire_after(schedule: ScheduleRow, timezone: str, after: int) -> int:
    """The schedule's first fire time (Unix seconds) strictly after ``after``."""
    start = datetime.fromtimestamp(after, UTC)
    return int(next_fire(spec_of(schedule), timezone, start, offset_minutes=offset_of(schedule)).timestamp())


def _known(next_fire_at: int) -> int | None:
    return None if next_fire_at == UNKNOWN_NEXT else next_fire_at


def joined_columns() -> str:
    """The partnership's and the schedule's columns, for queries joining the two."""
    partnership = ", ".join(f"p.{c.strip()}" for c in _COLUMNS.split(","))
    return f"{partnership}, " + ", ".join(f"s.{c.strip()}" for c in _SCHEDULE_COLUMNS.split(","))


# When posted check-ins' reminder rounds fall due (``checkins.nudge_at``, what a tick looks for): their
# partnership's hours after each was asked, unless reminders are off or were turned on after that time had
# passed (NULL: no round). For one check-in as it is posted (?1 its id), or for a partnership's open ones as
# its setting changes (?1 the partnership, ?2 now).
_PLAN_ROUNDS = """
    UPDATE checkins SET nudge_at = CASE
        WHEN p.nudge_hours IS NOT NULL AND checkins.asked_at + p.nudge_hours * 3600 >= p.nudge_set_at
        THEN checkins.asked_at + p.nudge_hours * 3600 END
    FROM partnerships p
    WHERE p.id = checkins.partnership_id AND p.team_id = checkins.team_id AND checkins.kind = 'checkin'
      AND checkins.posting IS NULL AND {which}
"""
_PLAN_ROUND = _PLAN_ROUNDS.format(which="checkins.id = ?1")
_PLAN_OPEN_ROUNDS = _PLAN_ROUNDS.format(which="checkins.partnership_id = ?1 AND checkins.closes_at > ?2")


def plan_round(conn: sqlite3.Connection, checkin_id: int) -> None:
    """Note when a check-in just posted has its reminder round (or that it has none)."""
    conn.execute(_PLAN_ROUND, (checkin_id,))


class Partnerships:
    def __init__(self, db: Database):
        self.db = db

    def get(self, team: str, channel: str) -> Partnership | None:
        """The channel's partnership in this workspace, or None before anyone set it up."""
        row = self.db.one(f"SELECT {_COLUMNS} FROM partnerships WHERE team_id = ? AND channel_id = ?", (team, channel))
        return from_row(Partnership, row) if row else None

    def in_workspace(self, team: str) -> list[Partnership]:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM partnerships WHERE team_id = ? ORDER BY id", (team,))
        return [from_row(Partnership, r) for r in rows]

    def ensure(self, team: str, channel: str, *, timezone: str, created_by: str, now: int) -> Partnership:
        """The channel's partnership, created on first use with its creator as first coordinator."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT OR IGNORE INTO partnerships (team_id, channel_id, timezone, created_by, created_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (team, channel, timezone, created_by, now),
            )
            if cur.rowcount:
                conn.execute(
                    """
                    INSERT OR IGNORE INTO coordinators (partnership_id, team_id, user_id, added_by)
                    VALUES (?, ?, ?, ?)
                    """,
                    (cur.lastrowid, team, created_by, created_by),
                )
        found = self.get(team, channel)
        assert found is not None
        return found

    def _set(self, p: Partnership, column: str, value: object) -> None:
        with self.db.write() as conn:
            conn.execute(f"UPDATE partnerships SET {column} = ? WHERE id = ?", (value, p.id))

    def set_size(self, p: Partnership, size: str | None) -> None:
        """Set the partnership's size ("small", "large" or None: not set), which picks the role practice asked."""
        self._set(p, "size", size)

    def set_timezone(self, p: Partnership, timezone: str, *, now: int) -> None:
        """Change the timezone; schedules count as set now, so a time already passed today isn't posted again,
        and fire next at their time in the new zone."""
        with self.db.write() as conn:
            conn.execute("UPDATE partnerships SET timezone = ? WHERE id = ?", (timezone, p.id))
            conn.execute("UPDATE schedules SET set_at = ? WHERE partnership_id = ?", (now, p.id))
            rows = conn.execute(
                f"SELECT {_SCHEDULE_COLUMNS} FROM schedules WHERE partnership_id = ? AND next_fire_at IS NOT NULL",
                (p.id,),
            ).fetchall()
            for row in rows:
                conn.execute(
                    "UPDATE schedules SET next_fire_at = ? WHERE partnership_id = ? AND kind = ?",
                    (next_fire_after(from_row(ScheduleRow, row), timezone, now), p.id, row["kind"]),
                )

    def set_member_count(self, p: Partnership, count: int) -> None:
        """How many people (not bots) are in the channel, for participation."""
        self._set(p, "member_count", count)

    def set_pin(self, p: Partnership, target: str | None) -> None:
        """The level or practice the next scheduled check-in asks about (None: the rotation decides)."""
        self._set(p, "pinned", target)

    def set_paused(self, p: Partnership, reason: str | None) -> None:
        """Pause every schedule (Slack refused the channel), or resume them with None: a resumed schedule's
        next fire time is worked out on the scheduler's next tick, from its last."""
        with self.db.write() as conn:
            conn.execute("UPDATE partnerships SET paused_reason = ? WHERE id = ?", (reason, p.id))
            if reason is None:
                conn.execute(
                    "UPDATE schedules SET next_fire_at = ? WHERE partnership_id = ? AND next_fire_at IS NULL",
                    (UNKNOWN_NEXT, p.id),
                )
            else:
                conn.execute("UPDATE schedules SET next_fire_at = NULL WHERE partnership_id = ?", (p.id,))

    def set_retention(self, p: Partnership, months: int | None) -> None:
        """Blank comments older than this many months (None: keep them until someone erases them)."""
        self._set(p, "retention_months", months)

    def set_nudge(self, p: Partnership, hours: int | None, *, now: int) -> None:
        """Remind those who haven't answered a check-in this many hours after it was posted (None: never)."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE partnerships SET nudge_hours = ?, nudge_set_at = ? WHERE id = ?",
                (hours, now if hours else None, p.id),
            )
            conn.execute(_PLAN_OPEN_ROUNDS, (p.id, now))  # the open check-ins' rounds follow

    # ---- holiday pauses (not the pause Slack forces: that is paused_reason) ----------------------

    def pause(self, p: Partnership, *, until_on: date, ends_at: int, set_by: str, now: int) -> None:
        """Pause every scheduled post until ``ends_at`` (local midnight of ``until_on``); a pause in force is
        moved to the new date rather than doubled."""
        with self.db.write() as conn:
            moved = conn.execute(
                "UPDATE pauses SET ends_at = ?, until_on = ?, set_by = ?"
                " WHERE partnership_id = ? AND starts_at <= ? AND ends_at > ?",
                (ends_at, until_on.isoformat(), set_by, p.id, now, now),
            ).rowcount
            if not moved:
                conn.execute(
                    "INSERT INTO pauses (partnership_id, team_id, starts_at, ends_at, until_on, set_by)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (p.id, p.team_id, now, ends_at, until_on.isoformat(), set_by),
                )

    def resume(self, p: Partnership, *, now: int) -> bool:
        """End the pause in force now; False when there was none."""
        with self.db.write() as conn:
            return (
                conn.execute(
                    "UPDATE pauses SET ends_at = ? WHERE partnership_id = ? AND starts_at <= ? AND ends_at > ?",
                    (now, p.id, now, now),
                ).rowcount
                > 0
            )

    def pauses(self, p: Partnership, *, since: int) -> list[Pause]:
        """The partnership's pauses that had not ended by ``since``, earliest first."""
        rows = self.db.query(
            "SELECT starts_at, ends_at, until_on FROM pauses WHERE partnership_id = ? AND ends_at > ?"
            " ORDER BY starts_at",
            (p.id, since),
        )
        return [Pause(r["starts_at"], r["ends_at"], date.fromisoformat(r["until_on"])) for r in rows]

    def all_pauses(self, *, since: int) -> dict[int, list[Pause]]:
        """partnership id -> its pauses that had not ended by ``since`` (all workspaces: the scheduler's)."""
        found: dict[int, list[Pause]] = {}
        for r in self.db.query(
            "SELECT partnership_id, starts_at, ends_at, until_on FROM pauses WHERE ends_at > ? ORDER BY starts_at",
            (since,),
        ):
            found.setdefault(r["partnership_id"], []).append(
                Pause(r["starts_at"], r["ends_at"], date.fromisoformat(r["until_on"]))
            )
        return found

    # ---- schedules -------------------------------------------------------------------------

    def set_schedule(
        self,
        p: Partnership,
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
        """Set (or replace) the partnership's one schedule of ``kind``; it fires from ``now`` on."""
        schedule = ScheduleRow(kind, cadence, weekday, at_minute, remind_minutes, anchor, now)
        with self.db.write() as conn:
            row = conn.execute("SELECT timezone, paused_reason FROM partnerships WHERE id = ?", (p.id,)).fetchone()
            timezone, paused = (row["timezone"], row["paused_reason"]) if row else (p.timezone, p.paused_reason)
            next_at = None if paused else next_fire_after(schedule, timezone, now)
            conn.execute(
                """
                INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes,
                                       anchor, set_by, set_at, next_fire_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (partnership_id, kind) DO UPDATE SET
                    cadence = excluded.cadence, weekday = excluded.weekday, at_minute = excluded.at_minute,
                    remind_minutes = excluded.remind_minutes, anchor = excluded.anchor,
                    set_by = excluded.set_by, set_at = excluded.set_at, next_fire_at = excluded.next_fire_at
                """,
                (p.id, p.team_id, kind, cadence, weekday, at_minute, remind_minutes, anchor, set_by, now, next_at),
            )

    def clear_schedule(self, p: Partnership, kind: str) -> bool:
        """Stop the schedule of ``kind``; False when there was none."""
        with self.db.write() as conn:
            cur = conn.execute("DELETE FROM schedules WHERE partnership_id = ? AND kind = ?", (p.id, kind))
            return cur.rowcount > 0

    def schedules(self, p: Partnership) -> dict[str, ScheduleRow]:
        """kind -> its schedule."""
        rows = self.db.query(f"SELECT {_SCHEDULE_COLUMNS} FROM schedules WHERE partnership_id = ?", (p.id,))
        return {r["kind"]: from_row(ScheduleRow, r) for r in rows}

    def active_schedules(self) -> list[ScheduledPartnership]:
        """Every schedule of every unpaused partnership (all workspaces)."""
        rows = self.db.query(
            f"""
            SELECT {joined_columns()} FROM schedules s JOIN partnerships p ON p.id = s.partnership_id
            WHERE p.paused_reason IS NULL ORDER BY p.id, s.kind
            """
        )
        return [ScheduledPartnership(from_row(Partnership, r), from_row(ScheduleRow, r)) for r in rows]

    def due_schedules(
        self, *, now: int, limit: int, leave_out: set[str] | frozenset[str] = frozenset()
    ) -> list[DueSchedule]:
        """The schedules whose next fire time has come (or is to be worked out), soonest first, at most
        ``limit``: the scheduler's work list (all workspaces but those in ``leave_out``), read from the index
        alone when nothing is due."""
        teams = sorted(leave_out)
        rows = self.db.query(
            f"""
            SELECT {joined_columns()}, s.next_fire_at FROM schedules s JOIN partnerships p ON p.id = s.partnership_id
            WHERE s.next_fire_at IS NOT NULL AND s.next_fire_at <= ? AND p.paused_reason IS NULL
              AND p.team_id NOT IN ({", ".join("?" * len(teams))})
            ORDER BY s.next_fire_at LIMIT ?
            """,
            (now, *teams, limit),
        )
        return [
            DueSchedule(
                from_row(Partnership, r), from_row(ScheduleRow, r), None if r["next_fire_at"] < 0 else r["next_fire_at"]
            )
            for r in rows
        ]

    def next_fire_times(self, p: Partnership) -> dict[str, int | None]:
        """kind -> the schedule's next fire time as the scheduler keeps it (None: paused; -1: to be worked out)."""
        rows = self.db.query("SELECT kind, next_fire_at FROM schedules WHERE partnership_id = ?", (p.id,))
        return {r["kind"]: r["next_fire_at"] for r in rows}

    def set_picture(self, p: Partnership, *, file_id: str, alt_text: str, now: int) -> None:
        """The coverage picture just shared in the channel (a Slack file), for App Home to show."""
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO pictures (partnership_id, team_id, file_id, alt_text, shared_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (partnership_id) DO UPDATE SET
                    file_id = excluded.file_id, alt_text = excluded.alt_text, shared_at = excluded.shared_at
                """,
                (p.id, p.team_id, file_id, alt_text, now),
            )

    def picture(self, p: Partnership) -> tuple[str, str] | None:
        """(Slack file id, alt text) of the last coverage picture shared in the channel, if any."""
        row = self.db.one(
            "SELECT file_id, alt_text FROM pictures WHERE partnership_id = ? AND team_id = ?", (p.id, p.team_id)
        )
        return (row["file_id"], row["alt_text"]) if row else None
