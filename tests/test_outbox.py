"""The outbox (bot/store/outbox.py) and its sender (bot/runtime/sender.py), on a real database file and the
stand-in for Slack. The whole path (a click in either Slack mode, its confirmation from the worker) is in
tests/test_slack_checkins.py, tests/test_durability.py and tests/test_worker.py."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing

from bot.runtime.sender import OutboxSender
from bot.slack.client import web_client
from bot.store import Store
from bot.store.outbox import CALL, REPLY, Reply
from tests.support.constants import BOT_TOKEN
from tests.support.slack_stub import SlackStub

TEAM, CHANNEL = "T1", "C1"


def put_reply(store: Store, stub: SlackStub, key: str, text: str, hook: str, delay: float = 0.0) -> None:
    body = {"text": text, "response_type": "ephemeral", "replace_original": False}
    with store.db.write() as conn:
        store.outbox.put_reply(conn, key, TEAM, Reply(stub.response_url(hook), body, CHANNEL, delay))


def test_of_two_replies_to_one_key_the_one_committed_last_is_sent_once(tmp_path):
    """A double click's two confirmations wait under one key: the person hears the later, once."""
    store = Store.open(tmp_path / "c.db")
    with SlackStub() as stub:
        put_reply(store, stub, "reply:x", "two", "first", delay=60)
        put_reply(store, stub, "reply:x", "five", "second", delay=0)
        sender = OutboxSender(store, lambda team: None)
        sender.start()
        try:
            [sent] = stub.wait_for("response_url", timeout=10)
            assert sent.args["text"] == "five"
            assert sender.drain(10)
            assert [c.args["text"] for c in stub.calls_to("response_url")] == ["five"]
            assert store.outbox.waiting() == 0
        finally:
            sender.close(1.0)
            store.close()


def test_a_drain_sends_waiting_replies_at_once(tmp_path):
    store = Store.open(tmp_path / "c.db")
    with SlackStub() as stub:
        put_reply(store, stub, "reply:a", "one", "a", delay=3600)
        sender = OutboxSender(store, lambda team: None)
        sender.start()
        try:
            assert sender.drain(10)
            assert [c.args["text"] for c in stub.calls_to("response_url")] == ["one"]
        finally:
            sender.close(1.0)
            store.close()


def test_a_reply_left_by_a_stopped_worker_is_sent_by_the_next(tmp_path):
    """A reply survives a restart: it waits in the database until a sender starts."""
    db = tmp_path / "c.db"
    store = Store.open(db)
    with SlackStub() as stub:
        put_reply(store, stub, "reply:b", "kept", "b")
        store.close()
        again = Store.open(db)
        sender = OutboxSender(again, lambda team: None)
        sender.start()
        try:
            [sent] = stub.wait_for("response_url", timeout=10)
            assert sent.args["text"] == "kept"
        finally:
            sender.close(1.0)
            again.close()


def test_a_web_api_call_is_made_with_the_workspaces_own_client(tmp_path):
    store = Store.open(tmp_path / "c.db")
    with SlackStub() as stub:
        stub.add_channel(CHANNEL, ["UBOT"], name="study")
        ts = "1700000000.000100"
        stub.workspace.add_message(CHANNEL, stub.api.bot_message({"text": "A check-in"}, ts))
        asked = []

        def client_for(team: str):
            asked.append(team)
            return web_client(stub.url, BOT_TOKEN)

        store.outbox.put(
            "count:T1:1",
            team=TEAM,
            channel=CHANNEL,
            kind=CALL,
            target="chat.update",
            body={"channel": CHANNEL, "ts": ts, "text": "3 answers"},
            due=time.time(),
        )
        sender = OutboxSender(store, client_for)
        sender.start()
        try:
            [call] = stub.wait_for("chat.update", timeout=10)
            assert call.args["text"] == "3 answers" and asked == [TEAM]
        finally:
            sender.close(1.0)
            store.close()


def test_a_reply_slack_refuses_is_logged_with_its_workspace_and_channel(tmp_path, caplog):
    store = Store.open(tmp_path / "c.db")
    with SlackStub() as stub, caplog.at_level(logging.WARNING, logger="bot.runtime.sender"):
        with store.db.write() as conn:
            store.outbox.put_reply(conn, "reply:c", TEAM, Reply(f"{stub.base}nowhere", {"text": "x"}, "C9", 0))
        sender = OutboxSender(store, lambda team: None)
        sender.start()
        try:
            assert sender.drain(10)
            assert "could not confirm a click for team T1 channel C9: Slack answered HTTP 404" in caplog.text
            assert store.outbox.waiting() == 0  # not tried again
        finally:
            sender.close(1.0)
            store.close()


def test_nothing_in_the_outbox_names_who_answered(tmp_path):
    """A copy of the database taken while a confirmation waits holds no user id: its key is the answer's
    keyed label, and its text names nobody."""
    db = tmp_path / "c.db"
    store = Store.open(db)
    try:
        now = int(time.time())
        p = store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="UCOORD", now=now - 60)
        cid = store.checkins.record_checkin(
            p, facilitator_id="shared-ownership", level_id="group", asked_at=now - 60, message_ts="1.000100"
        )
        for user, anonymous in (("UNAMED01", False), ("UANON002", True)):
            store.answers.record_response(
                TEAM,
                cid,
                user,
                rating=4,
                now=now,
                anonymous=anonymous,
                reply=lambda answer: Reply("https://hooks.example/1", {"text": f"saved {answer.rating}"}, CHANNEL, 60),
            )
    finally:
        store.close()
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT * FROM outbox").fetchall()
    assert len(rows) == 2 and all(row[3] == REPLY for row in rows)
    assert not [row for row in rows if any("UNAMED01" in str(v) or "UANON002" in str(v) for v in row)], rows


def test_a_call_slack_rate_limits_waits_in_the_outbox_and_holds_up_no_reply(tmp_path):
    """A 429 to a count update is not slept through on a sending thread: the row waits for Slack's Retry-After
    while a confirmation put meanwhile goes out, and then the update is made once."""
    store = Store.open(tmp_path / "c.db")
    with SlackStub() as stub:
        stub.add_channel(CHANNEL, ["UBOT"], name="study")
        ts = "1700000000.000100"
        stub.workspace.add_message(CHANNEL, stub.api.bot_message({"text": "A check-in"}, ts))
        stub.rate_limit("chat.update", retry_after=2)
        sender = OutboxSender(store, lambda team: web_client(stub.url, BOT_TOKEN))
        sender.start()
        try:
            body = {"channel": CHANNEL, "ts": ts, "text": "3 answers"}
            store.outbox.put(
                "count:T1:1", team=TEAM, channel=CHANNEL, kind=CALL, target="chat.update", body=body, due=0
            )
            stub.wait_for("chat.update", timeout=10, where=lambda c: c.status == 429)
            put_reply(store, stub, "reply:d", "thanks", "d")
            [reply] = stub.wait_for("response_url", timeout=10)
            assert store.outbox.waiting() >= 1 and not [c for c in stub.calls_to("chat.update") if c.status == 200]
            [made] = stub.wait_for("chat.update", timeout=10, where=lambda c: c.status == 200)
            assert made.args["text"] == "3 answers"
            assert sender.drain(10) and store.outbox.waiting() == 0
        finally:
            sender.close(1.0)
            store.close()
