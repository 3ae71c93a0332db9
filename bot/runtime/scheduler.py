"""Scheduled work: APScheduler's four jobs around the :class:`~bot.runtime.jobs.Dispatcher`.

The tick (what is due, posted in its lanes), a checkpoint every second (commits reach the disk,
bot/store/db.py), the retention purge every 6 hours, and, with several workspaces, the erasure of those that
removed coprod. They run in the worker process (bot/runtime/worker.py); tests drive them in their own process
(:meth:`bot.runtime.run.Runtime.start_scheduler`). :func:`open_parts` opens what a process's work shares.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.domain.catalog import load_catalog
from bot.runtime.jobs import Dispatcher
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.deps import Deps, utcnow
from bot.slack.installs import Installations, erase_due
from bot.store import Store

log = logging.getLogger(__name__)
# Commits are synced to the disk at checkpoints (bot/store/db.py): at most this long after their ack.
FLUSH_EVERY = 1.0


class Scheduled:
    """The scheduled jobs around one Dispatcher, started and stopped together."""

    def __init__(self, settings: Settings, deps: Deps, client_for: Callable[[str], WebClient | None]):
        self.settings = settings
        self.deps = deps
        self.dispatcher = Dispatcher(deps, client_for, grace=timedelta(hours=settings.grace_hours))
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self._jobs_idle = threading.Condition()
        self._jobs_running = 0  # jobs (the tick, retention, erasure) running now

    def start(self) -> None:
        now = datetime.now().astimezone()
        self.scheduler.add_job(
            self._tick, IntervalTrigger(seconds=self.settings.tick_seconds), id="tick", next_run_time=now
        )
        self.scheduler.add_job(self._flush, IntervalTrigger(seconds=FLUSH_EVERY), id="flush", misfire_grace_time=None)
        self.scheduler.add_job(self._purge, IntervalTrigger(hours=6), id="retention")
        if self.deps.installations is not None:
            self.scheduler.add_job(self._erase, IntervalTrigger(hours=1), id="erase", next_run_time=now)
        self.scheduler.start()

    def erase_removed(self) -> list[str]:
        """Erase the data of workspaces that removed coprod and whose grace period is over."""
        return erase_due(self.deps.store, now=self.deps.stamp())

    def stop_starting(self, timeout: float) -> None:
        """Start no more jobs or posts (claims of posts not begun are given back), and give a job still running
        up to ``timeout`` seconds."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.dispatcher.stop_posting()  # a tick still running hands nothing more to the lanes
        with self._jobs_idle:
            self._jobs_idle.wait_for(lambda: self._jobs_running == 0, timeout)

    @contextlib.contextmanager
    def _running(self, what: str) -> Iterator[None]:
        """A job's run, counted so stopping can wait for it; a failure is logged and the next run tries again
        (one cut short by stopping, quietly)."""
        with self._jobs_idle:
            self._jobs_running += 1
        try:
            yield
        except Exception:
            if not self.dispatcher.stopping:
                log.exception("%s failed", what)
        finally:
            with self._jobs_idle:
                self._jobs_running -= 1
                self._jobs_idle.notify_all()

    def _tick(self) -> None:
        with self._running("the scheduler's tick"):
            self.dispatcher.tick(wait=False)  # posts run in their lanes; the next tick is not held up

    def _flush(self) -> None:
        with self._running("syncing the database to the disk"):
            self.deps.store.db.flush()

    def _purge(self) -> None:
        with self._running("applying the retention settings"):
            self.dispatcher.purge()

    def _erase(self) -> None:
        with self._running("erasing the data of removed workspaces"):
            self.erase_removed()


@dataclasses.dataclass(frozen=True)
class Parts:
    """What a coprod process opens from its settings: the store and the rest of what its work shares, the one
    bot token's client, and in several-workspace mode the installations."""

    deps: Deps
    client: WebClient
    installations: Installations | None

    def client_for(self, team: str) -> WebClient | None:
        """The Web API client for a workspace's scheduled posts: the one bot token's, or in several-workspace
        mode the workspace's own (None where coprod is not installed)."""
        if self.installations is None:
            return self.client
        return self.installations.client_for(team)


def open_parts(settings: Settings, clock: Callable[[], datetime] = utcnow, store: Store | None = None) -> Parts:
    catalog = load_catalog(settings.facilitators_path)
    store = store or Store.open(settings.db_path, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db)
    try:
        installations = None
        if settings.oauth:
            installations = Installations(settings, lambda token: make_client(settings, token=token))
        deps = Deps(
            store,
            catalog,
            clock,
            installations=installations,
            erase_after_days=settings.erase_after_days if installations is not None else None,
        )
        return Parts(deps, make_client(settings), installations)
    except BaseException:
        store.close()
        raise
