"""The HTTP edge: `POST /slack/events` (Slack's signed requests) and `GET /healthz`, as a WSGI app; in
several-workspace mode also `GET /slack/install` and `GET /slack/oauth_redirect`, which Bolt's WSGI handler
passes to its OAuth flow (a browser's requests: no Slack signature, the OAuth state instead; bot/installs.py).

Each request is read once: the signature is checked on the raw body (a 401 before anything is
parsed), the body is parsed once into the request Bolt dispatches, and a signed body Slack could not
have sent (not UTF-8, not JSON, not an object, fields of the wrong type) is a 400, never a 500. Bolt
neither checks the signature again nor parses again. Waitress refuses bodies over the size limit (413).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest as Request
from slack_sdk.signature import SignatureVerifier

from bot.listeners.payloads import payload_problem
from bot.store import Store

log = logging.getLogger(__name__)


class GuardedRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler with the signature checked on the raw body and the payload checked once parsed."""

    def __init__(self, app: App, signing_secret: str | None, path: str = "/slack/events"):
        super().__init__(app, path=path)
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def dispatch(self, request: Request) -> BoltResponse:
        try:
            length = max(0, int(request.environ.get("CONTENT_LENGTH") or 0))
        except ValueError:
            length = 0
        stream = request.environ.get("wsgi.input")
        raw = stream.read(length) if stream is not None and length else b""
        headers = request.get_headers()
        if self.verifier is not None:
            try:
                signed = self.verifier.is_valid(
                    raw,
                    timestamp=request.environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                    signature=request.environ.get("HTTP_X_SLACK_SIGNATURE"),
                )
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
                store.ledger.meta("responder_key")
                status, body = "200 OK", b"ok\n"
            except Exception:  # the database is what we need to be healthy
                status, body = "503 Service Unavailable", b"database unavailable\n"
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application
