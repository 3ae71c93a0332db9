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
        "answers": list(store.answers.export_rows(team)),
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
