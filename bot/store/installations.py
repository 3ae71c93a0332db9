"""The installations file (several-workspace mode): which workspaces added coprod, and their bot tokens.

slack-sdk's SQLite installation store and OAuth state store share one file beside the database
(``coprod.db`` -> ``coprod-installations.db``). It holds no answers, only each workspace's bot token and the
short-lived ``state`` of installs under way. Like the database it is created 0600 before SQLite opens it
(SQLite gives its side files the same mode), refused at start if others on the machine can read it, and kept
in WAL mode, so reading a token never waits for an install being written (and Litestream can replicate it).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from bot.store import files
from bot.store.db import StoreError

STATE_SECONDS = 600  # an "Add to Slack" started more than 10 minutes ago has to start again


class InstallationFile(SQLite3InstallationStore):
    """slack-sdk's SQLite installation store, where a deleted token leaves no copy in the file's free pages
    (``secure_delete``) nor in its WAL (emptied after each deletion)."""

    def connect(self) -> sqlite3.Connection:
        conn = super().connect()
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        super().delete_all(enterprise_id=enterprise_id, team_id=team_id)
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def installations_path_for(db_path: str | Path) -> Path:
    """Where the installations file of the database at ``db_path`` lives: beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}-installations{path.suffix or '.db'}")


def open_stores(
    path: Path, *, client_id: str, allow_shared: bool = False
) -> tuple[InstallationFile, SQLite3OAuthStateStore]:
    """The installation and state stores on ``path``, made private and ready, or StoreError in one line."""
    problem = None if allow_shared else files.shared_problem(files.with_side_files(path))
    if problem:
        raise StoreError(problem)
    try:
        files.create_private(path)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        installations = InstallationFile(database=str(path), client_id=client_id)
        states = SQLite3OAuthStateStore(database=str(path), expiration_seconds=STATE_SECONDS)
        installations.init()  # creates the tables on first use; here, at start, so a bad file stops coprod now
        states.init()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot use the installations file {path}: {exc} (check COPROD_DB's folder)") from None
    return installations, states
