"""The worker beside `coprod run` (bot/runtime/worker.py), from outside.

`coprod run` (both Slack modes) makes its scheduled posts and sends its replies from a process of its own,
which it starts again if that process ends, and which ends with it however coprod ends. The two processes
write one database, people's writes first (``Database.share_writes``). A host that supervises processes
itself runs them apart (the Procfile's `web` and `worker` lines).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.harness import coprod_env, seed
from bot.runtime.worker import write_gate
from bot.store import Store
from tests.support.constants import APP_TOKEN, MODES, SECRET
from tests.support.running import coprod_process, coprod_with_a_checkin, free_port, helpers, wait_healthy
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeEndpoint
from tests.support.waiting import eventually

TEAM = "T0SCHED"
CHANNEL = "C0SCHED"
BOUND = 20.0  # only keeps a broken test from hanging
WORKER = "bot.runtime.worker"


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
def test_scheduled_posts_come_from_a_worker_coprod_starts_again_when_it_ends(mode, tmp_path):
    """The worker is killed: coprod says so, starts another, and a check-in that falls due afterwards is
    posted once; stopping coprod then stops its worker too."""
    with coprod_run(mode, tmp_path) as (proc, stub, db):
        assert eventually(lambda: len(helpers(db, WORKER)) == 1, BOUND)
        [first] = helpers(db, WORKER)
        os.kill(first, signal.SIGKILL)
        assert eventually(lambda: helpers(db, WORKER) not in ([], [first]), BOUND)

        schedule_checkin_due_now(db)
        assert eventually(lambda: posted_in(stub, CHANNEL), BOUND, interval=0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=BOUND)
        assert proc.returncode == 0, err
    assert "the worker ended (exit -9); starting another in 1 s" in err, err
    assert "Traceback" not in err, err
    assert len(posted_in(stub, CHANNEL)) == 1
    assert helpers(db, WORKER) == []


@pytest.mark.parametrize("mode", MODES)
def test_coprod_killed_outright_takes_its_worker_with_it(mode, tmp_path):
    """SIGKILL leaves coprod no time to stop its worker: the worker sees its stdin close and stops by itself,
    so no second poster is left behind on the database."""
    with coprod_run(mode, tmp_path) as (proc, _stub, db):
        assert eventually(lambda: len(helpers(db, WORKER)) == 1, BOUND)
        proc.kill()
        proc.wait(BOUND)
        assert eventually(lambda: helpers(db, WORKER) == [], BOUND), "the worker outlived coprod"


GIVE_WAY = textwrap.dedent(
    """
    import sys
    from bot.runtime.worker import write_gate
    from bot.store import Store

    store = Store.open(sys.argv[1])
    store.db.share_writes(write_gate(sys.argv[1]), people=False)
    print("ready", flush=True)
    store.ledger.set_meta("written by", "the worker")
    store.close()
    """
)


def waiting_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a file lock (the kernel lists such a wait in /proc/locks
    with "->" before it)."""
    return any(
        line.split()[1] == "->" and line.split()[5] == str(pid)
        for line in Path("/proc/locks").read_text().splitlines()
        if len(line.split()) > 5
    )


def test_the_workers_writes_wait_while_a_persons_write_is_about_to_begin(tmp_path):
    """With the two processes' writes shared, a person's write holding the gate keeps the worker from beginning
    its next transaction; the gate let go, it writes."""
    db = tmp_path / "c.db"
    people = Store.open(db)
    try:
        gate = write_gate(str(db))
        people.db.share_writes(gate, people=True)
        fcntl.lockf(gate, fcntl.LOCK_EX)  # what a person's write takes before it begins
        worker = subprocess.Popen([sys.executable, "-c", GIVE_WAY, str(db)], stdout=subprocess.PIPE, text=True)
        try:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
            # The worker's write waits on the gate (the kernel says so) and has written nothing.
            assert eventually(lambda: waiting_for_a_lock(worker.pid), BOUND, interval=0.02)
            assert people.ledger.meta("written by") is None
            fcntl.lockf(gate, fcntl.LOCK_UN)
            assert worker.wait(BOUND) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.communicate()
        assert people.ledger.meta("written by") == "the worker"
    finally:
        people.close()


@pytest.mark.parametrize("mode", MODES)
def test_the_procfiles_web_and_worker_lines_run_coprod_as_two_processes_the_host_supervises(mode, tmp_path):
    """`coprod run --web-only` and `coprod worker` (the Procfile's `web` and `worker`): a click is confirmed
    and counted by the worker, a second worker on the database refuses in one line, and SIGTERM stops the
    worker cleanly; the web process starts no worker of its own."""
    db = tmp_path / "coprod.db"
    [(channel, cid)] = seed(db, 1)
    with coprod_with_a_checkin(db, mode, channel, "--web-only") as (stub, web, client):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPROD_"))}
        env |= coprod_env(db, stub.url, mode=mode)
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        try:
            assert client.rate("U0001", channel, cid, 4, stub.response_url("procfile")) == 200
            [reply] = stub.wait_for("response_url", timeout=BOUND)
            assert "4" in reply.args["text"]
            stub.wait_for("chat.update", timeout=BOUND)  # the check-in's count, from the worker too
            second = subprocess.run(
                [sys.executable, "-m", "bot", "worker"], env=env, capture_output=True, text=True, timeout=BOUND
            )
            assert second.returncode != 0
            [said] = second.stderr.strip().splitlines()
            assert said.startswith(f"coprod worker: another coprod worker is already running on {db} (pid "), said
            assert said.endswith("stop it first, or set COPROD_DB to another database"), said
            assert helpers(db, WORKER) == []  # the web process started none: the host runs it
        finally:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=BOUND)
        assert worker.returncode == 0, err
        assert "coprod worker stopped" in err and "Traceback" not in err, err


def test_importing_the_workers_entry_point_loads_no_bolt_and_no_listener():
    """The worker posts and sends with slack-sdk's client alone: Bolt and the listeners are the web process's."""
    code = (
        "import sys, bot.runtime.worker; "
        "print(sorted(m for m in sys.modules if m.startswith(('slack_bolt', 'bot.slack.listeners', 'bot.slack.app'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=BOUND, check=True)
    assert done.stdout.strip() == "[]", done.stdout
