"""The set of migrations coprod's schema is made of, and how a migration joins it (in the order defined).

The migrations themselves are in ``first_tables`` and ``later_tables``; ``schema`` imports both and applies
them: read the set there, whole."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "coprod"
migrations = Migrations(MIGRATION_SET)
KNOWN: list[str] = []  # the names of this coprod's migrations, in order


def known(fn):
    KNOWN.append(fn.__name__)
    return migrations()(fn)


def execute_each(db: sqlite_utils.Database, script: str) -> None:
    # Not executescript: it commits first, which would end the migration's transaction half-way.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
