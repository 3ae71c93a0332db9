"""Fixtures for the Slack layer: a Slack stand-in on loopback, and coprod running for real.

coprod runs as it does in production (waitress on a real port, Bolt, a real SQLite file); only
Slack's Web API is replaced, by ``SlackStub``. Requests are signed with the signing secret exactly
as Slack signs them. Time comes from a clock the test moves by hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_requests import SlackClientSim
from slack_stub import SlackStub

from bot.runtime import Runtime
from bot.settings import Settings

SECRET = "test-signing-secret"
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
    slack: SlackClientSim
    stub: SlackStub
    clock: Clock

    @property
    def store(self):
        return self.runtime.store

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
def bot(tmp_path, stub, clock):
    runtime = Runtime(make_settings(tmp_path, stub), clock=clock)
    runtime.make_server(host="127.0.0.1", port=0)
    thread = threading.Thread(target=runtime.serve, daemon=True)
    thread.start()
    yield Bot(runtime, SlackClientSim(f"http://127.0.0.1:{runtime.port}/", SECRET), stub, clock)
    runtime.stop()
