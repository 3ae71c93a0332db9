"""Scale: many partnerships in one process (issue 11).

Part 1, idle: N partnerships with four weekly schedules each (check-ins, summary, reflection, meeting), none
due; ``coprod run --http`` (a subprocess, against a Slack stand-in in its own process): start-up to the first
``/healthz`` 200, then RSS and CPU over an idle spell; and a tick with nothing due, timed in this process
(the dispatcher on the same database).

Part 2, a batch: M check-ins due in the same minute across W workspaces, and a meeting reminder due with
them, Slack taking ``--delay`` seconds over each call (the stand-in's ``delay`` fault, in this process): the
dispatcher's tick, timed until every post is made; each channel must have exactly one check-in.

    python bench/scale_bench.py                 # 100,000 partnerships; 10,000 check-ins in 500 workspaces
    python bench/scale_bench.py --smoke         # a few seconds on tiny data, through the same code
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BotProcess, StubProcess, print_machine, process_cpu  # noqa: E402
from bot.catalog import load_catalog  # noqa: E402
from bot.deps import Deps  # noqa: E402
from bot.jobs import Dispatcher  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.support.clock import Clock  # noqa: E402
from tests.support.slack_stub import SlackStub  # noqa: E402

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday
KINDS = (("checkins", 1, 600, None), ("summary", 4, 900, None), ("reflexivity", 2, 660, None), ("meeting", 3, 840, 30))


def seed(db: Path, partnerships: int, workspaces: int, *, due: int = 0, at: datetime = NOW) -> Store:
    """``partnerships`` channels in ``workspaces`` workspaces with four schedules each; the first ``due`` have
    their check-in due at ``at``, the rest fire within the following week."""
    store = Store.open(db)
    now = int(at.timestamp())
    with store.db.write() as conn:
        conn.executemany(
            "INSERT INTO partnerships (id, team_id, channel_id, timezone, created_by, created_at)"
            " VALUES (?, ?, ?, 'UTC', 'U1', ?)",
            [(n + 1, f"T{n % workspaces}", f"C{n}", now) for n in range(partnerships)],
        )
        conn.executemany(
            "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes,"
            " anchor, set_by, set_at, next_fire_at) VALUES (?, ?, ?, 'weekly', ?, ?, ?, '2026-11-24', 'U1', ?, ?)",
            [
                (n + 1, f"T{n % workspaces}", kind, day, at, remind, now - 86_400, _next(n, kind, due, now))
                for n in range(partnerships)
                for kind, day, at, remind in KINDS
            ],
        )
    return store


def _next(n: int, kind: str, due: int, now: int) -> int:
    if n < due and kind == "checkins":
        return now - 5
    return now + 3600 + (n % 5000) * 60  # within the week, never now


def idle(partnerships: int, workspaces: int, spell: float, work: Path) -> dict[str, float]:
    db = work / "idle.db"
    wall = datetime.now(UTC)  # `coprod run` keeps the real time: nothing may be due by it
    seed(db, partnerships, workspaces, at=wall).close()
    with StubProcess(channels=("C0",)) as stub:
        bot = BotProcess(db, stub.url, work / "idle.log")
        began = time.monotonic()
        bot.start(timeout=60)
        while bot.healthz() != 200:
            time.sleep(0.01)
        started = time.monotonic() - began
        time.sleep(2.0)  # the first tick, and start-up's own work
        cpu0, t0 = process_cpu(bot.proc.pid), time.monotonic()
        time.sleep(spell)
        cpu = (process_cpu(bot.proc.pid) - cpu0) / (time.monotonic() - t0)
        rss = _rss_mib(bot.proc.pid)
        bot.stop()
    store = Store.open(db)
    d = Dispatcher(Deps(store, load_catalog(), Clock(wall)), lambda team: None, grace=timedelta(hours=6))
    d.tick()
    ticks = []
    for _ in range(20):
        t = time.perf_counter()
        assert d.tick() == []
        ticks.append(time.perf_counter() - t)
    d.close()
    store.close()
    return {"startup_s": started, "rss_mib": rss, "cpu_pct": cpu * 100, "tick_ms": statistics.median(ticks) * 1000}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def batch(checkins: int, workspaces: int, delay: float, work: Path) -> dict[str, float]:
    db = work / "batch.db"
    store = seed(db, checkins + 1, workspaces, due=checkins)
    meeting = checkins + 1  # the last partnership: its reminder is due at once as well
    with store.db.write() as conn:
        conn.execute(
            "UPDATE schedules SET next_fire_at = ? WHERE partnership_id = ? AND kind = 'meeting'",
            (int(NOW.timestamp()) - 5, meeting),
        )
    stub = SlackStub()
    stub.__enter__()
    try:
        for n in range(checkins + 1):
            stub.add_channel(f"C{n}", [], name=f"p{n}")
        stub.delay("chat.postMessage", delay, times=checkins + 1)
        stub.delay("conversations.members", delay, times=checkins + 1)
        from slack_sdk import WebClient

        client = WebClient(token="xoxb-bench", base_url=stub.url)
        d = Dispatcher(Deps(store, load_catalog(), Clock(NOW)), lambda team: client, grace=timedelta(hours=6))
        began, wall = time.monotonic(), time.time()
        fired = d.tick()
        took = time.monotonic() - began
        posts = stub.calls_to("chat.postMessage")
        reminder = [c.time for c in posts if c.args.get("channel") == f"C{meeting - 1}"]
        per_channel: dict[str, int] = {}
        for call in posts:
            per_channel[call.args["channel"]] = per_channel.get(call.args["channel"], 0) + 1
        d.close()
    finally:
        stub.__exit__(None, None, None)
        store.close()
    once = sum(1 for n in range(checkins) if per_channel.get(f"C{n}") == 1)
    return {
        "posted": sum(1 for f in fired if f.status == "posted"),
        "exactly_once": once,
        "seconds": took,
        "reminder_after_s": reminder[0] - wall if reminder else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few seconds")
    parser.add_argument("--partnerships", type=int, default=100_000)
    parser.add_argument("--checkins", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds Slack takes over each call")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured")
    args = parser.parse_args()
    if args.smoke:
        args.partnerships, args.checkins, args.workspaces, args.delay, args.idle = 200, 40, 5, 0.01, 1.0
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        i = idle(args.partnerships, args.workspaces, args.idle, work)
        print(
            f"idle, {args.partnerships} partnerships x 4 schedules: start-up to /healthz {i['startup_s']:.2f} s,"
            f" RSS {i['rss_mib']:.0f} MiB, CPU {i['cpu_pct']:.2f}% of a core, tick with nothing due"
            f" {i['tick_ms']:.2f} ms (median of 20)"
        )
        b = batch(args.checkins, args.workspaces, args.delay, work)
        print(
            f"batch, {args.checkins} check-ins due in {args.workspaces} workspaces, Slack {args.delay * 1000:.0f} ms"
            f" a call: {b['posted']:.0f} posted, {b['exactly_once']:.0f} exactly once, all in {b['seconds']:.1f} s;"
            f" the meeting reminder due with them posted {b['reminder_after_s']:.2f} s after the tick began"
        )
        ok = b["exactly_once"] == args.checkins and b["posted"] == args.checkins + 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
