"""The answers to check-ins: recording, reading back, exporting, erasing and expiring (the check-ins: ``checkins``).

An answer carries a keyed label of workspace, check-in and person (``labels.answer``), so an anonymous
answer keeps no user id, stays one answer per person per check-in, and forget-me can still find it by
recomputing the label; a copy of the database can't join it to anything else the person left.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

from bot.domain.anonymity import pseudonym
from bot.store import labels, nudges, plans
from bot.store.db import Database
from bot.store.outbox import Outbox, Reply
from bot.store.records import Answer

# The export's answers: closed, posted check-ins that k or more people answered, each one's answers in
# rating order (never the order they came in), private reflection answers left out. ?1 team, ?2 channel
# or NULL, ?3 now.
EXPORT_SQL = """
    SELECT p.channel_id AS channel, p.id AS partnership_id, c.level_id AS level, c.facilitator_id AS facilitator,
           c.kind, date(c.asked_at, 'unixepoch') AS asked_on, r.user_id, r.anonymous, r.role,
           CASE WHEN r.unsure THEN 'not sure yet' ELSE r.rating END AS rating, r.comment
    FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
    JOIN responses r ON r.checkin_id = c.id AND r.private = 0
    WHERE c.team_id = ?1 AND p.team_id = ?1 AND r.team_id = ?1 AND (?2 IS NULL OR p.channel_id = ?2)
      AND c.closes_at <= ?3 AND c.posting IS NULL
      AND (SELECT COUNT(*) FROM responses n WHERE n.checkin_id = c.id AND n.private = 0) >= p.k
    ORDER BY c.asked_at, c.id, r.rating, r.comment
"""

# "Not sure yet" is stored with this in the NOT NULL rating column and ``unsure = 1``; no figure reads it.
NOT_SURE_PLACEHOLDER = 3

# Comments blanked per transaction by the retention purge.
PURGE_BATCH = 500


# An anonymous answer's time is kept to the hour (never before its check-in was asked): to the second it
# could be matched with a named answer, a reminder or a profile look-up in the same moment.
ANONYMOUS_TIME_STEP = 3600


def _at_rest(now: int, asked_at: int) -> int:
    return max(asked_at, now - now % ANONYMOUS_TIME_STEP)


class CheckinClosed(Exception):
    """The check-in has closed: its answers can no longer be added, changed or taken out."""

    def __init__(self, checkin_id: int, closed_at: int):
        super().__init__(f"check-in {checkin_id} closed at {closed_at}")
        self.closed_at = closed_at


EXPORT_COLUMNS = ("channel", "level", "facilitator", "kind", "asked_on", "person", "role", "rating", "comment")


class Answers:
    def __init__(self, db: Database, key: Callable[[], bytes], outbox: Outbox):
        self.db = db
        self._key = key  # the responder key, kept outside the database (bot/store/keys.py)
        self.outbox = outbox  # a click's confirmation goes there in the answer's own transaction

    def responder_key(self, team: str, user: str) -> str:
        """A keyed hash standing for one person in one workspace, computed when needed and never stored
        (export pseudonyms, seals): stored, it would tie a person's answers together."""
        return labels.person(self._key(), team, user)

    def label_for(self, team: str, checkin_id: int, user: str) -> str:
        """The label this person's answer to this check-in carries (``labels.answer``).

        The one way to find who wrote an anonymous answer: recompute it for each person who could have
        (forget-me; "you said, we changed" tries each channel member). Nothing stored links them."""
        return labels.answer(self._key(), team, checkin_id, user)

    def nudge_label(self, team: str, checkin_id: int, user: str) -> str:
        return labels.nudge(self._key(), team, checkin_id, user)

    def optout_label(self, team: str, partnership_id: int, user: str) -> str:
        return labels.optout(self._key(), team, partnership_id, user)

    def form_seal(self, team: str, user: str, checkin_id: int) -> str:
        """A keyed seal on a comment form: only a form coprod opened for this person and check-in carries it."""
        return self.responder_key(team, f"{user}#form:{checkin_id}")  # "#" never occurs in a user id

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
        reply: Callable[[Answer], Reply | None] | None = None,
    ) -> Answer:
        """Store or update one person's answer to one check-in, in one transaction; with ``reply``, what it
        returns for the answer goes into the outbox in that transaction (the one committed last is sent).

        ``rating=None`` keeps an earlier rating (a comment added later); ``rating=0`` is "Not sure yet"
        (stored as ``unsure``: it takes part, in no mean); ``anonymous=None`` keeps the earlier choice.
        Anonymous answers keep no user id, only the per-check-in label, and no role.
        Raises ``CheckinClosed`` once the check-in has closed (``KeyError`` for another workspace's).
        """
        responder = self.label_for(team, checkin_id, user)
        with self.db.write() as conn:
            # One statement: the check-in is this workspace's, and this person's earlier answer, if any.
            found = conn.execute(
                """
                SELECT r.checkin_id IS NOT NULL AS answered, r.rating, r.unsure, r.comment, r.anonymous, c.closes_at,
                       c.asked_at
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
                new_rating = rating if rating is not None else (0 if before["unsure"] else before["rating"])
                new_comment = comment if comment is not None else before["comment"]
                new_anon = anonymous if anonymous is not None else bool(before["anonymous"])
            conn.execute(
                """
                INSERT INTO responses (id, checkin_id, team_id, responder, user_id, anonymous, private, rating,
                                       comment, role, answered_at, unsure)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (checkin_id, responder) DO UPDATE SET
                    user_id = excluded.user_id, anonymous = excluded.anonymous, rating = excluded.rating,
                    unsure = excluded.unsure,
                    comment = excluded.comment, role = excluded.role, answered_at = excluded.answered_at
                """,
                (
                    secrets.randbits(62) + 1,  # a random row id: ids in order would tell who answered just before
                    checkin_id,
                    team,
                    responder,
                    None if new_anon else user,
                    int(new_anon),
                    int(private),
                    new_rating or NOT_SURE_PLACEHOLDER,
                    new_comment or None,
                    None if new_anon else role,  # a role can single out an anonymous answer
                    _at_rest(now, found["asked_at"]) if new_anon else now,
                    int(new_rating == 0),
                ),
            )
            count = conn.execute("SELECT COUNT(*) FROM responses WHERE checkin_id = ?", (checkin_id,)).fetchone()[0]
            letter = reply(Answer(new_rating, new_comment or None, new_anon, before is None, count)) if reply else None
            if letter is not None:  # keyed by the label, never the user id
                self.outbox.put_reply(conn, f"reply:{responder}", team, letter)
        if letter is not None:
            self.outbox.wake()
        return Answer(new_rating, new_comment or None, new_anon, before is None, count, self.db.last_commit)

    def my_answer(self, team: str, checkin_id: int, user: str) -> Answer | None:
        """What this person answered to this check-in, if anything."""
        row = self.db.one(
            """
            SELECT CASE WHEN unsure THEN 0 ELSE rating END AS rating, comment, anonymous,
                   (SELECT COUNT(*) FROM responses WHERE checkin_id = ?1 AND +team_id = ?3) AS count
            FROM responses WHERE checkin_id = ?1 AND responder = ?2 AND team_id = ?3
            """,
            (checkin_id, self.label_for(team, checkin_id, user), team),
        )
        if row is None:
            return None
        return Answer(row["rating"], row["comment"], bool(row["anonymous"]), False, row["count"])

    def response_count(self, team: str, checkin_id: int) -> int:
        """How many people answered (all that a check-in's message ever shows)."""
        # `+team_id`: still this workspace's answers only, but counted from the (checkin_id, responder) index;
        # SQLite would otherwise pick the workspace's index and read all its answers.
        row = self.db.one("SELECT COUNT(*) FROM responses WHERE checkin_id = ? AND +team_id = ?", (checkin_id, team))
        return int(row[0]) if row else 0

    # ---- export, erasure, retention ----------------------------------------------------------

    def export_rows(self, team: str, channel: str | None = None, *, now: int) -> Iterator[dict]:
        """The answers of a workspace (or one channel), pseudonymous: no Slack ids, no answer times.

        Only closed check-ins that k or more people answered are listed (``withheld`` counts the rest).
        A named answer carries its person's pseudonym, and their role only where k or more members hold
        it; an anonymous answer carries neither. A check-in's answers are in rating order, not the order
        they came in. Private reflection answers belong to their authors and are left out."""
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
        cursor = self.db.conn.execute(EXPORT_SQL, (team, channel, now))
        for r in cursor:
            named = not r["anonymous"]
            yield {
                "channel": r["channel"],
                "level": r["level"],
                "facilitator": r["facilitator"],
                "kind": r["kind"],
                "asked_on": r["asked_on"],
                "person": pseudonym(r["partnership_id"], self.responder_key(team, r["user_id"])) if named else None,
                "role": r["role"] if named and (r["partnership_id"], r["role"]) in roles else None,
                "rating": r["rating"],
                "comment": r["comment"],
            }

    def withheld(self, team: str, channel: str | None = None, *, now: int) -> int:
        """How many answered check-ins the export leaves out: still open, or fewer than k answers."""
        row = self.db.one(
            """
            SELECT COUNT(*) FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
            WHERE c.team_id = ?1 AND p.team_id = ?1 AND (?2 IS NULL OR p.channel_id = ?2) AND c.kind = 'checkin'
              AND c.posting IS NULL AND EXISTS (SELECT 1 FROM responses r WHERE r.checkin_id = c.id AND r.private = 0)
              AND (c.closes_at > ?3 OR (SELECT COUNT(*) FROM responses r WHERE r.checkin_id = c.id) < p.k)
            """,
            (team, channel, now),
        )
        return int(row[0]) if row else 0

    def forget_user(self, team: str, user: str, *, now: int) -> dict[str, int]:
        """Erase one person's answers, roles, reflexivity settings and cached profile in a workspace.

        Answers to check-ins still open are deleted. Answers to closed check-ins are unlinked instead: the
        rating stays in its group (taking it out would let two summaries give it away) but loses everything
        that ties it to the person: user id, label (replaced by a random one), role and comment.
        Coordinator rights stay (a channel must keep a coordinator; `coordinators remove` takes them away),
        but the person's id is cleared from who-set-what records."""
        with self.db.write() as conn:
            # The person's labels are recomputed for every check-in and partnership of the workspace: nothing
            # stored links their answers, reminders or opt-outs to them (bot/store/labels.py).
            asked = [r[0] for r in conn.execute("SELECT id FROM checkins WHERE team_id = ?", (team,))]
            mine = [(cid, self.label_for(team, cid, user), team) for cid in asked]
            counts = {
                "answers": conn.executemany(
                    "DELETE FROM responses WHERE checkin_id = ?1 AND responder = ?2 AND team_id = ?3"
                    " AND checkin_id IN (SELECT id FROM checkins WHERE id = ?1 AND closes_at > ?4)",
                    [(*m, now) for m in mine],
                ).rowcount,
                "unlinked": conn.executemany(
                    """
                    UPDATE responses SET responder = 'unlinked:' || lower(hex(randomblob(16))), user_id = NULL,
                        anonymous = 1, role = NULL, comment = NULL,
                        answered_at = MAX(answered_at - answered_at % 3600,
                                          (SELECT asked_at FROM checkins WHERE id = responses.checkin_id))
                    WHERE checkin_id = ? AND responder = ? AND team_id = ?
                    """,
                    mine,
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
            counts.update(plans.erase_person(conn, team, user))  # names on actions and pauses (issue 12)
            partnered = [r[0] for r in conn.execute("SELECT id FROM partnerships WHERE team_id = ?", (team,))]
            reminded = [(cid, self.nudge_label(team, cid, user)) for cid in asked]
            opted = [(pid, self.optout_label(team, pid, user)) for pid in partnered]
            counts.update(nudges.erase_person(conn, team, reminded, opted))  # reminders sent, "don't remind me"
        self.db.empty_wal()  # no older copy of what was erased stays in the WAL
        return counts


def purge_old_comments(db: Database, *, now: int) -> int:
    """Blank comments older than each partnership's retention setting (all workspaces); returns how many.

    The old comments are found outside the write lock, then blanked PURGE_BATCH to a transaction, so a
    purge never holds up answers for long."""
    purged = 0
    keeping = db.query("SELECT id, retention_months FROM partnerships WHERE retention_months IS NOT NULL")
    for p in keeping:
        before = now - p["retention_months"] * 30 * 86400
        ids = [
            r[0]
            for r in db.query(
                "SELECT r.id FROM checkins c JOIN responses r ON r.checkin_id = c.id"
                " WHERE c.partnership_id = ? AND r.comment IS NOT NULL AND r.answered_at < ?",
                (p["id"], before),
            )
        ]
        for start in range(0, len(ids), PURGE_BATCH):
            chunk = ids[start : start + PURGE_BATCH]
            with db.write() as conn:
                cur = conn.execute(
                    f"UPDATE responses SET comment = NULL WHERE id IN ({', '.join('?' * len(chunk))})"
                    " AND comment IS NOT NULL AND answered_at < ?",
                    (*chunk, before),
                )
                purged += cur.rowcount
    if purged:
        db.empty_wal()  # the blanked comments leave no older copy in the WAL
    return purged
