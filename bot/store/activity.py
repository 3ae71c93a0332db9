"""What a partnership has been doing: meetings held, and the activity the summary and rotation read (private
reflection rounds: ``reflections``)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.store.db import Database
from bot.store.labels import UNLINKED
from bot.store.records import (
    AskedFacts,
    LevelActivity,
    Partnership,
    PracticeMean,
    ReportInputs,
    SideRatings,
    SummaryInputs,
)

# Orders check-ins by time, then row, in one integer (row ids stay below 2**31; times below 2**32).
ORDER_SCALE = 2**31

# People who answered, per level, without linking anyone's answers across check-ins (an anonymous answer's
# label is per check-in, bot/store/labels.py): the most people who answered any one check-in, or the named
# people, whichever is more. A lower bound on the people who answered (exact when one check-in had everyone),
# never above the people who could have answered; an erased person's kept ratings (unlinked) count as answers,
# not as people. Reflections are private and in no team figure (only check-ins count).
# ?1 partnership, ?2 since, ?3 until, ?4 the unlinked prefix.
_PEOPLE = """
    SELECT level_id, MAX(n) AS most, MAX(named) AS named FROM (
        SELECT c.level_id, COUNT(r.id) AS n, NULL AS named FROM checkins c JOIN responses r ON r.checkin_id = c.id
        WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.posting IS NULL
          AND c.kind = 'checkin' AND substr(r.responder, 1, length(?4)) != ?4
        GROUP BY c.id
        UNION ALL
        SELECT c.level_id, NULL, COUNT(DISTINCT r.user_id) FROM checkins c JOIN responses r ON r.checkin_id = c.id
        WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.posting IS NULL
          AND c.kind = 'checkin'
        GROUP BY c.level_id)
    GROUP BY level_id
"""


def _people(rows: list) -> dict[str, int]:
    return {r["level_id"]: max(r["most"] or 0, r["named"] or 0) for r in rows}


class Activity:
    def __init__(self, db: Database):
        self.db = db

    def log_meeting(self, p: Partnership, *, held_on: str, user: str, now: int) -> bool:
        """Log that the team met on a (local) date; a second log for the same date changes nothing (False)."""
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO meetings (partnership_id, team_id, held_on, held_at, logged_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (p.id, p.team_id, held_on, now, user),
            )
            return cur.rowcount > 0

    def last_meeting(self, p: Partnership) -> int | None:
        """When the last meeting was logged, or None."""
        row = self.db.one("SELECT MAX(held_at) FROM meetings WHERE partnership_id = ?", (p.id,))
        return row[0] if row else None

    def level_activity(self, p: Partnership, *, since: int, until: int, k: int = 1) -> dict[str, LevelActivity]:
        """Per level: check-ins asked, answers, distinct people, mean rating and last activity in [since, until).

        The mean counts only closed check-ins (closed before ``until``) that ``k`` or more people answered: their
        groups of answers never change again, so two summaries, at any windows and times, differ by whole
        groups of k or more and never by one person's rating (bot/domain/anonymity.py). Private reflection rounds
        count nowhere here: a rating given in a DM about oneself is not the team's view of the team."""
        means = {
            r["level_id"]: r["mean"]
            for r in self.db.query(
                """
            SELECT level_id, CAST(SUM(total) AS REAL) / SUM(n) AS mean FROM (
                SELECT c.level_id, SUM(r.rating) AS total, COUNT(r.id) AS n
                FROM checkins c JOIN responses r ON r.checkin_id = c.id AND r.unsure = 0
                WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.closes_at < ?3
                  AND c.posting IS NULL AND c.kind = 'checkin'
                GROUP BY c.id HAVING COUNT(r.id) >= ?4)
            GROUP BY level_id
            """,
                (p.id, since, until, k),
            )
        }
        rows = self.db.query(
            """
            SELECT c.level_id, COUNT(DISTINCT c.id) AS checkins, COUNT(r.id) AS responses, MAX(c.asked_at) AS asked,
                   MAX(r.answered_at) AS answered, COUNT(DISTINCT c.facilitator_id) AS covered
            FROM checkins c LEFT JOIN responses r ON r.checkin_id = c.id
            WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL
              AND c.kind = 'checkin'
            GROUP BY c.level_id
            """,
            (p.id, since, until),
        )
        people = _people(self.db.query(_PEOPLE, (p.id, since, until, UNLINKED)))
        return {
            r["level_id"]: LevelActivity(
                r["level_id"],
                r["checkins"],
                r["responses"],
                people.get(r["level_id"], 0),
                means.get(r["level_id"]),
                max(t for t in (r["asked"], r["answered"]) if t is not None),
                r["covered"],
            )
            for r in rows
        }

    def ratings_by_side(
        self, p: Partnership, *, since: int, until: int, partner_roles: Iterable[str]
    ) -> list[SideRatings]:
        """Per practice asked in [since, until): named answers' count and rating total from public partners
        (``partner_roles``) and from everyone else with a role, over the same closed groups of k or more as
        every mean (bot/domain/anonymity.py). Anonymous answers carry no role, so they are in neither side."""
        roles = sorted(set(partner_roles))
        marks = ", ".join("?" for _ in roles) or "NULL"
        rows = self.db.query(
            f"""
            SELECT c.level_id, c.facilitator_id, r.role IN ({marks}) AS partner,
                   COUNT(r.id) AS n, SUM(r.rating) AS total
            FROM checkins c JOIN responses r ON r.checkin_id = c.id AND r.unsure = 0
            WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.closes_at < ?
              AND c.posting IS NULL AND c.kind = 'checkin' AND r.role IS NOT NULL
              AND c.id IN (SELECT checkin_id FROM responses WHERE unsure = 0 GROUP BY checkin_id HAVING COUNT(*) >= ?)
            GROUP BY c.level_id, c.facilitator_id, partner
            """,
            (*roles, p.id, since, until, until, p.k),
        )
        return [SideRatings(r["level_id"], r["facilitator_id"], bool(r["partner"]), r["n"], r["total"]) for r in rows]

    def practice_means(self, p: Partnership, *, until: int) -> list[PracticeMean]:
        """Each closed check-in asked before ``until`` that k or more people answered, oldest first, with its
        mean: one whole closed group each, as the before-and-after of an action shows (bot/domain/anonymity.py)."""
        rows = self.db.query(
            """
            SELECT c.facilitator_id, c.level_id, c.asked_at, CAST(SUM(r.rating) AS REAL) / COUNT(r.id) AS mean
            FROM checkins c JOIN responses r ON r.checkin_id = c.id AND r.unsure = 0
            WHERE c.partnership_id = ? AND c.asked_at < ? AND c.closes_at < ? AND c.posting IS NULL
              AND c.kind = 'checkin'
            GROUP BY c.id HAVING COUNT(r.id) >= ? ORDER BY c.asked_at, c.id
            """,
            (p.id, until, until, p.k),
        )
        return [PracticeMean(r["facilitator_id"], r["level_id"], r["asked_at"], r["mean"]) for r in rows]

    def not_sure(self, p: Partnership, *, since: int, until: int) -> dict[str, tuple[int, int]]:
        """facilitator id -> (answers, of which "not sure yet") over the closed check-ins asked in [since, until)
        that k or more people answered: whole closed groups, like every figure (bot/domain/anonymity.py)."""
        rows = self.db.query(
            """
            SELECT facilitator_id, SUM(n) AS answers, SUM(unsure) AS unsure FROM (
                SELECT c.facilitator_id, COUNT(r.id) AS n, SUM(r.unsure) AS unsure
                FROM checkins c JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.closes_at < ?
                  AND c.posting IS NULL AND c.kind = 'checkin'
                GROUP BY c.id HAVING COUNT(r.id) >= ?)
            GROUP BY facilitator_id
            """,
            (p.id, since, until, until, p.k),
        )
        return {r["facilitator_id"]: (r["answers"], r["unsure"]) for r in rows}

    def answered_roles(self, p: Partnership, *, since: int, until: int) -> set[str]:
        """The roles that named answers in [since, until) came from."""
        rows = self.db.query(
            """
            SELECT DISTINCT r.role FROM checkins c JOIN responses r ON r.checkin_id = c.id
            WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL
              AND r.role IS NOT NULL AND c.kind = 'checkin'
            """,
            (p.id, since, until),
        )
        return {r["role"] for r in rows}

    def last_asked(self, p: Partnership, kind: str = "checkin") -> dict[str, tuple[str, int]]:
        """facilitator id -> (level id, an order key of its last check-in), for the rotation.

        The key is the time it was asked, then its row number (``asked_at * ORDER_SCALE + id``), so it never
        ties: two asked in the same second (a coordinator typing `/coprod checkin` twice) are still one after
        the other, and none is asked twice before every practice has had its turn. ``key // ORDER_SCALE`` is
        the time."""
        rows = self.db.query(
            f"""
            SELECT facilitator_id, level_id, MAX(asked_at * {ORDER_SCALE} + id) AS asked FROM checkins
            WHERE partnership_id = ? AND kind = ? AND posting IS NULL GROUP BY facilitator_id
            """,
            (p.id, kind),
        )
        return {r["facilitator_id"]: (r["level_id"], r["asked"]) for r in rows}

    def last_asked_at(self, p: Partnership) -> dict[str, int]:
        """facilitator id -> when a check-in (not a private reflection) last asked about it, in Unix time."""
        rows = self.db.query(
            """
            SELECT facilitator_id, MAX(asked_at) AS asked FROM checkins
            WHERE partnership_id = ? AND kind = 'checkin' AND posting IS NULL GROUP BY facilitator_id
            """,
            (p.id,),
        )
        return {r["facilitator_id"]: r["asked"] for r in rows}

    def summary_inputs(self, p: Partnership, *, since: int, until: int) -> SummaryInputs:
        """Everything of the partnership's activity the summary of [since, until) reads."""
        return SummaryInputs(
            levels=self.level_activity(p, since=since, until=until, k=p.k),
            last_meeting=self.last_meeting(p),
            answered_roles=self.answered_roles(p, since=since, until=until),
            history=self.last_asked(p),
            asked_at=self.last_asked_at(p),
        )

    def report_inputs(self, p: Partnership, *, since: int, until: int, now: int) -> ReportInputs:
        """Everything the coverage picture and the report read of [since, until), as of ``now``."""
        asked = [
            AskedFacts(
                r["level_id"], r["facilitator_id"], r["kind"], r["asked_at"], r["answers"], r["total"], r["rated"]
            )
            for r in self.db.query(
                """
                SELECT c.level_id, c.facilitator_id, c.kind, c.asked_at, COUNT(r.id) AS answers,
                       COUNT(CASE WHEN r.unsure = 0 THEN r.id END) AS rated,
                       CASE WHEN c.kind = 'checkin' AND c.closes_at <= ?4
                                 AND COUNT(CASE WHEN r.unsure = 0 THEN r.id END) >= ?5
                            THEN SUM(CASE WHEN r.unsure = 0 THEN r.rating END) END AS total
                FROM checkins c LEFT JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.posting IS NULL
                GROUP BY c.id ORDER BY c.asked_at, c.id
                """,
                (p.id, since, until, now, p.k),
            )
        ]
        meetings = [
            r["held_at"]
            for r in self.db.query(
                "SELECT held_at FROM meetings WHERE partnership_id = ? AND held_at >= ? AND held_at < ?"
                " ORDER BY held_at",
                (p.id, since, until),
            )
        ]
        # Across all levels, as per level above: the most who answered one check-in, or the named people.
        most = self.db.one(
            """
            SELECT MAX(n) FROM (SELECT COUNT(r.id) AS n FROM checkins c JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.posting IS NULL
                  AND substr(r.responder, 1, length(?4)) != ?4
                GROUP BY c.id)
            """,
            (p.id, since, until, UNLINKED),
        )
        named = self.db.one(
            """
            SELECT COUNT(DISTINCT r.user_id) FROM checkins c JOIN responses r ON r.checkin_id = c.id
            WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL
            """,
            (p.id, since, until),
        )
        people = max((most[0] if most else 0) or 0, (named[0] if named else 0) or 0)
        sizes = {
            r["role"]: r["n"]
            for r in self.db.query(
                "SELECT role, COUNT(*) AS n FROM roles WHERE partnership_id = ? GROUP BY role HAVING COUNT(*) >= ?",
                (p.id, p.k),
            )
        }
        answers = {
            r["role"]: r["n"]
            for r in self.db.query(
                """
                SELECT r.role, COUNT(*) AS n FROM checkins c JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL
                  AND r.role IS NOT NULL GROUP BY r.role
                """,
                (p.id, since, until),
            )
        }
        optouts = self.db.one("SELECT COUNT(*) FROM reflexivity_optouts WHERE partnership_id = ?", (p.id,))
        return ReportInputs(
            asked=asked,
            meetings=meetings,
            people=int(people),
            role_answers={role: answers.get(role, 0) for role in sizes},
            role_sizes=sizes,
            reflexivity_optouts=int(optouts[0]) if optouts else 0,
        )
