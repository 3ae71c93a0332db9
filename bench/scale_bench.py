"""Scale: many partnerships in one process (issue 11).

Part 1, idle: N partnerships with four weekly schedules each (check-ins, summary, reflection, meeting), none
due, and their history: ``--weeks`` weekly check-ins each, all closed, ``--answers`` answers to each (30M
at full size) and the posts ledger of the last ten weeks. ``coprod run --http`` (a subprocess, against a Slack
stand-in in its own process): start-up to the first ``/healthz`` 200, then RSS and CPU over an idle spell;
then, in this process on the same database: a tick with nothing due, the retention purge (every 6 hours), and
what people read (a summary, a summary of one level, a count update, their own answer) for one partnership.

Part 2, a batch: M check-ins due in the same minute across W workspaces, and a meeting reminder due with
them, Slack taking ``--delay`` seconds over each call (the stand-in's ``delay`` fault, in this process): the
dispatcher's tick, timed until every post is made; each channel must have exactly one check-in.

Part 3, clicks during a batch: ``coprod run --http`` on a database where ``--checkins`` check-ins in
``--workspaces`` workspaces are due at start, the Slack stand-in in its own process taking ``--delay`` over
each call; signed rating clicks on open check-ins, one at a time ``--gap-ms`` apart, while the batch posts
and again once it is done; and the same clicks on a twin run with nothing due.

    python bench/scale_bench.py                 # 100,000 partnerships and 30M answers; 10,000 check-ins
    python bench/scale_bench.py --db /tmp/coprod-scale/idle.db   # keep the seeded database for the next run
    python bench/scale_bench.py --smoke         # a few seconds on tiny data, through the same code
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness as h  # noqa: E402
from bench.harness import BotProcess, StubProcess, print_machine, process_cpu, process_rss_mib  # noqa: E402
from bot import reports  # noqa: E402
from bot.domain.catalog import load_catalog  # noqa: E402
from bot.runtime.jobs import Dispatcher  # noqa: E402
from bot.slack.deps import Deps  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.support.clock import Clock  # noqa: E402
from tests.support.slack_stub import SlackStub  # noqa: E402

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday
KINDS = (("checkins", 1, 600, None), ("summary", 4, 900, None), ("reflexivity", 2, 660, None), ("meeting", 3, 840, 30))
WEEK = 7 * 86_400
LEDGER_WEEKS = 10  # posted rows the ledger keeps (twice the scheduler's 35-day look-back)


def seed(
    db: Path,
    partnerships: int,
    workspaces: int,
    *,
    due: int = 0,
    at: datetime = NOW,
    first_id: int = 1,
    team: str = "T",
    channel: str = "C",
) -> Store:
    """``partnerships`` channels (``<channel>0``...) in ``workspaces`` workspaces (``<team>0``...) with four
    schedules each, ids from ``first_id``; the first ``due`` have their check-in due at ``at``, the rest fire
    within the following week."""
    store = Store.open(db)
    now = int(at.timestamp())
    with store.db.write() as conn:
        conn.executemany(
            "INSERT INTO partnerships (id, team_id, channel_id, timezone, created_by, created_at)"
            " VALUES (?, ?, ?, 'UTC', 'U1', ?)",
            [(first_id + n, f"{team}{n % workspaces}", f"{channel}{n}", now) for n in range(partnerships)],
        )
        conn.executemany(
            "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes,"
            " anchor, set_by, set_at, next_fire_at) VALUES (?, ?, ?, 'weekly', ?, ?, ?, '2026-11-24', 'U1', ?, ?)",
            [
                (first_id + n, f"{team}{n % workspaces}", kind, day, at, remind, now - 86_400, _next(n, kind, due, now))
                for n in range(partnerships)
                for kind, day, at, remind in KINDS
            ],
        )
    return store


def _next(n: int, kind: str, due: int, now: int) -> int:
    if n < due and kind == "checkins":
        return now - 5
    return now + 3600 + (n % 5000) * 60  # within the week, never now


# ---- part 1: idle, with a history ----------------------------------------------------------------


def seed_history(db: Path, partnerships: int, *, weeks: int, answers: int, members: int, now: int) -> None:
    """Each partnership's past: ``weeks`` weekly check-ins, all closed (the last an hour ago), each answered by
    ``answers`` of its ``members`` people (one in four anonymously, one answer in ten with a comment), and the
    posts ledger's rows of the last LEDGER_WEEKS weeks. Seeded on one connection with the journal off, in one
    transaction per 5,000 partnerships, the check-ins' and answers' indexes dropped first and made again at the
    end from the schema's own statements (so the file ends as coprod would have written it)."""
    began = time.monotonic()
    store = Store.open(db)
    catalog = load_catalog()
    teams = {r[0]: r[1] for r in store.db.query("SELECT id, team_id FROM partnerships")}
    people = [
        (pid, m, f"U{pid}x{m}", store.answers.responder_key(team, f"U{pid}x{m}"))
        for pid, team in teams.items()
        for m in range(members)
    ]
    store.close()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for pragma in ("journal_mode = DELETE", "journal_mode = OFF", "synchronous = OFF", "cache_size = -2000000"):
            conn.execute(f"PRAGMA {pragma}")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('checkins', 'responses')"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("CREATE TEMP TABLE people (pid INTEGER, m INTEGER, user_id TEXT, responder TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", people)
        conn.execute("CREATE INDEX temp.people_by_pid ON people (pid, responder)")
        conn.execute("CREATE TEMP TABLE weeks (w INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO weeks VALUES (?)", [(w,) for w in range(weeks)])
        conn.execute("CREATE TEMP TABLE facs (i INTEGER PRIMARY KEY, id TEXT, level_id TEXT)")
        facilitators = list(catalog.facilitators)
        conn.executemany(
            "INSERT INTO facs VALUES (?, ?, ?)", [(i, f.id, f.level_id) for i, f in enumerate(facilitators)]
        )
        conn.execute("CREATE TEMP TABLE kinds (kind TEXT, offset INTEGER)")
        conn.executemany("INSERT INTO kinds VALUES (?, ?)", [(k, (day - 1) * 86_400) for k, day, _, _ in KINDS])
        step = 5_000
        for first in range(1, partnerships + 1, step):
            last = min(partnerships, first + step - 1)
            conn.execute("BEGIN")
            # Check-in ids run partnership by partnership, week by week.
            conn.execute(
                f"""
                INSERT INTO checkins (id, partnership_id, team_id, kind, facilitator_id, level_id, asked_at,
                                      message_ts, closes_at, posting)
                SELECT (p.id - 1) * {weeks} + w.w + 1, p.id, p.team_id, 'checkin', f.id, f.level_id,
                       ?1 - ({weeks} - w.w) * {WEEK} - 3600, '1700000000.' || printf('%06d', w.w),
                       ?1 - ({weeks} - w.w - 1) * {WEEK} - 3600, NULL
                FROM partnerships p JOIN weeks w JOIN facs f ON f.i = (p.id + w.w) % {len(facilitators)}
                WHERE p.id BETWEEN ?2 AND ?3 ORDER BY 1
                """,
                (now, first, last),
            )
            conn.execute(
                f"""
                INSERT INTO responses (checkin_id, team_id, responder, user_id, anonymous, private, rating, comment,
                                       role, answered_at)
                SELECT c.id, c.team_id, e.responder, CASE WHEN e.m % 4 = 0 THEN NULL ELSE e.user_id END,
                       e.m % 4 = 0, 0, (c.id * 7 + e.m * 3) % 5 + 1,
                       CASE WHEN (c.id + e.m) % 10 = 0 THEN 'We heard each other out this week.' END,
                       NULL, c.asked_at + 600 + e.m * 60
                FROM checkins c JOIN people e ON e.pid = c.partnership_id
                WHERE c.partnership_id BETWEEN ?1 AND ?2 AND (e.m + c.id) % {members} < {answers}
                ORDER BY c.id, e.responder
                """,
                (first, last),
            )
            conn.execute(
                f"""
                INSERT INTO posts (partnership_id, team_id, kind, fire_at, claimed_at, status, detail)
                SELECT p.id, p.team_id, k.kind, ?1 - w.w * {WEEK} - 3600 + k.offset,
                       ?1 - w.w * {WEEK} - 3600 + k.offset, 'posted', ''
                FROM partnerships p JOIN weeks w ON w.w BETWEEN 1 AND {min(weeks, LEDGER_WEEKS)} JOIN kinds k
                WHERE p.id BETWEEN ?2 AND ?3
                """,
                (now, first, last),
            )
            conn.execute("COMMIT")
            if last % 20_000 == 0 or last == partnerships:
                print(f"  seeded {last} partnerships' history, {time.monotonic() - began:.0f} s", flush=True)
        for name, sql in indexes:
            conn.execute(sql)
            print(f"  index {name} made again, {time.monotonic() - began:.0f} s", flush=True)
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def seeded_db(db: Path, shape: dict[str, int], wall: datetime) -> tuple[str, float]:
    """The idle part's database at ``db``: seeded afresh, or reused when ``db`` holds one of the same shape (its
    schedules then moved to fire within the week from now again). Returns (what was done, seconds)."""
    sidecar = Path(f"{db}.seeded.json")
    began = time.monotonic()
    now = int(wall.timestamp())
    if db.exists() and sidecar.exists() and json.loads(sidecar.read_text()) == shape:
        store = Store.open(db)
        with store.db.write() as conn:
            conn.execute("UPDATE schedules SET next_fire_at = ? + 3600 + ((partnership_id - 1) % 5000) * 60", (now,))
        store.close()
        return "reused", time.monotonic() - began
    sidecar.unlink(missing_ok=True)
    h.remove_db(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    seed(db, shape["partnerships"], shape["workspaces"], at=wall).close()
    if shape["weeks"]:
        seed_history(
            db, shape["partnerships"], weeks=shape["weeks"], answers=shape["answers"], members=shape["members"], now=now
        )
    sidecar.write_text(json.dumps(shape))
    return "seeded", time.monotonic() - began


def idle(shape: dict[str, int], spell: float, db: Path, reminding: int = 0) -> dict[str, float]:
    wall = datetime.now(UTC)  # `coprod run` keeps the real time: nothing may be due by it
    how, seeding = seeded_db(db, shape, wall)
    store = Store.open(db)
    with store.db.write() as conn:  # reminders to those who haven't answered, 48 hours on, in `reminding`%
        conn.execute(
            "UPDATE partnerships SET nudge_hours = CASE WHEN id % 100 < ?1 THEN 48 END,"
            " nudge_set_at = CASE WHEN id % 100 < ?1 THEN ?2 END",
            (reminding, int(wall.timestamp()) - 365 * 86_400),
        )
        # and their open check-ins' reminder times, as `/coprod nudge 48` sets them (Partnerships.set_nudge)
        conn.execute(
            "UPDATE checkins SET nudge_at = CASE WHEN p.nudge_hours IS NOT NULL THEN checkins.asked_at + 172800 END"
            " FROM partnerships p WHERE p.id = checkins.partnership_id AND checkins.kind = 'checkin'"
            " AND checkins.posting IS NULL AND checkins.closes_at > ?",
            (int(wall.timestamp()),),
        )
    counts = {t: store.db.one(f"SELECT COUNT(*) FROM {t}")[0] for t in ("checkins", "responses", "posts")}  # noqa: S608
    store.close()
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    print(
        f"database {how} in {seeding:.0f} s: {counts['checkins']:,} check-ins, {counts['responses']:,} answers,"
        f" {counts['posts']:,} ledger rows, {size / 2**30:.2f} GiB",
        flush=True,
    )
    with StubProcess(channels=("C0",)) as stub:
        bot = BotProcess(db, stub.url, db.parent / "idle.log")
        began = time.monotonic()
        bot.start(timeout=60)
        while bot.healthz() != 200:
            time.sleep(0.01)
        started = time.monotonic() - began
        time.sleep(2.0)  # the first tick, and start-up's own work
        cpu0, t0 = process_cpu(bot.proc.pid), time.monotonic()
        time.sleep(spell)
        cpu = (process_cpu(bot.proc.pid) - cpu0) / (time.monotonic() - t0)
        rss = process_rss_mib(bot.proc.pid)  # with its scheduler's process and any reply sender
        bot.stop()
    store = Store.open(db)
    d = Dispatcher(Deps(store, load_catalog(), Clock(wall)), lambda team: None, grace=timedelta(hours=6))
    d.tick()
    ticks = []
    for _ in range(20):
        t = time.perf_counter()
        assert d.tick() == []
        ticks.append(time.perf_counter() - t)
    t = time.perf_counter()
    d.purge()
    purge = time.perf_counter() - t
    d.close()
    reads = user_reads(store, wall, shape["partnerships"])
    store.close()
    return {
        "startup_s": started,
        "rss_mib": rss,
        "cpu_pct": cpu * 100,
        "tick_ms": statistics.median(ticks) * 1000,
        "purge_s": purge,
        **reads,
    }


def user_reads(store: Store, wall: datetime, partnerships: int) -> dict[str, float]:
    """Median ms of what people read, for one partnership in the middle of the database (its history is the
    same size whatever the database's)."""
    catalog = load_catalog()
    pid = max(1, partnerships // 2)
    team, channel = store.db.one("SELECT team_id, channel_id FROM partnerships WHERE id = ?", (pid,))
    p = store.partnerships.get(team, channel)
    assert p is not None
    last = store.db.one("SELECT MAX(id) FROM checkins WHERE partnership_id = ?", (pid,))[0] or 0
    user = f"U{pid}x1"
    level = catalog.levels[1].id
    reads: dict[str, Callable[[], object]] = {
        "read_partnership_ms": lambda: store.partnerships.get(team, channel),
        "read_summary_ms": lambda: reports.partnership_summary(store, catalog, p, now=wall),
        "read_level_ms": lambda: reports.partnership_summary(store, catalog, p, now=wall, level_id=level),
        "read_count_ms": lambda: store.answers.response_count(team, last),
        "read_my_answer_ms": lambda: store.answers.my_answer(team, last, user),
    }
    out = {}
    for name, fn in reads.items():
        times = []
        for _ in range(21):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times) * 1000
    return out


# ---- part 2: a batch, in this process -------------------------------------------------------------


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
            stub.add_channel(f"C{n}", ["UBOT"], name=f"p{n}")
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


# ---- part 3: clicks during a batch, coprod in its own process --------------------------------------


def clicks_with_batch(
    checkins: int, workspaces: int, delay: float, gap: float, work: Path, *, due: bool, clicks: int = 0
) -> dict[str, object]:
    """``coprod run --http`` with ``checkins`` check-ins in ``workspaces`` workspaces (channels B0...), due at
    start if ``due``; sequential signed clicks on 16 open check-ins (workspace T1, channels C1...C16) ``gap``
    apart: while the batch posts ("during") and ``clicks`` more once it is done ("after"), or, with nothing
    due, ``clicks`` clicks ("during" only)."""
    db = work / f"clicks-{'due' if due else 'idle'}.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    wall = datetime.now(UTC)
    seed(db, checkins, workspaces, due=checkins if due else 0, at=wall, first_id=1000, team="W", channel="B").close()
    channels = (*h.CHANNELS, *(f"B{n}" for n in range(checkins)))
    out: dict[str, object] = {}
    with StubProcess(channels=channels, delay=delay) as stub:
        bot = BotProcess(db, stub.url, work / f"clicks-{'due' if due else 'idle'}.log")
        bot.start(timeout=60)
        began = time.monotonic()
        clicker = h.clicker(bot.port)
        stream = h.ClickStream(targets)
        response_url = stub.open_response_urls("scale")
        watch = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
        done = threading.Event()
        finished_at: list[float] = []

        def watch_batch() -> None:
            while not done.is_set():
                posted = watch.execute(
                    "SELECT COUNT(*) FROM posts WHERE kind = 'checkins' AND status = 'posted'"
                ).fetchone()[0]
                if posted >= checkins:
                    finished_at.append(time.monotonic() - began)
                    done.set()
                    return
                time.sleep(0.25)

        def click() -> float:
            prepared = clicker.prepare(*stream.next(), response_url)
            t = time.perf_counter()
            status = clicker.send(prepared)
            elapsed = time.perf_counter() - t
            if status != 200:
                raise RuntimeError(f"coprod answered {status}: {bot.log()}")
            time.sleep(gap)
            return elapsed

        during: list[float] = []
        later: list[float] = []
        after: list[float] = []
        pids = {"coprod": bot.proc.pid, "stub": stub.proc.pid}
        cpu0 = {name: process_cpu(pid) for name, pid in pids.items()}
        if due:
            threading.Thread(target=watch_batch, daemon=True).start()
            while not done.is_set() and time.monotonic() - began < 600:
                at = time.monotonic() - began
                during.append(click())
                if at >= 2.0:  # after the first tick's planning of the whole batch
                    later.append(during[-1])
        else:
            during = [click() for _ in range(clicks)]
        spent = time.monotonic() - began
        out["cores"] = {name: (process_cpu(pid) - cpu0[name]) / spent for name, pid in pids.items()}
        if due:
            after = [click() for _ in range(clicks or len(during))]
        done.set()
        watch.close()
        clicker.close()
        bot.stop()
    out["during"] = during
    out["later"] = later
    out["after"] = after
    out["batch_s"] = finished_at[0] if finished_at else float("nan")
    store = Store.open(db)
    out["posted"] = store.db.one("SELECT COUNT(*) FROM posts WHERE kind = 'checkins' AND status = 'posted'")[0]
    store.close()
    return out


def profile_clicks(checkins: int, workspaces: int, delay: float, gap: float, work: Path, top: int) -> str:
    """Where a click's time goes during a batch and after it: coprod's Runtime in this process (its scheduler
    started, so the batch posts from its lanes here), the Slack stand-in in its own process, clicks handed to
    the WSGI app straight (no socket), each under cProfile (the clicking thread only: time it spends waiting
    for a lock or the GIL shows in whatever it was running)."""
    db = work / "profile.db"
    h.remove_db(db)
    targets = h.seed(db, 16)
    seed(db, checkins, workspaces, due=checkins, at=datetime.now(UTC), first_id=1000, team="W", channel="B").close()
    channels = (*h.CHANNELS, *(f"B{n}" for n in range(checkins)))
    out = io.StringIO()
    with StubProcess(channels=channels, delay=delay) as stub, h.CoprodInProcess(db, stub.url) as coprod:
        assert coprod.runtime is not None and coprod.runtime.server is not None
        application = coprod.runtime.server.application
        stream = h.ClickStream(targets)
        response_url = stub.open_response_urls("scale-profile")
        store = coprod.runtime.store
        coprod.runtime.start_scheduler()
        began = time.monotonic()
        runs: dict[str, tuple[list[float], cProfile.Profile]] = {}
        for phase in ("during", "after"):
            prof, times = cProfile.Profile(), []
            while True:
                times.append(h.handle_click_in_process(application, stream.next(), response_url, prof=prof))
                time.sleep(gap)
                if phase == "after":
                    if len(times) >= len(runs["during"][0]):
                        break
                elif len(times) % 25 == 0 and (
                    store.db.one("SELECT COUNT(*) FROM posts WHERE kind = 'checkins' AND status = 'posted'")[0]
                    >= checkins
                    or time.monotonic() - began > 600
                ):
                    break
            runs[phase] = (times, prof)
        for phase, (times, prof) in runs.items():
            print(f"\n### in process, {_clicks_line(phase, times)}; cProfile, by own time:\n", file=out)
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _clicks_line(name: str, values: list[float]) -> str:
    s = h.describe(values)
    return f"{name}: n {s.n}, p50 {h.ms(s.p50)} ms, p99 {h.ms(s.p99)} ms, max {h.ms(s.max)} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few seconds")
    parser.add_argument("--parts", default="idle,batch,clicks", help="which parts: idle, batch, clicks")
    parser.add_argument("--partnerships", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=30, help="weekly check-ins in each partnership's history")
    parser.add_argument("--answers", type=int, default=10, help="answers to each past check-in")
    parser.add_argument("--members", type=int, default=12, help="people in each partnership")
    parser.add_argument("--reminding", type=int, default=0, help="%% of partnerships reminding who hasn't answered")
    parser.add_argument("--db", type=Path, help="the idle part's database: reused if seeded there with this shape")
    parser.add_argument("--checkins", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds Slack takes over each call")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="idle time after each click (part 3)")
    parser.add_argument("--profile", action="store_true", help="part 3 again in process, under cProfile")
    args = parser.parse_args()
    if args.smoke:
        args.partnerships, args.weeks, args.answers, args.checkins, args.workspaces = 200, 3, 5, 40, 5
        args.delay, args.idle, args.gap_ms = 0.01, 1.0, 5.0
    parts = {p.strip() for p in args.parts.split(",")}
    print_machine()
    print(f"command       python bench/scale_bench.py {' '.join(sys.argv[1:])}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="coprod-scale-") as tmp:
        work = Path(tmp)
        if "idle" in parts:
            shape = {
                "partnerships": args.partnerships,
                "workspaces": args.workspaces,
                "weeks": args.weeks,
                "answers": args.answers,
                "members": args.members,
            }
            i = idle(shape, args.idle, args.db or work / "idle.db", args.reminding)
            print(
                f"idle, {args.partnerships} partnerships x 4 schedules ({args.reminding}% reminding):"
                f" start-up to /healthz {i['startup_s']:.2f} s,"
                f" RSS {i['rss_mib']:.0f} MiB, CPU {i['cpu_pct']:.2f}% of a core, tick with nothing due"
                f" {i['tick_ms']:.2f} ms (median of 20); retention purge {i['purge_s'] * 1000:.0f} ms"
            )
            print(
                f"reads for one partnership ({args.weeks} check-ins x {args.answers} answers), median of 21:"
                f" partnership {i['read_partnership_ms']:.2f} ms, summary {i['read_summary_ms']:.2f} ms,"
                f" one level's summary {i['read_level_ms']:.2f} ms, count {i['read_count_ms']:.3f} ms,"
                f" own answer {i['read_my_answer_ms']:.3f} ms"
            )
            print(f"load average: {h.loadavg()}", flush=True)
        if "batch" in parts:
            b = batch(args.checkins, args.workspaces, args.delay, work)
            print(
                f"batch, {args.checkins} check-ins due in {args.workspaces} workspaces,"
                f" Slack {args.delay * 1000:.0f} ms a call: {b['posted']:.0f} posted,"
                f" {b['exactly_once']:.0f} exactly once, all in {b['seconds']:.1f} s;"
                f" the meeting reminder due with them posted {b['reminder_after_s']:.2f} s after the tick began"
            )
            print(f"load average: {h.loadavg()}", flush=True)
            ok = ok and b["exactly_once"] == args.checkins and b["posted"] == args.checkins + 1
        if "clicks" in parts:
            gap = args.gap_ms / 1000
            c = clicks_with_batch(args.checkins, args.workspaces, args.delay, gap, work, due=True)
            during, after = c["during"], c["after"]
            assert isinstance(during, list) and isinstance(after, list)
            twin = clicks_with_batch(
                args.checkins, args.workspaces, args.delay, gap, work, due=False, clicks=len(during)
            )
            quiet = twin["during"]
            assert isinstance(quiet, list)
            print(
                f"clicks, {args.checkins} check-ins due at start in {args.workspaces} workspaces, Slack"
                f" {args.delay * 1000:.0f} ms a call, one click at a time {args.gap_ms:g} ms apart;"
                f" the batch posted {c['posted']} in {c['batch_s']:.1f} s"
            )
            cores, twin_cores = c["cores"], twin["cores"]
            assert isinstance(cores, dict) and isinstance(twin_cores, dict)
            print(
                f"  CPU meanwhile, cores: coprod {cores['coprod']:.2f}, Slack stand-in {cores['stub']:.2f}"
                f" (twin: {twin_cores['coprod']:.2f}, {twin_cores['stub']:.2f}); load average {h.loadavg()}"
            )
            print("  " + _clicks_line("during the batch", during))
            later = c["later"]
            assert isinstance(later, list)
            print("  " + _clicks_line("during, from 2 s after start (the first tick's planning over)", later))
            print("  " + _clicks_line("after it, same process", after))
            print("  " + _clicks_line("twin run, nothing due", quiet))
            d, a, q = h.describe(during), h.describe(after), h.describe(quiet)
            print(
                f"  during / after: p50 {d.p50 / a.p50:.2f}x, p99 {d.p99 / a.p99:.2f}x;"
                f" during / twin: p50 {d.p50 / q.p50:.2f}x, p99 {d.p99 / q.p99:.2f}x (target: within 2x)"
            )
            print(f"load average: {h.loadavg()}", flush=True)
            ok = ok and c["posted"] == args.checkins
        if args.profile:
            print(
                profile_clicks(
                    args.checkins, args.workspaces, args.delay, args.gap_ms / 1000, work, 12 if args.smoke else 25
                )
            )
            print(f"load average: {h.loadavg()}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
