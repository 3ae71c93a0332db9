"""Connections and transactions: one SQLite connection per thread, one writer at a time.

WAL lets readers and one writer work at once; writes take the lock up front with ``BEGIN IMMEDIATE``
so two writers queue instead of failing half-way. Rows come back as ``sqlite3.Row``: read by name.

The file is created 0600 (``files``), and every connection runs with ``secure_delete`` on, so what is
deleted is overwritten in the file rather than left in its free space; after an erasure ``empty_wal``
copies the pages into the database file and empties the WAL, so no older copy of them stays there.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from bot.store import files, schema

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000
# How often a write looks again for another process's transaction to end: SQLite's own busy handler sleeps
# 1, 2, 5, 10... ms between looks, far longer than the transactions it waits for.
BEGIN_POLL = 0.0002
# How long an erasure waits for readers to leave the WAL before it is emptied (it runs before an ack).
EMPTY_WAL_WAIT_MS = 1_000
T = TypeVar("T")
Params = Sequence[object] | Mapping[str, object]  # ? or :name placeholders
_background = threading.local()  # whether this thread's writes are background work (see ``background``)


class StoreError(Exception):
    """The database cannot be used; the message is one line a coordinator can act on."""


class Database:
    """The database file: per-thread connections, transactions and plain queries."""

    def __init__(self, path: str | os.PathLike[str], *, allow_shared: bool = False):
        self.path = str(path)
        self.allow_shared = allow_shared  # COPROD_ALLOW_SHARED_DB: others may read the files
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []  # each with its thread
        self._write_lock = threading.RLock()
        # Background writers (scheduled posts) queue here first, one at a time, for the write lock, and give it
        # up to a person waiting for it (see _writing).
        self._background_gate = threading.RLock()
        self._turns = threading.Condition()
        self._people_waiting = 0
        self._commits = itertools.count(1)  # numbers this process's commits in the order they happen
        self._closed = False
        self._gate: int | None = None  # see share_writes
        self._people = False

    def upgrade(self) -> list[str]:
        """Create or upgrade the schema; return the migrations applied, or raise StoreError in one line."""
        parent = Path(self.path).resolve().parent
        if not parent.is_dir():
            raise StoreError(f"cannot open database {self.path}: folder {parent} does not exist (set COPROD_DB)")
        self.refuse_if_shared(files.with_side_files(self.path))
        try:
            db = self._db()
            newer = schema.unknown(db)
            if newer:
                raise StoreError(
                    f"database {self.path} was written by a newer coprod (it has {newer[0]}); "
                    "upgrade coprod or point COPROD_DB at another file"
                )
            applied: list[str] = []
            if schema.pending(db):
                # Hold the write lock for the whole upgrade: a second process (or thread) waits, then finds
                # nothing left to do.
                with self.write():
                    applied = schema.apply(db)
            self.one("SELECT COUNT(*) FROM meta")
            return applied
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc} (check COPROD_DB and file permissions)") from None

    def refuse_if_shared(self, paths: list[Path]) -> None:
        """StoreError (one line, saying how to fix it) if others may read or change one of ``paths``,
        unless the coordinator allowed it."""
        problem = None if self.allow_shared else files.shared_problem(paths)
        if problem:
            raise StoreError(problem)

    def applied_migrations(self) -> list[str]:
        return [m.name for m in schema.migrations.applied(self._db())]

    def close(self) -> None:
        """Close the connections of this thread and of threads that have ended; the database can't be used
        afterwards. A connection another live thread may be using (a post still waiting on Slack when a
        process stops) is not closed under it: it is let go, and closes as soon as nothing holds it (at once
        for an idle thread; when the busy one is done with it, or with the process)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for thread, conn in connections:
            if thread is threading.current_thread() or not thread.is_alive():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._local = threading.local()  # each thread's connection goes with it

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self._connect(), execute_plugins=False)
            self._local.db = db
        return db

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"database {self.path} is closed")
        try:
            # Created here, 0600, rather than by SQLite (0644 under the usual umask); SQLite then gives its
            # -wal and -shm files this file's mode.
            files.create_private(self.path)
        except OSError as exc:
            raise StoreError(
                f"cannot create database {self.path}: {exc.strerror} (check COPROD_DB and that the folder is writable)"
            ) from None
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Deleted rows (an erased answer, a cleared user id) are overwritten with zeros, not left in
            # the file's free space where reading the raw bytes would find them.
            if conn.execute("PRAGMA secure_delete = ON").fetchone()[0] != 1:
                raise StoreError(f"cannot turn on secure_delete for database {self.path}")
            if _switch_to_wal(conn).lower() != "wal":
                raise StoreError(f"cannot switch database {self.path} to WAL mode")
            conn.execute("PRAGMA foreign_keys = ON")
            # NORMAL: a commit is in the WAL before the ack, so it survives coprod being killed at once; the
            # WAL reaches the disk at each checkpoint, which `coprod run` makes every second (``flush``), so a
            # power cut or an OS crash can lose at most about the last second. FULL would wait for the disk on
            # every commit: 0.2 ms at the median here, but its tail set the slowest acks (BENCHMARKS.md).
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open database {self.path}: {exc} (check COPROD_DB and that the folder is writable)"
            ) from None
        conn.row_factory = sqlite3.Row
        with self._lock:
            self._connections.append((threading.current_thread(), conn))
        return conn

    @property
    def open_connections(self) -> int:
        """How many connections are open: one per thread that has used the database."""
        with self._lock:
            return len(self._connections)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        return self._db().conn

    def share_writes(self, gate: int, *, people: bool) -> None:
        """Write this file from two processes, people's writes first: ``gate`` is a file descriptor of a file
        both have open. In the process of ``people``'s writes (the web process) each write holds a lock on it
        while it writes; in the other (the scheduler's) each transaction waits until no such lock is held before
        it begins. A person's write then waits for at most one of the other process's transactions, as it does
        for this process's background writes. Both processes wait for each other's transactions by looking
        every :data:`BEGIN_POLL` seconds."""
        self._gate, self._people = gate, people

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed on success and rolled back on any exception."""
        conn = self.conn
        # One writer at a time within this process: threads queue here in order, where SQLite's busy
        # handler would make them sleep and retry in steps of up to 100 ms (a slow tail under load).
        # Background writers queue among themselves first, so a person's write waits for one of theirs at
        # most, not for all 32 posting threads; across processes, share_writes does the same.
        background = getattr(_background, "on", False)
        gate = self._background_gate if background else contextlib.nullcontext()
        with gate, self._writing(background):
            shared = self._gate
            if shared is not None:
                fcntl.lockf(shared, fcntl.LOCK_EX if self._people else fcntl.LOCK_SH)
                if not self._people:
                    fcntl.lockf(shared, fcntl.LOCK_UN)
            try:
                if shared is None:
                    conn.execute("BEGIN IMMEDIATE")
                else:
                    _begin_polling(conn)
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                else:
                    conn.execute("COMMIT")
                    self._local.commit = next(self._commits)  # still holding the write lock: in commit order
            finally:
                if shared is not None and self._people:
                    fcntl.lockf(shared, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writing(self, background: bool) -> Iterator[None]:
        """Hold the write lock. A person's write that finds it held waits for that writer alone: a background
        writer that gets the lock while a person waits lets go of it first (Python's locks are not fair, so
        the next background writer could otherwise take it before the woken person runs)."""
        if getattr(self._local, "writing", 0):  # a write inside this thread's own write: it holds the lock
            with self._write_lock:
                yield
            return
        if background:
            while True:
                with self._turns:
                    self._turns.wait_for(lambda: self._people_waiting == 0)
                self._write_lock.acquire()
                with self._turns:
                    if self._people_waiting == 0:
                        break
                self._write_lock.release()
        else:
            with self._turns:
                self._people_waiting += 1
            try:
                self._write_lock.acquire()
            finally:
                with self._turns:
                    self._people_waiting -= 1
                    self._turns.notify_all()
        self._local.writing = 1
        try:
            yield
        finally:
            self._local.writing = 0
            self._write_lock.release()

    def flush(self) -> None:
        """Put what is committed on the disk: copy the WAL into the database file as far as readers allow, the
        WAL synced to the disk first and the file after (a checkpoint that never blocks a writer)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    @property
    def last_commit(self) -> int:
        """The number of this thread's last commit: a later commit in this process has a higher one."""
        return int(getattr(self._local, "commit", 0))

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def empty_wal(self, wait_ms: int = EMPTY_WAL_WAIT_MS) -> bool:
        """Copy every committed page into the database file and cut the WAL to nothing, so that what was
        just erased leaves no older copy there. Waits up to ``wait_ms`` for readers still using the WAL;
        False (and a warning) if they kept it from finishing, in which case the next call finishes it."""
        conn = self.conn
        with self._write_lock:  # this process's writers wait; other processes' on the busy timeout
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:
                busy = 1
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if busy:
            log.warning("could not empty the WAL of %s yet: a reader was using it", self.path)
        return not busy

    def vacuum(self) -> None:
        """Rewrite the database file from its live rows only, then empty the WAL: nothing deleted before
        ``secure_delete`` was on survives in free pages."""
        with self._write_lock:
            self.conn.execute("VACUUM")
        self.empty_wal(BUSY_TIMEOUT_MS)

    def integrity_check(self) -> str:
        row = self.one("PRAGMA integrity_check")
        return str(row[0]) if row else ""


def background(fn: Callable[..., T], /, *args: object) -> T:
    """Run ``fn(*args)`` with this thread's writes marked as background work (a scheduled post): they give way
    to people's (a click's answer), which then wait for at most one background transaction."""
    was = getattr(_background, "on", False)
    _background.on = True
    try:
        return fn(*args)
    finally:
        _background.on = was


def _begin_polling(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, looking again every :data:`BEGIN_POLL` seconds while another process writes (for up to
    the busy timeout, as SQLite would)."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(BEGIN_POLL)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    # On a brand-new file, connections racing to switch it to WAL get "database is locked" at once,
    # without the busy timeout; retry until it holds.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
