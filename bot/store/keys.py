"""The responder key: the secret behind the keyed labels that stand for a person (``labels``).

It lives outside the database, so a copy of the database alone links no anonymous answer to anyone:
in ``COPROD_SECRET_KEY`` when that is set, else in a key file beside the database (``coprod.db`` ->
``coprod.key``, 0600), made with a random key on first start.

Databases made before the key moved out keep it in ``meta.responder_key`` (and every new database gets
one there from the first migration, which is never edited). On opening, that key is moved to the key
file (or checked against ``COPROD_SECRET_KEY``), deleted from ``meta``, and the file rewritten
(``VACUUM``, then the WAL emptied) so no copy of it stays in the database's bytes. Existing answers are then
relabelled with it (``labels.relabel``), so they still belong to their people. A key that differs from the
one a database's answers were made with is refused in one line rather than used: those answers would
silently stop matching the people who gave them (one answer per person, forget-me).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from pathlib import Path

from bot.store import files
from bot.store.db import Database, StoreError

KEY_BYTES = 32
MIN_HEX_DIGITS = 32  # a key file holds at least 128 bits
SECRET_ENV = "COPROD_SECRET_KEY"
CHECK = "responder_key_check"  # meta: a keyed hash of a constant, telling the right key from another


def key_check(key: bytes) -> str:
    """What the database keeps to recognise its key (a copy, a backup, a restore beside the wrong key file)
    without keeping the key: a keyed hash of a fixed text, which tells nothing about the key itself."""
    return hmac.new(key, b"coprod responder key check", hashlib.sha256).hexdigest()[:32]


def key_file_for(db_path: str) -> Path:
    """Where the key file of the database at ``db_path`` lives: beside it, ``coprod.db`` -> ``coprod.key``."""
    path = Path(db_path)
    return path.with_suffix(".key") if path.suffix != ".key" else path.with_name(path.name + ".key")


def wrong_key(db_path: str, key_path: Path, from_env: bool) -> str:
    source = SECRET_ENV if from_env else f"the key in {key_path}"
    return (
        f"{source} is not the key database {db_path} was made with, so its anonymous answers would no longer match "
        f"their people: put back the key file that belongs with it (or set {SECRET_ENV} to that key)"
    )


class ResponderKey:
    """The key for one database, found (and moved out of the database if need be) once, on first use."""

    def __init__(self, db: Database, configured: bytes | None = None):
        self.db = db
        self.configured = configured  # from COPROD_SECRET_KEY
        self.path = key_file_for(db.path)
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._find()
        return self._key

    def _find(self) -> bytes:
        # In one write transaction: a second process opening the same database waits, then finds the key
        # already moved.
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'responder_key'").fetchone()
            stored = bytes.fromhex(row[0]) if row else None
            answered = conn.execute("SELECT EXISTS (SELECT 1 FROM responses)").fetchone()[0] == 1
            key = self._choose(stored, answered)
            check = conn.execute("SELECT value FROM meta WHERE key = ?", (CHECK,)).fetchone()
            if check is not None and check[0] != key_check(key) and answered:
                raise StoreError(wrong_key(self.db.path, self.path, self.configured is not None))
            if check is None or check[0] != key_check(key):
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (CHECK, key_check(key)))
            if stored is not None:
                conn.execute("DELETE FROM meta WHERE key = 'responder_key'")
        if stored is not None:
            self.db.vacuum()  # no copy of the key, nor anything deleted before secure_delete, stays in the file
        return key

    def _choose(self, stored: bytes | None, answered: bool) -> bytes:
        """The key to use, given the one still in the database (if any) and whether answers were made."""
        in_file = self._read_file()
        if self.configured is not None and in_file is not None and self.configured != in_file and answered:
            raise StoreError(
                f"{SECRET_ENV} differs from the key in {self.path}: keep the one this database's answers were "
                f"made with (unset {SECRET_ENV} to use the file)"
            )
        chosen = self.configured if self.configured is not None else in_file
        if chosen is not None:
            if stored is not None and stored != chosen and answered:
                source = SECRET_ENV if self.configured is not None else f"the key in {self.path}"
                fix = (
                    f"unset {SECRET_ENV} and coprod moves the database's own key to {self.path}"
                    if self.configured is not None
                    else f"move {self.path} away and coprod writes the database's own key there"
                )
                raise StoreError(
                    f"{source} is not the key database {self.db.path} was made with, so its anonymous answers "
                    f"would no longer match their people: {fix}"
                )
            return chosen
        if stored is None and answered:
            raise StoreError(
                f"database {self.db.path} has answers but its key is missing: put {self.path} back beside it, or "
                f"set {SECRET_ENV} to the key (without it, answers can't be matched to their people)"
            )
        key = stored if stored is not None else secrets.token_bytes(KEY_BYTES)
        try:
            files.write_private(self.path, key.hex() + "\n")
        except OSError as exc:
            raise StoreError(f"cannot write the key file {self.path}: {exc.strerror}") from None
        return key

    def _read_file(self) -> bytes | None:
        self.db.refuse_if_shared([self.path])
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot read the key file {self.path}: {exc}") from None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(text) < MIN_HEX_DIGITS or len(key) * 2 != len(text):
            raise StoreError(
                f"the key file {self.path} is not a coprod key (it should hold at least {MIN_HEX_DIGITS} hex "
                "digits): restore it from a backup"
            )
        return key
