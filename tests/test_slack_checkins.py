"""Check-ins end to end: slash command, the posted message, rating clicks and forged clicks."""

from __future__ import annotations

import json

import pytest

from bot.domain.catalog import load_catalog
from tests.support.blockkit import valid_blocks
from tests.support.constants import CHANNEL, COORDINATOR, MEMBERS, TEAM
from tests.support.flows import click_rating, open_comment_form, post_checkin, replies_to, submit_comment
from tests.support.stored import stored_answers


def test_checkin_command_posts_a_checkin_with_five_ratings(bot):
    """`/coprod checkin` posts the level, the paper's words, a question and buttons valued 1..5."""
    reply = bot.command("checkin")
    assert reply.status == 200
    call = bot.stub.wait_for("chat.postMessage")[0]
    blocks = valid_blocks(call.json("blocks"))
    values = [e.get("value") for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert values[:5] == ["1", "2", "3", "4", "5"]
    assert "Individual" in blocks[0]["text"]["text"]
    assert call.args["text"]


def test_rating_click_records_answer_before_ack(bot):
    """A click is stored by the time Slack gets its acknowledgement."""
    checkin = post_checkin(bot)  # posted, and its message's ts stored, as before anyone could click it
    block_id = checkin.block_id
    reply = bot.slack.click(
        "rate:4", "4", block_id=block_id, user="U2", message_ts=checkin.ts, response_url=bot.stub.response_url("r2")
    )
    assert reply.status == 200
    checkin_id = int(block_id.split(":")[1])
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    confirm = bot.stub.wait_for("response_url")[0]
    assert "4 of 5" in confirm.args["text"]
    update = bot.stub.wait_for("chat.update")[0]
    assert "1 answer so far" in str(update.json("blocks"))
    assert CHANNEL and COORDINATOR


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_each_rating_value_is_recorded(bot, rating):
    """Every button 1..5 stores that rating for the person who clicked."""
    checkin_id = post_checkin(bot).id
    assert click_rating(bot, checkin_id, rating, "U2").status == 200
    assert bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating == rating
    [row] = stored_answers(bot, TEAM)
    assert (row["rating"], row["user"]) == (rating, "U2")


def test_second_click_by_same_person_changes_the_answer(bot):
    """Answering again updates the one answer: the count stays 1 and the rating changes."""
    checkin_id = post_checkin(bot).id
    click_rating(bot, checkin_id, 2, "U2")
    replies_to(bot, "rate-U2")
    click_rating(bot, checkin_id, 5, "U2")
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    assert bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating == 5
    second = replies_to(bot, "rate-U2", count=2)[1]
    assert "5 of 5" in second.args["text"]


@pytest.mark.parametrize("rating", [1, 3, 5])
def test_private_confirmation_says_what_was_recorded_and_how_to_change_it(bot, rating):
    """The clicker alone hears back: the rating and its meaning, and that clicking again changes it."""
    checkin_id = post_checkin(bot).id
    click_rating(bot, checkin_id, rating, "U3")
    confirm = replies_to(bot, "rate-U3")[0]
    text = confirm.args["text"]
    practice = bot.store.checkins.checkin(TEAM, checkin_id).facilitator_id
    assert f"{rating} of 5 ({load_catalog().facilitator(practice).labels[rating]})" in text
    assert "Click another number" in text
    assert confirm.args["response_type"] == "ephemeral"
    assert confirm.args.get("replace_original") is False


def test_channel_message_shows_the_count_never_who_or_what(bot):
    """After two answers the message says "2 answers so far" and is otherwise the same message."""
    call, checkin_id, _ = post_checkin(bot, "group")
    posted = call.json("blocks")
    click_rating(bot, checkin_id, 5, "U2")
    bot.stub.wait_for("chat.update", count=1)
    click_rating(bot, checkin_id, 1, "U3")
    updates = bot.stub.wait_for("chat.update", count=2)
    latest = next(c for c in updates if "2 answers" in json.dumps(c.json("blocks")))
    blocks = valid_blocks(latest.json("blocks"))
    assert latest.args["ts"] == call.response["ts"]
    assert "2 answers so far" in blocks[-1]["elements"][0]["text"]
    assert blocks[:-1] == posted[:-1]  # nothing but the count changed
    shown = json.dumps(blocks) + latest.args["text"]
    assert "U2" not in shown and "U3" not in shown
    assert bot.store.answers.response_count(TEAM, checkin_id) == 2


@pytest.fixture
def two_channels(bot):
    """A second partnership channel C2 with its own check-in; returns its block_id."""
    bot.stub.add_channel("C2", list(MEMBERS) + ["UBOT"], name="second")
    return post_checkin(bot, channel="C2").block_id


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda b, other: {"action_id": "rate:9", "value": "9", "block_id": b}, id="value-9"),
        pytest.param(lambda b, other: {"action_id": "rate:4", "value": "9", "block_id": b}, id="value-9-on-4"),
        pytest.param(lambda b, other: {"action_id": "rate:4", "value": "5", "block_id": b}, id="value-mismatch"),
        pytest.param(
            lambda b, other: {"action_id": "rate:4", "value": "4", "block_id": b, "team": "T2"}, id="other-workspace"
        ),
        pytest.param(lambda b, other: {"action_id": "rate:4", "value": "4", "block_id": other}, id="other-channel"),
        pytest.param(
            lambda b, other: {"action_id": "rate:4", "value": "4", "block_id": "checkin:999999"}, id="no-such-checkin"
        ),
        pytest.param(
            lambda b, other: {"action_id": "rate:4", "value": "4", "block_id": b.replace("checkin", "reflect")},
            id="checkin-as-reflection",
        ),
    ],
)
def test_forged_clicks_store_nothing_and_still_get_200(bot, two_channels, forge):
    """A click that doesn't match what we posted is acknowledged and ignored."""
    _, checkin_id, block_id = post_checkin(bot)
    spec = forge(block_id, two_channels)
    reply = bot.slack.click(
        spec["action_id"],
        spec["value"],
        block_id=spec["block_id"],
        user="U2",
        team=spec.get("team", TEAM),
        response_url=bot.stub.response_url("forged"),
    )
    assert reply.status == 200
    assert stored_answers(bot, TEAM) == []
    assert stored_answers(bot, "T2") == []
    # A genuine click afterwards is answered; the forged one never was.
    click_rating(bot, checkin_id, 3, "U3")
    replies_to(bot, "rate-U3")
    assert not [c for c in bot.stub.calls_to("response_url") if c.args["_key"] == "forged"]
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1


def test_a_double_click_arriving_at_once_is_one_answer(bot):
    """Two clicks by one person landing together (a double click) store one answer, the later rating."""
    import threading

    checkin_id = post_checkin(bot).id
    barrier = threading.Barrier(4)
    statuses = []

    def click(rating: int) -> None:
        barrier.wait()
        statuses.append(click_rating(bot, checkin_id, rating, "U2").status)

    threads = [threading.Thread(target=click, args=(r,)) for r in (2, 2, 5, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    rating = bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating
    assert rating in (2, 5)
    [reply] = replies_to(bot, "rate-U2")
    bot.drain()  # every follow-up run and the outbox sent: a second "thank you" would be in by now
    assert len([c for c in bot.stub.calls_to("response_url") if c.args["_key"] == "rate-U2"]) == 1
    assert f"{rating} of 5" in reply.args["text"]


def test_a_burst_of_clicks_updates_the_count_at_once_and_then_once_more(bot):
    """The first click of a quiet check-in shows at once; the rest of five people answering within a second
    cost one more message update, showing all five answers."""
    checkin_id = post_checkin(bot).id
    for user in ("U1", "U2", "U3", "U4", "UADMIN"):
        assert click_rating(bot, checkin_id, 3, user).status == 200
    [update] = bot.stub.wait_for("chat.update", where=lambda c: "5 answers so far" in json.dumps(c.json("blocks")))
    bot.drain()  # the delayed update run now and sent: no further update trails behind
    assert len(bot.stub.calls_to("chat.update")) <= 2
    assert bot.store.answers.response_count(TEAM, checkin_id) == 5


def test_a_click_that_cannot_be_stored_is_not_acknowledged_as_done(bot):
    """If the answer can't be written, Slack gets no acknowledgement: the click isn't silently lost."""
    import sqlite3

    checkin_id = post_checkin(bot).id
    form = open_comment_form(bot, checkin_id, "U2")
    with sqlite3.connect(bot.runtime.settings.db_path) as conn:  # break the database under the bot
        conn.execute("ALTER TABLE responses RENAME TO responses_gone")
    reply = click_rating(bot, checkin_id, 4, "U2")
    assert not reply.acknowledged and b"Traceback" not in reply.body
    submitted = submit_comment(bot, checkin_id, "U2", rating=4, form=form)
    assert submitted.status == 200
    assert submitted.json()["response_action"] == "errors"
    assert "Sorry" in json.dumps(submitted.json())
