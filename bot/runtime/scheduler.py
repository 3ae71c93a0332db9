"""Scheduled work, in a process of its own beside `coprod run`'s web process.

APScheduler runs four jobs around the :class:`~bot.runtime.jobs.Dispatcher`: the tick (what is due, posted in
its lanes), a checkpoint every second (commits reach the disk, bot/store/db.py), the retention purge
every 6 hours, and, with several workspaces, the erasure of those that removed coprod.

`coprod run` starts them in a process of their own (``python -m bot.runtime.scheduler``), because threads of one
process take turns on the interpreter lock: a batch of 10,000 posts made in the web process held up the
acknowledgements of clicks meanwhile (BENCHMARKS.md, clicks during a batch). The two processes share the
database file; people's writes go first (:meth:`bot.store.db.Database.share_writes`), so a click's write
waits for at most one of the scheduler's transactions. The process reads its settings as the first line on
its stdin, and stops when that pipe closes (coprod stopping, or killed outright): it gives back the claims
of posts not begun, leaves those still waiting on Slack for the next start, and writes what it left as its
last line. If it ends any other way, coprod logs it and starts another.

Tests drive the same jobs in their own process (:meth:`bot.runtime.run.Runtime.start_scheduler`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.domain.catalog import load_catalog
from bot.runtime.jobs import Dispatcher, Stopped
from bot.settings import Settings, SettingsError, configure_logging
from bot.slack.app import make_client
from bot.slack.deps import Deps, utcnow
from bot.slack.installs import Installations, erase_due
from bot.store import Store, StoreError

log = logging.getLogger(__name__)
# Commits are synced to the disk at checkpoints (bot/store/db.py): at most this long after their ack.
FLUSH_EVERY = 1.0
# The process stops within this long of its pipe closing (coprod's own stopping budget is 5 s).
STOP_WITHIN = 4.5
NICE = 5  # below the web process's priority: on a busy machine, acknowledgements get the CPU first
# How long a thread runs before another waiting for the interpreter lock takes it (Python's default: 5 ms).
# Shorter here: a post's thread holding the database's write lock, which a click may be waiting for, gets
# the interpreter back sooner from the tick's planning and the other posts.
SWITCH_INTERVAL = 0.0005
RESTART_AFTER = (1.0, 5.0, 30.0)  # waits before starting the process again, after each unexpected end
RAN_WELL = 300.0  # a process that ran this long before ending is started again after the first wait


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


# ---- coprod run's side --------------------------------------------------------------------------------


class SchedulerProcess:
    """The web process's handle on the scheduler's process: started once, started again if it ends on its
    own, stopped by closing its pipe."""

    def __init__(self, settings: Settings, write_gate: IO[bytes]):
        self.settings = settings
        self.write_gate = write_gate  # the file people's writes lock (Database.share_writes)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._proc = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="coprod-scheduler-watch", daemon=True)
        self._watcher.start()

    def begin_stop(self) -> None:
        """Tell the process to stop (within :data:`STOP_WITHIN` seconds); start no other."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def stop(self, timeout: float) -> Stopped:
        """Stop the process (:meth:`begin_stop`), wait up to ``timeout`` seconds for it to end, and return what
        it left for the next start (nothing known if it had to be killed)."""
        self.begin_stop()
        with self._lock:
            proc = self._proc
        if proc is None:
            return Stopped(0, 0)
        try:
            proc.wait(timeout)  # it writes one short line: never held up by a full pipe
        except subprocess.TimeoutExpired:
            log.warning("the scheduler was still stopping after %.0f s; it was ended", timeout)
            proc.kill()
            proc.wait()
            _close_pipes(proc)
            return Stopped(0, 0)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _close_pipes(proc)
        return _left(out)

    def _spawn(self) -> subprocess.Popen:
        fd = self.write_gate.fileno()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.scheduler", "--write-gate", str(fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(fd,),
        )
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(_settings_data(self.settings)) + "\n").encode())
        proc.stdin.flush()
        return proc

    def _watch(self) -> None:
        ends = 0
        while True:
            with self._lock:
                proc = self._proc
            if proc is None:
                return
            began = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            _close_pipes(proc)
            if time.monotonic() - began > RAN_WELL:
                ends = 0
            wait = RESTART_AFTER[min(ends, len(RESTART_AFTER) - 1)]
            ends += 1
            log.error("the scheduler's process ended (exit %s); starting another in %.0f s", code, wait)
            if self._stopping.wait(wait):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self._proc = self._spawn()
                except OSError as exc:
                    log.error("could not start the scheduler's process: %s", exc)


def _close_pipes(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _settings_data(settings: Settings) -> dict[str, object]:
    data = dataclasses.asdict(settings)
    data["secret_key"] = settings.secret_key.hex() if settings.secret_key is not None else None
    return data


def _settings_from(data: dict[str, object]) -> Settings:
    key = data.get("secret_key")
    return Settings(**{**data, "secret_key": bytes.fromhex(key) if isinstance(key, str) else None})  # type: ignore[arg-type]


def _left(out: bytes) -> Stopped:
    """What the process said it left, from its last line."""
    try:
        last = json.loads(out.decode().strip().splitlines()[-1])
        return Stopped(given_back=int(last["given_back"]), under_way=int(last["under_way"]))
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError):
        log.warning("the scheduler did not say what it left for the next start")
        return Stopped(0, 0)


# ---- the scheduler's process ----------------------------------------------------------------------------


def serve(settings: Settings, lines: IO[bytes], out: IO[bytes], write_gate: int | None) -> None:
    """Run the scheduled jobs until ``lines`` closes, then stop within the stopping budget and write what was
    left for the next start to ``out``."""
    parts = open_parts(settings)
    store = parts.deps.store
    try:
        if write_gate is not None:
            store.db.share_writes(write_gate, people=False)
        scheduled = Scheduled(settings, parts.deps, parts.client_for)
        scheduled.start()
        for _ in lines:  # nothing more is sent: this waits for the pipe to close
            pass
        deadline = time.monotonic() + STOP_WITHIN
        scheduled.stop_starting(timeout=2.0)
        stopped = scheduled.dispatcher.close(timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            store.db.flush()
    finally:
        store.close()
    with contextlib.suppress(OSError):
        out.write((json.dumps(dataclasses.asdict(stopped)) + "\n").encode())
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="coprod's scheduler (started by coprod run)")
    parser.add_argument("--write-gate", type=int, help="a file descriptor shared with the web process")
    args = parser.parse_args(argv)
    # Ctrl-C or a platform's SIGTERM reaches the whole process group: this process stops when coprod closes
    # its pipe instead, and coprod waits for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    sys.setswitchinterval(SWITCH_INTERVAL)
    stdin = sys.stdin.buffer
    settings = _settings_from(json.loads(stdin.readline()))
    configure_logging(settings.log_level)
    try:
        serve(settings, stdin, sys.stdout.buffer, args.write_gate)
    except (SettingsError, StoreError) as exc:
        log.error("the scheduler could not start: %s", exc)
        return 2
    # Threads still in a Slack call (daemons) end with the process, now.
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(0)


def write_gate() -> IO[bytes]:
    """The file people's writes lock while they write: made private and unlinked at once, open only in coprod's
    two processes."""
    return tempfile.TemporaryFile(prefix="coprod-writes-")


if __name__ == "__main__":
    sys.exit(main())
