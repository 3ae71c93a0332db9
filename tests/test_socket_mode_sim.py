"""The Socket Mode stand-in itself: Slack's envelopes and hello, acks routed to the right sender, timeouts.

A bare Bolt app behind Bolt's own SocketModeHandler is the client, so the shapes are checked against the
code that reads them in production.
"""

from __future__ import annotations

import json
import threading

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from websockets.sync.client import connect

from bot.localslack.signed import FORM, JSON, url_verification_body
from tests.support.constants import APP_TOKEN
from tests.support.socket_mode_sim import NOT_ACKNOWLEDGED, SocketModeSim, socket_payload
from tests.support.waiting import eventually


@pytest.fixture
def bolt(stub, socket_endpoint):
    """A bare Bolt app connected over Socket Mode; ``seen`` records what its listeners got."""
    app = App(
        client=WebClient(token="xoxb-1", base_url=stub.url),
        signing_secret="unused",
        token_verification_enabled=False,
        request_verification_enabled=False,
    )
    seen: dict = {}  # what each listener got, noted before its own ack

    @app.command("/coprod")
    def on_command(ack, command):
        seen["command"] = command
        ack(text=f"you said {command['text']}")

    @app.action("go")
    def on_action(ack, body):
        seen["action"] = body
        ack()

    @app.action("broken")
    def on_broken(ack):
        raise RuntimeError("no ack from this one")

    @app.view("survey")
    def on_view(ack, view):
        ack(response_action="errors", errors={"b1": f"not {view['private_metadata']}"})

    @app.event("app_home_opened")
    def on_event(ack, body, request):
        seen.setdefault("events", []).append((body["event_id"], request.headers.get("x-slack-retry-num")))
        ack()

    handler = SocketModeHandler(app, APP_TOKEN)
    handler.connect()
    socket_endpoint.wait_connected()
    yield SocketModeSim(socket_endpoint), seen
    with socket_endpoint.pinging():
        handler.close()


def test_each_kind_of_request_arrives_as_slacks_envelope_and_its_ack_comes_back(bolt, socket_endpoint):
    sim, seen = bolt
    reply = sim.command("status", user="U7", response_url="http://127.0.0.1:9/r")
    assert reply.acknowledged and reply.json() == {"text": "you said status"}
    envelope = socket_endpoint.sent[-1]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("slash_commands", True)
    assert envelope["payload"]["user_id"] == "U7" and envelope["payload"]["is_enterprise_install"] == "false"
    assert seen["command"]["response_url"] == "http://127.0.0.1:9/r"

    reply = sim.click("go", "42", user="U3")
    assert (reply.status, reply.body) == (200, b"")  # a bare ack: no payload
    envelope = socket_endpoint.sent[-1]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("interactive", False)
    assert seen["action"]["actions"][0]["value"] == "42" and seen["action"]["user"]["id"] == "U3"

    reply = sim.submit("survey", {"b1": "hi"}, private_metadata="m")
    assert reply.json() == {"response_action": "errors", "errors": {"b1": "not m"}}
    assert socket_endpoint.sent[-1]["accepts_response_payload"] is True

    assert sim.event({"type": "app_home_opened", "user": "U3", "tab": "home"}, event_id="Ev1").acknowledged
    assert sim.event(
        {"type": "app_home_opened", "user": "U3", "tab": "home"},
        event_id="Ev1",
        retry_attempt=1,
        retry_reason="http_timeout",
    ).acknowledged
    first, retry = socket_endpoint.sent[-2:]
    assert (first["type"], first["retry_attempt"], first["retry_reason"]) == ("events_api", 0, "")
    assert (retry["retry_attempt"], retry["retry_reason"]) == (1, "http_timeout")
    # Bolt acknowledges an event before its listener runs (events are auto-acknowledged): wait for the listener.
    assert eventually(lambda: len(seen.get("events", [])) == 2, what="the listener to see both events")
    assert seen["events"] == [("Ev1", ["0"]), ("Ev1", ["1"])]


def test_concurrent_senders_each_get_their_own_ack(bolt):
    sim, _ = bolt
    replies: dict[int, object] = {}

    def ask(n: int) -> None:
        replies[n] = sim.command(f"n{n}")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {n: r.json()["text"] for n, r in replies.items()} == {n: f"you said n{n}" for n in range(30)}


def test_no_ack_in_time_is_a_504_with_no_body(bolt, socket_endpoint):
    sim, _ = bolt
    reply = SocketModeSim(socket_endpoint, ack_timeout=0.5).click("broken", "1")
    assert (reply.status, reply.body, reply.acknowledged) == (NOT_ACKNOWLEDGED, b"", False)


@pytest.mark.parametrize("kw", [{"bad_signature": True}, {"timestamp": 1}, {"headers": {"X-Slack-Signature": ""}}])
def test_http_only_arguments_are_refused(bolt, kw):
    sim, _ = bolt
    with pytest.raises(TypeError):
        sim.command("status", **kw)


def test_bodies_slack_could_not_send_over_socket_mode_are_refused():
    with pytest.raises(ValueError):
        socket_payload(*url_verification_body("c"))
    with pytest.raises(ValueError):
        socket_payload(b"{", JSON)
    with pytest.raises(ValueError):
        socket_payload(b"payload=%7Bbroken", FORM)
    assert socket_payload(b'{"type": "event_callback"}', JSON) == ("events_api", {"type": "event_callback"})


def test_every_connection_is_greeted_with_hello(socket_endpoint):
    with connect(socket_endpoint.url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        socket_endpoint.wait_connected()
    assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A1"}
    assert hello["num_connections"] == 1 and socket_endpoint.connections == 1
