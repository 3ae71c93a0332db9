"""The follow-up workers: replies after an acknowledgement, with count updates coalesced."""

from __future__ import annotations

import threading

from bot.followups import FollowUps


def test_submitted_jobs_all_run_before_close_returns():
    """Every job handed over is run, even when close() comes straight after."""
    done = []
    followups = FollowUps(workers=3)
    for n in range(50):
        followups.submit(lambda n=n: done.append(n))
    followups.close()
    assert sorted(done) == list(range(50))


def test_latest_jobs_with_one_key_collapse_into_the_last():
    """While an update for a key waits, newer ones replace it: one run, with the newest job."""
    ran = []
    followups = FollowUps(workers=2)
    for n in range(20):
        followups.submit_latest("count:1", lambda n=n: ran.append(n), delay=0.3)
    followups.submit_latest("count:2", lambda: ran.append("other"), delay=0.3)
    followups.close()
    assert sorted(ran, key=str) == [19, "other"]


def test_a_delayed_job_waits_its_delay():
    """A delayed job doesn't run before its delay is up."""
    ran = threading.Event()
    followups = FollowUps(workers=1)
    followups.submit_latest("k", ran.set, delay=0.5)
    assert not ran.wait(0.2)
    assert ran.wait(2.0)
    followups.close()


def test_a_failing_job_does_not_stop_the_others(caplog):
    """One reply that raises is logged; the next still runs."""
    done = []
    followups = FollowUps(workers=1)
    followups.submit(lambda: 1 / 0)
    followups.submit(lambda: done.append("after"))
    followups.close()
    assert done == ["after"]
    assert "work after an acknowledgement failed" in caplog.text
