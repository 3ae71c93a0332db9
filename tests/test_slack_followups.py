"""An action's follow-up on its due date, what the scheduled summary says of actions, and before-and-after,
through the scheduler's tick and signed Slack requests (both modes).

The partnership is in Europe/London (the coordinator's timezone) with check-ins on Tuesdays at 10:00, so a
follow-up comes at 10:00 London time: 10:00 UTC in winter, 09:00 UTC in summer.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bot.runtime.run import Runtime
from tests.support.blockkit import check_message_blocks, checkin_id_of, checkin_posts, summary_posts, texts_in
from tests.support.constants import CHANNEL, TEAM
from tests.support.flows import ask, change_action, configure, plan, post_checkin, rate, replies_to
from tests.support.running import make_settings

SETUP = "schedule checkins weekly Tuesday 10:00"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def follow_ups(bot, to: str) -> list:
    """The due-date follow-ups sent to ``to`` (a person's DM, or the channel)."""
    return [
        c
        for c in bot.stub.calls_to("chat.postMessage")
        if c.args.get("channel") == to and "action_later" in str(c.args.get("blocks", ""))
    ]


def kinds(fired) -> list[tuple[str, str]]:
    return [(f.kind.split(":")[0], f.status) for f in fired]


def test_the_follow_up_reaches_the_lead_at_the_check_in_hour_once(bot):
    """Due Thursday 26 November: nothing at 09:59, a direct message to the lead at 10:00 with Done, Not yet and
    Drop, and nothing more however often the scheduler ticks."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2", due="2026-11-26")
    bot.clock.now = utc(2026, 11, 26, 9, 59)
    bot.tick()
    assert follow_ups(bot, "U2") == []
    bot.clock.now = utc(2026, 11, 26, 10, 0)
    assert kinds(bot.tick()) == [("action", "posted")]
    [dm] = follow_ups(bot, "U2")
    check_message_blocks(dm.json("blocks"))
    said = "\n".join(texts_in(dm.json("blocks")))
    assert "You planned to try *Take turns chairing our meetings* by today" in said and "How did it go?" in said
    assert [e[0] for e in bot.store.plans.events(TEAM, action)] == ["planned", "reminded"]
    for minutes in (1, 30, 60 * 24):
        bot.clock.advance(minutes=minutes)
        assert [f for f in bot.tick() if f.kind.startswith("action")] == []
    assert len(follow_ups(bot, "U2")) == 1


def test_with_no_lead_the_follow_up_is_posted_in_the_channel_once(bot):
    configure(bot, SETUP)
    plan(bot, "U3", due="2026-11-26")
    bot.clock.now = utc(2026, 11, 26, 10, 0)
    bot.tick()
    [post] = follow_ups(bot, CHANNEL)
    assert "Hello team! We planned to try" in "\n".join(texts_in(post.json("blocks")))
    assert post.json("metadata")["event_payload"]["claim"].split("/")[1].startswith("action:")
    bot.clock.advance(minutes=11)
    bot.tick()
    assert len(follow_ups(bot, CHANNEL)) == 1


def test_not_yet_moves_the_follow_up_across_the_change_to_summer_time(bot):
    """Due Friday 26 March 2027 (GMT): the follow-up comes at 10:00 UTC. The lead picks Friday 2 April (BST)
    from "Not yet": the next follow-up comes at 10:00 London time, which is 09:00 UTC, once."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2", due="2027-03-26")
    bot.clock.now = utc(2027, 3, 26, 9, 59)
    bot.tick()
    assert follow_ups(bot, "U2") == []
    bot.clock.now = utc(2027, 3, 26, 10, 0)
    bot.tick()
    assert len(follow_ups(bot, "U2")) == 1

    key = "not-yet"
    reply = change_action(
        bot, action, "later", "U2", date="2027-04-02", channel="DU2", response_url=bot.stub.response_url(key)
    )
    assert reply.status == 200 and bot.store.plans.get(TEAM, action).due_on.isoformat() == "2027-04-02"
    [thanks] = replies_to(bot, key)
    assert "I'll check in again on 2 April" in thanks.args["text"] and thanks.args["replace_original"] is True

    bot.clock.now = utc(2027, 4, 2, 8, 59)
    bot.tick()
    assert len(follow_ups(bot, "U2")) == 1
    bot.clock.now = utc(2027, 4, 2, 9, 0)
    assert kinds(bot.tick()) == [("action", "posted")]
    bot.clock.advance(hours=1)
    bot.tick()
    assert len(follow_ups(bot, "U2")) == 2
    assert [e[0] for e in bot.store.plans.events(TEAM, action)] == ["planned", "reminded", "not yet", "reminded"]


def test_a_date_gone_by_is_not_a_new_date(bot):
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2", due="2026-11-26")
    reply = change_action(
        bot, action, "later", "U2", date="2026-11-24", channel="DU2", response_url=bot.stub.response_url("past")
    )
    assert reply.status == 200
    [told] = replies_to(bot, "past")
    assert "after today" in told.args["text"]
    assert bot.store.plans.get(TEAM, action).due_on.isoformat() == "2026-11-26"


def test_a_follow_up_due_while_coprod_was_down_is_sent_once_after_a_restart(bot, tmp_path, stub, clock):
    """coprod is down from before the due time until the next afternoon: the restarted process sends the
    follow-up, late, once; neither it nor the first process sends it again."""
    configure(bot, SETUP)
    plan(bot, "U3", lead="U2", due="2026-11-26")
    clock.now = utc(2026, 11, 27, 15, 0)  # no tick since Tuesday: a day and five hours late
    restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
    try:
        assert ("action", "posted") in kinds(restarted.dispatcher.tick())
        assert [f for f in restarted.dispatcher.tick() if f.kind.startswith("action")] == []
    finally:
        restarted.stop()
    assert [f for f in bot.tick() if f.kind.startswith("action")] == []
    assert len(follow_ups(bot, "U2")) == 1


def test_a_follow_up_whose_process_died_mid_post_is_in_the_channel_once(bot, tmp_path, stub, clock):
    """Slack took the channel's follow-up but the process died before it heard: ten minutes on, the restarted
    process takes the claim up again, finds the post in the channel's history, and posts nothing."""
    configure(bot, SETUP)
    plan(bot, "U3", due="2026-11-26")
    answer = stub.hold("chat.postMessage", accepted=True, channel=CHANNEL)
    clock.now = utc(2026, 11, 26, 10, 0)
    dying = threading.Thread(target=bot.tick)
    dying.start()
    try:
        stub.wait_for("chat.postMessage", where=lambda c: "action_later" in str(c.args.get("blocks", "")))
        clock.advance(minutes=11)
        restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
        try:
            assert ("action", "posted") in kinds(restarted.dispatcher.tick())
        finally:
            restarted.stop()
    finally:
        answer.set()
        dying.join(15)
    assert len(follow_ups(bot, CHANNEL)) == 1
    assert len([m for m in stub.messages(CHANNEL) if "action_later" in str(m.get("blocks"))]) == 1


def test_a_holiday_pause_holds_the_follow_up_until_it_ends(bot):
    """Paused until Saturday: Thursday's follow-up waits, and goes out once when the pause ends."""
    configure(bot, SETUP)
    plan(bot, "U3", lead="U2", due="2026-11-26")
    configure(bot, "pause until 2026-11-28")
    bot.clock.now = utc(2026, 11, 26, 10, 0)
    bot.tick()
    bot.clock.now = utc(2026, 11, 27, 23, 59)
    bot.tick()
    assert follow_ups(bot, "U2") == []
    bot.clock.now = utc(2026, 11, 28, 0, 0)  # midnight in London
    bot.tick()
    bot.clock.advance(hours=1)
    bot.tick()
    assert len(follow_ups(bot, "U2")) == 1


def test_actions_past_their_date_are_listed_once_in_the_next_scheduled_summary(bot):
    """An action still open after its date is listed in the next scheduled summary, and not in the one after."""
    configure(bot, SETUP)
    configure(bot, "schedule summary weekly Friday 15:00")
    plan(bot, "U3", lead="U2", due="2026-11-25")
    bot.clock.now = utc(2026, 11, 27, 15, 0)
    bot.tick()
    bot.clock.now = utc(2026, 12, 4, 15, 0)
    bot.tick()
    first, second = summary_posts(bot.stub)
    assert "Past their date" in "\n".join(texts_in(first.json("blocks")))
    assert "Past their date" not in "\n".join(texts_in(second.json("blocks")))
    assert "1 action in progress" in "\n".join(texts_in(second.json("blocks")))
    check_message_blocks(first.json("blocks"))


def test_a_done_actions_practice_is_asked_next_and_the_summary_compares_before_and_after(bot):
    """Three people rate "power imbalances" 2, 2 and 3. U3 plans an action for it, U2 marks it done: the next
    scheduled check-in asks that practice. Until it closes the summary says there aren't enough answers yet
    to compare; once closed with three answers (4, 4, 3) it shows 2.3 → 3.7."""
    configure(bot, SETUP)
    before = post_checkin(bot, "power-imbalances").id
    for user, rating in (("U2", 2), ("U3", 2), ("U4", 3)):
        rate(bot, before, rating, user)
    bot.clock.advance(minutes=5)
    action = plan(bot, "U3", value=f"{CHANNEL}|level:group", practice="power-imbalances", lead="U2")
    bot.clock.advance(minutes=5)
    assert change_action(bot, action, "done", "U2", response_url=bot.stub.response_url("done")).status == 200
    bot.clock.now = utc(2026, 11, 24, 10, 0)
    assert ("checkins", "posted") in kinds(bot.tick())
    after = checkin_id_of(checkin_posts(bot.stub)[-1])
    assert bot.store.checkins.checkin(TEAM, after).facilitator_id == "power-imbalances"
    shown = "\n".join(texts_in(ask(bot, "summary")["blocks"]))
    assert "*Take turns chairing our meetings*: not enough answers yet to compare" in shown

    for user, rating in (("U2", 4), ("U3", 4), ("U4", 3)):
        rate(bot, after, rating, user)
    assert "not enough answers yet to compare" in "\n".join(texts_in(ask(bot, "summary")["blocks"]))  # still open
    bot.clock.advance(days=7)
    shown = "\n".join(texts_in(ask(bot, "summary")["blocks"]))
    assert "2.3 → 3.7 after *Take turns chairing our meetings*" in shown
