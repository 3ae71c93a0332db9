"""What the benchmarks share: coprod started against the Slack stand-ins, clicks, checks, timing, the machine.

The benchmarks (ack_bench.py, load_bench.py, summary_bench.py) are short scripts on this module, and
``tests/test_load.py`` and ``tests/test_durability.py`` use its click stream and stored-answer checks.

- Slack's side: ``SlackStub`` (tests/support/slack_stub.py) for the Web API and response_urls, in this process or
  in its own (:class:`StubProcess`, so its threads take no time from whatever is being timed here), and for
  Socket Mode the WebSocket endpoint ``SocketModeEndpoint`` (tests/support/socket_mode_sim.py).
- coprod: ``coprod run`` as a subprocess (:class:`BotProcess`, ``--http`` or Socket Mode), or
  ``bot.runtime.run.Runtime`` in this process (:class:`CoprodInProcess`, HTTP or Socket Mode).
- Clicks: signed rating clicks over a keep-alive HTTP connection, or interactive envelopes over Socket
  Mode, one interface (:func:`clicker`); :func:`run_clicks` runs many clients at once and records what
  was acknowledged; :func:`stored_problems` compares the database with it.
- Numbers: :func:`percentile` is the one percentile rule, **nearest rank**: the p-th percentile of n
  values is the value at rank ceil(p/100 * n) in ascending order (rank 1 at least), always one of the
  measured values, never interpolated. :func:`describe` gives n, p50, p95, p99, mean and max by that rule.
- The machine: :func:`machine` (CPU, memory, kernel, Python, SQLite, library versions, load average).

``python bench/harness.py --smoke`` checks the harness itself: coprod each of the four ways (subprocess or
in process, HTTP or Socket Mode) takes a few clicks, stores them and drains its follow-ups.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.metadata
import io
import itertools
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.localslack.signed import action_body, sign  # noqa: E402
from bot.store import Store  # noqa: E402

SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
APP_TOKEN = "xapp-1-bench"
TEAM = "T1"
# One open check-in per channel, as in real use (posting the next check-in closes the last).
CHANNELS = tuple(f"C{n}" for n in range(1, 17))
MESSAGE_TS = "1700000000.000100"
MODES = ("http", "socket")
# Slack's deadline for an acknowledgement (Socket Mode: an envelope not acknowledged by then is failed).
SLACK_ACK_TIMEOUT = 3.0


# ---- numbers -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank: the value at rank ceil(p/100 * n) of the sorted values (NaN if none)."""
    ordered = values if _is_sorted(values) else sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _is_sorted(values: list[float]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


@dataclass(frozen=True)
class Stats:
    """Summary of a sample (seconds, or whatever unit went in), percentiles by nearest rank."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float


def describe(values: list[float]) -> Stats:
    ordered = sorted(values)
    if not ordered:
        nan = float("nan")
        return Stats(0, nan, nan, nan, nan, nan)
    return Stats(
        len(ordered),
        percentile(ordered, 50),
        percentile(ordered, 95),
        percentile(ordered, 99),
        statistics.fmean(ordered),
        ordered[-1],
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def interleaved(fns: dict[str, Callable[[int], object]], reps: int, warmup: int = 0) -> dict[str, list[float]]:
    """Seconds per call of each function, interleaved: round k calls every function on input k, in a rotating
    order, so drift in the machine's speed and cache effects hit all of them alike and their ratio holds up."""
    names = list(fns)
    for k in range(warmup):
        for name in names:
            fns[name](k)
    out: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for k in range(reps):
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:
            fn = fns[name]
            began = clock()
            fn(k)
            out[name].append(clock() - began)
    return out


def process_cpu(pid: int) -> float:
    """User + system CPU seconds so far of a process and its live child processes (coprod's scheduler and
    reply sender) (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        with contextlib.suppress(OSError):
            total += process_cpu(child)
    return total


def process_rss_mib(pid: int) -> float:
    """Resident memory (MiB) of a process and its live child processes (Linux /proc)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for child in _children(pid):
        with contextlib.suppress(OSError):
            total += process_rss_mib(child)
    return total


def _children(pid: int) -> list[int]:
    return [int(child) for tasks in Path(f"/proc/{pid}/task").glob("*/children") for child in tasks.read_text().split()]


# ---- the machine -------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    """What a figure was measured on, for BENCHMARKS.md."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for dist in ("slack_bolt", "slack_sdk", "waitress", "websockets", "sqlite-utils"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
    return {
        "cpu": f"{usable} CPUs usable ({os.cpu_count()} online), {model or platform.processor() or '?'}{memory}, "
        f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": f"{sqlite3.sqlite_version} (the sqlite3 module's library)",
        "libraries": ", ".join(versions),
        "load average": loadavg(),
    }


def peak_rss_kib() -> int:
    """This process's peak RSS (VmHWM), KiB. Unlike ru_maxrss it starts afresh at exec: Linux carries
    ru_maxrss over from the forking parent, so a child of a big parent would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def print_machine(file=None) -> None:
    for key, value in machine().items():
        print(f"{key:<13} {value}", file=file)


# ---- data --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(db: Path, count: int, channels: tuple[str, ...] = CHANNELS) -> list[tuple[str, int]]:
    """``count`` open check-ins to click on, one per partnership (channel), asked a minute ago:
    [(channel, checkin_id), ...]. Each has a message_ts, so a click's follow-ups both answer the
    response_url and update the check-in's count."""
    if count > len(channels):
        raise ValueError(f"at most {len(channels)} check-ins, one per channel")
    asked_at = int(time.time()) - 60
    store = Store.open(db)
    try:
        targets = []
        for channel in channels[:count]:
            p = store.partnerships.ensure(TEAM, channel, timezone="Europe/London", created_by="U1", now=asked_at)
            cid = store.checkins.record_checkin(
                p, facilitator_id="regular-meetings", level_id="group", asked_at=asked_at, message_ts=MESSAGE_TS
            )
            targets.append((channel, cid))
        return targets
    finally:
        store.close()


def channel_with_checkin(stub: Any, channel: str, name: str | None = None) -> None:
    """``channel`` on the Slack stand-in, coprod in it, holding the message of the check-in :func:`seed` wrote
    there (ts ``MESSAGE_TS``): Slack updates only messages it has (chat.update of another is
    message_not_found), so a click's count update is carried out as it would be on Slack."""
    stub.add_channel(channel, ["UBOT"], name=name or f"partnership-{channel.lower()}")
    stub.workspace.add_message(channel, stub.api.bot_message({"text": "A check-in"}, MESSAGE_TS))


def remove_db(db: Path) -> None:
    """The database, its side files, and the key file coprod keeps beside it."""
    for path in (*(Path(f"{db}{suffix}") for suffix in ("", "-wal", "-shm")), db.with_suffix(".key")):
        path.unlink(missing_ok=True)


# ---- Slack's side ------------------------------------------------------------------------------


def socket_mode_sim():
    """tests/support/socket_mode_sim.py (its WebSocket endpoint needs the ``websockets`` package, a test extra)."""
    try:
        from tests.support import socket_mode_sim
    except ImportError as exc:
        raise RuntimeError(f"Socket Mode needs tests/support/socket_mode_sim.py and the test extra: {exc}") from None
    return socket_mode_sim


def socket_endpoint():
    """A started ``SocketModeEndpoint`` (Slack's Socket Mode WebSocket) on loopback; ``stop()`` it afterwards."""
    return socket_mode_sim().SocketModeEndpoint().start()


# The Web API methods StubProcess(delay=...) slows down: those coprod calls in posting and replying to clicks.
SLOW_METHODS = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "conversations.members",
    "conversations.history",
    "conversations.info",
    "users.info",
)


def _serve_stub(channels: list[str], socket_mode_url: str | None, delay: float = 0.0) -> None:
    """``--stub``: a SlackStub in this process until stdin closes; prints its URL first. ``delay``: seconds
    it takes over each call to SLOW_METHODS (the stub's ``delay`` fault, queued for the first 100,000 of each)."""
    from tests.support.slack_stub import SlackStub

    with SlackStub() as stub:
        for channel in channels:
            channel_with_checkin(stub, channel)
        stub.socket_mode_url = socket_mode_url
        hooks = stub.open_response_urls()  # StubProcess.response_url builds them here, unissued
        if delay:
            for method in SLOW_METHODS:
                stub.delay(method, delay, times=100_000)
        print(stub.url, flush=True)
        print(hooks, flush=True)  # with this run's token, as every URL the stand-in hands out
        sys.stdin.read()


class StubProcess:
    """SlackStub in a child process: its threads don't share the GIL with the process doing the timing.

    Used where only the stub's presence matters (nothing reads its calls); otherwise use SlackStub itself.
    ``delay``: Slack takes that many seconds over each call to SLOW_METHODS."""

    def __init__(self, channels: tuple[str, ...] = CHANNELS, socket_mode_url: str | None = None, delay: float = 0.0):
        command = [sys.executable, str(Path(__file__).resolve()), "--stub", ",".join(channels)]
        if socket_mode_url:
            command += ["--socket-mode-url", socket_mode_url]
        if delay:
            command += ["--stub-delay", str(delay)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            self.close()
            raise RuntimeError("the Slack stub did not start")
        self.base = self.url.removesuffix("api/")
        self.hooks = self.proc.stdout.readline().strip()  # <base>run/<token>/response/

    def open_response_urls(self, prefix: str = "") -> str:
        """As ``SlackStub.open_response_urls``: the stub in its process takes any response URL as issued."""
        return f"{self.hooks}{prefix}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> StubProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- coprod (and other apps) as a subprocess -------------------------------------------------------


class AppProcess:
    """A server process, its output in a log file (a pipe nobody reads would fill), ready when ``ready()``."""

    name = "app"

    def __init__(
        self,
        command: list[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
        endpoint=None,
    ):
        self.command, self.log_path, self.env = command, Path(log_path), env
        self.port, self.endpoint = port, endpoint  # HTTP: the port it serves; Socket Mode: the endpoint it joins
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.endpoint is not None:
            return self.endpoint.connected
        return self.healthz() == 200

    def start(self, timeout: float = 30.0):
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early ({self.proc.returncode}): {self.log()}")
            if self.ready():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} never became ready: {self.log()}")

    def healthz(self) -> int | None:
        if self.port is None:
            return None
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                return r.status
        except OSError:
            return None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, as a deploy stops it; the exit code (SIGKILL after 15 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.proc is None else self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def coprod_env(
    db: Path, api_url: str, *, mode: str = "http", secret: str = SECRET, port: int | None = None
) -> dict[str, str]:
    """The environment of a coprod in ``mode`` against the Slack stand-in at ``api_url`` (nothing else of ours)."""
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": api_url, "COPROD_DB": str(db)}
    if mode == "http":
        env.update({"SLACK_SIGNING_SECRET": secret, "PORT": str(0 if port is None else port)})
    elif mode == "socket":
        env["SLACK_APP_TOKEN"] = APP_TOKEN
    else:
        raise ValueError(f"mode is one of {MODES}, not {mode!r}")
    return env


class BotProcess(AppProcess):
    """``coprod run --http`` (``python -m bot run --http``) as a subprocess; with ``mode="socket"``, ``coprod run``
    in Socket Mode, connecting out to ``endpoint`` (a SocketModeEndpoint the stub at ``api_url`` points to)."""

    name = "coprod"

    def __init__(
        self,
        db: Path,
        api_url: str,
        log_path: Path,
        *,
        mode: str = "http",
        secret: str = SECRET,
        port: int | None = None,
        endpoint=None,
        command: list[str] | None = None,
    ):
        if mode == "socket" and endpoint is None:
            raise ValueError("Socket Mode needs the endpoint coprod connects to (see socket_endpoint())")
        self.db, self.api_url, self.secret, self.mode = Path(db), api_url, secret, mode
        port = (port or free_port()) if mode == "http" else None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPROD_")) and k != "PORT"}
        env.update(coprod_env(self.db, api_url, mode=mode, secret=secret, port=port))
        command = command or [sys.executable, "-m", "bot", "run", *(["--http"] if mode == "http" else [])]
        super().__init__(command, log_path, env=env, port=port, endpoint=endpoint if mode == "socket" else None)


# ---- coprod in this process --------------------------------------------------------------------------


class CoprodInProcess:
    """``bot.runtime.run.Runtime`` in this process, serving HTTP on a free port or connected to ``endpoint`` in
    Socket Mode; ``drain()`` waits for the follow-ups of everything acknowledged so far."""

    def __init__(
        self,
        db: Path,
        api_url: str,
        *,
        mode: str = "http",
        endpoint=None,
        secret: str = SECRET,
        clock: Callable | None = None,
    ):
        if mode == "socket" and endpoint is None:
            raise ValueError("Socket Mode needs the endpoint coprod connects to (see socket_endpoint())")
        self.db, self.api_url, self.mode, self.endpoint, self.secret = Path(db), api_url, mode, endpoint, secret
        self.clock = clock
        self.runtime = None
        self._thread: threading.Thread | None = None

    def start(self) -> CoprodInProcess:
        from bot.runtime.run import Runtime
        from bot.settings import Settings
        from bot.slack.deps import utcnow

        settings = Settings.from_env(coprod_env(self.db, self.api_url, mode=self.mode, secret=self.secret, port=0))
        self.runtime = Runtime(settings, clock=self.clock or utcnow)
        if self.mode == "http":
            self.runtime.make_server(host="127.0.0.1", port=0)
            self._thread = threading.Thread(target=self.runtime.serve, name="coprod-http", daemon=True)
            self._thread.start()
        else:
            self.runtime.start_socket_mode()
            self.endpoint.wait_connected()
        return self

    @property
    def port(self) -> int | None:
        return self.runtime.port if self.mode == "http" else None

    def drain(self, timeout: float = 10.0) -> bool:
        return self.runtime.drain(timeout)

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> CoprodInProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- clicks --------------------------------------------------------------------------------------


def rating_click(user: str, channel: str, checkin_id: int, rating: int, response_url: str) -> tuple[bytes, str]:
    """A rating button click on a seeded check-in, as Slack would POST it: (body, content type)."""
    return action_body(
        f"rate:{rating}",
        str(rating),
        block_id=f"checkin:{checkin_id}",
        user=user,
        channel=channel,
        team=TEAM,
        message_ts=MESSAGE_TS,
        response_url=response_url,
    )


_timed_clicks = itertools.count(1)  # each click's own response URL, after the bench's prefix


def handle_click_in_process(
    application: Any, click: tuple[str, str, int, int], response_url: str, *, port: int = 0, prof: Any = None
) -> float:
    """Hand one signed rating click straight to a WSGI ``application`` (no socket); the seconds it took.
    ``prof``: a cProfile.Profile to run around the call alone."""
    from bot.localslack.signed import sign

    body, ctype = rating_click(*click, f"{response_url}/{next(_timed_clicks)}")  # a URL of its own, as on Slack
    headers = sign(SECRET, body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": ctype,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
        "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
    }
    status: list[str] = []
    if prof is not None:
        prof.enable()
    began = time.perf_counter()
    b"".join(application(environ, lambda s, hs, exc_info=None: status.append(s)))
    elapsed = time.perf_counter() - began
    if prof is not None:
        prof.disable()
    if not status or not status[0].startswith("200"):
        raise RuntimeError(f"the handler answered {status}")
    return elapsed


class Clicker:
    """One keep-alive HTTP/1.1 connection to ``/slack/events``, sending clicks signed as Slack signs them.

    ``prepare`` builds and signs a click; ``send`` posts a prepared one and returns the HTTP status (what a
    benchmark times); ``rate`` does both."""

    def __init__(self, port: int, secret: str = SECRET, timeout: float = 10.0):
        self.secret = secret
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def prepare(self, user: str, channel: str, checkin_id: int, rating: int, response_url: str):
        body, ctype = rating_click(user, channel, checkin_id, rating, response_url)
        return body, {"Content-Type": ctype, **sign(self.secret, body)}

    def send(self, prepared) -> int:
        body, headers = prepared
        try:
            self.conn.request("POST", "/slack/events", body=body, headers=headers)
            resp = self.conn.getresponse()
            resp.read()
            return resp.status
        except BaseException:
            self.conn.close()  # the next request reconnects
            raise

    def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type, **sign(self.secret, body)}
        try:
            self.conn.request("POST", "/slack/events", body=body, headers=headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except BaseException:
            self.conn.close()
            raise

    def rate(self, user: str, channel: str, checkin_id: int, rating: int, response_url: str) -> int:
        return self.send(self.prepare(user, channel, checkin_id, rating, response_url))

    def close(self) -> None:
        self.conn.close()


class SocketClicker:
    """The same clicks as :class:`Clicker`, sent as Slack's Socket Mode ``interactive`` envelopes on
    ``endpoint``; ``send`` returns 200 once acknowledged, 504 when no ack came within ``timeout`` (Slack's 3 s)."""

    def __init__(self, endpoint, timeout: float = SLACK_ACK_TIMEOUT):
        self.endpoint, self.timeout = endpoint, timeout
        self._payload = socket_mode_sim().socket_payload

    def prepare(self, user: str, channel: str, checkin_id: int, rating: int, response_url: str):
        return self._payload(*rating_click(user, channel, checkin_id, rating, response_url))

    def send(self, prepared) -> int:
        envelope_type, payload = prepared
        return 504 if self.endpoint.send(envelope_type, payload, timeout=self.timeout) is None else 200

    def rate(self, user: str, channel: str, checkin_id: int, rating: int, response_url: str) -> int:
        return self.send(self.prepare(user, channel, checkin_id, rating, response_url))

    def close(self) -> None:
        pass


def clicker(target, *, timeout: float | None = None, secret: str = SECRET):
    """A clicker for ``target``: a port (HTTP) or a SocketModeEndpoint (Socket Mode)."""
    if isinstance(target, int):
        return Clicker(target, secret=secret, timeout=10.0 if timeout is None else timeout)
    return SocketClicker(target, timeout=SLACK_ACK_TIMEOUT if timeout is None else min(timeout, SLACK_ACK_TIMEOUT))


def click_target(app) -> Any:
    """What :func:`clicker` needs to reach a started BotProcess or CoprodInProcess."""
    return app.endpoint if getattr(app, "mode", "http") == "socket" else app.port


class ClickStream:
    """Sequential rating clicks over the seeded check-ins: mostly first answers, some changed ratings."""

    def __init__(self, targets: list[tuple[str, int]], users: int = 400, seed_value: int = 1126):
        self.targets, self.users = targets, users
        self.rnd = random.Random(seed_value)

    def next(self) -> tuple[str, str, int, int]:
        """(user, channel, checkin_id, rating)"""
        user = f"U{self.rnd.randrange(self.users):04d}"
        channel, cid = self.rnd.choice(self.targets)
        return user, channel, cid, self.rnd.randint(1, 5)


def timed_click(client, stream: ClickStream, response_url: str, what: str, log: Callable[[], str]) -> float:
    """Send ``stream``'s next click through ``client`` and return how long until it was acknowledged (the
    request is built first, outside the timing); raises, naming ``what`` and its log, on anything but 200."""
    user, channel, cid, rating = stream.next()
    # Slack gives each click a response URL of its own (good for 5 posts): ``response_url`` is a prefix.
    prepared = client.prepare(user, channel, cid, rating, f"{response_url}/{next(_timed_clicks)}")
    began = time.perf_counter()
    status = client.send(prepared)
    elapsed = time.perf_counter() - began
    if status != 200:
        raise RuntimeError(f"{what} answered {status}: {log()}")
    return elapsed


# ---- many clients at once, and what was kept -----------------------------------------------------------


@dataclass
class Worker:
    """What one client thread sent and what it was told."""

    users: list[str]
    acked: dict[tuple[str, int], int] = field(default_factory=dict)  # (user, checkin) -> last acked rating
    # (user, checkin) -> ratings sent without an acknowledgement (reset, timeout, non-200): each may or may
    # not have been stored, and one sent before a timeout may even land after a later acknowledged click.
    unanswered: dict[tuple[str, int], set[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged clicks only
    done_at: list[float] = field(default_factory=list)  # time.monotonic() of each ack, beside latencies
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    acked_at: dict[str, float] = field(default_factory=dict)  # response_url key -> wall time of the ack


@dataclass
class LoadResult:
    workers: list[Worker]
    seconds: float
    began: float = 0.0  # time.monotonic() when the clients were let go

    def timeline(self, step: float) -> list[tuple[float, int, float]]:
        """(window start s, acks, p99 s) per ``step`` seconds of the run."""
        windows: dict[int, list[float]] = {}
        for w in self.workers:
            for at, latency in zip(w.done_at, w.latencies, strict=True):
                windows.setdefault(int((at - self.began) // step), []).append(latency)
        return [(i * step, len(v), percentile(v, 99)) for i, v in sorted(windows.items())]

    @property
    def requests(self) -> int:
        return sum(sum(w.statuses.values()) + sum(w.errors.values()) for w in self.workers)

    @property
    def acked_clicks(self) -> int:
        return sum(len(w.latencies) for w in self.workers)

    @property
    def statuses(self) -> Counter:
        return sum((w.statuses for w in self.workers), Counter())

    @property
    def errors(self) -> Counter:
        return sum((w.errors for w in self.workers), Counter())

    @property
    def acked(self) -> dict[tuple[str, int], int]:
        return {k: v for w in self.workers for k, v in w.acked.items()}

    @property
    def unanswered(self) -> dict[tuple[str, int], set[int]]:
        return {k: v for w in self.workers for k, v in w.unanswered.items()}

    @property
    def latencies(self) -> list[float]:
        return sorted(x for w in self.workers for x in w.latencies)

    @property
    def acked_at(self) -> dict[str, float]:
        return {k: v for w in self.workers for k, v in w.acked_at.items()}

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class Progress:
    """Acknowledged clicks so far, across threads; ``wait_for(n)`` blocks until there are ``n``."""

    def __init__(self) -> None:
        self.acked = 0
        self._cond = threading.Condition()

    def add(self) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.acked >= n, timeout)


def run_clicks(
    target,
    targets: list[tuple[str, int]],
    *,
    clients: int,
    users_per_client: int,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    response_url: str = "http://127.0.0.1:9/",
    stop_on_error: bool = False,
    max_clicks_per_client: int | None = None,
    seed_value: int = 20261126,
    timeout: float = 10.0,
    progress: Progress | None = None,
) -> LoadResult:
    """``clients`` threads clicking at ``target`` (a port, or a SocketModeEndpoint) as fast as it answers, until
    ``seconds`` pass, ``stop`` is set, or each sent its quota.

    Each thread owns its users, so a user's clicks are sequential and "the last acknowledged rating" of a
    (user, check-in) pair is well defined; users click the same check-in again with another rating.
    ``response_url`` is a prefix; each click gets its own ``<prefix><user>/<checkin>/<n>`` so its reply can
    be matched to its ack. A click that got no answer (reset, timeout, no ack) is kept in ``unanswered``: it
    may or may not have been stored, and only acknowledged clicks are promised. With ``stop_on_error`` a
    thread stops at its first click that was not acknowledged.
    """
    stop = stop or threading.Event()
    workers = [Worker([f"U{c:03d}X{u:03d}" for u in range(users_per_client)]) for c in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def work(index: int, worker: Worker) -> None:
        rnd = random.Random(seed_value * 1000 + index)
        client = clicker(target, timeout=timeout)
        sent = 0
        start_gate.wait()
        try:
            while not stop.is_set() and (max_clicks_per_client is None or sent < max_clicks_per_client):
                user = rnd.choice(worker.users)
                channel, cid = rnd.choice(targets)
                rating = rnd.randint(1, 5)
                key = f"{user}/{cid}/{sent}"
                sent += 1
                prepared = client.prepare(user, channel, cid, rating, response_url + key)
                began = time.perf_counter()
                try:
                    status = client.send(prepared)
                except (OSError, http.client.HTTPException) as exc:
                    worker.errors[type(exc).__name__] += 1
                    worker.unanswered.setdefault((user, cid), set()).add(rating)
                    if stop_on_error:
                        return
                    time.sleep(0.05)
                    continue
                elapsed = time.perf_counter() - began
                worker.statuses[status] += 1
                if status == 200:
                    worker.latencies.append(elapsed)
                    worker.done_at.append(time.monotonic())
                    worker.acked[(user, cid)] = rating
                    worker.acked_at[key] = time.time()
                    if progress is not None:
                        progress.add()
                else:
                    # A refused click changes nothing we were promised, but it may have been stored.
                    worker.unanswered.setdefault((user, cid), set()).add(rating)
                    if stop_on_error:
                        return
        finally:
            client.close()

    threads = [
        threading.Thread(target=work, args=(i, w), name=f"clicker-{i}", daemon=True) for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.monotonic()
    if seconds is not None:
        stop.wait(seconds)
        stop.set()
    for t in threads:
        t.join(timeout + 5)
    return LoadResult(workers, time.monotonic() - began, began)


def stored_problems(db: Path, targets: list[tuple[str, int]], result: LoadResult) -> tuple[list[str], int]:
    """Compare the database with what was acknowledged; return (problems, rows stored).

    An acknowledged (user, check-in) must be stored with its last acknowledged rating, or with the rating
    of an unanswered click for the same pair (which may have been committed after it). A pair never
    acknowledged may be missing, or hold one of its unanswered ratings. Nothing else may be there.
    """
    acked, unanswered = result.acked, result.unanswered
    problems: list[str] = []
    store = Store.open(db)
    try:
        for (user, cid), rating in sorted(acked.items()):
            answer = store.answers.my_answer(TEAM, cid, user)
            allowed = {rating} | unanswered.get((user, cid), set())
            if answer is None:
                problems.append(f"lost: {user} on check-in {cid} (acknowledged rating {rating})")
            elif answer.rating not in allowed:
                problems.append(f"wrong: {user} on check-in {cid} is {answer.rating}, acknowledged {rating}")
        for (user, cid), ratings in sorted(unanswered.items()):
            if (user, cid) not in acked:
                answer = store.answers.my_answer(TEAM, cid, user)
                if answer is not None and answer.rating not in ratings:
                    problems.append(f"unexpected: {user} on check-in {cid} is {answer.rating}, never sent")
        stored = sum(store.answers.response_count(TEAM, cid) for _, cid in targets)
        possible = len(set(acked) | set(unanswered))
        if not len(acked) <= stored <= possible:
            problems.append(
                f"{stored} answers stored for {len(acked)} acknowledged pairs (and {possible - len(acked)} unanswered)"
            )
        integrity = store.integrity_check()
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        return problems, stored
    finally:
        store.close()


def wait_for_replies(stub, expected: int, timeout: float) -> int:
    """Wait until the stub has had ``expected`` response_url posts (the replies); return how many."""
    deadline = time.monotonic() + timeout
    while True:
        got = len(stub.calls_to("response_url"))
        if got >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def reply_lags(stub, acked_at: dict[str, float]) -> list[float]:
    """Seconds from each click's ack to its reply arriving at the stub's response_url (sorted)."""
    lags = []
    for call in stub.calls_to("response_url"):
        key = str(call.args.get("_key", ""))
        if key in acked_at:
            lags.append(call.time - acked_at[key])
    return sorted(lags)


# ---- the harness's own check ---------------------------------------------------------------------------


def smoke(workdir: Path) -> int:
    """coprod four ways (subprocess or in process, HTTP or Socket Mode): clicks acknowledged, stored, replied to."""
    from tests.support.slack_stub import SlackStub

    failures = 0
    for where in ("subprocess", "in process"):
        for mode in MODES:
            began = time.perf_counter()
            db = workdir / f"smoke-{where.replace(' ', '-')}-{mode}.db"
            remove_db(db)
            targets = seed(db, 4)
            endpoint = socket_endpoint() if mode == "socket" else None
            try:
                with SlackStub() as stub:
                    for channel in CHANNELS:
                        channel_with_checkin(stub, channel)
                    if endpoint is not None:
                        stub.socket_mode_url = endpoint.url
                    app = (
                        BotProcess(db, stub.url, workdir / f"smoke-{mode}.log", mode=mode, endpoint=endpoint)
                        if where == "subprocess"
                        else CoprodInProcess(db, stub.url, mode=mode, endpoint=endpoint)
                    )
                    with app:
                        result = run_clicks(
                            click_target(app),
                            targets,
                            clients=3,
                            users_per_client=3,
                            max_clicks_per_client=10,
                            response_url=stub.open_response_urls(""),
                        )
                        drained = app.drain() if where == "in process" else True
                        replies = wait_for_replies(stub, len(result.acked), timeout=10)
                    problems, stored = stored_problems(db, targets, result)
            finally:
                if endpoint is not None:
                    endpoint.stop()
            ok = (
                not problems
                and result.acked_clicks == 30
                and drained
                and replies >= len(result.acked)
                and set(result.statuses) == {200}
            )
            failures += not ok
            print(
                f"{'ok  ' if ok else 'FAIL'} coprod {where}, {mode}: {result.acked_clicks}/30 acknowledged, "
                f"{stored} answers stored, {replies} replies, {time.perf_counter() - began:.1f} s"
                + (f"; {problems[:3]} {dict(result.statuses)}" if not ok else "")
            )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="The benchmarks' shared harness; --smoke checks it.")
    parser.add_argument("--smoke", action="store_true", help="start coprod each of the four ways and click")
    parser.add_argument("--stub", metavar="CHANNELS", help=argparse.SUPPRESS)
    parser.add_argument("--socket-mode-url", help=argparse.SUPPRESS)
    parser.add_argument("--stub-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stub is not None:
        _serve_stub([c for c in args.stub.split(",") if c], args.socket_mode_url, args.stub_delay)
        return 0
    print_machine()
    if not args.smoke:
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="coprod-harness-"))
    failed = smoke(workdir)
    if failed:
        print(f"logs and databases: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
