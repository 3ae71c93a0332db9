"""The record of involvement: who came to meetings and what work they logged (the ledger), the rate card,
each person's private choice of how to be paid, "you said, we changed" records, and the report's own words
(the involvement aim, the study title, the channel's name).

The ledger names people, since paying them needs names, so it is kept apart from the answers: no table here
has a responder hash, a check-in id or anything else that joins to ``responses`` (docs/rules.md). A change
record holds a description of the input it answers, never a link to the answer.
"""

from __future__ import annotations

from bot.domain.involvement import CHOICE_WORDS, Change, Line, Rate
from bot.store.db import Database
from bot.store.records import Partnership, from_row

REPORT_TEXTS = ("aim", "title", "channel_name")


_LINE = "id, user_id, kind, done_on, minutes, stage, what, paid_on"


class Involvement:
    def __init__(self, db: Database):
        self.db = db

    # ---- the ledger --------------------------------------------------------------------------

    def log_meeting(
        self,
        p: Partnership,
        *,
        held_on: str,
        minutes: int,
        stage: str | None,
        people: list[str],
        logged_by: str,
        now: int,
    ) -> int:
        """A line for each person who came to the meeting of ``held_on``; a person already down for that day's
        meeting keeps one line, with the new length and stage. Returns how many people are down."""
        with self.db.write() as conn:
            for user in dict.fromkeys(people):
                conn.execute(
                    """
                    INSERT INTO involvement (partnership_id, team_id, user_id, kind, done_on, minutes, stage, what,
                                             logged_by, logged_at)
                    VALUES (?, ?, ?, 'meeting', ?, ?, ?, 'meeting', ?, ?)
                    ON CONFLICT (partnership_id, user_id, done_on) WHERE kind = 'meeting'
                    DO UPDATE SET minutes = excluded.minutes, stage = excluded.stage
                    """,
                    (p.id, p.team_id, user, held_on, minutes, stage, logged_by, now),
                )
        return len(dict.fromkeys(people))

    def correct_line(self, p: Partnership, user: str, line_id: int, *, minutes: int, stage: str | None) -> bool:
        """A person corrects the length or stage of their own line (nobody else's); False if it isn't theirs."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE involvement SET minutes = ?, stage = ? WHERE id = ? AND partnership_id = ? AND user_id = ?",
                (minutes, stage, line_id, p.id, user),
            )
            return cur.rowcount > 0

    def log_work(self, p: Partnership, user: str, *, done_on: str, minutes: int, what: str, now: int) -> int:
        """A person logs work they did for the partnership; returns its line's id."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT INTO involvement (partnership_id, team_id, user_id, kind, done_on, minutes, what, logged_by,
                                         logged_at)
                VALUES (?, ?, ?, 'work', ?, ?, ?, ?, ?)
                """,
                (p.id, p.team_id, user, done_on, minutes, what, user, now),
            )
            return int(cur.lastrowid or 0)

    def lines(self, p: Partnership, user: str | None = None) -> list[Line]:
        """The partnership's ledger (or one person's lines), oldest first."""
        rows = self.db.query(
            f"""
            SELECT {_LINE} FROM involvement
            WHERE partnership_id = ?1 AND team_id = ?2 AND (?3 IS NULL OR user_id = ?3)
            ORDER BY done_on, id
            """,
            (p.id, p.team_id, user),
        )
        return [from_row(Line, r) for r in rows]

    def mark_paid(self, p: Partnership, user: str, *, paid_on: str, by: str) -> int:
        """Mark every unpaid line of a person, up to and including ``paid_on``, as paid; returns how many."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                UPDATE involvement SET paid_on = ?, paid_by = ?
                WHERE partnership_id = ? AND user_id = ? AND paid_on IS NULL AND done_on <= ?
                """,
                (paid_on, by, p.id, user, paid_on),
            )
            return cur.rowcount

    def remember_names(self, p: Partnership, names: dict[str, str]) -> None:
        """The names Slack gave for people in the ledger, so the ledger made without Slack (the CLI) names them."""
        with self.db.write() as conn:
            conn.executemany(
                """
                INSERT INTO ledger_names (partnership_id, team_id, user_id, name) VALUES (?, ?, ?, ?)
                ON CONFLICT (partnership_id, user_id) DO UPDATE SET name = excluded.name
                """,
                [(p.id, p.team_id, user, name) for user, name in names.items()],
            )

    def names(self, p: Partnership) -> dict[str, str]:
        rows = self.db.query("SELECT user_id, name FROM ledger_names WHERE partnership_id = ?", (p.id,))
        return {r["user_id"]: r["name"] for r in rows}

    # ---- the rate card and each person's choice -----------------------------------------------

    def set_rate(self, p: Partnership, *, activity: str, pence_per_hour: int, currency: str, set_by: str) -> None:
        """The rate for an activity ("" for any activity without one of its own)."""
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO pay_rates (partnership_id, team_id, activity, pence_per_hour, currency, set_by)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (partnership_id, activity) DO UPDATE SET
                    pence_per_hour = excluded.pence_per_hour, currency = excluded.currency, set_by = excluded.set_by
                """,
                (p.id, p.team_id, activity, pence_per_hour, currency, set_by),
            )

    def rates(self, p: Partnership) -> list[Rate]:
        rows = self.db.query(
            "SELECT activity, pence_per_hour, currency FROM pay_rates WHERE partnership_id = ? ORDER BY activity",
            (p.id,),
        )
        return [from_row(Rate, r) for r in rows]

    def set_choice(self, p: Partnership, user: str, choice: str) -> None:
        """How a person wants to be paid: paid, a voucher, or not at all. Private to them and coordinators."""
        if choice not in CHOICE_WORDS:
            raise ValueError(choice)
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO pay_choices (partnership_id, team_id, user_id, choice) VALUES (?, ?, ?, ?)
                ON CONFLICT (partnership_id, user_id) DO UPDATE SET choice = excluded.choice
                """,
                (p.id, p.team_id, user, choice),
            )

    def choices(self, p: Partnership) -> dict[str, str]:
        """Each person's choice, where they made one (no choice yet reads as "paid")."""
        rows = self.db.query("SELECT user_id, choice FROM pay_choices WHERE partnership_id = ?", (p.id,))
        return {r["user_id"]: r["choice"] for r in rows}

    # ---- you said, we changed ----------------------------------------------------------------

    def record_change(
        self,
        p: Partnership,
        *,
        changed_on: str,
        source: str,
        said: str,
        what_changed: str,
        difference: str,
        recorded_by: str,
        now: int,
    ) -> int:
        """A "you said, we changed" record; returns its id. ``said`` describes the input (a comment on which
        practice, or which level's flag), never whose it was."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT INTO changes (partnership_id, team_id, changed_on, source, said, what_changed, difference,
                                     recorded_by, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (p.id, p.team_id, changed_on, source, said, what_changed, difference, recorded_by, now),
            )
            return int(cur.lastrowid or 0)

    def changes(self, p: Partnership, *, first: str = "0000-00-00", last: str = "9999-99-99") -> list[Change]:
        """The change log between two local dates (inclusive), oldest first."""
        rows = self.db.query(
            """
            SELECT id, changed_on, source, said, what_changed, difference FROM changes
            WHERE partnership_id = ? AND changed_on BETWEEN ? AND ? ORDER BY changed_on, id
            """,
            (p.id, first, last),
        )
        return [from_row(Change, r) for r in rows]

    # ---- the report's own words ----------------------------------------------------------------

    def set_text(self, p: Partnership, name: str, value: str) -> None:
        if name not in REPORT_TEXTS:
            raise ValueError(name)
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO report_texts (partnership_id, team_id, name, value) VALUES (?, ?, ?, ?)
                ON CONFLICT (partnership_id, name) DO UPDATE SET value = excluded.value
                """,
                (p.id, p.team_id, name, value),
            )

    def texts(self, p: Partnership) -> dict[str, str]:
        rows = self.db.query("SELECT name, value FROM report_texts WHERE partnership_id = ?", (p.id,))
        return {r["name"]: r["value"] for r in rows}
