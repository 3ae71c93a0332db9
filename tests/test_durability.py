"""Durability from outside: a real `coprod run --http` is SIGKILLed under a stream of signed rating clicks.

The promise (issue 4, item 2): an acknowledged click is a stored answer. Only acknowledged clicks are
promised; a click in flight when the process dies may or may not have been stored. After the kill the
database must hold every acknowledged answer with its last acknowledged rating, pass
``PRAGMA integrity_check``, and serve again when coprod is restarted on it.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading

import pytest

# The click stream and the checks are shared with the benchmarks (bench/harness.py).
from bench.harness import TEAM, BotProcess, Clicker, Progress, channel_with_checkin, run_clicks, seed, stored_problems
from bot.store import Store
from tests.support.constants import MODES
from tests.support.running import coprod_with_a_checkin, helpers
from tests.support.slack_stub import SlackStub
from tests.support.waiting import eventually

KILL_AFTER = 400  # acknowledged clicks before the SIGKILL; the streams keep going until it lands


def test_acknowledged_clicks_survive_sigkill_and_coprod_restarts(tmp_path):
    db = tmp_path / "coprod.db"
    # Six partnerships, one open check-in each; 4 clients x 25 users over 6 check-ins = 600 (user, check-in)
    # pairs for ~400 clicks, so about a quarter of the clicks change an earlier rating.
    targets = seed(db, 6)
    with SlackStub() as stub:
        for channel, _ in targets:
            channel_with_checkin(stub, channel)
        bot = BotProcess(db, stub.url, tmp_path / "coprod.log").start()
        progress = Progress()
        stop = threading.Event()

        def kill_mid_stream() -> None:
            progress.wait_for(KILL_AFTER, timeout=30)
            bot.kill()
            stop.set()

        killer = threading.Thread(target=kill_mid_stream, daemon=True)
        killer.start()
        try:
            result = run_clicks(
                bot.port,
                targets,
                clients=4,
                users_per_client=25,
                stop=stop,
                stop_on_error=True,
                response_url=stub.response_url(""),
                progress=progress,
                timeout=10,
                max_clicks_per_client=5000,
            )
        finally:
            killer.join(35)
            bot.kill()
        assert bot.proc.returncode == -9, "coprod should have been killed mid-stream"

        acked, unanswered = result.acked, result.unanswered
        acked_clicks = sum(len(w.latencies) for w in result.workers)
        assert acked_clicks >= KILL_AFTER
        assert len(acked) < acked_clicks, "some users should have changed an acknowledged rating"
        assert result.server_errors == 0, result.statuses
        # The kill landed while clicks were on the wire: each stream ends with an unanswered click.
        assert unanswered, "no click was in flight when coprod was killed"

        problems, stored = stored_problems(db, targets, result)
        print(
            f"{acked_clicks} clicks acknowledged ({len(acked)} answers), {len(unanswered)} unanswered at the kill, "
            f"{stored} answers stored"
        )
        assert problems == [], problems[:10]
        assert len(acked) <= stored <= len(set(acked) | set(unanswered))
        store = Store.open(db)
        try:
            assert store.integrity_check() == "ok"
        finally:
            store.close()

        # Restarted on the same database, coprod serves again and a new click lands.
        again = BotProcess(db, stub.url, tmp_path / "coprod-restarted.log").start()
        try:
            assert again.healthz() == 200
            channel, checkin_id = targets[0]
            clicker = Clicker(again.port)
            status = clicker.rate("UAFTER", channel, checkin_id, 2, stub.response_url("after-restart"))
            clicker.close()
            assert status == 200
            stub_calls = stub.wait_for(
                "response_url", where=lambda c: c.args.get("_key") == "after-restart", timeout=10
            )
            assert stub_calls
        finally:
            assert again.stop() == 0, again.log()
        store = Store.open(db)
        try:
            assert store.answers.my_answer(TEAM, checkin_id, "UAFTER").rating == 2
            assert store.answers.response_count(TEAM, checkin_id) >= 1
            assert store.integrity_check() == "ok"
        finally:
            store.close()
        assert "Traceback" not in again.log_path.read_text()


@pytest.mark.parametrize("mode", MODES)
def test_acknowledged_answers_reach_the_database_file_itself_within_seconds(tmp_path, mode):
    """Commits are in the write-ahead log before the ack (they survive coprod being killed, above); what
    survives a power cut is what reached the disk, so `coprod run` checkpoints every second: a copy of the
    database file alone, without its -wal, soon holds every acknowledged answer."""
    db = tmp_path / "coprod.db"
    [(channel, cid)] = seed(db, 1)
    with coprod_with_a_checkin(db, mode, channel) as (stub, bot, client):
        for n in range(20):
            assert client.rate(f"U{n:04d}", channel, cid, 1 + n % 5, stub.response_url("flush")) == 200

        def in_the_file_alone() -> int:
            copy = tmp_path / "copy.db"
            shutil.copyfile(db, copy)  # the main file only: what a power cut would leave if the WAL were lost
            try:
                with contextlib.closing(sqlite3.connect(copy)) as conn:
                    return conn.execute("SELECT COUNT(*) FROM responses WHERE checkin_id = ?", (cid,)).fetchone()[0]
            except sqlite3.DatabaseError:  # copied while a checkpoint was writing it: look again
                return -1
            finally:
                copy.unlink(missing_ok=True)

        assert eventually(lambda: in_the_file_alone() == 20, timeout=10, interval=0.2), (
            f"the database file holds {in_the_file_alone()} of 20 acknowledged answers"
        )


@pytest.mark.parametrize("mode", MODES)
def test_a_clicks_confirmation_is_still_sent_when_coprod_is_killed_right_after_the_ack(tmp_path, mode):
    """Confirmations wait a moment (a double click gets one) in the outbox, sent by the worker: coprod killed
    outright within that moment, the person still hears their answer was saved, and the worker then ends too."""
    db = tmp_path / "coprod.db"
    [(channel, cid)] = seed(db, 1)
    with coprod_with_a_checkin(db, mode, channel) as (stub, bot, client):
        assert client.rate("U0001", channel, cid, 3, stub.response_url("warm")) == 200
        assert eventually(lambda: stub.calls_to("response_url"), timeout=10)
        assert client.rate("U0002", channel, cid, 4, stub.response_url("killed")) == 200
        bot.kill()  # within the reply's delay (REPLY_DELAY, 0.3 s)

        def confirmed() -> list:
            return [c for c in stub.calls_to("response_url") if c.args["_key"] == "killed"]

        assert eventually(confirmed, timeout=10), "the confirmation died with coprod"
        [reply] = confirmed()
        assert "4 of 5" in reply.args["text"]
        assert eventually(lambda: not helpers(db, "bot.runtime.worker"), timeout=10), "the worker outlived coprod"
