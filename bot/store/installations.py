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
import threading
import time
from pathlib import Path

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from bot.store import files
from bot.store.db import StoreError

STATE_SECONDS = 600  # an "Add to Slack" started more than 10 minutes ago has to start again


BOT_MEMORY = 60.0  # seconds a workspace's bot (or its absence) is remembered between writes of this process


class InstallationFile(SQLite3InstallationStore):
    """slack-sdk's SQLite installation store, where a deleted token leaves no copy in the file's free pages
    (``secure_delete``) nor in its WAL (emptied after each deletion).

    Bolt looks up the workspace's bot on every request; opening the file for it cost 0.4 ms of each
    acknowledgement, so a bot found (or not found), and the organizations a workspace's rows are under, are
    remembered for ``BOT_MEMORY`` seconds. Every write through this object (an install, a removal) forgets what
    was remembered at once; a change made by another process is seen within ``BOT_MEMORY``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._bots: dict[tuple[str, str, bool], tuple[float, Bot | None]] = {}
        self._enterprises: dict[str, tuple[float, list[str | None]]] = {}  # team -> (when read, its organizations)
        self._bots_lock = threading.Lock()

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        key = (enterprise_id or "", team_id or "", bool(is_enterprise_install))
        now = time.monotonic()
        with self._bots_lock:
            remembered = self._bots.get(key)
        if remembered is not None and now - remembered[0] < BOT_MEMORY:
            return remembered[1]
        bot = super().find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        with self._bots_lock:
            self._bots[key] = (now, bot)
        return bot

    def _changed(self) -> None:
        with self._bots_lock:
            self._bots.clear()
            self._enterprises.clear()

    def save(self, installation: Installation) -> None:
        try:
            super().save(installation)
        finally:
            self._changed()

    def save_bot(self, bot: Bot) -> None:
        try:
            super().save_bot(bot)
        finally:
            self._changed()

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        try:
            super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        finally:
            self._changed()

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        try:
            super().delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        finally:
            self._changed()

    def connect(self) -> sqlite3.Connection:
        conn = super().connect()
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        super().delete_all(enterprise_id=enterprise_id, team_id=team_id)
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def enterprises_of(self, team: str) -> list[str | None]:
        """Every Enterprise Grid organization under which a bot or installation of workspace ``team`` is kept,
        newest first (None: a workspace outside any Grid).

        slack-sdk keys a workspace's rows by (enterprise id, team id), as Bolt's OAuth flow stored them, and
        finds them only by both; coprod knows a workspace by its team id alone (unique across Slack), so it
        learns the enterprise id here. An organization-wide install (team id "") is not one workspace's and is
        never returned (coprod's manifests turn org-wide deployment off)."""
        if not team:
            return []
        now = time.monotonic()
        with self._bots_lock:
            remembered = self._enterprises.get(team)
        if remembered is not None and now - remembered[0] < BOT_MEMORY:
            return list(remembered[1])
        with contextlib.closing(self.connect()) as conn:
            rows = conn.execute(
                """
                select enterprise_id, max(installed_at) as newest
                from (
                    select enterprise_id, installed_at from slack_bots where client_id = ? and team_id = ?
                    union all
                    select enterprise_id, installed_at from slack_installations where client_id = ? and team_id = ?
                )
                group by enterprise_id
                order by newest desc
                """,
                [self.client_id, team, self.client_id, team],
            ).fetchall()
        enterprises = [row[0] or None for row in rows]
        with self._bots_lock:
            self._enterprises[team] = (now, enterprises)
        return list(enterprises)

    def find_workspace_bot(self, team: str) -> Bot | None:
        """The newest bot of workspace ``team``, whichever Grid organization (or none) it was installed under."""
        enterprises = self.enterprises_of(team)
        return self.find_bot(enterprise_id=enterprises[0], team_id=team) if enterprises else None

    def refresh_tokens(self) -> int:
        """How many workspaces' newest bots of this app were installed with token rotation on (they hold a
        refresh token): coprod refuses to start with any (README, "Token rotation")."""
        with contextlib.closing(self.connect()) as conn:
            (count,) = conn.execute(
                """
                select count(*) from slack_bots as bot
                where bot.client_id = ?
                  and coalesce(bot.bot_refresh_token, '') != ''
                  and bot.id = (  -- the newest row (installed_at is to the second only, so ties are common)
                      select max(newer.id) from slack_bots as newer
                      where newer.client_id = bot.client_id
                        and newer.enterprise_id = bot.enterprise_id
                        and newer.team_id = bot.team_id
                  )
                """,
                [self.client_id],
            ).fetchone()
        return int(count)


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
