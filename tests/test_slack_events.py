"""Events API: @coprod summary, Slack's retries, the bot and people joining a channel, URL verification."""

from __future__ import annotations

import pytest

from tests.support.blockkit import summary_posts, valid_blocks
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, MEMBERS, TEAM
from tests.support.flows import post_checkin
from tests.support.waiting import eventually


def start_partnership(bot) -> None:
    post_checkin(bot)
    # After posting, the check-in counts the channel's members; let it finish before starting afresh.
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count is not None)
    bot.stub.reset()


def mention(text: str, user: str = "U2", channel: str = CHANNEL) -> dict:
    return {"type": "app_mention", "user": user, "text": text, "channel": channel, "ts": "1700000001.000100"}


def test_mention_summary_posts_the_summary_in_the_channel(bot):
    """`@coprod summary` posts a summary in the channel with one block naming each level."""
    start_partnership(bot)
    reply = bot.slack.event(mention("<@UBOT> summary please"), event_id="EvM1")
    assert reply.status == 200
    [post] = bot.stub.wait_for("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    blocks = valid_blocks(post.json("blocks"))
    levels = [b for b in blocks if b.get("block_id", "").startswith("level:")]
    names = ["Individual", "Group/interpersonal", "Organisational", "Societal", "Paradigmatic"]
    assert [b["block_id"] for b in levels] == [f"level:{n.split('/')[0].lower()}" for n in names]
    for name, block in zip(names, levels, strict=True):
        assert name in block["text"]["text"]
    assert "neglected" in levels[1]["text"]["text"]  # Group: not discussed yet


def test_mention_summary_before_setup_answers_privately(bot):
    """In a channel coprod doesn't serve yet, the mention gets a private hint and nothing is posted."""
    bot.slack.event(mention("<@UBOT> summary"), event_id="EvM2")
    [hint] = bot.stub.wait_for("chat.postEphemeral")
    assert hint.args["user"] == "U2" and "/coprod help" in hint.args["text"]
    assert bot.stub.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("retry_reason", ["http_timeout", "http_error"])
def test_retried_event_is_handled_once(bot, retry_reason):
    """Slack's retry of the same event id (retry_attempt 1) is acknowledged and posts nothing more."""
    start_partnership(bot)
    event = mention("<@UBOT> summary")
    assert bot.slack.event(event, event_id="EvDup").status == 200
    bot.stub.wait_for("chat.postMessage")
    retry = bot.slack.event(event, event_id="EvDup", retry_attempt=1, retry_reason=retry_reason)
    assert retry.status == 200
    # A different event afterwards is still answered, so the retry was dropped, not the listener.
    bot.slack.event(mention("<@UBOT> summary"), event_id="EvOther")
    bot.stub.wait_for("chat.postMessage", count=2)
    bot.drain()  # every acknowledged follow-up has run: a retry handled as a new event would have posted
    assert len(bot.stub.calls_to("chat.postMessage")) == 2
    assert len(summary_posts(bot.stub)) == 2


def test_bot_joining_a_channel_posts_a_welcome(bot):
    """When coprod itself is added to a channel it says hello and how to start."""
    bot.stub.add_channel("C7", ["U1", "UBOT"], name="new-partnership")  # coprod is in it now
    reply = bot.slack.event(
        {"type": "member_joined_channel", "user": "UBOT", "channel": "C7", "channel_type": "C", "team": TEAM},
        event_id="EvJoinBot",
    )
    assert reply.status == 200
    [post] = bot.stub.wait_for("chat.postMessage")
    assert post.args["channel"] == "C7"
    assert "I'm coprod" in post.json("blocks")[0]["text"]["text"]
    assert "/coprod schedule checkins" in str(post.json("blocks"))


def test_member_joining_updates_the_member_count(bot):
    """A person joining a partnership channel updates how many members it has (the bot not counted)."""
    start_partnership(bot)
    assert bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS) + 1  # + the admin
    bot.stub.add_user("U5")
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, "UBOT", "U5"], name="partnership")
    reply = bot.slack.event(
        {"type": "member_joined_channel", "user": "U5", "channel": CHANNEL, "channel_type": "C", "team": TEAM},
        event_id="EvJoinU5",
    )
    assert reply.status == 200
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS) + 2)
    assert not [c for c in bot.stub.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL]


def test_member_joining_an_unknown_channel_changes_nothing(bot):
    """A join in a channel without a partnership creates none and posts nothing."""
    bot.slack.event(
        {"type": "member_joined_channel", "user": "U2", "channel": "C8", "channel_type": "C", "team": TEAM},
        event_id="EvJoinC8",
    )
    bot.stub.wait_for("auth.test")
    bot.drain()  # what the acknowledged join handed over has run
    assert bot.stub.calls_to("chat.postMessage") == []
    assert bot.store.partnerships.get(TEAM, "C8") is None


def test_url_verification_challenge_is_answered(http_bot):
    """Slack's URL check (of an HTTP request URL; Socket Mode has none) gets its challenge back."""
    reply = http_bot.slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert reply.status == 200
    assert reply.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_event_with_a_bad_signature_is_rejected(http_bot):
    """An event not signed with our secret gets 401 and does nothing."""
    bot = http_bot
    start_partnership(bot)
    reply = bot.slack.event(mention("<@UBOT> summary"), event_id="EvBad", bad_signature=True)
    assert reply.status == 401
    bot.drain()  # had any listener taken it, its follow-up would have run by now
    assert bot.stub.calls_to("chat.postMessage") == []
    assert COORDINATOR in bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL))


def test_mention_summary_takes_a_level_and_weeks_like_the_slash_command(bot):
    """`@coprod summary group weeks 12` posts just that level over 12 weeks."""
    start_partnership(bot)
    bot.slack.event(mention("<@UBOT> summary group weeks 12"), event_id="EvM12")
    [post] = bot.stub.wait_for("chat.postMessage")
    blocks = post.json("blocks")
    assert [b["block_id"] for b in blocks if b.get("block_id", "").startswith("level:")] == ["level:group"]
    assert "12 weeks" in blocks[0]["text"]["text"]
