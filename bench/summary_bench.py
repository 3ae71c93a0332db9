"""Benchmark: one partnership's level summary and a workspace export on a large database.

    python bench/summary_bench.py [--partnerships 1000] [--years 5] [--members 12] [--db PATH] [--keep] [--smoke]

1. Generates (or reuses) a database of N partnerships over ~50 workspaces, weekly check-ins for
   the given years, every member answering ~90% of them (~10% anonymously), meetings and roles, an
   action planned every 20 weeks (the latest open, the one before done three weeks ago, older ones
   done or dropped) with their status changes, a holiday pause each new year, and for one partnership
   in three a week paused inside the summary's window.
   The schema comes from ``bot.store.Store.open``; the rows go in with ``executemany`` on a raw
   connection (generation only). The size parameters are kept in a ``bench_params`` table, so a
   database kept with ``--keep`` is reused by the next run with the same parameters.
2. Checks that the bare SQL (see BARE SQL below) returns what the store's verbs return, on a sample of
   partnerships; exits 2 naming the verb when it no longer does.
3. Times, warm, over random partnerships: ``bot.reports.partnership_summary`` against the bare SQL it
   needs, interleaved, then a workspace CSV export and the process's peak memory. Percentiles are
   nearest-rank (bench/harness.py).

``--smoke``: 20 partnerships, 1 year, 6 members, 100 summaries, 2 exports, in a temporary file.
Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import pstats
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import harness as h

from bot import report_export, reports
from bot.domain import holidays, summary
from bot.domain.anonymity import closes_at
from bot.domain.catalog import Catalog, load_catalog
from bot.store import Store
from bot.store import answers as answers_store
from bot.store import plans as plans_store
from bot.store.activity import _PEOPLE
from bot.store.labels import UNLINKED

GENERATOR_VERSION = 2  # bump when the generated data changes shape, so old files are rebuilt
WORKSPACES = 50
SEED = 20261126
# The last check-in of the generated history; "now" for the summaries is three days later, when
# every answer is in, so the 8-week window is full.
LAST_CHECKIN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = LAST_CHECKIN + timedelta(days=3)
TIMEZONES = ("Europe/London", "UTC", "America/New_York", "Australia/Sydney", "Europe/Berlin", "Africa/Nairobi")
ROLES = ("researcher", "practitioner", "service user/patient", "carer", "policy-maker", "manager", "other")
COMMENTS = (
    "Good session, everyone spoke.",
    "We ran out of time for the patient partners' points.",
    "Felt rushed again.",
    "=SUM(A1:A9) people turned up",  # exercises the export's formula guard
    "- not sure this applies to us yet",
    "Great to see the carers' group leading this one.",
    "@channel please read the minutes",
)

# ---- BARE SQL -------------------------------------------------------------------------------
# "core": the aggregate that Store.level_activity runs, verbatim, for a known partnership id and
# window; the one query whose work grows with the data.
LEVEL_ACTIVITY_SQL = (
    "SELECT c.level_id, COUNT(DISTINCT c.id), COUNT(r.id), NULL, NULL,"
    " MAX(c.asked_at), MAX(r.answered_at), COUNT(DISTINCT c.facilitator_id)"
    " FROM checkins c LEFT JOIN responses r ON r.checkin_id = c.id"
    " WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL"
    " GROUP BY c.level_id"
)
# ... and its second statement: each level's mean over the check-ins k or more people answered.
LEVEL_MEANS_SQL = (
    "SELECT level_id, CAST(SUM(total) AS REAL) / SUM(n) FROM ("
    " SELECT c.level_id, SUM(r.rating) AS total, COUNT(r.id) AS n"
    " FROM checkins c JOIN responses r ON r.checkin_id = c.id"
    " WHERE c.partnership_id = ?1 AND c.asked_at >= ?2 AND c.asked_at < ?3 AND c.closes_at < ?3"
    " AND c.posting IS NULL GROUP BY c.id HAVING COUNT(r.id) >= ?4) GROUP BY level_id"
)
# "full": everything partnership_summary reads, each fact fetched once, starting from the
# (team, channel) the caller has: the partnership row with its check-in cadence, the level
# aggregate above, the roles that answered in the window, the members' roles, the last meeting,
# and the rotation history (last time each facilitator was asked). The same SQL as the store's
# verbs, minus the repeated (team, channel) -> partnership look-ups.
PARTNERSHIP_SQL = (
    "SELECT p.id, p.timezone, p.window_weeks, p.k, p.member_count, s.cadence FROM partnerships p"
    " LEFT JOIN schedules s ON s.partnership_id = p.id AND s.kind = 'checkins'"
    " WHERE p.team_id = ? AND p.channel_id = ?"
)
ANSWERED_ROLES_SQL = (
    "SELECT DISTINCT r.role FROM checkins c JOIN responses r ON r.checkin_id = c.id"
    " WHERE c.partnership_id = ? AND c.asked_at >= ? AND c.asked_at < ? AND c.posting IS NULL"
    " AND r.role IS NOT NULL"
)
ROLES_SQL = "SELECT user_id, role FROM roles WHERE partnership_id = ?"
LAST_MEETING_SQL = "SELECT MAX(held_at) FROM meetings WHERE partnership_id = ?"
# The export's query, as Store.export_rows runs it, for the "bare export SQL" line.
EXPORT_SQL = answers_store.EXPORT_SQL
LAST_ASKED_SQL = (
    # The order key: when asked, then the row (bot/store/activity.py ORDER_SCALE), so two never tie.
    "SELECT facilitator_id, level_id, MAX(asked_at * 2147483648 + id) FROM checkins"
    " WHERE partnership_id = ? AND kind = ? AND posting IS NULL GROUP BY facilitator_id"
)
# The loop (issue 12): the partnership's holiday pauses (the window reaches back past them), and its open
# actions and those done in the window, each with its practice's mean before and after where the anonymity
# rule allows: the store's statement, verbatim.
PAUSES_SQL = (
    "SELECT starts_at, ends_at, until_on FROM pauses WHERE partnership_id = ? AND ends_at > ? ORDER BY starts_at"
)
LOOP_SQL = plans_store.SUMMARY_SQL


def bare_sql_differs(
    store: Store, raw: sqlite3.Connection, sample: list[int], windows: dict[int, tuple[int, int]]
) -> list[str]:
    """The store verbs whose results the bare SQL no longer reproduces, on the ``sample`` partnerships.

    The store keeps its SQL inside its methods, so the bare SQL is checked against the store's behaviour
    (equal results), not its text: a store that reads the same facts differently still passes."""
    differs: set[str] = set()
    compared = False
    for i in sample:
        team, channel = team_of(i), channel_of(i)
        p = store.partnerships.get(team, channel)
        cadence = store.partnerships.schedules(store.partnerships.get(team, channel)).get("checkins")
        mine = (p.id, p.timezone, p.window_weeks, p.k, p.member_count, cadence.cadence if cadence else None)
        if raw.execute(PARTNERSHIP_SQL, (team, channel)).fetchone() != mine:
            differs.add("partnership/schedules")
        since, until = windows[p.id]
        means = dict(raw.execute(LEVEL_MEANS_SQL, (p.id, since, until, p.k)).fetchall())
        # People (issue 22): the most who answered one check-in, or the named people (activity._PEOPLE).
        people = {
            r[0]: max(r[1] or 0, r[2] or 0) for r in raw.execute(_PEOPLE, (p.id, since, until, UNLINKED)).fetchall()
        }
        bare = {
            r[0]: (
                r[1],
                r[2],
                people.get(r[0], 0),
                means.get(r[0]),
                max(t for t in (r[5], r[6]) if t is not None),
                r[7],
            )
            for r in raw.execute(LEVEL_ACTIVITY_SQL, (p.id, since, until)).fetchall()
        }
        activity = store.activity.level_activity(store.partnerships.get(team, channel), since=since, until=until, k=p.k)
        if bare != {
            lid: (a.checkins, a.responses, a.responders, a.mean, a.last_activity, a.covered)
            for lid, a in activity.items()
        }:
            differs.add("level_activity")
        roles = {r[0] for r in raw.execute(ANSWERED_ROLES_SQL, (p.id, since, until)).fetchall()}
        if roles != store.activity.answered_roles(store.partnerships.get(team, channel), since=since, until=until):
            differs.add("answered_roles")
        if dict(raw.execute(ROLES_SQL, (p.id,)).fetchall()) != store.people.roles(
            store.partnerships.get(team, channel)
        ):
            differs.add("roles")
        if raw.execute(LAST_MEETING_SQL, (p.id,)).fetchone()[0] != store.activity.last_meeting(
            store.partnerships.get(team, channel)
        ):
            differs.add("last_meeting")
        asked = {r[0]: (r[1], r[2]) for r in raw.execute(LAST_ASKED_SQL, (p.id, "checkin")).fetchall()}
        if asked != store.activity.last_asked(store.partnerships.get(team, channel)):
            differs.add("last_asked")
        pauses = [(r[0], r[1], r[2]) for r in raw.execute(PAUSES_SQL, (p.id, 0))]
        if pauses != [(x.starts_at, x.ends_at, x.until.isoformat()) for x in store.partnerships.pauses(p, since=0)]:
            differs.add("pauses")
        now = int(NOW.timestamp())
        loop = raw.execute(LOOP_SQL, {"p": p.id, "since": since, "until": now + 1}).fetchall()
        actions, groups, _ = store.plans.for_summary(p, since=since, now=now)
        bare_loop = ([r[0] for r in loop], {r[0]: (r[-2], r[-1]) for r in loop if r[9] == "done"})
        if bare_loop != ([a.id for a in actions], groups):
            differs.add("plans.for_summary")
        compared = compared or any(g[0] and g[1] for g in groups.values())
    if not compared:  # the generated data must exercise before-and-after
        differs.add("plans.for_summary (no action to compare before and after)")
    i = sample[0]
    team, channel = team_of(i), channel_of(i)
    now = int(time.time())
    exported = [
        (r["channel"], r["level"], r["facilitator"], r["kind"], r["asked_on"], r["rating"], r["comment"])
        for r in store.answers.export_rows(team, channel, now=now)
    ]
    bare_rows = [(r[0], *r[2:6], r[9], r[10]) for r in raw.execute(EXPORT_SQL, (team, channel, now))]
    if not exported or exported != bare_rows:
        differs.add("export_rows")
    return sorted(differs)


# ---- generation -----------------------------------------------------------------------------


def _params(args: argparse.Namespace) -> dict[str, str]:
    return {
        "partnerships": str(args.partnerships),
        "years": str(args.years),
        "members": str(args.members),
        "generator": str(GENERATOR_VERSION),
    }


def _read_params(path: Path) -> dict[str, str] | None:
    """The parameters a bench database was built with; None when the file is not a finished one."""
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, value FROM bench_params").fetchall())
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _is_bench_db(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    return "bench_params" in names or "bench_generating" in names


def team_of(i: int) -> str:
    return f"T{i % WORKSPACES:08d}"


def channel_of(i: int) -> str:
    return f"C{i:08d}"


def responder_of(team: str, user: str) -> str:
    """A per-person hex string, shaped like the store's keyed hash."""
    return hashlib.sha256(f"bench:{team}:{user}".encode()).hexdigest()[:32]


def generate(path: Path, args: argparse.Namespace, catalog: Catalog) -> dict[str, int]:
    """Create the schema through Store.open, then bulk insert; returns row counts."""
    h.remove_db(path)
    Store.open(path).close()  # schema via the store's migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")  # 400 MB: the responses indexes stay in memory
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("CREATE TABLE bench_generating (started_at TEXT)")

    rng = random.Random(SEED)
    weeks = int(args.years * 52)
    first = LAST_CHECKIN - timedelta(weeks=weeks - 1)
    first_ts = int(first.timestamp())
    week_s = 7 * 86400
    levels = [level.id for level in catalog.levels]
    in_level = {lid: [f.id for f in catalog.in_level(lid)] for lid in levels}
    reflexive = {f.id for f in catalog.tagged("reflexivity")}
    counts = {"partnerships": 0, "checkins": 0, "responses": 0, "meetings": 0, "roles": 0, "actions": 0, "pauses": 0}

    partnerships = []
    schedules = []
    coordinators = []
    for i in range(1, args.partnerships + 1):
        team, channel = team_of(i), channel_of(i)
        tz = TIMEZONES[i % len(TIMEZONES)]
        partnerships.append((i, team, channel, tz, 8, 3, args.members, f"U{i:06d}00", first_ts - 86400))
        schedules.append((i, team, "checkins", "weekly", 0, 9 * 60, 60, first.date().isoformat(), first_ts))
        schedules.append((i, team, "summary", "monthly", 4, 15 * 60, None, first.date().isoformat(), first_ts))
        coordinators.append((i, team, f"U{i:06d}00"))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO partnerships (id, team_id, channel_id, timezone, window_weeks, k, member_count, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        partnerships,
    )
    conn.executemany(
        "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, remind_minutes, anchor,"
        " set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        schedules,
    )
    conn.executemany(
        "INSERT INTO coordinators (partnership_id, team_id, user_id, added_by) VALUES (?, ?, ?, NULL)", coordinators
    )
    conn.execute("COMMIT")
    counts["partnerships"] = len(partnerships)

    def checkin_id(pid: int, week: int) -> int:
        return (pid - 1) * weeks + week + 1

    def checkin_rows(pid: int, team: str) -> Iterator[tuple]:
        # The rotation's shape: levels in turn, facilitators in turn within a level.
        for w in range(weeks):
            level = levels[(w + pid) % len(levels)]
            facs = in_level[level]
            fac = facs[(w // len(levels) + pid) % len(facs)]
            asked = first_ts + w * week_s
            yield (checkin_id(pid, w), pid, team, fac, level, asked, f"{asked}.{pid:06d}")

    def response_rows(pid: int, team: str, checkins: list[tuple]) -> Iterator[tuple]:
        members = [f"U{pid:06d}{m:02d}" for m in range(args.members)]
        responders = [responder_of(team, u) for u in members]
        roles = [ROLES[(pid + m) % len(ROLES)] for m in range(args.members)]
        answer_p = [0.8 + 0.2 * rng.random() for _ in members]  # ~90% on average
        level_mu = {lid: 1.8 + 2.6 * rng.random() for lid in levels}  # some levels rated low
        rand = rng.random
        for cid, _pid, _team, fac, level, asked, _ts in checkins:
            mu = level_mu[level]
            for m in range(args.members):
                if rand() >= answer_p[m]:
                    continue
                rating = min(5, max(1, int(mu + 2.5 * rand() - 0.75)))
                anon = rand() < 0.10
                comment = COMMENTS[int(rand() * len(COMMENTS))] if rand() < 0.06 else None
                private = 1 if comment and fac in reflexive and rand() < 0.5 else 0
                yield (
                    cid,
                    team,
                    responders[m],
                    None if anon else members[m],
                    int(anon),
                    private,
                    rating,
                    comment,
                    None if anon else roles[m],
                    asked + int(rand() * 2 * 86400),
                )

    def meeting_rows(pid: int, team: str) -> Iterator[tuple]:
        tz = ZoneInfo(TIMEZONES[pid % len(TIMEZONES)])
        for w in range(0, weeks, 2):  # fortnightly, one in ten skipped
            if rand_m() < 0.1 and w < weeks - 4:
                continue
            held = first + timedelta(weeks=w, days=1, hours=5)
            yield (pid, team, held.astimezone(tz).date().isoformat(), int(held.timestamp()), f"U{pid:06d}00")

    def action_rows(pid: int, team: str, checkins: list[tuple]) -> Iterator[tuple]:
        # The latest action is open (planned after the last check-in); the one before was done two weeks ago,
        # just before its practice was asked again (so the summary compares before and after); older ones,
        # one every 20 weeks, were done or dropped two weeks after they were planned.
        day = 86400
        for n, w in enumerate([weeks - 1, weeks - 3, *range(weeks - 23, 0, -20)]):
            _cid, _pid, _team, fac, level, asked, _ts = checkins[w]
            if n == 1:
                status, closed = "done", asked - day
                planned = closed - 14 * day
            else:
                status = "open" if n == 0 else "done" if n % 3 else "dropped"
                planned = asked + day
                closed = None if n == 0 else planned + 14 * day
            due = datetime.fromtimestamp(planned + 14 * day, UTC).date().isoformat()
            lead = f"U{pid:06d}{n % args.members:02d}"
            yield (pid, team, f"Action {n} for {fac}", fac, level, lead, due, status, lead, planned, closed)

    def pause_rows(pid: int, team: str) -> Iterator[tuple]:
        for year in range(LAST_CHECKIN.year - int(args.years), LAST_CHECKIN.year):
            start = datetime(year, 12, 22, tzinfo=UTC)
            end = datetime(year + 1, 1, 4, tzinfo=UTC)
            yield (pid, team, int(start.timestamp()), int(end.timestamp()), end.date().isoformat())
        if pid % 3 == 0:  # a week paused inside the summary's window
            start = NOW - timedelta(weeks=5)
            yield (pid, team, int(start.timestamp()), int((start + timedelta(weeks=1)).timestamp()), "2026-10-29")

    rand_m = random.Random(SEED + 1).random
    batch = 50  # partnerships per transaction: ~140k answers
    for start in range(1, args.partnerships + 1, batch):
        conn.execute("BEGIN")
        for pid in range(start, min(start + batch, args.partnerships + 1)):
            team = team_of(pid)
            checkins = list(checkin_rows(pid, team))
            conn.executemany(
                "INSERT INTO checkins (id, partnership_id, team_id, facilitator_id, level_id, asked_at, message_ts,"
                " closes_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row, closes_at(row[5])) for row in checkins],
            )
            cur = conn.executemany(
                "INSERT INTO responses (checkin_id, team_id, responder, user_id, anonymous, private, rating, comment,"
                " role, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                response_rows(pid, team, checkins),
            )
            counts["responses"] += cur.rowcount
            cur = conn.executemany(
                "INSERT INTO meetings (partnership_id, team_id, held_on, held_at, logged_by) VALUES (?, ?, ?, ?, ?)",
                meeting_rows(pid, team),
            )
            counts["meetings"] += cur.rowcount
            conn.executemany(
                "INSERT INTO roles (partnership_id, team_id, user_id, role) VALUES (?, ?, ?, ?)",
                [(pid, team, f"U{pid:06d}{m:02d}", ROLES[(pid + m) % len(ROLES)]) for m in range(args.members)],
            )
            counts["checkins"] += len(checkins)
            counts["roles"] += args.members
            cur = conn.executemany(
                "INSERT INTO actions (partnership_id, team_id, what, facilitator_id, level_id, lead, due_on, status,"
                " planned_by, planned_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(action_rows(pid, team, checkins)),
            )
            counts["actions"] += cur.rowcount
            cur = conn.executemany(
                "INSERT INTO pauses (partnership_id, team_id, starts_at, ends_at, until_on) VALUES (?, ?, ?, ?, ?)",
                list(pause_rows(pid, team)),
            )
            counts["pauses"] += cur.rowcount
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO action_events (action_id, team_id, event, due_on, by_user, at)"
        " SELECT id, team_id, 'planned', due_on, planned_by, planned_at FROM actions"
    )
    conn.execute("DROP TABLE bench_generating")
    conn.execute("CREATE TABLE bench_params (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO bench_params (key, value) VALUES (?, ?)",
        [*_params(args).items(), *((f"rows_{k}", str(v)) for k, v in counts.items())],
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return counts


# ---- timing ---------------------------------------------------------------------------------


def warm_file(path: Path) -> None:
    """Read the whole file once so the OS page cache holds it (a warm-cache benchmark)."""
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def stats(seconds: list[float]) -> dict[str, float]:
    d = h.describe(seconds)
    return {"p50": d.p50 * 1000, "p95": d.p95 * 1000, "mean": d.mean * 1000, "n": d.n}


def export_once(store: Store, catalog: Catalog, team: str) -> tuple[float, int, int]:
    buf = io.StringIO()
    t0 = time.perf_counter()
    rows = report_export.write_csv(report_export.export_records(store, catalog, team, now=datetime.now(UTC)), buf)
    return (time.perf_counter() - t0) * 1000, rows, buf.tell()


def export_child(path: str, team: str) -> None:
    """Run in a fresh process: open the store, export one workspace, report peak RSS (KiB)."""
    catalog = load_catalog()
    store = Store.open(path)
    base = h.peak_rss_kib()
    ms, rows, size = export_once(store, catalog, team)
    peak = h.peak_rss_kib()
    print(json.dumps({"ms": ms, "rows": rows, "bytes": size, "rss_before_kib": base, "rss_peak_kib": peak}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partnerships", type=int, default=1000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--members", type=int, default=12)
    ap.add_argument("--db", type=Path, default=Path(__file__).resolve().parent / "bench.db")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards, for a fast rerun")
    ap.add_argument("--reps", type=int, default=3000, help="timed summaries (and bare-SQL runs)")
    ap.add_argument("--exports", type=int, default=5, help="timed workspace exports")
    ap.add_argument("--profile", action="store_true", help="cProfile the summaries and print the top entries")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds on tiny data: 20 partnerships, 1 year, 6 members, in a temporary file",
    )
    ap.add_argument("--export-child", nargs=2, metavar=("DB", "TEAM"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.export_child:
        export_child(*args.export_child)
        return 0

    if args.smoke:  # never the default file: a kept full-size database stays as it is
        args.partnerships, args.years, args.members, args.reps, args.exports = 20, 1, 6, 100, 2
        args.db, args.keep = Path(tempfile.mkdtemp(prefix="coprod-summary-")) / "smoke.db", False
    path: Path = args.db
    catalog = load_catalog()
    h.print_machine()  # other work on the machine skews absolute times: see the load average
    existing = _read_params(path)
    if existing and all(existing.get(k) == v for k, v in _params(args).items()):
        print(f"reusing {path} (same parameters)")
        generated = False
    else:
        if not _is_bench_db(path):
            print(f"refusing to overwrite {path}: it is not a bench database", file=sys.stderr)
            return 2
        print(f"generating {path}: {args.partnerships} partnerships, {args.years:g} years, {args.members} members")
        t0 = time.perf_counter()
        counts = generate(path, args, catalog)
        print(f"generated in {time.perf_counter() - t0:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        generated = True
    try:
        return run(path, args, catalog, generated)
    finally:
        if not args.keep:
            h.remove_db(path)
            print(f"removed {path} (pass --keep to reuse it next run)")
        if args.smoke:
            path.parent.rmdir()


def run(path: Path, args: argparse.Namespace, catalog: Catalog, generated: bool) -> int:
    params = _read_params(path) or {}
    n_responses = int(params.get("rows_responses", 0))
    size_mb = path.stat().st_size / 1e6
    print(f"database: {size_mb:,.0f} MB, {n_responses:,} responses")
    warm_file(path)

    store = Store.open(path)
    raw = sqlite3.connect(path, isolation_level=None)  # the bare-SQL connection, default settings
    raw.execute("PRAGMA journal_mode = WAL")
    n = args.partnerships
    rng = random.Random(SEED + 2)
    picks = [rng.randrange(1, n + 1) for _ in range(args.reps)]
    targets = [(team_of(i), channel_of(i)) for i in picks]

    # Windows exactly as partnership_summary computes them (weekly cadence, 8 weeks, reaching back past pauses).
    windows = {}
    for i in set(picks):
        tz = TIMEZONES[i % len(TIMEZONES)]
        paused = [holidays.Pause(a, b, date.fromisoformat(c)) for a, b, c in raw.execute(PAUSES_SQL, (i, 0)).fetchall()]
        w = summary.window_for(NOW, tz, 8, cadence="weekly", level_count=len(catalog.levels), pauses=paused)
        windows[i] = (int(w.start.timestamp()), int(w.end.timestamp()) + 1)
    differs = bare_sql_differs(store, raw, list(dict.fromkeys(picks))[:20], windows)
    if differs:
        store.close()
        raw.close()
        print(
            f"error: the bare SQL no longer reproduces the results of Store.{', Store.'.join(differs)};"
            " update the copy in bench/summary_bench.py",
            file=sys.stderr,
        )
        return 2
    print("bare SQL checked: it returns what the store's verbs return (20 partnerships, one export)")

    def one_summary(k: int) -> object:
        team, channel = targets[k % len(targets)]
        return reports.partnership_summary(store, catalog, store.partnerships.get(team, channel), now=NOW)

    def bare_core(k: int) -> object:
        i = picks[k % len(picks)]
        since, until = windows[i]
        return (
            raw.execute(LEVEL_ACTIVITY_SQL, (i, since, until)).fetchall(),
            raw.execute(LEVEL_MEANS_SQL, (i, since, until, 3)).fetchall(),
        )

    def bare_full(k: int) -> object:
        team, channel = targets[k % len(targets)]
        pid, _tz, _weeks, _k, _members, _cadence = raw.execute(PARTNERSHIP_SQL, (team, channel)).fetchone()
        pauses = raw.execute(PAUSES_SQL, (pid, 0)).fetchall()
        since, until = windows[pid]  # window_for itself is Python, not SQL
        return (
            pauses,
            raw.execute(LOOP_SQL, {"p": pid, "since": since, "until": until}).fetchall(),
            raw.execute(LEVEL_ACTIVITY_SQL, (pid, since, until)).fetchall(),
            raw.execute(LEVEL_MEANS_SQL, (pid, since, until, _k)).fetchall(),
            raw.execute(ANSWERED_ROLES_SQL, (pid, since, until)).fetchall(),
            raw.execute(ROLES_SQL, (pid,)).fetchall(),
            raw.execute(LAST_MEETING_SQL, (pid,)).fetchone(),
            raw.execute(LAST_ASKED_SQL, (pid, "checkin")).fetchall(),
        )

    # Sanity: the summary really sees data in the window; and how many statements it runs.
    statements: list[str] = []
    store_conn = store.db.conn  # the calling thread's connection (a bench may look inside)
    store_conn.set_trace_callback(statements.append)
    s = one_summary(0)
    store_conn.set_trace_callback(None)
    assert s is not None and sum(lv.responses for lv in s.levels) > 0, "empty window: check NOW"
    assert s.loop is not None and s.loop.open and s.loop.tried, "no actions in the summary: check the generator"
    warm = min(500, args.reps)
    samples = h.interleaved({"summary": one_summary, "bare_core": bare_core, "bare_full": bare_full}, args.reps, warm)
    results = {name: stats(seconds) for name, seconds in samples.items()}

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for k in range(min(1000, args.reps)):
            one_summary(k)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)

    # Workspace exports: different workspaces each time.
    teams = [team_of(i) for i in rng.sample(range(1, min(n, WORKSPACES) + 1), min(args.exports, WORKSPACES, n))]
    export_ms, export_rows, export_bytes = [], [], []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export_once(store, catalog, teams[0])  # warm-up
    for team in teams:
        ms, rows, size = export_once(store, catalog, team)
        export_ms.append(ms)
        export_rows.append(rows)
        export_bytes.append(size)
    rss_here = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sql_ms = []
    for team in teams:
        t0 = time.perf_counter()
        for _row in raw.execute(EXPORT_SQL, (team, None, int(time.time()))):
            pass
        sql_ms.append((time.perf_counter() - t0) * 1000)
    child = subprocess.run(
        [sys.executable, __file__, "--export-child", str(path), teams[0]], capture_output=True, text=True, check=True
    )
    clean = json.loads(child.stdout.strip().splitlines()[-1])
    store.close()
    raw.close()

    rows_mean = statistics.fmean(export_rows)
    exp_mean = statistics.fmean(export_ms)
    print()
    print(f"| measure (warm, {args.reps} random partnerships) | p50 ms | p95 ms | mean ms |")
    print("|---|---:|---:|---:|")
    labels = {
        "summary": "summary: `reports.partnership_summary`",
        "bare_core": "bare SQL, core: level_activity aggregate",
        "bare_full": "bare SQL, full: the queries the summary needs",
    }
    for key, label in labels.items():
        r = results[key]
        print(f"| {label} | {r['p50']:.3f} | {r['p95']:.3f} | {r['mean']:.3f} |")
    print()
    core, full, summ = results["bare_core"], results["bare_full"], results["summary"]
    print(f"SQL statements per call: summary {len(statements)}, bare full 9, bare core 2")
    for name, bare in (("core", core), ("full", full)):
        print(
            f"ratio summary / bare {name}: {summ['p50'] / bare['p50']:.2f}x p50,"
            f" {summ['p95'] / bare['p95']:.2f}x p95, {summ['mean'] / bare['mean']:.2f}x mean"
        )
    print()
    print(f"| workspace export ({len(teams)} workspaces, CSV to StringIO) | value |")
    print("|---|---:|")
    print(f"| rows per workspace (mean) | {rows_mean:,.0f} |")
    print(f"| CSV size (mean) | {statistics.fmean(export_bytes) / 1e6:.1f} MB |")
    print(
        f"| export time p50 / mean / max | {h.percentile(export_ms, 50):.0f} / {exp_mean:.0f} / "
        f"{max(export_ms):.0f} ms |"
    )
    print(f"| rows/s | {rows_mean / (exp_mean / 1000):,.0f} |")
    print(f"| bare export SQL alone, rows fetched and dropped (mean) | {statistics.fmean(sql_ms):.0f} ms |")
    print(
        f"| peak RSS (ru_maxrss), this process after the exports{' (incl. generation)' if generated else ''} "
        f"| {rss_here / 1024:.0f} MiB (before the exports {rss_before / 1024:.0f} MiB) |"
    )
    print(
        f"| peak RSS (VmHWM), fresh process: open store + one export | {clean['rss_peak_kib'] / 1024:.0f} MiB "
        f"(before export {clean['rss_before_kib'] / 1024:.0f} MiB) |"
    )
    print(f"load average at end: {h.loadavg()}")
    ok = summ["p50"] < 10 and summ["p95"] < 10 and summ["p50"] <= 2 * full["p50"]
    print()
    print(
        f"target (summary under 10 ms, within 2x of bare SQL): {'MET' if ok else 'MISSED'}"
        f" — {summ['p50']:.2f} ms p50, {summ['p50'] / full['p50']:.2f}x full / {summ['p50'] / core['p50']:.2f}x core"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
