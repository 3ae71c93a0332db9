"""Forms open first (issue 21, item 4) and a failed form's answer names one of its own blocks (item 5).

A trigger id works for 3 seconds after the click (https://docs.slack.dev/reference/methods/views.open): each
modal opens at once, on a lane of its own that uploads, 429 waits and slow pages of Slack's can't hold up, and
whatever is slow to fill it in follows with views.update. Order is read from which call reached Slack first,
never from the clock. Both Slack modes.
"""

from __future__ import annotations

import json
import sqlite3

from bot.work.followups import WORKERS
from tests.support.constants import CHANNEL
from tests.support.flows import filled_in, open_comment_form, open_plan_form, post_checkin, submit_comment

SETUP = "schedule checkins weekly Tuesday 10:00"


def _click_plan_on_home(bot, user: str) -> str:
    """``user`` presses Plan something on Home; the trigger id Slack issued for the click."""
    trigger = bot.stub.trigger(user)
    reply = bot.slack.click("plan_open", f"{CHANNEL}|level:group", user=user, container_type="view", trigger_id=trigger)
    assert reply.status == 200
    return trigger


def _first(bot, *methods: str) -> str:
    """Which of ``methods`` reached Slack first."""
    return next(c.method for c in bot.stub.calls if c.method in methods)


def test_the_plan_form_on_home_opens_before_slack_lists_the_persons_channels(bot):
    """Issue 21: the form from Home paged through users.conversations before views.open, so a slow Slack made
    the trigger expire and nothing opened. Now a waiting modal opens while that call is still unanswered,
    and the form fills it in (views.update, with the opened view's hash) once Slack answers."""
    bot.command(SETUP)
    bot.drain()
    held = bot.stub.hold("users.conversations", accepted=True)
    try:
        trigger = _click_plan_on_home(bot, "U2")
        [opened] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
        assert "One moment" in json.dumps(opened.json("view"))
        assert _first(bot, "views.open", "users.conversations") == "views.open"
        assert not bot.stub.calls_to("views.update")  # still waiting on Slack's answer
    finally:
        held.set()
    view_id = opened.response["view"]["id"]
    form = filled_in(bot, view_id)
    assert form["callback_id"] == "plan" and {"what", "practice", "lead", "due"} <= block_ids(form)
    [update] = bot.stub.calls_to("views.update")
    assert update.args.get("hash") == opened.response["view"]["hash"]  # not over a change made meanwhile


def test_when_slack_cant_list_the_persons_channels_the_open_modal_says_so(bot):
    """If Slack refuses the membership check, the modal already open says kindly what happened and what to do
    (not the form, and not a wrong "you're not in the channel")."""
    bot.command(SETUP)
    bot.drain()
    bot.stub.fail("users.conversations", "internal_error")
    trigger = _click_plan_on_home(bot, "U2")
    [opened] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    said = json.dumps(filled_in(bot, opened.response["view"]["id"]))
    assert "couldn't check with Slack" in said and "again in a minute" in said
    assert "Only people in" not in said and "internal_error" not in said


def test_a_comment_form_opens_while_uploads_hold_every_follow_up_worker(bot):
    """Issue 21: modals waited in the same few threads as uploads. With as many exports as there are workers,
    each stuck in Slack's upload, a click on "Add a comment" still opens its form before any upload is let go."""
    checkin = post_checkin(bot)
    bot.drain()
    holds = [bot.stub.hold("files.getUploadURLExternal", accepted=True) for _ in range(WORKERS)]
    try:
        for n in range(WORKERS):
            reply = bot.command("export", response_url=bot.stub.response_url(f"export-{n}"))
            assert reply.status == 200
        bot.stub.wait_for("files.getUploadURLExternal", count=WORKERS)  # every worker is stuck in an upload
        form = open_comment_form(bot, checkin.id, "U2")
        assert form["callback_id"] == "comment"
        assert not bot.stub.calls_to("files.completeUploadExternal")  # no upload had finished
    finally:
        for held in holds:
            held.set()
    bot.stub.wait_for("files.completeUploadExternal", count=WORKERS, timeout=15)
    assert submit_comment(bot, checkin.id, "U2", 4, "Fine", form=form).json()["response_action"] == "update"


def block_ids(view: dict) -> set[str]:
    return {b["block_id"] for b in view["blocks"] if "block_id" in b}


def test_every_error_a_plan_form_gets_names_one_of_its_own_blocks(bot):
    """Slack shows a form's errors under its input blocks and refuses an answer naming another block
    (https://docs.slack.dev/surfaces/modals#displaying_errors). A plan form coprod couldn't store got its sorry
    under a "comment" block it doesn't have: now every error, a field's, a refused form's or a failure's, names
    a block of the form submitted."""
    bot.command(SETUP)
    bot.drain()
    form = open_plan_form(bot, f"{CHANNEL}|level:group", "U3")
    inputs = {b["block_id"] for b in form["blocks"] if b["type"] == "input"}

    def submit(user: str = "U3", metadata: str = form["private_metadata"], **values) -> dict:
        filled = {"what": "Take turns chairing", "practice": "power-imbalances", "lead": None, "due": None} | values
        state = {
            "what": {"what": {"type": "plain_text_input", "value": filled["what"]}},
            "practice": {
                "practice": {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": filled["practice"]},
                }
            },
            "lead": {"lead": {"type": "users_select", "selected_user": filled["lead"]}},
            "due": {"due": {"type": "datepicker", "selected_date": filled["due"]}},
        }
        reply = bot.slack.submit("plan", state, user=user, private_metadata=metadata, view=form)
        assert reply.status == 200, reply.text
        return reply.json()

    answers = [
        submit(what="  "),
        submit(due="2020-01-01", lead="<!channel>", practice="nope"),
        submit(user="U4"),  # a form opened for someone else
        submit(metadata="{}"),
    ]
    with sqlite3.connect(bot.runtime.settings.db_path) as conn:  # break the database under the bot
        conn.execute("ALTER TABLE actions RENAME TO actions_gone")
    failed = submit()
    assert "Sorry" in json.dumps(failed)
    for answer in [*answers, failed]:
        assert answer["response_action"] == "errors" and answer["errors"], answer
        assert set(answer["errors"]) <= inputs, answer


def test_a_failed_comment_form_still_names_its_own_block(bot):
    """The comment form keeps its sorry beside one of its own inputs when its answer can't be stored."""
    checkin = post_checkin(bot)
    form = open_comment_form(bot, checkin.id, "U2")
    with sqlite3.connect(bot.runtime.settings.db_path) as conn:
        conn.execute("ALTER TABLE responses RENAME TO responses_gone")
    reply = submit_comment(bot, checkin.id, "U2", rating=4, form=form, view=form)
    body = reply.json()
    assert body["response_action"] == "errors" and "Sorry" in json.dumps(body)
    assert set(body["errors"]) <= {b["block_id"] for b in form["blocks"] if b["type"] == "input"}
