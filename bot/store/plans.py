"""Actions a team plans from a flag, and each change of their status (planned, reminded, not yet, done,
dropped). Every verb is scoped by workspace.

The rating before and after an action follows the anonymity rule exactly as the level summary does
(``Activity.level_activity``): each side is one posted check-in of the action's practice, counted only once
it has closed with k or more answers; otherwise it is None.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from bot.domain.anonymity import lead_pseudonym
from bot.domain.plans import Action
from bot.store.db import Database
from bot.store.partnerships import _COLUMNS as _PARTNERSHIP
from bot.store.records import Partnership

_PARTNERSHIP_FIELDS = [c.strip() for c in _PARTNERSHIP.split(",")]

_ACTION = (
    "a.id, a.partnership_id, a.team_id, p.channel_id, a.what, a.facilitator_id, a.level_id, a.lead, a.due_on,"
    " a.status, a.planned_by, a.planned_at, a.closed_at, a.message_ts"
)
_LAST_BEFORE = """(SELECT c.id FROM checkins c WHERE c.partnership_id = a.partnership_id AND c.kind = 'checkin'
    AND c.facilitator_id = a.facilitator_id AND c.posting IS NULL AND c.asked_at <= a.planned_at
    ORDER BY c.asked_at DESC, c.id DESC LIMIT 1)"""
_FIRST_AFTER = """(SELECT c.id FROM checkins c WHERE c.partnership_id = a.partnership_id AND c.kind = 'checkin'
    AND c.facilitator_id = a.facilitator_id AND c.posting IS NULL AND c.asked_at > a.closed_at
    ORDER BY c.asked_at, c.id LIMIT 1)"""


def _with_groups(where: str) -> str:
    """Actions matching ``where`` (over ``a`` and ``p``), each with the mean of the check-in before it and the
    one after it where that check-in is a closed group of k or more (:until: now + 1, as the summary's ``until``)."""
    return f"""
    WITH a AS (
        SELECT {_ACTION}, a.overdue_listed, p.k,
               CASE WHEN a.status = 'done' THEN {_LAST_BEFORE} END AS before_id,
               CASE WHEN a.status = 'done' THEN {_FIRST_AFTER} END AS after_id
        FROM actions a JOIN partnerships p ON p.id = a.partnership_id WHERE {where}
    ), g AS (
        SELECT c.id, CAST(SUM(r.rating) AS REAL) / COUNT(r.id) AS mean, COUNT(r.id) AS n
        FROM checkins c JOIN responses r ON r.checkin_id = c.id AND r.unsure = 0
        WHERE c.id IN (SELECT before_id FROM a UNION SELECT after_id FROM a) AND c.closes_at < :until
        GROUP BY c.id
    )
    SELECT a.*, CASE WHEN b.n >= a.k THEN b.mean END AS before_mean,
           CASE WHEN f.n >= a.k THEN f.mean END AS after_mean
    FROM a LEFT JOIN g b ON b.id = a.before_id LEFT JOIN g f ON f.id = a.after_id
    ORDER BY a.planned_at, a.id
    """


# What a summary reads of a partnership's actions, in one statement (:p partnership, :since, :until = now + 1).
SUMMARY_SQL = _with_groups(
    "a.partnership_id = :p AND (a.status = 'open' OR (a.status = 'done' AND a.closed_at >= :since))"
)


def _action(row: sqlite3.Row) -> Action:
    return Action(
        id=row["id"],
        partnership_id=row["partnership_id"],
        team_id=row["team_id"],
        channel_id=row["channel_id"],
        what=row["what"],
        facilitator_id=row["facilitator_id"],
        level_id=row["level_id"],
        lead=row["lead"],
        due_on=date.fromisoformat(row["due_on"]) if row["due_on"] else None,
        status=row["status"],
        planned_by=row["planned_by"],
        planned_at=row["planned_at"],
        closed_at=row["closed_at"],
        message_ts=row["message_ts"],
    )


def _event(
    conn: sqlite3.Connection, team: str, action_id: int, event: str, by: str | None, now: int, due: date | None = None
) -> None:
    conn.execute(
        "INSERT INTO action_events (action_id, team_id, event, due_on, by_user, at) VALUES (?, ?, ?, ?, ?, ?)",
        (action_id, team, event, due.isoformat() if due else None, by, now),
    )


def erase_person(conn: sqlite3.Connection, team: str, user: str) -> dict[str, int]:
    """Within forget-me's transaction: take the person's name off every action and status change in the
    workspace. The actions stay (the team's plans are the team's), without their name."""
    led = conn.execute("UPDATE actions SET lead = NULL WHERE team_id = ? AND lead = ?", (team, user)).rowcount
    conn.execute("UPDATE actions SET planned_by = NULL WHERE team_id = ? AND planned_by = ?", (team, user))
    conn.execute("UPDATE action_events SET by_user = NULL WHERE team_id = ? AND by_user = ?", (team, user))
    conn.execute("UPDATE pauses SET set_by = NULL WHERE team_id = ? AND set_by = ?", (team, user))
    return {"actions led": led}


class Plans:
    def __init__(self, db: Database):
        self.db = db

    def plan(
        self,
        p: Partnership,
        *,
        what: str,
        facilitator_id: str,
        level_id: str,
        lead: str | None,
        due_on: date | None,
        planned_by: str,
        now: int,
    ) -> Action:
        """A new open action, and its "planned" event."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT INTO actions (partnership_id, team_id, what, facilitator_id, level_id, lead, due_on, planned_by,
                                     planned_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (p.id, p.team_id, what, facilitator_id, level_id, lead, due_on and due_on.isoformat(), planned_by, now),
            )
            action_id = int(cur.lastrowid or 0)
            _event(conn, p.team_id, action_id, "planned", planned_by, now, due_on)
        found = self.get(p.team_id, action_id)
        assert found is not None
        return found

    def get(self, team: str, action_id: int) -> Action | None:
        """One action of this workspace (None for another workspace's id)."""
        row = self.db.one(
            f"SELECT {_ACTION} FROM actions a JOIN partnerships p ON p.id = a.partnership_id"
            " WHERE a.id = ? AND a.team_id = ? AND p.team_id = ?",
            (action_id, team, team),
        )
        return _action(row) if row else None

    def open_actions(self, p: Partnership) -> list[Action]:
        """The partnership's open actions, soonest due first (those with no date last)."""
        rows = self.db.query(
            f"SELECT {_ACTION} FROM actions a JOIN partnerships p ON p.id = a.partnership_id"
            " WHERE a.partnership_id = ? AND a.status = 'open' ORDER BY a.due_on IS NULL, a.due_on, a.id",
            (p.id,),
        )
        return [_action(r) for r in rows]

    def naming(self, team: str, user: str) -> list[int]:
        """The posted actions whose post names this person (as lead or planner), for forget-me to re-draw."""
        rows = self.db.query(
            "SELECT id FROM actions WHERE team_id = ? AND (lead = ? OR planned_by = ?) AND message_ts IS NOT NULL",
            (team, user, user),
        )
        return [r["id"] for r in rows]

    def set_message(self, team: str, action_id: int, ts: str) -> None:
        """Where the action was posted in its channel, so the post can show what became of it."""
        with self.db.write() as conn:
            conn.execute("UPDATE actions SET message_ts = ? WHERE id = ? AND team_id = ?", (ts, action_id, team))

    def close(self, team: str, action_id: int, status: str, *, by: str, now: int) -> Action | None:
        """Mark an open action done or dropped; None when it wasn't open (a double click, another's)."""
        if status not in ("done", "dropped"):
            raise ValueError(f"an action is closed as done or dropped, not {status}")
        with self.db.write() as conn:
            changed = conn.execute(
                "UPDATE actions SET status = ?, closed_at = ? WHERE id = ? AND team_id = ? AND status = 'open'",
                (status, now, action_id, team),
            ).rowcount
            if changed:
                _event(conn, team, action_id, status, by, now)
        return self.get(team, action_id) if changed else None

    def move_due(self, team: str, action_id: int, due_on: date, *, by: str, now: int) -> Action | None:
        """Not yet: a new date for an open action (it is followed up again then); None when it isn't open."""
        with self.db.write() as conn:
            changed = conn.execute(
                "UPDATE actions SET due_on = ? WHERE id = ? AND team_id = ? AND status = 'open'",
                (due_on.isoformat(), action_id, team),
            ).rowcount
            if changed:
                _event(conn, team, action_id, "not yet", by, now, due_on)
        return self.get(team, action_id) if changed else None

    def reminded(self, team: str, action_id: int, *, now: int) -> None:
        with self.db.write() as conn:
            _event(conn, team, action_id, "reminded", None, now)

    def events(self, team: str, action_id: int) -> list[tuple[str, str | None, str | None]]:
        """(event, due date, by whom) of an action, oldest first."""
        rows = self.db.query(
            "SELECT event, due_on, by_user FROM action_events WHERE action_id = ? AND team_id = ? ORDER BY id",
            (action_id, team),
        )
        return [(r["event"], r["due_on"], r["by_user"]) for r in rows]

    def due_between(self, first: date, last: date) -> list[tuple[Partnership, Action, int | None]]:
        """Open actions due from ``first`` to ``last`` in partnerships Slack hasn't paused (all workspaces), each
        with its partnership and check-in time (minutes after local midnight): the scheduler's follow-up list."""
        partnership = ", ".join(f"p.{c.strip()} AS p_{c.strip()}" for c in _PARTNERSHIP.split(","))
        rows = self.db.query(
            f"""
            SELECT {_ACTION}, {partnership}, s.at_minute FROM actions a JOIN partnerships p ON p.id = a.partnership_id
            LEFT JOIN schedules s ON s.partnership_id = p.id AND s.kind = 'checkins'
            WHERE a.status = 'open' AND a.due_on BETWEEN ? AND ? AND p.paused_reason IS NULL AND p.team_id = a.team_id
            ORDER BY a.id
            """,
            (first.isoformat(), last.isoformat()),
        )
        return [
            (Partnership(**{f: r[f"p_{f}"] for f in _PARTNERSHIP_FIELDS}), _action(r), r["at_minute"]) for r in rows
        ]

    def mark_overdue_listed(self, team: str, actions: list[Action]) -> None:
        """These overdue actions were listed in a scheduled summary: not again for the same date."""
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE actions SET overdue_listed = ? WHERE id = ? AND team_id = ?",
                [(a.due_on.isoformat() if a.due_on else None, a.id, team) for a in actions],
            )

    def awaiting_after(self, p: Partnership) -> str | None:
        """The practice of the earliest done action whose practice hasn't been asked since: the next scheduled
        check-in asks it (unless a coordinator pinned another), so the summary can compare."""
        row = self.db.one(
            f"SELECT a.facilitator_id FROM actions a WHERE a.partnership_id = ? AND a.status = 'done'"
            f" AND {_FIRST_AFTER} IS NULL ORDER BY a.closed_at, a.id LIMIT 1",
            (p.id,),
        )
        return row["facilitator_id"] if row else None

    def for_summary(
        self, p: Partnership, *, since: int, now: int
    ) -> tuple[list[Action], dict[int, tuple[float | None, float | None]], dict[int, date | None]]:
        """In one statement: the partnership's open actions and those done since ``since``; for each done one,
        the mean before and after where the anonymity rule allows; and the date each was listed overdue for."""
        rows = self.db.query(SUMMARY_SQL, {"p": p.id, "since": since, "until": now + 1})
        groups = {r["id"]: (r["before_mean"], r["after_mean"]) for r in rows if r["status"] == "done"}
        listed = {r["id"]: date.fromisoformat(r["overdue_listed"]) if r["overdue_listed"] else None for r in rows}
        return [_action(r) for r in rows], groups, listed

    def export_rows(
        self, team: str, channel: str | None = None, *, now: int, key: Callable[[str, str], str]
    ) -> Iterator[dict]:
        """A workspace's (or one channel's) actions, pseudonymous: a lead is an ``L-`` pseudonym that is never
        the ``P-`` of their answers (everyone saw who leads an action, so it must not unmask their answers);
        who planned it is left out; before and after only where the anonymity rule allows."""
        rows = self.db.query(
            _with_groups("a.team_id = :team AND p.team_id = :team AND (:channel IS NULL OR p.channel_id = :channel)"),
            {"team": team, "channel": channel, "until": now + 1},
        )
        for r in rows:
            yield {
                "channel": r["channel_id"],
                "action": r["id"],
                "level": r["level_id"],
                "facilitator": r["facilitator_id"],
                "what": r["what"],
                "lead": lead_pseudonym(r["partnership_id"], key(team, r["lead"])) if r["lead"] else None,
                "planned_on": _day(r["planned_at"]),
                "due_on": r["due_on"],
                "status": r["status"],
                "closed_on": _day(r["closed_at"]) if r["closed_at"] else None,
                "before": round(r["before_mean"], 2) if r["before_mean"] is not None else None,
                "after": round(r["after_mean"], 2) if r["after_mean"] is not None else None,
            }


def _day(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()
