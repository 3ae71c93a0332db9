"""Planning an action from a flag, through Slack: "Plan something" on a summary or App Home, the form, the post in
the channel, `/coprod actions`, and Done and Drop for the action's owner or a coordinator (both modes)."""

from __future__ import annotations

import csv
import io
import json

from tests.support.blockkit import check_message_blocks, texts_in
from tests.support.constants import ADMIN, BOT_USER, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import (
    action_posts,
    ask,
    change_action,
    configure,
    filled_in,
    open_home,
    open_plan_form,
    plan,
    plan_buttons_in,
    replies_to,
    submit_plan,
)
from tests.support.waiting import eventually

SETUP = "schedule checkins weekly Tuesday 10:00"
NASTY = "Share the minutes <!channel> & <@U999>"


def test_plan_something_on_a_summary_posts_the_action_to_the_channel(bot):
    """A member presses "Plan something" beside the flagged regular-meetings practice in their summary: the form
    pre-selects it; they plan "take turns chairing" led by U2 by 1 December, and the channel is told, once."""
    configure(bot, SETUP)
    summary = ask(bot, "summary", user="U3")
    buttons = plan_buttons_in(summary["blocks"])
    assert f"{CHANNEL}|practice:regular-meetings" in buttons and f"{CHANNEL}|level:societal" in buttons
    form = open_plan_form(bot, f"{CHANNEL}|practice:regular-meetings", "U3")
    practice = next(b for b in form["blocks"] if b.get("block_id") == "practice")["element"]
    assert practice["initial_option"]["value"] == "regular-meetings"

    reply = submit_plan(bot, form, "U3", what=NASTY, practice="regular-meetings", lead="U2", due="2026-12-01")

    assert reply.status == 200 and not (reply.json() or {}).get("errors")
    [post] = bot.stub.wait_for("chat.postMessage", where=lambda c: action_posts(bot.stub))
    check_message_blocks(post.json("blocks"))
    said = "\n".join(texts_in(post.json("blocks")))
    assert "<@U2> will try share the minutes &lt;!channel&gt; &amp; &lt;@U999&gt;, by 1 December" in said
    assert "for *Regular meetings (face-to-face or web-based)*" in said and "Planned by <@U3>" in said
    [a] = bot.store.plans.open_actions(bot.store.partnerships.get(TEAM, CHANNEL))
    assert (a.what, a.lead, a.planned_by, a.due_on.isoformat()) == (NASTY, "U2", "U3", "2026-12-01")
    bot.drain()
    assert len(action_posts(bot.stub)) == 1
    assert bot.store.plans.get(TEAM, a.id).message_ts == post.response["ts"]


def test_the_channel_summary_has_plan_buttons_for_its_own_channel(bot):
    """A summary posted in the channel carries the buttons too, each naming that channel."""
    configure(bot, SETUP)
    bot.slack.event({"type": "app_mention", "user": "U2", "text": "<@UBOT> summary", "channel": CHANNEL})
    [post] = bot.stub.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL)
    assert len(plan_buttons_in(post.json("blocks"))) == 6


def test_bad_input_in_the_plan_form_is_named_and_changes_nothing(bot):
    """Nothing to do, a date gone by, a practice not in the catalog, a lead who isn't a person: each error is
    shown beside its field, and no action is stored."""
    configure(bot, SETUP)
    form = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    cases = [
        ({"what": "   "}, "what", "say what you will do"),
        ({"what": "x" * 501}, "what", "under 500"),
        ({"due": "2026-11-01"}, "due", "has passed"),
        ({"due": "2028-01-01"}, "due", "within a year"),
        ({"practice": "not-a-practice"}, "practice", "from the list"),
        ({"lead": "<!channel>"}, "lead", "pick a person"),
    ]
    for values, field, words in cases:
        body = submit_plan(bot, form, "U3", **values).json()
        assert body["response_action"] == "errors" and words in body["errors"][field], (values, body)
    assert bot.store.plans.open_actions(bot.store.partnerships.get(TEAM, CHANNEL)) == []
    assert action_posts(bot.stub) == []


def test_a_plan_form_not_opened_for_this_person_and_channel_stores_nothing(bot):
    """The form carries a keyed seal on (person, channel): submitted by someone else, edited to name another
    channel, or made up, it is refused."""
    configure(bot, SETUP)
    bot.stub.add_channel("C2", ["U1", "U3", BOT_USER], name="other")  # a second channel coprod is in
    configure(bot, SETUP, channel="C2")
    form = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    other = json.loads(form["private_metadata"]) | {"channel": "C2"}
    for user, metadata in (
        ("U4", form["private_metadata"]),
        ("U3", json.dumps(other)),
        ("U3", json.dumps({"channel": CHANNEL, "seal": "0" * 32})),
        ("U3", "not json"),
    ):
        body = submit_plan(bot, {"private_metadata": metadata}, user).json()
        assert body["response_action"] == "errors" and "press “Plan something” again" in body["errors"]["what"]
    for channel in (CHANNEL, "C2"):
        assert bot.store.plans.open_actions(bot.store.partnerships.get(TEAM, channel)) == []


def test_a_plan_forms_seal_names_its_one_form_and_expires(bot):
    """Issue 22, finding 6: a seal on (person, channel) alone could be reused for any number of forms. Now a
    form planned from once can't be submitted again, a seal made for (person, channel) only is refused, and a
    form left open past its seal's life is refused kindly; a fresh form still plans."""
    configure(bot, SETUP)
    form = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    assert not (submit_plan(bot, form, "U3").json() or {}).get("errors")
    again = submit_plan(bot, form, "U3", what="Something else entirely").json()
    assert again["response_action"] == "errors" and "press “Plan something” again" in again["errors"]["what"]
    old_style = bot.store.answers.responder_key(TEAM, f"U3#plan:{CHANNEL}")  # the seal before issue 22
    body = submit_plan(bot, {"private_metadata": json.dumps({"channel": CHANNEL, "seal": old_style})}, "U3").json()
    assert body["response_action"] == "errors"
    stale = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    bot.clock.advance(hours=24, minutes=1)
    body = submit_plan(bot, stale, "U3", what="Late but keen").json()
    assert body["response_action"] == "errors" and "press “Plan something” again" in body["errors"]["what"]
    fresh = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    assert not (submit_plan(bot, fresh, "U3", what="Fresh and on time").json() or {}).get("errors")
    assert len(bot.store.plans.open_actions(bot.store.partnerships.get(TEAM, CHANNEL))) == 2


def test_a_plan_button_naming_another_channel_opens_nothing(bot):
    """A click in one channel whose button names another (forged), or a partnership that doesn't exist: no form."""
    configure(bot, SETUP)
    for value in ("C2|level:group", f"{CHANNEL}|bogus:x", "nonsense"):
        assert bot.slack.click("plan_open", value, user="U3", channel=CHANNEL).status == 200
    bot.drain()
    assert bot.stub.calls_to("views.open") == []


def test_app_home_shows_plan_buttons_and_checks_the_person_is_in_the_channel(bot):
    """App Home's buttons name their channel: a member gets the form; someone not in the channel is told why, in
    the modal that opened at once."""
    configure(bot, SETUP)
    view = open_home(bot, user="U2")
    assert f"{CHANNEL}|level:individual" in plan_buttons_in(view["blocks"])
    form = open_plan_form(bot, f"{CHANNEL}|level:individual", "U2", home=True)
    practice = next(b for b in form["blocks"] if b.get("block_id") == "practice")["element"]
    assert practice["initial_option"]["value"] == "regular-interaction"  # the level's least recently asked

    bot.stub.add_user("UOUT", tz="Europe/London")
    trigger = bot.stub.trigger("UOUT")
    bot.slack.click("plan_open", f"{CHANNEL}|level:group", user="UOUT", container_type="view", trigger_id=trigger)
    [opened] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    told = filled_in(bot, opened.response["view"]["id"])
    assert f"Only people in <#{CHANNEL}> can plan something" in json.dumps(told)
    assert "callback_id" not in told and "submit" not in told  # nothing to plan with


def test_coprod_actions_lists_open_actions_with_done_and_drop_for_owners_and_coordinators(bot):
    """U3 plans one led by U2: U2 (lead), U3 (planner) and the coordinator see Done and Drop; U4 sees the list."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2", due="2026-12-01")
    for user, buttons in ((COORDINATOR, True), ("U2", True), ("U3", True), ("U4", False)):
        answer = ask(bot, "actions", user=user)
        check_message_blocks(answer["blocks"])
        assert "will try take turns chairing our meetings" in "\n".join(texts_in(answer["blocks"]))
        ids = {b.get("block_id") for b in answer["blocks"]}
        assert (f"action:{action}" in ids) is buttons, user
    assert answer["_via"] == "ack"  # answered in the acknowledgement: nothing to ask of Slack


def test_done_from_the_list_closes_the_action_and_shows_it_on_the_post(bot):
    """The lead presses Done in `/coprod actions`: it is done before Slack hears back, the list is redrawn and the
    channel post says so."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2")
    reply = change_action(
        bot, action, "done", "U2", is_ephemeral=True, message_ts="1.0", response_url=bot.stub.response_url("list")
    )
    assert reply.status == 200 and bot.store.plans.get(TEAM, action).status == "done"
    [redrawn] = replies_to(bot, "list")
    assert redrawn.args["replace_original"] is True and "Well done" in redrawn.args["text"]
    post_ts = bot.store.plans.get(TEAM, action).message_ts
    [update] = bot.stub.wait_for("chat.update", where=lambda c: c.args.get("ts") == post_ts)
    assert "Done on" in json.dumps(update.json("blocks")) and not [
        b for b in update.json("blocks") if b["type"] == "actions"
    ]
    assert [e[0] for e in bot.store.plans.events(TEAM, action)] == ["planned", "done"]


def test_someone_else_cannot_close_an_action_and_is_told_who_can(bot):
    """U4 is neither lead, planner nor coordinator: Done and Drop change nothing and they hear why, kindly."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2")
    for what in ("done", "drop"):
        key = f"no-{what}"
        assert change_action(bot, action, what, "U4", response_url=bot.stub.response_url(key)).status == 200
        [told] = replies_to(bot, key)
        assert "only whoever leads or planned this action, and coordinators" in told.args["text"]
    assert bot.store.plans.get(TEAM, action).status == "open"


def test_a_workspace_admin_may_drop_any_action(bot):
    """A workspace admin coordinates too, as Slack says: their Drop goes through once Slack has said so."""
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2")
    assert change_action(bot, action, "drop", ADMIN, response_url=bot.stub.response_url("admin")).status == 200
    assert eventually(lambda: bot.store.plans.get(TEAM, action).status == "dropped")
    bot.drain()
    assert [e[0] for e in bot.store.plans.events(TEAM, action)] == ["planned", "dropped"]


def test_a_double_click_closes_once_and_another_workspaces_click_changes_nothing(bot):
    configure(bot, SETUP)
    action = plan(bot, "U3", lead="U2")
    assert change_action(bot, action, "done", "U2", response_url=bot.stub.response_url("d1")).status == 200
    assert change_action(bot, action, "drop", "U2", response_url=bot.stub.response_url("d2")).status == 200
    [told] = replies_to(bot, "d2")
    assert "already closed" in told.args["text"]
    assert change_action(bot, action, "done", "U2", team="T2").status == 200
    assert [e[0] for e in bot.store.plans.events(TEAM, action)] == ["planned", "done"]


def test_app_home_shows_the_open_actions(bot):
    configure(bot, SETUP)
    plan(bot, "U3", lead="U2", due="2026-12-01")
    said = json.dumps(open_home(bot, user="U4")["blocks"])
    assert "What we said we'd do" in said and "<@U2> will try take turns chairing our meetings, by 1 December" in said


def test_the_export_sends_the_actions_too_without_anyones_answers_pseudonym(bot):
    """`/coprod export` uploads the answers and, when there are actions, the actions: the lead as an L-
    pseudonym that is none of the answers' P- pseudonyms, nobody's Slack id."""
    configure(bot, SETUP)
    plan(bot, "U3", lead="U2")
    ask(bot, "export")
    uploads = bot.stub.wait_for("file_upload", count=2)
    actions = next(c.args["_raw"] for c in uploads if "planned_on" in c.args["_raw"])
    [row] = list(csv.DictReader(io.StringIO(actions)))
    assert row["lead"].startswith("L-") and row["status"] == "open"
    assert "U2" not in actions and "U3" not in actions
    bot.drain()  # the export's follow-up has finished: no third file comes after these
    assert len(bot.stub.calls_to("file_upload")) == 2
