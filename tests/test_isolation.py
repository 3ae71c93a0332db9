"""Two workspaces in one database, each with a partnership in a channel called C1 (issue 4, item 4).

T1 and T2 share the channel id "C1" and even a person's user id ("U2" answers in both), as Slack ids
may collide across workspaces. Neither workspace can read (summary, App Home, export), change
(schedules, roles, coordinators, answers, meeting logs, modal submissions) or erase the other's data,
whatever ids its requests carry.
"""

from __future__ import annotations

import itertools
import json

import pytest
from conftest import CHANNEL, COORDINATOR

T1, T2 = "T1", "T2"
T2_COORDINATOR = "U21"
T1_SECRET, T2_SECRET = "t1-secret-comment", "t2-secret-comment"
_keys = itertools.count(1)


def words(payload: dict) -> str:
    return str(payload.get("text", "")) + "\n" + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def ask(bot, text: str, user: str, team: str) -> str:
    """`/coprod <text>` from ``user`` in ``team``/C1; the private answer, from the ack or the response_url."""
    key = f"{team}-{user}-{next(_keys)}"
    reply = bot.slack.command(text, user=user, team=team, channel=CHANNEL, response_url=bot.stub.response_url(key))
    assert reply.status == 200, reply.text
    body = reply.json()
    if body and (body.get("text") or body.get("blocks")):
        return words(body)
    [call] = bot.stub.wait_for("response_url", where=lambda c: c.args.get("_key") == key)
    return words(call.args)


def post_checkin(bot, user: str, team: str) -> int:
    """`/coprod checkin` in ``team``; the id of the check-in it posted."""
    seen = len(bot.stub.calls_to("chat.postMessage"))
    reply = bot.slack.command(
        "checkin", user=user, team=team, channel=CHANNEL, response_url=bot.stub.response_url(f"checkin-{next(_keys)}")
    )
    assert reply.status == 200
    call = bot.stub.wait_for("chat.postMessage", count=seen + 1)[seen]
    block_id = next(b["block_id"] for b in call.json("blocks") if b["type"] == "actions")
    return int(block_id.split(":")[1])


def rate(bot, team: str, checkin_id: int, user: str, rating: int):
    reply = bot.slack.click(
        f"rate:{rating}",
        str(rating),
        block_id=f"checkin:{checkin_id}",
        user=user,
        team=team,
        response_url=bot.stub.response_url(f"rate-{next(_keys)}"),
    )
    assert reply.status == 200
    return reply


def comment(bot, team: str, checkin_id: int, user: str, text: str, rating: str | None = None):
    values = {"comment": text}
    if rating:
        values["rating"] = {"rating": {"type": "radio_buttons", "selected_option": {"value": rating}}}
    return bot.slack.submit(
        "comment", values, private_metadata=json.dumps({"checkin": checkin_id}), user=user, team=team
    )


def state(bot, team: str) -> dict:
    """What one workspace holds about its partnership in C1, read through the store's verbs."""
    store = bot.store
    bot.drain()
    return {
        "partnership": store.partnerships.get(team, CHANNEL),
        "schedules": store.partnerships.schedules(store.partnerships.get(team, CHANNEL)),
        "coordinators": store.people.coordinators(store.partnerships.get(team, CHANNEL)),
        "roles": store.people.roles(store.partnerships.get(team, CHANNEL)),
        "optouts": store.people.reflexivity_optouts(store.partnerships.get(team, CHANNEL)),
        "asked": store.activity.last_asked(store.partnerships.get(team, CHANNEL)),
        "answers": list(store.answers.export_rows(team)),
        "last_meeting": store.activity.last_meeting(store.partnerships.get(team, CHANNEL)),
    }


@pytest.fixture
def two(bot):
    """T1: coordinator U1, a weekly schedule, U2 a carer, three ratings of 4 and U2's comment.
    T2: coordinator U21, U2 a researcher, one rating of 2 from U2 with a comment. Same channel C1."""
    bot.stub.add_user(T2_COORDINATOR, tz="America/Toronto", name="zoe")
    bot.stub.add_channel(CHANNEL, ["U1", "U2", "U3", "U4", "UADMIN", "UBOT", T2_COORDINATOR], name="partnership")
    a = post_checkin(bot, COORDINATOR, T1)
    assert "All set" in ask(bot, "schedule checkins weekly Tuesday 10:00", COORDINATOR, T1)
    assert "carer" in ask(bot, "role <@U2> carer", COORDINATOR, T1)
    for user in ("U2", "U3", "U4"):
        rate(bot, T1, a, user, 4)
    assert comment(bot, T1, a, "U2", T1_SECRET).json()["response_action"] == "update"

    b = post_checkin(bot, T2_COORDINATOR, T2)
    assert a != b
    assert "researcher" in ask(bot, "role <@U2> researcher", T2_COORDINATOR, T2)
    assert comment(bot, T2, b, "U2", T2_SECRET, rating="2").json()["response_action"] == "update"
    bot.drain()
    assert bot.store.answers.response_count(T1, a) == 3
    assert bot.store.answers.response_count(T2, b) == 1
    return a, b


# ---- reading -----------------------------------------------------------------------------------


def test_each_summary_counts_only_its_own_workspace(bot, two):
    mine, theirs = ask(bot, "summary", COORDINATOR, T1), ask(bot, "summary", T2_COORDINATOR, T2)
    assert "3 answers from 3 people" in mine and "4.0 of 5" in mine
    assert "1 answers from 1 person" in theirs or "1 answer from 1 person" in theirs
    assert "answers from 3 people" not in theirs and "4.0 of 5" not in theirs
    assert "from 1 person" not in mine
    # a member of T2 who is nobody in T1 sees T1's numbers only from T1, and T2's only from T2
    assert ask(bot, "summary", "U3", T2) == theirs


def test_mention_summary_posts_only_its_own_workspace(bot, two):
    seen = len(bot.stub.calls_to("chat.postMessage"))
    bot.slack.event(
        {"type": "app_mention", "user": T2_COORDINATOR, "channel": CHANNEL, "text": "<@UBOT> summary", "ts": "1.1"},
        team=T2,
        event_id="EvMention2",
    )
    posted = bot.stub.wait_for("chat.postMessage", count=seen + 1)[seen]
    text = words({"text": posted.args.get("text"), "blocks": posted.json("blocks")})
    assert "from 1 person" in text and "answers from 3 people" not in text and "4.0 of 5" not in text


def _home(bot, user: str, team: str) -> str:
    seen = len(bot.stub.calls_to("views.publish"))
    bot.slack.event(
        {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"},
        team=team,
        event_id=f"EvHome{next(_keys)}",
    )
    [call] = bot.stub.wait_for("views.publish", count=seen + 1)[seen:]
    assert call.args["user_id"] == user
    return json.dumps(call.json("view"), ensure_ascii=False)


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
    said = ask(bot, "export", user, team)
    assert "export" in said
    [upload] = bot.stub.wait_for("file_upload", count=seen + 1)[seen:]
    return upload.args["_raw"]


def test_each_export_holds_only_its_own_workspace(bot, two):
    t1, t2 = _export(bot, COORDINATOR, T1), _export(bot, T2_COORDINATOR, T2)
    assert T1_SECRET in t1 and T2_SECRET not in t1
    assert T2_SECRET in t2 and T1_SECRET not in t2
    assert t1.count("\n") > t2.count("\n")  # 3 answers against 1
    assert "carer" in t1 and "carer" not in t2


def test_a_coordinator_of_one_workspace_cannot_export_the_other(bot, two):
    uploads = len(bot.stub.calls_to("file_upload"))
    said = ask(bot, "export", T2_COORDINATOR, T1)
    assert "only coordinators" in said
    said = ask(bot, "export", COORDINATOR, T2)
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
    before = {T1: state(bot, T1), T2: state(bot, T2)}
    assert "only coordinators" in ask(bot, text, T2_COORDINATOR, T1)
    assert "only coordinators" in ask(bot, text, COORDINATOR, T2)
    assert {T1: state(bot, T1), T2: state(bot, T2)} == before


def test_a_coordinators_change_stays_in_its_workspace(bot, two):
    before = state(bot, T2)
    assert "All set" in ask(bot, "schedule summary monthly Friday 15:00", COORDINATOR, T1)
    assert "Done" in ask(bot, "coordinators add <@U21>", COORDINATOR, T1)
    assert "manager" in ask(bot, "role <@U2> manager", COORDINATOR, T1)
    assert state(bot, T2) == before
    assert bot.store.people.roles(bot.store.partnerships.get(T1, CHANNEL))["U2"] == "manager"
    assert bot.store.people.roles(bot.store.partnerships.get(T2, CHANNEL))["U2"] == "researcher"


def test_a_click_on_the_other_workspaces_checkin_is_ignored(bot, two):
    a, b = two
    before = {T1: state(bot, T1), T2: state(bot, T2)}
    rate(bot, T1, b, "U3", 5)  # T2's check-in id, sent from T1
    rate(bot, T2, a, T2_COORDINATOR, 1)  # T1's check-in id, sent from T2
    rate(bot, T2, a, "U2", 1)  # and by the person who answered it in T1
    bot.slack.click("comment", "comment", block_id=f"checkin:{b}", user="U3", team=T1)
    assert {T1: state(bot, T1), T2: state(bot, T2)} == before
    assert bot.store.answers.response_count(T1, a) == 3 and bot.store.answers.response_count(T2, b) == 1
    assert bot.store.answers.my_answer(T2, a, "U2") is None
    assert not bot.stub.calls_to("views.open")


def test_a_modal_naming_the_other_workspaces_checkin_is_refused(bot, two):
    a, b = two
    before = {T1: state(bot, T1), T2: state(bot, T2)}
    answer = comment(bot, T1, b, "U2", "planted", rating="5").json()
    assert answer["response_action"] == "errors"
    answer = comment(bot, T2, a, "U2", "planted", rating="5").json()
    assert answer["response_action"] == "errors"
    assert {T1: state(bot, T1), T2: state(bot, T2)} == before


def test_we_met_logs_only_its_own_workspaces_meeting(bot, two):
    before = state(bot, T2)
    reply = bot.slack.click("met", "2026-11-23", block_id="meeting:2026-11-23", user="U3", team=T1)
    assert reply.status == 200
    assert state(bot, T1)["last_meeting"] is not None
    assert state(bot, T2) == before
    assert before["last_meeting"] is None
    # The same date in T2 is T2's own first log.
    bot.slack.click("met", "2026-11-23", block_id="meeting:2026-11-23", user=T2_COORDINATOR, team=T2)
    assert state(bot, T2)["last_meeting"] is not None


def test_home_buttons_act_only_in_the_clickers_workspace(bot, two):
    before = state(bot, T2)
    bot.slack.click("home_checkin", CHANNEL, user=COORDINATOR, team=T2, container_type="view")
    bot.slack.click("home_summary", CHANNEL, user=COORDINATOR, team=T2, container_type="view")
    bot.slack.click("reflexivity_off", CHANNEL, user="U2", team=T1, container_type="view")
    after = state(bot, T2)
    assert after == before
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(T1, CHANNEL)) == {"U2"}
    refusals = [c for c in bot.stub.calls_to("chat.postMessage") if c.args.get("channel") == COORDINATOR]
    assert refusals and "only coordinators" in refusals[-1].args["text"]


def test_forget_me_in_one_workspace_leaves_the_other_alone(bot, two):
    a, b = two
    before = state(bot, T2)
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
    assert state(bot, T2) == before
    mine = bot.store.answers.my_answer(T2, b, "U2")
    assert mine is not None and mine.comment == T2_SECRET
    assert bot.store.people.roles(bot.store.partnerships.get(T2, CHANNEL))["U2"] == "researcher"
