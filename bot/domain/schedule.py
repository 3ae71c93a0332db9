"""Schedules in the partnership's own timezone: parsing days and times, and when things fire.

Pure: dates, times and zone names in; UTC datetimes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from difflib import get_close_matches
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.typed import typed

CADENCES = ("weekly", "fortnightly", "monthly")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_WORDS = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_DAY_WORDS.update({name.lower()[:3]: i for i, name in enumerate(DAY_NAMES)})
_DAY_WORDS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
# ASCII digits only: int() alone would also take "+9", "1_0" and other scripts' digits.
MAX_ZONE_TYPED = 40  # longer than any zone's name: more is not compared
_CLOCK = re.compile(r"(?P<hour>[0-9]{1,2})(?::(?P<minute>[0-9]{2}))?\s*(?P<suffix>am|pm)?")


class Stored(Protocol):
    """A schedule as the store keeps it."""

    @property
    def kind(self) -> str: ...
    @property
    def cadence(self) -> str: ...
    @property
    def weekday(self) -> int: ...
    @property
    def at_minute(self) -> int: ...
    @property
    def remind_minutes(self) -> int | None: ...
    @property
    def anchor(self) -> str: ...  # ISO date


class ScheduleError(ValueError):
    """Words that are not a day, a time or a cadence; the message says what was expected."""


@dataclass(frozen=True)
class Spec:
    cadence: str  # weekly | fortnightly | monthly (the first <weekday> of each month)
    weekday: int  # 0 = Monday
    at_minute: int  # minutes after local midnight
    anchor: date  # fortnightly: fires in the week of this date, then every second week

    def describe(self) -> str:
        day = DAY_NAMES[self.weekday]
        at = format_minute(self.at_minute)
        if self.cadence == "monthly":
            return f"the first {day} of each month at {at}"
        if self.cadence == "fortnightly":
            return f"every other {day} at {at}"
        return f"every {day} at {at}"


def parse_day(word: str) -> int:
    text = word.strip().lower()
    day = _DAY_WORDS.get(text, _DAY_WORDS.get(text.removesuffix("s")))  # "Mondays" reads as "Monday"
    if day is None:
        raise ScheduleError(f"“{word}” is not a day of the week: use Monday to Sunday (or Mon, Tue…)")
    return day


def parse_time(word: str) -> int:
    """'9:30', '09:30', '14:00', '9am', '2:15pm' -> minutes after midnight."""
    text = word.strip().lower().replace(".", ":")
    match = _CLOCK.fullmatch(text)
    if match is None or (match["minute"] is None and match["suffix"] is None):
        raise ScheduleError(f"“{word}” is not a time: use 24-hour HH:MM, for example 09:30 or 14:00")
    hour, minute, suffix = int(match["hour"]), int(match["minute"] or 0), match["suffix"]
    if suffix:
        if not 1 <= hour <= 12:
            raise ScheduleError(f"“{word}” is not a time: with am/pm the hour goes from 1 to 12")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError(f"“{word}” is not a time: hours go from 00 to 23 and minutes from 00 to 59")
    return hour * 60 + minute


def parse_cadence(word: str) -> str:
    cadence = word.strip().lower()
    if cadence == "biweekly":
        cadence = "fortnightly"
    if cadence not in CADENCES:
        raise ScheduleError(f"“{word}” is not how often: use weekly, fortnightly or monthly")
    return cadence


def format_minute(at_minute: int) -> str:
    return f"{at_minute // 60:02d}:{at_minute % 60:02d}"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America", a long name
        return False
    return True


@cache
def _zones_by_key() -> dict[str, list[str]]:
    """Each zone under its whole name and its city part, lower case (read from the system once)."""
    by_key: dict[str, list[str]] = {}
    for name in available_timezones():
        if name.startswith(("Etc/", "SystemV/")):  # "Etc/GMT+5" counts the other way round; legacy names
            continue
        by_key.setdefault(name.lower(), []).append(name)
        if "/" in name:
            by_key.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return by_key


def closest_timezones(text: str, n: int = 3) -> list[str]:
    """The timezone names closest to ``text`` (``london`` -> ``Europe/London``), matched on the city part
    (``New York`` and ``new_york`` alike) and on the whole name, any case; none when nothing is close."""
    wanted = "_".join(text.strip().lower().split())[:MAX_ZONE_TYPED]
    by_key = _zones_by_key()
    if wanted in by_key:  # the city, or the name in another case: nothing else is as close
        return sorted(by_key[wanted])[:n]
    found: list[str] = []
    for key in get_close_matches(wanted, by_key, n=n, cutoff=0.75):
        found += [name for name in sorted(by_key[key]) if name not in found]
    return found[:n]


def timezone_refused(text: str) -> str:
    """Why a timezone was refused, with the closest names when something like one was typed."""
    shown = typed(text) or "nothing"
    close = closest_timezones(text) if text else []
    if close:
        names = " or ".join(close)
        return f"“{shown}” is not a timezone I know. Did you mean {names}? Type it as `/coprod timezone {close[0]}`"
    return f"“{shown}” is not a timezone I know. Use a name like Europe/London or America/Toronto"


def _fires_on(spec: Spec, day: date) -> bool:
    if day.weekday() != spec.weekday:
        return False
    if spec.cadence == "monthly":
        return day.day <= 7
    if spec.cadence == "fortnightly":
        anchor_monday = spec.anchor - timedelta(days=spec.anchor.weekday())
        return ((day - anchor_monday).days // 7) % 2 == 0
    return True


def _at(day: date, at_minute: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(at_minute // 60, at_minute % 60), tzinfo=tz)
    # A local time skipped by a daylight-saving change resolves to the same instant an hour on.
    return local.astimezone(UTC)


def fire_times(spec: Spec, timezone: str, start: datetime, end: datetime, *, offset_minutes: int = 0) -> list[datetime]:
    """Fire times (UTC) in (start, end], each moved by ``offset_minutes`` (a reminder before a meeting)."""
    tz = ZoneInfo(timezone)
    offset = timedelta(minutes=offset_minutes)
    first = (start - offset).astimezone(tz).date() - timedelta(days=1)
    last = (end - offset).astimezone(tz).date() + timedelta(days=1)
    out = []
    day = first
    while day <= last:
        if _fires_on(spec, day):
            when = _at(day, spec.at_minute, tz) + offset
            if start < when <= end:
                out.append(when)
        day += timedelta(days=1)
    return out


def next_fire(spec: Spec, timezone: str, after: datetime, *, offset_minutes: int = 0) -> datetime:
    """The first fire time strictly after ``after``."""
    horizon = after
    while True:
        found = fire_times(spec, timezone, horizon, horizon + timedelta(days=40), offset_minutes=offset_minutes)
        if found:
            return found[0]
        horizon += timedelta(days=40)


def spec_of(stored: Stored) -> Spec:
    return Spec(stored.cadence, stored.weekday, stored.at_minute, date.fromisoformat(stored.anchor))


def offset_of(stored: Stored) -> int:
    """Meeting reminders fire before the meeting; everything else at its time (minutes)."""
    return -(stored.remind_minutes or 0) if stored.kind == "meeting" else 0
