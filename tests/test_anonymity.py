"""Anonymity against a determined colleague: no sequence of views lets anyone work out one person's rating
or tie an anonymous answer to its author (docs/rules.md, "Anonymity").

Each test walks what a member or a coordinator can do in Slack, in both modes, and reads only what Slack
would have shown them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.support.blockkit import texts_in
from tests.support.constants import ADMIN, BOT_USER, COORDINATOR, MODES, TEAM
from tests.support.flows import (
    ask,
    click_rating,
    forged_form,
    open_comment_form,
    open_home,
    post_checkin,
    rate,
    replies_to,
    submit_comment,
)
from tests.support.running import running_bot

ROOT = Path(__file__).resolve().parent.parent

SETUP = "schedule checkins weekly Tuesday 10:00"
AVERAGE = re.compile(r"Average rating: \*([0-9.]+) of 5\*")


def organisational(bot) -> str:
    """The organisational level's block of `/coprod summary organisational`, as the coordinator reads it."""
    answer = ask(bot, "summary organisational")
    [block] = [b["text"]["text"] for b in answer["blocks"] if b.get("block_id") == "level:organisational"]
    return block


def average(block: str) -> str | None:
    found = AVERAGE.search(block)
    return found.group(1) if found else None


def forget_me(bot, user: str) -> str:
    key = f"forget-{user}"
    reply = bot.slack.click(
        "forget_me_confirm", "confirm", user=user, is_ephemeral=True, response_url=bot.stub.response_url(key)
    )
    assert reply.status == 200
    [done] = replies_to(bot, key)
    return done.args["text"]


def test_no_sequence_of_summaries_around_one_answer_reveals_it(bot):
    """The attack in issue 8: three people rate 4, the summary says "4.0"; a fourth answers anonymously and
    the summary moves, giving away the fourth rating. Now a check-in's answers count only once it has
    closed, and a closed check-in never changes again: not by a late answer, a changed rating or a
    forget-me. Every summary in the sequence shows either no average or the whole closed group's."""
    ask(bot, SETUP)
    checkin = post_checkin(bot, "organisational").id
    for user in ("U2", "U3", ADMIN):
        rate(bot, checkin, 4, user)
    seen = [average(organisational(bot))]
    assert submit_comment(bot, checkin, "U4", 1, "I see it differently", anonymous=True).json()["response_action"] == (
        "update"
    )
    seen.append(average(organisational(bot)))
    assert seen == [None, None]  # open: no average while answers can still come and go

    bot.clock.advance(days=7)  # the check-in closes a week after it was posted
    closed = organisational(bot)
    assert average(closed) == "3.2" and "4 answers from 4 people" in closed

    assert click_rating(bot, checkin, 5, COORDINATOR).status == 200  # too late
    assert click_rating(bot, checkin, 1, "U2").status == 200  # a change of mind, too late
    forget_me(bot, "U4")  # the anonymous answerer asks to be forgotten
    bot.drain()
    # The rating stays in its closed group (the average is unchanged); it counts as an answer, no longer as
    # a person (issue 22): the people count says someone left, never what they rated.
    assert organisational(bot) == closed.replace("4 answers from 4 people (80%", "4 answers from 3 people (60%")
    assert bot.store.answers.my_answer(TEAM, checkin, COORDINATOR) is None
    assert bot.store.answers.my_answer(TEAM, checkin, "U2").rating == 4


def test_a_click_on_a_closed_checkin_is_refused_kindly_and_the_message_shows_it_closed(bot):
    """After it closes, a rating click stores nothing, the person hears why in plain words, and the check-in
    message is shown closed: its count and no buttons."""
    ask(bot, SETUP)
    checkin = post_checkin(bot, "organisational")
    rate(bot, checkin.id, 4, "U2")
    bot.clock.advance(days=7, seconds=1)
    reply = click_rating(bot, checkin.id, 3, "U3", response_url=bot.stub.response_url("late"))
    assert reply.status == 200
    assert bot.store.answers.my_answer(TEAM, checkin.id, "U3") is None
    [told] = replies_to(bot, "late")
    assert "closed on" in told.args["text"] and told.args["response_type"] == "ephemeral"
    assert "Thank you for wanting to answer" in told.args["text"]
    bot.drain()
    [update] = [c for c in bot.stub.calls_to("chat.update") if c.args["ts"] == checkin.ts][-1:]
    blocks = update.json("blocks")
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "This check-in has closed: 1 person answered" in json.dumps(blocks)


def test_the_next_checkin_closes_the_last_one(bot):
    """Posting the next check-in closes the one before: its group is final, so its average shows at once,
    and a click on it is refused."""
    ask(bot, SETUP)
    first = post_checkin(bot, "organisational").id
    for user, rating in (("U2", 2), ("U3", 3), ("U4", 4)):
        rate(bot, first, rating, user)
    assert average(organisational(bot)) is None
    post_checkin(bot, "societal")
    assert average(organisational(bot)) == "3.0"
    click_rating(bot, first, 5, COORDINATOR)
    assert bot.store.answers.response_count(TEAM, first) == 3


def test_a_comment_form_opened_before_the_close_is_refused_after_it(bot):
    """A form left open over the close can't slip an answer in: the modal says why and stores nothing."""
    ask(bot, SETUP)
    checkin = post_checkin(bot, "organisational").id
    form = open_comment_form(bot, checkin, "U2")
    bot.clock.advance(days=8)
    reply = submit_comment(bot, checkin, "U2", 2, "late thoughts", form=form)
    body = reply.json()
    assert body["response_action"] == "errors" and "closed on" in body["errors"]["comment"]
    assert bot.store.answers.my_answer(TEAM, checkin, "U2") is None


def test_forget_me_unlinks_a_closed_answer_and_deletes_an_open_one(bot):
    """forget-me deletes answers to open check-ins; on a closed one it keeps the rating in its group but
    nothing that ties it to the person (no id, responder, role or comment), and says so."""
    ask(bot, SETUP)
    ask(bot, "role <@U2> carer")
    closed = post_checkin(bot, "organisational").id
    for user in ("U2", "U3", "U4"):
        submit_comment(bot, closed, user, 4, f"thoughts of {user}")
    still_open = post_checkin(bot, "societal").id
    rate(bot, still_open, 2, "U2")
    text = forget_me(bot, "U2")
    assert "1 answer" in text and "1 rating to closed check-ins stay" in text
    assert bot.store.answers.response_count(TEAM, closed) == 3
    assert bot.store.answers.response_count(TEAM, still_open) == 0
    assert bot.store.answers.my_answer(TEAM, closed, "U2") is None
    dump = "\n".join(bot.store.db.conn.iterdump())
    assert "thoughts of U2" not in dump and "thoughts of U3" in dump
    assert "'carer'" not in dump


def test_the_export_a_coordinator_gets_names_nobody_and_cannot_eliminate_the_anonymous(bot):
    """Issue 8's five-person channel: four answer by name and one anonymously. The file the coordinator
    gets has no Slack id at all, a pseudonym for each named person and none for the anonymous answer, the
    answers in rating order; a check-in with fewer than k answers is left out, and the message says so."""
    ask(bot, SETUP)
    ask(bot, "role <@U2> carer")
    checkin = post_checkin(bot, "organisational").id
    for user, rating in ((COORDINATOR, 5), ("U2", 4), ("U3", 3), (ADMIN, 4)):
        rate(bot, checkin, rating, user)
    submit_comment(bot, checkin, "U4", 1, "We never see the budget", anonymous=True)
    small = post_checkin(bot, "societal").id
    rate(bot, small, 2, "U2")
    post_checkin(bot, "group")  # closes both
    answer = ask(bot, "export")
    assert "5 answers" in answer["text"]
    [upload] = bot.stub.wait_for("file_upload")
    [done] = bot.stub.wait_for("files.completeUploadExternal")
    raw = upload.args["_raw"]
    assert not re.search(r"\bU[A-Z0-9]+\b", raw)
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert [r["rating"] for r in rows] == ["1", "3", "4", "4", "5"]
    assert rows[0]["person"] == "" and rows[0]["comment"] == "We never see the budget"
    assert all(re.fullmatch(r"P-[0-9a-f]{8}", r["person"]) for r in rows[1:])
    assert {r["role"] for r in rows} == {""}  # one carer: a role group smaller than k is never shown
    assert "societal" not in raw
    note = done.args["initial_comment"]
    assert "pseudonym" in note and "1 check-in still open or answered by fewer than 3 people" in note
    # The pseudonyms stay the same from one export to the next.
    ask(bot, "export")
    [_, again] = bot.stub.wait_for("file_upload", count=2)
    assert sorted(r["person"] for r in csv.DictReader(io.StringIO(again.args["_raw"]))) == sorted(
        r["person"] for r in rows
    )


def test_a_comment_form_edited_to_name_another_channels_checkin_stores_nothing(bot):
    """A modal's metadata comes back from the client: a form edited to name a check-in in another channel
    (or one made up) is refused, because only a form coprod opened for that person and check-in carries its
    seal."""
    ask(bot, SETUP)
    bot.stub.add_channel("C2", ["U1", "U9", BOT_USER], name="other")  # coprod is invited there too
    ask(bot, SETUP, channel="C2")
    elsewhere = post_checkin(bot, "organisational", channel="C2").id
    mine = post_checkin(bot, "organisational").id
    form = open_comment_form(bot, mine, "U2")
    edited = {**json.loads(form["private_metadata"]), "checkin": elsewhere}
    for metadata in (json.dumps(edited), forged_form(elsewhere)):
        reply = submit_comment(bot, elsewhere, "U2", 1, "not my channel", private_metadata=metadata)
        assert reply.json()["response_action"] == "errors"
    assert bot.store.answers.response_count(TEAM, elsewhere) == 0
    # The form as coprod opened it still works.
    assert submit_comment(bot, mine, "U2", 3, "fine", form=form).json()["response_action"] == "update"


@pytest.fixture(params=MODES)
def hostile_catalog_bot(request, tmp_path, stub, clock):
    """coprod with a custom catalog whose first level is named ``<!channel> <@U2>``."""
    catalog = json.loads((ROOT / "facilitators.json").read_text(encoding="utf-8"))
    catalog["levels"][0]["name"] = "<!channel> <@U2>"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    with running_bot(request, request.param, tmp_path, stub, clock, COPROD_FACILITATORS=str(path)) as running:
        yield running


def test_a_level_name_from_a_custom_catalog_is_escaped_everywhere(hostile_catalog_bot):
    """A custom catalog's level named `<!channel>` pings nobody from a summary or App Home."""
    bot = hostile_catalog_bot
    ask(bot, SETUP)
    answer = ask(bot, "summary")
    home = open_home(bot)
    for text in texts_in(answer) + texts_in(home):
        assert "<!channel>" not in text and "<@U2>" not in text
    assert any("&lt;!channel&gt;" in t for t in texts_in(answer))
    assert any("&lt;!channel&gt;" in t for t in texts_in(home))
