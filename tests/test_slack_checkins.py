"""Check-ins end to end: slash command, the posted message, rating clicks and the comment modal."""

from __future__ import annotations

from conftest import CHANNEL, COORDINATOR, TEAM


def test_checkin_command_posts_a_checkin_with_five_ratings(bot):
    """`/coprod checkin` posts the level, the paper's words, a question and buttons valued 1..5."""
    reply = bot.command("checkin")
    assert reply.status == 200
    call = bot.stub.wait_for("chat.postMessage")[0]
    blocks = call.json("blocks")
    values = [e.get("value") for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert values[:5] == ["1", "2", "3", "4", "5"]
    assert "Individual" in blocks[0]["text"]["text"]
    assert call.args["text"]


def test_rating_click_records_answer_before_ack(bot):
    """A click is stored by the time Slack gets its acknowledgement."""
    bot.command("checkin")
    call = bot.stub.wait_for("chat.postMessage")[0]
    block_id = [b for b in call.json("blocks") if b["type"] == "actions"][0]["block_id"]
    reply = bot.slack.click("rate:4", "4", block_id=block_id, user="U2", response_url=bot.stub.response_url("r2"))
    assert reply.status == 200
    checkin_id = int(block_id.split(":")[1])
    assert bot.store.response_count(TEAM, checkin_id) == 1
    confirm = bot.stub.wait_for("response_url")[0]
    assert "4 of 5" in confirm.args["text"]
    update = bot.stub.wait_for("chat.update")[0]
    assert "1 answer so far" in str(update.json("blocks"))
    assert CHANNEL and COORDINATOR
