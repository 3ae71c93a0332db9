"""The HTTP endpoint under pressure (issue 8): slow clients can't crowd Slack out, and /healthz tells the truth.

Slow clients are real connections from this machine (tests/support/slow_clients.py) held against coprod's
real server; how long a click then takes is measured in bench/slowloris_bench.py, not asserted here.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import urllib.error
import urllib.request

from bot.slack.server import make_server
from tests.support.constants import TEAM
from tests.support.flows import click_rating, post_checkin
from tests.support.slow_clients import REQUEST_LINE, SlowClients
from tests.support.waiting import eventually


def get(port: int, path: str) -> tuple[int, str]:
    """GET ``path`` on a new connection; (status, body) for any status."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode()


# ---- slow clients --------------------------------------------------------------------------------


def test_a_click_and_healthz_are_answered_while_300_slow_connections_are_held_open(http_bot):
    """Issue 8: 110 connections that never finished their headers filled the server's connection limit, and
    signed clicks and /healthz timed out until they left. With 300 held open from this one address (half
    idle, half trickling header bytes), a new connection's click is answered and stored, and /healthz is ok."""
    bot = http_bot
    checkin_id = post_checkin(bot).id
    port = bot.runtime.port
    with SlowClients(port, count=300, every=0.5) as slow:
        eventually(lambda: len(bot.runtime.server.active_channels) >= 300, timeout=10)
        reply = click_rating(bot, checkin_id, 4, "U2")  # a new connection, as Slack's may be; 10 s to answer
        assert reply.status == 200
        assert bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating == 4
        assert get(port, "/healthz") == (200, "ok\n")
        assert slow.open == 300


def _serve(request_deadline: float):
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]

    server = make_server(hello, host="127.0.0.1", port=0, request_deadline=request_deadline)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def test_a_connection_that_never_finishes_its_request_is_closed_after_the_deadline():
    """A client that keeps sending a header byte is never idle, so an idle timeout never closes it; the
    request deadline does, and a whole request on another connection is answered meanwhile."""
    server = _serve(request_deadline=1)
    port = int(server.socket.getsockname()[1])
    try:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(REQUEST_LINE)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.2):
                try:
                    slow.sendall(b"X")
                except OSError:
                    return

        threading.Thread(target=trickle, daemon=True).start()
        try:
            assert get(port, "/") == (200, "ok\n")
            assert slow.recv(100) == b"", "the server never closed the trickling connection"
        finally:
            stop.set()
            slow.close()
    finally:
        server.close()


# ---- /healthz --------------------------------------------------------------------------------------


def test_healthz_is_503_while_the_database_cannot_be_written(http_bot):
    """Issue 8: /healthz said ok while the database could not be written, because it only read. It now writes
    (one row, replaced), so while another process holds the write lock it answers 503 and says why, and ok
    again once the lock is gone."""
    bot = http_bot
    port = bot.runtime.port
    assert get(port, "/healthz") == (200, "ok\n")
    other = sqlite3.connect(bot.store.path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # what another process writing the file, or stuck writing it, holds
        status, text = eventually(lambda: (answer := get(port, "/healthz"))[0] == 503 and answer, timeout=20)
        assert status == 503
        assert text == "the database cannot be written: database is locked\n"
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert eventually(lambda: get(port, "/healthz") == (200, "ok\n"), timeout=20)


def test_healthz_writes_one_row_however_often_it_is_asked(http_bot):
    """The write that proves the database writable replaces one row: the file doesn't grow with each check."""
    bot = http_bot
    port = bot.runtime.port
    for _ in range(3):
        assert get(port, "/healthz") == (200, "ok\n")
    with sqlite3.connect(f"file:{bot.store.path}?mode=ro", uri=True) as conn:
        [(count,)] = conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'health_checked_at'").fetchall()
    assert count == 1
