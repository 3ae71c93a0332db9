"""Benchmark: the coverage picture and the funder's report for a partnership with five years of weekly
check-ins, and what the drawing library costs.

    python bench/picture_bench.py [--years 5] [--members 12] [--reps 10] [--smoke]

1. Writes a partnership's history through coprod's own store into a fresh file: a check-in every week
   through the levels, each answered by most members (some anonymously), a meeting most fortnights.
2. In a fresh process for each (so peak memory is theirs alone): draws the picture ``--reps`` times and
   renders the report ``--reps`` times, printing nearest-rank p50 and max and the process's peak RSS.
3. Measures what Pillow adds: its installed size, its cold import time in a fresh interpreter, and
   whether starting coprod (``import bot.runtime.run``) imports it (it must not: it is imported only when a
   picture is drawn).

``--smoke``: 1 year, 6 members, 2 reps. Not a test: the figures go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import harness as h

ROOT = Path(__file__).resolve().parent.parent
TEAM, CHANNEL = "T1", "C1"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def generate(path: Path, years: int, members: int) -> int:
    from bot.domain.catalog import load_catalog
    from bot.store import Store

    catalog = load_catalog()
    rnd = random.Random(20261130)
    start = NOW - timedelta(weeks=52 * years)
    store = Store.open(path)
    try:
        p = store.partnerships.ensure(
            TEAM, CHANNEL, timezone="Europe/London", created_by="U0", now=int(start.timestamp())
        )
        for week in range(52 * years):
            at = start + timedelta(weeks=week)
            level = catalog.levels[week % len(catalog.levels)]
            practices = catalog.in_level(level.id)
            cid = store.checkins.record_checkin(
                p, facilitator_id=practices[week % len(practices)].id, level_id=level.id, asked_at=int(at.timestamp())
            )
            for m in range(members):
                if rnd.random() < 0.8:
                    store.answers.record_response(
                        TEAM,
                        cid,
                        f"U{m}",
                        rating=rnd.randint(1, 5),
                        anonymous=rnd.random() < 0.1,
                        now=int(at.timestamp()) + 60 * (m + 1),
                    )
            if week % 2 == 0 and rnd.random() < 0.8:
                day = at + timedelta(days=1)
                store.activity.log_meeting(p, held_on=day.date().isoformat(), user="U0", now=int(day.timestamp()))
        return 52 * years
    finally:
        store.close()


def child(path: str, what: str, reps: int) -> None:
    """Run in a fresh process: draw the picture or render the report ``reps`` times; print JSON."""
    from bot.domain.catalog import load_catalog
    from bot.reports import coverage_picture, partnership_report
    from bot.store import Store

    catalog = load_catalog()
    store = Store.open(Path(path))
    p = store.partnerships.get(TEAM, CHANNEL)
    assert p is not None
    times, size = [], 0
    for _ in range(reps):
        began = time.perf_counter()
        if what == "picture":
            png, _ = coverage_picture(
                store, catalog, p, start=datetime.fromtimestamp(p.created_at, UTC), end=NOW, now=NOW
            )
            size = len(png)
        else:
            size = len(partnership_report(store, catalog, p, now=NOW).encode("utf-8"))
        times.append(time.perf_counter() - began)
    store.close()
    print(json.dumps({"times": sorted(times), "bytes": size, "peak_kib": h.peak_rss_kib()}))


def run_child(path: Path, what: str, reps: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), what, str(reps)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def pillow_cost() -> dict:
    import importlib.metadata

    dist = importlib.metadata.distribution("pillow")
    size = sum(
        Path(dist.locate_file(f)).stat().st_size for f in dist.files or [] if Path(dist.locate_file(f)).is_file()
    )
    code = (
        "import time; t = time.perf_counter(); import PIL.Image, PIL.ImageDraw, PIL.ImageFont; "
        "print(time.perf_counter() - t)"
    )
    cold = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    ]
    check = "import sys, bot.runtime.run, bot.cli; print('PIL' in sys.modules)"
    at_start = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return {
        "version": dist.version,
        "installed_mb": size / 1e6,
        "import_s": min(cold),
        "imported_at_start": at_start.strip() == "True",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--members", type=int, default=12)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--smoke", action="store_true", help="1 year, 6 members, 2 reps")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if args.smoke:
        args.years, args.members, args.reps = 1, 6, 2
    h.print_machine()
    with tempfile.TemporaryDirectory(prefix="coprod-picture-") as tmp:
        path = Path(tmp) / "picture.db"
        began = time.perf_counter()
        checkins = generate(path, args.years, args.members)
        print(f"generated {checkins} weekly check-ins, {args.members} members, in {time.perf_counter() - began:.1f} s")
        print()
        print("| what | p50 | max | output | peak RSS (fresh process) |")
        print("|---|---:|---:|---:|---:|")
        results = {}
        for what in ("picture", "report"):
            r = results[what] = run_child(path, what, args.reps)
            t = r["times"]
            print(
                f"| {what} ({args.years} years weekly) | {h.percentile(t, 50) * 1e3:.0f} ms | {t[-1] * 1e3:.0f} ms | "
                f"{r['bytes'] / 1e3:.0f} kB | {r['peak_kib'] / 1024:.0f} MiB |"
            )
    cost = pillow_cost()
    print()
    print(
        f"Pillow {cost['version']}: {cost['installed_mb']:.1f} MB installed; "
        f"cold import {cost['import_s'] * 1e3:.0f} ms; "
        f"imported when coprod starts: {'yes' if cost['imported_at_start'] else 'no'}"
    )
    met = (
        h.percentile(results["picture"]["times"], 50) < 1.0
        and h.percentile(results["report"]["times"], 50) < 2.0
        and max(r["peak_kib"] for r in results.values()) < 150 * 1024
        and not cost["imported_at_start"]
    )
    print(
        f"target (picture < 1 s, report < 2 s, peak < 150 MB, nothing imported at start): {'MET' if met else 'NOT MET'}"
    )
    return 0 if met or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
