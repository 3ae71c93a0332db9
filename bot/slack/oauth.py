"""Bolt's OAuth flow for several workspaces: the install and redirect pages, and each request's authorization
from the installation store (bot/slack/installs.py keeps the tokens; this module is the web process's alone)."""

from __future__ import annotations

import logging

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
from bot.slack.installs import SCOPES, Installations
from bot.store import Store
from bot.store.installations import STATE_SECONDS

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
ROTATION_ON = "token_rotation"  # the failure page's reason when Slack gave a rotating token
WELCOME_BACK = "coprod_welcome_back"  # set in the request's context when a workspace's data was waiting for it


def authorization_url(api_url: str) -> str:
    """Slack's page where a person allows coprod, on the same Slack as the Web API (GovSlack too)."""
    base = api_url[: -len("api/")] if api_url.endswith("/api/") else "https://slack.com/"
    return f"{base}oauth/v2/authorize"


def authorize(installations: Installations, client: WebClient) -> InstallationStoreAuthorize:
    """Bolt's authorization from the installation store: the bot's token only (coprod asks for no user
    token), and Slack's auth.test for a token asked once per process, not on every request."""
    return InstallationStoreAuthorize(
        logger=logging.getLogger("bot.bolt"),
        installation_store=installations.installation_store,
        client_id=installations.settings.client_id,
        client_secret=installations.settings.client_secret,
        bot_only=True,
        cache_enabled=True,
        client=client,
    )


def oauth_flow(installations: Installations, client: WebClient, store: Store) -> OAuthFlow:
    settings = installations.settings
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
            installation_store=installations.installation_store,
            installation_store_bot_only=True,
            state_store=installations.state_store,
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
