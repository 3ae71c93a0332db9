"""Building the Bolt app: the Slack client, the error handler and the listeners, wired once."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.listeners import register_listeners
from bot.posts import Deps
from bot.settings import Settings

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


class ServerErrorRetryHandler(RetryHandler):
    """Retry Slack's 5xx answers with backoff, as slack-sdk does for rate limits and dropped connections."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and 500 <= response.status_code < 600


def make_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=timeout)
    client.retry_handlers.extend([
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=3),
    ])
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client


def build_app(settings: Settings, deps: Deps, client: WebClient, executor: Executor | None = None) -> App:
    """The Bolt app. No call to Slack happens here, so the bot starts with no network.

    ``executor`` runs the work after each acknowledgement; the runtime drains it before stopping."""
    app = App(
        client=client,
        listener_executor=executor,
        signing_secret=settings.signing_secret or "socket-mode-has-no-signing-secret",
        process_before_response=not settings.socket_mode,
        token_verification_enabled=False,
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("bot.bolt"),
    )

    @app.error
    def on_error(error, body, logger):
        # One place for every listener's failure: log it for us, say sorry to the person, never a traceback.
        logger.error("a listener failed: %s", type(error).__name__, exc_info=error)
        if isinstance(body, dict) and body.get("command"):
            return BoltResponse(status=200, body=SORRY)
        return BoltResponse(status=200, body="")

    register_listeners(app, deps)
    return app
