"""Acknowledgement latency: coprod against a bare Bolt app that only acks, side by side, in both Slack modes.

    python bench/ack_bench.py [--modes http,socket] [--clicks 2000] [--warmup 300] [--rounds 10] [--gap-ms 25]
                              [--burst 500] [--burst-seconds 5] [--burst-rounds 4] [--profile] [--smoke]

For each mode, two subprocesses on this machine, each with its own Slack stand-in (tests/support/slack_stub.py, in
a process of its own) and, in Socket Mode, its own loopback WebSocket endpoint (tests/support/socket_mode_sim.py):

- **bare**: a Bolt app configured as coprod is, whose ``rate:`` action listener only calls ``ack()``:
  ``process_before_response=True`` in both modes (the ack is sent when the listener returns). HTTP:
  signature verification on, served by waitress as coprod is (bot/slack/server.py). Socket Mode: Bolt's built-in
  Socket Mode client.
- **coprod**: ``coprod run --http``, or ``coprod run`` with an app token (Socket Mode). It checks the
  check-in, commits the answer (WAL, ``synchronous = NORMAL``, synced to the disk each second), acks, then
  writes its reply (a response_url post 0.3 s later) to the outbox in the answer's transaction and hands the
  check-in's count update (coalesced) to the outbox too; the worker process sends both (bot/runtime/worker.py).
  Its CPU per click counts that process too.

What is timed: HTTP, a signed rating click POSTed to /slack/events on a keep-alive connection, until the
response; Socket Mode, an ``interactive`` envelope sent over the WebSocket, until its ack comes back. One
click at a time; the two apps take turns in ``--rounds`` blocks (the order alternating), so drift on a
shared machine hits both alike; ``--warmup`` clicks each first are not counted. Then a quarter as many
clicks with ``--gap-ms`` idle after each, as people click. Between blocks the bench waits until coprod's
delayed follow-ups are due and done, and each app's CPU per click (its process and its reply sender: ack and
follow-ups) comes from /proc. Percentiles are nearest-rank (bench/harness.py).

The burst (``--burst``): ``--burst`` members, each clicking a rating once, at random moments within
``--burst-seconds`` (the same moments for both apps), on one check-in per burst, sent by 16 client threads
(HTTP: a keep-alive connection each; Socket Mode: the one WebSocket), each click when its moment comes
whatever is still in flight. The apps take turns, ``--burst-rounds`` bursts each. Timed from sending to the
ack; afterwards coprod's database is checked: every acknowledged click stored with its rating, and as many
answers on the check-in as acknowledged clicks ("lost" counts the difference).

``--profile``: cProfile of coprod's HTTP handler in this process (the WSGI call waitress makes, no sockets).
``--smoke``: both modes, 40 clicks, a 30-member burst in 0.3 s, no waiting between blocks, and a short profile
(its figures mean nothing).

Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import logging
import pstats
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import harness as h

from bot.slack.listeners.actions import COUNT_DELAY, REPLY_DELAY
from bot.store import Store

RATE = re.compile(r"^rate:([1-5])$")
KINDS = ("bare", "coprod")
LABELS = {"bare": "bare Bolt app, ack only", "coprod": "coprod, answer committed"}
BURST_CLIENTS = 16
# After a block, coprod's last follow-ups are due (count updates wait COUNT_DELAY, replies REPLY_DELAY) and done.
SETTLE = COUNT_DELAY + REPLY_DELAY + 0.2
# After a burst: coprod's last replies are due and its few hundred replies sent.
BURST_SETTLE = SETTLE + 2.0


# ---- the bare app, in its own process ----------------------------------------------------------------


def serve_bare(mode: str, api_url: str, port: int | None) -> None:
    """The floor: a Bolt app configured as coprod is in ``mode``, whose rating listener only acks."""
    from slack_bolt import App
    from slack_sdk import WebClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = App(
        client=WebClient(token=h.BOT_TOKEN, base_url=api_url),
        signing_secret=h.SECRET,
        process_before_response=True,  # as coprod, in both modes
        token_verification_enabled=False,
        request_verification_enabled=mode == "http",
        logger=logging.getLogger("bare.bolt"),
    )

    @app.action(RATE)
    def rate(ack):
        ack()

    if mode == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        handler = SocketModeHandler(app, h.APP_TOKEN)
        handler.connect()
        stopping.wait()
        handler.close()
        return

    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from bot.slack.server import make_server

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
            return [b"ok\n"]
        return slack(environ, start_response)

    server = make_server(application, host="127.0.0.1", port=port)  # served as coprod is

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        server.run()
    except SystemExit:
        server.close()


class BareApp(h.AppProcess):
    name = "bare Bolt app"

    def __init__(self, mode: str, api_url: str, log_path: Path, endpoint=None):
        port = h.free_port() if mode == "http" else None
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", mode, "--api-url", api_url]
        if port is not None:
            command += ["--port", str(port)]
        super().__init__(command, log_path, port=port, endpoint=endpoint)
        self.mode = mode


# ---- side by side ---------------------------------------------------------------------------------


@dataclass
class Apps:
    """The two apps of one mode, started side by side on one seeded database (coprod's)."""

    mode: str
    db: Path
    targets: list[tuple[str, int]]
    apps: dict[str, h.AppProcess]
    stubs: dict[str, h.StubProcess]


def start_apps(stack: ExitStack, mode: str, workdir: Path, name: str) -> Apps:
    """bare and coprod in ``mode``, each with its own Slack stub (and Socket Mode endpoint), stopped by ``stack``."""
    db = workdir / f"{name}-{mode}.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    apps: dict[str, h.AppProcess] = {}
    stubs: dict[str, h.StubProcess] = {}
    for kind in KINDS:
        endpoint = None
        if mode == "socket":
            endpoint = h.socket_endpoint()
            stack.callback(endpoint.stop)
        stubs[kind] = stack.enter_context(h.StubProcess(socket_mode_url=endpoint.url if endpoint else None))
        log = workdir / f"{name}-{mode}-{kind}.log"
        apps[kind] = (
            h.BotProcess(db, stubs[kind].url, log, mode=mode, endpoint=endpoint)
            if kind == "coprod"
            else BareApp(mode, stubs[kind].url, log, endpoint)
        )
    for app in apps.values():
        app.start()
        stack.callback(app.stop)
    return Apps(mode, db, targets, apps, stubs)


def stop_together(apps: Apps) -> None:
    """SIGTERM all at once: a Socket Mode client takes a few seconds to close."""
    for app in apps.apps.values():
        if app.proc is not None and app.proc.poll() is None:
            app.proc.send_signal(signal.SIGTERM)


def side_by_side(
    run: Apps, clicks: int, warmup: int, rounds: int, gaps: tuple[float, ...], settle: float
) -> tuple[dict[tuple[str, float], h.Stats], dict[tuple[str, float], float]]:
    """Latency stats and CPU seconds per click for each (app, gap)."""
    mode = run.mode
    apps = run.apps
    response_urls = {kind: run.stubs[kind].open_response_urls(f"ack-{mode}-{kind}") for kind in KINDS}
    clients = {kind: h.clicker(h.click_target(app)) for kind, app in apps.items()}
    streams = {kind: h.ClickStream(run.targets) for kind in KINDS}  # the same clicks for each
    times: dict[tuple[str, float], list[float]] = {(k, g): [] for g in gaps for k in KINDS}
    cpu: dict[tuple[str, float], float] = {(k, g): 0.0 for g in gaps for k in KINDS}

    def click(kind: str, gap: float) -> float:
        elapsed = h.timed_click(clients[kind], streams[kind], response_urls[kind], f"{kind} ({mode})", apps[kind].log)
        if gap:
            time.sleep(gap)
        return elapsed

    for kind in KINDS:
        for _ in range(warmup):
            click(kind, 0.0)
    time.sleep(settle)
    for gap in gaps:
        per_block = max(1, (clicks if not gap else clicks // 4) // rounds)
        for r in range(rounds):
            for kind in KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]:  # each app first in turn
                pid = apps[kind].proc.pid
                before = h.process_cpu(pid)
                times[(kind, gap)].extend(click(kind, gap) for _ in range(per_block))
                time.sleep(settle)  # coprod's delayed follow-ups run before the other app's block
                cpu[(kind, gap)] += h.process_cpu(pid) - before
    for c in clients.values():
        c.close()
    return (
        {key: h.describe(v) for key, v in times.items()},
        {key: cpu[key] / max(1, len(times[key])) for key in times},
    )


# ---- a burst: many members clicking within a few seconds ---------------------------------------------------


@dataclass
class Burst:
    """One app's bursts: the acknowledged clicks' latencies, what was not acknowledged, what the database lost."""

    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    unacked: int = 0
    late: list[float] = field(default_factory=list)  # how long after its moment each click was sent
    stored: int = 0
    lost: list[str] = field(default_factory=list)
    cpu: float = 0.0


def burst_once(
    target, users: list[str], channel: str, cid: int, moments: list[float], response_url: str, out: Burst
) -> dict[str, int]:
    """Each of ``users`` clicks once at its moment (seconds from now) on check-in ``cid``; returns what was
    acknowledged (user -> rating)."""
    acked: dict[str, int] = {}
    lock = threading.Lock()
    rnd = random.Random(cid)
    clicks = [(at, user, rnd.randint(1, 5)) for at, user in zip(moments, users, strict=True)]
    clients = [h.clicker(target) for _ in range(BURST_CLIENTS)]
    for client in clients:  # HTTP: connected before the burst, as Slack's connections would be
        conn = getattr(client, "conn", None)
        if conn is not None:
            conn.connect()
    prepared = [
        (at, user, rating, clients[i % BURST_CLIENTS].prepare(user, channel, cid, rating, f"{response_url}{user}"))
        for i, (at, user, rating) in enumerate(clicks)
    ]
    start_gate = threading.Barrier(BURST_CLIENTS + 1)
    began = 0.0

    def work(index: int) -> None:
        client = clients[index]
        start_gate.wait()
        for at, user, rating, body in prepared[index::BURST_CLIENTS]:
            wait = began + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            try:
                status = client.send(body)
            except (OSError, http.client.HTTPException):
                status = 0
            done = time.perf_counter()
            with lock:
                out.sent += 1
                out.late.append(sent - (began + at))
                if status == 200:
                    out.latencies.append(done - sent)
                    acked[user] = rating
                else:
                    out.unacked += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(BURST_CLIENTS)]
    for t in threads:
        t.start()
    began = time.perf_counter() + 0.05
    start_gate.wait()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return acked


def answers_on(db: Path, cid: int) -> int:
    store = Store.open(db)
    try:
        return store.answers.response_count(h.TEAM, cid)
    finally:
        store.close()


def check_stored(db: Path, cid: int, acked: dict[str, int], before: int, out: Burst) -> None:
    """Every acknowledged click stored with its rating, and no other new answer on the check-in (``before``: its
    answers before the burst)."""
    store = Store.open(db)
    try:
        for user, rating in sorted(acked.items()):
            answer = store.answers.my_answer(h.TEAM, cid, user)
            if answer is None or answer.rating != rating:
                out.lost.append(f"{user}: acknowledged {rating}, stored {answer.rating if answer else 'nothing'}")
        new = store.answers.response_count(h.TEAM, cid) - before
        out.stored += new
        if new != len(acked):
            out.lost.append(f"check-in {cid}: {new} new answers stored for {len(acked)} acknowledged clicks")
    finally:
        store.close()


def burst_side_by_side(run: Apps, members: int, seconds: float, rounds: int, settle: float) -> dict[str, Burst]:
    """``rounds`` bursts per app, taking turns; each burst ``members`` new members on a check-in of its own."""
    out = {kind: Burst() for kind in KINDS}
    if rounds > len(run.targets):
        raise ValueError(f"at most {len(run.targets)} burst rounds")
    for kind, app in run.apps.items():  # warm up: a few clicks on the last check-in, not counted
        warm = h.clicker(h.click_target(app))
        channel, cid = run.targets[-1]
        for n in range(20):
            warm.rate(f"UW{n:04d}", channel, cid, 1 + n % 5, run.stubs[kind].open_response_urls(f"warm/{n}"))
        warm.close()
    time.sleep(settle)
    for r in range(rounds):
        channel, cid = run.targets[r]
        rnd = random.Random(r)  # the same moments for both apps
        moments = sorted(rnd.uniform(0, seconds) for _ in range(members))
        users = [f"UB{r:02d}{n:05d}" for n in range(members)]
        for kind in KINDS[r % 2 :] + KINDS[: r % 2]:  # each app first in turn
            app = run.apps[kind]
            pid = app.proc.pid
            stored_before = answers_on(run.db, cid)
            before = h.process_cpu(pid)
            url = run.stubs[kind].open_response_urls(f"burst/{r}/")
            acked = burst_once(h.click_target(app), users, channel, cid, moments, url, out[kind])
            time.sleep(settle)  # coprod's replies and count updates go out before the other app's turn
            out[kind].cpu += h.process_cpu(pid) - before
            if kind == "coprod":
                check_stored(run.db, cid, acked, stored_before, out[kind])
    return out


# ---- where coprod's time goes -----------------------------------------------------------------------


def profile_handler(workdir: Path, clicks: int, top: int) -> tuple[h.Stats, h.Stats, str]:
    """coprod's HTTP handler (the WSGI app waitress calls) in this process: timed per click, in alternating blocks
    with and without the rating's follow-ups (its reply and the count update) handed over, then cProfiled."""

    db = workdir / "profile.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    with h.StubProcess() as stub, h.CoprodInProcess(db, stub.url, mode="http") as coprod:
        application = coprod.runtime.server.application
        followups, outbox = coprod.runtime.deps.followups, coprod.runtime.store.outbox
        stream = h.ClickStream(targets, seed_value=7)
        response_url = stub.open_response_urls("ack-profile")

        def handle(prof: cProfile.Profile | None = None) -> float:
            return h.handle_click_in_process(application, stream.next(), response_url, port=coprod.port, prof=prof)

        for _ in range(min(clicks, 200)):
            handle()
        # A diagnostic, not coprod's behaviour: with the follow-ups dropped (this instance's submit_latest and the
        # reply's outbox row no-ops), the ack path runs alone; the difference is what handing over and the count
        # update, running meanwhile, take from it.
        times: dict[bool, list[float]] = {True: [], False: []}
        for block in range(10):
            alone = block % 2 == 1
            if alone:
                followups.submit_latest = lambda *args, **kwargs: None  # type: ignore[method-assign]
                outbox.put_reply = lambda *args, **kwargs: None  # type: ignore[method-assign]
            times[alone].extend(handle() for _ in range(max(1, clicks // 10)))
            if alone:
                del followups.submit_latest
                del outbox.put_reply
            coprod.drain()
        prof = cProfile.Profile()
        for _ in range(clicks):
            handle(prof)
        coprod.drain()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return h.describe(times[False]), h.describe(times[True]), buf.getvalue()


# ---- output ----------------------------------------------------------------------------------------


TITLES = {
    "http": "HTTP: signed clicks POSTed to /slack/events, keep-alive",
    "socket": "Socket Mode: interactive envelopes over the loopback WebSocket, until the ack",
}


def report(mode: str, stats: dict, cpu: dict, gaps: tuple[float, ...], load: str) -> None:
    print(f"\n### {TITLES[mode]}, one click at a time (load average at the start: {load})\n")
    print("| app | clicks | n | p50 ms | p95 ms | p99 ms | mean ms | max ms | CPU ms per click |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for gap in gaps:
        pacing = "back to back" if not gap else f"{gap * 1000:g} ms apart"
        for kind in KINDS:
            s = stats[(kind, gap)]
            name = f"**{LABELS[kind]}**" if kind == "coprod" else LABELS[kind]
            print(
                f"| {name} | {pacing} | {s.n} | {h.ms(s.p50)} | {h.ms(s.p95)} | {h.ms(s.p99)} | {h.ms(s.mean)} "
                f"| {h.ms(s.max)} | {cpu[(kind, gap)] * 1e3:.2f} |"
            )
    print()
    for gap in gaps:
        pacing = "back to back" if not gap else f"{gap * 1000:g} ms apart"
        b, c = stats[("bare", gap)], stats[("coprod", gap)]
        print(
            f"coprod / bare, {mode}, {pacing}: p50 {c.p50 / b.p50:.2f}x, p99 {c.p99 / b.p99:.2f}x (target: within 2x)"
        )


def report_burst(mode: str, bursts: dict[str, Burst], members: int, seconds: float, rounds: int, load: str) -> None:
    print(
        f"\n### {TITLES[mode]}: {members} members clicking once within {seconds:g} s, {rounds} bursts per app "
        f"(load average at the start: {load})\n"
    )
    print(
        "| app | sent | acknowledged | not acknowledged | p50 ms | p95 ms | p99 ms | max ms | stored | lost "
        "| CPU ms per click | sent late p50 / p99 / max ms |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for kind in KINDS:
        b = bursts[kind]
        s, late = h.describe(b.latencies), h.describe(b.late)
        name = f"**{LABELS[kind]}**" if kind == "coprod" else LABELS[kind]
        stored, lost = (str(b.stored), str(len(b.lost))) if kind == "coprod" else ("-", "-")
        print(
            f"| {name} | {b.sent} | {s.n} | {b.unacked} | {h.ms(s.p50)} | {h.ms(s.p95)} | {h.ms(s.p99)} "
            f"| {h.ms(s.max)} | {stored} | {lost} | {b.cpu / max(1, b.sent) * 1e3:.2f} "
            f"| {h.ms(late.p50)} / {h.ms(late.p99)} / {h.ms(late.max)} |"
        )
    b, c = h.describe(bursts["bare"].latencies), h.describe(bursts["coprod"].latencies)
    print(
        f"\ncoprod / bare, {mode}, burst: p50 {c.p50 / b.p50:.2f}x, p99 {c.p99 / b.p99:.2f}x (target: within 2x, "
        f"0 lost)"
    )
    for problem in bursts["coprod"].lost[:10]:
        print(f"  LOST {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="http,socket", help="comma-separated: http, socket (default both)")
    parser.add_argument("--clicks", type=int, default=2000, help="timed back-to-back clicks per app and mode")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--gap-ms", type=float, default=25.0, help="idle time after each click in the paced runs (default 25 ms)"
    )
    parser.add_argument("--burst", type=int, default=500, help="members in each burst (0: no burst)")
    parser.add_argument("--burst-seconds", type=float, default=5.0, help="the burst's clicks fall within this")
    parser.add_argument("--burst-rounds", type=int, default=4, help="bursts per app (a check-in each, at most 15)")
    parser.add_argument("--profile", action="store_true", help="cProfile coprod's HTTP handler in process")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: both modes, 40 clicks, short profile")
    parser.add_argument("--serve-bare", metavar="MODE", choices=h.MODES, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.api_url, args.port)
        return 0
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or set(modes) - set(h.MODES):
        parser.error(f"--modes takes {', '.join(h.MODES)}")
    settle, burst_settle = SETTLE, BURST_SETTLE
    if args.smoke:
        args.clicks, args.warmup, args.rounds, args.gap_ms, args.profile, settle = 40, 10, 1, 5.0, True, 0.05
        args.burst, args.burst_seconds, args.burst_rounds, burst_settle = min(args.burst, 30), 0.3, 1, 0.5

    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="coprod-ack-"))
    gaps = (0.0, args.gap_ms / 1000)
    h.print_machine()
    print(f"command       {' '.join(['python', 'bench/ack_bench.py', *(sys.argv[1:] if argv is None else argv)])}")
    print(
        f"per app       {args.clicks} clicks back to back and {args.clicks // 4} paced, in {args.rounds} blocks, "
        f"after {args.warmup} warm-up clicks"
        + (f"; {args.burst_rounds} bursts of {args.burst} members in {args.burst_seconds:g} s" if args.burst else "")
    )
    lost = 0
    for mode in modes:
        began = time.monotonic()
        with ExitStack() as stack:
            run = start_apps(stack, mode, workdir, "ack")
            if args.clicks:
                load = h.loadavg()
                stats, cpu = side_by_side(run, args.clicks, args.warmup, args.rounds, gaps, settle)
                report(mode, stats, cpu, gaps, load)
            if args.burst:
                load = h.loadavg()
                bursts = burst_side_by_side(run, args.burst, args.burst_seconds, args.burst_rounds, burst_settle)
                report_burst(mode, bursts, args.burst, args.burst_seconds, args.burst_rounds, load)
                lost += len(bursts["coprod"].lost) + bursts["coprod"].unacked
            stop_together(run)
        print(f"({time.monotonic() - began:.0f} s)")
    if args.profile:
        load = h.loadavg()
        timed, alone, text = profile_handler(workdir, 50 if args.smoke else args.clicks, 10 if args.smoke else 30)
        print(
            f"\n### coprod's HTTP handler in process, no sockets (load average at the start: {load})\n\n"
            f"clicks back to back, in alternating blocks: as coprod runs (n {timed.n}) p50 {h.ms(timed.p50)} ms, "
            f"p95 {h.ms(timed.p95)}, p99 {h.ms(timed.p99)}; with the rating's reply and count update dropped, the "
            f"ack path alone (n {alone.n}) p50 {h.ms(alone.p50)} ms, p95 {h.ms(alone.p95)}, p99 {h.ms(alone.p99)}."
            "\n\ncProfile, as coprod runs, cumulative:\n"
        )
        print(text)
    print(f"load average after: {h.loadavg()}")
    if args.smoke:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs and databases: {workdir}")
    if lost:
        print(f"FAIL: {lost} of coprod's burst clicks not acknowledged, or acknowledged and not stored as sent")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
