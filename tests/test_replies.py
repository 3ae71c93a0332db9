"""The reply sender (bot/runtime/replies.py) as its process runs it: lines in, replies out to a response_url on the
stand-in for Slack. The whole path (a click in either Slack mode, its confirmation from the sender's own
process) is in tests/test_slack_checkins.py and tests/test_durability.py."""

from __future__ import annotations

import io
import json
import logging
import time

from bot.runtime.replies import serve
from tests.support.slack_stub import SlackStub


def line(**message: object) -> bytes:
    return (json.dumps(message) + "\n").encode()


def reply(stub: SlackStub, key: str, text: str, order: int, delay: float = 0.2) -> bytes:
    url = stub.response_url(key)
    body = {"text": text, "response_type": "ephemeral", "replace_original": False}
    return line(key=key, url=url, body=body, delay=delay, order=order, team="T1", channel="C1")


def test_of_two_replies_to_one_key_the_one_confirming_the_later_answer_is_sent_whatever_order_they_came_in():
    """Two clicks stored 2 then 5 may reach the sender 5 then 2: the person hears 5, once."""
    with SlackStub() as stub:
        out = io.BytesIO()
        serve(io.BytesIO(reply(stub, "u2", "five", order=8) + reply(stub, "u2", "two", order=7)), out)
        time.sleep(0.3)  # past any delay: nothing else trails behind
        assert [c.args["text"] for c in stub.calls_to("response_url")] == ["five"]


def test_a_drain_sends_waiting_replies_at_once_and_says_so():
    with SlackStub() as stub:
        out = io.BytesIO()
        began = time.monotonic()
        serve(io.BytesIO(reply(stub, "a", "one", order=1, delay=60) + line(drain=3)), out)
        assert out.getvalue() == b"drained 3\n"
        assert [c.args["text"] for c in stub.calls_to("response_url")] == ["one"]
        assert time.monotonic() - began < 30  # not held for its 60 s delay


def test_a_line_that_is_not_json_is_logged_and_the_rest_are_still_sent(caplog):
    with SlackStub() as stub, caplog.at_level(logging.ERROR, logger="bot.runtime.replies"):
        serve(io.BytesIO(b"{not json\n" + reply(stub, "b", "kept", order=1, delay=0)), io.BytesIO())
        assert [c.args["text"] for c in stub.calls_to("response_url")] == ["kept"]
        assert "not JSON" in caplog.text


def test_a_reply_slack_refuses_is_logged_with_its_workspace_and_channel(caplog):
    with SlackStub() as stub, caplog.at_level(logging.WARNING, logger="bot.runtime.replies"):
        refused = line(key="c", url=f"{stub.base}nowhere", body={"text": "x"}, delay=0, team="T9", channel="C9")
        serve(io.BytesIO(refused), io.BytesIO())
        assert "could not confirm a click for team T9 channel C9: Slack answered HTTP 404" in caplog.text
