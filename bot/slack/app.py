"""Building the Bolt app: the error handler and the listeners, wired once (its Web API client: bot/slack/client.py)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.render import pages
from bot.settings import Settings
from bot.slack import oauth
from bot.slack.deps import Deps
from bot.slack.listeners import installs as install_listeners
from bot.slack.listeners import register_listeners
from bot.slack.listeners.payloads import payload_problem
from bot.slack.listeners.views import failed_form_reply

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


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
    flow: dict = {}
    if deps.installations is not None:
        flow = {
            "oauth_flow": oauth.oauth_flow(deps.installations, client, deps.store),
            "authorize": oauth.authorize(deps.installations, client),
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
            **flow,
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
