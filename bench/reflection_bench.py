"""Reflection rounds at Slack's pace (issue 11, item 3): Slack calls made and seconds taken.

A reflexivity schedule due now for a channel of ``--members`` people, Slack taking ``--delay`` seconds over
every call (the stand-in's ``delay`` fault, in this process): the dispatcher's tick (bot/runtime/jobs.py), timed until
the round is finished, with the calls the stand-in received, by method. Then ``--partnerships`` channels of
one workspace due at once, each with ``--members`` of the workspace's ``--people`` (overlapping). Every person
must get exactly one prompt, and no bot any.

    python bench/reflection_bench.py            # 500 members, 100 ms a call; then 5 partnerships at once
    python bench/reflection_bench.py --smoke    # a few seconds on tiny data, through the same code

It runs against whatever ``bot`` is first on the path, so the code before a change can be measured with the
same script (``git archive <commit> | tar -x -C /tmp/old``, then this file run from there).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bench.harness import print_machine  # noqa: E402
from bot.domain.catalog import load_catalog  # noqa: E402
from bot.runtime.jobs import Dispatcher  # noqa: E402
from bot.slack.deps import Deps  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.support.clock import Clock  # noqa: E402
from tests.support.slack_stub import BOT_USER_ID, SlackStub  # noqa: E402

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
TEAM = "T0"
METHODS = ("auth.test", "conversations.members", "users.list", "users.info", "chat.postMessage")
BOTS = ("UBOTA", "UBOTB")  # other apps' bots in every channel: never prompted


def seed(db: Path, partnerships: int) -> Store:
    """``partnerships`` channels of one workspace, each with a reflexivity schedule due at NOW."""
    store = Store.open(db)
    now = int(NOW.timestamp())
    with store.db.write() as conn:
        conn.executemany(
            "INSERT INTO partnerships (id, team_id, channel_id, timezone, created_by, created_at)"
            " VALUES (?, ?, ?, 'UTC', 'U1', ?)",
            [(n + 1, TEAM, f"C{n}", now - 86_400) for n in range(partnerships)],
        )
        conn.executemany(
            "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes,"
            " anchor, set_by, set_at, next_fire_at) VALUES (?, ?, 'reflexivity', 'weekly', 1, 600, NULL,"
            " '2026-11-24', 'U1', ?, ?)",
            [(n + 1, TEAM, now - 86_400, now) for n in range(partnerships)],
        )
    return store


def round_of(partnerships: int, members: int, people: int, delay: float, work: Path) -> dict[str, object]:
    """One tick with ``partnerships`` rounds due; what it cost and whether each person was prompted once."""
    db = work / f"reflection-{partnerships}.db"
    store = seed(db, partnerships)
    stride = max(1, (people - members) // max(1, partnerships - 1)) if partnerships > 1 else 0
    channels = {f"C{n}": [f"U{(n * stride + i) % people:05}" for i in range(members)] for n in range(partnerships)}
    stub = SlackStub()
    stub.__enter__()
    try:
        for i in range(people):
            stub.add_user(f"U{i:05}")
        for bot in BOTS:
            stub.add_user(bot, is_bot=True)
        for channel, in_it in channels.items():
            stub.add_channel(channel, [*in_it, *BOTS, BOT_USER_ID], name=channel.lower())
        calls = 10 * partnerships * (members + 10) + people
        for method in METHODS:
            stub.delay(method, delay, times=calls)
        client = WebClient(token="xoxb-bench", base_url=stub.url)
        d = Dispatcher(Deps(store, load_catalog(), Clock(NOW)), lambda team: client, grace=timedelta(hours=6))
        began = time.monotonic()
        fired = d.tick()
        took = time.monotonic() - began
        d.close()
        made = stub.calls
    finally:
        stub.__exit__(None, None, None)
        store.close()
    by_method = Counter(c.method for c in made)
    dms = Counter((c.args.get("channel"), _round_of(c)) for c in made if c.method == "chat.postMessage")
    expected = Counter((user, channel) for channel, in_it in channels.items() for user in in_it)
    return {
        "rounds": sum(1 for f in fired if f.status == "posted"),
        "calls": len(made),
        "by_method": dict(by_method),
        "seconds": took,
        "exactly_once": dms == expected,
    }


def _round_of(call) -> str:
    """The channel a reflection prompt is about (its opt-out button names it)."""
    blocks = call.json("blocks", [])
    for block in blocks:
        if block.get("block_id", "").startswith("reflexivity:"):
            return block["block_id"].split(":", 1)[1]
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few seconds")
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--partnerships", type=int, default=5, help="due at once in one workspace (part 2)")
    parser.add_argument("--people", type=int, default=1000, help="people in that workspace (part 2)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds Slack takes over each call")
    parser.add_argument("--only", choices=("one", "several"), help="run one part only")
    args = parser.parse_args()
    if args.smoke:
        args.members, args.partnerships, args.people, args.delay = 30, 3, 60, 0.01
    print_machine()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parts = [("one", 1, args.members), ("several", args.partnerships, args.people)]
        for name, partnerships, people in parts:
            if args.only not in (None, name):
                continue
            r = round_of(partnerships, args.members, people, args.delay, work)
            methods = ", ".join(f"{m} {r['by_method'].get(m, 0)}" for m in METHODS)  # type: ignore[union-attr]
            print(
                f"| {partnerships} round(s) of {args.members} members, {people} people in the workspace,"
                f" Slack {args.delay * 1000:.0f} ms a call | {r['calls']} calls ({methods}) | {r['seconds']:.1f} s |"
                f" {r['rounds']} posted, each person prompted once: {'yes' if r['exactly_once'] else 'NO'} |"
            )
            ok = ok and bool(r["exactly_once"]) and r["rounds"] == partnerships
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
