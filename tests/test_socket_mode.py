"""`coprod run` in Socket Mode, the README's default: no public URL; Slack's WebSocket is stood in for on loopback.

The process is started exactly as the README's Run it starts it (`python -m bot run` with SLACK_APP_TOKEN
set); everything it does after an acknowledgement must happen in this mode too.
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from tests.support.blockkit import checkin_id_of, checkin_posts, is_checkin_post
from tests.support.constants import APP_TOKEN, BOT_USER, CHANNEL, COORDINATOR, TEAM
from tests.support.running import coprod_process
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeEndpoint, SocketModeSim
from tests.support.stored import rows

ANN, BOB = COORDINATOR, "U2"


@pytest.fixture
def running(tmp_path):
    """`coprod run` in Socket Mode against the stub and the WebSocket endpoint; SIGTERM on the way out."""
    with SlackStub() as stub, SocketModeEndpoint() as endpoint:
        stub.add_user(ANN, tz="Europe/London", name="ann")
        stub.add_user(BOB, tz="Europe/London", name="bob")
        stub.add_channel(CHANNEL, [ANN, BOB, BOT_USER])
        stub.socket_mode_url = endpoint.url
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": stub.url,
            "COPROD_DB": str(tmp_path / "coprod.db"),
        }
        proc = coprod_process(["run"], env, tmp_path)
        try:
            endpoint.wait_connected(timeout=30)
            yield proc, stub, SocketModeSim(endpoint, triggers=stub.trigger), tmp_path / "coprod.db"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err


def test_socket_mode_walks_the_whole_loop(running):
    """First command in a new channel, check-in, rating, comment, summary, We met, forget-me and App Home,
    all through `coprod run` in Socket Mode, each with what it should leave in Slack and in the database."""
    proc, stub, slack, db = running

    # The first command in a channel nobody set up: coprod must ask Slack who Ann is (after the ack).
    reply = slack.command("checkin", user=ANN, channel=CHANNEL, response_url=stub.response_url("first"))
    assert reply.acknowledged
    [posted] = stub.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL, timeout=10)
    assert stub.calls_to("users.info")
    assert rows(db, "SELECT team_id, channel_id, timezone FROM partnerships") == [(TEAM, CHANNEL, "Europe/London")]
    checkin = checkin_id_of(posted)

    # A rating click is stored before the ack, and confirmed privately afterwards.
    reply = slack.click(
        "rate:4", "4", block_id=f"checkin:{checkin}", user=BOB, channel=CHANNEL, response_url=stub.response_url("rate")
    )
    assert reply.acknowledged
    assert rows(db, "SELECT rating FROM responses WHERE checkin_id = ?", checkin) == [(4,)]
    [thanks] = stub.wait_for("response_url", where=lambda c: c.args.get("_key") == "rate", timeout=10)
    assert "Thank you" in thanks.args["text"]

    # The comment modal opens after the click and saves on submit.
    assert slack.click("comment", None, block_id=f"checkin:{checkin}", user=BOB, channel=CHANNEL).acknowledged
    [opened] = stub.wait_for("views.open", timeout=10)
    reply = slack.submit(
        "comment",
        {"comment": "We could meet somewhere quieter"},
        user=BOB,
        private_metadata=opened.json("view")["private_metadata"],
    )
    assert reply.json()["response_action"] == "update"
    assert rows(db, "SELECT rating, comment FROM responses WHERE checkin_id = ?", checkin) == [
        (4, "We could meet somewhere quieter")
    ]

    # /coprod summary arrives (inside the ack: nothing needs asking of Slack).
    reply = slack.command("summary", user=ANN, channel=CHANNEL)
    assert "Individual" in json.dumps(reply.json())

    # "We met" on a reminder logs today's meeting and updates the reminder.
    today = datetime.now(UTC).date().isoformat()
    # The reminder is a message in the channel (Slack updates only a message it has).
    reminder = WebClient(token="xoxb-1", base_url=stub.url).chat_postMessage(channel=CHANNEL, text="Meeting today")
    assert slack.click("met", today, user=ANN, channel=CHANNEL, message_ts=reminder["ts"]).acknowledged
    [logged] = stub.wait_for("chat.update", where=lambda c: c.args.get("text") == "Meeting logged", timeout=10)
    assert logged.args["ts"] == reminder["ts"] and logged.response["ok"]
    assert rows(db, "SELECT held_on FROM meetings") == [(today,)]

    # App Home is published when opened.
    assert slack.event(
        {"type": "app_home_opened", "user": BOB, "channel": "D2", "tab": "home", "event_ts": "1.0"}, event_id="Ev-home"
    ).acknowledged
    [home] = stub.wait_for("views.publish", timeout=10)
    assert home.args["user_id"] == BOB

    # forget-me, with its confirmation, erases Bob's answer.
    reply = slack.command("forget-me", user=BOB, channel=CHANNEL)
    assert "Erase" in reply.json()["text"]
    reply = slack.click("forget_me_confirm", "yes", user=BOB, channel=CHANNEL, response_url=stub.response_url("gone"))
    assert reply.acknowledged
    stub.wait_for("response_url", where=lambda c: c.args.get("_key") == "gone", timeout=10)
    assert rows(db, "SELECT COUNT(*) FROM responses") == [(0,)]


def test_ten_checkins_asked_a_second_apart_are_ten_posts(running):
    """Every /coprod checkin acknowledged in Socket Mode is posted: ten asked, ten posted, no more."""
    proc, stub, slack, db = running
    slacks_time = [1000.0]  # Slack's clock for its limits, moved a second per check-in (one post a second)
    stub.api.limits.clock = lambda: slacks_time[0]
    for n in range(10):
        assert slack.command("checkin", user=ANN, channel=CHANNEL, response_url=stub.response_url(f"c{n}")).acknowledged
        slacks_time[0] += 1.0
    stub.wait_for("chat.postMessage", count=10, where=is_checkin_post, timeout=10)
    # A clean stop finishes every acknowledged request's work first: a late eleventh post would be in by then.
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert len(checkin_posts(stub)) == 10
    assert rows(db, "SELECT COUNT(*) FROM checkins WHERE message_ts IS NOT NULL") == [(10,)]


def test_socket_mode_answers_a_slash_command_and_stops_on_sigterm(running):
    """With SLACK_APP_TOKEN set, coprod connects out (apps.connections.open), acks `/coprod help` with its
    help; the fixture checks it exits 0 on SIGTERM with no traceback."""
    proc, stub, slack, db = running
    reply = slack.command("help", user=ANN, channel=CHANNEL)
    assert "checkin" in json.dumps(reply.json())
    assert stub.calls_to("apps.connections.open")


@pytest.mark.parametrize(
    ("method", "error", "named", "says"),
    [
        ("apps.connections.open", "token_revoked", "SLACK_APP_TOKEN", "app-level token"),
        ("apps.connections.open", "invalid_auth", "SLACK_APP_TOKEN", "app-level token"),
        ("auth.test", "token_revoked", "SLACK_BOT_TOKEN", "Bot User OAuth Token"),
        ("auth.test", "invalid_auth", "SLACK_BOT_TOKEN", "Bot User OAuth Token"),
        ("apps.connections.open", "internal_error", "SLACK_APP_TOKEN", "try again"),
    ],
)
def test_a_token_slack_refuses_at_start_is_one_line_and_exit_2(tmp_path, method, error, named, says):
    """Issue 8: a revoked Socket Mode token gave a traceback. A token Slack refuses when coprod starts is one
    line naming the token and what to do, exit 2 (as for a wrong command line: the coordinator must change
    what they gave coprod), and nothing is posted."""
    with SlackStub() as stub, SocketModeEndpoint() as endpoint:
        stub.add_channel(CHANNEL, [ANN, BOT_USER])
        stub.socket_mode_url = endpoint.url
        stub.fail(method, error, times=5)
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": stub.url,
            "COPROD_DB": str(tmp_path / "coprod.db"),
        }
        proc = coprod_process(["run"], env, tmp_path)
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:  # still running: it took the refusal for a start
                proc.kill()
                proc.communicate()
        assert proc.returncode == 2, err
        assert "Traceback" not in err
        [line] = [line for line in err.splitlines() if line.startswith("coprod:")]
        assert named in line and error in line and says in line
        assert " ERROR " not in err
        assert not endpoint.connected
        assert stub.calls_to("chat.postMessage") == []


def test_slack_out_of_reach_at_start_in_socket_mode_is_one_line_and_exit_1(tmp_path):
    """Socket Mode needs Slack from the start: when it can't be reached, one line says so, exit 1."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "COPROD_DB": str(tmp_path / "coprod.db"),
    }
    proc = coprod_process(["run"], env, tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("coprod:")]
    assert "cannot reach Slack at http://127.0.0.1:9/api/" in line
