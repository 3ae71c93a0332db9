"""Stopping: SIGTERM to exit of `coprod run` during a big batch of check-ins, whatever Slack does (issue 11).

N check-ins fall due at once across W workspaces; ``coprod run`` (a subprocess, ``--http`` or Socket Mode)
starts posting them against a Slack stand-in in this process that is, by scenario:

- ``slow``: every post answered after ``--delay`` seconds (made at once);
- ``hanging``: every post made but never answered (the client gives up after its 10 s timeout);
- ``429``: every post answered 429 with Retry-After 30 s (slack-sdk waits it out).

Once ``--after`` posts have reached Slack, SIGTERM: the time until the process has exited is the figure
(the target is under 10 s). Then coprod is started again with Slack answering normally, and the bench waits
until every channel has its check-in: each must have exactly one.

    python bench/stop_bench.py                  # 2,000 check-ins in 100 workspaces, each scenario, both modes
    python bench/stop_bench.py --smoke          # 12 check-ins, Slack hanging, over HTTP
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BotProcess, print_machine, socket_endpoint  # noqa: E402
from bot.runtime.jobs import POST_WORKERS  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.support.slack_stub import SlackStub  # noqa: E402

SCENARIOS = ("slow", "hanging", "429")
STOPPED = re.compile(r"coprod stopped in [\d.]+ s(.*)")


def seed(db: Path, checkins: int, workspaces: int) -> list[str]:
    """``checkins`` channels in ``workspaces`` workspaces, each with a weekly check-in due a minute ago."""
    now = int(time.time())
    due = datetime.fromtimestamp(now - 60, UTC)
    store = Store.open(db)
    try:
        with store.db.write() as conn:
            conn.executemany(
                "INSERT INTO partnerships (id, team_id, channel_id, timezone, created_by, created_at)"
                " VALUES (?, ?, ?, 'UTC', 'U1', ?)",
                [(n + 1, f"T{n % workspaces}", f"C{n}", now - 86_400) for n in range(checkins)],
            )
            conn.executemany(
                "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, anchor, set_by,"
                " set_at, next_fire_at) VALUES (?, ?, 'checkins', 'weekly', ?, ?, ?, 'U1', ?, ?)",
                [
                    (
                        n + 1,
                        f"T{n % workspaces}",
                        due.weekday(),
                        due.hour * 60 + due.minute,
                        due.date().isoformat(),
                        now - 86_400,
                        now - 60,
                    )
                    for n in range(checkins)
                ],
            )
    finally:
        store.close()
    return [f"C{n}" for n in range(checkins)]


def checkins_in(stub: SlackStub, channel: str) -> int:
    return sum(
        1
        for m in stub.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == "coprod_post"
        and "/checkins/" in str((m.get("metadata") or {}).get("event_payload", {}).get("claim", ""))
    )


def run(mode: str, scenario: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    db = work / f"{mode}-{scenario}.db"
    channels = seed(db, args.checkins, args.workspaces)
    endpoint = socket_endpoint() if mode == "socket" else None
    try:
        with SlackStub() as stub:
            if endpoint is not None:
                stub.socket_mode_url = endpoint.url
            for channel in channels:
                stub.add_channel(channel, ["U1", "UBOT"], name=channel.lower())
            if scenario == "slow":
                stub.delay("chat.postMessage", args.delay, times=args.checkins)
            elif scenario == "hanging":
                stub.delay("chat.postMessage", 60.0, times=args.checkins)
            else:
                stub.rate_limit("chat.postMessage", retry_after=30, times=args.checkins * 4)
            log = work / f"{mode}-{scenario}.log"
            bot = BotProcess(db, stub.url, log, mode=mode, endpoint=endpoint)
            again = BotProcess(db, stub.url, work / f"{mode}-{scenario}-again.log", mode=mode, endpoint=endpoint)
            try:
                bot.start(timeout=60)
                stub.wait_for("chat.postMessage", count=args.after, timeout=60)
                began = time.monotonic()
                bot.proc.send_signal(signal.SIGTERM)
                try:
                    code: int | None = bot.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    code = None
                took = time.monotonic() - began
                said = STOPPED.findall(bot.log())
                stub.reset()  # Slack answers as usual from now on; the messages it made stay
                made_before = sum(checkins_in(stub, c) for c in channels)
                restarted = time.monotonic()
                again.start(timeout=60)
                deadline = time.monotonic() + args.checkins * 0.05 + 60
                while time.monotonic() < deadline and not all(checkins_in(stub, c) for c in channels):
                    time.sleep(0.1)
                all_posted = time.monotonic() - restarted
            finally:
                bot.kill()
                again.stop()
            counts = [checkins_in(stub, c) for c in channels]
    finally:
        if endpoint is not None:
            endpoint.stop()
    return {
        "exit": code,
        "stop_s": took,
        "left": said[-1].strip("; ") if said else "(no stop line)",
        "made_before": made_before,
        "once": sum(1 for n in counts if n == 1),
        "lost": sum(1 for n in counts if n == 0),
        "doubled": sum(1 for n in counts if n > 1),
        "restart_all_posted_s": all_posted,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="12 check-ins, Slack hanging, over HTTP")
    parser.add_argument("--checkins", type=int, default=2_000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument(
        "--after", type=int, default=POST_WORKERS, help="posts made before SIGTERM (default: all threads busy)"
    )
    parser.add_argument("--delay", type=float, default=3.0, help="seconds Slack takes over a post (slow)")
    parser.add_argument("--modes", default="http,socket")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    if args.smoke:
        args.checkins, args.workspaces, args.after, args.modes, args.scenarios = 12, 3, 9, "http", "hanging"
    print_machine()
    print(f"\n{args.checkins} check-ins due at once in {args.workspaces} workspaces; SIGTERM after {args.after} posts")
    print("\n| mode | Slack | SIGTERM to exit | exit code | left for the next start | restarted: once/lost/doubled |")
    print("|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            for scenario in args.scenarios.split(","):
                r = run(mode, scenario, args, Path(tmp))
                print(
                    f"| {mode} | {scenario} | {r['stop_s']:.2f} s | {r['exit']} | {r['left']} |"
                    f" {r['once']} / {r['lost']} / {r['doubled']} (all posted {r['restart_all_posted_s']:.1f} s"
                    " after the restart) |",
                    flush=True,
                )
                ok = ok and r["exit"] == 0 and r["once"] == args.checkins
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
