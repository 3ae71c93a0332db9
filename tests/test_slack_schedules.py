"""Schedules firing: check-ins, summaries, meeting reminders and reflection prompts, each posted once.

The dispatcher is ticked by hand with the injected clock (``bot.tick()``), except in the last test,
where the real APScheduler drives it.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.render.messages import escape
from bot.runtime.run import Runtime
from tests.support.blockkit import block_id_of, blocks_json, checkin_id_of, checkin_posts, summary_posts, valid_blocks
from tests.support.clock import stamp
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, MEMBERS, MODES, START, TEAM
from tests.support.flows import configure, open_comment_form, post_checkin, submit_comment
from tests.support.running import make_settings, running_bot
from tests.support.stored import stored_answers
from tests.support.waiting import eventually

TUESDAY_10 = START + timedelta(hours=1)
LEVELS = ["individual", "group", "organisational", "societal", "paradigmatic"]


def to(channel: str):
    return lambda c: c.args.get("channel") == channel


# ---- check-ins -----------------------------------------------------------------------------------


def test_scheduled_checkin_posts_once_at_its_time(bot):
    """Nothing before 10:00; at 10:00 exactly one check-in; ticking again posts no duplicate."""
    assert "Tuesday 24 November at 10:00" in configure(bot, "schedule checkins weekly Tuesday 10:00")
    assert bot.tick() == []
    assert checkin_posts(bot.stub) == []
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert (fired.kind, fired.fire_at, fired.status) == ("checkins", TUESDAY_10, "posted")
    [post] = checkin_posts(bot.stub)
    valid_blocks(post.json("blocks"))
    assert bot.tick() == []
    bot.clock.advance(minutes=1)
    assert bot.tick() == []
    assert len(checkin_posts(bot.stub)) == 1
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL)) == [
        ("checkins", stamp(TUESDAY_10), "posted")
    ]


def test_schedule_set_just_after_its_time_waits_for_the_next_one(bot):
    """Set at 10:05 for "Tuesday 10:00": the reply promises next Tuesday, and nothing is posted today."""
    bot.clock.advance(hours=1, minutes=5)
    assert "Tuesday 1 December at 10:00" in configure(bot, "schedule checkins weekly Tuesday 10:00")
    assert bot.tick() == []


def test_a_second_dispatcher_on_the_same_database_does_not_post_again(bot, tmp_path, stub, clock):
    """Two processes ticking at the same moment on one database make one post between them."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    other = Runtime(make_settings(tmp_path, stub), clock=clock)
    try:
        clock.advance(hours=1)
        barrier = threading.Barrier(2)
        results: list = []

        def tick(runtime):
            barrier.wait()
            results.append(runtime.dispatcher.tick())

        threads = [threading.Thread(target=tick, args=(r,)) for r in (bot.runtime, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(len(r) for r in results) == [0, 1]
        assert other.dispatcher.tick() == [] and bot.tick() == []
    finally:
        other.stop()
    assert len(checkin_posts(bot.stub)) == 1


def levels_posted(bot) -> list[str]:
    ids = [checkin_id_of(c) for c in checkin_posts(bot.stub)]
    return [bot.store.checkins.checkin(TEAM, i).level_id for i in ids]


def test_weekly_rotation_covers_all_five_levels(bot):
    """Five weekly check-ins ask about five different levels, in the catalog's order when none was covered."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.clock.advance(hours=1)
    for _ in range(5):
        assert [f.status for f in bot.tick()] == ["posted"]
        bot.clock.advance(weeks=1)
    assert levels_posted(bot) == LEVELS


def test_rotation_asks_the_least_recently_covered_level_first(bot):
    """A level just discussed by hand goes to the back of the queue."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    post_checkin(bot, "organisational")
    bot.clock.advance(hours=1)
    for _ in range(5):
        bot.tick()
        bot.clock.advance(weeks=1)
    assert levels_posted(bot) == ["organisational", "individual", "group", "societal", "paradigmatic", "organisational"]


def test_checkin_missed_by_a_few_hours_is_posted_late_once(bot):
    """Down from 09:00 to 13:00: the 10:00 check-in goes out at 13:00, once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.tick()
    bot.clock.advance(hours=4)
    [fired] = bot.tick()
    assert (fired.fire_at, fired.status) == (TUESDAY_10, "posted")
    assert bot.tick() == []
    assert len(checkin_posts(bot.stub)) == 1


def test_long_downtime_skips_old_misses_and_posts_only_the_recent_one(bot):
    """Two weeks without ticks: the older fire times are marked skipped; only the one in grace is posted."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.tick()
    bot.clock.advance(weeks=2, hours=2)
    fired = bot.tick()
    assert [(f.fire_at, f.status) for f in fired] == [
        (TUESDAY_10, "skipped"),
        (TUESDAY_10 + timedelta(weeks=1), "skipped"),
        (TUESDAY_10 + timedelta(weeks=2), "posted"),
    ]
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL), "checkins") == [
        ("checkins", stamp(TUESDAY_10), "skipped"),
        ("checkins", stamp(TUESDAY_10 + timedelta(weeks=1)), "skipped"),
        ("checkins", stamp(TUESDAY_10 + timedelta(weeks=2)), "posted"),
    ]
    assert len(checkin_posts(bot.stub)) == 1
    assert bot.tick() == []


# ---- summaries -----------------------------------------------------------------------------------


def test_scheduled_summary_posts_levels_and_a_suggested_next_focus(bot):
    """The summary schedule posts every level's block and suggests the neglected level the rotation reaches next."""
    configure(bot, "schedule summary weekly Tuesday 10:00")
    post_checkin(bot, "individual")
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert (fired.kind, fired.status) == ("summary", "posted")
    [post] = summary_posts(bot.stub)
    blocks = valid_blocks(post.json("blocks"))
    assert blocks[0]["type"] == "header" and "regular summary" in blocks[0]["text"]["text"]
    assert [b["block_id"] for b in blocks if b.get("block_id", "").startswith("level:")] == [
        f"level:{lid}" for lid in LEVELS
    ]
    suggestion = blocks[-1]["text"]["text"]
    assert suggestion.startswith("*A suggestion for next time:*")
    group_first = bot.runtime.deps.catalog.in_level("group")[0]  # Individual was just discussed
    assert escape(group_first.text) in suggestion


# ---- meetings ------------------------------------------------------------------------------------


WEDNESDAY_1330 = START + timedelta(days=1, hours=4, minutes=30)


def reminder_after_setup(bot):
    configure(bot, "meeting every Wednesday 14:00 remind 30")
    assert bot.tick() == []
    bot.clock.now = WEDNESDAY_1330 - timedelta(minutes=1)
    assert bot.tick() == []
    bot.clock.now = WEDNESDAY_1330
    [fired] = bot.tick()
    assert (fired.kind, fired.fire_at, fired.status) == ("meeting", WEDNESDAY_1330, "posted")
    return bot.stub.wait_for("chat.postMessage", where=to(CHANNEL))[-1]


def test_meeting_reminder_posts_30_minutes_before_with_we_met(bot):
    """`meeting every Wednesday 14:00 remind 30` reminds the channel at 13:30 with a "We met" button."""
    reminder = reminder_after_setup(bot)
    blocks = valid_blocks(reminder.json("blocks"))
    assert "in 30 minutes" in blocks[0]["text"]["text"] and "Wednesday 14:00" in blocks[0]["text"]["text"]
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"], button["text"]["text"]) == ("met", "2026-11-25", "We met")
    assert bot.tick() == []


def test_meeting_reminder_is_not_posted_after_the_meeting_started(bot):
    """Down over the reminder time until after the meeting began: no late reminder, the miss is recorded."""
    configure(bot, "meeting every Wednesday 14:00 remind 30")
    bot.tick()
    bot.clock.now = WEDNESDAY_1330 + timedelta(minutes=45)
    [fired] = bot.tick()
    assert (fired.kind, fired.fire_at, fired.status) == ("meeting", WEDNESDAY_1330, "skipped")
    assert bot.stub.calls_to("chat.postMessage") == []
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL)) == [
        ("meeting", stamp(WEDNESDAY_1330), "skipped")
    ]


def test_we_met_logs_the_meeting_once_and_updates_the_reminder(bot):
    """The first "We met" logs the meeting and updates the reminder; a second click duplicates nothing."""
    reminder = reminder_after_setup(bot)
    ts, block_id = reminder.response["ts"], block_id_of(reminder, "meeting:")
    bot.clock.advance(minutes=50)
    first = bot.slack.click(
        "met", "2026-11-25", block_id=block_id, message_ts=ts, user="U2", response_url=bot.stub.response_url("met-U2")
    )
    assert first.status == 200
    assert bot.store.activity.last_meeting(bot.store.partnerships.get(TEAM, CHANNEL)) == stamp(bot.clock.now)
    [update] = bot.stub.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, ts)
    assert "logged by <@U2>" in update.json("blocks")[0]["text"]["text"]
    bot.clock.advance(minutes=5)
    bot.slack.click(
        "met", "2026-11-25", block_id=block_id, message_ts=ts, user="U3", response_url=bot.stub.response_url("met-U3")
    )
    [again] = bot.stub.wait_for("response_url", where=lambda c: c.args["_key"] == "met-U3")
    assert "already logged" in again.args["text"]
    assert bot.store.activity.last_meeting(bot.store.partnerships.get(TEAM, CHANNEL)) == stamp(
        bot.clock.now - timedelta(minutes=5)
    )
    assert len(bot.stub.calls_to("chat.update")) == 1


def meetings_flag(post) -> str:
    group = next(b for b in post.json("blocks") if b.get("block_id") == "level:group")["text"]["text"]
    return next((line for line in group.splitlines() if "Regular meetings" in line), "")


def test_a_weekly_meeting_passing_unlogged_flags_regular_meetings_in_the_summary(bot):
    """A logged meeting clears the flag; with a weekly meeting schedule, the summary flags the next meeting that
    passed (a week ago or more: the time "We met" allows) with none logged: the team's own rhythm, not three
    weeks (issue 23)."""
    configure(bot, "meeting every Wednesday 14:00 remind 30")
    configure(bot, "schedule summary weekly Wednesday 15:00")
    reminder = reminder_after_setup(bot)
    bot.slack.click(
        "met",
        "2026-11-25",
        block_id=block_id_of(reminder, "meeting:"),
        message_ts=reminder.response["ts"],
        user="U2",
        response_url=bot.stub.response_url("met"),
    )
    bot.stub.wait_for("chat.update")
    bot.clock.now = WEDNESDAY_1330 + timedelta(minutes=90)
    assert [f.kind for f in bot.tick()] == ["summary"]
    assert meetings_flag(summary_posts(bot.stub)[-1]) == ""
    bot.clock.now = WEDNESDAY_1330 + timedelta(weeks=1, minutes=90)  # that day's meeting: a week to log it
    bot.tick()
    assert meetings_flag(summary_posts(bot.stub)[-1]) == ""
    bot.clock.now = WEDNESDAY_1330 + timedelta(weeks=2, minutes=90)
    bot.tick()
    assert len(summary_posts(bot.stub)) == 3
    flag = meetings_flag(summary_posts(bot.stub)[-1])
    meeting = (WEDNESDAY_1330 + timedelta(weeks=1)).astimezone(
        ZoneInfo(bot.store.partnerships.get(TEAM, CHANNEL).timezone)
    )
    assert "*neglected*" in flag and f"the meeting planned for {meeting:%A %-d %B} wasn't logged" in flag


# ---- reflexivity ---------------------------------------------------------------------------------


def dms(bot) -> list:
    return [
        c
        for c in bot.stub.calls_to("chat.postMessage")
        if str(c.args.get("channel", "")).startswith("U") and "reflect" in str(c.args.get("blocks"))
    ]


def send_prompts(bot) -> list:
    configure(bot, "schedule reflexivity fortnightly Tuesday 10:00")
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert (fired.kind, fired.status) == ("reflexivity", "posted")
    return dms(bot)


def test_reflexivity_prompt_is_dmed_to_each_member_but_the_bot(bot):
    """Each channel member gets a private prompt by DM (channel = their user id); the bot gets none."""
    sent = send_prompts(bot)
    assert sorted(c.args["channel"] for c in sent) == sorted([*MEMBERS, ADMIN])
    blocks = valid_blocks(sent[0].json("blocks"))
    assert block_id_of(sent[0], "reflect:")
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        "rate:1",
        "rate:2",
        "rate:3",
        "rate:4",
        "rate:5",
        "rate:0",
        "comment",
        "source",
        "reflexivity_off",
    ]
    assert checkin_posts(bot.stub) == []  # nothing in the channel


def test_stop_these_prompts_opts_out_of_the_next_round(bot):
    """ "Stop these prompts" in the DM opts that person out; the next round skips them."""
    first = send_prompts(bot)
    mine = next(c for c in first if c.args["channel"] == "U3")
    reply = bot.slack.click(
        "reflexivity_off",
        CHANNEL,
        block_id=block_id_of(mine, "reflexivity:"),
        user="U3",
        channel="DU3",
        message_ts=mine.response["ts"],
        response_url=bot.stub.response_url("off"),
    )
    assert reply.status == 200
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(TEAM, CHANNEL)) == {"U3"}
    [said] = bot.stub.wait_for("response_url", where=lambda c: c.args["_key"] == "off")
    assert "no more reflection prompts" in said.args["text"]
    bot.clock.advance(weeks=2)
    [fired] = bot.tick()
    assert fired.status == "posted"
    second = dms(bot)[len(first) :]
    assert sorted(c.args["channel"] for c in second) == sorted(["U1", "U2", "U4", ADMIN])


def test_reflexivity_answer_is_private_counted_in_summary_and_kept_out_of_exports(bot):
    """A reflection answer is acknowledged privately, kept out of every team figure (issue 23), and its comment is
    never exported."""
    sent = send_prompts(bot)
    mine = next(c for c in sent if c.args["channel"] == "U2")
    block_id = block_id_of(mine, "reflect:")
    checkin_id = int(block_id.split(":")[1])
    bot.slack.click(
        "rate:2",
        "2",
        block_id=block_id,
        user="U2",
        channel="DU2",
        message_ts=mine.response["ts"],
        response_url=bot.stub.response_url("reflect-U2"),
    )
    assert bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating == 2
    [said] = bot.stub.wait_for("response_url", where=lambda c: c.args["_key"] == "reflect-U2")
    assert "stays private" in said.args["text"]
    secret = "I talk over the patient partners too often"
    form = open_comment_form(bot, checkin_id, "U2", channel="DU2", prefix="reflect")
    reply = submit_comment(bot, checkin_id, "U2", rating=2, comment=secret, form=form)
    assert reply.json()["response_action"] == "update"

    summary = bot.command("summary").json()
    individual = next(b for b in summary["blocks"] if b.get("block_id") == "level:individual")["text"]["text"]
    assert "not discussed yet" in individual and "from 1 person" not in individual
    assert secret not in str(summary)

    assert all(row["comment"] is None for row in stored_answers(bot, TEAM) if not row["private"])
    bot.command("export")
    [upload] = bot.stub.wait_for("file_upload")
    exported = list(csv.DictReader(io.StringIO(upload.args["_raw"])))
    assert all(not r["comment"] for r in exported) and "U2" not in upload.args["_raw"]
    assert secret not in upload.args["_raw"]
    assert bot.stub.calls_to("chat.update") == []  # a private prompt has no public count to update


# ---- Slack faults --------------------------------------------------------------------------------


@pytest.fixture
def second_channel(bot):
    """Check-ins scheduled in C1 (set up first, so ticked first) and in a second channel C2."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.add_channel("C2", [*MEMBERS, "UBOT"], name="second")
    configure(bot, "schedule checkins weekly Tuesday 10:00", channel="C2")
    return "C2"


def test_channel_not_found_pauses_that_partnership_only(bot, second_channel):
    """A vanished channel pauses its partnership and tells its coordinator once; the other keeps its posts."""
    bot.stub.fail("chat.postMessage", "channel_not_found", channel=CHANNEL)
    bot.clock.advance(hours=1)
    fired = {f.channel: f.status for f in bot.tick()}
    assert fired == {CHANNEL: "failed", second_channel: "posted"}
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == "channel_not_found"
    assert bot.store.partnerships.get(TEAM, second_channel).paused_reason is None
    assert (
        bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL)) == {}
    )  # the failed check-in doesn't count as asked
    [told] = [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == COORDINATOR]
    assert "paused" in told.args["text"] and f"<#{CHANNEL}>" in told.args["text"]
    for _ in range(2):
        bot.clock.advance(weeks=1)
        assert [(f.channel, f.status) for f in bot.tick()] == [(second_channel, "posted")]
    assert checkin_posts(bot.stub) == []
    assert len(checkin_posts(bot.stub, second_channel)) == 3
    assert len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == COORDINATOR]) == 1


@pytest.mark.parametrize("error", ["is_archived", "not_in_channel", "account_inactive"])
def test_each_closed_channel_error_pauses_the_partnership_and_tells_coordinators_once(bot, second_channel, error):
    """Every Slack error that means we can't post there pauses that partnership alone, with one DM."""
    bot.stub.fail("chat.postMessage", error, channel=CHANNEL)
    bot.clock.advance(hours=1)
    assert {f.channel: f.status for f in bot.tick()} == {CHANNEL: "failed", second_channel: "posted"}
    assert bot.store.partnerships.get(TEAM, CHANNEL).paused_reason == error
    bot.clock.advance(weeks=1)
    assert [f.channel for f in bot.tick()] == [second_channel]
    assert len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == COORDINATOR]) == 1


def test_a_slow_team_does_not_hold_up_another_teams_post(bot, second_channel):
    """While Slack is slow to answer one partnership's post, the other's post still goes out."""
    bot.stub.delay("chat.postMessage", 3.0, channel=CHANNEL)
    bot.clock.advance(hours=1)
    ticking = threading.Thread(target=bot.tick)
    ticking.start()
    try:
        # C1 is ticked first; had the posts been one after another, C2's would wait out C1's 3 s.
        bot.stub.wait_for("chat.postMessage", where=to(second_channel), timeout=2.0)
        assert ticking.is_alive(), "the slow post should still be waiting"
    finally:
        ticking.join()
    assert len(checkin_posts(bot.stub, CHANNEL)) == 1 and len(checkin_posts(bot.stub, second_channel)) == 1


def test_rate_limited_post_waits_and_lands_once(bot):
    """A 429 with Retry-After: 1 is waited out, then the check-in is posted once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.rate_limit("chat.postMessage", retry_after=1)
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert fired.status == "posted"
    attempts = [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 0.9
    assert len(checkin_posts(bot.stub)) == 1
    assert len(bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL))) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_retried(bot, status):
    """A 5xx from Slack is retried and the check-in lands once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.server_error("chat.postMessage", status=status)
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert fired.status == "posted"
    attempts = [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert [c.status for c in attempts] == [status, 200]
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL)) == [
        ("checkins", stamp(TUESDAY_10), "posted")
    ]


# ---- exactly once, though Slack's answer is lost -------------------------------------------------


def checkin_block(message: dict) -> str:
    """The block_id of a check-in message's buttons (``checkin:<id>``), or ""."""
    ids = [b.get("block_id", "") for b in message.get("blocks") or []]
    return next((i for i in ids if i.startswith("checkin:")), "")


def channel_checkins(bot, channel: str = CHANNEL) -> list[dict]:
    """The check-in messages now in the channel, as Slack keeps them: one for each post that arrived."""
    return [m for m in bot.stub.messages(channel) if checkin_block(m)]


def counted_once(bot, message: dict) -> None:
    """The check-in of ``message`` is stored with that message and counted once, by the rotation and the summary."""
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    checkin_id = int(checkin_block(message).split(":")[1])
    assert message["metadata"] == {
        "event_type": "coprod_post",
        "event_payload": {"claim": f"{p.id}/checkins/{stamp(TUESDAY_10)}", "checkin": checkin_id},
    }
    checkin = bot.store.checkins.checkin(TEAM, checkin_id)
    assert checkin.message_ts == message["ts"]
    assert list(bot.store.activity.last_asked(p)) == [checkin.facilitator_id]
    levels = bot.store.activity.summary_inputs(p, since=0, until=stamp(bot.clock.now) + 1).levels
    assert {lid: a.checkins for lid, a in levels.items()} == {checkin.level_id: 1}
    assert bot.store.ledger.posts(p) == [("checkins", stamp(TUESDAY_10), "posted")]


LOST_ANSWERS = {
    "timeout": lambda stub: stub.delay("chat.postMessage", 3.0, channel=CHANNEL),  # coprod waits 1 s
    "server error": lambda stub: stub.server_error("chat.postMessage", 500, accepted=True),
    "dropped connection": lambda stub: stub.drop("chat.postMessage"),
}


@pytest.mark.parametrize("lost", LOST_ANSWERS)
def test_a_post_slack_took_without_answering_is_in_the_channel_once(bot, lost):
    """Slack takes the scheduled check-in but its answer is lost (a timeout, a 500, a dropped connection):
    coprod looks in the channel's history, finds the post there and doesn't make it again."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.runtime.client.timeout = 1
    LOST_ANSWERS[lost](bot.stub)
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert fired.status == "posted"
    [message] = channel_checkins(bot)
    assert len([c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]) == 1
    [look] = bot.stub.calls_to("conversations.history")
    assert look.args["channel"] == CHANNEL and look.args["include_all_metadata"] in ("1", "true")
    assert float(look.args["oldest"]) <= stamp(TUESDAY_10)
    counted_once(bot, message)
    bot.clock.advance(minutes=11)
    assert bot.tick() == []
    assert len(channel_checkins(bot)) == 1


def test_a_post_that_never_arrived_is_made_again_once(bot):
    """A 500 for a post Slack did not take: coprod looks, doesn't find it, and posts it again, once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.server_error("chat.postMessage", 500)
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert fired.status == "posted"
    [message] = channel_checkins(bot)
    assert [c.method for c in bot.stub.calls if c.method in ("chat.postMessage", "conversations.history")] == [
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
    ]
    counted_once(bot, message)


def test_a_checkin_asked_by_hand_whose_answer_is_lost_is_posted_once(bot):
    """`/coprod checkin` whose post Slack took but answered with a 500 leaves one check-in in the channel."""
    bot.stub.server_error("chat.postMessage", 500, accepted=True)
    assert bot.command("checkin").status == 200
    assert bot.runtime.drain()
    [message] = channel_checkins(bot)
    assert bot.store.checkins.checkin(TEAM, int(checkin_block(message).split(":")[1])).message_ts == message["ts"]
    assert len(bot.stub.calls_to("chat.postMessage")) == 1


def test_an_abandoned_claim_taken_up_again_finds_its_post_and_does_not_post_again(bot, tmp_path, stub, clock):
    """The process dies after Slack took the check-in, before coprod heard: ten minutes on, the claim is taken
    up again (by the restarted process: a second runtime on the database), which finds the message in the
    channel's history, counts the check-in once and posts nothing. (The first attempt, standing for the dead
    process, hears Slack's answer only after that, and changes nothing.)"""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    answer = stub.hold("chat.postMessage", accepted=True, channel=CHANNEL)
    clock.advance(hours=1)
    dying = threading.Thread(target=bot.tick)
    dying.start()
    try:
        stub.wait_for("chat.postMessage", where=to(CHANNEL))
        [message] = channel_checkins(bot)  # in Slack; coprod doesn't know yet
        clock.advance(minutes=11)
        restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
        try:
            assert [f.status for f in restarted.dispatcher.tick()] == ["posted"]
        finally:
            restarted.stop()
        assert len(stub.calls_to("chat.postMessage")) == 1
        counted_once(bot, message)
    finally:
        answer.set()
        dying.join(15)
    assert [m["ts"] for m in channel_checkins(bot)] == [message["ts"]]
    counted_once(bot, message)


def test_a_checkin_that_died_half_way_counts_nowhere_and_is_posted_once_when_taken_up(bot, tmp_path, stub, clock):
    """The check-in's row is written, then the process dies before Slack has the post: the summary, the
    rotation and the export don't count it; the claim taken up again (by the restarted process) posts it once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    answer = stub.hold("chat.postMessage", accepted=False, channel=CHANNEL)
    clock.advance(hours=1)
    dying = threading.Thread(target=bot.tick)
    dying.start()
    try:
        stub.wait_for("chat.postMessage", where=to(CHANNEL))
        assert channel_checkins(bot) == []
        p = bot.store.partnerships.get(TEAM, CHANNEL)
        assert bot.store.activity.last_asked(p) == {}
        assert bot.store.activity.summary_inputs(p, since=0, until=stamp(clock.now) + 1).levels == {}
        summary = bot.command("summary").json()
        individual = next(b for b in summary["blocks"] if b.get("block_id") == "level:individual")["text"]["text"]
        assert "check-in" not in individual
        assert bot.store.answers.withheld(TEAM, now=stamp(clock.now) + 8 * 86_400) == 0
        clock.advance(minutes=11)
        restarted = Runtime(make_settings(tmp_path, stub), clock=clock)
        try:
            assert [f.status for f in restarted.dispatcher.tick()] == ["posted"]
        finally:
            restarted.stop()
        [message] = channel_checkins(bot)
        counted_once(bot, message)
    finally:
        answer.set()  # the dead attempt's connection closes unanswered
        dying.join(15)
    assert [m["ts"] for m in channel_checkins(bot)] == [message["ts"]]
    counted_once(bot, message)


# ---- the real scheduler ----------------------------------------------------------------------------


@pytest.fixture(params=MODES)
def fast_bot(request, tmp_path, stub, clock):
    """coprod as in production, in each runner mode, with the real APScheduler ticking every 0.2 s."""
    with running_bot(request, request.param, tmp_path, stub, clock, COPROD_TICK_SECONDS="0.2") as bot:
        yield bot


def test_real_scheduler_posts_a_due_checkin_once(fast_bot):
    """APScheduler drives the dispatcher: a check-in already due is posted, and later ticks don't repeat it."""
    bot = fast_bot
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.clock.advance(hours=1, minutes=5)
    bot.runtime.start_scheduler()
    try:
        [post] = bot.stub.wait_for("chat.postMessage", where=to(CHANNEL), timeout=5)
        assert block_id_of(post, "checkin:")
        bot.clock.advance(seconds=1)
        later = bot.clock.now.isoformat()
        assert eventually(lambda: bot.store.ledger.meta("last_tick") == later), "the scheduler stopped ticking"
        assert len(checkin_posts(bot.stub)) == 1
    finally:
        bot.runtime.scheduler.shutdown(wait=True)
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL)) == [
        ("checkins", stamp(TUESDAY_10), "posted")
    ]


def test_a_post_that_failed_is_tried_again_on_the_next_tick(bot):
    """A check-in Slack refused for a passing reason is posted on a later tick, once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.fail("chat.postMessage", "internal_error", channel=CHANNEL)
    bot.clock.advance(hours=1)
    assert [f.status for f in bot.tick()] == ["failed"]
    bot.clock.advance(minutes=1)
    assert [f.status for f in bot.tick()] == ["posted"]
    bot.clock.advance(minutes=1)
    assert bot.tick() == []
    assert len(checkin_posts(bot.stub)) == 1
    assert bot.store.ledger.posts(bot.store.partnerships.get(TEAM, CHANNEL)) == [
        ("checkins", stamp(TUESDAY_10), "posted")
    ]


def test_changing_the_timezone_does_not_repost_todays_checkin(bot):
    """After today's check-in, moving the partnership to another timezone doesn't post it again."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.clock.advance(hours=1)
    assert [f.status for f in bot.tick()] == ["posted"]
    configure(bot, "timezone Europe/Berlin")  # 10:00 in Berlin was 09:00 UTC, now in the past
    bot.clock.advance(minutes=1)
    assert bot.tick() == []
    assert len(checkin_posts(bot.stub)) == 1


def test_ticking_all_day_keeps_a_fixed_number_of_database_connections(bot):
    """Ticks reuse their threads: the store's connections don't grow with every tick."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.clock.advance(hours=1)
    bot.tick()
    before = bot.store.db.open_connections
    for _ in range(50):
        bot.clock.advance(minutes=1)
        bot.tick()
    assert bot.store.db.open_connections <= before + 4


def test_a_pin_waits_for_the_scheduled_checkin_and_survives_a_failed_post(bot):
    """`/coprod next X` is kept through a hand-asked check-in and a failed post, then used once."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    configure(bot, "next power-imbalances")
    by_hand = post_checkin(bot)  # asked by hand: the rotation's choice, the pin stays
    assert "power imbalances" not in blocks_json(by_hand.call).lower()
    bot.stub.fail("chat.postMessage", "internal_error", channel=CHANNEL)
    bot.clock.advance(hours=1)
    assert [f.status for f in bot.tick()] == ["failed"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).pinned == "power-imbalances"
    bot.clock.advance(minutes=1)
    assert [f.status for f in bot.tick()] == ["posted"]
    assert "some voices count more than others" in blocks_json(checkin_posts(bot.stub)[-1]).lower()
    assert bot.store.partnerships.get(TEAM, CHANNEL).pinned is None


def test_reflection_prompts_skip_other_bots_and_deactivated_accounts(bot):
    """Another app's bot and a deactivated member in the channel get no reflection DM."""
    bot.stub.add_user("UOTHERBOT", is_bot=True)
    bot.stub.add_user("UGONE", deleted=True)
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, "UBOT", "UOTHERBOT", "UGONE"], name="partnership")
    sent = send_prompts(bot)
    assert sorted(c.args["channel"] for c in sent) == sorted([*MEMBERS, ADMIN])
    assert bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS) + 1
