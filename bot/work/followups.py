"""Work that follows an acknowledgement: the one place it runs, off the request thread.

Slack wants its acknowledgement within 3 seconds; whatever must be durable is committed before it.
What follows (posting a check-in, answering through a response_url, updating a check-in's count)
is handed here as a :class:`FollowUp`, a closure carrying its own data, and runs on a few long-lived
worker threads. HTTP and Socket Mode hand over the same way.

Opening a modal has a lane of its own (:meth:`FollowUps.open_modal`): its trigger id expires 3 seconds
after the click, so it must not queue behind an upload, a 429's wait or a slow page of Slack's on the
workers above. Whatever is slow to fill the modal in is done afterwards, here, with ``views.update``.

Updates that only need the latest state (a check-in's count) wait a moment and are coalesced: while
one is waiting, a newer one replaces it, so a whole team clicking at once costs one message update.

A follow-up that fails, or that is still waiting when the process stops, is never silent: it is
logged with the partnership and what was lost, and the person is told, kindly, to try again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass

from bot.work.lanes import Lane

log = logging.getLogger(__name__)
_STOP = object()
WORKERS = 4  # the workers that carry out what follows acknowledgements
# Threads that only open modals (views.open is quick: anything slow comes after, on the workers), and how many
# of them one workspace may hold, so a burst of clicks in one workspace leaves room for the others' forms.
MODAL_WORKERS = 8
MODALS_PER_WORKSPACE = 6


@dataclass(frozen=True)
class FollowUp:
    """One piece of work after an acknowledgement.

    ``what`` names it for the log ("post a check-in"); ``team`` and ``channel`` say whose it is;
    ``apologise`` tells the person it didn't happen (it must not raise into the caller's hands: it is
    guarded here)."""

    run: Callable[[], object]
    what: str
    team: str = ""
    channel: str = ""
    apologise: Callable[[], object] | None = None


class FollowUps:
    def __init__(self, workers: int = WORKERS):
        self._workers = workers
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._latest: dict[Hashable, FollowUp] = {}
        self._last_start: dict[Hashable, float] = {}  # leading keys: when their last job was let run
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # queued, waiting on a delay, or running
        self._threads: list[threading.Thread] = []
        # Delayed keys wait here, on one clock thread (a thread per delay cost 12% of a click's ack).
        self._delayed: dict[Hashable, float] = {}  # key -> when it is due (time.monotonic)
        self._due_order: list[tuple[float, int, Hashable]] = []  # a heap; entries for released keys are stale
        self._order = itertools.count()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._modals = Lane("modal", workers=MODAL_WORKERS, per_team=MODALS_PER_WORKSPACE)

    def submit(self, job: FollowUp) -> None:
        """Run ``job`` soon, on a worker thread."""
        if not self._taken(job):
            return
        self._start()
        self._queue.put(job)

    def _taken(self, job: FollowUp) -> bool:
        """Whether ``job`` is counted as pending (False, and the person told, once the bot is stopping)."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._pending += 1
        if closed:
            self._lost(job, "the bot was stopping")
        return not closed

    def open_modal(self, job: FollowUp) -> None:
        """Run ``job`` (a ``views.open``, and nothing slow) at once, on the modal lane: a trigger id works for
        3 seconds after the click (https://docs.slack.dev/reference/methods/views.open), and nothing queued on
        the workers (uploads, 429 waits, pages of members) may hold it up."""
        if not self._taken(job):
            return
        future = self._modals.submit(job.team, lambda: _run(job), tag=job)
        future.add_done_callback(lambda done: self._modal_done(job, done))

    def _modal_done(self, job: FollowUp, done: Future) -> None:
        if done.cancelled():  # the lane stopped before it began
            self._lost(job, "the bot stopped before it ran")
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def submit_latest(self, key: Hashable, job: FollowUp, *, delay: float = 0.0, leading: bool = False) -> None:
        """Run ``job`` after ``delay`` seconds; a job with the same key still waiting is replaced by this one.

        ``leading``: run at once when no job for ``key`` was let run in the last ``delay`` seconds, and otherwise
        ``delay`` after the last one: the first of a burst shows at once, the rest collapse into one more."""
        with self._lock:
            closed = self._closed
            if not closed and leading and key not in self._latest:
                delay = self._leading_delay(key, delay)
            waiting = closed or self._keep_latest(key, job, delay)
        if closed:
            self._lost(job, "the bot was stopping")
            return
        self._start()
        if not waiting:
            self._queue.put(key)

    def _leading_delay(self, key: Hashable, window: float) -> float:
        """Under the lock: how long a leading job for ``key`` waits (0: run now), noting when it will start."""
        now = time.monotonic()
        if len(self._last_start) > 10_000:  # forget keys long quiet
            self._last_start = {k: t for k, t in self._last_start.items() if now - t < window}
        last = self._last_start.get(key)
        wait = 0.0 if last is None or now - last >= window else last + window - now
        self._last_start[key] = now + wait
        return wait

    def _keep_latest(self, key: Hashable, job: FollowUp, delay: float) -> bool:
        """Under the lock: keep ``job`` as the one to run for ``key``; True if it needn't be queued now
        (one is already waiting for that key, or a timer will queue it)."""
        waiting = key in self._latest
        self._latest[key] = job
        if waiting:
            return True
        self._pending += 1
        if delay > 0:
            due = time.monotonic() + delay
            self._delayed[key] = due
            heapq.heappush(self._due_order, (due, next(self._order), key))
            self._wake.notify()
            return True
        return False

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._pending == 0

    def drain(self, timeout: float = 10.0) -> bool:
        """Run delayed jobs now and wait until nothing is queued or running; False if ``timeout`` passed first."""
        self._release_timers()
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout``), then stop the workers; report anything left undone."""
        self._release_timers()
        with self._lock:
            self._closed = True
            self._wake.notify()
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        deadline = time.monotonic() + timeout
        self._modals.stop()  # those never begun are cancelled, and reported by _modal_done
        self._modals.wait(timeout)  # those still opening are left to their daemon threads
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while True:  # whatever the workers didn't reach (or, with no workers, everything) is lost
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            job = self._take(item)
            if job is not None:
                self._lost(job, "the bot stopped before it ran")

    def _release_timers(self) -> None:
        """Queue every delayed key now."""
        with self._lock:
            keys = list(self._delayed)
            self._delayed.clear()
            self._due_order.clear()
        self._start()
        for key in keys:
            self._queue.put(key)

    def _clock(self) -> None:
        """Queue each delayed key when it falls due."""
        with self._lock:
            while not self._closed:
                now = time.monotonic()
                while self._due_order and self._due_order[0][0] <= now:
                    due, _, key = heapq.heappop(self._due_order)
                    if self._delayed.get(key) == due:  # not released by a drain meanwhile
                        del self._delayed[key]
                        self._queue.put(key)
                self._wake.wait(self._due_order[0][0] - now if self._due_order else None)

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for n in range(self._workers):
                thread = threading.Thread(target=self._work, name=f"coprod-followup-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)
            clock = threading.Thread(target=self._clock, name="coprod-followup-clock", daemon=True)
            clock.start()

    def _take(self, item: object) -> FollowUp | None:
        """The job behind a queue item (a keyed item may have nothing left to run)."""
        if isinstance(item, FollowUp):
            return item
        with self._lock:
            return self._latest.pop(item, None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            job = self._take(item)
            try:
                if job is not None:
                    _run(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _lost(self, job: FollowUp, why: str) -> None:
        log.error("could not %s for team %s channel %s: %s", job.what, job.team or "?", job.channel or "?", why)
        _apologise(job)


def _run(job: FollowUp) -> None:
    try:
        job.run()
    except OSError as exc:  # Slack (or a response URL) didn't answer: no fault of coprod's, so no traceback
        log.warning(
            "could not %s for team %s channel %s after acknowledging it: %s",
            job.what,
            job.team or "?",
            job.channel or "?",
            type(exc).__name__,
        )
        _apologise(job)
    except Exception:  # one failed follow-up must not stop the others; the person hears it didn't happen
        log.exception(
            "could not %s for team %s channel %s after acknowledging it", job.what, job.team or "?", job.channel or "?"
        )
        _apologise(job)


def _apologise(job: FollowUp) -> None:
    if job.apologise is None:
        return
    try:
        job.apologise()
    except Exception:
        log.exception("could not tell the person that %s failed (team %s)", job.what, job.team or "?")
