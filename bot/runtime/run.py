"""`coprod run`: the web process, holding the Slack connection, with the worker process beside it.

HTTP mode serves `POST /slack/events` and `GET /healthz` with waitress (a production WSGI server
that runs inside this process), set up against slow clients (bot/slack/server.py), and in several-workspace mode
the install pages (bot/slack/oauth.py). Socket Mode needs no public URL. The scheduled jobs and the outbox's
replies run in the worker (bot/runtime/worker.py), started once Slack is connected and stopped with this
process; opening a modal, which needs the request's trigger id, stays here on its own lane.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from waitress import wasyncore

from bot.runtime.jobs import Stopped
from bot.runtime.scheduler import Scheduled, open_parts
from bot.runtime.sender import OutboxSender
from bot.runtime.worker import WorkerProcess, write_gate
from bot.settings import Settings, SettingsError, TokenRefused
from bot.slack.app import build_app
from bot.slack.deps import utcnow
from bot.slack.endpoint import wsgi_app
from bot.slack.server import SlowClientSafeServer, make_server
from bot.store import Store

log = logging.getLogger(__name__)
# SIGTERM ends the process within 10 s: stopping takes at most this long before the store closes, and if
# anything still holds the process up this long after the signal, it exits there and then.
STOP_BUDGET = 5.0
HARD_STOP = 9.5
# How long past that budget stopping waits for the worker, which stops alongside from the start.
WORKER_GRACE = 2.0


# Slack's answers that mean the token itself is wrong: what to do is then to get a new one.
TOKEN_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
    "missing_scope",
}
BOT_TOKEN_FIX = (
    "reinstall the app to your workspace (OAuth & Permissions page) and copy its Bot User OAuth Token (xoxb-…) "
    "into .env"
)
APP_TOKEN_FIX = (
    "generate a new app-level token with the connections:write scope (Basic Information page) and copy it "
    "(xapp-…) into .env"
)


def _refused(name: str, exc: SlackApiError, fix: str) -> str:
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    error = error if isinstance(error, str) and error else f"HTTP {exc.response.status_code}"
    if error in TOKEN_ERRORS:
        return f"Slack refused {name} ({error}): {fix}"
    return f"Slack could not check {name} ({error}): try again in a few minutes"


def _unreachable(api_url: str, exc: OSError) -> str:
    reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
    return f"cannot reach Slack at {api_url} ({reason}): check the network, or SLACK_API_URL"


class ListenerExecutor(ThreadPoolExecutor):
    """Where Socket Mode envelopes are handled, each on a thread of its own: the listener runs there and its
    ack is sent when it returns, so one slow listener holds one thread and the others carry on. It counts the
    envelopes still being handled, so :meth:`Runtime.drain` can wait for the follow-ups they are about to hand
    over, and :meth:`Runtime.stop` lets them finish before the store closes."""

    def __init__(self, max_workers: int):
        super().__init__(max_workers=max_workers, thread_name_prefix="coprod-listener")
        self._running = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs):
        with self._idle:
            self._running += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future) -> None:
        with self._idle:
            self._running -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)


class Runtime:
    """The parts of a running coprod, started and stopped together (tests drive it in-process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        store: Store | None = None,
        sends: bool = True,
    ):
        """``sends``: this process sends the outbox itself (tests); False when a worker process will."""
        self.settings = settings
        parts = open_parts(settings, clock, store)
        self.deps, self.store, self.client = parts.deps, parts.deps.store, parts.client
        self.installations = parts.installations
        self.client_for = parts.client_for
        self.executor = ListenerExecutor(max_workers=8)
        self.app = build_app(settings, self.deps, self.client, self.executor)
        # The scheduled jobs and the outbox: in this process (tests, start_scheduler), or the worker's (coprod run).
        self.scheduled = Scheduled(settings, self.deps, self.client_for)
        self.dispatcher, self.scheduler = self.scheduled.dispatcher, self.scheduled.scheduler
        self.sender: OutboxSender | None = None
        if sends:
            self.sender = OutboxSender(self.store, self.client_for)
            self.sender.start()
        self.worker: WorkerProcess | None = None
        self.server: SlowClientSafeServer | None = None
        self.socket_handler: SocketModeHandler | None = None
        self._served = threading.Event()
        self._serving_thread: threading.Thread | None = None

    def erase_removed(self) -> list[str]:
        """Erase the data of workspaces that removed coprod and whose grace period is over."""
        return self.scheduled.erase_removed()

    def start_scheduler(self) -> None:
        """Run the scheduled jobs in this process."""
        self.scheduled.start()

    def start_worker(self) -> None:
        """Run the scheduled jobs and the outbox in the worker process (bot/runtime/worker.py), this process's
        writes first."""
        assert self.sender is None, "a Runtime that sends the outbox itself needs no worker"
        self.store.db.share_writes(write_gate(self.settings.db_path), people=True)
        self.worker = WorkerProcess(self.settings)
        self.worker.start()

    def make_server(self, host: str = "0.0.0.0", port: int | None = None) -> SlowClientSafeServer:
        self.server = server = make_server(
            wsgi_app(self.app, self.store, self.settings.signing_secret),
            host=host,
            port=self.settings.port if port is None else port,
        )
        return server

    def serve(self) -> None:
        """Serve HTTP until stop() (or SIGTERM in the main thread)."""
        assert self.server is not None, "make_server() first"
        self._serving_thread = threading.current_thread()
        try:
            self.server.run()
        finally:
            self._served.set()

    @property
    def port(self) -> int:
        assert self.server is not None, "make_server() first"
        return int(self.server.socket.getsockname()[1])

    def start_socket_mode(self) -> None:
        """Connect out to Slack over a WebSocket (no public URL needed); stop() disconnects. Both tokens are
        tried first: one Slack refuses is a TokenRefused naming it and what to do."""
        url = self._socket_mode_url()
        handler = SocketModeHandler(self.app, self.settings.app_token)
        handler.client.wss_uri = url  # the client connects there first, and asks for a new one to reconnect
        # slack_sdk's client reads envelopes on one thread and hands each to its pool of workers (10 threads,
        # none started yet): ours instead, the same size as the HTTP server's, counted for drain() and stop().
        handler.client.message_workers.shutdown()
        handler.client.message_workers = self.executor
        self.socket_handler = handler
        handler.connect()

    def _socket_mode_url(self) -> str:
        """Check the bot token (auth.test) and the app-level token (apps.connections.open, whose answer is
        where to connect)."""
        try:
            me = self.client.auth_test()
        except SlackApiError as exc:
            raise TokenRefused(_refused("SLACK_BOT_TOKEN", exc, BOT_TOKEN_FIX)) from None
        except OSError as exc:
            raise SettingsError(_unreachable(self.settings.api_url, exc)) from None
        user, team = me.get("user_id"), me.get("team_id")
        if isinstance(user, str) and user and isinstance(team, str) and team:
            with self.deps.identity_lock:  # the bot's own user id there: no second auth.test to learn it
                self.deps.identity.setdefault(team, user)
        try:
            url = self.client.apps_connections_open(app_token=self.settings.app_token or "").get("url")
        except SlackApiError as exc:
            raise TokenRefused(_refused("SLACK_APP_TOKEN", exc, APP_TOKEN_FIX)) from None
        except OSError as exc:
            raise SettingsError(_unreachable(self.settings.api_url, exc)) from None
        if not isinstance(url, str) or not url:
            raise SettingsError("Slack gave no Socket Mode address (apps.connections.open): try again in a minute")
        return url

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every acknowledged request's follow-up work has run (delayed count updates run now).
        False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        followups, sender = self.deps.followups, self.sender

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        while True:
            if not (self.executor.wait_idle(left()) and followups.drain(left())):
                return False
            if sender is not None and not sender.drain(left()):
                return False
            if self.executor.wait_idle(0) and followups.idle:  # no listener handed over more meanwhile
                return True

    def stop(self, budget: float = STOP_BUDGET) -> Stopped:
        """Stop within ``budget`` seconds (and the store's close), whatever Slack does: take no more requests or
        ticks, give back the claims of posts not begun, give acknowledged work, a running tick and the posts
        under way what is left of the budget, leave any post still waiting on Slack for the next start to
        settle (bot/runtime/jobs.py), and close the store. Threads still in a Slack call are daemons, or are left
        behind by :func:`run_until_stopped`."""
        deadline = time.monotonic() + budget

        def left(cap: float) -> float:
            return max(0.0, min(cap, deadline - time.monotonic()))

        if self.worker is not None:
            self.worker.begin_stop()  # it stops alongside
        if self.server is not None:
            serving = self._serving_thread
            if serving is not None and serving is not threading.current_thread() and not self._served.is_set():
                # Close every socket from inside the server's own loop, which then ends.
                try:
                    self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
                    self._served.wait(left(2.0))
                except OSError:  # the loop had already closed its sockets
                    pass
            else:
                self.server.close()
            self.server.task_dispatcher.shutdown(timeout=left(2.0))  # in-flight requests finish first
        if self.socket_handler is not None:
            # Stop taking envelopes now; slack_sdk's own threads wind down in the background (closing
            # them waits out its read timeouts, seconds in which nothing more can arrive).
            self.socket_handler.client.disconnect()
            threading.Thread(target=self.socket_handler.close, name="coprod-socket-close", daemon=True).start()
        self.scheduled.stop_starting(left(2.0))
        self.executor.wait_idle(left(2.0))  # listeners still running hand their follow-ups over first
        self.executor.shutdown(wait=False)
        self.deps.followups.close(timeout=left(3.0))
        if self.sender is not None:
            self.sender.close(timeout=left(2.0))
        stopped = self.dispatcher.close(timeout=left(budget))
        if self.worker is not None:
            # What the worker left; it was given its own few seconds, which may run past this budget's end.
            stopped = self.worker.stop(timeout=left(budget) + WORKER_GRACE)
        with contextlib.suppress(Exception):  # closing the last connection checkpoints too, when it can
            self.store.db.flush()
        self.store.close()
        return stopped


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run(settings: Settings, *, worker: bool = True) -> int:
    """`coprod run` with Slack: Socket Mode or HTTP, with the worker beside it (``worker``; without, a worker
    supervised by the host runs it: `coprod worker`)."""
    runtime = Runtime(settings, sends=False)
    signal.signal(signal.SIGTERM, _exit_on_term)  # SIGTERM while connecting stops cleanly too
    # Connect or bind first: a token Slack refuses, or a port in use, is a start-up error, before anything
    # is scheduled.
    if settings.socket_mode:
        try:
            runtime.start_socket_mode()
        except BaseException:  # a refused token, or SIGTERM while connecting
            runtime.stop()
            raise
    else:
        try:
            runtime.make_server()
        except OSError as exc:
            runtime.stop()
            raise SettingsError(
                f"cannot listen on port {settings.port}: {exc.strerror} (set PORT to a free port)"
            ) from None

    def announce() -> None:
        if settings.socket_mode:
            log.info("coprod is running in Socket Mode")
            return
        served = "POST /slack/events, GET /healthz"
        if runtime.installations is not None:
            served += ", GET /slack/install and /slack/oauth_redirect: several workspaces"
        log.info("coprod is listening on port %s (%s)", runtime.port, served)

    return run_until_stopped(runtime, announce, worker=worker)


def run_until_stopped(
    runtime: Runtime, announce: Callable[[], None], after_stop: Callable[[], None] | None = None, *, worker: bool = True
) -> int:
    """Start the worker (the Slack connection was made already: Socket Mode connected, or the HTTP server
    bound), say so, and run until SIGTERM or Ctrl-C; then stop cleanly (``after_stop`` last) and return 0,
    within 10 s of the signal whatever Slack does (:data:`HARD_STOP`)."""
    stopping = threading.Event()

    def on_term(signum, frame):
        if stopping.is_set():  # a second SIGTERM while stopping changes nothing
            return
        stopping.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    if worker:
        runtime.start_worker()
    try:
        announce()
        if runtime.settings.socket_mode:
            stopping.wait()
        else:
            runtime.serve()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        stopping.set()
        began = time.monotonic()
        log.info("coprod is stopping")
        watchdog = threading.Timer(HARD_STOP, _hard_stop, args=("stopping took too long",))
        watchdog.daemon = True
        watchdog.start()
        try:
            stopped = runtime.stop()
            log.info("coprod stopped in %.1f s%s", time.monotonic() - began, _left_for_next_start(stopped))
        finally:
            if after_stop is not None:
                after_stop()
        _leave_stuck_threads(began + HARD_STOP)
        watchdog.cancel()
    return 0


def _left_for_next_start(stopped: Stopped) -> str:
    parts = []
    if stopped.given_back:
        parts.append(f"{stopped.given_back} scheduled posts not yet begun")
    if stopped.under_way:
        parts.append(f"{stopped.under_way} still waiting for Slack (looked for in their channel before posting)")
    return f"; left for the next start: {' and '.join(parts)}" if parts else ""


def _leave_stuck_threads(deadline: float) -> None:
    """Python waits for every non-daemon thread before it exits (a listener or a scheduled job stuck in a
    Slack call): give them until ``deadline``, then exit without them (the database is closed already)."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if stuck:
        _hard_stop(f"{len(stuck)} threads still waiting ({', '.join(sorted(stuck)[:3])})")


def _hard_stop(why: str) -> None:
    log.warning("coprod is exiting without waiting any longer: %s", why)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stdout.flush()
    os._exit(0)
