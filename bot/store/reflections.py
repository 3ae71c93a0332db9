"""Private reflection rounds (``kind = 'reflexivity'``): how many people took part, all the team is told, and
one person's own answers, shown only to them."""

from __future__ import annotations

from collections.abc import Callable

from bot.store.db import Database
from bot.store.labels import UNLINKED
from bot.store.records import Partnership


class Reflections:
    def __init__(self, db: Database):
        self.db = db

    def reflected(self, p: Partnership, *, since: int, until: int) -> int:
        """How many people answered a private reflection prompt asked in [since, until): all the team is told.

        Counted as people are everywhere (``activity._PEOPLE``): the most who answered one round, or the named people,
        whichever is more. Labels are per round, so counting them would count each person once a round."""
        row = self.db.one(
            """
            SELECT MAX(most), MAX(named) FROM (
                SELECT COUNT(r.id) AS most, NULL AS named FROM checkins c JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ?1 AND c.kind = 'reflexivity' AND c.asked_at >= ?2 AND c.asked_at < ?3
                  AND c.posting IS NULL AND substr(r.responder, 1, length(?4)) != ?4
                GROUP BY c.id
                UNION ALL
                SELECT NULL, COUNT(DISTINCT r.user_id) FROM checkins c JOIN responses r ON r.checkin_id = c.id
                WHERE c.partnership_id = ?1 AND c.kind = 'reflexivity' AND c.asked_at >= ?2 AND c.asked_at < ?3
                  AND c.posting IS NULL)
            """,
            (p.id, since, until, UNLINKED),
        )
        return max(int(row[0] or 0), int(row[1] or 0)) if row else 0

    def my_reflections(
        self, p: Partnership, label_of: Callable[[int], str], limit: int = 5
    ) -> list[tuple[int, str, int]]:
        """One person's own answers to their private reflection prompts, latest first: (asked at, practice,
        rating; 0 for "not sure yet"). Only for showing to that person (App Home). ``label_of`` gives the keyed
        label this person's answer to a check-in carries (``Answers.label_for``): labels are per check-in, so
        they are recomputed for the partnership's recent reflection rounds (about five years of weekly ones)."""
        rounds = self.db.query(
            """
            SELECT id FROM checkins WHERE partnership_id = ? AND kind = 'reflexivity' AND posting IS NULL
            ORDER BY asked_at DESC, id DESC LIMIT 260
            """,
            (p.id,),
        )
        labels = [label_of(r["id"]) for r in rounds]
        if not labels:
            return []
        marks = ", ".join("?" for _ in labels)
        rows = self.db.query(
            f"""
            SELECT c.asked_at, c.facilitator_id, CASE WHEN r.unsure THEN 0 ELSE r.rating END AS rating
            FROM checkins c JOIN responses r ON r.checkin_id = c.id
            WHERE c.partnership_id = ? AND c.kind = 'reflexivity' AND r.responder IN ({marks})
            ORDER BY c.asked_at DESC, c.id DESC LIMIT ?
            """,
            (p.id, *labels, limit),
        )
        return [(r["asked_at"], r["facilitator_id"], r["rating"]) for r in rows]
