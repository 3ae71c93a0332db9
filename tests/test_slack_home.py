"""App Home: each partnership's levels, coverage, flags and what is next, with buttons for common actions."""

from __future__ import annotations

import json
import re

import pytest

from bot.localslack import render, slacktext
from tests.support.blockkit import check_view, summary_posts
from tests.support.constants import ADMIN, BOT_USER, CHANNEL, COORDINATOR, MEMBERS, TEAM
from tests.support.flows import configure, home_of, open_home, plan_buttons_in, post_checkin


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


# ---- several partnerships, within Slack's limits ----------------------------------------------------------


def block_ids(view: dict) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if "block_id" in b]


def join(bot, channel: str, name: str) -> None:
    """A second partnership channel the coordinator and coprod are in, with schedules set."""
    bot.stub.add_channel(channel, [*MEMBERS, BOT_USER], name=name)
    configure(bot, "schedule checkins weekly Tuesday 10:00", channel=channel)


def test_home_with_two_partnerships_has_a_unique_id_for_every_block(bot):
    """Someone in two partnerships sees both, each with its Plan buttons, in a view Slack accepts: Slack refuses
    a view whose block ids repeat (https://docs.slack.dev/reference/block-kit/blocks)."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    join(bot, "C2", "second")
    view = open_home(bot)
    check_view(view)
    ids = block_ids(view)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    shown = texts(view)
    assert f"<#{CHANNEL}>" in shown and "<#C2>" in shown
    values = plan_buttons_in(view["blocks"])
    # The meetings practice is flagged too (no meeting logged), so a level has a second row of Plan buttons.
    assert any(b["type"] == "actions" and b["block_id"].startswith("plan:") for b in view["blocks"])
    assert {v.split("|")[0] for v in values} == {CHANNEL, "C2"}


def test_home_with_twenty_partnerships_stays_within_100_blocks_and_points_to_the_rest(bot):
    """Twenty partnerships: the most recently active in full, first; the rest a line each saying where to see
    them. Nothing is dropped in silence, and the view stays within Slack's 100 blocks."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    channels = [CHANNEL] + [f"C{n}" for n in range(2, 21)]
    for n, channel in enumerate(channels[1:], start=2):
        join(bot, channel, f"partnership-{n}")
    bot.clock.advance(minutes=5)
    post_checkin(bot, channel="C13")  # the most recent activity of all
    view = open_home(bot)
    check_view(view)
    assert len(view["blocks"]) <= 100
    ids = block_ids(view)
    assert len(ids) == len(set(ids))
    shown = texts(view)
    for channel in channels:
        assert f"<#{channel}>" in shown, channel
    in_full = [b["block_id"].split(":")[1] for b in view["blocks"] if b.get("block_id", "").startswith("home:")]
    assert in_full[0] == "C13"
    assert 1 < len(in_full) < 20
    [rest] = [b for b in view["blocks"] if b["type"] == "section" and "more partnerships" in b["text"]["text"]]
    assert f"And {20 - len(in_full)} more partnerships" in rest["text"]["text"]
    assert "type `/coprod summary`" in rest["text"]["text"]
    for channel in set(channels) - set(in_full):
        assert f"<#{channel}>" in rest["text"]["text"]


# ---- what Home says ------------------------------------------------------------------------------------------


def test_home_holiday_note_shows_an_emoji_not_its_code(bot):
    """The holiday pause note reads the same in Slack and on the local page: no raw `:palm_tree:`."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    configure(bot, "pause until 2026-12-08")
    view = open_home(bot)
    assert "Paused for a holiday until Tuesday 8 December 2026" in texts(view)
    page = render.home(view, slacktext.NO_NAMES)
    assert "Paused for a holiday" in page
    assert not re.findall(r":[a-z0-9_+-]+:", page), re.findall(r":[a-z0-9_+-]+:", page)


def test_post_the_summary_on_home_says_it_was_posted(bot):
    """A coordinator who presses "Post the summary" sees on Home that it went out, and where."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    open_home(bot)
    assert bot.slack.click("home_summary", CHANNEL, container_type="view", user=COORDINATOR).status == 200
    view = home_of(bot, COORDINATOR, 2)
    assert summary_posts(bot.stub)
    check_view(view)
    assert f"Posted the summary in <#{CHANNEL}> at " in texts(view)


def test_post_the_summary_on_home_says_when_slack_refused_it(bot):
    """When Slack refuses the post, Home (and a direct message) say it wasn't posted, and what to do."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    open_home(bot)
    bot.stub.fail("chat.postMessage", "msg_too_long", channel=CHANNEL)
    bot.slack.click("home_summary", CHANNEL, container_type="view", user=COORDINATOR)
    view = home_of(bot, COORDINATOR, 2)
    shown = texts(view)
    assert f"I couldn't post the summary in <#{CHANNEL}>" in shown and "try again" in shown
    assert "Posted the summary" not in shown
    assert not [c for c in summary_posts(bot.stub) if (c.response or {}).get("ok")]
    bot.stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == COORDINATOR)


def test_a_home_that_fails_to_refresh_after_a_post_is_no_reason_for_sorry(bot):
    """The summary went out but Slack refused the refreshed Home: the coordinator is told it was posted (in a
    direct message), never "sorry, that didn't go through"."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    open_home(bot)
    bot.stub.fail("views.publish", "internal_error")
    bot.slack.click("home_summary", CHANNEL, container_type="view", user=COORDINATOR)
    [dm] = bot.stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == COORDINATOR)
    assert f"Posted the summary in <#{CHANNEL}>" in dm.args["text"]
    assert "Sorry" not in dm.args["text"]
    assert [c for c in summary_posts(bot.stub) if (c.response or {}).get("ok")]
