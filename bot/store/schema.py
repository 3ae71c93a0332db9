"""The schema: coprod's tables as a sequence of migrations, applied in order and never edited once released.

sqlite-utils' ``Migrations`` records which have run in the database itself, so a database from a newer
coprod (with a migration this one doesn't know) is recognised and refused rather than misread.
"""

from __future__ import annotations

import sqlite_utils

# Imported for what they define: each module's migrations join the set as it is read, first_tables' first.
from bot.store import first_tables, later_tables  # noqa: F401
from bot.store.migration_set import KNOWN, MIGRATION_SET, migrations


def unknown(db: sqlite_utils.Database) -> list[str]:
    """Migrations the database has that this coprod doesn't know: it was written by a newer coprod."""
    return [m.name for m in migrations.applied(db) if m.name not in KNOWN]


def pending(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def apply(db: sqlite_utils.Database) -> list[str]:
    """Apply what is pending; return the names applied. The caller holds the write lock."""
    names = pending(db)
    migrations.apply(db)
    return names


# The set is whole only once both modules of migrations are read, which importing this module ensures: read it
# here, not from migration_set.
__all__ = ["KNOWN", "MIGRATION_SET", "migrations", "unknown", "pending", "apply"]
