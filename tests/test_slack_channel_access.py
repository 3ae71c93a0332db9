"""Channels coprod can't post in: a schedule set there is refused at once, saying what to do, and a Slack error
that stops every later post pauses the schedules and says so once, in plain words.

The errors are chat.postMessage's (https://docs.slack.dev/reference/methods/chat.postMessage); membership
is conversations.info's ``is_member`` (https://docs.slack.dev/reference/methods/conversations.info).
"""

from __future__ import annotations

import pytest

from tests.support.blockkit import checkin_posts
from tests.support.constants import ADMIN, BOT_USER, CHANNEL, COORDINATOR, MEMBERS, TEAM
from tests.support.flows import ask, configure

# ---- a schedule where coprod isn't ------------------------------------------------------------------


def test_a_schedule_in_a_channel_coprod_isnt_in_asks_to_be_invited_and_changes_nothing(bot):
    """`/coprod schedule …` in a channel coprod was never invited to: "invite me first", at once, and no
    partnership or schedule is made."""
    bot.stub.add_channel("C9", [*MEMBERS], name="elsewhere")
    answer = ask(bot, "schedule checkins weekly Tuesday 10:00", channel="C9")
    assert "invite me first" in answer["text"] and "/invite @coprod" in answer["text"]
    assert "All set" not in answer["text"]
    assert bot.store.partnerships.get(TEAM, "C9") is None
    assert bot.stub.calls_to("chat.postMessage") == []


def test_a_schedule_after_coprod_was_removed_from_the_channel_changes_nothing(bot):
    """coprod was removed from a set-up channel: a new schedule or meeting there is refused, and the schedules
    already set stay as they were (not paused, not changed)."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    before = bot.store.partnerships.schedules(p)
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN], name="partnership")  # coprod is no longer a member
    for text in ("schedule summary weekly Friday 15:00", "meeting every Wednesday 14:00 remind 30"):
        answer = ask(bot, text)
        assert "invite me first" in answer["text"], answer
    assert bot.store.partnerships.schedules(p) == before
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason is None


def test_a_private_channel_coprod_isnt_in_is_refused_too(bot):
    """A private channel coprod isn't in is `channel_not_found` to it: the same "invite me first"."""
    answer = ask(bot, "schedule checkins weekly Tuesday 10:00", channel="GSECRET")
    assert "invite me first" in answer["text"]
    assert bot.store.partnerships.get(TEAM, "GSECRET") is None


def test_a_schedule_where_coprod_is_a_member_is_set(bot):
    """The check asks Slack once and lets a schedule in a channel coprod is in through."""
    bot.stub.add_channel("C9", [*MEMBERS, BOT_USER], name="elsewhere")
    assert configure(bot, "schedule checkins weekly Tuesday 10:00", channel="C9").startswith("All set")
    [look] = [c for c in bot.stub.calls_to("conversations.info") if c.args.get("channel") == "C9"]
    assert look.status == 200


# ---- errors that stop every later post --------------------------------------------------------------

TOLD = {
    "missing_scope": "install",
    "team_access_not_granted": "install",
    "restricted_action": "channel manager",
    "restricted_action_read_only_channel": "channel manager",
    "restricted_action_thread_only_channel": "channel manager",
    "restricted_action_non_threadable_channel": "channel manager",
}


def dms_to_coordinator(bot) -> list:
    return [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == COORDINATOR]


@pytest.mark.parametrize("error", TOLD)
def test_an_error_that_stops_every_post_pauses_and_tells_a_coordinator_once(bot, error):
    """A missing permission, a workspace without access, a channel closed to coprod's posts: the schedules
    pause, and a coordinator is told once what to do, in plain words (never Slack's error code)."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.fail("chat.postMessage", error, channel=CHANNEL)
    bot.clock.advance(hours=1)
    assert [f.status for f in bot.tick()] == ["failed"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == error
    [told] = dms_to_coordinator(bot)
    assert "paused" in told.args["text"] and TOLD[error] in told.args["text"]
    assert error not in told.args["text"]
    bot.clock.advance(weeks=1)
    assert bot.tick() == []
    assert checkin_posts(bot.stub) == [] and len(dms_to_coordinator(bot)) == 1


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked"])
def test_a_dead_token_pauses_without_a_dm_and_the_next_command_says_so(bot, error):
    """A token Slack no longer takes can DM nobody: the schedules pause (logged), and whoever next uses
    `/coprod` in the channel reads why and what to do; setting the schedule again starts it afresh."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.fail("chat.postMessage", error, channel=CHANNEL)
    bot.clock.advance(hours=1)
    assert [f.status for f in bot.tick()] == ["failed"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == error
    assert dms_to_coordinator(bot) == []
    answer = configure(bot, "timezone Europe/London")
    assert "paused" in answer and "install" in answer and answer.endswith("Europe/London.")
    bot.clock.advance(weeks=1)
    assert bot.tick() == []
    assert "paused" not in configure(bot, "schedule checkins weekly Tuesday 10:00")
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason is None


def test_a_schedule_with_a_token_slack_no_longer_takes_says_to_install_again(bot):
    """The membership check answered `token_revoked`: nothing is set, and the answer says what to do."""
    bot.stub.add_channel("C9", [*MEMBERS, BOT_USER], name="elsewhere")
    bot.stub.fail("conversations.info", "token_revoked")
    answer = ask(bot, "schedule checkins weekly Tuesday 10:00", channel="C9")
    assert "changed nothing" in answer["text"] and "install" in answer["text"]
    assert bot.store.partnerships.get(TEAM, "C9") is None


def test_a_membership_check_slack_cant_answer_does_not_stop_the_schedule(bot):
    """Without channels:read the check can't tell: the schedule is set (a post that fails later pauses it)."""
    bot.stub.fail("conversations.info", "missing_scope")
    assert configure(bot, "schedule checkins weekly Tuesday 10:00").startswith("All set")
