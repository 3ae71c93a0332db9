"""The comment modal: opened from a check-in, submitted with a rating, a comment and maybe anonymity."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.views import View

from bot.render.messages import COMMENT_MAX
from tests.support.constants import CHANNEL, TEAM
from tests.support.flows import click_rating, modal_values, open_comment_form, post_checkin, submit_comment
from tests.support.stored import stored_answers


@pytest.fixture
def checkin(bot):
    """A posted check-in: (check-in id, block_id, the posted message's ts)."""
    posted = post_checkin(bot)
    return posted.id, posted.block_id, posted.ts


def open_modal(bot, block_id: str, user: str = "U2", trigger_id: str | None = None) -> dict:
    before = len(bot.stub.calls_to("views.open"))
    trigger_id = trigger_id or bot.stub.trigger(user)
    reply = bot.slack.click("comment", "comment", block_id=block_id, user=user, trigger_id=trigger_id)
    assert reply.status == 200
    call = bot.stub.wait_for("views.open", count=before + 1)[before]
    assert call.args["trigger_id"] == trigger_id
    return call.json("view")


def element(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]


def test_comment_button_opens_the_modal(bot, checkin):
    """ "Add a comment" opens a valid modal: multiline comment up to 2,000 characters and an anonymity box."""
    checkin_id, block_id, _ = checkin
    view = open_modal(bot, block_id)
    View(**view).validate_json()
    assert view["callback_id"] == "comment"
    assert json.loads(view["private_metadata"])["checkin"] == checkin_id
    comment = element(view, "comment")
    assert (comment["type"], comment["multiline"], comment["max_length"]) == ("plain_text_input", True, 2000)
    anonymous = element(view, "anonymous")
    assert anonymous["type"] == "checkboxes"
    assert [o["value"] for o in anonymous["options"]] == ["anonymous"]
    rating = element(view, "rating")
    assert [o["value"] for o in rating["options"]] == ["1", "2", "3", "4", "5", "0"]  # 0: "Not sure yet"
    assert "initial_option" not in rating


@pytest.mark.parametrize("prior", [2, 4])
def test_modal_preselects_the_rating_already_given(bot, checkin, prior):
    """Someone who already clicked a rating finds it selected in the modal, and may leave it as is."""
    checkin_id, block_id, _ = checkin
    click_rating(bot, checkin_id, prior, "U2")
    view = open_modal(bot, block_id)
    rating = next(b for b in view["blocks"] if b.get("block_id") == "rating")
    assert rating["element"]["initial_option"]["value"] == str(prior)
    assert rating["optional"] is True


def test_submission_stores_comment_and_rating(bot, checkin):
    """Submitting stores the rating and comment under the person's name (not anonymous)."""
    checkin_id, _, _ = checkin
    reply = submit_comment(bot, checkin_id, "U2", rating=3, comment="  We share decisions more now.  ")
    assert reply.status == 200
    [row] = stored_answers(bot, TEAM)
    assert (row["rating"], row["comment"], row["user"], row["anonymous"]) == (
        3,
        "We share decisions more now.",
        "U2",
        False,
    )


def test_anonymous_submission_keeps_no_user_id_or_role(bot, checkin):
    """ "Answer anonymously" stores the answer with no user id and no role."""
    checkin_id, _, _ = checkin
    assert "carer" in bot.command("role <@U2> carer").json()["text"]
    reply = submit_comment(bot, checkin_id, "U2", rating=2, comment="Hard to say in front of everyone", anonymous=True)
    assert reply.status == 200
    [row] = stored_answers(bot, TEAM)
    assert row["anonymous"] is True
    assert row["user"] is None and row["role"] is None
    assert row["comment"] == "Hard to say in front of everyone"
    assert "anonymously" in reply.json()["view"]["blocks"][0]["text"]["text"]


def test_comment_only_keeps_the_earlier_rating(bot, checkin):
    """A comment added after clicking a rating keeps that rating; still one answer."""
    checkin_id, _, _ = checkin
    click_rating(bot, checkin_id, 4, "U2")
    reply = submit_comment(bot, checkin_id, "U2", comment="Good meeting")
    assert reply.json()["response_action"] == "update"
    [row] = stored_answers(bot, TEAM)
    assert (row["rating"], row["comment"]) == (4, "Good meeting")
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1


def test_submission_without_rating_or_earlier_answer_is_refused(bot, checkin):
    """No rating and no earlier answer: the modal shows an error on the rating and nothing is stored."""
    checkin_id, _, _ = checkin
    reply = submit_comment(bot, checkin_id, "U2", comment="Just a comment")
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors"
    assert "rating" in body["errors"]
    assert stored_answers(bot, TEAM) == []


@pytest.mark.parametrize(("length", "accepted"), [(COMMENT_MAX, True), (COMMENT_MAX + 1, False), (5000, False)])
def test_comment_length_is_limited_to_2000(bot, checkin, length, accepted):
    """Up to 2,000 characters is kept; a longer comment gets an error on the comment and nothing is stored."""
    checkin_id, _, _ = checkin
    reply = submit_comment(bot, checkin_id, "U2", rating=5, comment="x" * length)
    body = reply.json()
    if accepted:
        assert body["response_action"] == "update"
        assert [r["comment"] for r in stored_answers(bot, TEAM)] == ["x" * length]
    else:
        assert body["response_action"] == "errors"
        assert "comment" in body["errors"]
        assert stored_answers(bot, TEAM) == []


@pytest.mark.parametrize("metadata", [json.dumps({"checkin": 999999}), "", "not json", json.dumps([1])])
def test_submission_for_an_unknown_checkin_is_refused(bot, checkin, metadata):
    """A modal whose metadata names no check-in of ours stores nothing and says so."""
    reply = bot.slack.submit("comment", modal_values(rating=3, comment="hi"), private_metadata=metadata, user="U2")
    assert reply.status == 200
    assert reply.json()["response_action"] == "errors"
    assert stored_answers(bot, TEAM) == []


def test_submission_from_another_workspace_is_refused(bot, checkin):
    """Workspace T2 cannot answer workspace T1's check-in by naming its id, even with a real form of T1's."""
    checkin_id, _, _ = checkin
    form = open_comment_form(bot, checkin_id, "U2")
    reply = submit_comment(bot, checkin_id, "U2", rating=3, comment="hi", team="T2", form=form)
    assert reply.json()["response_action"] == "errors"
    assert stored_answers(bot, TEAM) == [] and stored_answers(bot, "T2") == []


def test_ack_updates_the_modal_to_a_thank_you(bot, checkin):
    """The acknowledgement replaces the modal with a thank-you that repeats what was recorded, escaped."""
    checkin_id, _, _ = checkin
    reply = submit_comment(bot, checkin_id, "U2", rating=4, comment="Thanks <!channel> & all")
    body = reply.json()
    assert body["response_action"] == "update"
    view = body["view"]
    View(**view).validate_json()
    assert view["title"]["text"] == "Thank you"
    text = view["blocks"][0]["text"]["text"]
    assert "4 of 5" in text
    assert "&lt;!channel&gt; &amp; all" in text and "<!channel>" not in text


def test_submission_updates_the_message_count(bot, checkin):
    """After a modal answer, the check-in message shows the new count."""
    checkin_id, _, ts = checkin
    submit_comment(bot, checkin_id, "U2", rating=4, comment="first")
    update = bot.stub.wait_for("chat.update")[0]
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, ts)
    assert "1 answer so far" in json.dumps(update.json("blocks"))
    assert "first" not in json.dumps(update.json("blocks"))
