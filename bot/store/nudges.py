"""The gentle reminder to those who haven't answered an open check-in: who was reminded, once, and who said
"don't remind me". Both are kept by keyed labels of their own (``labels.nudge``: per check-in;
``labels.optout``: per partnership), never by Slack user id and never equal to an answer's label, so the
database alone tells nobody who was reminded, who hadn't answered, nor who gave an anonymous answer."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Protocol

from bot.store.db import Database
from bot.store.partnerships import _COLUMNS
from bot.store.records import Partnership, from_row

# The check-ins whose reminder time (``nudge_at``, kept on each posted check-in) has come, from that column's
# index: a tick reads only what is due, however many partnerships remind. ``done``: the round can be
# forgotten (the check-in closed, reminders were turned off, or the round is in the ledger as posted or
# skipped, under the key the tick claims it by); a partnership Slack paused keeps its round for later. CROSS
# JOIN keeps the check-ins (by that index) first. ?1 now
_DUE = f"""
    SELECT {", ".join("p." + c.strip() for c in _COLUMNS.split(","))}, c.id AS checkin_id, c.asked_at AS asked_at,
           (c.closes_at <= ?1 OR p.nudge_hours IS NULL
            OR EXISTS (SELECT 1 FROM posts o WHERE o.partnership_id = p.id AND o.kind = 'nudge:' || c.id
                       AND o.fire_at = c.asked_at AND o.status IN ('posted', 'skipped'))) AS done
    FROM checkins c CROSS JOIN partnerships p ON p.id = c.partnership_id AND p.team_id = c.team_id
    WHERE c.nudge_at <= ?1 AND c.posting IS NULL
    ORDER BY c.nudge_at, c.id
"""


@dataclass(frozen=True)
class NudgeDue:
    partnership: Partnership
    checkin_id: int
    asked_at: int  # the reminder round's key in the post ledger, with the check-in id


def erase_person(
    conn: sqlite3.Connection, team: str, reminded: list[tuple[int, str]], opted: list[tuple[int, str]]
) -> dict[str, int]:
    """Within forget-me's transaction: the reminders sent to the person ((check-in, nudge label) for each
    check-in of the workspace) and their "don't remind me" ((partnership, opt-out label))."""
    conn.executemany(
        "DELETE FROM nudges WHERE checkin_id = ? AND responder = ? AND team_id = ?", [(*r, team) for r in reminded]
    )
    cleared = conn.executemany(
        "DELETE FROM nudge_optouts WHERE partnership_id = ? AND responder = ? AND team_id = ?",
        [(*o, team) for o in opted],
    )
    return {"reminder settings": cleared.rowcount}


class Labels(Protocol):
    """The keyed labels (Answers): an answer's, a reminder's, an opt-out's, each of its own."""

    def label_for(self, team: str, checkin_id: int, user: str) -> str: ...
    def nudge_label(self, team: str, checkin_id: int, user: str) -> str: ...
    def optout_label(self, team: str, partnership_id: int, user: str) -> str: ...


class Nudges:
    def __init__(self, db: Database, labels: Labels):
        self.db = db
        self._labels = labels

    def due(self, *, now: int) -> list[NudgeDue]:
        """Open check-ins whose reminder time has come, in partnerships that remind and Slack hasn't paused (all
        workspaces). Rounds done with (sent, closed, reminders off) are forgotten here, so no tick reads them
        again."""
        rows = self.db.query(_DUE, (now,))
        done = [(r["checkin_id"],) for r in rows if r["done"]]
        if done:
            with self.db.write() as conn:
                conn.executemany("UPDATE checkins SET nudge_at = NULL WHERE id = ?", done)
        return [
            NudgeDue(from_row(Partnership, r), r["checkin_id"], r["asked_at"])
            for r in rows
            if not r["done"] and r["paused_reason"] is None
        ]

    def answered(self, team: str, checkin_id: int, user: str) -> bool:
        """Whether the person answered, named or anonymously: the answer's label tells either way."""
        row = self.db.one(
            "SELECT 1 FROM responses WHERE checkin_id = ? AND responder = ? AND team_id = ?",
            (checkin_id, self._labels.label_for(team, checkin_id, user), team),
        )
        return row is not None

    def claim(self, team: str, checkin_id: int, user: str, *, now: int) -> bool:
        """Record that the person is being reminded about this check-in; False if they already were (once)."""
        with self.db.write() as conn:
            return (
                conn.execute(
                    "INSERT OR IGNORE INTO nudges (checkin_id, team_id, responder, sent_at) VALUES (?, ?, ?, ?)",
                    (checkin_id, team, self._labels.nudge_label(team, checkin_id, user), now),
                ).rowcount
                > 0
            )

    def was_reminded(self, team: str, checkin_id: int, user: str) -> bool:
        """Whether coprod reminded this person about this check-in (a rating from the reminder's DM needs it)."""
        row = self.db.one(
            "SELECT 1 FROM nudges WHERE checkin_id = ? AND responder = ? AND team_id = ?",
            (checkin_id, self._labels.nudge_label(team, checkin_id, user), team),
        )
        return row is not None

    def sent(self, team: str, checkin_id: int) -> int:
        """How many people were reminded about a check-in (never who)."""
        row = self.db.one("SELECT COUNT(*) FROM nudges WHERE checkin_id = ? AND team_id = ?", (checkin_id, team))
        return int(row[0]) if row else 0

    def set_optout(self, p: Partnership, user: str, opted_out: bool) -> None:
        """ "Don't remind me" (or "remind me again") for one person in one partnership."""
        with self.db.write() as conn:
            if opted_out:
                conn.execute(
                    "INSERT OR IGNORE INTO nudge_optouts (partnership_id, team_id, responder) VALUES (?, ?, ?)",
                    (p.id, p.team_id, self._labels.optout_label(p.team_id, p.id, user)),
                )
            else:
                conn.execute(
                    "DELETE FROM nudge_optouts WHERE partnership_id = ? AND responder = ?",
                    (p.id, self._labels.optout_label(p.team_id, p.id, user)),
                )

    def opted_out(self, p: Partnership, user: str) -> bool:
        row = self.db.one(
            "SELECT 1 FROM nudge_optouts WHERE partnership_id = ? AND responder = ?",
            (p.id, self._labels.optout_label(p.team_id, p.id, user)),
        )
        return row is not None
