"""Slack's Socket Mode side on loopback: a WebSocket endpoint coprod connects out to, and a client sim.

In Socket Mode Slack sends no HTTP requests. The app asks ``apps.connections.open`` (the SlackStub answers
with ``stub.socket_mode_url``) for a WebSocket URL, connects, and receives a ``hello``. Each slash command,
interaction or event then arrives as an envelope::

    {"envelope_id": "…", "type": "slash_commands" | "interactive" | "events_api", "payload": {…},
     "accepts_response_payload": true | false, "retry_attempt": 0, "retry_reason": ""}   # retry_*: events only

and the app acknowledges it on the same socket with ``{"envelope_id": "…", "payload": {…}}`` (the payload
only when it has something to say). Slack gives up on an envelope not acknowledged within 3 seconds.

:class:`SocketModeEndpoint` is that endpoint; :class:`SocketModeSim` offers the same methods as
:class:`bot.localslack.client_sim.SlackClientSim` (same builders, same keyword arguments, same :class:`Reply`), so a
test reads the same in both modes:

    with SocketModeEndpoint() as endpoint:
        stub.socket_mode_url = endpoint.url
        ...  # start coprod in Socket Mode
        endpoint.wait_connected()
        reply = SocketModeSim(endpoint).command("help")   # Reply(status=200, body=<the ack's payload>)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from bot.localslack.client_sim import Headers, Reply, with_trigger
from bot.localslack.serving import ServedInThread
from bot.localslack.signed import APP_ID, FORM, JSON, action_body, command_body, event_body, view_submission_body

# Slack's deadline for an acknowledgement; after it, Slack shows the person an error (or retries an event).
ACK_TIMEOUT = 3.0
# What SocketModeSim answers when no acknowledgement came in time (as a gateway timing out would).
NOT_ACKNOWLEDGED = 504
ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
# Interactions whose acknowledgement Slack reads (a modal's response_action, a select's options).
_INTERACTIONS_WITH_RESPONSE = ("view_submission", "block_suggestion")
_HTTP_ONLY = ("timestamp", "headers", "bad_signature")
_WAITING = object()


class SocketModeEndpoint(ServedInThread):
    """Slack's Socket Mode WebSocket endpoint on ``ws://127.0.0.1:<random port>/``.

    Every connection gets Slack's ``hello``. :meth:`send` delivers an envelope on the newest open connection
    and waits for its acknowledgement; it may be called from many threads at once, because each connection's
    handler thread reads everything the app sends and hands each ack to the sender waiting on its envelope_id.
    """

    thread_name = "socket-mode-endpoint"

    def __init__(self, app_id: str = APP_ID) -> None:
        super().__init__()
        self.app_id = app_id
        self._cond = threading.Condition()
        self._open: list[ServerConnection] = []
        self._acks: dict[str, Any] = {}  # envelope_id -> the ack, or _WAITING
        self._send_lock = threading.Lock()
        self.connections = 0  # how many connections were ever made
        self.sent: list[dict[str, Any]] = []  # every envelope sent, in order
        self.stray: list[Any] = []  # messages from the app that acknowledged nothing we were waiting for

    # ------------------------------------------------------------------ lifecycle
    def _make_server(self) -> Server:
        return serve(self._session, "127.0.0.1", 0, compression=None, ping_interval=None, close_timeout=2)

    def _close(self, server: Server) -> None:
        server.shutdown()  # closes open connections with 1001 and waits for their handlers

    @property
    def url(self) -> str:
        """What ``apps.connections.open`` hands the app (the SlackStub's ``socket_mode_url``)."""
        return f"ws://127.0.0.1:{self._started().socket.getsockname()[1]}/"

    @property
    def connected(self) -> bool:
        with self._cond:
            return bool(self._open)

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until an app is connected and has been sent its ``hello``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._open:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no Socket Mode connection within {timeout}s")
                self._cond.wait(remaining)

    @contextmanager
    def pinging(self, interval: float = 0.05) -> Iterator[None]:
        """Ping every open connection every ``interval`` seconds while inside, as Slack pings its apps.

        Wrap an app's shutdown in it: slack_sdk's client closes its socket only between two reads, so on a
        quiet socket every close waits out the client's 3-second read timeout. (Not pinged all the time:
        each pong draws on the global ``random``, which hypothesis tests watch.)
        """
        done = threading.Event()

        def ping() -> None:
            for n in itertools.count():
                if done.wait(interval):
                    return
                with self._cond:
                    connections = list(self._open)
                for ws in connections:
                    with contextlib.suppress(ConnectionClosed):
                        ws.ping(f"coprod-tests-{n}".encode())  # a payload of its own: pings may overlap

        thread = threading.Thread(target=ping, name="socket-mode-pings", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)

    # ------------------------------------------------------------------ the conversation
    def _session(self, ws: ServerConnection) -> None:
        with self._cond:
            self.connections += 1
            hello = {
                "type": "hello",
                "num_connections": len(self._open) + 1,
                "debug_info": {"host": "applink-loopback", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        try:
            ws.send(json.dumps(hello))
            with self._cond:
                self._open.append(ws)
                self._cond.notify_all()
            for raw in ws:  # this connection's receiver: route each ack to the send() waiting for it
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if ws in self._open:
                    self._open.remove(ws)
                self._cond.notify_all()

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._cond:
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if isinstance(envelope_id, str) and self._acks.get(envelope_id, None) is _WAITING:
                self._acks[envelope_id] = message
                self._cond.notify_all()
            else:
                self.stray.append(message if message is not None else raw)

    def send(
        self,
        envelope_type: str,
        payload: Any,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = ACK_TIMEOUT,
    ) -> dict[str, Any] | None:
        """Send one envelope as Slack does; return the app's ack (``{"envelope_id", ["payload"]}``), or None
        when none came within ``timeout`` (Slack's 3 s) of sending.

        ``accepts_response_payload`` defaults to what Slack sends: true for slash commands, modal submissions
        and option requests, false otherwise. Events carry ``retry_attempt``/``retry_reason`` (0 and "" on a
        first delivery).
        """
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"Slack sends no {envelope_type!r} envelopes; one of {ENVELOPE_TYPES}")
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive"
                and isinstance(payload, dict)
                and payload.get("type") in _INTERACTIONS_WITH_RESPONSE
            )
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        elif retry_attempt is not None or retry_reason is not None:
            raise TypeError("only events_api envelopes carry retry_attempt/retry_reason")

        self.wait_connected(timeout)
        with self._cond:
            ws = self._open[-1]  # Slack picks one of the app's connections; the newest will do
            self._acks[envelope_id] = _WAITING
            self.sent.append(envelope)
        try:
            with self._send_lock:
                ws.send(json.dumps(envelope))
            deadline = time.monotonic() + timeout
            with self._cond:
                while self._acks[envelope_id] is _WAITING:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._cond.wait(remaining)
                return self._acks[envelope_id]
        finally:
            with self._cond:
                self._acks.pop(envelope_id, None)


def socket_payload(body: bytes, content_type: str) -> tuple[str, Any]:
    """The Socket Mode envelope type and payload Slack sends for what it would have POSTed as ``body``.

    A slash command's form fields become a dict of strings; an interaction is the JSON in the ``payload``
    form field; an Events API callback is the JSON document itself. Raises ValueError for a body Slack
    could not have sent (Socket Mode carries JSON, so there is no malformed body to send).
    """
    text = body.decode("utf-8")
    if content_type.startswith(JSON):
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("type") == "url_verification":
            raise ValueError("Slack sends only event callbacks as events_api envelopes")
        return "events_api", doc
    if content_type.startswith(FORM):
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        if "payload" in fields and "command" not in fields:
            return "interactive", json.loads(fields["payload"])
        return "slash_commands", fields
    raise ValueError(f"Slack posts no {content_type!r} bodies")


class SocketModeSim:
    """:class:`bot.localslack.client_sim.SlackClientSim`'s methods, delivered over Socket Mode.

    The reply is a :class:`Reply`: status 200 with the ack's payload as a JSON body (empty when the ack has
    none) once acknowledged; status 504 with an empty body when no ack came within 3 s. HTTP-only keyword
    arguments (``timestamp``, ``headers``, ``bad_signature``) raise TypeError: Socket Mode has no signatures
    and no headers. Events take ``retry_attempt``/``retry_reason`` as the HTTP sim does.
    """

    def __init__(
        self,
        endpoint: SocketModeEndpoint,
        ack_timeout: float = ACK_TIMEOUT,
        triggers: Callable[[str], str] | None = None,
    ) -> None:
        """``triggers``: as :class:`bot.localslack.client_sim.SlackClientSim`'s, a trigger_id issued by Slack's side
        for each command, click and submission that doesn't name one."""
        self.endpoint = endpoint
        self.ack_timeout = ack_timeout
        self.triggers = triggers

    @staticmethod
    def _refuse_http_only(kw: dict[str, Any]) -> None:
        for name in _HTTP_ONLY:
            if name in kw:
                raise TypeError(f"{name}= is about HTTP requests; Socket Mode has no signatures or headers")

    def envelope(self, envelope_type: str, payload: Any, **kw: Any) -> Reply:
        """Send ``payload`` in an envelope of ``envelope_type`` (see :meth:`SocketModeEndpoint.send`)."""
        self._refuse_http_only(kw)
        ack = self.endpoint.send(envelope_type, payload, timeout=self.ack_timeout, **kw)
        if ack is None:
            return Reply(NOT_ACKNOWLEDGED, Headers(), b"")
        if ack.get("payload") is None:
            return Reply(200, Headers(), b"")
        return Reply(200, Headers({"Content-Type": JSON}), json.dumps(ack["payload"]).encode("utf-8"))

    def send(self, body: bytes, content_type: str, **kw: Any) -> Reply:
        """What Slack would have POSTed as ``body``, sent as the envelope Slack sends instead."""
        self._refuse_http_only(kw)
        return self.envelope(*socket_payload(body, content_type), **kw)

    def _builder_kw(self, kw: dict[str, Any]) -> dict[str, Any]:
        self._refuse_http_only(kw)
        return kw

    def command(self, text: str, **kw: Any) -> Reply:
        return self.send(*command_body(text, **self._builder_kw(with_trigger(kw, self.triggers))))

    def click(self, action_id: str, value: str | None, **kw: Any) -> Reply:
        return self.send(*action_body(action_id, value, **self._builder_kw(with_trigger(kw, self.triggers))))

    def submit(self, callback_id: str, values: dict[str, Any], **kw: Any) -> Reply:
        kw = self._builder_kw(with_trigger(kw, self.triggers))
        return self.send(*view_submission_body(callback_id, values, **kw))

    def event(
        self, event: dict[str, Any], *, retry_attempt: int | None = None, retry_reason: str | None = None, **kw: Any
    ) -> Reply:
        body = event_body(event, **self._builder_kw(kw))
        return self.send(*body, retry_attempt=retry_attempt, retry_reason=retry_reason)
