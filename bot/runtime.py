"""`coprod run`: one process holding the scheduler and the Slack connection.

HTTP mode serves `POST /slack/events` and `GET /healthz` with waitress (a production WSGI server
that runs inside this process, beside the one scheduler). Socket Mode needs no public URL.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import build_app, make_client
from bot.catalog import load_catalog
from bot.jobs import Dispatcher
from bot.posts import Deps, utcnow
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger("bot")


def wsgi_app(app: App, store: Store) -> Callable:
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                store.meta("responder_key")
                status, body = "200 OK", b"ok\n"
            except Exception:  # the database is what we need to be healthy
                status, body = "503 Service Unavailable", b"database unavailable\n"
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


class Runtime:
    """The parts of a running coprod, started and stopped together (tests drive it in-process)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow, store: Store | None = None):
        self.settings = settings
        catalog = load_catalog(settings.facilitators_path)
        self.store = store or Store.open(settings.db_path)
        self.client = make_client(settings)
        self.deps = Deps(self.store, catalog, clock)
        self.app = build_app(settings, self.deps, self.client)
        self.dispatcher = Dispatcher(self.deps, self.client, grace=timedelta(hours=settings.grace_hours))
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self.server = None
        self.socket_handler = None

    def start_scheduler(self) -> None:
        self.scheduler.add_job(self._tick, IntervalTrigger(seconds=self.settings.tick_seconds), id="tick",
                               next_run_time=datetime.now().astimezone())
        self.scheduler.add_job(self.dispatcher.purge, IntervalTrigger(hours=6), id="retention")
        self.scheduler.start()

    def _tick(self) -> None:
        try:
            self.dispatcher.tick()
        except Exception:  # a bad tick is logged and the next one tries again
            log.exception("the scheduler's tick failed")

    def make_server(self, host: str = "0.0.0.0", port: int | None = None):
        from waitress import create_server

        self.server = create_server(wsgi_app(self.app, self.store), host=host,
                                    port=self.settings.port if port is None else port, threads=8,
                                    ident="coprod", clear_untrusted_proxy_headers=True)
        return self.server

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self.server is not None:
            self.server.close()
        if self.socket_handler is not None:
            self.socket_handler.close()
        self.store.close()


def run(http: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(http=http)
    runtime = Runtime(settings)
    stopping = threading.Event()

    def on_term(signum, frame):
        stopping.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    runtime.start_scheduler()
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            runtime.socket_handler = SocketModeHandler(runtime.app, settings.app_token)
            log.info("coprod is running in Socket Mode")
            runtime.socket_handler.connect()
            stopping.wait()
        else:
            server = runtime.make_server()
            log.info("coprod is listening on port %s (POST /slack/events, GET /healthz)", runtime.port)
            server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        log.info("coprod is stopping")
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run())
