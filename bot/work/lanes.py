"""Work for many workspaces run side by side, each workspace within its own bounds.

A :class:`Lane` runs tasks on a fixed set of threads, at most ``per_team`` at once for one workspace, so a
big batch in one workspace neither floods Slack's per-workspace limits nor holds up the others. When Slack
asks a workspace to slow down (a 429), only that workspace's tasks wait (:func:`rate_limited`, called by the
Slack client's retry handler on the thread that got it). Stopping hands back the tasks that never started, and
after a bounded wait those still running: their threads are daemons, so a Slack call that never ends can't hold
the process up.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

_current = threading.local()  # (lane, team) of the task this thread is running


@dataclass
class _Task:
    team: str
    fn: Callable[[], Any]
    tag: Any
    future: Future = field(default_factory=Future)


class Lane:
    def __init__(self, name: str, *, workers: int, per_team: int):
        self.name = name
        self.per_team = per_team
        self._workers = workers
        self._ready: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()  # tasks let run, for the threads
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[_Task]] = {}
        self._running: dict[str, int] = {}
        self._tasks: dict[int, _Task] = {}  # handed to the threads (by id): running, or about to
        self._paused_until: dict[str, float] = {}
        self._stopping = False

    def submit(self, team: str, fn: Callable[[], Any], tag: Any = None) -> Future:
        """Run ``fn`` when its workspace has room; ``tag`` is handed back by :meth:`stop` if it never starts."""
        task = _Task(team, fn, tag)
        with self._lock:
            if self._stopping:
                task.future.cancel()
                return task.future
            self._waiting.setdefault(team, deque()).append(task)
            self._start_locked(team)
        return task.future

    @property
    def busy(self) -> int:
        """Tasks waiting or running."""
        with self._lock:
            return sum(len(q) for q in self._waiting.values()) + sum(self._running.values())

    def pause(self, team: str, seconds: float) -> None:
        """Start nothing more for ``team`` for ``seconds`` (Slack said to slow down)."""
        with self._lock:
            self._paused_until[team] = max(self._paused_until.get(team, 0.0), time.monotonic() + seconds)
        timer = threading.Timer(seconds, self._resume, args=(team,))
        timer.daemon = True
        timer.start()

    def _resume(self, team: str) -> None:
        with self._lock:
            self._start_locked(team)

    def _start_locked(self, team: str) -> None:
        queue = self._waiting.get(team)
        if self._stopping or not queue or self._paused_until.get(team, 0.0) > time.monotonic():
            return
        while queue and self._running.get(team, 0) < self.per_team:
            task = queue.popleft()
            self._running[team] = self._running.get(team, 0) + 1
            self._tasks[id(task)] = task
            if len(self._threads) < self._workers and len(self._threads) < len(self._tasks):
                thread = threading.Thread(target=self._work, name=f"coprod-{self.name}-{len(self._threads)}")
                thread.daemon = True  # a post stuck in Slack must not keep a stopping process alive
                thread.start()
                self._threads.append(thread)
            self._ready.put(task)
        if not queue:
            self._waiting.pop(team, None)

    def _work(self) -> None:
        while (task := self._ready.get()) is not None:
            self._run(task)

    def _run(self, task: _Task) -> None:
        if not task.future.set_running_or_notify_cancel():
            self._finished(task)
            return
        _current.where = (self, task.team)
        try:
            task.future.set_result(task.fn())
        except BaseException as exc:  # the caller reads it from the future
            task.future.set_exception(exc)
        finally:
            _current.where = None
            self._finished(task)

    def _finished(self, task: _Task) -> None:
        team = task.team
        with self._lock:
            self._tasks.pop(id(task), None)
            self._running[team] -= 1
            if not self._running[team]:
                del self._running[team]
            self._start_locked(team)

    def stop(self) -> list[Any]:
        """Start nothing more; return the tags of the tasks that never started (their futures are cancelled).
        :meth:`wait` then gives those running a while to finish."""
        with self._lock:
            self._stopping = True
            unstarted = [task for queue in self._waiting.values() for task in queue]
            self._waiting.clear()
            # Handed to a thread but not begun: cancelled too (a task already running can't be).
            unstarted += [task for task in self._tasks.values() if task.future.cancel()]
            for _ in self._threads:
                self._ready.put(None)
        for task in unstarted:
            task.future.cancel()
        return [task.tag for task in unstarted]

    def wait(self, timeout: float) -> list[Any]:
        """After :meth:`stop`: wait up to ``timeout`` seconds for the running tasks to finish; return the tags
        of those still running. They are left to their daemon threads, which end with the process."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:  # (a task cancelled by stop() stays here until a thread is free to drop it)
                left = [task.tag for task in self._tasks.values() if not task.future.cancelled()]
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.02)


def rate_limited(seconds: float) -> None:
    """Slack answered 429 to a call made by the running task: its workspace waits ``seconds`` in that lane."""
    where = getattr(_current, "where", None)
    if where is not None:
        lane, team = where
        lane.pause(team, seconds)
