"""App Home: each partnership's levels, coverage, flags and what is next, with buttons for common actions."""

from __future__ import annotations

import json

import pytest

from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import configure, home_of, open_home, post_checkin


def texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view: dict) -> dict[str, str]:
    return {e["action_id"]: e.get("value", "") for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}


def level_lines(view: dict) -> list[str]:
    return [
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and "practices discussed" in b["text"]["text"]
    ]


def test_home_without_a_partnership_says_how_to_start(bot):
    """Someone whose channels don't use coprod yet is told how to begin."""
    view = open_home(bot)
    assert view["type"] == "home"
    assert "/invite @coprod" in texts(view)
    assert buttons(view) == {}


def test_home_lists_the_partnership_with_each_level_and_its_flags(bot):
    """The partnership channel, then each of the five levels with a coverage bar and its neglected reason."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    view = open_home(bot)
    assert f"<#{CHANNEL}>" in texts(view)
    lines = level_lines(view)
    names = ["Individual", "Group/interpersonal", "Organisational", "Societal", "Paradigmatic"]
    assert len(lines) == 5
    for name, line in zip(names, lines, strict=True):
        assert f"*{name}*" in line
        assert "▱" * 10 in line  # nothing discussed yet: an empty bar
        assert "neglected: not discussed yet" in line


def test_home_coverage_bar_fills_as_practices_are_discussed(bot):
    """After a check-in on an Individual practice its bar shows 1 of 6 discussed."""
    post_checkin(bot)
    view = open_home(bot)
    individual = level_lines(view)[0]
    assert "▰▰▱▱▱▱▱▱▱▱" in individual
    assert "1 of 6 practices discussed" in individual


def test_home_shows_next_checkin_summary_and_meeting_once_scheduled(bot):
    """Before schedules: "not set"; after them, each next time in the partnership's timezone."""
    post_checkin(bot)
    before = texts(open_home(bot))
    assert "Next check-in: not set" in before and "Next summary: not set" in before
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    configure(bot, "schedule summary monthly Friday 15:00")
    configure(bot, "meeting every Wednesday 14:00 remind 30")
    after = texts(open_home(bot))
    assert "Next check-in: Tue 24 Nov, 10:00" in after
    assert "Next summary: Fri 4 Dec, 15:00" in after
    assert "Next meeting reminder: Wed 25 Nov, 13:30" in after


@pytest.mark.parametrize(("user", "sees"), [(COORDINATOR, True), ("U2", False), (ADMIN, True)])
def test_only_coordinators_see_ask_a_checkin_now(bot, user, sees):
    """The coordinator (and a workspace admin) see "Ask a check-in now"; a member doesn't."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    view = open_home(bot, user)
    assert ("home_checkin" in buttons(view)) is sees
    assert ("Ask a check-in now" in texts(view)) is sees
    assert buttons(view)["reflexivity_off"] == CHANNEL  # everyone may stop their own prompts


def test_home_checkin_button_posts_a_checkin_and_republishes(bot):
    """A coordinator's "Ask a check-in now" posts a check-in in the channel and refreshes the Home tab."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    open_home(bot)
    reply = bot.slack.click("home_checkin", CHANNEL, container_type="view", user=COORDINATOR)
    assert reply.status == 200
    post = bot.stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == CHANNEL)[0]
    assert any(b["type"] == "actions" and b["block_id"].startswith("checkin:") for b in post.json("blocks"))
    view = home_of(bot, COORDINATOR, 2)
    assert "1 of 6 practices discussed" in level_lines(view)[0]


def test_home_checkin_from_a_member_is_refused_politely(bot):
    """A member who sends home_checkin anyway gets a DM naming the coordinators; nothing is posted."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    reply = bot.slack.click("home_checkin", CHANNEL, container_type="view", user="U2")
    assert reply.status == 200
    [dm] = bot.stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "U2")
    assert "only coordinators" in dm.args["text"] and f"<@{COORDINATOR}>" in dm.args["text"]
    assert not bot.stub.calls_to("chat.postMessage")[:-1]
    assert bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL)) == {}


def test_reflexivity_buttons_on_home_toggle_and_republish(bot):
    """ "Stop my reflection prompts" opts out and shows "Send me reflection prompts", which opts back in."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    assert "reflexivity_off" in buttons(open_home(bot, "U2"))
    bot.slack.click("reflexivity_off", CHANNEL, container_type="view", user="U2")
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(TEAM, CHANNEL)) == {"U2"}
    view = home_of(bot, "U2", 2)
    assert "reflexivity_on" in buttons(view) and "reflexivity_off" not in buttons(view)
    bot.slack.click("reflexivity_on", CHANNEL, container_type="view", user="U2")
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(TEAM, CHANNEL)) == set()
    assert "reflexivity_off" in buttons(home_of(bot, "U2", 3))


def test_reflexivity_toggle_for_an_unknown_channel_changes_nothing(bot):
    """A toggle naming a channel coprod doesn't serve is acknowledged and ignored."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    reply = bot.slack.click("reflexivity_off", "C999", container_type="view", user="U2")
    assert reply.status == 200
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(TEAM, CHANNEL)) == set()
    assert bot.store.partnerships.get(TEAM, "C999") is None


def test_home_says_when_a_partnerships_schedules_are_paused(bot):
    """A paused partnership shows its schedules as paused, and why, not as 'not set'."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.store.partnerships.set_paused(bot.store.partnerships.get(TEAM, CHANNEL), "not_in_channel")
    shown = texts(open_home(bot))
    assert "Next check-in: paused" in shown
    assert "I'm no longer in the channel" in shown
