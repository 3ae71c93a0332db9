"""Pausing for a holiday (`/coprod pause until 2027-01-04`, `/coprod resume`), through signed Slack requests and
the scheduler's tick (both modes): every scheduled post is skipped until the date, App Home and help say so,
and the summary afterwards says its window held a pause and doesn't count the paused weeks against a level."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support.blockkit import checkin_posts, texts_in
from tests.support.clock import stamp
from tests.support.constants import CHANNEL, START, TEAM
from tests.support.flows import ask, configure, open_home, post_checkin
from tests.support.stored import store_state

SETUP = "schedule checkins weekly Tuesday 10:00"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_pause_skips_every_scheduled_post_until_its_date(bot):
    """Paused until Tuesday 8 December: the check-ins of 24 November and 1 December and the meeting reminders are
    skipped (and recorded so), and the check-in of 8 December is posted."""
    configure(bot, SETUP)
    configure(bot, "meeting every Wednesday 14:00 remind 30")
    said = configure(bot, "pause until 2026-12-08")
    assert "Paused for a holiday until Tuesday 8 December 2026" in said and "/coprod resume" in said
    for moment in (utc(2026, 11, 24, 10), utc(2026, 11, 25, 13, 30), utc(2026, 12, 1, 10), utc(2026, 12, 2, 13, 30)):
        bot.clock.now = moment
        assert [(f.kind, f.status) for f in bot.tick()] in ([("checkins", "skipped")], [("meeting", "skipped")])
    assert checkin_posts(bot.stub) == []
    bot.clock.now = utc(2026, 12, 8, 10)
    assert [(f.kind, f.status) for f in bot.tick()] == [("checkins", "posted")]
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    assert [s for _, _, s in bot.store.ledger.posts(p)] == ["skipped", "skipped", "skipped", "skipped", "posted"]


def test_resume_ends_a_pause_at_once(bot):
    configure(bot, SETUP)
    configure(bot, "pause until 2027-01-04")
    assert "Welcome back" in configure(bot, "resume")
    assert "wasn't paused for a holiday" in configure(bot, "resume")
    bot.clock.now = utc(2026, 11, 24, 10)
    assert [(f.kind, f.status) for f in bot.tick()] == [("checkins", "posted")]


def test_help_and_app_home_show_the_pause(bot):
    """While paused, `/coprod help` in the channel and App Home say until when, and the next check-in App Home
    shows is the first after the pause."""
    configure(bot, SETUP)
    configure(bot, "pause until 2026-12-08")
    helped = "\n".join(texts_in(bot.command("help").json()["blocks"]))
    assert "Paused for a holiday until Tuesday 8 December 2026" in helped
    home = json.dumps(open_home(bot, user="U2")["blocks"])
    assert "Paused for a holiday until Tuesday 8 December 2026" in home
    assert "Next check-in: Tue 8 Dec, 10:00" in home
    configure(bot, "resume")
    assert "Paused for a holiday" not in "\n".join(texts_in(bot.command("help").json()["blocks"]))


def test_a_pause_is_for_coordinators_and_bad_dates_change_nothing(bot):
    configure(bot, SETUP)
    before = store_state(bot)
    assert "only coordinators can pause coprod for a holiday" in configure(bot, "pause until 2027-01-04", user="U2")
    assert "only coordinators can end a holiday pause" in configure(bot, "resume", user="U2")
    for typed, words in (
        ("pause until 2026-11-24", "already come"),
        ("pause until 2026-13-01", "year-month-day"),
        ("pause until 2028-01-01", "more than a year"),
        ("pause", "until when"),
        ("pause until next week", "year-month-day"),
    ):
        assert words in configure(bot, typed), typed
    assert store_state(bot) == before
    assert bot.store.partnerships.pauses(bot.store.partnerships.get(TEAM, CHANNEL), since=0) == []


def test_the_summary_after_a_pause_says_so_and_does_not_count_the_paused_weeks(bot):
    """Organisational was discussed on 24 November; four weeks were paused. Nine weeks on, the 8-week summary
    reaches back past the pause to that check-in, so Organisational is not "not discussed yet", and it says
    the window held a pause."""
    configure(bot, SETUP)
    configure(bot, "schedule summary weekly Tuesday 10:00")
    post_checkin(bot, "organisational")
    configure(bot, "pause until 2026-12-22")
    bot.clock.now = utc(2027, 1, 26, 9)
    answer = ask(bot, "summary organisational")
    said = "\n".join(texts_in(answer["blocks"]))
    assert "This time held a pause (24 Nov to 22 Dec)" in said
    assert "not discussed yet" not in said and "1 check-in" in said
    bot.clock.now = utc(2027, 1, 26, 10)
    bot.tick()
    [summary] = [
        c for c in bot.stub.calls_to("chat.postMessage") if "regular summary" in json.dumps(c.json("blocks", []))
    ]
    assert "held a pause" in json.dumps(summary.json("blocks"))
    assert stamp(START) < stamp(bot.clock.now)


def test_a_holiday_pause_is_not_the_pause_slack_forces(bot):
    """When Slack says the channel is gone, coprod pauses (paused_reason); `resume` ends only a holiday pause."""
    configure(bot, SETUP)
    bot.stub.fail("chat.postMessage", "channel_not_found", channel=CHANNEL)
    bot.clock.now = utc(2026, 11, 24, 10)
    bot.tick()
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == "channel_not_found"
    assert "wasn't paused for a holiday" in configure(bot, "resume")
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == "channel_not_found"
