"""Fixtures for the Slack layer: a Slack stand-in on loopback, and coprod running for real.

coprod runs as it does in production (Bolt, a real SQLite file); only Slack is replaced: its Web API by
``SlackStub``, and its side of the conversation by a sim. ``bot`` runs every test twice:

- ``http``: waitress on a real port; requests are signed with the signing secret exactly as Slack signs
  them (``SlackClientSim``).
- ``socket``: coprod connects out over a WebSocket to ``SocketModeEndpoint``, and each request arrives as a
  Socket Mode envelope (``SocketModeSim``).

``http_bot`` is the HTTP runner alone, for tests about the HTTP transport itself (signatures, body limits,
malformed bodies, URL verification). Time comes from a clock the test moves by hand.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_requests import SlackClientSim
from slack_stub import SlackStub
from socket_mode_sim import SocketModeEndpoint, SocketModeSim

from bot.runtime import Runtime
from bot.settings import Settings

SECRET = "test-signing-secret"
APP_TOKEN = "xapp-1-test"
MODES = ("http", "socket")
TEAM = "T1"
CHANNEL = "C1"
COORDINATOR = "U1"
MEMBERS = ("U1", "U2", "U3", "U4")
ADMIN = "UADMIN"
# Tuesday 24 November 2026, 09:00 UTC
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    """The time coprod sees; tests move it by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Bot:
    runtime: Runtime
    slack: SlackClientSim | SocketModeSim
    stub: SlackStub
    clock: Clock
    mode: str = "http"  # "http" | "socket"

    @property
    def store(self):
        return self.runtime.store

    def drain(self) -> None:
        """Wait until the work that follows acknowledgements has finished (delayed updates run at once),
        so a test can read what it did."""
        finished = self.runtime.drain()
        assert finished is not False, "the work that follows acknowledgements did not finish in time"

    def command(self, text: str, user: str = COORDINATOR, channel: str = CHANNEL, **kw):
        kw.setdefault("response_url", self.stub.response_url(f"cmd-{user}"))
        return self.slack.command(text, user=user, channel=channel, **kw)

    def tick(self):
        return self.runtime.dispatcher.tick()


def make_settings(tmp_path, stub: SlackStub, **extra: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": stub.url,
        "COPROD_DB": str(tmp_path / "coprod.db"),
        "PORT": "0",
        **extra,
    }
    return Settings.from_env(env)


@pytest.fixture
def stub():
    with SlackStub() as s:
        s.add_user(COORDINATOR, tz="Europe/London", name="ann")
        for user in MEMBERS[1:]:
            s.add_user(user, tz="Europe/London")
        s.add_user(ADMIN, tz="Europe/London", is_admin=True)
        s.add_user("UBOT", is_bot=True)
        s.add_channel(CHANNEL, [*MEMBERS, ADMIN, "UBOT"], name="partnership")
        yield s


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def socket_endpoint(stub):
    """Slack's Socket Mode endpoint on loopback; the stub's apps.connections.open hands out its URL."""
    with SocketModeEndpoint() as endpoint:
        stub.socket_mode_url = endpoint.url
        yield endpoint
        stub.socket_mode_url = None


@contextmanager
def running_bot(request, mode: str, tmp_path, stub: SlackStub, clock: Clock, **env: str) -> Iterator[Bot]:
    """coprod running in ``mode`` ("http" or "socket") against the stub, with ``env`` added to its settings;
    drained and stopped on the way out."""
    if mode == "http":
        runtime = Runtime(make_settings(tmp_path, stub, **env), clock=clock)
        runtime.make_server(host="127.0.0.1", port=0)
        threading.Thread(target=runtime.serve, daemon=True).start()
        slack: SlackClientSim | SocketModeSim = SlackClientSim(f"http://127.0.0.1:{runtime.port}/", SECRET)
        stopping = contextlib.nullcontext
    elif mode == "socket":
        endpoint = request.getfixturevalue("socket_endpoint")
        # As configured for Socket Mode: an app-level token and no signing secret.
        runtime = Runtime(
            make_settings(tmp_path, stub, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET="", **env), clock=clock
        )
        try:
            runtime.start_socket_mode()
            endpoint.wait_connected()
        except BaseException:
            runtime.stop()
            raise
        slack = SocketModeSim(endpoint)
        stopping = endpoint.pinging  # or the client's close waits out its 3 s read timeout
    else:
        raise ValueError(f"no such mode {mode!r}; one of {MODES}")
    running = Bot(runtime, slack, stub, clock, mode)
    try:
        yield running
    finally:
        try:
            running.drain()  # nothing queued after an ack may outlive the database
        finally:
            with stopping():
                runtime.stop()


@pytest.fixture(params=MODES)
def bot(request, tmp_path, stub, clock):
    """coprod in each Slack runner mode in turn: ``http`` and ``socket``."""
    with running_bot(request, request.param, tmp_path, stub, clock) as running:
        yield running


@pytest.fixture
def http_bot(request, tmp_path, stub, clock):
    """coprod behind its HTTP endpoint only, for tests about the HTTP transport itself."""
    with running_bot(request, "http", tmp_path, stub, clock) as running:
        yield running
