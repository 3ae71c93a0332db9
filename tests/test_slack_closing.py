"""A check-in's message shows it closed once it closes: when the next check-in is posted, or when its week runs
out (bot/domain/anonymity.py). The scheduler's tick updates the message (chat.update,
https://docs.slack.dev/reference/methods/chat.update) to the closed form a late click shows, once, and tries
again on a later tick when Slack fails."""

from __future__ import annotations

from tests.support.constants import CHANNEL
from tests.support.flows import Checkin, post_checkin, rate
from tests.support.slack_stub import Call


def shows_closed(call: Call) -> bool:
    blocks = call.json("blocks", [])
    words = " ".join(str(e.get("text", "")) for b in blocks if b["type"] == "context" for e in b["elements"])
    return "This check-in has closed" in words and not [b for b in blocks if b["type"] == "actions"]


def closing_updates(bot, checkin: Checkin) -> list[Call]:
    """The updates that showed ``checkin``'s message closed."""
    return [
        c
        for c in bot.stub.calls_to("chat.update")
        if c.args.get("ts") == checkin.ts and c.status == 200 and c.response.get("ok") and shows_closed(c)
    ]


def message_of(bot, checkin: Checkin) -> dict:
    [message] = [m for m in bot.stub.messages(CHANNEL) if m["ts"] == checkin.ts]
    return message


def test_a_checkin_closed_by_the_next_one_loses_its_buttons_once(bot):
    """Answered once, then closed by the next check-in: the tick after shows it closed with its count, and no
    later tick updates it again."""
    first = post_checkin(bot, "organisational")
    rate(bot, first.id, 4, "U2")
    bot.stub.wait_for("chat.update", where=lambda c: c.args.get("ts") == first.ts)  # the click's count update
    second = post_checkin(bot, "societal")
    bot.tick()
    [update] = closing_updates(bot, first)
    assert update.args["channel"] == CHANNEL
    assert "1 person answered" in str(update.json("blocks"))
    message = message_of(bot, first)
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert [b for b in message_of(bot, second)["blocks"] if b["type"] == "actions"], "the new one keeps its buttons"
    bot.clock.advance(minutes=5)
    bot.tick()
    assert len(closing_updates(bot, first)) == 1
    assert closing_updates(bot, second) == []


def test_a_checkin_whose_week_ran_out_is_shown_closed_by_the_scheduler(bot):
    """Nobody posted another for a week: at the week's end the tick shows the check-in closed, not before."""
    checkin = post_checkin(bot)
    bot.clock.advance(days=6, hours=23)
    bot.tick()
    assert closing_updates(bot, checkin) == []
    bot.clock.advance(hours=1)
    bot.tick()
    [update] = closing_updates(bot, checkin)
    assert "nobody answered" in str(update.json("blocks"))
    bot.clock.advance(days=1)
    bot.tick()
    assert len(closing_updates(bot, checkin)) == 1


def test_a_closing_update_slack_fails_is_tried_again_on_a_later_tick(bot):
    """Slack fails the update once: the next tick tries again and the message shows closed, once."""
    checkin = post_checkin(bot)
    bot.stub.fail("chat.update", "internal_error")
    bot.clock.advance(weeks=1)
    bot.tick()
    [failed] = bot.stub.calls_to("chat.update")
    assert failed.response["error"] == "internal_error" and closing_updates(bot, checkin) == []
    bot.clock.advance(minutes=1)
    bot.tick()
    assert len(closing_updates(bot, checkin)) == 1
    assert not [b for b in message_of(bot, checkin)["blocks"] if b["type"] == "actions"]
    bot.clock.advance(minutes=1)
    bot.tick()
    assert len(bot.stub.calls_to("chat.update")) == 2


def test_a_closed_checkin_whose_message_is_gone_is_not_tried_again(bot):
    """The message was deleted: Slack's message_not_found ends it, without retries."""
    checkin = post_checkin(bot)
    bot.stub.fail("chat.update", "message_not_found")
    bot.clock.advance(weeks=1)
    bot.tick()
    for _ in range(3):
        bot.clock.advance(minutes=1)
        bot.tick()
    assert [c.response["error"] for c in bot.stub.calls_to("chat.update")] == ["message_not_found"]
    assert closing_updates(bot, checkin) == []
