"""Schedules in the team's timezone: words for days and times, and when each schedule fires."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.schedule import (
    CADENCES,
    ScheduleError,
    Spec,
    fire_times,
    format_minute,
    next_fire,
    parse_cadence,
    parse_day,
    parse_time,
    valid_timezone,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(timezone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(timezone))


# ---- words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word, minute",
    [
        ("09:30", 570),
        ("9:30", 570),
        ("00:00", 0),
        ("23:59", 1439),
        ("14:00", 840),
        ("9am", 540),
        ("9AM", 540),
        ("9 am", 540),
        ("9pm", 1260),
        ("12pm", 720),
        ("12am", 0),
        ("2:15pm", 855),
        ("12:30am", 30),
        ("9.30", 570),
        (" 10:00 ", 600),
    ],
)
def test_parse_time_accepts(word: str, minute: int) -> None:
    """24-hour HH:MM and am/pm times become minutes after local midnight."""
    assert parse_time(word) == minute


@pytest.mark.parametrize(
    "word",
    [
        "24:00",
        "9:5",
        "noon",
        "9",
        "",
        "am",
        "0am",
        "13pm",
        "12:60",
        "-1:30",
        "9:30:00",
        "nine",
        "9:300",
        "1_0:30",
        "+9:30",
        "9:+5",
        "١٠:٣٠",
        "10:3 ",
        "10 :30",
        "0x9:30",
        "9:30xm",
    ],
)
def test_parse_time_refuses(word: str) -> None:
    """Anything but a plain clock time is refused, and the message quotes what was typed."""
    with pytest.raises(ScheduleError) as caught:
        parse_time(word)
    assert f"“{word}”" in str(caught.value)


@pytest.mark.parametrize(
    "word, day",
    [
        ("Monday", MON),
        ("mon", MON),
        ("Mon", MON),
        ("mondays", MON),
        ("MONDAYS", MON),
        ("tue", TUE),
        ("tues", TUE),
        ("Tuesday", TUE),
        ("wed", WED),
        ("weds", WED),
        ("wednesdays", WED),
        ("thu", THU),
        ("thur", THU),
        ("thurs", THU),
        ("Thursday", THU),
        ("fri", FRI),
        ("saturday", SAT),
        ("Sun", SUN),
        ("sundays", SUN),
    ],
)
def test_parse_day_accepts(word: str, day: int) -> None:
    """Day names, their abbreviations and plurals; 0 is Monday."""
    assert parse_day(word) == day


@pytest.mark.parametrize("word", ["Funday", "", "m", "mo", "s", "day", "monday1", "Montag", "7", "week"])
def test_parse_day_refuses(word: str) -> None:
    """Words that are not a day are refused, quoting what was typed."""
    with pytest.raises(ScheduleError) as caught:
        parse_day(word)
    assert f"“{word}”" in str(caught.value)


@pytest.mark.parametrize(
    "word, cadence",
    [
        ("weekly", "weekly"),
        ("Weekly", "weekly"),
        ("fortnightly", "fortnightly"),
        ("biweekly", "fortnightly"),
        ("monthly", "monthly"),
    ],
)
def test_parse_cadence_accepts(word: str, cadence: str) -> None:
    """The three cadences, any case; biweekly reads as fortnightly."""
    assert parse_cadence(word) == cadence


@pytest.mark.parametrize("word", ["daily", "yearly", "", "week"])
def test_parse_cadence_refuses(word: str) -> None:
    """Other cadences are refused with the three that work."""
    with pytest.raises(ScheduleError, match="weekly, fortnightly or monthly"):
        parse_cadence(word)


@pytest.mark.parametrize(
    "name, ok",
    [
        ("Europe/London", True),
        ("America/New_York", True),
        ("UTC", True),
        ("Mars/Olympus", False),
        ("", False),
        ("America", False),
        ("../etc/passwd", False),
        ("x" * 300, False),
        ("Europe/London/", False),
        ("zone.tab", False),
    ],
)
def test_valid_timezone(name: str, ok: bool) -> None:
    """Real IANA names are valid; folders, paths and junk are not (and never raise)."""
    assert valid_timezone(name) is ok


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=24 * 60 - 1))
def test_formatted_time_parses_back(minute: int) -> None:
    """format_minute and parse_time round-trip every minute of the day."""
    assert parse_time(format_minute(minute)) == minute


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_parse_time_only_ever_raises_schedule_error(word: str) -> None:
    """Arbitrary text gives a time within the day or a ScheduleError, never another exception."""
    try:
        minute = parse_time(word)
    except ScheduleError:
        return
    assert 0 <= minute < 24 * 60


@pytest.mark.parametrize(
    "spec, text",
    [
        (Spec("weekly", TUE, 600, date(2024, 1, 1)), "every Tuesday at 10:00"),
        (Spec("fortnightly", MON, 570, date(2024, 1, 1)), "every other Monday at 09:30"),
        (Spec("monthly", FRI, 900, date(2024, 1, 1)), "the first Friday of each month at 15:00"),
    ],
)
def test_spec_describes_itself_plainly(spec: Spec, text: str) -> None:
    """A schedule reads back in words."""
    assert spec.describe() == text


# ---- when things fire -----------------------------------------------------------------------


def test_weekly_fires_every_week_at_local_time() -> None:
    """Weekly Tuesday 10:00 in UTC over four weeks."""
    spec = Spec("weekly", TUE, 600, date(2024, 1, 1))
    got = fire_times(spec, "UTC", utc(2024, 1, 1), utc(2024, 1, 29))
    assert got == [utc(2024, 1, d, 10) for d in (2, 9, 16, 23)]


@pytest.mark.parametrize(
    "anchor, first",
    [
        (date(2024, 1, 1), 1),
        (date(2024, 1, 3), 1),
        (date(2024, 1, 7), 1),
        (date(2024, 1, 8), 8),
        (date(2023, 12, 25), 8),
        (date(2023, 12, 18), 1),
    ],
)
def test_fortnightly_fires_in_the_anchor_weeks_parity(anchor: date, first: int) -> None:
    """Fortnightly fires in the anchor's week (any day of it) and every second week from there."""
    spec = Spec("fortnightly", MON, 540, anchor)
    got = fire_times(spec, "UTC", utc(2024, 1, 1) - timedelta(seconds=1), utc(2024, 2, 1))
    assert [d.day for d in got][:2] == [first, first + 14]
    assert all(b - a == timedelta(weeks=2) for a, b in zip(got, got[1:], strict=False))


def test_monthly_fires_on_the_first_weekday_of_each_month() -> None:
    """Monthly Friday: the first Friday of every month of 2024."""
    spec = Spec("monthly", FRI, 900, date(2024, 1, 1))
    got = fire_times(spec, "UTC", utc(2024, 1, 1), utc(2025, 1, 1))
    assert [d.date() for d in got] == [
        date(2024, 1, 5),
        date(2024, 2, 2),
        date(2024, 3, 1),
        date(2024, 4, 5),
        date(2024, 5, 3),
        date(2024, 6, 7),
        date(2024, 7, 5),
        date(2024, 8, 2),
        date(2024, 9, 6),
        date(2024, 10, 4),
        date(2024, 11, 1),
        date(2024, 12, 6),
    ]
    assert all(d.hour == 15 for d in got)


def test_weekly_in_london_keeps_local_time_across_daylight_saving() -> None:
    """Monday 10:00 in London is 10:00 UTC in winter and 09:00 UTC in summer, 10:00 local throughout."""
    spec = Spec("weekly", MON, 600, date(2024, 1, 1))
    got = fire_times(spec, "Europe/London", utc(2024, 3, 20), utc(2024, 4, 10))
    assert got == [utc(2024, 3, 25, 10), utc(2024, 4, 1, 9), utc(2024, 4, 8, 9)]
    assert {d.astimezone(ZoneInfo("Europe/London")).hour for d in got} == {10}
    autumn = fire_times(spec, "Europe/London", utc(2024, 10, 20), utc(2024, 11, 5))
    assert autumn == [utc(2024, 10, 21, 9), utc(2024, 10, 28, 10), utc(2024, 11, 4, 10)]


def test_time_skipped_by_spring_forward_fires_once_an_hour_later() -> None:
    """Sunday 02:30 in New York on 10 March 2024 does not exist: it fires once, at 03:30 EDT."""
    spec = Spec("weekly", SUN, 150, date(2024, 1, 1))
    got = fire_times(spec, "America/New_York", utc(2024, 3, 9), utc(2024, 3, 12))
    assert got == [utc(2024, 3, 10, 7, 30)]
    assert got[0].astimezone(ZoneInfo("America/New_York")).hour == 3


def test_time_repeated_by_fall_back_fires_once() -> None:
    """Sunday 01:30 in New York on 3 November 2024 happens twice: it fires once, at the first."""
    spec = Spec("weekly", SUN, 90, date(2024, 1, 1))
    got = fire_times(spec, "America/New_York", utc(2024, 11, 2), utc(2024, 11, 4))
    assert got == [utc(2024, 11, 3, 5, 30)]


def test_fire_times_window_is_open_at_start_and_closed_at_end() -> None:
    """A fire time equal to start is excluded, one equal to end included."""
    spec = Spec("weekly", TUE, 600, date(2024, 1, 1))
    at = utc(2024, 1, 2, 10)
    assert fire_times(spec, "UTC", at, at + timedelta(days=1)) == []
    assert fire_times(spec, "UTC", at - timedelta(days=1), at) == [at]


@pytest.mark.parametrize(
    "timezone, fires_utc",
    [
        ("Pacific/Auckland", utc(2024, 6, 10, 22)),  # Tuesday 10:00 NZST is Monday 22:00 UTC
        ("America/Los_Angeles", utc(2024, 6, 11, 17)),
        ("Asia/Kolkata", utc(2024, 6, 11, 4, 30)),
    ],
)
def test_local_day_decides_even_when_utc_day_differs(timezone: str, fires_utc: datetime) -> None:
    """The weekday is the team's own: Tuesday 10:00 local in each zone."""
    spec = Spec("weekly", TUE, 600, date(2024, 1, 1))
    got = fire_times(spec, timezone, utc(2024, 6, 9), utc(2024, 6, 15))
    assert got == [fires_utc]


def test_next_fire_is_strictly_after() -> None:
    """next_fire skips a fire time equal to `after`."""
    spec = Spec("weekly", TUE, 600, date(2024, 1, 1))
    assert next_fire(spec, "UTC", utc(2024, 1, 2, 9, 59)) == utc(2024, 1, 2, 10)
    assert next_fire(spec, "UTC", utc(2024, 1, 2, 10)) == utc(2024, 1, 9, 10)


def test_next_fire_of_monthly_can_be_weeks_away() -> None:
    """Just after the first Friday of January, the next is the first Friday of February."""
    spec = Spec("monthly", FRI, 900, date(2024, 1, 1))
    assert next_fire(spec, "UTC", utc(2024, 1, 5, 15, 1)) == utc(2024, 2, 2, 15)


@pytest.mark.parametrize("remind", [0, 30, 90, 24 * 60])
def test_meeting_reminder_fires_offset_minutes_before_the_meeting(remind: int) -> None:
    """offset_minutes = -remind moves every fire time that many minutes earlier."""
    spec = Spec("weekly", WED, 14 * 60, date(2024, 1, 1))
    meetings = fire_times(spec, "Europe/London", utc(2024, 3, 1), utc(2024, 4, 15))
    reminders = fire_times(spec, "Europe/London", utc(2024, 3, 1), utc(2024, 4, 15), offset_minutes=-remind)
    assert len(meetings) == 6  # Wednesdays 6 March to 10 April
    assert reminders == [m - timedelta(minutes=remind) for m in meetings]
    after = meetings[2] - timedelta(minutes=remind)
    assert next_fire(spec, "Europe/London", after, offset_minutes=-remind) == meetings[3] - timedelta(minutes=remind)


def test_reminder_for_a_meeting_just_after_the_window_falls_inside_it() -> None:
    """A reminder 30 minutes before a meeting at 00:15 lands the previous evening, in the window."""
    spec = Spec("weekly", WED, 15, date(2024, 1, 1))
    got = fire_times(spec, "UTC", utc(2024, 1, 2, 23), utc(2024, 1, 3), offset_minutes=-30)
    assert got == [utc(2024, 1, 2, 23, 45)]


@settings(max_examples=100, deadline=None)
@given(
    cadence=st.sampled_from(CADENCES),
    weekday=st.integers(0, 6),
    minute=st.integers(0, 24 * 60 - 1),
    timezone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"]),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_fire_times_are_on_the_right_local_day_sorted_and_once_each(
    cadence: str, weekday: int, minute: int, timezone: str, start: datetime
) -> None:
    """Each fire time is on the chosen local weekday, in order, within (start, end], none twice."""
    spec = Spec(cadence, weekday, minute, date(2024, 1, 3))
    end = start + timedelta(days=70)
    got = fire_times(spec, timezone, start, end)
    tz = ZoneInfo(timezone)
    assert got == sorted(set(got))
    assert all(start < t <= end for t in got)
    assert all(t.astimezone(tz).weekday() == weekday for t in got)
    expected = {"weekly": (9, 11), "fortnightly": (4, 6), "monthly": (1, 3)}[cadence]
    assert expected[0] <= len(got) <= expected[1]
    if got:
        assert next_fire(spec, timezone, start) == got[0]
