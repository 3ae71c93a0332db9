"""Scheduled work: the time-triggered twin of the listeners.

Schedules live in our own table. APScheduler runs ``Dispatcher.tick`` every few seconds; each tick
reads the table, works out which fire times fell due within the grace period, claims each
(partnership, kind, fire time) in the database before posting (so a post happens once, across
restarts and even with a second process on the same database) and posts it late if need be.
The post carries its claim in Slack's message metadata, so a claim taken up again (after a failure or
a crash) first looks for an earlier attempt's message in the channel (bot/delivery.py).
Fire times older than the grace period are skipped and logged, and so are fire times inside a holiday pause.
The same tick sends actions' due-date follow-ups and the reminders to those who haven't answered a check-in
(bot/reminders.py), each claimed in the same ledger; both wait while a holiday pause is in force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import delivery, holidays, plans, posts, reminders
from bot.deps import Deps
from bot.holidays import Pause
from bot.schedule import fire_times, offset_of, spec_of
from bot.store import Partnership, ScheduledPartnership

log = logging.getLogger(__name__)
LAST_TICK = "last_tick"
# How far back a restart looks for fire times it missed, to log them as skipped.
LOOKBACK = timedelta(days=35)
# Scheduled posts made at once; a slow or failing team never holds up the others.
POST_WORKERS = 4
# A meeting reminder still goes out this long after the meeting's start (ticks are not exact); later, never.
MEETING_LATE = timedelta(minutes=5)
# A check-in still posting this long after it was asked has been given up on (its claim is out of grace).
UNPOSTED_GIVE_UP = timedelta(days=1)


# A post to make: whose, its kind and fire time (its key in the ledger), and how to make it (with the
# workspace's client).
Job = tuple[Partnership, str, datetime, Callable[[WebClient, delivery.PostKey], object]]


@dataclass(frozen=True)
class Fired:
    team: str
    channel: str
    kind: str
    fire_at: datetime
    status: str


class Dispatcher:
    def __init__(self, deps: Deps, client_for: Callable[[str], WebClient | None], *, grace: timedelta):
        """``client_for``: a workspace's Web API client (its own token in several-workspace mode), or None when
        coprod is not installed there: its posts wait, unclaimed, until it is (within the grace period)."""
        self.deps = deps
        self.client_for = client_for
        self.grace = grace
        # Long-lived, so the threads (and their database connections) are made once.
        self.pool = ThreadPoolExecutor(max_workers=POST_WORKERS, thread_name_prefix="coprod-post")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def tick(self) -> list[Fired]:
        """Post everything due now (claimed first); returns what this call did.

        Posts run side by side, so one partnership whose Slack calls are slow or failing doesn't
        hold up the others."""
        now = self.deps.now()
        store = self.deps.store
        last_text = store.ledger.meta(LAST_TICK)
        last = datetime.fromisoformat(last_text) if last_text else None
        done: list[Fired] = []
        due: list[Job] = []
        # One read tells which fire times are already dealt with, so a tick writes only for new work.
        settled = store.ledger.settled_posts(
            since=int((now - max(self.grace, LOOKBACK)).timestamp()) - 86_400, now=int(now.timestamp())
        )
        pauses = store.partnerships.all_pauses(since=int((now - max(self.grace, LOOKBACK)).timestamp()))
        for item in store.partnerships.active_schedules():
            p = item.partnership
            spec, offset = spec_of(item.schedule), offset_of(item.schedule)
            set_at = datetime.fromtimestamp(item.schedule.set_at, UTC)
            if last is not None and last < now - self.grace:
                for missed in fire_times(
                    spec, p.timezone, max(last, now - LOOKBACK, set_at), now - self.grace, offset_minutes=offset
                ):
                    if (p.id, item.schedule.kind, int(missed.timestamp())) not in settled:
                        done += self._skip(item, missed, now, "missed by more than the grace period")
            for fire_at in fire_times(spec, p.timezone, max(now - self.grace, set_at), now, offset_minutes=offset):
                if (p.id, item.schedule.kind, int(fire_at.timestamp())) in settled:
                    continue
                if holidays.active(pauses.get(p.id, ()), int(fire_at.timestamp())):
                    done += self._skip(item, fire_at, now, "paused for a holiday")
                elif item.schedule.kind == "meeting" and now > fire_at - timedelta(minutes=offset) + MEETING_LATE:
                    # A reminder for a meeting already under way helps nobody: record the miss instead.
                    done += self._skip(item, fire_at, now, "the meeting had already started")
                else:
                    due.append((p, item.schedule.kind, fire_at, partial(self._post, item, fire_at)))
        due += self._loop_jobs(now, settled, pauses)
        clients = {team: self.client_for(team) for team in {p.team_id for p, *_ in due}}
        work = [(job, clients[job[0].team_id]) for job in due]
        for fired in self.pool.map(lambda w: self._claimed(*w[0], client=w[1], now=now) if w[1] else None, work):
            if fired:
                done.append(fired)
        store.ledger.set_meta(LAST_TICK, now.isoformat())
        return done

    def _loop_jobs(
        self, now: datetime, settled: set[tuple[int, str, int]], pauses: dict[int, list[Pause]]
    ) -> list[Job]:
        """Actions' follow-ups whose time has come (sent late rather than never, within the look-back), and
        reminders to those who haven't answered; both wait while a holiday pause is in force."""
        store, stamp = self.deps.store, int(now.timestamp())
        jobs: list[Job] = []
        today = now.date()
        for p, action, at_minute in store.plans.due_between(
            today - LOOKBACK - timedelta(days=1), today + timedelta(days=1)
        ):
            assert action.due_on is not None
            fire_at = plans.reminder_at(action.due_on, p.timezone, at_minute)
            kind = f"action:{action.id}"
            if not now - LOOKBACK <= fire_at <= now or (p.id, kind, int(fire_at.timestamp())) in settled:
                continue
            if not holidays.active(pauses.get(p.id, ()), stamp):
                jobs.append((p, kind, fire_at, partial(self._remind, p, action)))
        for nudge in store.nudges.due(now=stamp):
            p, kind = nudge.partnership, f"nudge:{nudge.checkin_id}"
            if (p.id, kind, nudge.asked_at) in settled or holidays.active(pauses.get(p.id, ()), stamp):
                continue
            fire_at = datetime.fromtimestamp(nudge.asked_at, UTC)
            jobs.append((p, kind, fire_at, partial(self._nudge_round, p, nudge.checkin_id)))
        return jobs

    def _remind(self, p: Partnership, action: plans.Action, client: WebClient, key: delivery.PostKey) -> None:
        reminders.remind(self.deps, client, p, action, key)

    def _nudge_round(self, p: Partnership, checkin_id: int, client: WebClient, key: delivery.PostKey) -> int:
        # Direct messages, not a channel post: the key goes unused; each person is recorded before their DM.
        return reminders.send_nudges(self.deps, client, p, checkin_id)

    def _skip(self, item: ScheduledPartnership, fire_at: datetime, now: datetime, why: str) -> list[Fired]:
        """Record a fire time that won't be posted (once), and log it."""
        store, p, kind = self.deps.store, item.partnership, item.schedule.kind
        stamp = int(fire_at.timestamp())
        if not store.ledger.claim_post(p, kind=kind, fire_at=stamp, now=int(now.timestamp())):
            return []
        store.ledger.finish_post(p, kind=kind, fire_at=stamp, status="skipped", detail=why)
        log.warning(
            "skipped a %s for team %s channel %s due at %s: %s", kind, p.team_id, p.channel_id, fire_at.isoformat(), why
        )
        return [Fired(p.team_id, p.channel_id, kind, fire_at, "skipped")]

    def _claimed(
        self,
        p: Partnership,
        kind: str,
        fire_at: datetime,
        post: Callable[[WebClient, delivery.PostKey], object],
        *,
        client: WebClient,
        now: datetime,
    ) -> Fired | None:
        """Claim one post in the ledger and make it (``post`` gets its key); a claim someone holds is left alone."""
        store = self.deps.store
        stamp = int(fire_at.timestamp())
        attempt = store.ledger.claim_post(p, kind=kind, fire_at=stamp, now=int(now.timestamp()))
        if not attempt:
            return None
        status, detail = "posted", ""
        try:
            post(client, delivery.scheduled(p.id, kind, stamp, attempt))
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            status, detail = "failed", error
            posts.pause_for_error(self.deps, client, p, error)
            log.warning(
                "a scheduled %s for team %s channel %s could not be posted: %s", kind, p.team_id, p.channel_id, error
            )
        except delivery.NotPosted as exc:  # tried again on a later tick, looking first
            status, detail = "failed", "no answer from Slack"
            log.warning("a scheduled %s for team %s channel %s: %s", kind, p.team_id, p.channel_id, exc)
        except Exception as exc:  # one partnership's trouble must not stop the others' posts
            status, detail = "failed", type(exc).__name__
            log.exception("a scheduled %s for team %s channel %s failed", kind, p.team_id, p.channel_id)
        store.ledger.finish_post(p, kind=kind, fire_at=stamp, status=status, detail=detail)
        return Fired(p.team_id, p.channel_id, kind, fire_at, status)

    def _post(self, item: ScheduledPartnership, fire_at: datetime, client: WebClient, key: delivery.PostKey) -> None:
        p, kind = item.partnership, item.schedule.kind
        if kind == "checkins":
            posts.post_checkin(self.deps, client, p, scheduled=True, key=key)
        elif kind == "summary":
            title = "Our regular summary: how we're doing"
            posts.post_summary(self.deps, client, p, title=title, key=key, scheduled=True, picture=True)
        elif kind == "reflexivity":
            posts.send_reflexivity(self.deps, client, p, key=key)
        elif kind == "meeting":
            remind = item.schedule.remind_minutes or 0
            posts.post_meeting_reminder(self.deps, client, p, fire_at + timedelta(minutes=remind), remind, key=key)

    def purge(self) -> int:
        """Apply each partnership's comment retention setting, and sweep check-ins nobody is posting any more."""
        now = self.deps.now()
        self.deps.store.answers.sweep_unposted(before=int((now - max(self.grace, UNPOSTED_GIVE_UP)).timestamp()))
        return self.deps.store.answers.purge_old_comments(now=self.deps.stamp())
