"""`coprod run`: one process holding the scheduler and the Slack connection.

HTTP mode serves `POST /slack/events` and `GET /healthz` with waitress (a production WSGI server
that runs inside this process, beside the one scheduler). Socket Mode needs no public URL.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.kwargs_injection.utils import build_required_kwargs
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

from bot.app import build_app, make_client
from bot.catalog import load_catalog
from bot.jobs import Dispatcher
from bot.posts import Deps, utcnow
from bot.settings import Settings, SettingsError
from bot.store import Store

log = logging.getLogger("bot")
MAX_BODY = 1024 * 1024


USER_ID = re.compile(r"[UW][A-Z0-9]+")
TEAM_ID = re.compile(r"[TE][A-Z0-9]+")


def _identity_problem(body: dict) -> str | None:
    """Slack names the workspace and the person in every command and interaction with their ids;
    a payload without them must not reach a listener that would store something under a bogus id."""
    if "command" in body:
        team, user = body.get("team_id"), body.get("user_id")
    elif "actions" in body or "view" in body:
        who, where = body.get("user"), body.get("team")
        if not isinstance(who, dict):
            return "no user"
        user = who.get("id")
        team = where.get("id") if isinstance(where, dict) and where.get("id") else who.get("team_id")
    else:
        return _shape_problem(body)
    if not (isinstance(user, str) and USER_ID.fullmatch(user)):
        return "not a user id"
    if not (isinstance(team, str) and TEAM_ID.fullmatch(team)):
        return "not a workspace id"
    return _shape_problem(body)


def _shape_problem(body: dict) -> str | None:
    """The fields Bolt reads while routing, in the types Slack sends them (Bolt trips on others)."""
    if "event" in body and not isinstance(body.get("event"), dict):
        return "event malformed"
    if "actions" in body:
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions
                and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)):
            return "actions malformed"
    if "view" in body and body.get("type") in ("view_submission", "view_closed"):
        view = body.get("view")
        if not (isinstance(view, dict) and isinstance(view.get("callback_id"), str)):
            return "view malformed"
    return None


class GuardedRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, but the signature is checked before the body is parsed, and a signed body
    Slack could not have sent (not UTF-8, not JSON, not an object, wrongly typed fields Bolt trips on)
    is a 400, never a 500. Bolt checks the signature again when it dispatches."""

    def __init__(self, app: App, signing_secret: str | None, path: str = "/slack/events"):
        super().__init__(app, path=path)
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def dispatch(self, request) -> BoltResponse:
        try:
            length = max(0, int(request.environ.get("CONTENT_LENGTH") or 0))
        except ValueError:
            length = 0
        stream = request.environ.get("wsgi.input")
        raw = stream.read(length) if stream is not None and length else b""
        headers = request.get_headers()
        if self.verifier is not None:
            try:
                signed = self.verifier.is_valid_request(raw, headers)
            except (ValueError, TypeError):  # e.g. a timestamp that is not a number
                signed = False
            if not signed:
                return BoltResponse(status=401, body={"error": "invalid request"})
        try:
            bolt_request = BoltRequest(body=raw.decode("utf-8"), query=request.query_string, headers=headers)
            problem = None if isinstance(bolt_request.body, dict) else "not a JSON object"
            if problem is None:  # what Bolt extracts for every listener and error handler must exist
                build_required_kwargs(logger=log, required_arg_names=[], request=bolt_request, response=None,
                                      next_keys_required=False)
                problem = _identity_problem(bolt_request.body)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            problem = type(exc).__name__
        if problem:
            log.warning("refused a signed request that is not a Slack payload (%s)", problem)
            return BoltResponse(status=400, body={"error": "bad request"})
        return self.app.dispatch(bolt_request)


def wsgi_app(app: App, store: Store, signing_secret: str | None = None) -> Callable:
    slack = GuardedRequestHandler(app, signing_secret, path="/slack/events")

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
        # Replies that follow an acknowledgement run here; stop() lets them finish before closing the store.
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="coprod-after-ack")
        self.app = build_app(settings, self.deps, self.client, self.executor)
        self.dispatcher = Dispatcher(self.deps, self.client, grace=timedelta(hours=settings.grace_hours))
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self.server = None
        self.socket_handler = None
        self._served = threading.Event()
        self._serving_thread: threading.Thread | None = None

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

        self.server = create_server(wsgi_app(self.app, self.store, self.settings.signing_secret), host=host,
                                    port=self.settings.port if port is None else port, threads=8,
                                    ident="coprod", clear_untrusted_proxy_headers=True,
                                    # Slack's payloads are a few kilobytes; nobody gets to make us read a gigabyte.
                                    max_request_body_size=MAX_BODY)
        return self.server

    def serve(self) -> None:
        """Serve HTTP until stop() (or SIGTERM in the main thread)."""
        self._serving_thread = threading.current_thread()
        try:
            self.server.run()
        finally:
            self._served.set()

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

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
            self.socket_handler.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.executor.shutdown(wait=True)
        self.deps.followups.close()
        self.dispatcher.close()
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
    if not settings.socket_mode:
        try:  # bind first: a port in use is a start-up error, before anything is scheduled
            runtime.make_server()
        except OSError as exc:
            runtime.stop()
            raise SettingsError(
                f"cannot listen on port {settings.port}: {exc.strerror} (set PORT to a free port)"
            ) from None
    runtime.start_scheduler()
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            runtime.socket_handler = SocketModeHandler(runtime.app, settings.app_token)
            log.info("coprod is running in Socket Mode")
            runtime.socket_handler.connect()
            stopping.wait()
        else:
            log.info("coprod is listening on port %s (POST /slack/events, GET /healthz)", runtime.port)
            runtime.serve()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        log.info("coprod is stopping")
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run())
