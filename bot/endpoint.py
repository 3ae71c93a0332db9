"""The HTTP edge: `POST /slack/events` (Slack's signed requests) and `GET /healthz`, as a WSGI app.

Each request is read once: the signature is checked on the raw body (a 401 before anything is
parsed), the body is parsed once into the request Bolt dispatches, and a signed body Slack could not
have sent (not UTF-8, not JSON, not an object, fields of the wrong type) is a 400, never a 500. Bolt
neither checks the signature again nor parses again. Waitress refuses bodies over the size limit (413).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.store import Store

log = logging.getLogger(__name__)
USER_ID = re.compile(r"[UW][A-Z0-9]+")
TEAM_ID = re.compile(r"[TE][A-Z0-9]+")
# The kinds of payload coprod handles; Slack sends no other kind to an app configured as manifest.json says.
INTERACTIONS = ("block_actions", "view_submission", "view_closed")
EVENTS = ("event_callback", "url_verification")


def payload_problem(body: object) -> str | None:
    """Why a parsed body is not a payload coprod could have been sent, or None when it is one.

    Checks the identity of the workspace and the person (a listener must never store something under a
    bogus id) and the fields routing reads, in the types Slack sends them."""
    if not isinstance(body, dict):
        return "not a JSON object"
    kind = body.get("type")
    if "ssl_check" in body:  # Slack checking the certificate of a slash command's URL
        return None
    if "command" in body:
        if not isinstance(body.get("command"), str) or not isinstance(body.get("text", ""), str):
            return "command malformed"
        return _identity(body.get("team_id"), body.get("user_id"))
    if kind in INTERACTIONS:
        who, where = body.get("user"), body.get("team")
        if not isinstance(who, dict):
            return "no user"
        team = where.get("id") if isinstance(where, dict) and where.get("id") else who.get("team_id")
        return _identity(team, who.get("id")) or _interaction_shape(body)
    if kind in EVENTS:
        return _event_shape(body)
    return "not a kind of payload coprod handles"


def _identity(team: object, user: object) -> str | None:
    if not (isinstance(user, str) and USER_ID.fullmatch(user)):
        return "not a user id"
    if not (isinstance(team, str) and TEAM_ID.fullmatch(team)):
        return "not a workspace id"
    return None


def _interaction_shape(body: dict) -> str | None:
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions
                and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)):
            return "actions malformed"
        return None
    view = body.get("view")
    if not (isinstance(view, dict) and isinstance(view.get("callback_id"), str) and isinstance(view.get("type"), str)):
        return "view malformed"
    return None


def _event_shape(body: dict) -> str | None:
    if body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        return "event malformed"
    if not all(isinstance(event.get(k), dict | None) for k in ("message", "previous_message")):
        return "event malformed"
    return None


class GuardedRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler with the signature checked on the raw body and the payload checked once parsed."""

    def __init__(self, app: App, signing_secret: str | None, path: str = "/slack/events"):
        super().__init__(app, path=path)
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def dispatch(self, request) -> BoltResponse:
        try:
            length = max(0, int(request.environ.get("CONTENT_LENGTH") or 0))
        except ValueError:
            length = 0
        stream = request.environ.get("wsgi.input")
        raw = stream.read(length) if stream is not None and length else b""
        headers = request.get_headers()
        if self.verifier is not None:
            try:
                signed = self.verifier.is_valid_request(raw, headers)
            except (ValueError, TypeError):  # e.g. a timestamp that is not a number
                signed = False
            if not signed:
                return BoltResponse(status=401, body={"error": "invalid request"})
        try:
            bolt_request = BoltRequest(body=raw.decode("utf-8"), query=request.query_string, headers=headers)
            problem = payload_problem(bolt_request.body)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            problem = type(exc).__name__
        if problem:
            log.warning("refused a signed request that is not a Slack payload (%s)", problem)
            return BoltResponse(status=400, body={"error": "bad request"})
        return self.app.dispatch(bolt_request)


def wsgi_app(app: App, store: Store, signing_secret: str | None = None) -> Callable:
    slack = GuardedRequestHandler(app, signing_secret, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                store.meta("responder_key")
                status, body = "200 OK", b"ok\n"
            except Exception:  # the database is what we need to be healthy
                status, body = "503 Service Unavailable", b"database unavailable\n"
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application
