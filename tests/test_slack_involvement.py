"""The record of involvement through Slack, in both modes: "We met" with who came, `/coprod log`, the rate
card and each person's private payment choice, their own ledger, the coordinators' CSV, payments marked,
and "you said, we changed" told privately to a comment's anonymous author without the coordinator learning
who it was."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from slack_sdk.models.views import View

from tests.support.constants import CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, message_in, open_home, post_checkin, rate, submit_comment
from tests.support.waiting import eventually

SETUP = "schedule checkins weekly Tuesday 10:00"


def open_met_form(bot, user: str, held_on: str) -> dict:
    """``user`` clicks “Who came, and for how long?” under a logged meeting; the form coprod opened."""
    trigger = f"met-{user}-{held_on}"
    reply = bot.slack.click(
        "met_who", held_on, user=user, channel=CHANNEL, trigger_id=trigger, response_url=bot.stub.response_url("m")
    )
    assert reply.status == 200
    [call] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    view = call.json("view")
    View(**view).validate_json()
    return view


def met_values(day: str, people: list[str], length: str, stage: str) -> dict:
    return {
        "day": {"day": {"type": "datepicker", "selected_date": day}},
        "people": {"people": {"type": "multi_users_select", "selected_users": people}},
        "length": {"length": {"type": "plain_text_input", "value": length}},
        "stage": {"stage": {"type": "static_select", "selected_option": {"value": stage}}},
    }


def test_we_met_records_who_came_and_each_sees_and_corrects_only_their_own_line(bot):
    """`/coprod met` offers the form; it opens with the person logging first; the lines are each person's own,
    in their `/coprod ledger`, and one can correct their own line."""
    ask(bot, SETUP)
    answer = ask(bot, "met", user="U2")
    today = bot.clock.now.date().isoformat()
    [button] = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == ("met_who", today)
    form = open_met_form(bot, "U2", today)
    people = next(b for b in form["blocks"] if b["block_id"] == "people")
    assert people["element"]["initial_users"] == ["U2"]
    reply = bot.slack.submit(
        "we_met",
        met_values(today, ["U2", "U3"], "1.5h", "analysis"),
        user="U2",
        private_metadata=form["private_metadata"],
        view=form,
    )
    assert reply.status == 200 and reply.json()["response_action"] == "update"
    assert "2 people, 1.5 hours, analysis" in json.dumps(reply.json())
    mine = ask(bot, "ledger", user="U3")
    assert "1.5 hours" in mine["text"] and mine["_via"] == "ack"
    assert "meeting (analysis)" in json.dumps(mine["blocks"])
    assert "No involvement" not in ask(bot, "ledger", user="U2")["text"]
    assert "no involvement logged" in ask(bot, "ledger", user="U4")["text"]
    fixed = ask(bot, "ledger fix 1 2h", user="U3")
    assert "now 2 hours" in fixed["text"]
    assert "2 hours" in ask(bot, "ledger", user="U3")["text"]
    assert "1.5 hours" in ask(bot, "ledger", user="U2")["text"]  # U3's correction left U2's line alone


def test_a_bad_we_met_form_says_what_to_fix(bot):
    """A length coprod can't read, or no stage, keeps the form open with the words beside the field."""
    ask(bot, SETUP)
    today = bot.clock.now.date().isoformat()
    form = open_met_form(bot, "U2", today)
    reply = bot.slack.submit(
        "we_met", met_values(today, ["U2"], "lots", "analysis"), user="U2", private_metadata=form["private_metadata"]
    )
    assert reply.json()["errors"]["length"].startswith("“lots” is not a length of time")
    assert bot.store.involvement.lines(bot.store.partnerships.get(TEAM, CHANNEL)) == []


def test_log_rate_choice_ledger_export_and_payment(bot):
    """Members log their own work; the coordinator's rate card prices it; a person who chose not to be paid is
    owed nothing; the coordinators' CSV names people; marking paid shows in the person's ledger."""
    ask(bot, SETUP)
    assert "Thank you: 2 hours" in ask(bot, "log 2h reviewed the <b>participant</b> leaflet", user="U2")["text"]
    ask(bot, "log 90m read the protocol", user="U3")
    assert "coordinators" in ask(bot, "payment rate 25 GBP per hour", user="U2")["text"]  # refused: not one
    assert "25.00 GBP per hour" in ask(bot, "payment rate 25 GBP per hour")["text"]
    assert "Only you and the coordinators" in ask(bot, "payment none", user="U3")["text"]
    mine = ask(bot, "ledger", user="U2")
    assert "Owed 50.00 GBP, paid 0.00 GBP" in json.dumps(mine["blocks"])
    assert "&lt;b&gt;participant&lt;/b&gt;" in json.dumps(mine["blocks"])  # escaped
    assert "Owed 0.00 GBP" in json.dumps(ask(bot, "ledger", user="U3")["blocks"])
    assert "1 line" in ask(bot, "payment made <@U2>")["text"]
    assert "paid 50.00 GBP" in json.dumps(ask(bot, "ledger", user="U2")["blocks"])
    assert "coordinators" in ask(bot, "ledger export", user="U2")["text"]  # refused
    answer = ask(bot, "ledger export")
    assert "2 lines" in answer["text"]
    [upload] = bot.stub.wait_for("file_upload")
    rows = list(csv.DictReader(io.StringIO(upload.args["_raw"])))
    assert [(r["slack_id"], r["owed"], r["choice"], r["paid_on"] != "") for r in rows] == [
        ("U2", "50.00", "paid", True),
        ("U3", "0.00", "none", False),
    ]
    assert all(r["name"] for r in rows)
    assert "responder" not in upload.args["_raw"] and "P-" not in upload.args["_raw"]


def test_bad_involvement_words_say_what_to_type(bot):
    ask(bot, SETUP)
    assert "is not a length of time" in ask(bot, "log two hours reading", user="U2")["text"]
    assert "is not a currency code" in ask(bot, "payment rate 25 pounds per hour")["text"]
    assert "not a study stage" in ask(bot, "ledger fix 1 2h lunch", user="U2")["text"]


def test_you_said_we_changed_tells_the_anonymous_author_privately_and_posts_in_the_channel(bot):
    """A coordinator picks an anonymous comment; its author (and only they) gets a DM; the coordinator's form and
    replies never name them; the channel gets a short post; the change is in the log."""
    ask(bot, SETUP)
    checkin_id = post_checkin(bot, "organisational").id
    rate(bot, checkin_id, 4, "U2")
    rate(bot, checkin_id, 5, "U4")
    submit_comment(bot, checkin_id, "U3", 2, "Send papers a week before", anonymous=True)
    bot.clock.advance(days=7)  # closed
    trigger = "changed-1"
    assert bot.command("changed", trigger_id=trigger, response_url=bot.stub.response_url("ch")).status == 200
    [call] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    form = call.json("view")
    View(**form).validate_json()
    [said] = [b for b in form["blocks"] if b.get("block_id") == "said"]
    [option] = [o for o in said["element"]["options"] if "Send papers" in o["text"]["text"]]
    assert "U3" not in json.dumps(form)
    values = {
        "said": {"said": {"type": "static_select", "selected_option": {"value": option["value"]}}},
        "when": {"when": {"type": "datepicker", "selected_date": bot.clock.now.date().isoformat()}},
        "what": "Papers now go out a week ahead",
        "difference": "Everyone can read them <first>",
    }
    reply = bot.slack.submit("we_changed", values, user=COORDINATOR, private_metadata=form["private_metadata"])
    assert reply.status == 200 and "U3" not in reply.text
    [post] = bot.stub.wait_for("chat.postMessage", where=lambda c: "You said, we changed" in c.args.get("text", ""))
    assert post.args["channel"] == CHANNEL and "&lt;first&gt;" in post.args["text"]
    [dm] = bot.stub.wait_for("chat.postMessage", where=lambda c: "It made a difference" in c.args.get("text", ""))
    assert dm.args["channel"] == "D" + "U3"
    opened = [c.args["users"] for c in bot.stub.calls_to("conversations.open")]
    assert opened == ["U3"]  # nobody else was written to, the coordinator least of all
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    [change] = eventually(lambda: bot.store.involvement.changes(p))
    assert change.said.startswith("A comment on") and change.what_changed == "Papers now go out a week ahead"


def test_only_coordinators_may_record_a_change(bot):
    ask(bot, SETUP)
    assert "coordinators" in ask(bot, "changed", user="U2")["text"]
    values = {"said": {"said": {"type": "static_select", "selected_option": {"value": "l:organisational"}}}}
    reply = bot.slack.submit("we_changed", values, user="U2", private_metadata=json.dumps({"channel": CHANNEL}))
    assert "coordinators" in reply.json()["errors"]["said"]


def test_aim_title_and_the_report_named_for_its_channel_and_period(bot):
    """`/coprod aim` and `/coprod title` fill the report's short form; the report names the channel by the name
    Slack sent with the command, and its file name says the channel and the period."""
    ask(bot, SETUP)
    assert "coordinators" in ask(bot, "aim to shape the study", user="U2")["text"]  # refused
    assert "involvement aim" in ask(bot, "aim To shape the <study> with carers")["text"]
    ask(bot, "title Living well with diabetes")
    ask(bot, "report")
    [ticket] = bot.stub.wait_for("files.getUploadURLExternal")
    [upload] = bot.stub.wait_for("file_upload")
    start = bot.clock.now.date().isoformat()
    assert ticket.args["filename"] == f"coprod-report-partnership-{start}-to-{start}.html"
    html = upload.args["_raw"]
    assert "Slack channel #partnership" in html and "To shape the &lt;study&gt; with carers" in html
    assert "Living well with diabetes" in html


def test_the_summary_counts_changes_and_tells_coordinators_of_lines_unpaid_30_days_after(bot):
    """A change recorded shows in everyone's summary as a count; a line owed and unpaid 31 days after its
    meeting shows, as a count, only in a coordinator's."""
    ask(bot, SETUP)
    ask(bot, "payment rate 20 GBP per hour")
    long_ago = (bot.clock.now.date() - timedelta(days=31)).isoformat()
    ask(bot, f"log {long_ago} 2h wrote the lay summary", user="U2")
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    bot.store.involvement.record_change(
        p,
        changed_on=bot.clock.now.date().isoformat(),
        source="level",
        said="The summary's flag on Organisational",
        what_changed="a budget line for carers",
        difference="carers can come",
        recorded_by=COORDINATOR,
        now=0,
    )
    mine = json.dumps(ask(bot, "summary")["blocks"])
    assert "You said, we changed: 1 change" in mine and "1 involvement line is still unpaid" in mine
    theirs = json.dumps(ask(bot, "summary", user="U3")["blocks"])
    assert "You said, we changed: 1 change" in theirs and "unpaid" not in theirs
    ask(bot, "payment made <@U2>")
    assert "unpaid" not in json.dumps(ask(bot, "summary")["blocks"])


def test_app_home_shows_each_person_only_their_own_involvement(bot):
    ask(bot, SETUP)
    ask(bot, "payment rate 20 GBP per hour")
    ask(bot, "log 3h reviewed the topic guide", user="U2")
    home = json.dumps(open_home(bot, "U2"))
    assert "Your involvement here: 3 hours, owed 60.00 GBP, paid 0.00 GBP" in home
    assert "Your involvement here" not in json.dumps(open_home(bot, "U3"))


def test_we_met_on_a_reminder_offers_the_form_to_say_who_came(bot):
    """The reminder's “We met” logs the meeting as before and then offers, privately, “Who came, and for how
    long?”."""
    ask(bot, SETUP)
    today = bot.clock.now.date().isoformat()
    reply = bot.slack.click(
        "met",
        today,
        block_id=f"meeting:{today}",
        user="U3",
        response_url=bot.stub.response_url("met"),
        message_ts=message_in(bot),  # the reminder Slack has
    )
    assert reply.status == 200
    [said] = bot.stub.wait_for("response_url", where=lambda c: c.args.get("_key") == "met" and "blocks" in c.args)
    [button] = [e for b in said.json("blocks") if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == ("met_who", today)
    assert said.args["response_type"] == "ephemeral"


def test_the_export_carries_the_change_log(bot):
    ask(bot, SETUP)
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    bot.store.involvement.record_change(
        p,
        changed_on="2026-11-20",
        source="level",
        said="The summary's flag on Societal",
        what_changed="=we met the council",
        difference="the study reaches further",
        recorded_by=COORDINATOR,
        now=0,
    )
    ask(bot, "export")
    uploads = bot.stub.wait_for("file_upload", count=2)
    rows = list(csv.DictReader(io.StringIO(uploads[-1].args["_raw"])))
    assert [(r["changed_on"], r["said"], r["what_changed"]) for r in rows] == [
        ("2026-11-20", "The summary's flag on Societal", "'=we met the council")
    ]


def test_the_summary_posted_in_the_channel_counts_changes_and_lines_unpaid_for_coordinators(bot):
    """The summary coprod posts in the channel (here for `@coprod summary`; a scheduled one is made by the same
    function) carries the count of changes and, addressed to the coordinators, the count of late lines."""
    ask(bot, SETUP)
    ask(bot, "payment rate 20 GBP per hour")
    ask(bot, f"log {(bot.clock.now.date() - timedelta(days=40)).isoformat()} 1h checked the survey", user="U2")
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    day = bot.clock.now.date().isoformat()
    for what in ("papers sent early", "a carers' budget"):
        bot.store.involvement.record_change(
            p, changed_on=day, source="level", said="x", what_changed=what, difference="y", recorded_by="U1", now=0
        )
    event = {"type": "app_mention", "user": "U2", "text": "<@UBOT> summary", "channel": CHANNEL, "ts": "1.1"}
    assert bot.slack.event(event, event_id="EvInv").status == 200
    [post] = bot.stub.wait_for("chat.postMessage", where=lambda c: "level:" in json.dumps(c.json("blocks") or []))
    shown = json.dumps(post.json("blocks"))
    assert "You said, we changed: 2 changes" in shown
    assert "For the coordinators: 1 involvement line is still unpaid 30 days after" in shown
    assert "U2" not in shown
