"""The gentle reminder to those who haven't answered a check-in (`/coprod nudge 48`), through the scheduler's
tick and signed Slack requests (both modes): once per person, anonymous answers count as answered, a rating
from the reminder is a rating like any other, "don't remind me" is one click, and nobody learns anything
about anyone else."""

from __future__ import annotations

import json

from tests.support.blockkit import check_message_blocks, texts_in
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, configure, listings, post_checkin, rate, replies_to, submit_comment
from tests.support.stored import rows

SETUP = "schedule checkins weekly Tuesday 10:00"


def nudges(bot) -> list:
    """The reminders sent so far: direct messages carrying a check-in's ``nudge:`` buttons."""
    return [c for c in bot.stub.calls_to("chat.postMessage") if '"nudge:' in json.dumps(c.json("blocks", []))]


def nudged(bot) -> list[str]:
    return sorted(c.args["channel"] for c in nudges(bot))


def click_from_nudge(bot, checkin_id: int, rating: int, user: str, key: str):
    return bot.slack.click(
        f"rate:{rating}",
        str(rating),
        block_id=f"nudge:{checkin_id}",
        user=user,
        channel=f"D{user}",
        response_url=bot.stub.response_url(key),
    )


def test_nudges_are_off_by_default(bot):
    configure(bot, SETUP)
    post_checkin(bot)
    bot.clock.advance(days=3)
    bot.tick()
    assert nudges(bot) == []


def test_only_coordinators_set_nudges_and_bad_hours_are_named(bot):
    configure(bot, SETUP)
    assert "only coordinators can change reminders" in configure(bot, "nudge 48", user="U2")
    for typed in ("nudge 0", "nudge 200", "nudge soon", "nudge"):
        assert "/coprod nudge" in configure(bot, typed) or "number of hours" in configure(bot, typed)
    assert bot.store.partnerships.get(TEAM, CHANNEL).nudge_hours is None
    assert "one private reminder" in configure(bot, "nudge 48h")
    assert bot.store.partnerships.get(TEAM, CHANNEL).nudge_hours == 48
    assert "no more reminders" in configure(bot, "nudge off")
    assert bot.store.partnerships.get(TEAM, CHANNEL).nudge_hours is None


def test_each_member_who_has_not_answered_is_reminded_once_and_anonymous_answers_count(bot):
    """U2 answered by name and U3 anonymously: 48 hours on, the coordinator, U4 and the admin are reminded,
    each once, privately; the bot is not; and nothing is said in the channel."""
    configure(bot, SETUP)
    checkin = post_checkin(bot).id
    rate(bot, checkin, 4, "U2")
    assert submit_comment(bot, checkin, "U3", 2, "quietly", anonymous=True).status == 200
    configure(bot, "nudge 48")
    bot.clock.advance(hours=47, minutes=59)
    bot.tick()
    assert nudges(bot) == []
    in_channel = len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL])
    looked_up = len(bot.stub.calls_to("users.info"))
    bot.clock.advance(minutes=1)
    assert [(f.kind, f.status) for f in bot.tick()] == [(f"nudge:{checkin}", "posted")]
    assert nudged(bot) == sorted([COORDINATOR, "U4", ADMIN])
    # Who is a person came from one listing of the workspace, not a look-up per member.
    assert len(bot.stub.calls_to("users.info")) == looked_up
    assert listings(bot.stub, "users.list") == 1
    for minutes in (1, 60, 60 * 24):
        bot.clock.advance(minutes=minutes)
        bot.tick()
    assert nudged(bot) == sorted([COORDINATOR, "U4", ADMIN])
    assert len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]) == in_channel
    # What a reminder says: the question, its buttons, and nothing about anyone else.
    blocks = nudges(bot)[0].json("blocks")
    check_message_blocks(blocks)
    said = "\n".join(texts_in(blocks))
    assert "answer here or in the channel" in said and "Don't remind me" in said
    assert "<@" not in said and "so far" not in said and "people" not in said  # no one named, nothing counted
    # The database keeps who was reminded by keyed hash only.
    assert not [r for r in rows(bot.store.path, "SELECT * FROM nudges") if any(u in str(r) for u in ("U1", "U4"))]
    assert bot.store.nudges.sent(TEAM, checkin) == 3


def test_a_rating_from_the_reminder_is_recorded_and_counted_in_the_channel(bot):
    configure(bot, SETUP)
    checkin = post_checkin(bot)
    configure(bot, "nudge 24")
    bot.clock.advance(hours=24)
    bot.tick()
    assert click_from_nudge(bot, checkin.id, 4, "U4", "from-dm").status == 200
    assert bot.store.answers.my_answer(TEAM, checkin.id, "U4").rating == 4
    [thanks] = replies_to(bot, "from-dm")
    assert "Thank you! I recorded your answer" in thanks.args["text"]
    bot.drain()
    [update] = [c for c in bot.stub.calls_to("chat.update") if c.args.get("ts") == checkin.ts][-1:]
    assert update.args["channel"] == CHANNEL and "1 answer so far" in json.dumps(update.json("blocks"))


def test_a_reminder_rating_from_someone_coprod_did_not_remind_stores_nothing(bot):
    """The reminder's buttons work only for the person coprod reminded about that check-in: U2, who answered
    (so wasn't reminded), can't change their answer through a made-up reminder click; nor can another
    workspace's person."""
    configure(bot, SETUP)
    checkin = post_checkin(bot).id
    rate(bot, checkin, 4, "U2")
    configure(bot, "nudge 24")
    bot.clock.advance(hours=24)
    bot.tick()
    assert click_from_nudge(bot, checkin, 1, "U2", "forged").status == 200
    assert (
        bot.slack.click("rate:1", "1", block_id=f"nudge:{checkin}", user="U4", team="T2", channel="DU4").status == 200
    )
    bot.drain()
    assert bot.store.answers.my_answer(TEAM, checkin, "U2").rating == 4
    assert bot.store.answers.response_count(TEAM, checkin) == 1


def test_a_reminder_clicked_after_the_check_in_closed_is_refused_kindly(bot):
    configure(bot, SETUP)
    checkin = post_checkin(bot).id
    configure(bot, "nudge 24")
    bot.clock.advance(hours=24)
    bot.tick()
    bot.clock.advance(days=7)
    assert click_from_nudge(bot, checkin, 3, "U4", "late").status == 200
    [told] = replies_to(bot, "late")
    assert "closed on" in told.args["text"]
    assert bot.store.answers.my_answer(TEAM, checkin, "U4") is None


def test_dont_remind_me_is_one_click_and_forget_me_clears_it(bot):
    """The admin says "don't remind me": the next check-in reminds the others only. After forget-me, the admin
    is reminded again (forget-me clears the setting, as it does reflection opt-outs)."""
    configure(bot, SETUP)
    configure(bot, "nudge 24")
    first = post_checkin(bot).id
    bot.clock.advance(hours=24)
    bot.tick()
    reply = bot.slack.click(
        "nudge_off", CHANNEL, user=ADMIN, channel=f"D{ADMIN}", response_url=bot.stub.response_url("stop")
    )
    assert reply.status == 200
    [done] = replies_to(bot, "stop")
    assert "I won't remind you" in done.args["text"] and done.args["replace_original"] is True
    check_message_blocks(
        json.loads(done.args["blocks"]) if isinstance(done.args["blocks"], str) else done.args["blocks"]
    )

    second = post_checkin(bot).id
    bot.clock.advance(hours=24)
    bot.tick()
    assert sorted(
        c.args["channel"] for c in nudges(bot) if f"nudge:{second}" in json.dumps(c.json("blocks"))
    ) == sorted([COORDINATOR, "U2", "U3", "U4"])

    ask(bot, "forget-me", user=ADMIN)
    bot.slack.click(
        "forget_me_confirm", "confirm", user=ADMIN, is_ephemeral=True, response_url=bot.stub.response_url("f")
    )
    [forgotten] = replies_to(bot, "f")
    assert "1 reminder setting" in forgotten.args["text"]
    third = post_checkin(bot).id
    bot.clock.advance(hours=24)
    bot.tick()
    assert ADMIN in [c.args["channel"] for c in nudges(bot) if f"nudge:{third}" in json.dumps(c.json("blocks"))]
    assert first != second != third


def test_reminders_wait_while_coprod_is_paused_for_a_holiday(bot):
    configure(bot, SETUP)
    configure(bot, "nudge 24")
    post_checkin(bot)
    configure(bot, "pause until 2026-11-26")
    bot.clock.advance(hours=24)
    bot.tick()
    assert nudges(bot) == []
    bot.clock.now = bot.clock.now.replace(day=26, hour=0, minute=0)
    bot.tick()
    assert len(nudges(bot)) == 5  # the four members and the admin; nobody had answered
