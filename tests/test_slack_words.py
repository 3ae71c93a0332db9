"""What coprod says, read as a newcomer reads it (issue 26), through signed Slack requests in both modes: one
minute is "1 minute", a reminder says how long is really left, a pause resumed at once is not named, a number
out of range is called that, the export names its 3, a long mistyped command is not echoed whole, a mistyped
timezone gets the closest names, a check-in skipped for a holiday is no warning in the log, and two reports
of different periods are told apart."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tests.support.blockkit import texts_in
from tests.support.constants import COORDINATOR
from tests.support.flows import ask, configure, plan, post_checkin, rate

SETUP = "schedule checkins weekly Tuesday 10:00"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def reminders(bot) -> list[str]:
    return [
        text
        for call in bot.stub.calls_to("chat.postMessage")
        for text in texts_in(call.json("blocks", []))
        if "Your team meeting starts" in text
    ]


def test_a_one_minute_reminder_says_minute_and_arrives_saying_in_1_minute(bot):
    """`remind 1` is "1 minute before" (not "1 minutes"), and the reminder, posted at the tick a few seconds
    after its time, says "in 1 minute", not "now"."""
    said = configure(bot, "meeting every Wednesday 14:00 remind 1")
    assert "1 minute before your meeting" in said and "minutes" not in said
    assert "when your meeting starts" in configure(bot, "meeting every Wednesday 14:00 remind 0")
    configure(bot, "meeting every Wednesday 14:00 remind 1")
    bot.clock.now = utc(2026, 11, 25, 13, 59, 20)  # 14:00 in London is 14:00 UTC; the tick comes 20 s late
    assert [(f.kind, f.status) for f in bot.tick()] == [("meeting", "posted")]
    [reminder] = reminders(bot)
    assert "starts in 1 minute*" in reminder


def test_a_pause_resumed_at_once_is_not_named_in_the_summary(bot):
    """Paused and resumed a moment later, nothing was held back: the summary says nothing of a pause
    ("This time held a pause (24 Nov to 24 Nov)" was the old words)."""
    configure(bot, SETUP)
    configure(bot, "pause until 2026-12-08")
    bot.clock.advance(seconds=5)
    assert "Welcome back" in configure(bot, "resume")
    said = "\n".join(texts_in(ask(bot, "summary")["blocks"]))
    assert "pause" not in said


def test_a_number_out_of_range_is_called_that_not_not_a_number(bot):
    configure(bot, SETUP)
    said = configure(bot, "nudge 0")
    assert "is not a number" not in said
    assert "“0” is too few hours: use a whole number from 1 to 167" in said
    assert "“0” is too few months: use a whole number from 1 to 120" in configure(bot, "retention 0")
    assert "“soon” is not a number of hours" in configure(bot, "nudge soon")
    assert "is too many hours" in configure(bot, "nudge " + "9" * 5000)


def test_the_export_names_the_least_number_of_people_it_is_3(bot):
    """The export's note and the actions file's note say 3, where they said "k"."""
    configure(bot, SETUP)
    first = post_checkin(bot, "organisational").id
    rate(bot, first, 4, "U2")
    plan(bot)
    ask(bot, "export")
    done = bot.stub.wait_for("files.completeUploadExternal", count=2)
    answers, actions = (call.args["initial_comment"] for call in done)
    assert "at least 3 people share one" in answers and "fewer than 3 people" in answers
    assert "at least 3 answers" in actions
    assert " k " not in answers + actions


def test_a_long_mistyped_command_is_quoted_short(bot):
    typed = "x" * 4000
    said = configure(bot, typed)
    assert "I don't know “" + "x" * 39 + "…”" in said and len(said) < 200
    assert "x" * 41 not in configure(bot, "checkin " + "y" * 4000) + configure(bot, "summary " + "z " * 2000)


def test_a_mistyped_timezone_gets_the_closest_names(bot):
    configure(bot, SETUP)
    said = configure(bot, "timezone london")
    assert "Did you mean Europe/London?" in said and "`/coprod timezone Europe/London`" in said
    assert "America/New_York" in configure(bot, "timezone New York")
    assert "Europe/Berlin" in configure(bot, "timezone Europe/Berln")
    assert "Did you mean" not in configure(bot, "timezone nowhere-at-all")


def test_a_checkin_skipped_for_a_holiday_is_logged_as_info_not_a_warning(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    configure(bot, SETUP)
    configure(bot, "pause until 2026-12-08")
    bot.clock.now = utc(2026, 11, 24, 10)
    assert [(f.kind, f.status) for f in bot.tick()] == [("checkins", "skipped")]
    [record] = [r for r in caplog.records if r.getMessage().startswith("skipped a checkins")]
    assert record.levelno == logging.INFO and "paused for a holiday" in record.getMessage()


def test_a_report_since_a_date_is_told_apart_from_the_whole_report(bot):
    """Each report's message and file name say its period."""
    configure(bot, SETUP)
    ask(bot, "report")
    bot.stub.wait_for("files.completeUploadExternal", count=1)
    ask(bot, "report since 2026-01-01")
    done = bot.stub.wait_for("files.completeUploadExternal", count=2)
    whole, since = (call.args["initial_comment"] for call in done)
    names = [call.args["filename"] for call in bot.stub.calls_to("files.getUploadURLExternal")]
    assert names == [
        "coprod-report-partnership-2026-11-24-to-2026-11-24.html",
        "coprod-report-partnership-2026-01-01-to-2026-11-24.html",
    ]
    assert "from 24 November 2026 to 24 November 2026 (all of it, since coprod began there)" in whole
    assert "from 1 January 2026 to 24 November 2026:" in since
    assert COORDINATOR not in whole + since
