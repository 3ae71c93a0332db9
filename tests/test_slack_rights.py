"""Who may change a partnership: coordinators, workspace admins, people added; everyone else is refused
politely on every path (slash command, App Home button), and unsigned or stale requests get nowhere."""

from __future__ import annotations

import time

import pytest

from tests.support.blockkit import slack_calls
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, post_checkin, rate
from tests.support.stored import store_state

SETUP = "schedule checkins weekly Tuesday 10:00"

COORDINATOR_ONLY = [
    "schedule checkins weekly Friday 10:00",
    "schedule summary monthly Friday 15:00",
    "schedule checkins off",
    "meeting every Wednesday 14:00 remind 30",
    "meeting off",
    "coordinators add <@U3>",
    "coordinators remove <@U1>",
    "role <@U3> carer",
    "next power-imbalances",
    "timezone Europe/Paris",
    "retention 24",
    "export",
]


@pytest.fixture
def configured(bot):
    """A partnership U1 set up, with a check-in answered, a meeting and a role, so there is state to guard."""
    ask(bot, SETUP)
    ask(bot, "meeting every Thursday 11:00")
    ask(bot, "role <@U2> researcher")
    rate(bot, post_checkin(bot).id, 4, "U2")
    bot.stub.wait_for("chat.update")
    return bot


def file_calls(bot) -> list:
    return [c for c in bot.stub.calls if c.method.startswith("files.") or c.method == "file_upload"]


@pytest.mark.parametrize("text", COORDINATOR_ONLY)
def test_non_coordinator_is_refused_politely_and_nothing_changes(configured, text):
    """A member who isn't a coordinator gets a private refusal naming who can do it; nothing is stored or sent."""
    bot = configured
    before, posts_before = store_state(bot), len(bot.stub.calls_to("chat.postMessage"))
    answer = ask(bot, text, user="U2")
    assert answer["response_type"] == "ephemeral"
    assert "Sorry, only coordinators can" in answer["text"]
    assert "<@U1>" in answer["text"]
    assert "/coprod coordinators add" in answer["text"]
    assert store_state(bot) == before
    assert len(bot.stub.calls_to("chat.postMessage")) == posts_before
    assert file_calls(bot) == []
    assert bot.stub.calls_to("conversations.open") == []


def test_refusal_asks_slack_whether_the_person_is_an_admin(configured):
    """Before refusing, coprod asks users.info about the person (they may be a workspace admin)."""
    bot = configured
    ask(bot, "timezone Europe/Paris", user="U3")
    assert "U3" in [c.args["user"] for c in bot.stub.calls_to("users.info")]


@pytest.mark.parametrize(
    "text",
    [
        "schedule summary monthly Friday 15:00",
        "timezone Europe/Paris",
        "retention 24",
        "coordinators add <@U3>",
        "role <@U3> carer",
        "next power-imbalances",
    ],
)
def test_workspace_admin_who_is_not_a_coordinator_is_allowed(configured, text):
    """A workspace admin (users.info says is_admin) may change settings without being added first."""
    bot = configured
    before = store_state(bot)
    answer = ask(bot, text, user=ADMIN)
    assert "Sorry" not in answer["text"]
    assert store_state(bot) != before
    assert ADMIN not in bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL))
    assert ADMIN in [c.args["user"] for c in bot.stub.calls_to("users.info")]


def test_workspace_owner_is_allowed_too(configured):
    """Owners count like admins."""
    bot = configured
    bot.stub.add_user("UOWNER", is_owner=True)
    ask(bot, "timezone Asia/Tokyo", user="UOWNER")
    assert bot.store.partnerships.get(TEAM, CHANNEL).timezone == "Asia/Tokyo"


def test_workspace_admin_may_export(configured):
    """Admins may export; the file goes to the admin's own DM."""
    bot = configured
    answer = ask(bot, "export", user=ADMIN)
    assert "sent you the export" in answer["text"]
    [done] = bot.stub.wait_for("files.completeUploadExternal")
    assert done.args["channel_id"] == "D" + ADMIN


def test_someone_added_as_coordinator_is_allowed(configured):
    """After `coordinators add <@U2>`, U2's settings changes go through."""
    bot = configured
    ask(bot, "timezone Europe/Paris", user="U2")
    assert bot.store.partnerships.get(TEAM, CHANNEL).timezone == "Europe/London"
    ask(bot, "coordinators add <@U2>")
    answer = ask(bot, "timezone Europe/Paris", user="U2")
    assert "Europe/Paris" in answer["text"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).timezone == "Europe/Paris"


def test_someone_removed_as_coordinator_is_refused_again(configured):
    """Coordinator rights can be handed over: once removed, U1 is refused like any member."""
    bot = configured
    ask(bot, "coordinators add <@U2>")
    ask(bot, f"coordinators remove <@{COORDINATOR}>", user="U2")
    assert bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL)) == ["U2"]
    answer = ask(bot, "timezone Europe/Paris")
    assert "Sorry, only coordinators" in answer["text"] and "<@U2>" in answer["text"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).timezone == "Europe/London"


@pytest.mark.parametrize("action_id", ["home_checkin", "home_summary"])
def test_forged_app_home_button_from_a_member_posts_nothing(configured, action_id):
    """An App Home button payload sent by a non-coordinator posts nothing to the channel; they get a refusal DM."""
    bot = configured
    before, channel_posts = store_state(bot), len(bot.stub.calls_to("chat.postMessage"))
    reply = bot.slack.click(action_id, CHANNEL, container_type="view", user="U3")
    assert reply.status == 200
    [dm] = bot.stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "U3")
    assert "Sorry, only coordinators" in dm.args["text"] and "<@U1>" in dm.args["text"]
    to_channel = [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert len(to_channel) == channel_posts
    assert store_state(bot) == before


@pytest.mark.parametrize(("action_id", "expect"), [("home_checkin", "Check-in"), ("home_summary", "neglected")])
def test_app_home_button_from_a_coordinator_posts_to_the_channel(configured, action_id, expect):
    """The same button from the coordinator does post (so the refusal above is about rights, not breakage)."""
    bot = configured
    bot.slack.click(action_id, CHANNEL, container_type="view", user=COORDINATOR)
    calls = bot.stub.wait_for("chat.postMessage", count=2, where=lambda c: c.args["channel"] == CHANNEL)
    assert expect in str(calls[-1].args.get("blocks", ""))


def test_app_home_button_for_an_unknown_channel_does_nothing(configured):
    """A forged button naming a channel coprod doesn't serve posts nowhere and sets nothing up."""
    bot = configured
    bot.slack.click("home_checkin", "C999", container_type="view", user=COORDINATOR)
    bot.drain()  # the click's follow-up has finished
    assert [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] != CHANNEL] == []
    assert bot.store.partnerships.get(TEAM, "C999") is None


@pytest.mark.parametrize("kind", ["command", "click"])
def test_bad_signature_is_rejected_and_nothing_is_stored(http_bot, kind):
    """A request not signed with the signing secret gets 401 and changes nothing."""
    bot = http_bot
    if kind == "command":
        reply = bot.command(SETUP, bad_signature=True)
    else:
        reply = bot.slack.click("home_checkin", CHANNEL, container_type="view", bad_signature=True)
    assert reply.status == 401
    assert bot.store.partnerships.in_workspace(TEAM) == []
    assert slack_calls(bot.stub) == []


@pytest.mark.parametrize("age", [301, 3600])
def test_stale_timestamp_is_rejected(http_bot, age):
    """A correctly signed request older than five minutes (a replay) gets 401 and changes nothing."""
    bot = http_bot
    reply = bot.command(SETUP, timestamp=int(time.time()) - age)
    assert reply.status == 401
    assert bot.store.partnerships.in_workspace(TEAM) == []


def test_fresh_timestamp_within_five_minutes_is_accepted(http_bot):
    """Slack's clock may be a little off: a request signed four minutes ago is still served."""
    reply = http_bot.command("help", timestamp=int(time.time()) - 240)
    assert reply.status == 200


def test_a_double_click_on_an_app_home_button_posts_once(configured):
    """Two quick clicks on "Ask a check-in now" post one check-in."""
    bot = configured
    before = len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL])
    for _ in range(2):
        bot.slack.click("home_checkin", CHANNEL, container_type="view", user=COORDINATOR)
    bot.drain()  # both clicks' follow-ups have finished
    after = [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert len(after) == before + 1


def test_a_body_over_one_mebibyte_is_refused_unread(http_bot):
    """Nobody can make coprod read a huge body: a declared length over 1 MiB gets a 413 before any of it is sent."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", http_bot.runtime.port, timeout=10)
    try:
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(2 * 1024 * 1024))
        conn.endheaders()  # headers only: the body is never sent
        assert conn.getresponse().status == 413
    finally:
        conn.close()
