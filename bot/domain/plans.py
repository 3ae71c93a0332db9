"""Actions a team plans from a flag: what they are, who may change them, when to follow them up, and
what the summary says of them. Pure.

An action serves one practice. Anyone in the channel may plan one; its owner (whoever leads it, or
planned it) and the coordinators may mark it done or drop it. On its due date, at the check-in hour
in the partnership's timezone, coprod reminds the lead (or the channel). Once done, its practice is
asked at the next scheduled check-in, and the summary compares that check-in with the last one before
the action was planned, when both are closed groups of k or more (``bot.domain.anonymity.group_mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WHAT_MAX = 500
DUE_MAX_DAYS = 366
DEFAULT_HOUR = 10 * 60  # when the partnership has no check-in schedule, reminders come at 10:00
STATUSES = ("open", "done", "dropped")


class PlanError(ValueError):
    """Something in a plan that can't be stored; the message says what to change."""


@dataclass(frozen=True)
class Action:
    id: int
    partnership_id: int
    team_id: str
    channel_id: str
    what: str
    facilitator_id: str
    level_id: str
    lead: str | None
    due_on: date | None
    status: str
    planned_by: str | None
    planned_at: int
    closed_at: int | None = None
    message_ts: str | None = None

    @property
    def open(self) -> bool:
        return self.status == "open"

    def owned_by(self, user: str) -> bool:
        """Whoever leads it, or planned it, may say it is done or drop it (coordinators too, checked elsewhere)."""
        return user in (self.lead, self.planned_by)

    def overdue(self, today: date) -> bool:
        """Still open after its date (``today`` is the partnership's local date)."""
        return self.open and self.due_on is not None and self.due_on < today


@dataclass(frozen=True)
class Tried:
    """A done action, with its practice's rating before and after, where both may be shown."""

    action: Action
    before: float | None
    after: float | None

    @property
    def comparable(self) -> bool:
        return self.before is not None and self.after is not None


@dataclass(frozen=True)
class Loop:
    """What a summary says of the partnership's actions."""

    open: tuple[Action, ...] = ()
    overdue: tuple[Action, ...] = ()  # listed once, in the next scheduled summary
    tried: tuple[Tried, ...] = ()


def check_what(text: str | None) -> str:
    what = " ".join((text or "").split())
    if not what:
        raise PlanError("Please say what you will do.")
    if len(what) > WHAT_MAX:
        raise PlanError(f"Please keep it under {WHAT_MAX} characters.")
    return what


def check_due(text: str | None, *, today: date) -> date | None:
    """An optional date: today or later, within a year."""
    if not text:
        return None
    try:
        due = date.fromisoformat(text)
    except ValueError:
        raise PlanError("Please pick a date from the calendar.") from None
    if due < today:
        raise PlanError("That date has passed: please pick today or a later date.")
    if due > today + timedelta(days=DUE_MAX_DAYS):
        raise PlanError("Please pick a date within a year.")
    return due


def reminder_at(due_on: date, timezone: str, at_minute: int | None) -> datetime:
    """When the follow-up is due: the check-in hour on the due date, in the partnership's timezone (UTC out).

    A local time skipped by daylight saving is the same instant an hour on, as for schedules."""
    minute = DEFAULT_HOUR if at_minute is None else at_minute
    local = datetime.combine(due_on, time(minute // 60, minute % 60), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def loop_of(
    actions: list[Action],
    groups: dict[int, tuple[float | None, float | None]],
    *,
    today: date,
    since: int,
    overdue_listed: dict[int, date | None] | None = None,
) -> Loop:
    """The loop a summary shows: open actions, overdue ones not yet listed (when ``overdue_listed`` is given:
    a scheduled summary), and actions done since ``since`` with their before and after (``groups``: action id
    -> (before, after), each None unless it may be shown)."""
    open_ = tuple(a for a in actions if a.open)
    overdue: tuple[Action, ...] = ()
    if overdue_listed is not None:
        overdue = tuple(a for a in open_ if a.overdue(today) and overdue_listed.get(a.id) != a.due_on)
    tried = tuple(
        Tried(a, *groups.get(a.id, (None, None)))
        for a in sorted(actions, key=lambda a: a.closed_at or 0, reverse=True)
        if a.status == "done" and (a.closed_at or 0) >= since
    )
    return Loop(open_, overdue, tried)
