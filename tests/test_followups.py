"""The follow-up workers: the one place work after an acknowledgement runs, with count updates coalesced."""

from __future__ import annotations

import logging
import threading
import time

from bot.work.followups import FollowUp, FollowUps
from tests.support.waiting import eventually


def job(run, what: str = "do a thing", **kw) -> FollowUp:
    return FollowUp(run, what=what, team="T1", channel="C1", **kw)


def test_submitted_jobs_all_run_before_close_returns():
    """Every job handed over is run, even when close() comes straight after."""
    done = []
    followups = FollowUps(workers=3)
    for n in range(50):
        followups.submit(job(lambda n=n: done.append(n)))
    followups.close()
    assert sorted(done) == list(range(50))


def test_latest_jobs_with_one_key_collapse_into_the_last():
    """While an update for a key waits, newer ones replace it: one run, with the newest job."""
    ran = []
    followups = FollowUps(workers=2)
    for n in range(20):
        followups.submit_latest("count:1", job(lambda n=n: ran.append(n)), delay=0.3)
    followups.submit_latest("count:2", job(lambda: ran.append("other")), delay=0.3)
    followups.close()
    assert sorted(ran, key=str) == [19, "other"]


def test_a_delayed_job_waits_its_delay():
    """A delayed job doesn't run before its delay is up."""
    ran = threading.Event()
    followups = FollowUps(workers=1)
    followups.submit_latest("k", job(ran.set), delay=0.5)
    assert not ran.wait(0.2)
    assert ran.wait(2.0)
    followups.close()


def test_drain_runs_delayed_jobs_now_and_waits_for_all():
    """drain() doesn't wait out a delay: it runs the waiting update at once, and returns when all is done."""
    done = []
    followups = FollowUps(workers=2)
    release = threading.Event()
    followups.submit(job(lambda: (release.wait(5), done.append("slow"))))
    followups.submit_latest("count", job(lambda: done.append("count")), delay=60)
    threading.Timer(0.2, release.set).start()
    assert followups.drain(timeout=5)
    assert sorted(done) == ["count", "slow"]
    assert followups.idle
    followups.close()


def test_drain_says_when_work_is_still_running():
    """A drain that times out says so rather than pretending all is done."""
    followups = FollowUps(workers=1)
    release = threading.Event()
    followups.submit(job(lambda: release.wait(5)))
    assert followups.drain(timeout=0.2) is False
    release.set()
    assert followups.drain(timeout=5)
    followups.close()


def test_a_failing_job_is_logged_with_its_partnership_and_the_person_is_told(caplog):
    """One follow-up that raises is logged with what was lost and whose it was; its apology is sent;
    the next job still runs."""
    done = []
    followups = FollowUps(workers=1)
    followups.submit(job(lambda: 1 / 0, what="post a check-in", apologise=lambda: done.append("sorry")))
    followups.submit(job(lambda: done.append("after")))
    followups.close()
    assert done == ["sorry", "after"]
    assert "could not post a check-in for team T1 channel C1" in caplog.text


def test_an_apology_that_fails_too_is_logged_and_stops_nothing(caplog):
    """If telling the person fails as well, that is logged and the workers carry on."""
    done = []
    followups = FollowUps(workers=1)
    followups.submit(job(lambda: 1 / 0, apologise=lambda: 1 / 0))
    followups.submit(job(lambda: done.append("after")))
    followups.close()
    assert done == ["after"]
    assert "could not tell the person" in caplog.text


def test_work_handed_over_after_close_is_reported_lost(caplog):
    """Nothing is silently dropped: a job that arrives once the workers have stopped is logged and apologised for."""
    told = []
    followups = FollowUps(workers=1)
    followups.close()
    with caplog.at_level(logging.ERROR):
        followups.submit(job(lambda: None, what="open the comment form", apologise=lambda: told.append(1)))
        followups.submit_latest("k", job(lambda: None, what="update a count"))
    assert told == [1]
    assert "could not open the comment form for team T1 channel C1: the bot was stopping" in caplog.text
    assert "could not update a count" in caplog.text


def test_a_leading_job_runs_at_once_and_the_burst_after_it_once():
    """The first job of a quiet key runs at once; those submitted within the delay after it collapse into one
    (the last), run once the delay has passed; after a quiet delay the next runs at once again."""
    followups = FollowUps(workers=1)
    ran: list[tuple[str, float]] = []
    finished = {name: threading.Event() for name in ("first", "last", "again")}
    began = time.monotonic()

    def job(name: str) -> FollowUp:
        def run() -> None:
            ran.append((name, time.monotonic() - began))
            if name in finished:
                finished[name].set()

        return FollowUp(run, what=name, team="T", channel="C")

    followups.submit_latest("count", job("first"), delay=0.3, leading=True)
    assert finished["first"].wait(2) and ran[0][1] < 0.15
    for name in ("middle", "middle", "last"):
        followups.submit_latest("count", job(name), delay=0.3, leading=True)
    assert finished["last"].wait(2)
    assert [name for name, _ in ran] == ["first", "last"] and ran[1][1] >= 0.28
    # The quiet delay: once 0.3 s have passed since the last one ran, the next is the first of a new burst.
    eventually(lambda: time.monotonic() - began >= ran[-1][1] + 0.3, what="the delay since the last run to pass")
    at = time.monotonic() - began
    followups.submit_latest("count", job("again"), delay=0.3, leading=True)
    assert finished["again"].wait(2)
    assert ran[-1][0] == "again" and ran[-1][1] - at < 0.15
    followups.close()


def test_a_modal_opens_while_every_worker_is_busy_and_drain_waits_for_it():
    """Opening a modal has its own lane: with every worker stuck (an upload Slack doesn't answer), it runs at
    once, and drain() and idle count it like any follow-up."""
    followups = FollowUps(workers=2)
    stuck = threading.Event()
    for _ in range(2):
        followups.submit(job(lambda: stuck.wait(10)))
    opened = threading.Event()
    followups.open_modal(job(opened.set, what="open a form"))
    try:
        assert opened.wait(5), "the modal waited behind the stuck workers"
    finally:
        stuck.set()
    assert followups.drain(timeout=5) and followups.idle
    followups.close()


def test_a_modal_that_fails_to_open_is_apologised_for_and_one_after_close_is_reported(caplog):
    """A modal that fails is logged and the person told; one handed over after close() is reported lost."""
    told = []
    followups = FollowUps(workers=1)

    def fail() -> None:
        raise RuntimeError("expired_trigger_id")

    followups.open_modal(job(fail, what="open the comment form", apologise=lambda: told.append("sorry")))
    assert followups.drain(timeout=5)
    followups.close()
    with caplog.at_level(logging.ERROR, logger="bot.work.followups"):
        followups.open_modal(job(lambda: None, what="open the plan form", apologise=lambda: told.append("late")))
    assert told == ["sorry", "late"]
    assert "could not open the plan form" in caplog.text
