"""What people said that a "you said, we changed" record can answer: the comments a coordinator may already
read in the export, and, once, who wrote one, so coprod can tell them what it changed.

Who wrote a comment is never returned to the coordinator or kept: ``author_among`` recomputes each channel
member's keyed label and compares it with the one the answer carries (the answer keeps no user id when it was
anonymous), and the caller only sends that person a private message.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.store.db import Database
from bot.store.records import Partnership, from_row

if TYPE_CHECKING:
    from bot.store.answers import Answers

# The comments the export shows: closed, posted check-ins that k or more people answered, reflection answers
# (private to their authors) left out. ?1 partnership, ?2 now, ?3 one answer's id or NULL.
_COMMENTS = """
    SELECT r.id, c.facilitator_id, c.level_id, c.asked_at, r.comment
    FROM checkins c JOIN partnerships p ON p.id = c.partnership_id
    JOIN responses r ON r.checkin_id = c.id AND r.private = 0 AND r.comment IS NOT NULL
    WHERE c.partnership_id = ?1 AND c.kind = 'checkin' AND c.closes_at <= ?2 AND c.posting IS NULL
      AND (?3 IS NULL OR r.id = ?3)
      AND (SELECT COUNT(*) FROM responses n WHERE n.checkin_id = c.id AND n.private = 0) >= p.k
    ORDER BY c.asked_at DESC, r.id DESC
    LIMIT ?4
"""


@dataclass(frozen=True)
class Comment:
    id: int
    facilitator_id: str
    level_id: str
    asked_at: int
    comment: str


class Said:
    def __init__(self, db: Database, answers: Answers):
        self.db = db
        self._answers = answers  # the keyed label an answer carries for (workspace, check-in, person)

    def comments(self, p: Partnership, *, now: int, limit: int = 100) -> list[Comment]:
        """The comments a coordinator may pick from, newest first (as many as a Slack menu holds)."""
        return [from_row(Comment, r) for r in self.db.query(_COMMENTS, (p.id, now, None, limit))]

    def comment(self, p: Partnership, answer_id: int, *, now: int) -> Comment | None:
        """One of those comments, or None when it isn't one a coordinator could have picked here."""
        row = self.db.one(_COMMENTS, (p.id, now, answer_id, 1))
        return from_row(Comment, row) if row else None

    def author_among(self, p: Partnership, answer_id: int, members: Iterable[str]) -> str | None:
        """Which of ``members`` wrote the answer, found by recomputing each one's label; None if none did.

        Each answer carries the label of (workspace, check-in, person) (``Answers.label_for``): nothing stored
        links it to a person, and an unlinked answer (its person erased) matches nobody."""
        row = self.db.one(
            "SELECT r.responder, r.checkin_id FROM responses r JOIN checkins c ON c.id = r.checkin_id "
            "WHERE r.id = ? AND c.partnership_id = ?",
            (answer_id, p.id),
        )
        if row is None:
            return None
        for member in members:
            if hmac.compare_digest(self._answers.label_for(p.team_id, row["checkin_id"], member), row["responder"]):
                return member
        return None
