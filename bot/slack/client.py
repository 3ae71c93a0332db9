"""The Web API client every coprod process uses, with coprod's retries: a post is never repeated blind, a
rate limit holds back the rest of its workspace's scheduled work. No Bolt here: the worker imports it."""

from __future__ import annotations

import socket
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.settings import Settings
from bot.work import lanes

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
