"""A post whose outcome coprod can't know yet: Slack took it, its answer was lost, and the channel's history,
which alone can tell, can't be read just now (a 429). The check-in is kept, clicks on its message count, and
the look is made again once Slack's wait is over; the post is never doubled.

Slack's history limit for apps distributed outside the Marketplace (one call a minute, 15 messages a call:
https://docs.slack.dev/reference/methods/conversations.history) is played here with 429s whose Retry-After
is 60 s; the tests' clock, not the wall clock, lets that minute pass.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.blockkit import checkin_id_of
from tests.support.clock import stamp
from tests.support.constants import CHANNEL, START, TEAM
from tests.support.flows import ask, configure, rate
from tests.support.slack_stub import Call

TUESDAY_10 = START + timedelta(hours=1)


def checkins_in_channel(bot) -> list[dict]:
    """The check-in messages now in the channel, as Slack keeps them."""
    return [
        m
        for m in bot.stub.messages(CHANNEL)
        if any(str(b.get("block_id", "")).startswith("checkin:") for b in m.get("blocks") or [])
    ]


def posts_to_channel(bot) -> list[Call]:
    return [c for c in bot.stub.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]


def lost_checkin(bot, *, retry_after: int, times: int = 1) -> int:
    """A scheduled check-in Slack takes but answers with a 500, whose look-up is then rate limited; the id
    of the check-in in the channel."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    bot.stub.server_error("chat.postMessage", 500, accepted=True)
    bot.stub.rate_limit("conversations.history", retry_after=retry_after, times=times)
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert fired.status == "unknown", fired
    [message] = checkins_in_channel(bot)
    return checkin_id_of(Call("chat.postMessage", {"blocks": message["blocks"]}))


def test_a_lost_post_whose_look_is_rate_limited_keeps_its_checkin_and_counts_clicks(bot):
    """Under the one-look-a-minute limit: the 429 doesn't delete the check-in; a click on the message in the
    channel is recorded; a minute later the look finds the message, the check-in counts with its answer, and
    the post is made once."""
    checkin_id = lost_checkin(bot, retry_after=60)
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    assert bot.store.checkins.checkin(TEAM, checkin_id) is not None, "the check-in's row was deleted"
    rate(bot, checkin_id, 4, "U2", message_ts=checkins_in_channel(bot)[0]["ts"])  # a click on that message
    # The click showed Slack has the message: the check-in counts at once.
    assert bot.store.checkins.checkin(TEAM, checkin_id).message_ts == checkins_in_channel(bot)[0]["ts"]
    # Slack asked for a minute: a tick before then neither looks nor posts.
    bot.clock.advance(seconds=30)
    assert bot.tick() == []
    assert len(bot.stub.calls_to("conversations.history")) == 1
    bot.clock.advance(seconds=31)
    [fired] = bot.tick()
    assert (fired.fire_at, fired.status) == (TUESDAY_10, "posted")
    [message] = checkins_in_channel(bot)
    assert len(posts_to_channel(bot)) == 1
    assert bot.store.checkins.checkin(TEAM, checkin_id).message_ts == message["ts"]
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    levels = bot.store.activity.summary_inputs(p, since=0, until=stamp(bot.clock.now) + 1).levels
    assert sum(a.checkins for a in levels.values()) == 1 and len(bot.store.activity.last_asked(p)) == 1
    assert bot.store.checkins.checkin(TEAM, checkin_id + 1) is None, "the look made a second check-in"
    assert bot.store.ledger.posts(p) == [("checkins", stamp(TUESDAY_10), "posted")]
    for look in bot.stub.calls_to("conversations.history"):
        assert int(look.args["limit"]) <= 15
        assert float(look.args["oldest"]) <= stamp(TUESDAY_10)
    bot.clock.advance(minutes=5)
    assert bot.tick() == []
    assert len(checkins_in_channel(bot)) == 1


def test_a_look_rate_limited_past_slacks_retries_keeps_the_checkin(bot):
    """Short Retry-Afters that outlast the waits made on the spot: the check-in is still kept (it used to be
    deleted as if Slack had refused the post), and the next look finds the post."""
    checkin_id = lost_checkin(bot, retry_after=1, times=4)
    assert bot.store.checkins.checkin(TEAM, checkin_id) is not None, "the check-in's row was deleted"
    bot.clock.advance(seconds=2)
    assert [f.status for f in bot.tick()] == ["posted"]
    assert len(posts_to_channel(bot)) == 1 and len(checkins_in_channel(bot)) == 1
    assert bot.store.checkins.checkin(TEAM, checkin_id).message_ts == checkins_in_channel(bot)[0]["ts"]


def test_looks_wait_for_slack_without_spending_the_posts_tries(bot):
    """Four looks in a row each asked to wait a minute (more than a post's three tries): the claim keeps
    waiting and looking, and the check-in goes out once, within the grace period."""
    checkin_id = lost_checkin(bot, retry_after=60)
    for _ in range(3):
        bot.stub.rate_limit("conversations.history", retry_after=60)
        bot.clock.advance(seconds=61)
        assert [f.status for f in bot.tick()] == ["unknown"]
    bot.clock.advance(seconds=61)
    assert [f.status for f in bot.tick()] == ["posted"]
    assert len(posts_to_channel(bot)) == 1
    assert bot.store.checkins.checkin(TEAM, checkin_id).message_ts == checkins_in_channel(bot)[0]["ts"]


def test_a_checkin_asked_by_hand_whose_look_is_rate_limited_is_kept_and_counts_when_clicked(bot):
    """`/coprod checkin`: Slack takes the post but answers 500, and the look is rate limited. The person is
    told coprod can't tell (not to ask again at once); the check-in in the channel is kept, and the first
    click on it is stored and makes it count."""
    bot.stub.server_error("chat.postMessage", 500, accepted=True)
    bot.stub.rate_limit("conversations.history", retry_after=60)
    answer = ask(bot, "checkin")
    assert "can't tell" in answer["text"]
    [message] = checkins_in_channel(bot)
    checkin_id = checkin_id_of(Call("chat.postMessage", {"blocks": message["blocks"]}))
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    assert bot.store.checkins.checkin(TEAM, checkin_id) is not None, "the check-in's row was deleted"
    assert bot.store.activity.last_asked(p) == {}  # not known to be in Slack yet
    rate(bot, checkin_id, 5, "U3", message_ts=message["ts"])
    assert bot.store.checkins.checkin(TEAM, checkin_id).message_ts == message["ts"]
    assert len(bot.store.activity.last_asked(p)) == 1
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    assert len(posts_to_channel(bot)) == 1
