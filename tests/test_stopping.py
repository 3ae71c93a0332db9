"""Stopping during a batch of scheduled posts, and Slack's 429s, per workspace.

SIGTERM ends `coprod run` (both Slack modes) without waiting for Slack: claims whose post never began are
given back, posts still waiting on Slack are left as failed attempts, and the next start posts every
check-in exactly once, looking in the channel first for those an attempt may have made. How long stopping
takes is measured in bench/stop_bench.py (speed targets live there); these tests only keep themselves from
hanging.
"""

from __future__ import annotations

import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.runtime.jobs import POST_WORKERS, POSTS_PER_WORKSPACE
from bot.runtime.run import Runtime
from bot.store import Store
from tests.support.blockkit import checkin_posts
from tests.support.constants import APP_TOKEN, CHANNEL, MEMBERS, MODES, SECRET, TEAM
from tests.support.flows import configure
from tests.support.running import coprod_process, free_port, make_settings, wait_healthy
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeEndpoint
from tests.support.waiting import eventually

# Twelve workspaces, three channels each: 36 check-ins due at once, three at a time per workspace, on 32
# post threads (so four wait, handed over but not begun).
WORKSPACES = tuple(f"T0STOP{letter}" for letter in "ABCDEFGHIJKL")
PER_WORKSPACE = 3
CHECKINS = len(WORKSPACES) * PER_WORKSPACE
# Generous bounds that only keep a broken test from hanging (the 10 s target is the bench's).
EXIT_BOUND = 25.0
POSTED_BOUND = 40.0


def seed_due_checkins(db: Path, now: datetime) -> list[str]:
    """A weekly check-in due two minutes ago in every channel of every workspace; the channels."""
    due = now - timedelta(minutes=2)
    set_at = int((due - timedelta(hours=1)).timestamp())
    store = Store.open(db)
    channels = []
    try:
        for team in WORKSPACES:
            for n in range(PER_WORKSPACE):
                channel = f"C{team[-1]}{n}"
                p = store.partnerships.ensure(team, channel, timezone="UTC", created_by="U1", now=set_at)
                store.partnerships.set_schedule(
                    p,
                    kind="checkins",
                    cadence="weekly",
                    weekday=due.weekday(),
                    at_minute=due.hour * 60 + due.minute,
                    anchor=due.date().isoformat(),
                    set_by="U1",
                    now=set_at,
                )
                channels.append(channel)
    finally:
        store.close()
    return channels


class Coprod:
    """`coprod run` as a process against the stub, over HTTP or in Socket Mode."""

    def __init__(self, mode: str, tmp_path: Path, stub: SlackStub, endpoint: SocketModeEndpoint | None):
        self.mode, self.tmp_path, self.stub, self.endpoint = mode, tmp_path, stub, endpoint
        self.env = {
            "SLACK_BOT_TOKEN": "xoxb-stop-test",
            "SLACK_API_URL": stub.url,
            "COPROD_DB": str(tmp_path / "c.db"),
            "COPROD_TICK_SECONDS": "1",
        }
        if mode == "http":
            self.env |= {"SLACK_SIGNING_SECRET": SECRET, "PORT": str(free_port())}
        else:
            self.env["SLACK_APP_TOKEN"] = APP_TOKEN

    def start(self):
        args = ["run", "--http"] if self.mode == "http" else ["run"]
        proc = coprod_process(args, self.env, self.tmp_path)
        if self.mode == "http":
            wait_healthy(int(self.env["PORT"]), proc)
        else:
            assert self.endpoint is not None
            self.endpoint.wait_connected(15)
        return proc


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def endpoint(mode, stub):
    if mode == "http":
        yield None
        return
    with SocketModeEndpoint() as endpoint:
        stub.socket_mode_url = endpoint.url
        yield endpoint


def test_sigterm_during_a_batch_exits_cleanly_and_the_restart_posts_each_checkin_once(mode, endpoint, tmp_path):
    """36 check-ins fall due across twelve workspaces while Slack never answers a post (half of them it has
    made, half not): SIGTERM with 32 posts stuck in Slack and four not begun. coprod exits 0 saying what it
    left; started again, it posts the four given back, finds the made ones in their channel and posts the
    others, so every channel has its check-in exactly once."""
    with SlackStub() as stub:
        if endpoint is not None:
            stub.socket_mode_url = endpoint.url
        channels = seed_due_checkins(tmp_path / "c.db", datetime.now(UTC))
        releases = []
        for n, channel in enumerate(channels):
            stub.add_channel(channel, [*MEMBERS, "UBOT"], name=channel.lower())
            releases.append(stub.hold("chat.postMessage", accepted=n % 2 == 0, channel=channel))
        coprod = Coprod(mode, tmp_path, stub, endpoint)
        proc = coprod.start()
        try:
            stub.wait_for("chat.postMessage", count=POST_WORKERS, timeout=POSTED_BOUND)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=EXIT_BOUND)
            # Exited while Slack still held every one of those posts unanswered.
            assert not any(release.is_set() for release in releases)
        finally:
            for release in releases:
                release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        [stopped] = [line for line in err.splitlines() if "coprod stopped" in line]
        made = sum(len(checkins_in(stub, c)) for c in channels)  # the held posts Slack carried out
        begun = f"{CHECKINS - POST_WORKERS} scheduled posts not yet begun and {POST_WORKERS} still waiting for Slack"
        assert f"left for the next start: {begun}" in stopped, stopped

        held = {c.args["channel"] for c in stub.calls_to("chat.postMessage")}  # the posts Slack held
        assert len(held) == POST_WORKERS, held
        stub.reset()  # Slack answers as usual from now on (the messages it made stay in their channels)
        again = coprod.start()
        try:
            assert eventually(lambda: all(checkins_in(stub, c) for c in channels), POSTED_BOUND, interval=0.2)
            store = Store.open(tmp_path / "c.db")
            try:
                assert eventually(lambda: _statuses(store) == {"posted"}, POSTED_BOUND), _statuses(store)
            finally:
                store.close()
        finally:
            again.send_signal(signal.SIGTERM)
            _, err = again.communicate(timeout=EXIT_BOUND)
        assert again.returncode == 0, err
        assert {c: len(checkins_in(stub, c)) for c in channels} == dict.fromkeys(channels, 1)
        # Only the posts that may have reached Slack were looked for in their channel, and only those it had
        # not made were posted again.
        # (A post of the restart whose answer was lost on the way, which a loaded machine can do, may have
        # reached Slack too: coprod says so, and looks for it as well.)
        looked = [c.args["channel"] for c in stub.calls_to("conversations.history")]
        lost = set(re.findall(r"a post in channel (\S+) was lost", err))
        assert len(looked) == len(set(looked)) == POST_WORKERS + len(lost - held), (looked, lost)
        assert held <= set(looked), (held, looked)
        posted = [c.args["channel"] for c in stub.calls_to("chat.postMessage")]
        assert len(posted) == len(set(posted)) == CHECKINS - made, posted
        # The bot's own user id was asked of Slack at most once per workspace (and, in Socket Mode, checking
        # the token at start), not once per post.
        assert 0 < len(stub.calls_to("auth.test")) <= len(WORKSPACES) + (mode == "socket")


def checkins_in(stub: SlackStub, channel: str) -> list[dict]:
    """The check-ins in ``channel``'s history, as Slack keeps it."""
    return [
        m
        for m in stub.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == "coprod_post"
        and "/checkins/" in (m.get("metadata") or {}).get("event_payload", {}).get("claim", "")
    ]


def _statuses(store: Store) -> set[str]:
    return {r["status"] for r in store.db.query("SELECT status FROM posts WHERE kind = 'checkins'")}


def test_stopping_does_not_wait_for_a_post_slack_never_answers(bot, tmp_path, stub, clock):
    """A post Slack has made but not answered when coprod stops: stopping returns while Slack still holds it,
    leaving it for the next start, which finds the message in the channel and posts nothing more."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    release = stub.hold("chat.postMessage", accepted=True, channel=CHANNEL)
    clock.advance(hours=1)
    bot.runtime.dispatcher.tick(wait=False)
    stub.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL)
    try:
        stopped = bot.runtime.dispatcher.close(timeout=0.5)
        # Returned with the post still waiting on Slack: left as a failed attempt for the next start.
        p = bot.store.partnerships.get(TEAM, CHANNEL)
        assert [status for kind, _, status in bot.store.ledger.posts(p) if kind == "checkins"] == ["failed"]
        assert (stopped.given_back, stopped.under_way) == (0, 1)
        restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
        try:
            assert [f.status for f in restarted.dispatcher.tick()] == ["posted"]
        finally:
            restarted.stop()
    finally:
        release.set()
    assert len(checkin_posts(stub)) == 1
    assert [c.args["channel"] for c in stub.calls_to("conversations.history")] == [CHANNEL]


def test_a_429_for_one_workspace_holds_back_only_that_workspaces_posts(bot, stub, clock):
    """Slack answers one of workspace A's check-ins 429 (Retry-After 2 s): A's posts not yet begun wait it
    out, while workspace B's six check-ins all go out meanwhile; each channel gets its check-in once."""
    a, b = TEAM, "T0OTHER"
    a_channels, b_channels = [f"CA{n}" for n in range(6)], [f"CB{n}" for n in range(6)]
    for team, channels in ((a, a_channels), (b, b_channels)):
        for channel in channels:
            stub.add_channel(channel, [*MEMBERS, "UBOT"], name=channel.lower())
            configure_in(bot, team, channel)
    stub.rate_limit("chat.postMessage", retry_after=2, channel=a_channels[0])
    for channel in a_channels[1:] + b_channels:
        stub.delay("chat.postMessage", 0.3, channel=channel)  # each post takes a moment, as Slack's do
    clock.advance(hours=1)
    fired = bot.tick()
    assert sorted((f.team, f.status) for f in fired) == sorted([(a, "posted")] * 6 + [(b, "posted")] * 6)
    [limited] = [c for c in stub.calls_to("chat.postMessage") if c.status == 429]
    posts = {c.args["channel"]: c.time for c in stub.calls_to("chat.postMessage") if c.status == 200}
    resumed = limited.time + 2  # when Slack let A post again
    assert posts[limited.args["channel"]] >= resumed  # the call itself waited it out (slack-sdk's handler)
    # A's posts already under way beside it went on; none of A's others began before it was over ...
    early = [c for c in a_channels if c != limited.args["channel"] and posts[c] < resumed]
    assert len(early) <= POSTS_PER_WORKSPACE - 1, early
    # ... while every one of B's went out meanwhile.
    assert all(posts[c] < resumed for c in b_channels)
    assert all(len(checkin_posts(stub, c)) == 1 for c in a_channels + b_channels)


def configure_in(bot, team: str, channel: str) -> None:
    """A weekly Tuesday 10:00 check-in in ``channel`` of ``team``, set by its coordinator."""
    if team == TEAM:
        configure(bot, "schedule checkins weekly Tuesday 10:00", channel=channel)
        return
    reply = bot.command("schedule checkins weekly Tuesday 10:00", channel=channel, team=team)
    assert reply.status == 200, reply.text
    bot.drain()
    p = bot.store.partnerships.get(team, channel)
    assert p is not None and "checkins" in bot.store.partnerships.schedules(p)
