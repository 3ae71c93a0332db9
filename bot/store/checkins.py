"""Check-ins (and reflection rounds): recording one, knowing it reached Slack, finding one lost on the way,
and showing it closed when it closes. Their answers are ``answers``'."""

from __future__ import annotations

import sqlite3

from bot.domain.anonymity import CLOSE_AFTER, closes_at
from bot.store import partnerships
from bot.store.db import Database
from bot.store.records import Checkin, Partnership, from_row


def _close_earlier(conn: sqlite3.Connection, checkin_id: int) -> None:
    """Close the check-ins of the same partnership and kind asked before this posted one, as of its asking."""
    conn.execute(
        """
        UPDATE checkins SET closes_at = n.asked_at,
            show_closed_at = IIF(checkins.show_closed_at IS NULL, NULL, n.asked_at)
        FROM (SELECT id, partnership_id, kind, asked_at FROM checkins WHERE id = ?) AS n
        WHERE checkins.partnership_id = n.partnership_id AND checkins.kind = n.kind AND checkins.id != n.id
          AND checkins.asked_at BETWEEN n.asked_at - ? AND n.asked_at AND checkins.closes_at > n.asked_at
        """,
        (checkin_id, int(CLOSE_AFTER.total_seconds())),
    )


class Checkins:
    def __init__(self, db: Database):
        self.db = db

    def record_checkin(
        self,
        p: Partnership,
        *,
        facilitator_id: str,
        level_id: str,
        asked_at: int,
        kind: str = "checkin",
        message_ts: str | None = None,
        posting: str | None = None,
    ) -> int:
        """A new check-in (or reflection round, ``kind="reflexivity"``); returns its id.

        ``posting``: the claim of the post about to carry it. Until :meth:`set_checkin_message` says Slack
        has it, the check-in counts nowhere (not in summaries, the rotation or exports). Once it is posted,
        it closes the partnership's earlier check-ins of its kind that are still open (bot/domain/anonymity.py)."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT INTO checkins (partnership_id, team_id, kind, facilitator_id, level_id, asked_at, message_ts,
                                      closes_at, posting, show_closed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    p.id,
                    p.team_id,
                    kind,
                    facilitator_id,
                    level_id,
                    asked_at,
                    message_ts,
                    closes_at(asked_at),
                    posting,
                    closes_at(asked_at) if kind == "checkin" and message_ts and posting is None else None,
                ),
            )
            checkin_id = int(cur.lastrowid or 0)
            if posting is None:
                _close_earlier(conn, checkin_id)
                partnerships.plan_round(conn, checkin_id)
            return checkin_id

    def set_checkin_message(self, team: str, checkin_id: int, message_ts: str | None) -> None:
        """The check-in reached Slack (its message at ``message_ts``, so its count can be updated; None for a
        reflection round, whose prompts are DMs): from now on it counts, and its message is to be shown closed
        when it closes (:meth:`closing_due`)."""
        with self.db.write() as conn:
            posted = conn.execute(
                """
                UPDATE checkins SET message_ts = COALESCE(?1, message_ts), posting = NULL,
                    show_closed_at = IIF(kind = 'checkin' AND COALESCE(?1, message_ts) IS NOT NULL, closes_at, NULL)
                WHERE id = ?2 AND team_id = ?3
                """,
                (message_ts, checkin_id, team),
            ).rowcount
            if posted:
                _close_earlier(conn, checkin_id)
                partnerships.plan_round(conn, checkin_id)

    def seen_in_slack(self, team: str, checkin_id: int, message_ts: str) -> bool:
        """A click on the message of a check-in still posting (Slack's answer to its post was lost, and its
        channel's history not read yet) proves Slack has it: it counts from now, as :meth:`set_checkin_message`
        would have made it. False when it was not still posting."""
        with self.db.write() as conn:
            posted = conn.execute(
                """
                UPDATE checkins SET message_ts = ?1, posting = NULL, show_closed_at = closes_at
                WHERE id = ?2 AND team_id = ?3 AND kind = 'checkin' AND posting IS NOT NULL
                """,
                (message_ts, checkin_id, team),
            ).rowcount
            if posted:
                _close_earlier(conn, checkin_id)
                partnerships.plan_round(conn, checkin_id)
            return bool(posted)

    def unposted_checkin(self, p: Partnership, posting: str) -> Checkin | None:
        """The check-in an earlier attempt of the post ``posting`` wrote and never saw reach Slack."""
        row = self.db.one(
            """
            SELECT c.id, c.partnership_id, c.team_id, p.channel_id, c.kind, c.facilitator_id, c.level_id,
                   c.asked_at, c.message_ts, c.closes_at
            FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.partnership_id = ? AND c.team_id = ? AND c.posting = ?
            """,
            (p.id, p.team_id, posting),
        )
        return from_row(Checkin, row) if row else None

    def delete_checkin(self, team: str, checkin_id: int) -> None:
        """Undo a check-in that never reached Slack."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM checkins WHERE id = ? AND team_id = ?", (checkin_id, team))

    def sweep_unposted(self, *, before: int) -> int:
        """Check-ins still posting that were asked before ``before`` (all workspaces): nobody is posting them
        any more. One someone answered did reach Slack, so it counts from now; the rest are deleted."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE checkins SET posting = NULL WHERE posting IS NOT NULL AND asked_at < ?"
                " AND EXISTS (SELECT 1 FROM responses r WHERE r.checkin_id = checkins.id)",
                (before,),
            )
            return conn.execute("DELETE FROM checkins WHERE posting IS NOT NULL AND asked_at < ?", (before,)).rowcount

    def closing_due(self, *, now: int, limit: int) -> list[Checkin]:
        """Posted check-ins that have closed and whose message still shows its buttons (all workspaces), from
        their index: at most ``limit``, the longest closed first."""
        rows = self.db.query(
            """
            SELECT c.id, c.partnership_id, c.team_id, p.channel_id, c.kind, c.facilitator_id, c.level_id,
                   c.asked_at, c.message_ts, c.closes_at
            FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.show_closed_at <= ? AND c.show_closed_at IS NOT NULL
            ORDER BY c.show_closed_at LIMIT ?
            """,
            (now, limit),
        )
        return [from_row(Checkin, r) for r in rows]

    def shown_closed(self, team: str, checkin_id: int) -> None:
        """The check-in's message shows it closed (or never will: it is gone): no tick reads it again."""
        with self.db.write() as conn:
            conn.execute("UPDATE checkins SET show_closed_at = NULL WHERE id = ? AND team_id = ?", (checkin_id, team))

    def checkin(self, team: str, checkin_id: int) -> Checkin | None:
        """One check-in of this workspace (None for another workspace's id)."""
        row = self.db.one(
            """
            SELECT c.id, c.partnership_id, c.team_id, p.channel_id, c.kind, c.facilitator_id, c.level_id,
                   c.asked_at, c.message_ts, c.closes_at
            FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.id = ? AND c.team_id = ?
            """,
            (checkin_id, team),
        )
        return from_row(Checkin, row) if row else None
