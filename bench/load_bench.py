"""Load: many concurrent clients clicking rating buttons at `coprod run`, then count what was kept.

    python bench/load_bench.py [--clients 50] [--seconds 60] [--mode http|socket] [--smoke]

1. Seeds a fresh database (``--checkins`` partnerships with one open check-in each, with a message_ts, so every
   click's follow-ups both answer the response_url and update the check-in's count) and starts
   ``coprod run --http`` on it as a subprocess (``--mode socket``: ``coprod run`` in Socket Mode, connected
   to the loopback WebSocket endpoint), with Slack's Web API replaced by ``SlackStub``.
2. ``--clients`` threads (each with its own keep-alive connection over HTTP; sharing the WebSocket in
   Socket Mode) send rating clicks as fast as coprod acknowledges them for ``--seconds`` (see
   ``harness.run_clicks``).
3. Reads the database back: every acknowledged (user, check-in) pair must be there with its last
   acknowledged rating, and nothing else (``harness.stored_problems``). Prints requests, req/s, ack latency
   percentiles (nearest rank), 5xx count, lost answers, and how far behind the replies ran.

``--smoke``: 8 clients for 3 s. Not a test: the figures go into BENCHMARKS.md. The CI forms are
tests/test_load.py and tests/test_durability.py, on the same harness.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness as h


def main(argv: list[str] | None = None) -> int:
    from tests.support.slack_stub import SlackStub

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--mode", choices=h.MODES, default="http", help="how Slack reaches coprod (default http)")
    parser.add_argument("--users-per-client", type=int, default=40)
    parser.add_argument("--checkins", type=int, default=16, help="open check-ins, one per channel (at most 16)")
    parser.add_argument(
        "--sigterm-at-once",
        action="store_true",
        help="send SIGTERM as soon as the load stops, without waiting for the replies",
    )
    parser.add_argument("--dir", type=Path, help="where the database and log go (default: a temp dir)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds on tiny data: 8 clients, 3 s")
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.seconds, args.users_per_client, args.checkins = 8, 3.0, 10, 4

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="coprod-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "load.db"
    h.remove_db(db)
    targets = h.seed(db, args.checkins)
    h.print_machine()

    endpoint = h.socket_endpoint() if args.mode == "socket" else None
    try:
        with SlackStub() as stub:
            for channel in h.CHANNELS:
                h.channel_with_checkin(stub, channel)
            if endpoint is not None:
                stub.socket_mode_url = endpoint.url
            bot = h.BotProcess(db, stub.url, workdir / "coprod.log", mode=args.mode, endpoint=endpoint)
            with bot:
                print(
                    f"coprod pid {bot.proc.pid}, {args.mode}; {args.clients} clients x {args.seconds:g} s, "
                    f"{args.clients * args.users_per_client} users, {len(targets)} check-ins",
                    flush=True,
                )
                cpu_before = h.process_cpu(bot.proc.pid)
                result = h.run_clicks(
                    h.click_target(bot),
                    targets,
                    clients=args.clients,
                    users_per_client=args.users_per_client,
                    seconds=args.seconds,
                    response_url=stub.open_response_urls(""),
                )
                cpu = h.process_cpu(bot.proc.pid) - cpu_before
                drain_began = time.monotonic()
                # Every acknowledged (user, check-in) gets a reply; a person's quick clicks on one check-in share
                # one (the latest), so there are between len(acked) and acked_clicks of them.
                expected = len(result.acked)
                if args.sigterm_at_once:
                    # What a deploy's SIGTERM does to the replies still queued behind the acks.
                    at_sigterm = len(stub.calls_to("response_url"))
                    bot.stop()
                    replies = h.wait_for_replies(stub, expected, timeout=5)
                    healthy = None
                else:
                    replies = h.wait_for_replies(stub, expected, timeout=300)
                    time.sleep(1.5)  # past the reply and count delays, for trailing ones
                    replies = len(stub.calls_to("response_url"))
                    healthy = bot.healthz() if args.mode == "http" else endpoint.connected
                drained = time.monotonic() - drain_began
            lags = h.reply_lags(stub, result.acked_at)
            updates = len(stub.calls_to("chat.update"))
    finally:
        if endpoint is not None:
            endpoint.stop()
    problems, stored = h.stored_problems(db, targets, result)
    lat = h.describe(result.latencies)
    lag = h.describe(lags)

    print(f"requests            {result.requests}")
    print(f"req/s               {result.requests / result.seconds:.0f}  ({result.seconds:.1f} s)")
    print(
        f"statuses            {dict(sorted(result.statuses.items()))}"
        + ("  (504: no ack within 3 s)" if args.mode == "socket" else "")
    )
    print(f"client errors       {dict(result.errors) or 0}")
    print(f"5xx                 {result.server_errors}")
    print(f"ack latency ms      p50 {h.ms(lat.p50)}  p95 {h.ms(lat.p95)}  p99 {h.ms(lat.p99)}  max {h.ms(lat.max)}")
    step = max(1.0, round(result.seconds / 12))
    print(
        f"timeline            per {step:g} s: "
        + ", ".join(f"{n / step:.0f}/s p99 {h.ms(p99)}" for _, n, p99 in result.timeline(step))
    )
    print(
        f"acknowledged        {result.acked_clicks} clicks, {len(result.acked)} (user, check-in) pairs; stored {stored}"
    )
    print(f"lost answers        {sum(p.startswith('lost') for p in problems)}")
    print(f"other problems      {[p for p in problems if not p.startswith('lost')][:5] or 0}")
    print(
        f"coprod CPU          {cpu:.1f} s during the load, {cpu / max(1, result.requests) * 1e3:.2f} ms per click "
        "(ack and follow-ups)"
    )
    if args.sigterm_at_once:
        errors = [line for line in bot.log_path.read_text(errors="replace").splitlines() if " ERROR " in line]
        print(
            f"SIGTERM at once     {at_sigterm} replies had arrived at SIGTERM, {replies}/{expected} after "
            f"exit ({bot.proc.returncode}); {len(errors)} ERROR lines in the log"
            + (f", e.g. {errors[0][24:]}" if errors else "")
        )
    else:
        print(
            f"replies             {replies} response_url posts for {expected} answers, {updates} chat.update; "
            f"drained {drained:.1f} s after the load stopped"
        )
    if lags:
        print(
            f"reply lag ms        p50 {h.ms(lag.p50)}  p99 {h.ms(lag.p99)}  max {h.ms(lag.max)}  "
            "(ack -> response_url at the stub; replies wait 0.3 s to coalesce double clicks)"
        )
    print(f"after               healthy {healthy}, exit code {bot.proc.returncode}; log: {bot.log_path}")
    print(f"load average after  {h.loadavg()}")
    all_replied = args.sigterm_at_once or replies >= expected
    ok = (
        not problems
        and result.server_errors == 0
        and not result.errors
        and all_replied
        and set(result.statuses) <= {200}
        and result.acked_clicks > 0
    )
    if ok and args.smoke and args.dir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
