"""The level summary: pure rules over activity the store has already counted.

A level is neglected in the window when it had no check-in, when fewer than k people answered it,
or when its mean rating is 2.5 of 5 or lower. The regular-meetings facilitator is flagged when no
meeting was logged for three weeks. Means are hidden below k people so nobody can be singled out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain import findings, holidays, rotation
from bot.domain.catalog import Catalog, Facilitator, Level
from bot.domain.holidays import Pause
from bot.domain.plans import Loop

DEFAULT_WEEKS = 8
DEFAULT_K = 3
LOW_MEAN = 2.5
MEETING_GAP = timedelta(weeks=3)
# A scheduled meeting may be logged up to a week after it ("We met" takes a date within 7 days of today).
MEETING_LOG_DAYS = timedelta(days=7)
# Weeks between two check-ins at each cadence; a month is 52/12 weeks.
CADENCE_WEEKS = {"weekly": 1.0, "fortnightly": 2.0, "monthly": 52 / 12}


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC, inclusive: local midnight `weeks` weeks before today
    end: datetime  # UTC, exclusive: now
    weeks: int
    widened_from: int | None = None  # the weeks asked for, when a full rotation needed more
    paused: tuple[Pause, ...] = ()  # holiday pauses in it: the window reaches back as long as they lasted


class LevelFacts(Protocol):
    """What the summary reads of one level's window (the store's LevelActivity, or an Activity)."""

    @property
    def checkins(self) -> int: ...
    @property
    def responses(self) -> int: ...
    @property
    def responders(self) -> int: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def last_activity(self) -> int | None: ...
    @property
    def covered(self) -> int: ...


@dataclass(frozen=True)
class Activity:
    """What happened at one level in the window."""

    checkins: int
    responses: int
    responders: int
    mean: float | None
    last_activity: int | None
    covered: int = 0  # distinct practices asked about


@dataclass(frozen=True)
class FacilitatorFlag:
    facilitator: Facilitator
    reason: str


@dataclass(frozen=True)
class LevelSummary:
    level: Level
    checkins: int
    responses: int
    responders: int
    participation: float | None  # responders / members, when members are known
    mean: float | None  # None when hidden (fewer than k people) or no answers
    last_activity: datetime | None
    reasons: tuple[str, ...]
    flags: tuple[FacilitatorFlag, ...] = ()
    covered: int = 0  # distinct practices of this level asked about in the window

    @property
    def neglected(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class Summary:
    window: Window
    k: int
    members: int | None
    levels: tuple[LevelSummary, ...]
    silent_roles: tuple[str, ...]
    next_focus: Facilitator
    loop: Loop | None = None  # the team's actions (bot/domain/plans.py), when the store was asked for them
    gaps: tuple[findings.Gap, ...] = ()  # practices not asked for a long time (bot/domain/findings.py)
    disagreements: tuple[findings.Disagreement, ...] = ()  # partners and professionals a point or more apart
    falls: tuple[findings.Fall, ...] = ()  # practices rated 0.75 or more lower than when last asked
    stuck: tuple[str, ...] = ()  # level ids flagged in four regular summaries running, nothing planned
    to_explain: tuple[Facilitator, ...] = ()  # practices most people are "not sure yet" about
    reflected: int = 0  # people who answered a private reflection prompt in the window: nothing of what

    def disagreements_at(self, level_id: str) -> tuple[findings.Disagreement, ...]:
        return tuple(d for d in self.disagreements if d.level_id == level_id)

    @property
    def neglected(self) -> tuple[LevelSummary, ...]:
        return tuple(s for s in self.levels if s.neglected or s.flags)


def window_for(
    now: datetime,
    timezone: str,
    weeks: int = DEFAULT_WEEKS,
    *,
    cadence: str | None = None,
    level_count: int = 5,
    pauses: Iterable[Pause] = (),
) -> Window:
    """The summary window ending now, starting at local midnight `weeks` weeks before today.

    Never shorter than one full rotation of the levels at the check-in cadence, so a monthly
    team is not told a level is neglected merely because its turn has not come yet. Holiday pauses
    don't count against a level: the window reaches back by as long as they lasted within it.
    """
    asked = weeks
    if cadence in CADENCE_WEEKS:
        weeks = max(weeks, math.ceil(level_count * CADENCE_WEEKS[cadence]))
    tz = ZoneInfo(timezone)
    local_today = now.astimezone(tz).date()
    start_day = local_today - timedelta(weeks=weeks)
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=tz).astimezone(UTC)
    pauses = tuple(pauses)
    if pauses:
        end = int(now.timestamp())
        reached = holidays.reach_back(int(start.timestamp()), end, pauses)
        start = holidays.midnight(datetime.fromtimestamp(reached, tz).date(), timezone)
        pauses = holidays.within(pauses, int(start.timestamp()), end)
    return Window(
        start=start, end=now.astimezone(UTC), weeks=weeks, widened_from=asked if weeks != asked else None, paused=pauses
    )


def _weeks_phrase(weeks: int) -> str:
    return "in the last week" if weeks == 1 else f"in the last {weeks} weeks"


def level_reasons(activity: LevelFacts | None, *, k: int, weeks: int) -> tuple[str, ...]:
    """Why a level is neglected, in kind words; empty when it is not."""
    when = _weeks_phrase(weeks)
    if activity is None or activity.checkins == 0:
        return (f"not discussed yet {when}",)
    reasons = []
    if activity.responders == 0:
        reasons.append(f"asked, but nobody has answered yet {when}")
    elif activity.responders < k:
        people = "person" if activity.responders == 1 else "people"
        reasons.append(f"only {activity.responders} {people} answered {when} (we look for at least {k})")
    elif activity.mean is not None and activity.mean <= LOW_MEAN:
        reasons.append(f"the team rated it {format_mean(activity.mean)} of 5 on average: worth talking about together")
    return tuple(reasons)


def format_mean(mean: float) -> str:
    """One decimal, but never a "2.5" that isn't flagged: a mean just above the line shows two."""
    text = f"{mean:.1f}"
    if text == f"{LOW_MEAN:.1f}" and mean > LOW_MEAN:
        text = f"{mean:.2f}"
    return text


def meeting_flag(
    last_meeting: datetime | None,
    now: datetime,
    pauses: Iterable[Pause] = (),
    scheduled: Sequence[datetime] | None = None,
) -> str | None:
    """Why the regular-meetings practice is flagged, if it is; time spent in a holiday pause doesn't count.

    ``scheduled``: the team's meeting times (`/coprod meeting`) since the schedule was set, when it has one.
    Then "no meeting logged" follows the team's own rhythm: a scheduled meeting passed (a week ago or more:
    the time anyone has to press "We met" on its reminder; outside any pause) with no meeting logged from
    the day before it on. Without a schedule: three weeks."""
    if scheduled is not None:
        held = last_meeting + timedelta(days=1) if last_meeting is not None else None
        missed = [
            t
            for t in scheduled
            if t + MEETING_LOG_DAYS <= now
            and (held is None or t > held)
            and not holidays.paused_seconds(pauses, int(t.timestamp()), int(t.timestamp()) + 1)
        ]
        if not missed:
            return None
        return (
            f"the meeting planned for {missed[-1]:%A %-d %B} wasn't logged: after you meet, type `/coprod met` "
            "or press “We met” on a reminder"
        )
    if last_meeting is None:
        return "no meeting logged yet: after you meet, type `/coprod met` or press “We met” on a reminder"
    since, until = int(last_meeting.timestamp()), int(now.timestamp())
    if timedelta(seconds=until - since - holidays.paused_seconds(pauses, since, until)) >= MEETING_GAP:
        return "no meeting logged in the last 3 weeks"
    return None


def summarize(
    catalog: Catalog,
    activity: Mapping[str, LevelFacts],
    *,
    window: Window,
    now: datetime,
    k: int = DEFAULT_K,
    members: int | None = None,
    last_meeting: datetime | None = None,
    roles: Iterable[str] = (),
    answered_roles: Iterable[str] = (),
    history: rotation.History | None = None,
    level_id: str | None = None,
    pauses: Iterable[Pause] = (),
    asked_at: Mapping[str, int] | None = None,
    size: str | None = None,
    sides: Iterable[findings.SideFacts] = (),
    meetings_scheduled: Sequence[datetime] | None = None,
    means: Iterable[findings.MeanFacts] = (),
    not_sure: Mapping[str, tuple[int, int]] | None = None,
) -> Summary:
    """Summarize every level (or one) for the window. ``roles``: the roles recorded for members; ``pauses``:
    the partnership's holiday pauses since its last meeting (they don't count toward a gap in meetings)."""
    answered = set(answered_roles)
    silent = tuple(sorted(set(roles) - answered))
    meeting_reason = meeting_flag(last_meeting, now, pauses, meetings_scheduled)
    meeting_items = catalog.tagged("meeting")
    levels = []
    for level in catalog.levels:
        if level_id is not None and level.id != level_id:
            continue
        act = activity.get(level.id)
        responders = act.responders if act else 0
        flags: tuple[FacilitatorFlag, ...] = ()
        if meeting_reason:
            flags = tuple(FacilitatorFlag(f, meeting_reason) for f in meeting_items if f.level_id == level.id)
        levels.append(
            LevelSummary(
                level=level,
                checkins=act.checkins if act else 0,
                responses=act.responses if act else 0,
                responders=responders,
                participation=(responders / members) if members else None,
                mean=act.mean if act and responders >= k else None,
                last_activity=datetime.fromtimestamp(act.last_activity, UTC) if act and act.last_activity else None,
                reasons=level_reasons(act, k=k, weeks=window.weeks),
                flags=flags,
                covered=act.covered if act else 0,
            )
        )
    return Summary(
        window=window,
        k=k,
        members=members,
        levels=tuple(levels),
        silent_roles=silent,
        next_focus=next_focus(catalog, levels, history or {}, size),
        gaps=findings.gaps(
            [f for f in rotation.in_play(catalog, size) if level_id is None or f.level_id == level_id],
            asked_at or {},
            now,
        ),
        disagreements=findings.disagreements(catalog.facilitators, sides, k=k, level_id=level_id),
        to_explain=findings.to_explain(
            [f for f in catalog.facilitators if level_id is None or f.level_id == level_id], not_sure or {}
        ),
        falls=findings.falls(
            [f for f in catalog.facilitators if level_id is None or f.level_id == level_id],
            means,
            since=int(window.start.timestamp()),
        ),
    )


def next_focus(
    catalog: Catalog, levels: Iterable[LevelSummary], history: rotation.History, size: str | None = None
) -> Facilitator:
    """Suggest what to talk about next: the neglected level the rotation would reach first."""
    flagged = {s.level.id for s in levels if s.neglected}
    for level_id in rotation.levels_by_need(catalog, history):
        if level_id in flagged:
            return rotation.next_in_level(catalog, level_id, history, size)
    return rotation.next_facilitator(catalog, history, size=size)
