"""What a restore checks before it overwrites the database: it takes no fact about safety from the file it
restores, since anyone can edit a backup.

- Whether coprod runs: the run lock ``<db>.lock`` (the file ``coprod run`` holds with flock, issue 26) is
  tried, and held for the whole restore, so no coprod starts half-way.
- What would be lost: every row of the live database (but caches) is looked for, column for column, in
  the backup. A live row the backup lacks or holds otherwise (an answer given or changed after the backup,
  an action planned) would be lost: refused unless forced. Nothing the backup says about its own time is
  read; a backup that claims to be newer proves nothing.
- What coprod would not have written: a schema object coprod's migrations don't make (a trigger, a view,
  an unknown table or index, a known one defined otherwise), a partnership's k below the minimum, a
  setting out of its range, or an anonymous answer that keeps a person's id or role.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from bot.domain.anonymity import MIN_K
from bot.domain.loop_grammar import MAX_NUDGE_HOURS
from bot.store import schema
from bot.store.db import StoreError

# Caches coprod refills by itself: a restore that drops their newer rows loses nothing.
CACHES = {"meta", "users", "events_seen", "_sqlite_migrations"}

# Rows coprod never writes, each with what it would mean. Checked in the backup before it is restored.
FOREIGN_ROWS = (
    (f"SELECT COUNT(*) FROM partnerships WHERE k < {MIN_K}", "a partnership whose k is below {min_k}"),
    (
        "SELECT COUNT(*) FROM partnerships WHERE window_weeks NOT BETWEEN 1 AND 520"
        f" OR (nudge_hours IS NOT NULL AND nudge_hours NOT BETWEEN 1 AND {MAX_NUDGE_HOURS})"
        " OR (retention_months IS NOT NULL AND retention_months < 1)",
        "a partnership setting out of its range",
    ),
    (
        "SELECT COUNT(*) FROM responses WHERE anonymous != 0 AND (user_id IS NOT NULL OR role IS NOT NULL)",
        "an anonymous answer that keeps a person's id or role",
    ),
)


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


@contextlib.contextmanager
def not_running(db: Path) -> Iterator[None]:
    """Hold coprod's run lock for the restore; StoreError at once if a coprod holds it."""
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the run lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"coprod is running on {db}: stop it first (a restore under a running coprod would lose what it "
                "writes), then restore again"
            ) from None
        yield
    finally:
        os.close(fd)  # closing lets the lock go


def _objects(conn: sqlite3.Connection, schema_name: str = "main") -> dict[tuple[str, str], str | None]:
    rows = conn.execute(f"SELECT type, name, sql FROM {schema_name}.sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {(t, n): s for t, n, s in rows}


def _reference() -> dict[tuple[str, str], str | None]:
    """The schema objects coprod's own migrations make, from a database made here in memory."""
    db = sqlite_utils.Database(memory=True)
    try:
        schema.migrations.apply(db)
        return _objects(db.conn)
    finally:
        db.close()


def refuse_foreign(conn: sqlite3.Connection, path: Path, *, complete: bool) -> None:
    """StoreError naming the first thing in the backup (open on ``conn``) coprod would not have written.
    ``complete``: the backup has every migration this coprod knows, so each object's definition must match."""
    reference = _reference()
    for (kind, name), sql in sorted(_objects(conn).items()):
        if kind not in ("table", "index") or (kind, name) not in reference:
            raise StoreError(
                f"{path} holds a {kind} “{name}” that coprod never makes, so it was edited: restore another backup"
            )
        if complete and sql != reference[(kind, name)]:
            raise StoreError(f"{path} defines {kind} “{name}” otherwise than coprod does: restore another backup")
    for query, meaning in FOREIGN_ROWS:
        try:
            found = conn.execute(query).fetchone()[0]
        except sqlite3.DatabaseError:
            continue  # an older backup without that column: its upgrade fills in coprod's own defaults
        if found:
            raise StoreError(
                f"{path} holds {meaning.format(min_k=MIN_K)}, which coprod never writes, so it was edited: "
                "restore another backup"
            )


def lost_by_restoring(db: Path, backup: Path) -> dict[str, int]:
    """Per table, how many rows of the live database the backup lacks or holds otherwise (all but caches),
    compared on the columns both have. Empty when restoring loses nothing."""
    lost: dict[str, int] = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as live:
        live.execute("ATTACH DATABASE ? AS b", (f"file:{backup}?mode=ro",))
        theirs = {n for (n,) in live.execute("SELECT name FROM b.sqlite_master WHERE type = 'table'")}
        for (table,) in live.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall():
            if table in CACHES or table.startswith("sqlite_"):
                continue
            mine = [r[1] for r in live.execute(f'PRAGMA main.table_info("{table}")')]
            if table in theirs:
                kept = {r[1] for r in live.execute(f'PRAGMA b.table_info("{table}")')}
                columns = ", ".join(f'"{c}"' for c in mine if c in kept)
                query = f'SELECT {columns} FROM main."{table}" EXCEPT SELECT {columns} FROM b."{table}"'
            else:
                query = f'SELECT * FROM main."{table}"'
            count = live.execute(f"SELECT COUNT(*) FROM ({query})").fetchone()[0]
            if count:
                lost[table] = int(count)
    return lost
