"""Building the Bolt app: the Slack client, the error handler and the listeners, wired once."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from urllib.error import HTTPError, URLError

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.render import pages
from bot.settings import Settings
from bot.slack.deps import Deps
from bot.slack.listeners import installs as install_listeners
from bot.slack.listeners import register_listeners
from bot.slack.listeners.payloads import payload_problem
from bot.slack.listeners.views import failed_form_reply
from bot.work import lanes

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


# A post Slack may have taken must not be sent again blind: a second copy would be a second check-in.
# bot/slack/delivery.py looks for it in the channel's history first; these handlers leave such posts alone. The
# last step of a file upload shares the file (https://docs.slack.dev/reference/methods/files.completeUploadExternal):
# repeated after a 5xx or a timeout Slack may already have acted on, it shares the file twice, so it is left
# alone too, and the caller says it can't tell.
NOT_REPEATED = ("/chat.postMessage", "/files.completeUploadExternal")


def _is_post(request: HttpRequest) -> bool:
    return request.url.split("?", 1)[0].endswith(NOT_REPEATED)


class TimeoutRetryHandler(RetryHandler):
    """Retry a call that timed out, with backoff (never a post: Slack may have taken it)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return isinstance(error, (TimeoutError, socket.timeout)) and not _is_post(request)


class ServerErrorRetryHandler(RetryHandler):
    """Retry Slack's 5xx answers with backoff (never a post: Slack may have taken it before failing)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600 and not _is_post(request)


class ConnectionRetryHandler(ConnectionErrorRetryHandler):
    """slack-sdk's retry of a refused or dropped connection, except that a post is retried only when it
    never reached Slack (urllib's URLError: connecting or sending failed), not when the connection dropped
    while Slack was answering."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _is_post(request) and not (isinstance(error, URLError) and not isinstance(error, HTTPError)):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class WorkspaceRateLimitHandler(RateLimitErrorRetryHandler):
    """slack-sdk's wait for a 429's Retry-After, which also holds back the rest of that workspace's
    scheduled work (bot/work/lanes.py) while this call waits; other workspaces carry on."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            seconds = float((after or ["1"])[0])
        except ValueError:
            seconds = 1.0
        lanes.rate_limited(seconds + 1)
        return True


# Bolt's App reads these from the environment when it is built, and SLACK_CLIENT_ID with SLACK_CLIENT_SECRET
# silently turn on its own OAuth flow, with file stores in the home folder, and drop the bot token: coprod
# passes Bolt everything itself, so it builds the app with them out of sight.
BOLT_READS = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SCOPES", "SLACK_USER_SCOPES")


@contextlib.contextmanager
def _unseen_by_bolt() -> Iterator[None]:
    hidden = {name: os.environ.pop(name) for name in BOLT_READS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(hidden)


def make_client(settings: Settings, *, timeout: int = 10, token: str | None = None) -> WebClient:
    """A Web API client with coprod's retries; with ``token`` (a workspace's, in several-workspace mode) or
    the one bot token (none in several-workspace mode: Bolt gives each request its workspace's)."""
    return web_client(settings.api_url, token or settings.bot_token or None, timeout=timeout)


def web_client(base_url: str, token: str | None, *, timeout: int = 10) -> WebClient:
    """A Web API client at ``base_url`` with coprod's retries."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionRetryHandler(max_retry_count=1),
            WorkspaceRateLimitHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=3),
            TimeoutRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: Settings, deps: Deps, client: WebClient, executor: Executor | None = None) -> App:
    """The Bolt app. No call to Slack happens here, so the bot starts with no network.

    In both modes a listener runs on the thread that received the request (a waitress thread over HTTP,
    the Socket Mode client's worker, ``executor``, in Socket Mode) and the ack is sent when it returns
    (``process_before_response=True``): every listener commits what must be durable, acks, and hands
    what follows (Slack calls included) to the follow-up workers (bot/work/followups.py), so the ack waits on
    nothing else. Over HTTP the signature is checked once, by the endpoint (bot/slack/endpoint.py), before the
    body is parsed.

    Several-workspace mode (``deps.installations``): Bolt's OAuth flow serves /slack/install and
    /slack/oauth_redirect through the same endpoint, and each request gets a client with its workspace's token."""
    oauth: dict = {}
    if deps.installations is not None:
        oauth = {
            "oauth_flow": deps.installations.oauth_flow(client, deps.store),
            "authorize": deps.installations.authorize(client),
            "installation_store": deps.installations.installation_store,
            "installation_store_bot_only": True,
            # A request from a workspace with no installation: it removed coprod.
            "user_facing_authorize_error_message": pages.removed_text(settings.erase_after_days),
        }
    with _unseen_by_bolt():
        app = App(
            client=client,
            listener_executor=executor,
            signing_secret=settings.signing_secret or "socket-mode-has-no-signing-secret",
            # Both modes ack when the listener returns. Bolt's default in Socket Mode (False) runs the listener
            # on ``listener_executor`` and polls for its ack every 10 ms: ~11 ms per ack for ~1 ms of work.
            process_before_response=True,
            token_verification_enabled=False,
            request_verification_enabled=False,  # bot/slack/endpoint.py checks every HTTP request's signature
            logger=logging.getLogger("bot.bolt"),
            **oauth,
        )

    @app.error
    def on_error(error, body, logger):
        # One place for every listener's failure: log it for us, say sorry to the person, never a traceback.
        logger.error("a listener failed: %s", type(error).__name__, exc_info=error)
        kind = body.get("type") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("command"):
            return BoltResponse(status=200, body=SORRY)  # nothing was changed: the person reads why
        if kind == "view_submission":  # the modal stays open with the answer in it, saying so
            return BoltResponse(
                status=200,
                headers={"content-type": "application/json"},
                body=json.dumps(failed_form_reply(body.get("view"), SORRY)),
            )
        # A click or event we could not handle is not acknowledged as done: Slack tells the person
        # (or retries the event) rather than the answer being silently lost.
        return BoltResponse(status=500, body="")

    if settings.socket_mode:  # over HTTP, bot/slack/endpoint.py refuses these before Bolt parses them

        @app.middleware
        def refuse_malformed(body: dict, next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002
            problem = payload_problem(body)
            if problem:  # acknowledged, so Slack doesn't resend it, and otherwise ignored
                log.warning("ignored a Socket Mode envelope that is not a Slack payload (%s)", problem)
                return BoltResponse(status=200, body="")
            next()
            return None

    @app.middleware
    def provide_deps(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 - Bolt's name
        context["deps"] = deps
        next()

    register_listeners(app)
    if deps.installations is not None:
        install_listeners.register(app)
    return app
