"""The worker: the process beside `coprod run`'s web process that runs the scheduled jobs and sends the outbox.

Threads of one process take turns on the interpreter lock: a batch of 10,000 posts made in the web process
held up the acknowledgements of clicks meanwhile (BENCHMARKS.md, clicks during a batch). So everything that
needs no trigger id runs here: the scheduler's jobs (bot/runtime/scheduler.py) and the outbox's replies and
count updates (bot/runtime/sender.py). Only the database file crosses between the two processes; people's
writes go first (:meth:`bot.store.db.Database.share_writes`, through ``<database>.writes``), so a click's
write waits for at most one of the worker's transactions.

`coprod run` starts it once Slack is connected (``python -m bot.runtime.worker --lifeline``, its settings in
its environment), starts it again with a growing wait if it ends on its own, and stops it by closing its
stdin, which also happens when `coprod run` dies however it dies: the worker then gives back the claims of
posts not begun, leaves those still waiting on Slack for the next start, and writes what it left as its one
line on stdout. On a host that supervises processes itself, `coprod worker` runs it alone (the Procfile's
``worker`` line) until SIGTERM.
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
import threading
import time
from pathlib import Path
from typing import IO

from bot.runtime.jobs import Stopped
from bot.runtime.runlock import RunLock
from bot.runtime.scheduler import Scheduled, open_parts
from bot.runtime.sender import OutboxSender
from bot.settings import Settings, SettingsError, configure_logging
from bot.store import StoreError
from bot.store.files import PRIVATE

log = logging.getLogger(__name__)
# The worker stops within this long of being told to (coprod's own stopping budget is 5 s).
STOP_WITHIN = 4.5
NICE = 10  # below the web process's priority: on a busy machine, acknowledgements get the CPU first
# How long a thread runs before another waiting for the interpreter lock takes it (Python's default: 5 ms).
# Shorter here: a post's thread holding the database's write lock, which a click may be waiting for, gets
# the interpreter back sooner from the tick's planning and the other posts.
SWITCH_INTERVAL = 0.0005
RESTART_AFTER = (1.0, 5.0, 30.0)  # waits before starting the worker again, after each unexpected end
RAN_WELL = 300.0  # a worker that ran this long before ending is started again after the first wait


def write_gate(db_path: str) -> int:
    """The file people's writes lock while they write (``coprod.db`` -> ``coprod.db.writes``, 0600, empty):
    both processes open it by name, so it is never removed."""
    path = Path(db_path)
    gate = path.with_name(path.name + ".writes")
    fd = os.open(gate, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE)
    os.fchmod(fd, PRIVATE)
    return fd


# ---- coprod run's side --------------------------------------------------------------------------------


class WorkerProcess:
    """The web process's handle on the worker: started once, started again if it ends on its own, stopped by
    closing its stdin."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._proc = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="coprod-worker-watch", daemon=True)
        self._watcher.start()

    def begin_stop(self) -> None:
        """Tell the worker to stop (within :data:`STOP_WITHIN` seconds); start no other."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def stop(self, timeout: float) -> Stopped:
        """Stop the worker (:meth:`begin_stop`), wait up to ``timeout`` seconds for it to end, and return what
        it left for the next start (nothing known if it had to be killed)."""
        self.begin_stop()
        with self._lock:
            proc = self._proc
        if proc is None:
            return Stopped(0, 0)
        try:
            proc.wait(timeout)  # it writes one short line: never held up by a full pipe
        except subprocess.TimeoutExpired:
            log.warning("the worker was still stopping after %.0f s; it was ended", timeout)
            proc.kill()
            proc.wait()
            _close_pipes(proc)
            return Stopped(0, 0)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _close_pipes(proc)
        return _left(out)

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.worker", "--lifeline"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=os.environ | self.settings.worker_env(),
        )

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
            log.error("the worker ended (exit %s); starting another in %.0f s", code, wait)
            if self._stopping.wait(wait):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self._proc = self._spawn()
                except OSError as exc:
                    log.error("could not start the worker: %s", exc)


def _close_pipes(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _left(out: bytes) -> Stopped:
    """What the worker said it left, from its last line."""
    try:
        last = json.loads(out.decode().strip().splitlines()[-1])
        return Stopped(given_back=int(last["given_back"]), under_way=int(last["under_way"]))
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError):
        log.warning("the worker did not say what it left for the next start")
        return Stopped(0, 0)


# ---- the worker's process -------------------------------------------------------------------------------


def serve(settings: Settings, until: threading.Event) -> Stopped:
    """Run the scheduled jobs and the outbox's sending until ``until`` is set, then stop within
    :data:`STOP_WITHIN` seconds; return what was left for the next start."""
    parts = open_parts(settings)
    store = parts.deps.store
    try:
        store.db.share_writes(write_gate(settings.db_path), people=False)
        scheduled = Scheduled(settings, parts.deps, parts.client_for)
        sender = OutboxSender(store, parts.client_for)
        sender.start()
        scheduled.start()
        until.wait()
        deadline = time.monotonic() + STOP_WITHIN
        scheduled.stop_starting(timeout=2.0)
        sender.close(timeout=1.0)
        stopped = scheduled.dispatcher.close(timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            store.db.flush()
    finally:
        store.close()
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="coprod's worker: the scheduled jobs and the outbox")
    parser.add_argument("--lifeline", action="store_true", help="started by coprod run: stop when stdin closes")
    args = parser.parse_args(argv)
    until = threading.Event()
    if args.lifeline:
        # Ctrl-C or a platform's SIGTERM reaches the whole process group: this process stops when coprod closes
        # its stdin instead, and coprod waits for it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=_wait_for_eof, args=(sys.stdin.buffer, until), daemon=True).start()
    else:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: until.set())
    with contextlib.suppress(OSError):
        os.nice(NICE)
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        settings = Settings.from_env(os.environ, require_slack=False)
        configure_logging(settings.log_level)
        if not settings.bot_token and not settings.oauth:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: the worker posts with the same settings as coprod run (see the README)"
            )
        lock = RunLock.take(settings.db_path, role="worker")
        try:
            if not args.lifeline:
                log.info("coprod worker is running")
            stopped = serve(settings, until)
        finally:
            lock.release()
    except (SettingsError, StoreError) as exc:
        print(f"coprod worker: {exc}", file=sys.stderr)
        return 2 if not args.lifeline else 1
    if args.lifeline:
        with contextlib.suppress(OSError):
            sys.stdout.buffer.write((json.dumps(dataclasses.asdict(stopped)) + "\n").encode())
            sys.stdout.buffer.flush()
    else:
        log.info("coprod worker stopped")
    # Threads still in a Slack call (daemons) end with the process, now.
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(0)


def _wait_for_eof(lines: IO[bytes], until: threading.Event) -> None:
    for _ in lines:  # nothing is sent: this waits for the pipe to close
        pass
    until.set()


if __name__ == "__main__":
    sys.exit(main())
