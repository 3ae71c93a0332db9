"""Work that follows an acknowledgement: private replies and message updates, off the request thread.

Slack wants its acknowledgement within 3 seconds; the answer is already committed by then. What
follows (telling the person what was recorded, updating a check-in's count) runs here, on a few
long-lived worker threads, so the request thread returns at once. Updates that only need the latest
state (a check-in's count) wait a moment and are coalesced: while one is waiting, a newer one replaces
it, so a whole team clicking at once costs one message update, not one per click.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)
_STOP = object()


class FollowUps:
    def __init__(self, workers: int = 4):
        self._workers = workers
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._latest: dict[Hashable, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._timers: dict[Hashable, threading.Timer] = {}
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` soon, on a worker thread."""
        self._start()
        self._queue.put(job)

    def submit_latest(self, key: Hashable, job: Callable[[], None], *, delay: float = 0.0) -> None:
        """Run ``job`` after ``delay`` seconds; a job with the same key still waiting is replaced by this one."""
        self._start()
        with self._lock:
            waiting = key in self._latest
            self._latest[key] = job
            if waiting:
                return
            if delay > 0 and not self._closed:
                timer = threading.Timer(delay, self._due, args=(key,))
                timer.daemon = True
                self._timers[key] = timer
                timer.start()
                return
        self._queue.put(key)

    def _due(self, key: Hashable) -> None:
        with self._lock:  # under the lock, so close() can't slip its stop signal in ahead of this key
            if self._timers.pop(key, None) is not None:
                self._queue.put(key)

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout``), then stop the workers."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            timers, self._timers = self._timers, {}
        for key, timer in timers.items():  # delayed jobs run now rather than never
            timer.cancel()
            self._queue.put(key)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for n in range(self._workers):
                thread = threading.Thread(target=self._work, name=f"coprod-followup-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if callable(item):
                job = item
            else:
                with self._lock:
                    job = self._latest.pop(item, None)
                if job is None:
                    continue
            try:
                job()
            except Exception:  # one failed reply must not stop the others
                log.exception("work after an acknowledgement failed")
