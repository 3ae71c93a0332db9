"""Scheduled work: the time-triggered twin of the listeners.

Schedules live in our own table, each with its next fire time (indexed), so a tick reads only what is
due: APScheduler runs ``Dispatcher.tick`` every few seconds, and with nothing due it reads two indexes and
writes one row, however many partnerships there are. For each due schedule the tick works out which fire
times fell due within the grace period, and in one transaction per batch claims each (partnership, kind,
fire time) in the database (so a post happens once, across restarts and even with a second process on the
same database), records the fire times older than the grace period as skipped, and moves the schedule on
to its next fire time. Claims that failed, or whose process vanished, are read back from the ledger's
index of open claims and tried again while still within the grace period.

The posts themselves run in lanes (bot/work/lanes.py), many workspaces side by side and each within its bounds;
meeting reminders have a lane of their own, so they never wait behind a batch of check-ins. A post carries
its claim in Slack's message metadata, so a claim taken up again (after a failure or a crash) first looks
for an earlier attempt's message in the channel (bot/slack/delivery.py). Stopping gives back the claims whose
post never started, waits a few seconds for the posts under way, and leaves any still waiting on Slack as a
failed attempt, so the next start posts each once (looking first for the message an attempt may have made).

Fire times inside a holiday pause are recorded as skipped as the schedule moves past them. The same tick
sends actions' due-date follow-ups and the reminders to those who haven't answered a check-in
(bot/slack/reminders.py), each claimed in the same ledger; both wait while a holiday pause is in force. It also
shows check-ins closed once they close (bot/slack/posts.py ``show_closed``), claimed in the ledger too, in the
chores lane, never holding up a post. A
workspace with no client (coprod not installed there) has its posts wait, unclaimed, until it has one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.runtime.due import CLOSING, LOOKBACK, Due, Job, Source, meeting_started, utc
from bot.slack import delivery, posts
from bot.slack.deps import Deps
from bot.store import DueSchedule, Partnership, ScheduledPartnership
from bot.store.answers import purge_old_comments
from bot.store.db import background
from bot.work.lanes import Lane

log = logging.getLogger(__name__)
LAST_TICK = "last_tick"
# Scheduled posts made at once, in all; and at once for one workspace (Slack limits each workspace).
POST_WORKERS = 32
POSTS_PER_WORKSPACE = 3
# Meeting reminders' own lane, so they never wait behind a batch of check-ins.
URGENT_WORKERS = 4
# Reflection prompts (one DM each) sent at once, in all; and at once for one workspace (bot/slack/posts.py).
DM_WORKERS = 16
DMS_PER_WORKSPACE = 4
# Due schedules read per query (a long downtime's backlog is read a page at a time).
DUE_PAGE = 5_000
# A check-in still posting this long after it was asked has been given up on (its claim is out of grace).
UNPOSTED_GIVE_UP = timedelta(days=1)
# How long stopping waits for posts already under way (SIGTERM must end the process within 10 s).
STOP_WAIT = 6.0
# Channels' member counts are refreshed after a scheduled check-in, off its path, at most this often.
MEMBERS_EVERY = 86_400.0


@dataclass(frozen=True)
class Fired:
    team: str
    channel: str
    kind: str
    fire_at: datetime
    status: str


@dataclass(frozen=True)
class Stopped:
    """What stopping left for the next start: claims given back before their post began, and posts still
    waiting on Slack (each looked for in its channel before it is posted again)."""

    given_back: int
    under_way: int


class Dispatcher:
    def __init__(self, deps: Deps, client_for: Callable[[str], WebClient | None], *, grace: timedelta):
        """``client_for``: a workspace's Web API client (its own token in several-workspace mode), or None when
        coprod is not installed there: its posts wait, unclaimed, until it is (within the grace period)."""
        self.deps = deps
        self.client_for = client_for
        self.grace = grace
        self.due = Due(deps, grace)
        self.sources: list[Source] = [self.due.loop_jobs, self.due.closing_jobs]
        # Long-lived, so the threads (and their database connections) are made once.
        self.bulk = Lane("post", workers=POST_WORKERS, per_team=POSTS_PER_WORKSPACE)
        self.urgent = Lane("remind", workers=URGENT_WORKERS, per_team=URGENT_WORKERS)
        self.chores = Lane("members", workers=2, per_team=1)
        self.dms = Lane("dm", workers=DM_WORKERS, per_team=DMS_PER_WORKSPACE)
        self._in_flight: set[tuple[int, str, int]] = set()
        self._members_at: dict[int, float] = {}
        self._stop_lock = threading.Lock()
        self._stopping = False
        self._given_back = 0  # claims given back by stopping

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop_posting(self) -> None:
        """Start no more posts, and give back the claims of those that never started: they are claimed again,
        as the same attempt, by the next start (without looking in the channel: nothing was sent)."""
        with self._stop_lock:
            if self._stopping:
                return
            self._stopping = True
        unstarted = [job for lane in (self.urgent, self.bulk) for job in lane.stop() if isinstance(job, Job)]
        self.chores.stop()
        self.dms.stop()  # a round under way sends no more prompts: its members not yet prompted miss it
        self._release([job for job in unstarted if job.attempt])

    def close(self, timeout: float = STOP_WAIT) -> Stopped:
        """Stop posting (:meth:`stop_posting`), give the posts under way up to ``timeout`` seconds to finish,
        and leave those still waiting on Slack as failed attempts: the next start takes each up again as a
        later attempt, which first looks in the channel for the message (bot/slack/delivery.py), so each is posted
        once. A post's thread is a daemon: one stuck in Slack ends with the process."""
        self.stop_posting()
        deadline = time.monotonic() + timeout
        under_way = [job for lane in (self.urgent, self.bulk) for job in lane.wait(deadline - time.monotonic())]
        self.chores.wait(0)
        self.dms.wait(0)
        left = [job.key for job in under_way if isinstance(job, Job)]
        if left:
            self.deps.store.ledger.abandon_posts(left)
        return Stopped(given_back=self._given_back, under_way=len(left))

    def _release(self, jobs: list[Job]) -> None:
        if jobs:
            self.deps.store.ledger.release_posts([job.key for job in jobs])
            with self._stop_lock:
                self._given_back += len(jobs)

    def tick(self, *, wait: bool = True) -> list[Fired]:
        """Claim everything due now and post it; returns what this call did. ``wait=False`` (the running
        scheduler) returns once the posts are handed to their lanes, with only the skips.

        Posts run side by side, so one partnership whose Slack calls are slow or failing doesn't
        hold up the others."""
        if self._stopping:
            return []
        now = self.deps.now()
        store = self.deps.store
        last_text = store.ledger.meta(LAST_TICK)
        last = datetime.fromisoformat(last_text) if last_text else None
        skipped: list[Fired] = []
        jobs: list[Job] = []
        clients: dict[str, WebClient | None] = {}
        self.due.new_tick()
        # Workspaces with no client: a schedule of theirs with a fire time to post stays due, unclaimed (and
        # the rest of their schedules wait for the next tick); one with only skips moves on.
        absent: set[str] = set()
        futures: list[Future] = []
        taken: set[tuple[int, str, int]] = set()  # claimed by this tick: one that failed at once waits for the next
        while not self._stopping:
            page = store.partnerships.due_schedules(now=int(now.timestamp()), limit=DUE_PAGE, leave_out=absent)
            if not page:
                break
            planned = [
                plan
                for plan in (self.due.plan(item, now, last) for item in page)
                if self._client(clients, plan.p.team_id) or not plan.claims
            ]
            absent |= {team for team, client in clients.items() if client is None}
            by_key = {(i.partnership.id, i.schedule.kind): i for i in page}
            claimed_jobs: list[Job] = []
            for plan, claimed in store.ledger.take_due(planned, now=int(now.timestamp())):
                skipped += [
                    Fired(plan.p.team_id, plan.p.channel_id, plan.kind, utc(at), "skipped") for at, _ in plan.skips
                ]
                self.due.log_skips(plan, len(skipped))
                claimed_jobs += [self._job(by_key[plan.p.id, plan.kind], utc(at), attempt=1) for at in claimed]
            # Posted while the next page is read and its misses written (a long downtime's backlog).
            futures += [self._submit(job, clients[job.p.team_id], now) for job in claimed_jobs]
            taken |= {job.key for job in claimed_jobs}
            if len(page) < DUE_PAGE:
                break
        for item, stamp in store.ledger.open_claims(
            since=int((now - self.grace).timestamp()), now=int(now.timestamp())
        ):
            key = (item.partnership.id, item.schedule.kind, stamp)
            if key in self._in_flight or key in taken or not self._client(clients, item.partnership.team_id):
                continue
            if meeting_started(item, utc(stamp), now):
                skipped += self._skip(item, utc(stamp), now, "the meeting had already started")
            elif self.due.paused(item.partnership, stamp, now):
                skipped += self._skip(item, utc(stamp), now, "paused for a holiday")
            else:
                jobs.append(self._job(item, utc(stamp)))
        for source in self.sources:
            jobs += [
                job for job in source(now) if job.key not in self._in_flight and self._client(clients, job.p.team_id)
            ]
        futures += [self._submit(job, clients[job.p.team_id], now) for job in jobs]
        store.ledger.set_meta(LAST_TICK, now.isoformat())
        if not wait:
            return skipped
        done = list(skipped)
        for future in futures:
            try:
                fired = future.result()
            except CancelledError:  # stopping
                continue
            if fired and not fired.kind.startswith(CLOSING):  # a message's update, not a post
                done.append(fired)
        return done

    def _client(self, clients: dict[str, WebClient | None], team: str) -> WebClient | None:
        if team not in clients:
            clients[team] = self.client_for(team)
        return clients[team]

    def _job(self, item: ScheduledPartnership | DueSchedule, fire_at: datetime, *, attempt: int = 0) -> Job:
        scheduled = ScheduledPartnership(item.partnership, item.schedule)
        return Job(item.partnership, item.schedule.kind, fire_at, partial(self._post, scheduled, fire_at), attempt)

    def _submit(self, job: Job, client: WebClient | None, now: datetime) -> Future:
        assert client is not None  # jobs of workspaces with no client are left out before
        self._in_flight.add(job.key)
        # Showing a check-in closed is a chore: it never holds up a post.
        lane = self.urgent if job.kind == "meeting" else self.chores if job.kind.startswith(CLOSING) else self.bulk
        future = lane.submit(job.p.team_id, partial(background, self._claimed, job, client, now), tag=job)
        future.add_done_callback(lambda _: self._in_flight.discard(job.key))
        if future.cancelled() and job.attempt:  # the lane has stopped (a tick racing the stop)
            self._release([job])
        return future

    def _skip(self, item: ScheduledPartnership, fire_at: datetime, now: datetime, why: str) -> list[Fired]:
        """Record a fire time that won't be posted (once), and log it."""
        store, p, kind = self.deps.store, item.partnership, item.schedule.kind
        stamp = int(fire_at.timestamp())
        if not store.ledger.claim_post(p, kind=kind, fire_at=stamp, now=int(now.timestamp())):
            return []
        store.ledger.finish_post(p, kind=kind, fire_at=stamp, status="skipped", detail=why)
        (log.info if why == "paused for a holiday" else log.warning)(  # a holiday is no fault
            "skipped a %s for team %s channel %s due at %s: %s", kind, p.team_id, p.channel_id, fire_at.isoformat(), why
        )
        return [Fired(p.team_id, p.channel_id, kind, fire_at, "skipped")]

    def _claimed(self, job: Job, client: WebClient, now: datetime) -> Fired | None:
        """Make one post, claiming it first unless the tick already has (a claim someone holds is left alone)."""
        store, p, kind = self.deps.store, job.p, job.kind
        stamp = int(job.fire_at.timestamp())
        attempt = job.attempt or store.ledger.claim_post(p, kind=kind, fire_at=stamp, now=int(now.timestamp()))
        if not attempt:
            return None
        status, detail = "posted", ""
        try:
            job.post(client, delivery.scheduled(p.id, kind, stamp, attempt))
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
        except delivery.LookLater as exc:
            # The post may be in the channel: nothing is undone, and the claim waits out Slack's Retry-After
            # without spending a try, then looks again (within the grace period, like any open claim).
            store.ledger.postpone_post(
                p, kind=kind, fire_at=stamp, until=self.deps.stamp() + int(exc.after + 0.999), detail=str(exc)
            )
            log.warning("a scheduled %s for team %s channel %s: %s", kind, p.team_id, p.channel_id, exc)
            return Fired(p.team_id, p.channel_id, kind, job.fire_at, "unknown")
        except Exception as exc:  # one partnership's trouble must not stop the others' posts
            status, detail = "failed", type(exc).__name__
            log.exception("a scheduled %s for team %s channel %s failed", kind, p.team_id, p.channel_id)
        store.ledger.finish_post(p, kind=kind, fire_at=stamp, status=status, detail=detail)
        if status == "posted" and kind == "checkins":
            self._refresh_members(p, client)
        return Fired(p.team_id, p.channel_id, kind, job.fire_at, status)

    def _refresh_members(self, p: Partnership, client: WebClient) -> None:
        """Count the channel's members again (for participation), at most daily, off the posting path."""
        if time.monotonic() - self._members_at.get(p.id, -MEMBERS_EVERY) < MEMBERS_EVERY:
            return
        self._members_at[p.id] = time.monotonic()
        self.chores.submit(p.team_id, partial(background, posts.refresh_members, self.deps, client, p))

    def _post(self, item: ScheduledPartnership, fire_at: datetime, client: WebClient, key: delivery.PostKey) -> None:
        p, kind = item.partnership, item.schedule.kind
        if kind == "checkins":
            posts.post_checkin(self.deps, client, p, scheduled=True, key=key)
        elif kind == "summary":
            title = "Our regular summary: how we're doing"
            posts.post_summary(self.deps, client, p, title=title, key=key, scheduled=True, picture=True)
        elif kind == "reflexivity":
            posts.send_reflexivity(self.deps, client, p, key=key, lane=self.dms)
        elif kind == "meeting":
            remind = item.schedule.remind_minutes or 0
            posts.post_meeting_reminder(self.deps, client, p, fire_at + timedelta(minutes=remind), remind, key=key)

    def purge(self) -> int:
        """Apply each partnership's comment retention setting, sweep check-ins nobody is posting any more, and
        forget posted and skipped fire times long past."""
        now = self.deps.now()
        self.deps.store.checkins.sweep_unposted(before=int((now - max(self.grace, UNPOSTED_GIVE_UP)).timestamp()))
        self.deps.store.ledger.prune_posts(before=int((now - 2 * LOOKBACK).timestamp()))
        return purge_old_comments(self.deps.store.db, now=self.deps.stamp())
