"""The SQLite store: the only package that speaks SQL, split by what it stores.

``Store`` opens the file and holds one object per aggregate; callers use their verbs, never SQL:

- ``store.partnerships``: partnerships, their settings and schedules (``partnerships.py``)
- ``store.people``: coordinators, roles, reflection opt-outs, what Slack told us of people (``people.py``)
- ``store.checkins``: check-ins, posted once, shown closed when they close (``checkins.py``)
- ``store.answers``: answers, export, erasure, retention (``answers.py``)
- ``store.activity``: meetings, and what the summary and rotation read (``activity.py``)
- ``store.reflections``: private reflection rounds: how many took part, a person's own answers (``reflections.py``)
- ``store.ledger``: scheduled posts claimed once, events seen, process settings (``ledger.py``)
- ``store.workspaces``: workspaces that removed coprod, and erasing a workspace's data (``workspaces.py``)
- ``store.plans``: actions planned from a flag and their status changes (``plans.py``)
- ``store.nudges``: reminders to those who haven't answered, and who said "don't remind me" (``nudges.py``)
- ``store.involvement``: who took part and was paid, the rate card, "you said, we changed" (``involvement.py``)
- ``store.said``: the comments a change can answer, and telling their author privately (``said.py``)

The database and its side files are private to this account (``files``), and the key behind the
keyed labels that stand for people (``labels``) lives outside the database (``keys``).

Every verb is scoped by workspace: it takes a :class:`Partnership` (looked up once, by workspace and
channel, at the edge) or the workspace id itself. Times are integer Unix seconds (UTC).
"""

from __future__ import annotations

import os

from bot.store import labels
from bot.store.activity import Activity
from bot.store.answers import Answers
from bot.store.checkins import Checkins
from bot.store.db import Database, StoreError
from bot.store.involvement import Involvement
from bot.store.keys import ResponderKey
from bot.store.ledger import Ledger
from bot.store.nudges import Nudges
from bot.store.outbox import Outbox
from bot.store.partnerships import Partnerships
from bot.store.people import People
from bot.store.plans import Plans
from bot.store.records import (
    Answer,
    Checkin,
    DueSchedule,
    LevelActivity,
    Partnership,
    ScheduledPartnership,
    ScheduleRow,
    SummaryInputs,
    UserInfo,
)
from bot.store.reflections import Reflections
from bot.store.said import Said
from bot.store.workspaces import Workspaces

__all__ = [
    "Answer",
    "Checkin",
    "DueSchedule",
    "LevelActivity",
    "Partnership",
    "ScheduleRow",
    "ScheduledPartnership",
    "Store",
    "StoreError",
    "SummaryInputs",
    "UserInfo",
]


class Store:
    """coprod's data, behind verbs grouped by what they store."""

    def __init__(self, path: str | os.PathLike[str], *, secret_key: bytes | None = None, allow_shared: bool = False):
        """``secret_key``: the responder key from COPROD_SECRET_KEY (else the key file beside the database);
        ``allow_shared``: COPROD_ALLOW_SHARED_DB, open the files even when others on the machine may read them."""
        self.db = Database(path, allow_shared=allow_shared)
        self.responder_key = ResponderKey(self.db, secret_key)
        self.partnerships = Partnerships(self.db)
        self.people = People(self.db)
        self.checkins = Checkins(self.db)
        self.outbox = Outbox(self.db)
        self.answers = Answers(self.db, self.responder_key, self.outbox)
        self.activity = Activity(self.db)
        self.reflections = Reflections(self.db)
        self.ledger = Ledger(self.db)
        self.workspaces = Workspaces(self.db)
        self.plans = Plans(self.db)
        self.nudges = Nudges(self.db, self.answers)
        self.involvement = Involvement(self.db)
        self.said = Said(self.db, self.answers)

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, secret_key: bytes | None = None, allow_shared: bool = False
    ) -> Store:
        """Open (creating or upgrading) the database, or raise StoreError with one clear line."""
        store = cls(path, secret_key=secret_key, allow_shared=allow_shared)
        try:
            store.upgrade()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def path(self) -> str:
        return self.db.path

    def upgrade(self) -> list[str]:
        """Apply pending migrations and find the responder key (moving it out of the database if it is
        still there); return the migrations' names."""
        self.db.refuse_if_shared([self.responder_key.path])  # before anything is opened or written
        applied = self.db.upgrade()
        self.responder_key()
        with self.db.write() as conn:  # older stable hashes become per-purpose labels (bot/store/labels.py)
            relabelled = labels.relabel(conn, self.responder_key)
        if relabelled:
            self.db.vacuum()  # the old hashes leave no copy in the file's free pages nor in its WAL
        return applied

    def applied_migrations(self) -> list[str]:
        return self.db.applied_migrations()

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def close(self) -> None:
        """Close every thread's connection; the store can't be used afterwards."""
        self.db.close()
