"""One `coprod run` per database: two would each run a scheduler on the same file, and post everything twice.
The worker holds a lock of its own (``<database>.worker.lock``), so a `coprod worker` beside one refuses too.

`coprod run` holds an exclusive ``flock`` on ``<database>.lock`` (``coprod.db`` -> ``coprod.db.lock``, 0600) for as
long as it runs; the file says which process holds it (its pid, and its port when it has one), so a second
`coprod run` refuses in one line naming the first. The kernel lets go of the lock when the process ends, however
it ends, so a file left by a crash blocks nothing: only a lock still held does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.settings import SettingsError
from bot.store.files import PRIVATE

ATTEMPTS = 5  # a lock file removed by a coprod stopping just as we opened it: open it again


def lock_file_for(db_path: str, role: str = "") -> Path:
    """Where the lock of the database at ``db_path`` lives: beside it, ``coprod.db`` -> ``coprod.db.lock`` (the
    worker's: ``coprod.db.worker.lock``)."""
    path = Path(db_path)
    return path.with_name(path.name + (f".{role}" if role else "") + ".lock")


def already_running(db_path: str, holder: str, role: str = "") -> str:
    who = f" ({holder})" if holder else ""
    what = f"coprod {role}" if role else "coprod"
    return f"another {what} is already running on {db_path}{who}: stop it first, or set COPROD_DB to another database"


class RunLock:
    """The lock one running coprod holds on its database; :meth:`release` (or the process ending) lets it go."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, db_path: str, *, port: int | None = None, role: str = "") -> RunLock:
        """Hold the database's lock (``role``: the worker's own), or raise SettingsError naming the coprod that
        holds it."""
        path = lock_file_for(db_path, role)
        if not path.parent.is_dir():  # the same words as the store's own
            raise SettingsError(f"cannot open database {db_path}: folder {path.parent} does not exist (set COPROD_DB)")
        for _ in range(ATTEMPTS):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE)
            except OSError as exc:
                raise SettingsError(f"cannot make the lock file {path}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                os.close(fd)
                raise SettingsError(already_running(db_path, holder, role)) from None
            # The file we locked must still be the one at the path: one that a stopping coprod removed (after we
            # opened it, before we locked it) would lock nothing anybody else looks at.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.fchmod(fd, PRIVATE)  # an older file, made under another umask
                lock = cls(path, fd)
                lock.note(port)
                return lock
            os.close(fd)
        raise SettingsError(f"cannot hold the lock file {path}: it keeps being removed (is another coprod starting?)")

    def note(self, port: int | None) -> None:
        """Write who holds the lock, for the message a second coprod gives."""
        if self._fd is None:
            return
        holder = f"pid {os.getpid()}" + (f", port {port}" if port else "")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, holder.encode(), 0)

    def release(self) -> None:
        """Remove the file while still holding the lock (so nobody is left locking a removed file), then let go."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(fd)
