"""Load, short form for CI: 50 concurrent clients clicking at a real `coprod run --http`, 20 clicks each.

The promise (issue 4, item 7): under 50 concurrent clients no answer is lost, nothing answers 5xx, and
the acknowledgement's p99 stays under Slack's 3 s. This test holds the first two and prints the latencies;
it asserts no time (the suite runs beside other tests, on any machine). The p99 is measured by the full
form, 60 seconds with the figures printed: ``python bench/load_bench.py --clients 50 --seconds 60``.
"""

from __future__ import annotations

import sqlite3

# The click stream and the checks are shared with the benchmarks (bench/harness.py).
from bench.harness import (
    BotProcess,
    channel_with_checkin,
    percentile,
    run_clicks,
    seed,
    stored_problems,
    wait_for_replies,
)
from tests.support.slack_stub import SlackStub
from tests.support.waiting import eventually

CLIENTS = 50
CLICKS = 20  # each client's, one after another as fast as coprod answers


def outbox_empty(db) -> bool:
    """Nothing left for the worker to send: each reply and count update is out (their rows are deleted)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_fifty_clients_lose_no_answer_and_get_no_5xx(tmp_path):
    db = tmp_path / "coprod.db"
    targets = seed(db, 8)  # eight partnerships, one open check-in each, with a message whose count is updated
    with SlackStub() as stub:
        for channel, _ in targets:
            channel_with_checkin(stub, channel)
        with BotProcess(db, stub.url, tmp_path / "coprod.log") as bot:
            # 50 clients x 20 users = 1,000 people over 8 check-ins; each client's users click in turn, so
            # a user's later click (another rating for the same check-in) is the one that must be kept.
            result = run_clicks(
                bot.port,
                targets,
                clients=CLIENTS,
                users_per_client=20,
                max_clicks_per_client=CLICKS,
                response_url=stub.response_url(""),
                timeout=10,
            )
            acked_clicks = sum(len(w.latencies) for w in result.workers)
            # Every acknowledged (user, check-in) gets its private reply in the end; a person's clicks on
            # one check-in within a moment share one reply (the latest), so there may be fewer than clicks.
            wait_for_replies(stub, len(result.acked), timeout=60)
            assert eventually(lambda: outbox_empty(db), 60)  # the trailing replies too
            replies = len(stub.calls_to("response_url"))
            assert bot.healthz() == 200
        assert bot.proc.returncode == 0  # SIGTERM once the replies were out: a clean stop
        log = bot.log_path.read_text(errors="replace")

    latencies = result.latencies
    p99 = percentile(latencies, 99)
    print(
        f"{result.requests} clicks in {result.seconds:.1f} s ({result.requests / result.seconds:.0f}/s), "
        f"p50 {percentile(latencies, 50) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {latencies[-1] * 1e3:.0f} ms; "
        f"{len(result.acked)} answers"
    )

    assert result.requests == CLIENTS * CLICKS
    assert dict(result.errors) == {}, "a click got no HTTP answer (reset or timeout)"
    assert result.server_errors == 0, result.statuses
    assert set(result.statuses) == {200}, result.statuses
    assert acked_clicks > len(result.acked), "some users should have changed an acknowledged rating"

    problems, stored = stored_problems(db, targets, result)
    assert problems == [], problems[:10]
    assert stored == len(result.acked)  # every acknowledged (user, check-in) once, nothing else

    assert len(result.acked) <= replies <= acked_clicks
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if " ERROR " in line] == []
