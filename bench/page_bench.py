"""Benchmark: the local workspace in a real browser, through the browser tests' own harness.

    python bench/page_bench.py [--starts 5] [--loads 10] [--clicks 50]
    python bench/page_bench.py --smoke

1. **Start-up**: `coprod run` with nothing configured (a new folder each time, so the first start writes the
   six months of history) until the page answers ``GET /``; then a restart on the same folder.
2. **Page load to first message**: a new browser page opens the workspace; the page marks
   (``performance.mark``) when it first shows a message, measured from the start of navigation.
3. **Click to count**: the coordinator types ``/coprod checkin``; a click on a rating of the new check-in, timed
   in the page from the click to its count reading "1 answer so far" (a MutationObserver). One click per
   check-in, so each changes the count. coprod waits a second before updating a count (it coalesces a burst of
   clicks into one update, ``COUNT_DELAY`` in bot/slack/listeners/actions.py), which this figure includes. The same
   click is timed to the private "Thank you!" too (coprod waits 0.3 s before it, ``REPLY_DELAY``, so that a
   double click gets one reply).

Headless Chromium (the system's) under Playwright, coprod and the browser on the same machine. Percentiles are
nearest-rank (bench/harness.py). ``--smoke``: one start, one load, three clicks. Not a test: the figures go
into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import harness as h

from tests.support.browser import WorkspacePage, chromium, local_coprod, missing


def starts(count: int) -> tuple[list[float], list[float]]:
    """Seconds from `coprod run` to the page answering: first starts (history written), then restarts."""
    first, again = [], []
    for _ in range(count):
        with tempfile.TemporaryDirectory(prefix="coprod-page-bench-") as folder:
            with local_coprod(Path(folder)) as coprod:
                first.append(coprod.startup)
            with local_coprod(Path(folder)) as coprod:
                again.append(coprod.startup)
    return first, again


def loads_and_clicks(browser, loads: int, clicks: int) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds from navigation to the first message, per new page; from a click to its count changing, and
    to the private thank-you."""
    to_first: list[float] = []
    to_count: list[float] = []
    to_reply: list[float] = []
    with tempfile.TemporaryDirectory(prefix="coprod-page-bench-") as folder, local_coprod(Path(folder)) as coprod:
        for _ in range(loads):
            page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 900}))
            page.open(coprod.url)
            to_first.append(page.first_message_ms())
            page.page.close()
        page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 900}))
        page.open(coprod.url)
        for n in range(clicks):
            key = page.post_checkin()
            count, reply = page.timed_click(key, 1 + n % 5, "1 answer so far")
            to_count.append(count)
            to_reply.append(reply)
        assert page.errors == [], page.errors
    return to_first, to_count, to_reply


def row(name: str, values: list[float], unit: str) -> str:
    s = h.describe(values)
    return f"| {name} | {s.n} | {s.p50:.0f} | {s.p95:.0f} | {s.max:.0f} | {unit} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="first starts and restarts of coprod run (default 5)")
    parser.add_argument("--loads", type=int, default=10, help="page loads (default 10)")
    parser.add_argument("--clicks", type=int, default=50, help="rating clicks, one per check-in (default 50)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 1 start, 1 load, 3 clicks")
    args = parser.parse_args(argv)
    if args.smoke:
        args.starts, args.loads, args.clicks = 1, 1, 3
    reason = missing()
    if reason:
        print(f"page_bench: {reason}", file=sys.stderr)
        return 1
    h.print_machine()
    began = time.perf_counter()
    first, again = starts(args.starts)
    with chromium() as browser:
        to_first, to_count, to_reply = loads_and_clicks(browser, args.loads, args.clicks)
    print()
    print("| | n | p50 | p95 | max | unit |")
    print("|---|--:|--:|--:|--:|---|")
    print(row("start-up to the page answering, first start (history written)", [s * 1000 for s in first], "ms"))
    print(row("start-up to the page answering, restart", [s * 1000 for s in again], "ms"))
    print(row("page load to the first message", to_first, "ms"))
    print(row("click to the count changing on screen", to_count, "ms"))
    print(row("click to the private thank-you on screen", to_reply, "ms"))
    print(f"\n(took {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
