"""The keyed labels that stand for a person in the database, one per purpose, so none can be joined to another.

A stable hash of the person (one value for all their answers) would let a copy of the database tie each
anonymous answer to the same person's named ones with one self-join. So every label is keyed (the key lives
outside the database, ``keys``) and scoped to what it is for:

- ``answer``: HMAC(key, "answer|team|check-in|user"), kept on every answer, named or anonymous, and used only
  for "one answer per person per check-in". No two answers of one person share it, and it equals nothing
  kept for a nudge, an opt-out or a person. To find who wrote an anonymous answer (forget-me; "you said, we
  changed") coprod recomputes it for a known person and check-in: nothing stored links them.
- ``nudge``: HMAC(key, "nudge|team|check-in|user"): who was reminded about one check-in.
- ``optout``: HMAC(key, "optout|team|partnership|user"): "don't remind me" in one partnership.

``relabel`` moves a database made with the older stable hash (HMAC(key, "team:user")) to these, on first
start with the key, and rewrites the file so the old hashes leave no copy in it or its WAL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable

LABELS = "answer_labels"  # meta: which labelling the database's rows use
VERSION = "per-checkin"
UNLINKED = "unlinked:"  # an answer's label once nobody can be found behind it (forget-me, or no known person)

# Everyone a database knows by user id, per workspace: the people an older stable hash may stand for.
_KNOWN_PEOPLE = """
    SELECT team_id, user_id FROM responses WHERE user_id IS NOT NULL
    UNION SELECT team_id, user_id FROM roles UNION SELECT team_id, user_id FROM users
    UNION SELECT team_id, user_id FROM coordinators UNION SELECT team_id, user_id FROM reflexivity_optouts
    UNION SELECT team_id, logged_by FROM meetings WHERE logged_by IS NOT NULL
    UNION SELECT team_id, set_by FROM schedules WHERE set_by IS NOT NULL
    UNION SELECT team_id, created_by FROM partnerships WHERE created_by IS NOT NULL
"""


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def person(key: bytes, team: str, user: str) -> str:
    """The stable keyed hash of one person in one workspace: computed when needed (export pseudonyms,
    seals), never stored."""
    return _mac(key, f"{team}:{user}")


def answer(key: bytes, team: str, checkin_id: int, user: str) -> str:
    return _mac(key, f"answer|{team}|{checkin_id}|{user}")


def nudge(key: bytes, team: str, checkin_id: int, user: str) -> str:
    return _mac(key, f"nudge|{team}|{checkin_id}|{user}")


def optout(key: bytes, team: str, partnership_id: int, user: str) -> str:
    return _mac(key, f"optout|{team}|{partnership_id}|{user}")


def unlinked() -> str:
    """A label that stands for nobody: a kept rating whose person is gone."""
    return UNLINKED + secrets.token_hex(16)


def is_current(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (LABELS,)).fetchone()
    return row is not None and row[0] == VERSION


def relabel(conn: sqlite3.Connection, key: Callable[[], bytes]) -> int:
    """Within a write transaction: replace the older stable hashes with these labels; returns rows changed.

    An old hash is turned back into its person by hashing everyone the database knows by user id. An
    anonymous answer whose person is known nowhere else can't be relabelled: it is unlinked (it stays in its
    check-in's group, counted as an answer, not as a person); such a reminder or opt-out is dropped."""
    if is_current(conn):
        return 0
    changed = 0
    if conn.execute(
        "SELECT EXISTS (SELECT 1 FROM responses UNION ALL SELECT 1 FROM nudges UNION ALL SELECT 1 FROM nudge_optouts)"
    ).fetchone()[0]:
        k = key()
        who = {(team, person(k, team, user)): user for team, user in conn.execute(_KNOWN_PEOPLE)}
        answers = conn.execute(
            "SELECT r.id, r.team_id, r.checkin_id, r.responder, r.user_id, r.anonymous, r.answered_at, c.asked_at"
            " FROM responses r JOIN checkins c ON c.id = r.checkin_id"
        ).fetchall()
        for rid, team, checkin_id, old, user_id, anonymous, answered_at, asked_at in answers:
            user = user_id or who.get((team, old))
            new = answer(k, team, checkin_id, user) if user else (old if old.startswith(UNLINKED) else unlinked())
            # As answers are stored now (answers.py): a random row id, an anonymous answer's time to the hour.
            at = max(asked_at, answered_at - answered_at % 3600) if anonymous else answered_at
            conn.execute(
                "UPDATE responses SET id = ?, responder = ?, answered_at = ? WHERE id = ?",
                (secrets.randbits(62) + 1, new, at, rid),
            )
            changed += 1
        for checkin_id, team, old in conn.execute("SELECT checkin_id, team_id, responder FROM nudges").fetchall():
            user = who.get((team, old))
            if user:
                conn.execute(
                    "UPDATE nudges SET responder = ? WHERE checkin_id = ? AND responder = ?",
                    (nudge(k, team, checkin_id, user), checkin_id, old),
                )
            else:
                conn.execute("DELETE FROM nudges WHERE checkin_id = ? AND responder = ?", (checkin_id, old))
            changed += 1
        rows = conn.execute("SELECT partnership_id, team_id, responder FROM nudge_optouts").fetchall()
        for partnership_id, team, old in rows:
            user = who.get((team, old))
            if user:
                conn.execute(
                    "UPDATE nudge_optouts SET responder = ? WHERE partnership_id = ? AND responder = ?",
                    (optout(k, team, partnership_id, user), partnership_id, old),
                )
            else:
                conn.execute(
                    "DELETE FROM nudge_optouts WHERE partnership_id = ? AND responder = ?", (partnership_id, old)
                )
            changed += 1
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LABELS, VERSION))
    return changed
