"""`coprod run`: one process holding the scheduler and the Slack connection.

HTTP mode serves `POST /slack/events` and `GET /healthz` with waitress (a production WSGI server
that runs inside this process, beside the one scheduler). Socket Mode needs no public URL.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt.adapter.socket_mode import SocketModeHandler
from waitress import create_server, wasyncore
from waitress.server import BaseWSGIServer

from bot.app import build_app, make_client
from bot.catalog import load_catalog
from bot.deps import Deps, utcnow
from bot.endpoint import wsgi_app
from bot.jobs import Dispatcher
from bot.settings import Settings, SettingsError
from bot.store import Store

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class ListenerExecutor(ThreadPoolExecutor):
    """Where Bolt runs listeners when it acknowledges before they return (Socket Mode); it counts the
    listeners still running, so :meth:`Runtime.drain` can wait for the follow-ups they are about to hand over."""

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

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow, store: Store | None = None):
        self.settings = settings
        catalog = load_catalog(settings.facilitators_path)
        self.store = store or Store.open(
            settings.db_path, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db
        )
        self.client = make_client(settings)
        self.deps = Deps(self.store, catalog, clock)
        self.executor = ListenerExecutor(max_workers=8)
        self.app = build_app(settings, self.deps, self.client, self.executor)
        self.dispatcher = Dispatcher(self.deps, self.client, grace=timedelta(hours=settings.grace_hours))
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self.server: BaseWSGIServer | None = None
        self.socket_handler: SocketModeHandler | None = None
        self._served = threading.Event()
        self._serving_thread: threading.Thread | None = None

    def start_scheduler(self) -> None:
        self.scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.settings.tick_seconds),
            id="tick",
            next_run_time=datetime.now().astimezone(),
        )
        self.scheduler.add_job(self.dispatcher.purge, IntervalTrigger(hours=6), id="retention")
        self.scheduler.start()

    def _tick(self) -> None:
        try:
            self.dispatcher.tick()
        except Exception:  # a bad tick is logged and the next one tries again
            log.exception("the scheduler's tick failed")

    def make_server(self, host: str = "0.0.0.0", port: int | None = None) -> BaseWSGIServer:
        self.server = server = create_server(
            wsgi_app(self.app, self.store, self.settings.signing_secret),
            host=host,
            port=self.settings.port if port is None else port,
            threads=8,
            ident="coprod",
            clear_untrusted_proxy_headers=True,
            # Slack's payloads are a few kilobytes; nobody gets to make us read a gigabyte.
            max_request_body_size=MAX_BODY,
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
        """Connect out to Slack over a WebSocket (no public URL needed); stop() disconnects."""
        self.socket_handler = SocketModeHandler(self.app, self.settings.app_token)
        self.socket_handler.connect()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every acknowledged request's follow-up work has run (delayed count updates run now).
        False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        followups = self.deps.followups
        while True:
            left = max(0.0, deadline - time.monotonic())
            if not (self.executor.wait_idle(left) and followups.drain(max(0.0, deadline - time.monotonic()))):
                return False
            if self.executor.wait_idle(0) and followups.idle:  # no listener handed over more meanwhile
                return True

    def stop(self) -> None:
        """Stop taking requests, let acknowledged work and a running tick finish, then close the store."""
        if self.server is not None:
            serving = self._serving_thread
            if serving is not None and serving is not threading.current_thread() and not self._served.is_set():
                # Close every socket from inside the server's own loop, which then ends.
                try:
                    self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
                    self._served.wait(10)
                except OSError:  # the loop had already closed its sockets
                    pass
            else:
                self.server.close()
            self.server.task_dispatcher.shutdown()  # in-flight requests finish first
        if self.socket_handler is not None:
            # Stop taking envelopes now; slack_sdk's own threads wind down in the background (closing
            # them waits out its read timeouts, seconds in which nothing more can arrive).
            self.socket_handler.client.disconnect()
            threading.Thread(target=self.socket_handler.close, name="coprod-socket-close", daemon=True).start()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.executor.shutdown(wait=True)  # listeners still running hand their follow-ups over first
        self.deps.followups.close()
        self.dispatcher.close()
        self.store.close()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler says "Running job" and "executed successfully" at INFO on every tick.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))


def run(settings: Settings, *, fresh: bool = False) -> int:
    """`coprod run`: Socket Mode, HTTP, or (no Slack settings, or ``--local``) a local workspace."""
    configure_logging(settings)
    if settings.local:
        from bot.localslack.launch import run_local

        return run_local(settings, fresh=fresh)
    runtime = Runtime(settings)
    if not settings.socket_mode:
        try:  # bind first: a port in use is a start-up error, before anything is scheduled
            runtime.make_server()
        except OSError as exc:
            runtime.stop()
            raise SettingsError(
                f"cannot listen on port {settings.port}: {exc.strerror} (set PORT to a free port)"
            ) from None

    def announce() -> None:
        if settings.socket_mode:
            log.info("coprod is running in Socket Mode")
        else:
            log.info("coprod is listening on port %s (POST /slack/events, GET /healthz)", runtime.port)

    return run_until_stopped(runtime, announce)


def run_until_stopped(
    runtime: Runtime, announce: Callable[[], None], after_stop: Callable[[], None] | None = None
) -> int:
    """Start the scheduler and the Slack connection (Socket Mode, or the HTTP server made already), say so,
    and run until SIGTERM or Ctrl-C; then stop cleanly (``after_stop`` last) and return 0."""
    stopping = threading.Event()

    def on_term(signum, frame):
        stopping.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    runtime.start_scheduler()
    try:
        if runtime.settings.socket_mode:
            runtime.start_socket_mode()
            announce()
            stopping.wait()
        else:
            announce()
            runtime.serve()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        log.info("coprod is stopping")
        try:
            runtime.stop()
        finally:
            if after_stop is not None:
                after_stop()
    return 0
