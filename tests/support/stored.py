"""Reading what coprod stored: through the store's verbs (``store_state``), or as rows through a read-only
connection of our own (``read_only``, ``rows``), as a person inspecting the file would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.constants import CHANNEL, TEAM


def store_state(bot, team: str = TEAM, channel: str = CHANNEL) -> dict:
    """Everything a command could change in ``team``'s partnership in ``channel``, read through the store's
    verbs (the users cache aside) once the work after acknowledgements has finished."""
    bot.drain()
    store = bot.store
    partnership = store.partnerships.get(team, channel)
    return {
        "partnerships": store.partnerships.in_workspace(team),
        "partnership": partnership,
        "schedules": store.partnerships.schedules(partnership),
        "coordinators": store.people.coordinators(partnership),
        "roles": store.people.roles(partnership),
        "optouts": store.people.reflexivity_optouts(partnership),
        "asked": store.activity.last_asked(partnership),
        "reflexivity": store.activity.last_asked(partnership, kind="reflexivity"),
        "posts": store.ledger.posts(partnership),
        "answers": stored_answers(bot, team),
        "last_meeting": store.activity.last_meeting(partnership),
    }


@contextmanager
def read_only(db: str | Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection of our own to the database file ``db``, closed on the way out."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def rows(db: str | Path, sql: str, *params) -> list[tuple]:
    """The rows ``sql`` reads from the database file ``db``."""
    with read_only(db) as conn:
        return conn.execute(sql, params).fetchall()


def stored_answers(bot, team: str = TEAM) -> list[dict]:
    """Every answer stored in ``team``'s partnerships, as rows of the file (``user`` is None for an
    anonymous one), by check-in, then in the order they were given (row ids are random, and an anonymous
    answer's time is kept to the hour, so two in one hour come lowest rating first)."""
    bot.drain()
    with read_only(bot.store.path) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute(
            """
            SELECT c.level_id AS level, r.user_id AS user, r.role, r.rating, r.comment, r.anonymous, r.private
            FROM responses r JOIN checkins c ON c.id = r.checkin_id
            WHERE r.team_id = ? AND c.team_id = ? ORDER BY c.asked_at, c.id, r.answered_at, r.rating
            """,
            (team, team),
        ).fetchall()
    return [{**dict(row), "anonymous": bool(row["anonymous"])} for row in found]


def file_bytes(db: str | Path) -> bytes:
    """The raw bytes of the SQLite file ``db`` and the side files beside it (-wal, -shm, -journal), as someone
    reading the disk would see them."""
    path = Path(db)
    found = [path, *(path.with_name(path.name + side) for side in ("-wal", "-shm", "-journal"))]
    return b"".join(p.read_bytes() for p in found if p.exists())
