"""Several workspaces from one deployment (OAuth distribution), over HTTP only.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` (and no ``SLACK_BOT_TOKEN``), coprod serves
``GET /slack/install`` (an "Add to Slack" page) and ``GET /slack/oauth_redirect`` (where Slack sends the
installer back) through Bolt's OAuth flow (bot/slack/oauth.py), on its own HTTP endpoint. Each
installation's bot token is kept by slack-sdk's SQLite installation store in the installations file
(``bot/store/installations.py``), and every request, scheduled post and follow-up in a workspace is made with
that workspace's own token.

When a workspace removes coprod (``app_uninstalled``, or ``tokens_revoked`` for its bot), its tokens are
deleted at once and its partnerships paused; its data is kept for ``COPROD_ERASE_AFTER_DAYS`` (30) in case it
comes back, then erased (``erase_due``). Adding coprod again within that time brings everything back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.settings import Settings, SettingsError
from bot.store import Store
from bot.store.installations import installations_path_for, open_stores

log = logging.getLogger(__name__)
# What coprod asks each workspace for: manifest.json's bot scopes (tests/test_installs.py keeps them equal).
SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:write",
    "users:read",
)


class Installations:
    """Which workspaces installed coprod, their tokens, and a Web API client for each."""

    def __init__(self, settings: Settings, make_client: Callable[[str], WebClient]):
        assert settings.client_id and settings.client_secret, "several-workspace mode needs the OAuth credentials"
        self.settings = settings
        self.path = installations_path_for(settings.db_path)
        self.installation_store, self.state_store = open_stores(
            self.path, client_id=settings.client_id, allow_shared=settings.allow_shared_db
        )
        rotating = self.installation_store.refresh_tokens()
        if rotating:  # such a token stops working 12 hours after it was issued: coprod never refreshes one
            raise SettingsError(
                f"{rotating} workspace(s) in {self.path} added coprod from a Slack app with token rotation on, "
                "which coprod does not support: create an app from manifest-several-workspaces.json (rotation off), "
                "set its SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, and send each workspace the install link again "
                '(README, "Token rotation")'
            )
        self._make_client = make_client
        self._clients: dict[str, tuple[str, WebClient]] = {}  # team -> (its token, a client with it)
        self._lock = threading.Lock()

    def token(self, team: str) -> str | None:
        """The workspace's bot token, found as Bolt stored it: under its Enterprise Grid organization, if any."""
        bot = self.installation_store.find_workspace_bot(team)
        return bot.bot_token if bot is not None else None

    def client_for(self, team: str) -> WebClient | None:
        """A Web API client with the workspace's own bot token; None when coprod is not installed there."""
        token = self.token(team)
        if token is None:
            return None
        with self._lock:
            cached = self._clients.get(team)
            if cached is None or cached[0] != token:
                cached = (token, self._make_client(token))
                self._clients[team] = cached
            return cached[1]

    def forget(self, team: str) -> None:
        """Delete every token the workspace gave coprod (its installations and its bot)."""
        with self._lock:
            self._clients.pop(team, None)
        for enterprise in self.installation_store.enterprises_of(team):
            self.installation_store.delete_all(enterprise_id=enterprise, team_id=team)
        # slack-sdk logs a failed delete and carries on: make sure, so Slack retries the event if it failed.
        if self.installation_store.enterprises_of(team):
            raise RuntimeError(f"could not delete the tokens of workspace {team} from {self.path}")


def removed(store: Store, installations: Installations, team: str, *, now: int, erase_after_days: float) -> int:
    """A workspace removed coprod: record it (its partnerships pause, its data is kept until the returned time),
    then delete its tokens. Safe to repeat: Slack's retries change nothing."""
    erase_at = store.workspaces.removed(team, now=now, erase_at=now + round(erase_after_days * 86_400))
    installations.forget(team)
    when = datetime.fromtimestamp(erase_at, UTC).isoformat()
    log.info("workspace %s removed coprod: its tokens are deleted, and its data will be erased at %s", team, when)
    return erase_at


def erase_due(store: Store, *, now: int) -> list[str]:
    """Erase the data of every workspace whose grace period is over (and that did not come back); returns them."""
    erased = []
    for team in store.workspaces.due(now=now):
        counts = store.workspaces.erase(team, due_by=now)
        if counts is None:  # it came back meanwhile
            continue
        erased.append(team)
        log.info("erased the data of workspace %s, which removed coprod: %s rows", team, sum(counts.values()))
    return erased
