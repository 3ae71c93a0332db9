"""How requests are acknowledged: in both modes the ack is sent when the listener returns, with the write
committed, and one request waiting on the database holds up no other.

(How fast: bench/ack_bench.py, figures in BENCHMARKS.md; no timings are asserted here.)
"""

from __future__ import annotations

import sqlite3
import threading

from bot.runtime.run import Runtime
from bot.store import Store
from tests.support.constants import APP_TOKEN, TEAM
from tests.support.flows import ask, click_rating, post_checkin
from tests.support.running import Bot, make_settings
from tests.support.socket_mode_sim import SocketModeSim
from tests.support.waiting import eventually

BOB = "U2"


def _handling_a_request(bot) -> bool:
    """Whether coprod is in the middle of a request: a Socket Mode envelope on its listener pool, or an HTTP
    request on one of waitress's threads."""
    if bot.mode == "socket":
        return not bot.runtime.executor.wait_idle(0)
    return bot.runtime.server.task_dispatcher.active_count > 0


def _hold_the_write_lock(db_path: str) -> sqlite3.Connection:
    """Another process's write transaction on the database (as a backup or `coprod` CLI command would hold)."""
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def _click_in_background(bot, checkin_id: int, rating: int, user: str) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("reply", click_rating(bot, checkin_id, rating, user)), daemon=True
    )
    thread.start()
    return thread, result


def test_the_ack_is_sent_as_the_listener_returns_in_both_modes(bot):
    """Bolt's default in Socket Mode runs a listener on another thread and polls for its ack every 10 ms
    (about 11 ms per ack for about 1 ms of work); coprod acks as the listener returns in both modes, as a
    bare Bolt app does at its fastest. In Socket Mode each envelope is handled on coprod's listener pool."""
    assert bot.runtime.app.process_before_response
    if bot.mode == "socket":
        assert bot.runtime.socket_handler.client.message_workers is bot.runtime.executor


def test_a_click_waiting_on_the_database_holds_up_no_other_request(bot):
    """With the ack sent only when a listener returns (both modes), a listener that waits (here on another
    process's write lock) holds its own thread only: a command sent meanwhile is answered at once."""
    checkin = post_checkin(bot)
    bot.drain()
    blocker = _hold_the_write_lock(bot.runtime.settings.db_path)
    try:
        thread, result = _click_in_background(bot, checkin.id, 4, BOB)
        assert eventually(lambda: _handling_a_request(bot))  # the click is in its listener, waiting to write

        answer = ask(bot, "help")  # answered inside its ack, needing no write

        assert answer["_via"] == "ack" and answer["text"] == "Here's what I can do."
        assert thread.is_alive() and "reply" not in result  # the click still waits for the lock
    finally:
        blocker.rollback()
        blocker.close()
    thread.join(10)
    assert result["reply"].status == 200  # acknowledged once its answer was committed
    assert bot.store.answers.my_answer(TEAM, checkin.id, BOB).rating == 4


def test_stopping_in_socket_mode_lets_an_envelope_being_handled_finish_first(tmp_path, stub, clock, socket_endpoint):
    """Socket Mode envelopes are handled on coprod's listener pool, so stopping waits for one in the middle of
    its listener: its answer is committed and its reply sent before the store and the follow-ups close."""
    settings = make_settings(tmp_path, stub, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET="")
    runtime = Runtime(settings, clock=clock)
    runtime.start_socket_mode()
    socket_endpoint.wait_connected()
    bot = Bot(runtime, SocketModeSim(socket_endpoint, triggers=stub.trigger), stub, clock, "socket")
    stopper = None
    try:
        checkin = post_checkin(bot)
        bot.drain()
        blocker = _hold_the_write_lock(settings.db_path)
        try:
            clicker, _ = _click_in_background(bot, checkin.id, 5, BOB)
            assert eventually(lambda: _handling_a_request(bot))
            with socket_endpoint.pinging():
                stopper = threading.Thread(target=runtime.stop, daemon=True)
                stopper.start()
                stopper.join(0.5)
                assert stopper.is_alive()  # waiting for the envelope's listener
        finally:
            blocker.rollback()
            blocker.close()
        with socket_endpoint.pinging():
            stopper.join(15)
        assert not stopper.is_alive()
        clicker.join(10)
    finally:
        if stopper is None:
            with socket_endpoint.pinging():
                runtime.stop()

    store = Store.open(settings.db_path)
    try:
        assert store.answers.my_answer(TEAM, checkin.id, BOB).rating == 5
    finally:
        store.close()
    replies = [c for c in stub.calls_to("response_url") if c.args.get("_key") == f"rate-{BOB}"]
    assert len(replies) == 1  # the reply to the click went out as the follow-ups closed
