"""What falls due at a tick: which of a schedule's fire times to claim and which to skip, and the other due
work (actions' follow-ups, reminders to answer, check-ins to show closed), each as a :class:`Job` for the
Dispatcher (bot/runtime/jobs.py) to claim and post. Each source reads only what is due, from an index."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from slack_sdk import WebClient

from bot.domain import holidays, plans
from bot.domain.holidays import Pause
from bot.domain.schedule import fire_times, offset_of, spec_of
from bot.slack import delivery, posts, reminders
from bot.slack.deps import Deps
from bot.store import Checkin, DueSchedule, Partnership, ScheduledPartnership
from bot.store.ledger import Planned
from bot.store.partnerships import next_fire_after

log = logging.getLogger(__name__)
# How far back a restart looks for fire times it missed, to log them as skipped.
LOOKBACK = timedelta(days=35)
# A meeting reminder still goes out this long after the meeting's start (ticks are not exact); later, never.
MEETING_LATE = timedelta(minutes=5)
# Check-ins' messages shown closed per tick, at most (the rest wait for the next tick); each is claimed in the
# ledger as "close:<check-in id>" at its closing time.
CLOSING_PAGE = 500
CLOSING = "close"
# Skips logged one by one per tick; beyond this, one line says how many more.
SKIPS_LOGGED = 20


@dataclass(frozen=True)
class Job:
    """A post to make: whose, its kind and fire time (its key in the ledger), and how to make it (``post``
    gets the workspace's client and its key). ``attempt``: the claim already taken (1 for the first), or 0 to
    claim it before posting."""

    p: Partnership
    kind: str
    fire_at: datetime
    post: Callable[[WebClient, delivery.PostKey], object]
    attempt: int = 0

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.p.id, self.kind, int(self.fire_at.timestamp()))


# More due work for the tick (actions' follow-ups, nudges...): called with now, returns the jobs due then,
# each claimed before it is made. A source reads only what is due (an index), as the schedules do; a job
# already settled in the ledger is dropped by its claim.
Source = Callable[[datetime], list[Job]]


class Due:
    """The due work of one Dispatcher; holiday pauses are read once a tick (:meth:`new_tick`)."""

    def __init__(self, deps: Deps, grace: timedelta):
        self.deps = deps
        self.grace = grace
        self._pauses: dict[int, list[Pause]] | None = None  # this tick's holiday pauses, read when first needed

    def new_tick(self) -> None:
        self._pauses = None

    def paused(self, p: Partnership, at: int, now: datetime) -> bool:
        """Whether a holiday pause is in force for the partnership at ``at`` (the pauses read once a tick, and
        only when something is due: those that had not ended by the look-back, from their index)."""
        if self._pauses is None:
            self._pauses = self.deps.store.partnerships.all_pauses(
                since=int((now - max(self.grace, LOOKBACK)).timestamp())
            )
        return holidays.active(self._pauses.get(p.id, ()), at) is not None

    def plan(self, item: DueSchedule, now: datetime, last: datetime | None) -> Planned:
        """Which of the schedule's fire times up to now to claim and which to skip, and its next one."""
        p, schedule = item.partnership, item.schedule
        spec, offset = spec_of(schedule), offset_of(schedule)
        floor = now - LOOKBACK
        if item.next_fire_at is None:  # resumed, or upgraded: from the last tick (or the grace period)
            start = max(datetime.fromtimestamp(schedule.set_at, UTC), last or now - self.grace, floor)
            times = fire_times(spec, p.timezone, start, now, offset_minutes=offset)
        elif item.next_fire_at < floor.timestamp():
            times = fire_times(spec, p.timezone, floor, now, offset_minutes=offset)
        else:
            first = utc(item.next_fire_at)
            times = [first, *fire_times(spec, p.timezone, first, now, offset_minutes=offset)]
        plan = Planned(p, schedule.kind, item.next_fire_at, next_fire_after(schedule, p.timezone, int(now.timestamp())))
        for at in times:
            if at <= now - self.grace:
                plan.skips.append((int(at.timestamp()), "missed by more than the grace period"))
            elif self.paused(p, int(at.timestamp()), now):
                plan.skips.append((int(at.timestamp()), "paused for a holiday"))
            elif meeting_started(item, at, now):
                # A reminder for a meeting already under way helps nobody: record the miss instead.
                plan.skips.append((int(at.timestamp()), "the meeting had already started"))
            else:
                plan.claims.append(int(at.timestamp()))
        return plan

    @staticmethod
    def log_skips(plan: Planned, logged: int) -> None:
        p = plan.p
        for n, (at, why) in enumerate(plan.skips):
            if logged - len(plan.skips) + n < SKIPS_LOGGED:
                (log.info if why == "paused for a holiday" else log.warning)(  # a holiday is no fault
                    "skipped a %s for team %s channel %s due at %s: %s",
                    plan.kind,
                    p.team_id,
                    p.channel_id,
                    utc(at).isoformat(),
                    why,
                )
        if logged > SKIPS_LOGGED and logged - len(plan.skips) <= SKIPS_LOGGED:
            log.warning("skipped more scheduled posts missed by more than the grace period (see the posts table)")

    def loop_jobs(self, now: datetime) -> list[Job]:
        """Actions' follow-ups whose time has come (sent late rather than never, within the look-back), and
        reminders to those who haven't answered; both wait while a holiday pause is in force. Each is read
        from an index (open actions by due date; partnerships that remind, their open check-ins), and those
        already settled in the ledger are dropped by one look-up each."""
        store, stamp = self.deps.store, int(now.timestamp())
        jobs: list[Job] = []
        today = now.date()
        for p, action, at_minute in store.plans.due_between(
            today - LOOKBACK - timedelta(days=1), today + timedelta(days=1)
        ):
            assert action.due_on is not None
            fire_at = plans.reminder_at(action.due_on, p.timezone, at_minute)
            if now - LOOKBACK <= fire_at <= now and not self.paused(p, stamp, now):
                jobs.append(Job(p, f"action:{action.id}", fire_at, partial(_remind, self.deps, p, action)))
        for nudge in store.nudges.due(now=stamp):
            p = nudge.partnership
            if not self.paused(p, stamp, now):
                fire_at = utc(nudge.asked_at)
                jobs.append(
                    Job(p, f"nudge:{nudge.checkin_id}", fire_at, partial(_nudge_round, self.deps, p, nudge.checkin_id))
                )
        settled = store.ledger.settled_among([job.key for job in jobs], now=stamp)
        return [job for job in jobs if job.key not in settled]

    def closing_jobs(self, now: datetime) -> list[Job]:
        """Check-ins that have closed and whose message still shows its buttons, from their index; each is
        claimed in the ledger under its closing time. One that failed every try is left as it is."""
        store, stamp = self.deps.store, int(now.timestamp())
        checkins = store.checkins.closing_due(now=stamp, limit=CLOSING_PAGE)
        by_id = {c.id: c for c in checkins}
        jobs = []
        for c in checkins:
            p = store.partnerships.get(c.team_id, c.channel_id)
            if p is not None:
                jobs.append(Job(p, f"{CLOSING}:{c.id}", utc(c.closes_at), partial(_show_closed, self.deps, c)))
        keys = [job.key for job in jobs]
        for _, kind, _ in store.ledger.given_up_among(keys):
            given_up = by_id[int(kind.split(":")[1])]
            store.checkins.shown_closed(given_up.team_id, given_up.id)
        settled = store.ledger.settled_among(keys, now=stamp)
        return [job for job in jobs if job.key not in settled]


def meeting_started(item: ScheduledPartnership | DueSchedule, fire_at: datetime, now: datetime) -> bool:
    minutes = item.schedule.remind_minutes or 0
    return item.schedule.kind == "meeting" and now > fire_at + timedelta(minutes=minutes) + MEETING_LATE


def _show_closed(deps: Deps, checkin: Checkin, client: WebClient, key: delivery.PostKey) -> None:
    posts.show_closed(deps, client, checkin)


def _remind(deps: Deps, p: Partnership, action: plans.Action, client: WebClient, key: delivery.PostKey) -> None:
    reminders.remind(deps, client, p, action, key)


def _nudge_round(deps: Deps, p: Partnership, checkin_id: int, client: WebClient, key: delivery.PostKey) -> int:
    # Direct messages, not a channel post: the key goes unused; each person is recorded before their DM.
    return reminders.send_nudges(deps, client, p, checkin_id)


def utc(stamp: int | datetime) -> datetime:
    """A stored Unix time (or a datetime already) as an aware datetime in UTC."""
    return stamp if isinstance(stamp, datetime) else datetime.fromtimestamp(stamp, UTC)
