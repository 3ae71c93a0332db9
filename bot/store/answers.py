"""Check-ins and the answers to them: recording, reading back, exporting, erasing and expiring.

An answer belongs to a responder: a keyed hash of workspace and person, so an anonymous answer keeps
no user id and still stays one answer per person (and forget-me can still find it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator

from bot.anonymity import CLOSE_AFTER, closes_at, pseudonym
from bot.store.db import Database
from bot.store.records import Answer, Checkin, Partnership, from_row


class CheckinClosed(Exception):
    """The check-in has closed: its answers can no longer be added, changed or taken out."""

    def __init__(self, checkin_id: int, closed_at: int):
        super().__init__(f"check-in {checkin_id} closed at {closed_at}")
        self.closed_at = closed_at


EXPORT_COLUMNS = ("channel", "level", "facilitator", "kind", "asked_on", "person", "role", "rating", "comment")


class Answers:
    def __init__(self, db: Database, key: Callable[[], bytes]):
        self.db = db
        self._key = key  # the responder key, kept outside the database (bot/store/keys.py)

    def responder_key(self, team: str, user: str) -> str:
        """A keyed hash standing for one person in one workspace; the user id itself is not kept."""
        return hmac.new(self._key(), f"{team}:{user}".encode(), hashlib.sha256).hexdigest()[:32]

    def form_seal(self, team: str, user: str, checkin_id: int) -> str:
        """A keyed seal on a comment form: only a form coprod opened for this person and check-in carries it."""
        return self.responder_key(team, f"{user}#form:{checkin_id}")  # "#" never occurs in a user id

    # ---- check-ins ---------------------------------------------------------------------------

    def record_checkin(
        self,
        p: Partnership,
        *,
        facilitator_id: str,
        level_id: str,
        asked_at: int,
        kind: str = "checkin",
        message_ts: str | None = None,
    ) -> int:
        """A new check-in (or reflection round, ``kind="reflexivity"``); returns its id.

        It closes the partnership's earlier check-ins of its kind that are still open."""
        with self.db.write() as conn:
            conn.execute(
                """
                UPDATE checkins SET closes_at = ?2
                WHERE partnership_id = ?1 AND asked_at BETWEEN ?3 AND ?2 AND kind = ?4 AND closes_at > ?2
                """,
                (p.id, asked_at, asked_at - int(CLOSE_AFTER.total_seconds()), kind),
            )
            cur = conn.execute(
                """
                INSERT INTO checkins (partnership_id, team_id, kind, facilitator_id, level_id, asked_at, message_ts,
                                      closes_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (p.id, p.team_id, kind, facilitator_id, level_id, asked_at, message_ts, closes_at(asked_at)),
            )
            return int(cur.lastrowid or 0)

    def set_checkin_message(self, team: str, checkin_id: int, message_ts: str) -> None:
        """Where Slack put the check-in's message, so its count can be updated."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE checkins SET message_ts = ? WHERE id = ? AND team_id = ?", (message_ts, checkin_id, team)
            )

    def delete_checkin(self, team: str, checkin_id: int) -> None:
        """Undo a check-in that never reached Slack, so the rotation doesn't count it."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM checkins WHERE id = ? AND team_id = ?", (checkin_id, team))

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

    # ---- answers -----------------------------------------------------------------------------

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
        the earlier choice. Anonymous answers keep no user id, only the keyed responder hash, and no role.
        Raises ``CheckinClosed`` once the check-in has closed (``KeyError`` for another workspace's).
        """
        responder = self.responder_key(team, user)
        with self.db.write() as conn:
            # One statement: the check-in is this workspace's, and this person's earlier answer, if any.
            found = conn.execute(
                """
                SELECT r.checkin_id IS NOT NULL AS answered, r.rating, r.comment, r.anonymous, c.closes_at
                FROM checkins c LEFT JOIN responses r ON r.checkin_id = c.id AND r.responder = ?
                WHERE c.id = ? AND c.team_id = ?
                """,
                (responder, checkin_id, team),
            ).fetchone()
            if found is None:
                raise KeyError(f"no check-in {checkin_id} in {team}")
            if now >= found["closes_at"]:
                raise CheckinClosed(checkin_id, found["closes_at"])
            before = found if found["answered"] else None
            if before is None:
                if rating is None:
                    raise ValueError("a first answer needs a rating")
                new_rating, new_comment, new_anon = rating, comment, bool(anonymous)
            else:  # what isn't given now stays as it was
                new_rating = rating if rating is not None else before["rating"]
                new_comment = comment if comment is not None else before["comment"]
                new_anon = anonymous if anonymous is not None else bool(before["anonymous"])
            conn.execute(
                """
                INSERT INTO responses (checkin_id, team_id, responder, user_id, anonymous, private, rating, comment,
                                       role, answered_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (checkin_id, responder) DO UPDATE SET
                    user_id = excluded.user_id, anonymous = excluded.anonymous, rating = excluded.rating,
                    comment = excluded.comment, role = excluded.role, answered_at = excluded.answered_at
                """,
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
        """What this person answered to this check-in, if anything."""
        row = self.db.one(
            """
            SELECT rating, comment, anonymous,
                   (SELECT COUNT(*) FROM responses WHERE checkin_id = ?1 AND team_id = ?3) AS count
            FROM responses WHERE checkin_id = ?1 AND responder = ?2 AND team_id = ?3
            """,
            (checkin_id, self.responder_key(team, user), team),
        )
        if row is None:
            return None
        return Answer(row["rating"], row["comment"], bool(row["anonymous"]), False, row["count"])

    def response_count(self, team: str, checkin_id: int) -> int:
        """How many people answered (all that a check-in's message ever shows)."""
        row = self.db.one("SELECT COUNT(*) FROM responses WHERE checkin_id = ? AND team_id = ?", (checkin_id, team))
        return int(row[0]) if row else 0

    # ---- export, erasure, retention ----------------------------------------------------------

    def export_rows(self, team: str, channel: str | None = None, *, now: int) -> Iterator[dict]:
        """The answers of a workspace (or one channel), pseudonymous: no Slack ids, no answer times.

        Only closed check-ins that k or more people answered are listed (``withheld`` counts the rest).
        A named answer carries its person's pseudonym, and their role only where k or more members hold
        it; an anonymous answer carries neither. A check-in's answers are in rating order, not the order
        they came in. Private reflection answers belong to their authors and are left out."""
        groups = self.db.query(
            """
            SELECT p.channel_id, p.id AS partnership_id, p.k, c.id, c.level_id, c.facilitator_id, c.kind,
                   date(c.asked_at, 'unixepoch') AS asked_on,
                   (SELECT COUNT(*) FROM responses r WHERE r.checkin_id = c.id AND r.private = 0) AS n
            FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.team_id = ?1 AND p.team_id = ?1 AND (?2 IS NULL OR p.channel_id = ?2) AND c.closes_at <= ?3
            ORDER BY c.asked_at, c.id
            """,
            (team, channel, now),
        )
        roles = {
            (r["partnership_id"], r["role"])
            for r in self.db.query(
                """
                SELECT ro.partnership_id, ro.role FROM roles ro JOIN partnerships p ON p.id = ro.partnership_id
                WHERE ro.team_id = ?1 AND p.team_id = ?1 GROUP BY ro.partnership_id, ro.role HAVING COUNT(*) >= p.k
                """,
                (team,),
            )
        }
        for group in groups:
            if group["n"] == 0 or group["n"] < group["k"]:
                continue
            answers = self.db.query(
                """
                SELECT responder, anonymous, role, rating, comment FROM responses
                WHERE checkin_id = ? AND team_id = ? AND private = 0 ORDER BY rating, comment
                """,
                (group["id"], team),
            )
            for r in answers:
                named = not r["anonymous"]
                yield {
                    "channel": group["channel_id"],
                    "level": group["level_id"],
                    "facilitator": group["facilitator_id"],
                    "kind": group["kind"],
                    "asked_on": group["asked_on"],
                    "person": pseudonym(group["partnership_id"], r["responder"]) if named else None,
                    "role": r["role"] if named and (group["partnership_id"], r["role"]) in roles else None,
                    "rating": r["rating"],
                    "comment": r["comment"],
                }

    def withheld(self, team: str, channel: str | None = None, *, now: int) -> int:
        """How many answered check-ins the export leaves out: still open, or fewer than k answers."""
        row = self.db.one(
            """
            SELECT COUNT(*) FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.team_id = ?1 AND p.team_id = ?1 AND (?2 IS NULL OR p.channel_id = ?2) AND c.kind = 'checkin'
              AND EXISTS (SELECT 1 FROM responses r WHERE r.checkin_id = c.id AND r.private = 0)
              AND (c.closes_at > ?3 OR (SELECT COUNT(*) FROM responses r WHERE r.checkin_id = c.id) < p.k)
            """,
            (team, channel, now),
        )
        return int(row[0]) if row else 0

    def forget_user(self, team: str, user: str, *, now: int) -> dict[str, int]:
        """Erase one person's answers, roles, reflexivity settings and cached profile in a workspace.

        Answers to check-ins still open are deleted. Answers to closed check-ins are unlinked instead: the
        rating stays in its group (taking it out would let two summaries give it away) but loses everything
        that ties it to the person: user id, responder hash, role and comment. Coordinator rights stay (a
        channel must keep a coordinator; `coordinators remove` takes them away), but the person's id is
        cleared from who-set-what records."""
        responder = self.responder_key(team, user)
        with self.db.write() as conn:
            open_ids = "SELECT id FROM checkins WHERE team_id = ?1 AND closes_at > ?3"
            counts = {
                "answers": conn.execute(
                    f"DELETE FROM responses WHERE team_id = ?1 AND responder = ?2 AND checkin_id IN ({open_ids})",
                    (team, responder, now),
                ).rowcount,
                "unlinked": conn.execute(
                    """
                    UPDATE responses SET responder = 'unlinked:' || lower(hex(randomblob(16))), user_id = NULL,
                        anonymous = 1, role = NULL, comment = NULL
                    WHERE team_id = ? AND responder = ?
                    """,
                    (team, responder),
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
            conn.execute("UPDATE partnerships SET created_by = NULL WHERE team_id = ? AND created_by = ?", (team, user))
        self.db.empty_wal()  # no older copy of what was erased stays in the WAL
        return counts

    def purge_old_comments(self, *, now: int) -> int:
        """Blank comments older than each partnership's retention setting (all workspaces); returns how many."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                UPDATE responses SET comment = NULL WHERE comment IS NOT NULL AND id IN (
                    SELECT r.id FROM responses r JOIN checkins c ON c.id = r.checkin_id
                    JOIN partnerships p ON p.id = c.partnership_id
                    WHERE p.retention_months IS NOT NULL AND r.answered_at < ? - p.retention_months * 30 * 86400)
                """,
                (now,),
            )
            purged = cur.rowcount
        if purged:
            self.db.empty_wal()  # the blanked comments leave no older copy in the WAL
        return purged
