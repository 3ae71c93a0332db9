"""Acknowledgement latency: coprod against a bare Bolt app that only acks, side by side.

    python bench/ack_bench.py [--clicks 2000] [--warmup 300] [--rounds 10] [--gap-ms 25] [--profile]
                              [--no-prototypes]

1. Over HTTP: subprocesses on this machine, all served the same way (waitress, 8 threads, Bolt with
   ``process_before_response=True``, signature verification on, the same signing secret):
   (a) a bare Bolt app whose ``rate:`` action listener only calls ``ack()``;
   (b) ``python -m bot run --http``, which stores the answer (committed) before the ack, then replies
       to the response_url and updates the check-in's count from lazy listeners (Slack is SlackStub);
   (c), (d) bench-only prototypes of a fix, built from bot/'s own functions (see ``queued_reply_app``).
   One client sends sequential signed rating clicks over a keep-alive connection per app, alternating
   between the apps in ``--rounds`` blocks so that drift on a shared machine hits all alike; ``--warmup``
   clicks each first are not counted. Then a quarter as many clicks with ``--gap-ms`` idle after each.
   Each server's CPU time per click (its whole process: ack and replies) comes from /proc.
2. In process (no sockets, no waitress): ``App.dispatch`` of the same signed clicks for the bare app,
   the bare app with a no-op lazy listener, and coprod's app built by ``bot.runtime.Runtime`` (as
   tests/conftest.py does), with the Slack stub in another process; the time coprod's request thread
   spends in each store call and in Bolt's lazy-listener start; the store calls timed alone; with
   ``--profile``, cProfile of coprod's dispatch.
3. The same store write with ``PRAGMA synchronous = FULL`` instead of coprod's ``NORMAL``: the price of
   an ack that also survives power loss, not only a killed process.

Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from load_bench import (  # noqa: E402
    MESSAGE_TS,
    SECRET,
    TEAM,
    BotProcess,
    Clicker,
    percentile,
    process_cpu,
    seed,
)
from slack_requests import action_body, sign  # noqa: E402

RATE = re.compile(r"^rate:([1-5])$")


# ---- (a) the bare app -----------------------------------------------------------------------------

def bare_app(api_url: str, secret: str = SECRET, *, noop_lazy: bool = False):
    """The floor: a Bolt app configured as coprod's HTTP mode is, whose rating listener only acks.

    ``noop_lazy`` adds a lazy listener that does nothing, to price Bolt's lazy-listener machinery.
    """
    from slack_bolt import App
    from slack_sdk import WebClient

    app = App(client=WebClient(token="xoxb-bare", base_url=api_url), signing_secret=secret,
              process_before_response=True, token_verification_enabled=False,
              request_verification_enabled=True, logger=logging.getLogger("bare.bolt"))

    def rate(ack):
        ack()

    if noop_lazy:
        app.action(RATE)(ack=rate, lazy=[lambda body: None])
    else:
        app.action(RATE)(rate)
    return app


def queued_reply_app(api_url: str, db: str, *, coalesce: bool, secret: str = SECRET):
    """PROTOTYPE, bench only (coprod is not built this way): what a fix to the ack path would cost.

    The rating ack is coprod's own (the same checks and the same committed write, through bot/'s own
    functions), but the reply work (the ephemeral "recorded" message and the count on the check-in) goes on a
    plain queue drained by one thread instead of Bolt lazy listeners, so the ack path pays no request copy
    and no kwargs building. With ``coalesce``, the thread takes all queued replies at once and updates each
    check-in's count once per batch (the latest count) instead of once per click.
    """
    import queue

    from slack_bolt import App
    from slack_sdk import WebClient
    from slack_sdk.webhook import WebhookClient

    from bot import messages
    from bot.catalog import load_catalog
    from bot.listeners.actions import RATE as COPROD_RATE
    from bot.listeners.actions import _action, _ids, checkin_for_click, update_count
    from bot.posts import Deps, utcnow
    from bot.store import Store

    store = Store.open(db)
    deps = Deps(store, load_catalog(None), utcnow)
    client = WebClient(token="xoxb-queue", base_url=api_url)
    app = App(client=client, signing_secret=secret, process_before_response=True, token_verification_enabled=False,
              request_verification_enabled=True, logger=logging.getLogger("queue.bolt"))
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    @app.action(RATE)
    def rate(ack, body):
        action = _action(body)
        match = COPROD_RATE.match(str(action.get("action_id", "")))
        checkin = checkin_for_click(deps, body)
        if not match or checkin is None or action.get("value") != match.group(1):
            return ack()
        team, _, user = _ids(body)
        private = checkin.kind == "reflexivity"
        role = None if private else store.roles(team, checkin.channel_id).get(user)
        answer = store.record_response(team, checkin.id, user, rating=int(match.group(1)),
                                       now=int(deps.now().timestamp()), private=private, role=role)
        jobs.put((checkin, body.get("response_url"), answer, private))
        ack()

    def replier() -> None:
        while True:
            batch = [jobs.get()]
            while coalesce:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            latest = {}
            for checkin, url, answer, private in batch:
                facilitator = deps.catalog.facilitator(checkin.facilitator_id)
                try:
                    WebhookClient(url).send_dict({"text": messages.answer_recorded(
                        facilitator, answer.rating, anonymous=answer.anonymous, comment=answer.comment,
                        private=private), "response_type": "ephemeral", "replace_original": False})
                    if private:
                        continue
                    if coalesce:
                        latest[checkin.id] = checkin
                    else:
                        update_count(deps, client, checkin)
                except Exception:
                    logging.getLogger("queue").exception("a reply failed")
            for checkin in latest.values():
                update_count(deps, client, checkin)

    threading.Thread(target=replier, name="replier", daemon=True).start()
    return app


def serve(kind: str, port: int, api_url: str, db: str | None) -> None:
    """Serve an app exactly as bot.runtime serves coprod (waitress, 8 threads, /healthz)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from waitress import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = bare_app(api_url) if kind == "bare" else queued_reply_app(api_url, db, coalesce=kind == "queue-coalesce")
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
            return [b"ok\n"]
        return slack(environ, start_response)

    server = create_server(application, host="127.0.0.1", port=port, threads=8, ident=kind,
                           clear_untrusted_proxy_headers=True)
    server.run()


class ServedApp(BotProcess):
    """This file run with ``--serve KIND PORT``: the bare app or a prototype, in its own process."""

    def __init__(self, kind: str, db: Path, api_url: str, log_path: Path):
        super().__init__(db, api_url, log_path)
        self.kind = kind

    def start(self, timeout: float = 20.0) -> ServedApp:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--serve", self.kind, str(self.port),
                 "--api-url", self.api_url, "--db", str(self.db)],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early: {self.log()}")
            if self.healthz() == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} never became healthy: {self.log()}")


# ---- clicks -------------------------------------------------------------------------------------

class ClickStream:
    """Sequential rating clicks over the seeded check-ins: mostly first answers, some changed ratings."""

    def __init__(self, targets: list[tuple[str, int]], users: int = 400, seed_value: int = 1126):
        self.targets, self.users = targets, users
        self.rnd = random.Random(seed_value)
        self.n = 0

    def next(self) -> tuple[str, str, int, int]:
        self.n += 1
        user = f"U{self.rnd.randrange(self.users):04d}"
        channel, cid = self.rnd.choice(self.targets)
        return user, channel, cid, self.rnd.randint(1, 5)


def stats(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"n": len(s), "p50": percentile(s, 50), "p95": percentile(s, 95), "p99": percentile(s, 99),
            "mean": statistics.fmean(s), "max": s[-1]}


def row(name: str, st: dict[str, float]) -> str:
    return (f"| {name:<64} | {st['n']:>5} | {st['p50'] * 1e3:7.2f} | {st['p95'] * 1e3:7.2f} | "
            f"{st['p99'] * 1e3:7.2f} | {st['mean'] * 1e3:7.2f} | {st['max'] * 1e3:7.2f} |")


HEADER = (f"| {'what':<64} |     n | p50 ms  | p95 ms  | p99 ms  | mean ms | max ms  |\n"
          f"|{'-' * 66}|------:|--------:|--------:|--------:|--------:|--------:|")


SERVERS = {
    "bare": "(a) bare Bolt app, ack only",
    "coprod": "(b) coprod, answer committed",
    "queue": "(c) prototype: (b) + replies on a queue",
    "queue-coalesce": "(d) prototype: (c) + one count update per batch",
}


def http_side_by_side(stub, workdir: Path, clicks: int, warmup: int, rounds: int, gaps: tuple[float, ...],
                      kinds: tuple[str, ...]) -> tuple[dict[tuple[str, float], dict], dict[tuple[str, float], float]]:
    """Sequential clicks at each server, in alternating blocks; ``gap`` seconds idle after each click.

    Returns latency stats and each server's CPU seconds per click (its whole process: ack and replies).
    """
    servers: dict[str, BotProcess] = {}
    targets: dict[str, list[tuple[str, int]]] = {}
    try:
        for kind in kinds:
            db = workdir / f"ack-{kind}.db"
            targets[kind] = seed(db, 8)
            log = workdir / f"{kind}.log"
            servers[kind] = (BotProcess(db, stub.url, log) if kind == "coprod"
                             else ServedApp(kind, db, stub.url, log)).start()
        response_url = stub.response_url("ack-bench")
        clients = {kind: Clicker(server.port) for kind, server in servers.items()}
        streams = {kind: ClickStream(targets[kind]) for kind in kinds}
        times: dict[tuple[str, float], list[float]] = {(k, g): [] for g in gaps for k in kinds}
        cpu: dict[tuple[str, float], float] = {(k, g): 0.0 for g in gaps for k in kinds}

        def click(kind: str, gap: float) -> float:
            user, channel, cid, rating = streams[kind].next()
            body, ctype = action_body(f"rate:{rating}", str(rating), block_id=f"checkin:{cid}", user=user,
                                      channel=channel, team=TEAM, message_ts=MESSAGE_TS, response_url=response_url)
            began = time.perf_counter()
            status, _ = clients[kind].post(body, ctype)
            elapsed = time.perf_counter() - began
            if status != 200:
                raise RuntimeError(f"{kind} answered {status}")
            if gap:
                time.sleep(gap)
            return elapsed

        for kind in kinds:
            for _ in range(warmup):
                click(kind, 0.0)
        for gap in gaps:
            per_round = max(1, (clicks if not gap else clicks // 4) // rounds)
            for _ in range(rounds):
                for kind in kinds:
                    before = process_cpu(servers[kind].proc.pid)
                    times[(kind, gap)].extend(click(kind, gap) for _ in range(per_round))
                    time.sleep(0.5)  # the replies of this block finish before the next block starts
                    cpu[(kind, gap)] += process_cpu(servers[kind].proc.pid) - before
        for c in clients.values():
            c.close()
    finally:
        for server in servers.values():
            server.stop()
    return ({key: stats(v) for key, v in times.items()},
            {key: cpu[key] / len(times[key]) for key in times})


# ---- in process -----------------------------------------------------------------------------------

def _stub_child(conn) -> None:
    from slack_stub import SlackStub

    with SlackStub() as stub:
        for channel in ("C1", "C2"):
            stub.add_channel(channel, [])
        conn.send(stub.url)
        conn.recv()  # until told to stop


class StubProcess:
    """SlackStub in a child process, so its threads don't share the GIL with the app being timed."""

    def __enter__(self) -> StubProcess:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_stub_child, args=(child,), daemon=True)
        self.proc.start()
        self.url = self.conn.recv()
        self.base = self.url.removesuffix("api/")
        return self

    def response_url(self, key: str) -> str:
        return f"{self.base}response/{key}"

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.proc.join(5)


def _request(body: bytes, ctype: str):
    from slack_bolt.request import BoltRequest

    headers = {"content-type": ctype, **{k.lower(): v for k, v in sign(SECRET, body).items()}}
    return BoltRequest(body=body.decode(), headers=headers)


class Phases:
    """Wall time spent in named calls during one dispatch (wrapping methods in this process only)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []
        self.owner = threading.get_ident()
        self.active = False

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if self.active and threading.get_ident() == self.owner:  # the request's thread only
                    self.current[name] = self.current.get(name, 0.0) + time.perf_counter() - began
        return timed

    def next(self, total: float) -> None:
        self.current["total"] = total
        self.rows.append(self.current)
        self.current = {}


def time_dispatch(app, stream: ClickStream, n: int, response_url: str, profile: cProfile.Profile | None = None,
                  gap: float = 0.0, phases: Phases | None = None) -> list[float]:
    out = []
    for _ in range(n):
        user, channel, cid, rating = stream.next()
        body, ctype = action_body(f"rate:{rating}", str(rating), block_id=f"checkin:{cid}", user=user,
                                  channel=channel, team=TEAM, message_ts=MESSAGE_TS, response_url=response_url)
        req = _request(body, ctype)
        if profile is not None:
            profile.enable()
        began = time.perf_counter()
        resp = app.dispatch(req)
        elapsed = time.perf_counter() - began
        if profile is not None:
            profile.disable()
        if resp.status != 200:
            raise RuntimeError(f"dispatch answered {resp.status}: {resp.body}")
        out.append(elapsed)
        if phases is not None:
            phases.next(elapsed)
        if gap:
            time.sleep(gap)
    return out


def time_calls(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return out


def in_process(workdir: Path, clicks: int, warmup: int, gap: float, profile: bool):
    from slack_bolt.listener.thread_runner import ThreadListenerRunner

    from bot.runtime import Runtime
    from bot.settings import Settings

    db = workdir / "inproc.db"
    targets = seed(db, 8)
    results: dict[str, dict] = {}
    report = ""
    with StubProcess() as stub:
        settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-ack-bench", "SLACK_SIGNING_SECRET": SECRET,
                                      "SLACK_API_URL": stub.url, "COPROD_DB": str(db), "PORT": "0"})
        runtime = Runtime(settings)
        response_url = stub.response_url("ack-inproc")
        apps = {"bare": bare_app(stub.url), "bare + no-op lazy listener": bare_app(stub.url, noop_lazy=True),
                "coprod": runtime.app}
        phases = Phases()
        store = runtime.store
        for name in ("checkin", "roles", "record_response"):
            setattr(store, name, phases.wrap(f"store.{name}", getattr(store, name)))
        original_start = ThreadListenerRunner._start_lazy_function
        ThreadListenerRunner._start_lazy_function = phases.wrap("Bolt: copy request, start lazy listener",
                                                                original_start)
        try:
            stream = ClickStream(targets, seed_value=7)
            for app in apps.values():
                time_dispatch(app, stream, warmup, response_url, gap=gap)
            for name, app in apps.items():
                phases.active = name == "coprod"
                results[f"{name}: App.dispatch"] = stats(time_dispatch(
                    app, stream, clicks, response_url, gap=gap, phases=phases if phases.active else None))
            phases.active = False
            rnd = random.Random(3)
            for name in ("checkin", "roles", "record_response"):
                setattr(store, name, getattr(type(store), name).__get__(store))
            results["alone: store.checkin"] = stats(time_calls(
                lambda i: store.checkin(TEAM, rnd.choice(targets)[1]), clicks))
            results["alone: store.roles"] = stats(time_calls(lambda i: store.roles(TEAM, "C1"), clicks))
            results["alone: store.record_response"] = stats(time_calls(
                lambda i: store.record_response(TEAM, rnd.choice(targets)[1], f"UW{rnd.randrange(400):04d}",
                                                rating=rnd.randint(1, 5), now=1795510900), clicks))
            if profile:
                prof = cProfile.Profile()
                time_dispatch(runtime.app, stream, clicks, response_url, profile=prof, gap=gap)
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
                report = buf.getvalue()
        finally:
            ThreadListenerRunner._start_lazy_function = original_start
            runtime.stop()
    breakdown = {}
    names = sorted({k for r in phases.rows for k in r} - {"total"})
    for name in [*names, "total"]:
        breakdown[name] = [r.get(name, 0.0) for r in phases.rows]
    breakdown["the rest: Bolt parse, verify, match, listener glue"] = [
        r["total"] - sum(r.get(n, 0.0) for n in names) for r in phases.rows]
    return results, breakdown, report


def synchronous_full(workdir: Path, n: int) -> dict[str, dict]:
    """record_response with the store's own NORMAL, and on a Store whose connections say FULL."""
    from bot.store import Store

    class FullStore(Store):
        def _db(self):
            fresh = getattr(self._local, "db", None) is None
            db = super()._db()
            if fresh:
                db.conn.execute("PRAGMA synchronous = FULL")
            return db

    out = {}
    for name, cls in (("NORMAL", Store), ("FULL", FullStore)):
        db = workdir / f"sync-{name.lower()}.db"
        targets = seed(db, 8)
        store = cls.open(db)
        mode = store._one("PRAGMA synchronous")[0]
        rnd = random.Random(5)

        def write(i: int, store: Store = store, targets: list = targets, rnd: random.Random = rnd) -> None:
            store.record_response(TEAM, rnd.choice(targets)[1], f"UF{rnd.randrange(400):04d}",
                                  rating=rnd.randint(1, 5), now=1795510900)

        out[f"record_response, synchronous={name} ({mode})"] = stats(time_calls(write, n))
        store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--gap-ms", type=float, default=25.0,
                        help="idle time after each click in the paced runs (default 25 ms)")
    parser.add_argument("--no-prototypes", action="store_true", help="only (a) and (b) over HTTP")
    parser.add_argument("--profile", action="store_true", help="cProfile coprod's in-process dispatch")
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.api_url, args.db)
        return 0

    from slack_stub import SlackStub

    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="coprod-ack-"))
    gap = args.gap_ms / 1000
    kinds = ("bare", "coprod") if args.no_prototypes else tuple(SERVERS)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    with SlackStub() as stub:
        for channel in ("C1", "C2"):
            stub.add_channel(channel, [])
        http, cpu = http_side_by_side(stub, workdir, args.clicks, args.warmup, args.rounds, (0.0, gap), kinds)
    print("1. Over HTTP: sequential signed rating clicks, one keep-alive connection each, alternating blocks\n")
    head, rule = HEADER.split("\n")
    print(f"{head} CPU ms/click |\n{rule}-------------:|")
    for g, label in ((0.0, "back to back"), (gap, f"{args.gap_ms:g} ms apart")):
        for kind in kinds:
            print(row(f"{SERVERS[kind]}; {label}", http[(kind, g)]) + f" {cpu[(kind, g)] * 1e3:12.2f} |")
    print()
    for g, label in ((0.0, "back to back"), (gap, f"{args.gap_ms:g} ms apart")):
        b = http[("bare", g)]
        for kind in kinds[1:]:
            c = http[(kind, g)]
            print(f"ratio {kind}/bare, {label}: p50 {c['p50'] / b['p50']:.2f}x, p99 {c['p99'] / b['p99']:.2f}x"
                  + ("  (target: within 2x)" if kind == "coprod" else ""))

    inproc, breakdown, report = in_process(workdir, args.clicks, args.warmup, gap, args.profile)
    print(f"\n2. In process: App.dispatch of the same clicks, {args.gap_ms:g} ms apart (Slack stub in another "
          "process), and the store calls timed alone\n")
    print(HEADER)
    for name, st in inproc.items():
        print(row(name, st))
    ratio = inproc["coprod: App.dispatch"]["p50"] / inproc["bare: App.dispatch"]["p50"]
    print(f"ratio coprod/bare in process: p50 {ratio:.2f}x\n")
    print("Where coprod's dispatch time goes (request thread only), per click:\n")
    print("| part                                               | p50 ms | mean ms | share of mean |")
    print("|----------------------------------------------------|-------:|--------:|--------------:|")
    total = statistics.fmean(breakdown["total"])
    for name, values in breakdown.items():
        mean = statistics.fmean(values)
        print(f"| {name:<50} | {statistics.median(values) * 1e3:6.3f} | {mean * 1e3:7.3f} | "
              f"{mean / total:13.0%} |")

    sync = synchronous_full(workdir, args.clicks)
    print("\n3. Durability setting: the same write with and without an fsync per commit\n")
    print(HEADER)
    for name, st in sync.items():
        print(row(name, st))
    if report:
        print("\ncProfile of coprod's App.dispatch (cumulative):\n")
        print(report)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"logs and databases: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
