"""The scheduler at scale: a tick reads only what is due, a long downtime's misses are written in a few
transactions, reminders don't wait behind a batch, member counts are refreshed off the posting path, and
stopping gives back the claims whose post never started.

The store-level tests run the real dispatcher on a real SQLite file with no Slack at all (nothing is
posted); the others drive coprod through the `bot` fixture, both modes.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot.domain.catalog import load_catalog
from bot.runtime.jobs import Dispatcher
from bot.runtime.run import Runtime
from bot.slack.deps import Deps
from bot.store import Store
from bot.store.ledger import PLAN_BATCH
from tests.support.blockkit import checkin_posts
from tests.support.clock import Clock
from tests.support.constants import CHANNEL, MEMBERS, START, TEAM
from tests.support.flows import configure
from tests.support.running import make_settings
from tests.support.waiting import eventually

GRACE = timedelta(hours=6)
TUESDAY_10 = START + timedelta(hours=1)


def scheduled_store(path: Path, partnerships: int) -> Store:
    """``partnerships`` channels, each with a weekly check-in (Tuesday 10:00 UTC) and a meeting reminder, set
    at START (Tuesday 09:00), and a year of posted history in the ledger for each."""
    store = Store.open(path, secret_key=b"k" * 32)
    now = int(START.timestamp())
    for n in range(partnerships):
        p = store.partnerships.ensure(TEAM, f"C{n}", timezone="UTC", created_by="U1", now=now)
        store.partnerships.set_schedule(
            p, kind="checkins", cadence="weekly", weekday=1, at_minute=600, anchor="2026-11-24", set_by="U1", now=now
        )
        store.partnerships.set_schedule(
            p,
            kind="meeting",
            cadence="weekly",
            weekday=3,
            at_minute=840,
            anchor="2026-11-24",
            set_by="U1",
            now=now,
            remind_minutes=30,
        )
        with store.db.write() as conn:
            conn.executemany(
                "INSERT INTO posts (partnership_id, team_id, kind, fire_at, claimed_at, status)"
                " VALUES (?, ?, 'checkins', ?, ?, 'posted')",
                [(p.id, TEAM, now - week * 7 * 86_400, now - week * 7 * 86_400) for week in range(1, 53)],
            )
    return store


def dispatcher(store: Store, clock: Clock) -> Dispatcher:
    # Nothing is due in these tests, so nothing calls Slack: the client points at a closed port.
    client = WebClient(token="xoxb-none", base_url="http://127.0.0.1:9/api/")
    return Dispatcher(Deps(store, load_catalog(), clock), lambda team: client, grace=GRACE)


def steps_of_a_tick(store: Store, clock: Clock) -> int:
    """How much work SQLite does for one tick (its virtual machine's steps, in thousands)."""
    d = dispatcher(store, clock)
    d.tick()  # the first tick after setting up
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    store.db.conn.set_progress_handler(count, 1000)
    try:
        assert d.tick() == []
    finally:
        store.db.conn.set_progress_handler(None, 0)
        d.close()
    return steps[0]


def test_a_tick_with_nothing_due_costs_the_same_for_ten_or_three_hundred_partnerships(tmp_path):
    """Idle ticks read what is due from an index: no schedule, and none of the ledger's history, is read when
    nothing is due, so 30 times the partnerships (and their year of posts) cost the tick nothing more."""
    clock = Clock(START + timedelta(minutes=5))
    small = scheduled_store(tmp_path / "small.db", 10)
    large = scheduled_store(tmp_path / "large.db", 300)
    try:
        few, many = steps_of_a_tick(small, clock), steps_of_a_tick(large, clock)
    finally:
        small.close()
        large.close()
    assert many <= few + 2, (few, many)


def test_a_restart_after_weeks_down_writes_its_skips_in_a_few_transactions(tmp_path):
    """Three weeks without ticks for 60 partnerships: 420 missed check-ins and reminders each recorded as
    skipped, in a handful of transactions rather than one each; each schedule then waits for its next time."""
    clock = Clock(START + timedelta(minutes=5))
    store = scheduled_store(tmp_path / "down.db", 60)
    d = dispatcher(store, clock)
    try:
        d.tick()
        clock.advance(weeks=3, hours=12)  # Tuesday 21:05, three weeks on: everything missed is out of grace
        transactions: list[str] = []
        store.db.conn.set_trace_callback(lambda sql: transactions.append(sql) if sql.startswith("BEGIN") else None)
        fired = d.tick()
        store.db.conn.set_trace_callback(None)
        assert len(fired) == 60 * (4 + 3) and {f.status for f in fired} == {"skipped"}
        # 120 schedules' plans, PLAN_BATCH to a transaction, and the tick's time: not one per skip (420).
        assert len(transactions) <= -(-120 // PLAN_BATCH) + 1, len(transactions)
        p = store.partnerships.get(TEAM, "C7")
        assert [status for _, at, status in store.ledger.posts(p, "checkins") if at > START.timestamp()] == [
            "skipped"
        ] * 4
        assert store.partnerships.next_fire_times(p)["checkins"] == int((TUESDAY_10 + timedelta(weeks=4)).timestamp())
        assert d.tick() == []
    finally:
        d.close()
        store.close()


def test_after_a_long_downtime_the_first_due_post_does_not_wait_for_every_miss_to_be_written(tmp_path, stub):
    """Eight days down with 10,001 weekly schedules due: the oldest page (5,000) holds the one check-in still
    within the grace period, the rest have only misses. Its post reaches Slack while the tick is still
    writing the later pages' misses, not after all of them; each miss is recorded once."""
    clock = Clock(START)  # Tuesday 09:00
    store = Store.open(tmp_path / "down.db", secret_key=b"k" * 32)
    now, week = int(START.timestamp()), 7 * 86_400
    with store.db.write() as conn:  # one transaction: the store's verbs take one per schedule
        conn.executemany(
            "INSERT INTO partnerships (id, team_id, channel_id, timezone, created_by, created_at)"
            " VALUES (?, ?, ?, 'UTC', 'U1', ?)",
            [(n + 1, TEAM, CHANNEL if n == 0 else f"D{n}", now - 5 * week) for n in range(10_001)],
        )
        conn.executemany(
            "INSERT INTO schedules (partnership_id, team_id, kind, cadence, weekday, at_minute, anchor, set_by,"
            " set_at, next_fire_at) VALUES (?, ?, 'checkins', 'weekly', 1, ?, '2026-11-24', 'U1', ?, ?)",
            [
                # The first: Tuesdays 08:00, so today's is an hour late; the others Tuesdays 10:00, still to come.
                (n + 1, TEAM, 480 if n == 0 else 600, now - 5 * week, now - week + (-3600 if n == 0 else 3600))
                for n in range(10_001)
            ],
        )
    client = WebClient(token="xoxb-down", base_url=stub.url)
    d = Dispatcher(Deps(store, load_catalog(), clock), lambda team: client, grace=GRACE)
    release = stub.hold("chat.postMessage", accepted=True, channel=CHANNEL)
    ticking = threading.Thread(target=d.tick)
    ticking.start()
    try:
        stub.wait_for("chat.postMessage", timeout=60)
        written = store.db.one("SELECT COUNT(*) FROM posts WHERE status = 'skipped'")[0]
        assert written < 10_001, "the post waited until every page's misses were written"
    finally:
        release.set()
        ticking.join(60)
    try:
        assert store.db.one("SELECT COUNT(*) FROM posts WHERE status = 'skipped'")[0] == 10_001
        assert len(checkin_posts(stub)) == 1
    finally:
        d.close()
        store.close()


def test_a_meeting_reminder_due_during_a_batch_of_checkins_goes_out_at_once(bot):
    """Six check-ins and a meeting reminder fall due together while Slack takes 3 s over each check-in: the
    reminder has a lane of its own and goes out without waiting for any of them."""
    channels = [f"C{n}" for n in range(2, 8)]
    for channel in channels:
        bot.stub.add_channel(channel, [*MEMBERS, "UBOT"], name=channel.lower())
        configure(bot, "schedule checkins weekly Tuesday 10:00", channel=channel)
        bot.stub.delay("chat.postMessage", 3.0, channel=channel)
    configure(bot, "meeting every Tuesday 10:30 remind 30")  # its reminder is due at 10:00 too, set up last
    bot.clock.advance(hours=1)
    ticking = threading.Thread(target=bot.tick)
    ticking.start()
    try:
        bot.stub.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL, timeout=2.5)
        assert ticking.is_alive(), "the check-ins should still be posting"
    finally:
        ticking.join()
    assert all(len(checkin_posts(bot.stub, channel)) == 1 for channel in channels)


def test_a_scheduled_checkin_does_not_wait_for_the_channels_member_count(bot):
    """The member count is refreshed after the post, off its path: a slow conversations.members holds up
    neither the tick nor the next post, and the count arrives when Slack answers."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    bot.store.partnerships.set_member_count(p, 0)
    release = bot.stub.hold("conversations.members", accepted=True)
    bot.clock.advance(hours=1)
    ticking = threading.Thread(target=bot.tick)
    ticking.start()
    try:
        ticking.join(8)
        assert not ticking.is_alive(), "the tick waited for the member count"
        assert bot.tick() == []  # already posted: nothing more is due
    finally:
        release.set()
        ticking.join()
    assert len(checkin_posts(bot.stub)) == 1
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS) + 1)  # + the admin


def test_stopping_gives_back_claims_not_yet_posted_and_a_restart_posts_each_once(bot, tmp_path, stub, clock):
    """Stopping during a batch: the posts under way finish, the claims not started are given back, and the
    restarted process posts each of those once (as a first attempt, without looking in the history)."""
    channels = [f"C{n}" for n in range(2, 10)]
    for channel in channels:
        stub.add_channel(channel, [*MEMBERS, "UBOT"], name=channel.lower())
        configure(bot, "schedule checkins weekly Tuesday 10:00", channel=channel)
        stub.delay("chat.postMessage", 1.5, channel=channel)
    clock.advance(hours=1)
    bot.runtime.dispatcher.tick(wait=False)
    stub.wait_for("chat.postMessage", count=3, timeout=3.0)  # three at once in one workspace
    bot.runtime.dispatcher.close(timeout=5.0)  # the three under way finish
    assert eventually(lambda: sum(len(checkin_posts(stub, c)) for c in channels) == 3)
    restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
    try:
        assert [f.status for f in restarted.dispatcher.tick()] == ["posted"] * 5
    finally:
        restarted.stop()
    assert [len(checkin_posts(stub, c)) for c in channels] == [1] * 8
    assert stub.calls_to("conversations.history") == []  # given back before they started: nothing to look for


def test_the_bot_asks_slack_who_it_is_once(bot):
    """A batch of check-ins at start, each wanting the bot's own user id: coprod asks Slack's auth.test once
    (Bolt asks once more for itself, authorising the first request it handles)."""
    channels = [f"C{n}" for n in range(2, 8)]
    for channel in channels:
        bot.stub.add_channel(channel, [*MEMBERS, "UBOT"], name=channel.lower())
        configure(bot, "schedule checkins weekly Tuesday 10:00", channel=channel)
    bot.stub.delay("auth.test", 0.5, times=10)
    bot.clock.advance(hours=1)
    assert len(bot.tick()) == len(channels)
    assert eventually(lambda: all(bot.store.partnerships.get(TEAM, c).member_count for c in channels))
    assert len(bot.stub.calls_to("auth.test")) <= 2


def test_a_workspace_with_no_client_has_its_due_posts_wait_unclaimed(tmp_path):
    """coprod not installed in the workspace (no client): its due check-ins are neither claimed nor moved on,
    so they post if it comes back within the grace period; once out of grace they are recorded as skipped."""
    clock = Clock(TUESDAY_10 + timedelta(minutes=5))
    store = scheduled_store(tmp_path / "absent.db", 3)
    d = Dispatcher(Deps(store, load_catalog(), clock), lambda team: None, grace=GRACE)
    try:
        assert d.tick() == []
        p = store.partnerships.get(TEAM, "C1")
        assert [at for _, at, _ in store.ledger.posts(p) if at > START.timestamp()] == []
        assert store.partnerships.next_fire_times(p)["checkins"] == int(TUESDAY_10.timestamp())
        clock.advance(hours=7)  # out of grace: recorded as skipped, and the schedule waits for next week
        assert [(f.kind, f.status) for f in d.tick()] == [("checkins", "skipped")] * 3
        assert store.partnerships.next_fire_times(p)["checkins"] == int((TUESDAY_10 + timedelta(weeks=1)).timestamp())
    finally:
        d.close()
        store.close()


def test_fire_times_inside_a_holiday_pause_are_recorded_as_skipped_as_the_schedule_moves_on(tmp_path):
    """A holiday pause over two weekly check-ins: each is recorded as skipped "paused for a holiday" (nothing
    is posted: the client points at a closed port), and the schedule's next fire time moves past each."""
    clock = Clock(TUESDAY_10 + timedelta(minutes=5))
    store = scheduled_store(tmp_path / "paused.db", 1)
    p = store.partnerships.get(TEAM, "C0")
    ends = START + timedelta(days=14)
    store.partnerships.pause(
        p, until_on=ends.date(), ends_at=int(ends.timestamp()), set_by="U1", now=int(START.timestamp())
    )
    d = dispatcher(store, clock)
    try:
        for week in range(2):
            assert [f.status for f in d.tick() if f.kind == "checkins"] == ["skipped"]
            after = int((TUESDAY_10 + timedelta(weeks=week + 1)).timestamp())
            assert store.partnerships.next_fire_times(p)["checkins"] == after
            clock.advance(weeks=1)
        details = store.db.query(
            "SELECT detail FROM posts WHERE fire_at > ? AND kind = 'checkins'", (START.timestamp(),)
        )
        assert [r["detail"] for r in details] == ["paused for a holiday"] * 2
    finally:
        d.close()
        store.close()
