"""Two workspaces in one database, each with a partnership in a channel called C1 (issue 4, item 4).

T1 and T2 share the channel id "C1" and even a person's user id ("U2" answers in both), as Slack ids
may collide across workspaces. Neither workspace can read (summary, App Home, export), change
(schedules, roles, coordinators, answers, meeting logs, modal submissions) or erase the other's data,
whatever ids its requests carry.
"""

from __future__ import annotations

import json

import pytest

from tests.support.blockkit import words
from tests.support.constants import CHANNEL, COORDINATOR
from tests.support.flows import (
    ask,
    click_rating,
    message_in,
    open_comment_form,
    open_home,
    post_checkin,
    rate,
    submit_comment,
)
from tests.support.stored import store_state

T1, T2 = "T1", "T2"
T2_COORDINATOR = "U21"
T1_SECRET, T2_SECRET = "t1-secret-comment", "t2-secret-comment"


def ask_in(bot, text: str, user: str, team: str) -> str:
    """`/coprod <text>` from ``user`` in ``team``/C1; the words of the private answer."""
    return words(ask(bot, text, user=user, team=team))


@pytest.fixture
def two(bot):
    """T1: coordinator U1, a weekly schedule, U2-U4 carers, three ratings of 4 and U2's comment.
    T2: coordinator U21, U2 a researcher, three ratings of 2 and U2's comment. Same channel C1.
    Both check-ins are still open (``closed`` moves on a week)."""
    bot.stub.add_user(T2_COORDINATOR, tz="America/Toronto", name="zoe")
    bot.stub.add_channel(CHANNEL, ["U1", "U2", "U3", "U4", "UADMIN", "UBOT", T2_COORDINATOR], name="partnership")
    a = post_checkin(bot, user=COORDINATOR, team=T1).id
    assert "All set" in ask_in(bot, "schedule checkins weekly Tuesday 10:00", COORDINATOR, T1)
    for user in ("U2", "U3", "U4"):
        assert "carer" in ask_in(bot, f"role <@{user}> carer", COORDINATOR, T1)
        rate(bot, a, 4, user, team=T1)
    assert submit_comment(bot, a, "U2", comment=T1_SECRET, team=T1).json()["response_action"] == "update"

    b = post_checkin(bot, user=T2_COORDINATOR, team=T2).id
    assert a != b
    assert "researcher" in ask_in(bot, "role <@U2> researcher", T2_COORDINATOR, T2)
    assert submit_comment(bot, b, "U2", rating=2, comment=T2_SECRET, team=T2).json()["response_action"] == "update"
    for user in ("U3", "U4"):
        rate(bot, b, 2, user, team=T2)
    bot.drain()
    assert bot.store.answers.response_count(T1, a) == 3
    assert bot.store.answers.response_count(T2, b) == 3
    return a, b


def closed(bot) -> None:
    """A week on: both check-ins have closed, so their averages count."""
    bot.clock.advance(days=7)


# ---- reading -----------------------------------------------------------------------------------


def test_each_summary_counts_only_its_own_workspace(bot, two):
    closed(bot)
    mine, theirs = ask_in(bot, "summary", COORDINATOR, T1), ask_in(bot, "summary", T2_COORDINATOR, T2)
    assert "3 answers from 3 people" in mine and "4.0 of 5" in mine
    assert "3 answers from 3 people" in theirs and "2.0 of 5" in theirs
    assert "4.0 of 5" not in theirs and "2.0 of 5" not in mine
    # a member of T2 who is nobody in T1 sees T1's numbers only from T1, and T2's only from T2
    assert ask_in(bot, "summary", "U3", T2) == theirs


def test_mention_summary_posts_only_its_own_workspace(bot, two):
    closed(bot)
    seen = len(bot.stub.calls_to("chat.postMessage"))
    bot.slack.event(
        {"type": "app_mention", "user": T2_COORDINATOR, "channel": CHANNEL, "text": "<@UBOT> summary", "ts": "1.1"},
        team=T2,
        event_id="EvMention2",
    )
    posted = bot.stub.wait_for("chat.postMessage", count=seen + 1)[seen]
    text = words({"text": posted.args.get("text"), "blocks": posted.json("blocks")})
    assert "2.0 of 5" in text and "4.0 of 5" not in text


def _home(bot, user: str, team: str) -> str:
    return json.dumps(open_home(bot, user, team), ensure_ascii=False)


def test_app_home_shows_each_workspace_its_own_partnership(bot, two):
    t1, t2 = _home(bot, "U2", T1), _home(bot, "U2", T2)
    assert "Next check-in: Tue" in t1  # T1 has a weekly schedule
    assert "Next check-in: not set" in t2  # T2 has none
    assert "Next check-in: Tue" not in t2
    # Coordinator buttons follow the workspace: U1 coordinates T1 only, U21 coordinates T2 only.
    assert "home_checkin" in _home(bot, COORDINATOR, T1)
    assert "home_checkin" not in _home(bot, COORDINATOR, T2)
    assert "home_checkin" in _home(bot, T2_COORDINATOR, T2)
    assert "home_checkin" not in _home(bot, T2_COORDINATOR, T1)


def _export(bot, user: str, team: str) -> str:
    seen = len(bot.stub.calls_to("file_upload"))
    said = ask_in(bot, "export", user, team)
    assert "export" in said
    [upload] = bot.stub.wait_for("file_upload", count=seen + 1)[seen:]
    return upload.args["_raw"]


def test_each_export_holds_only_its_own_workspace(bot, two):
    closed(bot)
    t1, t2 = _export(bot, COORDINATOR, T1), _export(bot, T2_COORDINATOR, T2)
    assert T1_SECRET in t1 and T2_SECRET not in t1
    assert T2_SECRET in t2 and T1_SECRET not in t2
    assert '"4"' in t1 and '"4"' not in t2 and '"2"' in t2 and '"2"' not in t1
    assert "carer" in t1 and "carer" not in t2


def test_a_coordinator_of_one_workspace_cannot_export_the_other(bot, two):
    uploads = len(bot.stub.calls_to("file_upload"))
    said = ask_in(bot, "export", T2_COORDINATOR, T1)
    assert "only coordinators" in said
    said = ask_in(bot, "export", COORDINATOR, T2)
    assert "only coordinators" in said
    bot.drain()
    assert len(bot.stub.calls_to("file_upload")) == uploads


# ---- changing ----------------------------------------------------------------------------------

CROSS_COMMANDS = [
    "schedule checkins monthly Friday 15:00",
    "schedule checkins off",
    "meeting every Monday 09:00",
    "role <@U2> manager",
    "coordinators add <@U21>",
    "coordinators add <@U1>",
    "coordinators remove <@U1>",
    "coordinators remove <@U21>",
    "timezone Asia/Tokyo",
    "next societal",
    "retention 1",
]


@pytest.mark.parametrize("text", CROSS_COMMANDS)
def test_coordinator_rights_stop_at_the_workspace(bot, two, text):
    before = {T1: store_state(bot, T1), T2: store_state(bot, T2)}
    assert "only coordinators" in ask_in(bot, text, T2_COORDINATOR, T1)
    assert "only coordinators" in ask_in(bot, text, COORDINATOR, T2)
    assert {T1: store_state(bot, T1), T2: store_state(bot, T2)} == before


def test_a_coordinators_change_stays_in_its_workspace(bot, two):
    before = store_state(bot, T2)
    assert "All set" in ask_in(bot, "schedule summary monthly Friday 15:00", COORDINATOR, T1)
    assert "Done" in ask_in(bot, "coordinators add <@U21>", COORDINATOR, T1)
    assert "manager" in ask_in(bot, "role <@U2> manager", COORDINATOR, T1)
    assert store_state(bot, T2) == before
    assert bot.store.people.roles(bot.store.partnerships.get(T1, CHANNEL))["U2"] == "manager"
    assert bot.store.people.roles(bot.store.partnerships.get(T2, CHANNEL))["U2"] == "researcher"


def test_a_click_on_the_other_workspaces_checkin_is_ignored(bot, two):
    a, b = two
    before = {T1: store_state(bot, T1), T2: store_state(bot, T2)}
    forms = len(bot.stub.calls_to("views.open"))
    assert click_rating(bot, b, 5, "U3", team=T1).status == 200  # T2's check-in id, sent from T1
    assert click_rating(bot, a, 1, T2_COORDINATOR, team=T2).status == 200  # T1's check-in id, sent from T2
    assert click_rating(bot, a, 1, "U2", team=T2).status == 200  # and by the person who answered it in T1
    bot.slack.click("comment", "comment", block_id=f"checkin:{b}", user="U3", team=T1)
    assert {T1: store_state(bot, T1), T2: store_state(bot, T2)} == before
    assert bot.store.answers.response_count(T1, a) == 3 and bot.store.answers.response_count(T2, b) == 3
    assert bot.store.answers.my_answer(T2, a, "U2") is None
    assert len(bot.stub.calls_to("views.open")) == forms


def test_a_modal_naming_the_other_workspaces_checkin_is_refused(bot, two):
    a, b = two
    form_a, form_b = open_comment_form(bot, a, "U2", team=T1), open_comment_form(bot, b, "U2", team=T2)
    before = {T1: store_state(bot, T1), T2: store_state(bot, T2)}
    answer = submit_comment(bot, b, "U2", rating=5, comment="planted", team=T1, form=form_b).json()
    assert answer["response_action"] == "errors"
    answer = submit_comment(bot, a, "U2", rating=5, comment="planted", team=T2, form=form_a).json()
    assert answer["response_action"] == "errors"
    assert {T1: store_state(bot, T1), T2: store_state(bot, T2)} == before


def test_we_met_logs_only_its_own_workspaces_meeting(bot, two):
    before = store_state(bot, T2)
    reminder = message_in(bot)
    reply = bot.slack.click("met", "2026-11-23", block_id="meeting:2026-11-23", user="U3", team=T1, message_ts=reminder)
    assert reply.status == 200
    assert store_state(bot, T1)["last_meeting"] is not None
    assert store_state(bot, T2) == before
    assert before["last_meeting"] is None
    # The same date in T2 is T2's own first log.
    bot.slack.click(
        "met", "2026-11-23", block_id="meeting:2026-11-23", user=T2_COORDINATOR, team=T2, message_ts=message_in(bot)
    )
    assert store_state(bot, T2)["last_meeting"] is not None


def test_home_buttons_act_only_in_the_clickers_workspace(bot, two):
    before = store_state(bot, T2)
    bot.slack.click("home_checkin", CHANNEL, user=COORDINATOR, team=T2, container_type="view")
    bot.slack.click("home_summary", CHANNEL, user=COORDINATOR, team=T2, container_type="view")
    bot.slack.click("reflexivity_off", CHANNEL, user="U2", team=T1, container_type="view")
    after = store_state(bot, T2)
    assert after == before
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(T1, CHANNEL)) == {"U2"}
    refusals = [c for c in bot.stub.calls_to("chat.postMessage") if c.args.get("channel") == COORDINATOR]
    assert refusals and "only coordinators" in refusals[-1].args["text"]


def test_forget_me_in_one_workspace_leaves_the_other_alone(bot, two):
    a, b = two
    before = store_state(bot, T2)
    reply = bot.slack.click(
        "forget_me_confirm",
        "confirm",
        block_id="forget-me",
        user="U2",
        team=T1,
        is_ephemeral=True,
        response_url=bot.stub.response_url("forget"),
    )
    assert reply.status == 200
    bot.drain()
    assert bot.store.answers.my_answer(T1, a, "U2") is None
    assert bot.store.answers.response_count(T1, a) == 2
    assert "U2" not in bot.store.people.roles(bot.store.partnerships.get(T1, CHANNEL))
    assert store_state(bot, T2) == before
    mine = bot.store.answers.my_answer(T2, b, "U2")
    assert mine is not None and mine.comment == T2_SECRET
    assert bot.store.people.roles(bot.store.partnerships.get(T2, CHANNEL))["U2"] == "researcher"
