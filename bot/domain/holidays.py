"""Holiday pauses: a coordinator pauses every scheduled post until a date. Pure.

A pause runs from when it was set until local midnight at the start of the date it names (or until
``/coprod resume``). Posts that fall in it are skipped; reminders wait until it ends; and the summary
doesn't count the paused time against a level: its window reaches back by as long as the pause lasted.
This is not the pause Slack forces when a channel is gone (``partnerships.paused_reason``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366  # a pause is for a holiday: up to a year ahead


class PauseError(ValueError):
    """A date that can't end a pause; the message says what to type instead."""


@dataclass(frozen=True)
class Pause:
    starts_at: int  # Unix seconds
    ends_at: int  # Unix seconds: local midnight of ``until``, or when it was resumed
    until: date  # the local date the coordinator named

    def covers(self, moment: int) -> bool:
        return self.starts_at <= moment < self.ends_at


def parse_until(word: str, *, today: date) -> date:
    """The date a pause ends on: ``2027-01-04``, after today and within a year."""
    try:
        until = date.fromisoformat(word.strip())
    except ValueError:
        raise PauseError(f"“{word}” is not a date: write it as year-month-day, for example 2027-01-04") from None
    if until <= today:
        raise PauseError(f"{until:%-d %B %Y} has already come: pick a date after today")
    if until > today + timedelta(days=MAX_DAYS):
        raise PauseError(f"{until:%-d %B %Y} is more than a year away: pick a date within a year")
    return until


def midnight(day: date, timezone: str) -> datetime:
    """Local midnight at the start of ``day``, in UTC (a midnight skipped by daylight saving is an hour on)."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def active(pauses: Iterable[Pause], now: int) -> Pause | None:
    """The pause in force at ``now``, if any."""
    return next((p for p in pauses if p.covers(now)), None)


def paused_seconds(pauses: Iterable[Pause], start: int, end: int) -> int:
    """How much of [start, end) fell in a pause (pauses never overlap: a new one replaces the old)."""
    return sum(max(0, min(end, p.ends_at) - max(start, p.starts_at)) for p in pauses)


def within(pauses: Iterable[Pause], start: int, end: int) -> tuple[Pause, ...]:
    """The pauses that overlap [start, end), earliest first."""
    return tuple(sorted((p for p in pauses if p.starts_at < end and p.ends_at > start), key=lambda p: p.starts_at))


def reach_back(start: int, end: int, pauses: Iterable[Pause]) -> int:
    """Where a window ending at ``end`` must begin to hold as much time outside pauses as [start, end) holds."""
    cursor, needed = end, end - start
    for p in sorted(pauses, key=lambda p: p.ends_at, reverse=True):  # pauses never overlap
        if p.starts_at >= cursor:
            continue
        gap = cursor - min(p.ends_at, cursor)  # time outside pauses between this pause and the cursor
        if gap >= needed:
            break
        needed -= gap
        cursor = p.starts_at
    return cursor - needed


def holiday_text(until: datetime, timezone: str) -> str:
    """What App Home, help and the command say while a pause is in force (``until``: when it ends)."""
    return (
        f"Paused for a holiday until {until.astimezone(ZoneInfo(timezone)):%A %-d %B %Y}: no scheduled check-ins, "
        "summaries or reminders until then. A coordinator can end it sooner with `/coprod resume`."
    )
