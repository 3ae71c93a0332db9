"""The HTTP edge: `POST /slack/events` (Slack's signed requests) and `GET /healthz`, as a WSGI app; in
several-workspace mode also `GET /slack/install` and `GET /slack/oauth_redirect`, which Bolt's WSGI handler
passes to its OAuth flow (a browser's requests: no Slack signature, the OAuth state instead; bot/slack/installs.py).

Each request is read once: the signature is checked on the raw body (a 401 before anything is
parsed), the body is parsed once into the request Bolt dispatches, and a signed body Slack could not
have sent (not UTF-8, not JSON, nested too deep, not an object, fields of the wrong type) is a 400, never a
500. Bolt neither checks the signature again nor parses again. Waitress refuses bodies over the size limit
(413). `/healthz` is ok only while the database can be written (:class:`Health`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest as Request
from slack_sdk.signature import SignatureVerifier

from bot.slack.listeners.payloads import payload_problem
from bot.store import Store, StoreError

log = logging.getLogger(__name__)
HEALTH_EVERY = 1.0  # seconds: at most one probe write a second, however often /healthz is asked
HEALTH_WAIT = 2.0  # seconds the probe waits for another process's write lock before saying so


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
        # RecursionError: JSON nested thousands deep, which the parser refuses by running out of stack.
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
            problem = type(exc).__name__
        if problem:
            log.warning("refused a signed request that is not a Slack payload (%s)", problem)
            return BoltResponse(status=400, body={"error": "bad request"})
        return self.app.dispatch(bolt_request)


class Health:
    """Whether coprod can do its work: the database must take a write, not only answer a read.

    A probe writes one row (the store's ``prove_writable``) at most every ``every`` seconds; a request in
    between, or while a probe is running, gets the last probe's answer, so a flood of /healthz is neither a
    flood of writes nor of waiting threads."""

    def __init__(self, store: Store, every: float = HEALTH_EVERY, wait: float = HEALTH_WAIT):
        self.store, self.every, self.wait = store, every, wait
        self._probing = threading.Lock()
        self._checked = -math.inf
        self._problem: str | None = "not checked yet"

    def problem(self) -> str | None:
        """None when healthy, else a short reason."""
        if self._probing.acquire(blocking=False):
            try:
                if time.monotonic() - self._checked >= self.every:
                    self._problem = self._probe()
                    self._checked = time.monotonic()
            finally:
                self._probing.release()
        return self._problem

    def _probe(self) -> str | None:
        try:
            self.store.ledger.prove_writable(now=int(time.time()), wait=self.wait)
        except StoreError as exc:
            log.warning("health check: %s", exc)
            return str(exc)
        except Exception as exc:  # the database is what we need to be healthy
            log.warning("health check: the database is unavailable (%s)", type(exc).__name__)
            return "the database is unavailable"
        return None


def wsgi_app(app: App, store: Store, signing_secret: str | None = None) -> Callable:
    slack = GuardedRequestHandler(app, signing_secret, path="/slack/events")
    health = Health(store)

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            problem = health.problem()
            status, body = (
                ("200 OK", b"ok\n") if problem is None else ("503 Service Unavailable", f"{problem}\n".encode())
            )
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application
