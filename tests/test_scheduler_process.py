"""The scheduler's process beside `coprod run` (bot/runtime/scheduler.py), from outside.

`coprod run` (both Slack modes) makes its scheduled posts from a process of its own, which it starts again
if that process ends, and which ends with it however coprod ends. The two processes write one database,
people's writes first (``Database.share_writes``).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.constants import APP_TOKEN, MODES, SECRET
from tests.support.running import coprod_process, free_port, helpers, wait_healthy
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeEndpoint
from tests.support.waiting import eventually

TEAM = "T0SCHED"
CHANNEL = "C0SCHED"
BOUND = 20.0  # only keeps a broken test from hanging


@contextmanager
def coprod_run(mode: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, SlackStub, Path]]:
    """`coprod run` in ``mode`` against a stand-in that knows CHANNEL, ticking every second; stopped with
    SIGTERM on the way out unless the test ended it."""
    db = tmp_path / "c.db"
    env = {"SLACK_BOT_TOKEN": "xoxb-sched-test", "COPROD_DB": str(db), "COPROD_TICK_SECONDS": "1"}
    with SlackStub() as stub, SocketModeEndpoint() as endpoint:
        stub.add_channel(CHANNEL, ["U1", "U2", "UBOT"], name="study")
        env["SLACK_API_URL"] = stub.url
        if mode == "http":
            env |= {"SLACK_SIGNING_SECRET": SECRET, "PORT": str(free_port())}
        else:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
            stub.socket_mode_url = endpoint.url
        proc = coprod_process(["run", "--http"] if mode == "http" else ["run"], env, tmp_path)
        try:
            if mode == "http":
                wait_healthy(int(env["PORT"]), proc)
            else:
                endpoint.wait_connected(15)
            yield proc, stub, db
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=BOUND)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def schedule_checkin_due_now(db: Path) -> None:
    """A weekly check-in in CHANNEL whose time came two minutes ago (set an hour before that)."""
    now = int(time.time())
    due = time.gmtime(now - 120)
    store = Store.open(db)
    try:
        p = store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="U1", now=now - 3600)
        store.partnerships.set_schedule(
            p,
            kind="checkins",
            cadence="weekly",
            weekday=due.tm_wday,
            at_minute=due.tm_hour * 60 + due.tm_min,
            anchor=time.strftime("%Y-%m-%d", due),
            set_by="U1",
            now=now - 3600,
        )
    finally:
        store.close()


def posted_in(stub: SlackStub, channel: str) -> list:
    return [c for c in stub.calls_to("chat.postMessage") if c.args.get("channel") == channel]


@pytest.mark.parametrize("mode", MODES)
def test_scheduled_posts_come_from_a_process_coprod_starts_again_when_it_ends(mode, tmp_path):
    """The scheduler's process is killed: coprod says so, starts another, and a check-in that falls due
    afterwards is posted once; stopping coprod then stops its scheduler too."""
    with coprod_run(mode, tmp_path) as (proc, stub, db):
        assert eventually(lambda: len(helpers(db, "bot.runtime.scheduler")) == 1, BOUND)
        [first] = helpers(db, "bot.runtime.scheduler")
        os.kill(first, signal.SIGKILL)
        assert eventually(lambda: helpers(db, "bot.runtime.scheduler") not in ([], [first]), BOUND)

        schedule_checkin_due_now(db)
        assert eventually(lambda: posted_in(stub, CHANNEL), BOUND, interval=0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=BOUND)
        assert proc.returncode == 0, err
    assert "the scheduler's process ended (exit -9); starting another in 1 s" in err, err
    assert "Traceback" not in err, err
    assert len(posted_in(stub, CHANNEL)) == 1
    assert helpers(db, "bot.runtime.scheduler") == []


@pytest.mark.parametrize("mode", MODES)
def test_coprod_killed_outright_takes_its_scheduler_with_it(mode, tmp_path):
    """SIGKILL leaves coprod no time to stop its scheduler: the scheduler sees its pipe close and stops by
    itself, so no second poster is left behind on the database."""
    with coprod_run(mode, tmp_path) as (proc, _stub, db):
        assert eventually(lambda: len(helpers(db, "bot.runtime.scheduler")) == 1, BOUND)
        proc.kill()
        proc.wait(BOUND)
        assert eventually(lambda: helpers(db, "bot.runtime.scheduler") == [], BOUND), "the scheduler outlived coprod"


GIVE_WAY = textwrap.dedent(
    """
    import sys
    from bot.store import Store

    store = Store.open(sys.argv[1])
    store.db.share_writes(int(sys.argv[2]), people=False)
    print("ready", flush=True)
    store.ledger.set_meta("written by", "the scheduler")
    store.close()
    """
)


def test_the_schedulers_writes_wait_while_a_persons_write_is_about_to_begin(tmp_path):
    """With the two processes' writes shared, a person's write holding the gate keeps the scheduler's
    process from beginning its next transaction; the gate let go, it writes."""
    db = tmp_path / "c.db"
    people = Store.open(db)
    try:
        with tempfile.TemporaryFile() as gate:
            people.db.share_writes(gate.fileno(), people=True)
            fcntl.lockf(gate.fileno(), fcntl.LOCK_EX)  # what a person's write takes before it begins
            scheduler = subprocess.Popen(
                [sys.executable, "-c", GIVE_WAY, str(db), str(gate.fileno())],
                pass_fds=(gate.fileno(),),
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert scheduler.stdout is not None and scheduler.stdout.readline() == "ready\n"
                time.sleep(0.5)
                assert people.ledger.meta("written by") is None
                fcntl.lockf(gate.fileno(), fcntl.LOCK_UN)
                assert scheduler.wait(BOUND) == 0
            finally:
                if scheduler.poll() is None:
                    scheduler.kill()
                scheduler.communicate()
        assert people.ledger.meta("written by") == "the scheduler"
    finally:
        people.close()
