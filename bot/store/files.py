"""coprod's own files: the database, the side files SQLite keeps beside it, and the key file.

Each is made readable and writable by this account alone (0600), whatever the umask: the database is
created 0600 before SQLite opens it, and SQLite gives the -wal, -shm and -journal files it creates the
mode of the database file. A file that others on the machine can read or change is refused at start
(``shared_problem``) unless the coordinator allows it (``COPROD_ALLOW_SHARED_DB``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE = 0o600
OPEN_TO_OTHERS = 0o066  # read or write permission for the group or anyone else
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
ALLOW_SHARED = "COPROD_ALLOW_SHARED_DB"


def with_side_files(db_path: str | os.PathLike[str]) -> list[Path]:
    """The database file and the side files SQLite may keep beside it."""
    path = Path(db_path)
    return [path, *(path.with_name(path.name + suffix) for suffix in SIDE_SUFFIXES)]


def create_private(path: str | os.PathLike[str]) -> bool:
    """Create an empty file only this account can read and write, unless something is there already;
    True if it was created. (An empty file is a valid, empty SQLite database.)"""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), PRIVATE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Path, text: str) -> None:
    """Write ``path`` whole, 0600 from its first byte, and make it durable; an existing file is replaced
    only once the new one is complete, so a crash leaves the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # left by a crashed process that had this process id
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), PRIVATE)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the file's name in ``folder`` durable too (some systems can't open a folder: the file is synced)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def shared_problem(paths: Iterable[Path]) -> str | None:
    """One line saying which of ``paths`` other accounts can read or change and how to fix it, or None
    when each is private (or absent, or not a regular file: SQLite will say what is wrong with that)."""
    shared: list[tuple[Path, int]] = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:  # absent, or not ours to look at: opening it will say what is wrong
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mode & OPEN_TO_OTHERS:
            shared.append((path, stat.S_IMODE(info.st_mode)))
    if not shared:
        return None
    modes = 0
    for _, mode in shared:
        modes |= mode
    can = " and ".join(word for word, bits in (("read", 0o044), ("changed", 0o022)) if modes & bits)
    names = ", ".join(f"{path} (mode {mode:04o})" for path, mode in shared)
    them = " ".join(str(path) for path, _ in shared)
    return (
        f"{names} can be {can} by other accounts on this machine: run `chmod 600 {them}` to keep the answers "
        f"private, or set {ALLOW_SHARED}=1 if others are meant to have them"
    )
