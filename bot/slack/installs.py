"""Several workspaces from one deployment (OAuth distribution), over HTTP only.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` (and no ``SLACK_BOT_TOKEN``), coprod serves
``GET /slack/install`` (an "Add to Slack" page) and ``GET /slack/oauth_redirect`` (where Slack sends the
installer back) through Bolt's OAuth flow, on its own HTTP endpoint. Each installation's bot token is kept by
slack-sdk's SQLite installation store in the installations file (``bot/store/installations.py``), and every
request, scheduled post and follow-up in a workspace is made with that workspace's own token.

When a workspace removes coprod (``app_uninstalled``, or ``tokens_revoked`` for its bot), its tokens are
deleted at once and its partnerships paused; its data is kept for ``COPROD_ERASE_AFTER_DAYS`` (30) in case it
comes back, then erased (``erase_due``). Adding coprod again within that time brings everything back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation

from bot.render import pages
from bot.settings import Settings, SettingsError
from bot.store import Store
from bot.store.installations import STATE_SECONDS, installations_path_for, open_stores

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
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
ROTATION_ON = "token_rotation"  # the failure page's reason when Slack gave a rotating token
WELCOME_BACK = "coprod_welcome_back"  # set in the request's context when a workspace's data was waiting for it


def authorization_url(api_url: str) -> str:
    """Slack's page where a person allows coprod, on the same Slack as the Web API (GovSlack too)."""
    base = api_url[: -len("api/")] if api_url.endswith("/api/") else "https://slack.com/"
    return f"{base}oauth/v2/authorize"


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

    def authorize(self, client: WebClient) -> InstallationStoreAuthorize:
        """Bolt's authorization from the installation store: the bot's token only (coprod asks for no user
        token), and Slack's auth.test for a token asked once per process, not on every request."""
        return InstallationStoreAuthorize(
            logger=logging.getLogger("bot.bolt"),
            installation_store=self.installation_store,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )

    def oauth_flow(self, client: WebClient, store: Store) -> OAuthFlow:
        settings = self.settings
        flow = InstallFlow(
            client=client,
            logger=logging.getLogger("bot.bolt"),
            settings=OAuthSettings(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                scopes=list(SCOPES),
                user_scopes=[],
                redirect_uri=settings.redirect_uri,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                authorization_url=authorization_url(settings.api_url),
                installation_store=self.installation_store,
                installation_store_bot_only=True,
                state_store=self.state_store,
                state_expiration_seconds=STATE_SECONDS,
                logger=logging.getLogger("bot.bolt"),
            ),
        )
        flow.store = store
        flow.erase_after_days = settings.erase_after_days
        return flow


class RotationOn(BoltError):
    """Slack answered an install with a refresh token: the app has token rotation on
    (https://docs.slack.dev/authentication/using-token-rotation), and coprod never refreshes a token."""


class InstallFlow(OAuthFlow):
    """Bolt's OAuth flow with coprod's pages, and a workspace's data brought back when it adds coprod again."""

    store: Store
    erase_after_days: float

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        options = CallbackOptions(success=self._installed, failure=self._failed)
        self.settings.callback_options = options
        self.success_handler, self.failure_handler = options.success, options.failure

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return pages.install_page(url, self.erase_after_days)

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        if installation.bot_refresh_token:  # Slack gave a rotating token: keep none, and say why on the page
            log.warning(
                "an install from workspace %s was refused: the Slack app has token rotation on", installation.team_id
            )
            raise RotationOn("the Slack app has token rotation on")
        super().store_installation(request, installation)
        team = installation.team_id
        back = bool(team) and self.store.workspaces.returned(str(team))
        request.context[WELCOME_BACK] = back
        log.info("workspace %s installed coprod%s", team, " again: its data was waiting for it" if back else "")

    def _installed(self, args: SuccessArgs) -> BoltResponse:
        html = pages.installed_page(
            welcome_back=bool(args.request.context.get(WELCOME_BACK)), erase_after_days=self.erase_after_days
        )
        return self._page(200, html)

    def _failed(self, args: FailureArgs) -> BoltResponse:
        reason = ROTATION_ON if isinstance(args.error, RotationOn) else args.reason
        log.warning("an install did not finish: %s", reason)
        return self._page(args.suggested_status_code, pages.failed_page(reason, self.install_path))

    def _page(self, status: int, html: str) -> BoltResponse:
        return BoltResponse(
            status=status,
            body=html,
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Set-Cookie": [self.settings.state_utils.build_set_cookie_for_deletion()],
            },
        )


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
