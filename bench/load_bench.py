"""Load: many concurrent clients clicking rating buttons at `coprod run --http`, then count what was kept.

    python bench/load_bench.py [--clients 50] [--seconds 60] [--users-per-client 40] [--checkins 8]

1. Seeds a fresh database (two partnerships, ``--checkins`` check-ins each with a message_ts, so every
   click's lazy reply both answers the response_url and updates the check-in's count) and starts
   ``python -m bot run --http`` on it as a subprocess, with Slack's Web API replaced by ``SlackStub``.
2. ``--clients`` threads, each with its own keep-alive connection, send signed rating clicks as fast
   as the bot answers for ``--seconds``. Each thread owns its users, so a user's clicks are sequential
   and "the last acknowledged rating" of a (user, check-in) pair is well defined; users click the
   same check-in again with another rating, as people change their minds.
3. Reads the database back with ``Store``: every acknowledged (user, check-in) pair must be there
   with its last acknowledged rating, and nothing else. Prints requests, req/s, ack latency
   percentiles, 5xx count, lost answers, and how far behind the lazy replies ran.

``tests/test_load.py`` (CI) and ``tests/test_durability.py`` (SIGKILL) use the same pieces in short form.
Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from slack_requests import action_body, sign  # noqa: E402

from bot.store import Store  # noqa: E402

SECRET = "load-bench-signing-secret"
TEAM = "T1"
CHANNELS = ("C1", "C2")
MESSAGE_TS = "1700000000.000100"
# Tuesday 24 November 2026, 09:00 UTC: when the seeded check-ins were asked.
ASKED_AT = 1795510800


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(db: Path, checkins_per_channel: int, channels: tuple[str, ...] = CHANNELS) -> list[tuple[str, int]]:
    """Partnerships and check-ins to click on: [(channel, checkin_id), ...]."""
    store = Store.open(db)
    try:
        targets = []
        for channel in channels:
            store.ensure_partnership(TEAM, channel, timezone="Europe/London", created_by="U1", now=ASKED_AT)
            for i in range(checkins_per_channel):
                cid = store.record_checkin(TEAM, channel, facilitator_id="regular-meetings", level_id="group",
                                           asked_at=ASKED_AT + i, message_ts=MESSAGE_TS)
                targets.append((channel, cid))
        return targets
    finally:
        store.close()


class BotProcess:
    """`python -m bot run --http` as a subprocess, its output in a log file (a pipe nobody reads would fill)."""

    def __init__(self, db: Path, api_url: str, log_path: Path, *, secret: str = SECRET, port: int | None = None,
                 command: list[str] | None = None):
        self.db, self.api_url, self.log_path, self.secret = db, api_url, log_path, secret
        self.port = port or free_port()
        self.command = command or [sys.executable, "-m", "bot", "run", "--http"]
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> BotProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPROD_"))}
        env.update({"SLACK_BOT_TOKEN": "xoxb-load-bench", "SLACK_SIGNING_SECRET": self.secret,
                    "SLACK_API_URL": self.api_url, "PORT": str(self.port), "COPROD_DB": str(self.db)})
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(self.command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coprod exited early ({self.proc.returncode}): {self.log()}")
            if self.healthz() == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"coprod never became healthy: {self.log()}")

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                return r.status
        except OSError:
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.proc is None else self.proc.returncode

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Clicker:
    """One keep-alive HTTP/1.1 connection to the bot, sending signed rating clicks as Slack does."""

    def __init__(self, port: int, secret: str = SECRET, timeout: float = 10.0):
        self.secret = secret
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type, **sign(self.secret, body)}
        try:
            self.conn.request("POST", "/slack/events", body=body, headers=headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except BaseException:
            self.conn.close()  # the next request reconnects
            raise

    def rate(self, user: str, channel: str, checkin_id: int, rating: int, response_url: str) -> int:
        body, ctype = action_body(f"rate:{rating}", str(rating), block_id=f"checkin:{checkin_id}", user=user,
                                  channel=channel, team=TEAM, message_ts=MESSAGE_TS, response_url=response_url)
        return self.post(body, ctype)[0]

    def close(self) -> None:
        self.conn.close()


@dataclass
class Worker:
    """What one client thread sent and what it was told."""

    users: list[str]
    acked: dict[tuple[str, int], int] = field(default_factory=dict)  # (user, checkin) -> last acked rating
    # (user, checkin) -> ratings sent without an acknowledgement (reset, timeout, non-200): each may or may
    # not have been stored, and one sent before a timeout may even land after a later acknowledged click.
    unanswered: dict[tuple[str, int], set[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, 200s only
    done_at: list[float] = field(default_factory=list)  # time.monotonic() of each 200, beside latencies
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
        return [(i * step, len(v), percentile(sorted(v), 99)) for i, v in sorted(windows.items())]

    @property
    def requests(self) -> int:
        return sum(sum(w.statuses.values()) + sum(w.errors.values()) for w in self.workers)

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


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))]


def run_clicks(port: int, targets: list[tuple[str, int]], *, clients: int, users_per_client: int,
               seconds: float | None = None, stop: threading.Event | None = None,
               response_url: str = "http://127.0.0.1:9/", stop_on_error: bool = False,
               max_clicks_per_client: int | None = None, seed_value: int = 20261126,
               timeout: float = 10.0, progress: Progress | None = None) -> LoadResult:
    """``clients`` threads clicking until ``seconds`` pass, ``stop`` is set, or each sent its quota.

    ``response_url`` is a prefix; each click gets its own ``<prefix><user>/<checkin>/<n>`` so its lazy
    reply can be matched to its ack. A click that got no HTTP answer (reset, timeout) is kept in
    ``unanswered``: it may or may not have been stored, and only acknowledged clicks are promised.
    """
    stop = stop or threading.Event()
    workers = [Worker([f"U{c:03d}X{u:03d}" for u in range(users_per_client)]) for c in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def work(index: int, worker: Worker) -> None:
        rnd = random.Random(seed_value * 1000 + index)
        clicker = Clicker(port, timeout=timeout)
        sent = 0
        start_gate.wait()
        try:
            while not stop.is_set() and (max_clicks_per_client is None or sent < max_clicks_per_client):
                user = rnd.choice(worker.users)
                channel, cid = rnd.choice(targets)
                rating = rnd.randint(1, 5)
                key = f"{user}/{cid}/{sent}"
                sent += 1
                began = time.perf_counter()
                try:
                    status = clicker.rate(user, channel, cid, rating, response_url + key)
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
        finally:
            clicker.close()

    threads = [threading.Thread(target=work, args=(i, w), name=f"clicker-{i}", daemon=True)
               for i, w in enumerate(workers)]
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
            answer = store.my_answer(TEAM, cid, user)
            allowed = {rating} | unanswered.get((user, cid), set())
            if answer is None:
                problems.append(f"lost: {user} on check-in {cid} (acknowledged rating {rating})")
            elif answer.rating not in allowed:
                problems.append(f"wrong: {user} on check-in {cid} is {answer.rating}, acknowledged {rating}")
        for (user, cid), ratings in sorted(unanswered.items()):
            if (user, cid) not in acked:
                answer = store.my_answer(TEAM, cid, user)
                if answer is not None and answer.rating not in ratings:
                    problems.append(f"unexpected: {user} on check-in {cid} is {answer.rating}, never sent")
        stored = sum(store.response_count(TEAM, cid) for _, cid in targets)
        possible = len(set(acked) | set(unanswered))
        if not len(acked) <= stored <= possible:
            problems.append(f"{stored} answers stored for {len(acked)} acknowledged pairs "
                            f"(and {possible - len(acked)} unanswered)")
        integrity = store.integrity_check()
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        return problems, stored
    finally:
        store.close()


def wait_for_replies(stub, expected: int, timeout: float) -> int:
    """Wait until the stub has had ``expected`` response_url posts (the lazy replies); return how many."""
    deadline = time.monotonic() + timeout
    while True:
        got = len(stub.calls_to("response_url"))
        if got >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def reply_lags(stub, acked_at: dict[str, float]) -> list[float]:
    """Seconds from each click's ack to its lazy reply arriving at the stub's response_url."""
    lags = []
    for call in stub.calls_to("response_url"):
        key = str(call.args.get("_key", ""))
        if key in acked_at:
            lags.append(call.time - acked_at[key])
    return sorted(lags)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def run_coprod_with_write_lock() -> int:
    """PROTOTYPE, bench only: `coprod run --http` with one in-process lock around each write transaction.

    coprod's threads then queue on a mutex for the write instead of on SQLite's busy handler, which
    sleeps and retries (1, 2, 5, ... up to 100 ms) and lets an unlucky writer lose again and again.
    """
    import contextlib

    from bot.cli import main as coprod_main
    from bot.store import Store

    unlocked = Store._write
    lock = threading.Lock()

    @contextlib.contextmanager
    def locked_write(self):
        with lock, unlocked(self) as conn:
            yield conn

    Store._write = locked_write
    return coprod_main(["run", "--http"])


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:] == ["--run-coprod-with-write-lock"]:
        return run_coprod_with_write_lock()

    from slack_stub import SlackStub

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users-per-client", type=int, default=40)
    parser.add_argument("--checkins", type=int, default=8, help="check-ins per channel (two channels)")
    parser.add_argument("--sigterm-at-once", action="store_true",
                        help="send SIGTERM as soon as the load stops, without waiting for the lazy replies")
    parser.add_argument("--prototype-write-lock", action="store_true",
                        help="run coprod with an in-process lock around each write (a bench-only patch)")
    parser.add_argument("--dir", type=Path, help="where the database and log go (default: a temp dir)")
    args = parser.parse_args(argv)

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="coprod-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "load.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    targets = seed(db, args.checkins)

    with SlackStub() as stub:
        for channel in CHANNELS:
            stub.add_channel(channel, [], name=f"partnership-{channel.lower()}")
        command = ([sys.executable, str(Path(__file__).resolve()), "--run-coprod-with-write-lock"]
                   if args.prototype_write_lock else None)
        bot = BotProcess(db, stub.url, workdir / "coprod.log", command=command)
        with bot:
            print(f"coprod pid {bot.proc.pid} on port {bot.port}; {args.clients} clients x {args.seconds:g} s, "
                  f"{args.clients * args.users_per_client} users, {len(targets)} check-ins; "
                  f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            cpu_before = process_cpu(bot.proc.pid)
            result = run_clicks(bot.port, targets, clients=args.clients, users_per_client=args.users_per_client,
                                seconds=args.seconds, response_url=stub.response_url(""))
            cpu = process_cpu(bot.proc.pid) - cpu_before
            acked_requests = sum(len(w.latencies) for w in result.workers)
            drain_began = time.monotonic()
            if args.sigterm_at_once:
                # What a deploy's SIGTERM does to the replies still queued behind the acks.
                at_sigterm = len(stub.calls_to("response_url"))
                bot.stop()
                replies = wait_for_replies(stub, acked_requests, timeout=5)
                healthy = None
            else:
                replies = wait_for_replies(stub, acked_requests, timeout=300)
                healthy = bot.healthz()
            drained = time.monotonic() - drain_began
        lags = reply_lags(stub, result.acked_at)
        updates = len(stub.calls_to("chat.update"))
    problems, stored = stored_problems(db, targets, result)
    lat = result.latencies

    print(f"requests            {result.requests}")
    print(f"req/s               {result.requests / result.seconds:.0f}  ({result.seconds:.1f} s)")
    print(f"statuses            {dict(sorted(result.statuses.items()))}")
    print(f"client errors       {dict(result.errors) or 0}")
    print(f"5xx                 {result.server_errors}")
    print(f"ack latency ms      p50 {ms(percentile(lat, 50))}  p95 {ms(percentile(lat, 95))}  "
          f"p99 {ms(percentile(lat, 99))}  max {ms(lat[-1] if lat else float('nan'))}")
    step = max(1.0, round(result.seconds / 12))
    print(f"timeline            per {step:g} s: " + ", ".join(
        f"{n / step:.0f}/s p99 {ms(p99)}" for _, n, p99 in result.timeline(step)))
    print(f"acknowledged pairs  {len(result.acked)}   stored {stored}")
    print(f"lost answers        {sum(p.startswith('lost') for p in problems)}")
    print(f"other problems      {[p for p in problems if not p.startswith('lost')][:5] or 0}")
    print(f"coprod CPU          {cpu:.1f} s during the load, {cpu / max(1, result.requests) * 1e3:.2f} ms per click "
          "(ack and lazy reply)")
    if args.sigterm_at_once:
        errors = [line for line in bot.log_path.read_text(errors="replace").splitlines() if " ERROR " in line]
        print(f"SIGTERM at once     {at_sigterm} replies had arrived at SIGTERM, {replies}/{acked_requests} after "
              f"exit ({bot.proc.returncode}); {len(errors)} ERROR lines in the log"
              + (f", e.g. {errors[0][24:]}" if errors else ""))
    else:
        print(f"lazy replies        {replies}/{acked_requests} response_url posts, {updates} chat.update; "
              f"backlog drained {drained:.1f} s after the load stopped")
    if lags:
        print(f"reply lag ms        p50 {ms(percentile(lags, 50))}  p99 {ms(percentile(lags, 99))}  "
              f"max {ms(lags[-1])}  (ack -> response_url at the stub)")
    print(f"healthz after       {healthy}; log: {workdir / 'coprod.log'}")
    all_replied = args.sigterm_at_once or replies >= acked_requests
    ok = not problems and result.server_errors == 0 and not result.errors and all_replied
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
