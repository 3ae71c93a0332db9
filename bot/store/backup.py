"""Backups by hand: ``coprod db backup PATH`` and ``coprod db restore PATH``.

A backup is made with SQLite's backup API from a read transaction, so it is one consistent moment of the
database even while coprod runs and writes; it is a single file (no WAL beside it), 0600 from its first byte,
written under a temporary name and renamed into place, and it records when it was taken.

Neither holds the responder key, which is not in the database: back up ``coprod.key`` (or keep
``COPROD_SECRET_KEY``) separately, and not beside the database's backups, so a leaked backup alone links no
anonymous answer to anyone. A restore therefore needs the key to be there already, and refuses a backup
whose answers were made with another key (its ``responder_key_check`` says so): coprod would refuse to start
on it anyway, and the answers would no longer match their people.

A restore copies the backup into the database with the same backup API (one transaction: a reader sees the
old database or the new one, never half of each). It takes no fact about safety from the backup (anyone can
edit one; ``restoring``): it refuses while coprod runs, refuses a backup holding what coprod never writes
(a trigger, a view, an unknown table, k below the minimum), and refuses, unless forced, to overwrite a
database holding rows the backup lacks, found by comparing the two databases' rows, not by any time the
backup states (``backup_taken_at`` is only shown).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.store import files, restoring, schema
from bot.store.db import BUSY_TIMEOUT_MS, StoreError
from bot.store.keys import CHECK, key_check, key_file_for

TAKEN_AT = "backup_taken_at"  # meta, in a backup: when it was taken (Unix seconds, a float)


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: float
    answers: int
    partnerships: int

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.taken_at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def _describe(conn: sqlite3.Connection, path: Path, what: str) -> tuple[int, int]:
    """(answers, partnerships) of a coprod database, or StoreError saying what ``path`` is instead."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "partnerships", "responses"} <= tables:
            raise StoreError(f"{path} is not a coprod database: choose the {what}")
        answers = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        partnerships = conn.execute("SELECT COUNT(*) FROM partnerships").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read {path}: {exc} (choose the {what})") from None
    return int(answers), int(partnerships)


def backup(db_path: str | Path, dest: str | Path, *, allow_shared: bool = False, replace: bool = False) -> Backup:
    """Write a consistent copy of the database at ``db_path`` to ``dest`` (0600), while coprod may be running."""
    db, dest = Path(db_path), Path(dest)
    if not db.is_file():
        raise StoreError(f"no database at {db}: set COPROD_DB to the file coprod run uses")
    if dest.resolve() in {p.resolve() for p in files.with_side_files(db)}:
        raise StoreError(f"{dest} is the database itself: choose another file for the backup")
    if dest.exists() and not replace:
        raise StoreError(f"{dest} already exists: choose a new name, or add --force to replace it")
    if not dest.parent.is_dir():
        raise StoreError(f"cannot write {dest}: folder {dest.parent} does not exist")
    problem = None if allow_shared else files.shared_problem(files.with_side_files(db))
    if problem:
        raise StoreError(problem)
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    for leftover in files.with_side_files(temporary):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    try:
        files.create_private(temporary)
        with contextlib.closing(_connect(db)) as source, contextlib.closing(_connect(temporary)) as copy:
            _describe(source, db, "database coprod run uses (COPROD_DB)")
            source.backup(copy)  # one step, inside one read transaction: a single moment of the database
            answers, partnerships = _describe(copy, dest, "backup")  # what that moment held
            taken_at = time.time()
            copy.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (TAKEN_AT, repr(taken_at)))
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no WAL beside it
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, dest)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {db} to {dest}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot write {dest}: {exc.strerror}") from None
    finally:
        for leftover in files.with_side_files(temporary):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return Backup(dest, taken_at, answers, partnerships)


def read_backup(path: str | Path) -> tuple[Backup, str | None, int]:
    """A backup's description, its key check (if any), and how many migrations it lacks; StoreError if it is
    not a usable coprod backup."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no backup at {path}")
    with contextlib.closing(_connect(path, read_only=True)) as conn:
        answers, partnerships = _describe(conn, path, "file `coprod db backup` wrote")
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'coprod'")}
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        newer = sorted(names - set(schema.KNOWN))
        if newer:
            raise StoreError(f"{path} was written by a newer coprod (it has {newer[0]}): upgrade coprod first")
        if ok != "ok":
            raise StoreError(f"{path} is damaged ({ok}): restore another backup")
        restoring.refuse_foreign(conn, path, complete=not set(schema.KNOWN) - names)
    taken_at = float(meta[TAKEN_AT]) if TAKEN_AT in meta else path.stat().st_mtime
    return Backup(path, taken_at, answers, partnerships), meta.get(CHECK), len(set(schema.KNOWN) - names)


def restore(
    source: str | Path,
    db_path: str | Path,
    *,
    secret_key: bytes | None = None,
    force: bool = False,
    allow_shared: bool = False,
) -> Backup:
    """Copy the backup at ``source`` into the database at ``db_path``; see the module's docstring for refusals."""
    db = Path(db_path)
    found, check, _ = read_backup(source)
    if not db.parent.is_dir():
        raise StoreError(f"cannot restore to {db}: folder {db.parent} does not exist (set COPROD_DB)")
    problem = None if allow_shared else files.shared_problem([*files.with_side_files(db), key_file_for(str(db))])
    if problem:
        raise StoreError(problem)
    with restoring.not_running(db):
        if db.exists() and not force:
            lost = restoring.lost_by_restoring(db, Path(source))
            if lost:
                what = ", ".join(f"{n} in {table}" for table, n in sorted(lost.items()))
                raise StoreError(
                    f"{db} holds rows this backup doesn't ({what}), written after this backup was taken or never in "
                    "it: restoring would lose them; add --force to restore anyway"
                )
        _copy_in(Path(source), db, found, secret_key, check)
    return found


def _copy_in(source: Path, db: Path, found: Backup, secret_key: bytes | None, check: str | None) -> None:
    key = secret_key if secret_key is not None else _key_in_file(key_file_for(str(db)))
    if found.answers and key is None:
        raise StoreError(
            f"this backup has answers, but their key is not here: put the key file you kept apart from your backups "
            f"at {key_file_for(str(db))}, or set COPROD_SECRET_KEY to it, then restore again"
        )
    if check is not None and key is not None and key_check(key) != check and found.answers:
        raise StoreError(
            f"the key {'in COPROD_SECRET_KEY' if secret_key is not None else f'at {key_file_for(str(db))}'} is not "
            "the one this backup's answers were made with: put back the key that belongs with it, then restore again"
        )
    try:
        files.create_private(db)
        copy, live = _connect(Path(source), read_only=True), _connect(db)
        with contextlib.closing(copy), contextlib.closing(live):
            copy.backup(live)  # one transaction: the old database or the backup, never half of each
            live.execute("DELETE FROM meta WHERE key = ?", (TAKEN_AT,))
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot restore {db} from {source}: {exc} (is coprod still running on it? stop it first)"
        ) from None


def _key_in_file(path: Path) -> bytes | None:
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read the key file {path}: {exc}") from None
