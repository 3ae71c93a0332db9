"""The plain records the store hands out: frozen dataclasses, built from rows by column name."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], row: sqlite3.Row, **extra: Any) -> T:
    """A record from a row whose columns are named as the record's fields (``extra`` fills the rest)."""
    names = set(row.keys())
    values = {f.name: row[f.name] for f in fields(cls) if f.name in names}  # type: ignore[arg-type]
    return cls(**values, **extra)


@dataclass(frozen=True)
class Partnership:
    id: int
    team_id: str
    channel_id: str
    timezone: str
    window_weeks: int
    k: int
    member_count: int | None
    pinned: str | None
    paused_reason: str | None
    created_by: str | None
    created_at: int
    retention_months: int | None
    nudge_hours: int | None = None  # remind those who haven't answered a check-in after this many hours
    nudge_set_at: int | None = None  # nobody is reminded about a check-in that was due a reminder before this
    size: str | None = None  # "small" or "large" (`/coprod size`); None: both of the paper's role practices


@dataclass(frozen=True)
class ScheduleRow:
    kind: str
    cadence: str
    weekday: int
    at_minute: int
    remind_minutes: int | None
    anchor: str
    set_at: int = 0  # nothing fires for a schedule before it was set


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    timezone: str | None
    is_admin: bool
    fetched_at: int


@dataclass(frozen=True)
class Checkin:
    id: int
    partnership_id: int
    team_id: str
    channel_id: str
    kind: str
    facilitator_id: str
    level_id: str
    asked_at: int
    message_ts: str | None
    closes_at: int = 0  # after this, answers can't be added, changed or taken out (bot/domain/anonymity.py)

    def closed(self, now: int) -> bool:
        return now >= self.closes_at


@dataclass(frozen=True)
class Answer:
    rating: int
    comment: str | None
    anonymous: bool
    created: bool
    count: int
    order: int = 0  # when it was stored, among this process's commits (later ones higher); 0 if only read


@dataclass(frozen=True)
class LevelActivity:
    level_id: str
    checkins: int
    responses: int
    responders: int
    mean: float | None
    last_activity: int | None
    covered: int = 0  # distinct practices (facilitators) asked about


@dataclass(frozen=True)
class ScheduledPartnership:
    partnership: Partnership
    schedule: ScheduleRow


@dataclass(frozen=True)
class DueSchedule:
    """A schedule whose time has come: ``next_fire_at`` is its first fire time not yet dealt with (Unix
    seconds), or None when the scheduler is to work it out from its last tick (after a pause, on upgrade)."""

    partnership: Partnership
    schedule: ScheduleRow
    next_fire_at: int | None


@dataclass(frozen=True)
class SummaryInputs:
    """Everything a partnership's summary reads, in one go (see ``Activity.summary_inputs``)."""

    levels: dict[str, LevelActivity]
    last_meeting: int | None
    answered_roles: set[str]
    history: dict[str, tuple[str, int]]
    asked_at: dict[str, int] = field(default_factory=dict)  # facilitator id -> when last asked (Unix time)


@dataclass(frozen=True)
class PracticeMean:
    """One closed check-in of k or more answers: its practice, when it was asked, and its mean."""

    facilitator_id: str
    level_id: str
    asked_at: int
    mean: float


@dataclass(frozen=True)
class SideRatings:
    """One practice's named answers from one side (public partners, or professionals) over closed groups."""

    level_id: str
    facilitator_id: str
    partner: bool
    answers: int
    total: int


@dataclass(frozen=True)
class AskedFacts:
    """One posted check-in (or reflection round) as the picture and the report read it. ``total`` is the sum
    of its ratings only once a check-in has closed with k or more answers (bot/domain/anonymity.py); otherwise None,
    and always None for a reflection round: private self-ratings never enter a team figure."""

    level_id: str
    facilitator_id: str
    kind: str
    asked_at: int
    answers: int  # everyone who took part, "not sure yet" included
    total: int | None
    rated: int = 0  # the answers that gave a rating (not "not sure yet"): ``total``'s divisor


@dataclass(frozen=True)
class ReportInputs:
    """A partnership's activity over a period, for the coverage picture and the report
    (see ``Activity.report_inputs``)."""

    asked: list[AskedFacts]
    meetings: list[int]  # when each meeting in the period was held
    people: int  # distinct people who answered a check-in in the period
    role_answers: dict[str, int]  # role -> named answers, for roles k or more members hold
    role_sizes: dict[str, int]  # role -> members holding it, for those roles
    reflexivity_optouts: int
