"""Acknowledgement latency: coprod against a bare Bolt app that only acks, side by side, in both Slack modes.

    python bench/ack_bench.py [--modes http,socket] [--clicks 2000] [--warmup 300] [--rounds 10] [--gap-ms 25]
                              [--profile] [--smoke]

For each mode, two subprocesses on this machine, each with its own Slack stand-in (tests/support/slack_stub.py, in
a process of its own) and, in Socket Mode, its own loopback WebSocket endpoint (tests/support/socket_mode_sim.py):

- **bare**: a Bolt app configured as coprod is in that mode, whose ``rate:`` action listener only calls
  ``ack()``. HTTP: ``process_before_response=True``, signature verification on, served by waitress as
  coprod is (bot/server.py). Socket Mode: Bolt's defaults (``process_before_response=False``, its built-in
  Socket Mode client), as coprod.
- **coprod**: ``coprod run --http``, or ``coprod run`` with an app token (Socket Mode). It checks the
  check-in, commits the answer (``synchronous = FULL``), acks, then replies on its follow-up workers (a
  response_url post, and the check-in's count, coalesced).

What is timed: HTTP, a signed rating click POSTed to /slack/events on a keep-alive connection, until the
response; Socket Mode, an ``interactive`` envelope sent over the WebSocket, until its ack comes back. One
click at a time; the two apps take turns in ``--rounds`` blocks (the order alternating), so drift on a
shared machine hits both alike; ``--warmup`` clicks each first are not counted. Then a quarter as many
clicks with ``--gap-ms`` idle after each, as people click. Between blocks the bench waits until coprod's
delayed follow-ups are due and done, and each app's CPU per click (its whole process: ack and follow-ups)
comes from /proc. Percentiles are nearest-rank (bench/harness.py).

``--profile``: cProfile of coprod's HTTP handler in this process (the WSGI call waitress makes, no sockets).
``--smoke``: both modes, 40 clicks, no waiting between blocks, and a short profile (its figures mean nothing).

Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import harness as h

from bot.listeners.actions import COUNT_DELAY, REPLY_DELAY

RATE = re.compile(r"^rate:([1-5])$")
# In Socket Mode a third app: the bare one with process_before_response=True, which acks as its listener
# returns instead of Bolt's default of polling every 10 ms for the ack (a reference, not the target's comparator).
KINDS = {"http": ("bare", "coprod"), "socket": ("bare", "coprod", "bare-sync")}
LABELS = {
    "bare": "bare Bolt app, ack only",
    "coprod": "coprod, answer committed",
    "bare-sync": "reference: bare, process_before_response=True",
}
# After a block, coprod's last follow-ups are due (count updates wait COUNT_DELAY, replies REPLY_DELAY) and done.
SETTLE = COUNT_DELAY + REPLY_DELAY + 0.2


# ---- the bare app, in its own process ----------------------------------------------------------------


def serve_bare(mode: str, api_url: str, port: int | None, sync: bool = False) -> None:
    """The floor: a Bolt app configured as coprod is in ``mode``, whose rating listener only acks
    (``sync``: with ``process_before_response=True`` in Socket Mode too)."""
    from slack_bolt import App
    from slack_sdk import WebClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = App(
        client=WebClient(token=h.BOT_TOKEN, base_url=api_url),
        signing_secret=h.SECRET,
        process_before_response=mode == "http" or sync,
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

    from bot.server import make_server

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

    def __init__(self, mode: str, api_url: str, log_path: Path, endpoint=None, sync: bool = False):
        port = h.free_port() if mode == "http" else None
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", mode, "--api-url", api_url]
        if port is not None:
            command += ["--port", str(port)]
        if sync:
            command.append("--sync")
        super().__init__(command, log_path, port=port, endpoint=endpoint)
        self.mode = mode


# ---- side by side ---------------------------------------------------------------------------------


def side_by_side(
    mode: str, workdir: Path, clicks: int, warmup: int, rounds: int, gaps: tuple[float, ...], settle: float
) -> tuple[dict[tuple[str, float], h.Stats], dict[tuple[str, float], float]]:
    """Latency stats and CPU seconds per click for each (app, gap)."""
    kinds = KINDS[mode]
    db = workdir / f"ack-{mode}.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    apps: dict[str, h.AppProcess] = {}
    response_urls: dict[str, str] = {}
    with ExitStack() as stack:
        for kind in kinds:
            endpoint = None
            if mode == "socket":
                endpoint = h.socket_endpoint()
                stack.callback(endpoint.stop)
            stub = stack.enter_context(h.StubProcess(socket_mode_url=endpoint.url if endpoint else None))
            log = workdir / f"{mode}-{kind}.log"
            apps[kind] = (
                h.BotProcess(db, stub.url, log, mode=mode, endpoint=endpoint)
                if kind == "coprod"
                else BareApp(mode, stub.url, log, endpoint, sync=kind == "bare-sync")
            )
            response_urls[kind] = stub.response_url(f"ack-{mode}-{kind}")
        for app in apps.values():
            app.start()
            stack.callback(app.stop)
        clients = {kind: h.clicker(h.click_target(app)) for kind, app in apps.items()}
        streams = {kind: h.ClickStream(targets) for kind in kinds}  # the same clicks for each
        times: dict[tuple[str, float], list[float]] = {(k, g): [] for g in gaps for k in kinds}
        cpu: dict[tuple[str, float], float] = {(k, g): 0.0 for g in gaps for k in kinds}

        def click(kind: str, gap: float) -> float:
            user, channel, cid, rating = streams[kind].next()
            prepared = clients[kind].prepare(user, channel, cid, rating, response_urls[kind])
            began = time.perf_counter()
            status = clients[kind].send(prepared)
            elapsed = time.perf_counter() - began
            if status != 200:
                raise RuntimeError(f"{kind} ({mode}) answered {status}: {apps[kind].log()}")
            if gap:
                time.sleep(gap)
            return elapsed

        for kind in kinds:
            for _ in range(warmup):
                click(kind, 0.0)
        time.sleep(settle)
        for gap in gaps:
            per_block = max(1, (clicks if not gap else clicks // 4) // rounds)
            for r in range(rounds):
                for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:  # each app first in turn
                    pid = apps[kind].proc.pid
                    before = h.process_cpu(pid)
                    times[(kind, gap)].extend(click(kind, gap) for _ in range(per_block))
                    time.sleep(settle)  # coprod's delayed follow-ups run before the other app's block
                    cpu[(kind, gap)] += h.process_cpu(pid) - before
        for c in clients.values():
            c.close()
        # SIGTERM all at once: a Socket Mode client takes a few seconds to close.
        for app in apps.values():
            if app.proc.poll() is None:
                app.proc.send_signal(signal.SIGTERM)
    return (
        {key: h.describe(v) for key, v in times.items()},
        {key: cpu[key] / max(1, len(times[key])) for key in times},
    )


# ---- where coprod's time goes -----------------------------------------------------------------------


def profile_handler(workdir: Path, clicks: int, top: int) -> tuple[h.Stats, str]:
    """coprod's HTTP handler (the WSGI app waitress calls) in this process: timed per click, then cProfiled."""

    db = workdir / "profile.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    with h.StubProcess() as stub, h.CoprodInProcess(db, stub.url, mode="http") as coprod:
        application = coprod.runtime.server.application
        stream = h.ClickStream(targets, seed_value=7)
        response_url = stub.response_url("ack-profile")

        def handle(prof: cProfile.Profile | None = None) -> float:
            return h.handle_click_in_process(application, stream.next(), response_url, port=coprod.port, prof=prof)

        for _ in range(min(clicks, 200)):
            handle()
        timed = h.describe([handle() for _ in range(clicks)])
        prof = cProfile.Profile()
        for _ in range(clicks):
            handle(prof)
        coprod.drain()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return timed, buf.getvalue()


# ---- output ----------------------------------------------------------------------------------------


def report(mode: str, stats: dict, cpu: dict, gaps: tuple[float, ...]) -> None:
    title = {
        "http": "HTTP: signed clicks POSTed to /slack/events, keep-alive",
        "socket": "Socket Mode: interactive envelopes over the loopback WebSocket, until the ack",
    }[mode]
    print(f"\n### {title}\n")
    print("| app | clicks | n | p50 ms | p95 ms | p99 ms | mean ms | max ms | CPU ms per click |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for gap in gaps:
        pacing = "back to back" if not gap else f"{gap * 1000:g} ms apart"
        for kind in KINDS[mode]:
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
        if ("bare-sync", gap) in stats:
            r = stats[("bare-sync", gap)]
            print(f"coprod / reference, {mode}, {pacing}: p50 {c.p50 / r.p50:.2f}x, p99 {c.p99 / r.p99:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="http,socket", help="comma-separated: http, socket (default both)")
    parser.add_argument("--clicks", type=int, default=2000, help="timed back-to-back clicks per app and mode")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--gap-ms", type=float, default=25.0, help="idle time after each click in the paced runs (default 25 ms)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile coprod's HTTP handler in process")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: both modes, 40 clicks, short profile")
    parser.add_argument("--serve-bare", metavar="MODE", choices=h.MODES, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sync", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.api_url, args.port, args.sync)
        return 0
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or set(modes) - set(h.MODES):
        parser.error(f"--modes takes {', '.join(h.MODES)}")
    settle = SETTLE
    if args.smoke:
        args.clicks, args.warmup, args.rounds, args.gap_ms, args.profile, settle = 40, 10, 1, 5.0, True, 0.05

    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="coprod-ack-"))
    gaps = (0.0, args.gap_ms / 1000)
    h.print_machine()
    print(f"command       {' '.join(['python', 'bench/ack_bench.py', *(sys.argv[1:] if argv is None else argv)])}")
    print(
        f"per app       {args.clicks} clicks back to back and {args.clicks // 4} paced, in {args.rounds} blocks, "
        f"after {args.warmup} warm-up clicks"
    )
    for mode in modes:
        began = time.monotonic()
        stats, cpu = side_by_side(mode, workdir, args.clicks, args.warmup, args.rounds, gaps, settle)
        report(mode, stats, cpu, gaps)
        print(f"({time.monotonic() - began:.0f} s)")
    if args.profile:
        timed, text = profile_handler(workdir, 50 if args.smoke else args.clicks, 10 if args.smoke else 30)
        print(
            f"\n### coprod's HTTP handler in process, no sockets (n {timed.n}): p50 {h.ms(timed.p50)} ms, "
            f"p99 {h.ms(timed.p99)} ms; cProfile, cumulative:\n"
        )
        print(text)
    print(f"load average after: {h.loadavg()}")
    if args.smoke:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs and databases: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
