"""`/coprod` end to end: each command through each runner (HTTP and Socket Mode), what it answered and stored."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.domain.catalog import load_catalog
from bot.domain.commands import EXAMPLES
from tests.support.blockkit import slack_calls, texts_in, words
from tests.support.constants import CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, post_checkin, posted_checkin, rate, submit_comment
from tests.support.stored import store_state, stored_answers

CATALOG = load_catalog()
SETUP = "schedule checkins weekly Tuesday 10:00"


def text_of(catalog_id: str) -> str:
    """The question a check-in of this practice leads with (the paper's words are behind "Where this comes from")."""
    return CATALOG.facilitator(catalog_id).prompt


def level_blocks(answer: dict) -> dict[str, str]:
    """level id -> the text of its block in a summary."""
    return {
        b["block_id"].split(":", 1)[1]: b["text"]["text"]
        for b in answer["blocks"]
        if b.get("block_id", "").startswith("level:")
    }


# ---- help and bad input ---------------------------------------------------------------------------


def test_help_lists_every_command_with_an_example(bot):
    """`/coprod help` answers privately, in the acknowledgement itself, with every command and an example."""
    reply = bot.command("help")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    shown = "\n".join(texts_in(body["blocks"]))
    missing = [example for example, _ in EXAMPLES if f"/coprod {example}" not in shown]
    assert missing == []
    verbs = {
        "help",
        "checkin",
        "summary",
        "schedule",
        "meeting",
        "met",
        "next",
        "coordinators",
        "role",
        "timezone",
        "size",
        "retention",
        "export",
        "report",
        "actions",
        "nudge",
        "pause",
        "resume",
        "forget-me",
        "log",
        "ledger",
        "payment",
        "changed",
        "aim",
    }
    assert verbs == {example.split()[0] for example, _ in EXAMPLES}


def test_help_changes_nothing_and_calls_no_slack_method(bot):
    """Help is answered from the acknowledgement: no partnership is created, no Web API call is made."""
    bot.command("help")
    assert bot.store.partnerships.get(TEAM, CHANNEL) is None
    assert slack_calls(bot.stub) == []


BAD_INPUT = [
    ("frobnicate", "frobnicate"),
    ("schedule holidays weekly Tuesday 10:00", "holidays"),
    ("schedule checkins sometimes Tuesday 10:00", "sometimes"),
    ("schedule checkins weekly Tusday 10:00", "Tusday"),
    ("schedule checkins weekly Tuesday 25:00", "25:00"),
    ("schedule checkins weekly Tuesday 10h", "10h"),
    ("schedule checkins weekly Tuesday 10:00 please", "please"),
    ("schedule summary monthly Friday", "how often, a day and a time"),
    ("summary galactic", "galactic"),
    ("summary weeks 0", "“0”"),
    ("summary weeks many", "many"),
    ("summary organisational extra", "organisational extra"),
    ("checkin galactic", "galactic"),
    ("next galactic", "galactic"),
    ("meeting every Someday 14:00", "Someday"),
    ("meeting every Wednesday 2 o'clock", "2"),
    ("meeting every Wednesday 14:00 remind soon", "soon"),
    ("meeting every Wednesday 14:00 remind 30 please", "please"),
    ("timezone Mars/Olympus", "Mars/Olympus"),
    ("timezone Europe/Paris please", "Europe/Paris please"),
    ("retention forever", "forever"),
    ("role <@U2> wizard", "wizard"),
    ("coordinators add bob", "bob"),
    ("export now", "now"),
    ("forget-me please", "please"),
]


@pytest.mark.parametrize(("text", "wrong"), BAD_INPUT)
def test_bad_input_gets_a_private_usage_message_naming_the_wrong_word(bot, text, wrong):
    """Malformed input is answered privately, naming what was wrong, and changes nothing at all."""
    ask(bot, SETUP)
    ask(bot, "meeting every Wednesday 14:00")
    before, calls_before = store_state(bot), len(slack_calls(bot.stub))
    answer = ask(bot, text)
    assert answer["_via"] == "ack"
    assert answer["response_type"] == "ephemeral"
    assert wrong in answer["text"]
    assert "/coprod help" in answer["text"]
    assert store_state(bot) == before
    assert len(slack_calls(bot.stub)) == calls_before  # nothing posted, nobody looked up


@pytest.mark.parametrize(
    "text",
    [
        "frobnicate",
        "schedule checkins weekly Tusday 10:00",
        "summary weeks 0",
        "meeting every Wednesday 14:00 remind soon",
        "role <@U2> wizard",
    ],
)
def test_bad_input_in_a_new_channel_sets_nothing_up(bot, text):
    """A mistyped first command doesn't create the partnership (so nobody becomes coordinator by typo)."""
    answer = ask(bot, text)
    assert answer["response_type"] == "ephemeral"
    assert bot.store.partnerships.in_workspace(TEAM) == []
    assert slack_calls(bot.stub) == []


def test_usage_message_shows_placeholders_instead_of_hiding_them(bot):
    """`<day> <HH:MM>` in a usage line is escaped, so Slack shows it rather than reading it as a link."""
    answer = ask(bot, "schedule checkins weekly")
    assert "&lt;day&gt; &lt;HH:MM&gt;" in answer["text"]
    assert "<day>" not in answer["text"]


# ---- schedules and settings -----------------------------------------------------------------------


def test_first_schedule_sets_up_the_channel_with_its_author_as_coordinator_in_their_timezone(bot):
    """The first coordinator's Slack timezone becomes the partnership's; the reply names the next fire time."""
    bot.stub.add_user("U2", tz="America/New_York")
    answer = ask(bot, SETUP, user="U2")
    partnership = bot.store.partnerships.get(TEAM, CHANNEL)
    assert partnership.timezone == "America/New_York"
    assert bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL)) == ["U2"]
    row = bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))["checkins"]
    assert (row.cadence, row.weekday, row.at_minute) == ("weekly", 1, 10 * 60)
    assert answer["response_type"] == "ephemeral"
    # 09:00 UTC is 04:00 in New York: the first check-in is later today, at 10:00 New York time.
    assert "Tuesday 24 November at 10:00" in answer["text"]
    assert "America/New_York" in answer["text"]
    assert [c.args["user"] for c in bot.stub.calls_to("users.info")] == ["U2"]


@pytest.mark.parametrize(
    ("text", "kind", "cadence", "weekday", "minute", "next_at"),
    [
        (SETUP, "checkins", "weekly", 1, 600, "Tuesday 24 November at 10:00"),
        ("schedule summary monthly Friday 15:00", "summary", "monthly", 4, 900, "Friday 4 December at 15:00"),
        (
            "schedule reflexivity fortnightly Monday 09:30",
            "reflexivity",
            "fortnightly",
            0,
            570,
            "Monday 7 December at 09:30",
        ),
        ("schedule checkins biweekly thu 2pm", "checkins", "fortnightly", 3, 840, "Thursday 26 November at 14:00"),
    ],
)
def test_schedule_stores_the_schedule_and_names_the_next_time(bot, text, kind, cadence, weekday, minute, next_at):
    """Each kind of schedule is stored as typed and the private reply says when it first happens."""
    answer = ask(bot, text)
    row = bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))[kind]
    assert (row.cadence, row.weekday, row.at_minute) == (cadence, weekday, minute)
    assert next_at in answer["text"]
    assert answer["response_type"] == "ephemeral"


def test_scheduled_checkins_post_at_their_time(bot):
    """The stored schedule is what the scheduler acts on: a check-in appears at 10:00, not before."""
    ask(bot, SETUP)
    bot.tick()
    assert bot.stub.calls_to("chat.postMessage") == []
    bot.clock.advance(hours=1)
    bot.tick()
    posted_checkin(bot)


def test_schedule_off_stops_the_schedule(bot):
    """`schedule checkins off` removes it, so 10:00 passes with no post; saying it twice is harmless."""
    ask(bot, SETUP)
    ask(bot, "schedule summary monthly Friday 15:00")
    answer = ask(bot, "schedule checkins off")
    assert "no more scheduled check-ins" in answer["text"]
    assert set(bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))) == {"summary"}
    assert "no scheduled check-ins to stop" in ask(bot, "schedule checkins off")["text"]
    bot.clock.advance(hours=1)
    bot.tick()
    assert bot.stub.calls_to("chat.postMessage") == []


def test_meeting_sets_a_reminder_before_the_meeting(bot):
    """`meeting every Wednesday 14:00 remind 30` stores the meeting; the reply names the first reminder."""
    answer = ask(bot, "meeting every Wednesday 14:00 remind 30")
    row = bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))["meeting"]
    assert (row.weekday, row.at_minute, row.remind_minutes) == (2, 14 * 60, 30)
    assert "30 minutes before" in answer["text"]
    assert "Wednesday 25 November at 13:30" in answer["text"]


def test_meeting_reminder_defaults_to_thirty_minutes(bot):
    """Without `remind`, the reminder comes 30 minutes before."""
    ask(bot, "meeting every Friday 9am")
    row = bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))["meeting"]
    assert (row.weekday, row.at_minute, row.remind_minutes) == (4, 9 * 60, 30)


def test_meeting_off_stops_the_reminders(bot):
    """`meeting off` removes the meeting schedule and leaves the others."""
    ask(bot, SETUP)
    ask(bot, "meeting every Wednesday 14:00 remind 30")
    answer = ask(bot, "meeting off")
    assert "no more meeting reminders" in answer["text"]
    assert set(bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))) == {"checkins"}


def test_timezone_changes_where_times_are_read(bot):
    """After `timezone Europe/Paris`, 10:00 means 10:00 in Paris (already passed today: next week)."""
    ask(bot, SETUP)
    answer = ask(bot, "timezone Europe/Paris")
    assert "Europe/Paris" in answer["text"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).timezone == "Europe/Paris"
    again = ask(bot, SETUP)
    assert "Tuesday 1 December at 10:00" in again["text"]
    assert "(Europe/Paris)" in again["text"]


@pytest.mark.parametrize(("text", "months"), [("retention 24", 24), ("retention off", None)])
def test_retention_is_stored(bot, text, months):
    """`retention 24` keeps comments 24 months; `retention off` keeps them until erased."""
    ask(bot, SETUP)
    if months is None:
        ask(bot, "retention 6")
    answer = ask(bot, text)
    assert bot.store.partnerships.get(TEAM, CHANNEL).retention_months == months
    assert ("24 months" in answer["text"]) == (months == 24)


@pytest.mark.parametrize(
    ("target", "level_id", "facilitator_id"),
    [("power-imbalances", "group", "power-imbalances"), ("organisational", "organisational", None)],
)
def test_next_pins_what_the_next_scheduled_checkin_asks(bot, target, level_id, facilitator_id):
    """`next <practice|level>` makes the next scheduled check-in about it, once; then the rotation resumes."""
    ask(bot, SETUP)
    answer = ask(bot, f"next {target}")
    assert bot.store.partnerships.get(TEAM, CHANNEL).pinned == (facilitator_id or level_id)
    assert "next scheduled check-in" in answer["text"]
    bot.clock.advance(hours=1)
    bot.tick()
    blocks = posted_checkin(bot).blocks
    asked = bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL))
    assert [level for level, _ in asked.values()] == [level_id]
    if facilitator_id:
        assert list(asked) == [facilitator_id]
        assert text_of(facilitator_id) in json.dumps(blocks, ensure_ascii=False)
    assert CATALOG.level(level_id).name in blocks[0]["text"]["text"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).pinned is None
    bot.clock.advance(weeks=1)
    bot.tick()
    posted_checkin(bot, 2)
    assert len(bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL))) == 2
    assert "individual" in {
        level for level, _ in bot.store.activity.last_asked(bot.store.partnerships.get(TEAM, CHANNEL)).values()
    }


def test_role_is_stored_and_named_among_silent_roles_until_heard(bot):
    """`role <@U2|bo> carer` records the role; the summary invites the carer's voice until U2 answers."""
    ask(bot, SETUP)
    answer = ask(bot, "role <@U2|bo> carer")
    assert bot.store.people.roles(bot.store.partnerships.get(TEAM, CHANNEL)) == {"U2": "carer"}
    assert "<@U2>" in answer["text"] and "carer" in answer["text"]
    summary = words(ask(bot, "summary"))
    assert "haven't heard from these roles" in summary and "carer" in summary
    checkin_id = post_checkin(bot).id
    rate(bot, checkin_id, 4, "U2")
    assert "haven't heard from these roles" not in words(ask(bot, "summary"))


def test_role_accepts_everyday_words_for_a_role(bot):
    """`role @x service user` is stored as the catalog's role name."""
    ask(bot, SETUP)
    ask(bot, "role <@U3> service user")
    ask(bot, "role <@U2> Policy Maker")
    assert bot.store.people.roles(bot.store.partnerships.get(TEAM, CHANNEL)) == {
        "U3": "service user/patient",
        "U2": "policy-maker",
    }


def test_coordinators_add_and_remove(bot):
    """Coordinators can be added and removed, one at a time, and each reply says what happened."""
    ask(bot, SETUP)
    assert "now a coordinator" in ask(bot, "coordinators add <@U2|bo>")["text"]
    assert "already a coordinator" in ask(bot, "coordinators add <@U2>")["text"]
    assert bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL)) == ["U1", "U2"]
    assert "wasn't a coordinator" in ask(bot, "coordinators remove <@U3>")["text"]
    assert "no longer a coordinator" in ask(bot, "coordinators remove <@U1>")["text"]
    assert bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL)) == ["U2"]


def test_the_last_coordinator_cannot_be_removed(bot):
    """Removing the only coordinator is refused kindly, so the partnership is never left without one."""
    ask(bot, SETUP)
    answer = ask(bot, f"coordinators remove <@{COORDINATOR}>")
    assert "only coordinator" in answer["text"]
    assert bot.store.people.coordinators(bot.store.partnerships.get(TEAM, CHANNEL)) == [COORDINATOR]


# ---- summaries ------------------------------------------------------------------------------------


def test_summary_before_setup_is_a_kind_private_message(bot):
    """Asking for a summary in a channel that isn't set up explains how to start and sets nothing up."""
    answer = ask(bot, "summary")
    assert answer["response_type"] == "ephemeral"
    assert "isn't set up" in answer["text"]
    assert "/coprod schedule checkins" in answer["text"]
    assert bot.store.partnerships.in_workspace(TEAM) == []


def test_summary_has_one_block_per_level_with_neglected_and_the_reason(bot):
    """Every level gets a block naming it; an undiscussed level is flagged "neglected" with its reason."""
    ask(bot, SETUP)
    answer = ask(bot, "summary")
    assert answer["response_type"] == "ephemeral"
    blocks = level_blocks(answer)
    assert list(blocks) == [level.id for level in CATALOG.levels]
    for level in CATALOG.levels:
        assert level.name in blocks[level.id]
        assert "neglected" in blocks[level.id]
        assert "not discussed yet in the last 8 weeks" in blocks[level.id]


@pytest.mark.parametrize(
    ("text", "levels", "weeks"),
    [
        ("summary organisational", ["organisational"], 8),
        ("summary Organizational", ["organisational"], 8),
        ("summary group weeks 12", ["group"], 12),
        ("summary weeks 12", [level.id for level in CATALOG.levels], 12),
    ],
)
def test_summary_for_one_level_or_other_weeks(bot, text, levels, weeks):
    """`summary <level>` shows only that level; `weeks N` sets the window the header and reasons name."""
    ask(bot, SETUP)
    answer = ask(bot, text)
    blocks = level_blocks(answer)
    assert list(blocks) == levels
    assert f"the last {weeks} weeks" in answer["blocks"][0]["text"]["text"]
    assert all(f"in the last {weeks} weeks" in b for b in blocks.values())


def test_summary_hides_the_mean_until_three_people_answer(bot):
    """3 answers from 2 people: no average and a kind flag. A third person makes the level count, but the
    average waits for a check-in that 3 people answered to close, so comparing views can't single anyone out."""
    ask(bot, SETUP)
    first = post_checkin(bot, "organisational").id
    rate(bot, first, 4, "U2")
    rate(bot, first, 5, "U3")
    second = post_checkin(bot, "organisational").id
    rate(bot, second, 4, "U2")
    block = level_blocks(ask(bot, "summary organisational"))["organisational"]
    assert "3 answers from 2 people" in block
    assert "Average rating" not in block
    assert "neglected" in block and "only 2 people answered" in block
    rate(bot, second, 3, "U4")
    rate(bot, second, 4, "U3")
    block = level_blocks(ask(bot, "summary organisational"))["organisational"]
    assert "5 answers from 3 people" in block
    assert "Average rating" not in block and "has closed" in block  # the second is still open
    assert "neglected" not in block
    post_checkin(bot, "societal")  # closes the second: 4, 3, 4
    block = level_blocks(ask(bot, "summary organisational"))["organisational"]
    assert "Average rating: *3.7 of 5*" in block


def test_summary_flags_a_low_average(bot):
    """Three people rating a level 2 on average flags it with the average as the reason, once it closed."""
    ask(bot, SETUP)
    checkin_id = post_checkin(bot, "societal").id
    for user, rating in (("U2", 2), ("U3", 2), ("U4", 2)):
        rate(bot, checkin_id, rating, user)
    bot.clock.advance(days=7)
    block = level_blocks(ask(bot, "summary societal"))["societal"]
    assert "Average rating: *2.0 of 5*" in block
    assert "neglected" in block and "rated it 2.0 of 5" in block


# ---- check-ins now ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "level_id", "facilitator_id"),
    [
        ("organisational", "organisational", None),
        ("Group/interpersonal", "group", None),
        ("paradigmatic", "paradigmatic", None),
        ("shared-ownership", "organisational", "shared-ownership"),
        ("POWER-IMBALANCES", "group", "power-imbalances"),
    ],
)
def test_checkin_posts_about_the_level_or_practice_asked_for(bot, target, level_id, facilitator_id):
    """`checkin <level>` asks about that level; `checkin <practice-id>` about exactly that practice."""
    checkin_id = post_checkin(bot, target).id
    checkin = bot.store.checkins.checkin(TEAM, checkin_id)
    assert checkin.level_id == level_id
    blocks = posted_checkin(bot).blocks
    assert CATALOG.level(level_id).name in blocks[0]["text"]["text"]
    if facilitator_id:
        assert checkin.facilitator_id == facilitator_id
        assert text_of(facilitator_id) in json.dumps(blocks, ensure_ascii=False)
    else:
        assert CATALOG.facilitator(checkin.facilitator_id).level_id == level_id


def test_checkin_does_not_use_up_the_pin(bot):
    """A check-in asked for by name leaves the coordinator's pin for the next scheduled one."""
    ask(bot, SETUP)
    ask(bot, "next power-imbalances")
    post_checkin(bot, "societal")
    assert bot.store.partnerships.get(TEAM, CHANNEL).pinned == "power-imbalances"


# ---- export and forget-me --------------------------------------------------------------------------


def answer_anonymously(bot, checkin_id: int, user: str, rating: int, comment: str):
    """Submit the comment modal with "answer anonymously" ticked."""
    reply = submit_comment(bot, checkin_id, user, rating, comment, anonymous=True)
    assert reply.status == 200
    assert bot.store.answers.my_answer(TEAM, checkin_id, user).anonymous
    return reply


def test_export_uploads_a_csv_to_the_coordinators_dm_without_anonymous_identities(bot):
    """`export` sends the coordinator a CSV by DM (Slack's external upload); anonymous rows carry no one.
    (tests/test_anonymity.py checks what the file leaves out.)"""
    ask(bot, SETUP)
    checkin_id = post_checkin(bot, "organisational").id
    rate(bot, checkin_id, 4, "U2")
    rate(bot, checkin_id, 5, "U4")
    answer_anonymously(bot, checkin_id, "U3", 2, "We never see the budget")
    bot.clock.advance(days=7)  # closed
    answer = ask(bot, "export")
    assert "3 answers" in answer["text"]
    assert [c.args["users"] for c in bot.stub.calls_to("conversations.open")] == [COORDINATOR]
    [ticket] = bot.stub.wait_for("files.getUploadURLExternal")
    [upload] = bot.stub.wait_for("file_upload")
    [done] = bot.stub.wait_for("files.completeUploadExternal")
    assert upload.args["_file_id"] == ticket.response["file_id"]
    assert done.args["channel_id"] == "D" + COORDINATOR
    assert [f["id"] for f in json.loads(done.args["files"])] == [ticket.response["file_id"]]
    rows = list(csv.DictReader(io.StringIO(upload.args["_raw"])))
    anonymous, named, _ = rows
    assert (named["person"][:2], named["rating"], named["level"]) == ("P-", "4", "organisational")
    assert (anonymous["person"], anonymous["rating"], anonymous["comment"]) == ("", "2", "We never see the budget")
    assert "U2" not in upload.args["_raw"] and "U3" not in upload.args["_raw"]
    assert bot.stub.calls_to("chat.postMessage")[-1].args["channel"] == CHANNEL  # nothing posted publicly


def test_export_with_no_answers_sends_just_the_header(bot):
    """An export before anyone answered is an empty CSV with its columns, not an error."""
    ask(bot, SETUP)
    answer = ask(bot, "export")
    assert "0 answers" in answer["text"]
    [upload] = bot.stub.wait_for("file_upload")
    assert upload.args["_raw"].splitlines()[0].startswith('"channel","level","facilitator"')
    assert len(upload.args["_raw"].splitlines()) == 1


def test_forget_me_asks_for_confirmation_first(bot):
    """`forget-me` only shows a private confirmation with the two buttons; nothing is erased yet."""
    ask(bot, SETUP)
    checkin_id = post_checkin(bot).id
    rate(bot, checkin_id, 4, "U2")
    answer = ask(bot, "forget-me", user="U2")
    assert answer["response_type"] == "ephemeral"
    buttons = [e["action_id"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["forget_me_confirm", "forget_me_cancel"]
    assert bot.store.answers.my_answer(TEAM, checkin_id, "U2") is not None


def test_forget_me_confirm_erases_only_that_persons_answers_anonymous_ones_too(bot):
    """Confirming erases the clicker's answers to open check-ins (named and anonymous), unlinks those to
    closed ones, and reports the counts."""
    ask(bot, SETUP)
    ask(bot, "role <@U2> carer")
    first = post_checkin(bot, "organisational").id
    rate(bot, first, 4, "U2")
    rate(bot, first, 5, "U3")
    second = post_checkin(bot, "societal").id  # closes the first
    answer_anonymously(bot, second, "U2", 3, "private thoughts")
    ask(bot, "forget-me", user="U2")
    reply = bot.slack.click(
        "forget_me_confirm", "confirm", user="U2", is_ephemeral=True, response_url=bot.stub.response_url("forget")
    )
    assert reply.status == 200
    assert bot.store.answers.my_answer(TEAM, first, "U2") is None
    assert bot.store.answers.my_answer(TEAM, second, "U2") is None
    assert bot.store.people.roles(bot.store.partnerships.get(TEAM, CHANNEL)) == {}
    assert bot.store.answers.my_answer(TEAM, first, "U3").rating == 5
    # U2's rating to the closed check-in stays, with nothing that names them; the open one is gone.
    assert [(r["user"], r["rating"], r["role"]) for r in stored_answers(bot, TEAM)] == [
        (None, 4, None),
        ("U3", 5, None),
    ]
    [done] = bot.stub.wait_for("response_url", where=lambda c: c.args["_key"] == "forget")
    assert "1 answer," in done.args["text"] and "1 rating to closed check-ins stay" in done.args["text"]
    assert "1 role," in done.args["text"] or "1 role." in done.args["text"]


def test_forget_me_cancel_erases_nothing(bot):
    """ "No, keep them" leaves the answers and says so."""
    ask(bot, SETUP)
    checkin_id = post_checkin(bot).id
    rate(bot, checkin_id, 4, "U2")
    bot.slack.click(
        "forget_me_cancel", "cancel", user="U2", is_ephemeral=True, response_url=bot.stub.response_url("cancel")
    )
    [done] = bot.stub.wait_for("response_url", where=lambda c: c.args["_key"] == "cancel")
    assert "Nothing was erased" in done.args["text"]
    assert bot.store.answers.my_answer(TEAM, checkin_id, "U2").rating == 4


def test_fortnightly_schedule_counts_weeks_from_the_partnerships_own_today(bot):
    """In Auckland it is already Monday while UTC says Sunday: "fortnightly Monday 10:00" starts today."""
    bot.stub.add_user("U2", tz="Pacific/Auckland")
    bot.clock.now = bot.clock.now.replace(day=29, hour=20)  # Sunday 20:00 UTC = Monday 09:00 in Auckland
    answer = ask(bot, "schedule checkins fortnightly Monday 10:00", user="U2")
    assert "Monday 30 November at 10:00" in answer["text"]
    assert (
        bot.store.partnerships.schedules(bot.store.partnerships.get(TEAM, CHANNEL))["checkins"].anchor == "2026-11-30"
    )
    bot.clock.advance(hours=1)
    bot.tick()
    posted_checkin(bot)


def test_commands_in_a_direct_message_are_pointed_to_the_channel(bot):
    """Settings typed in a DM with coprod change nothing and say where to use them."""
    answer = ask(bot, "schedule checkins weekly Tuesday 10:00", channel="DU1")
    assert "partnership's channel" in answer["text"]
    assert bot.store.partnerships.in_workspace(TEAM) == []


def test_a_schedule_set_after_todays_time_waits_for_the_time_it_names(bot):
    """Set at 09:00 for Tuesdays 08:00, the reply says next Tuesday, and nothing is posted today."""
    answer = ask(bot, "schedule checkins weekly Tuesday 08:00")
    assert "Tuesday 1 December at 08:00" in answer["text"]
    bot.tick()
    assert bot.stub.calls_to("chat.postMessage") == []


def test_met_logs_todays_meeting_once_and_clears_the_meeting_flag(bot):
    """Any member's `/coprod met` logs today's meeting (once); the summary stops flagging regular meetings."""
    ask(bot, SETUP)
    assert "no meeting logged yet" in json.dumps(ask(bot, "summary group"))
    assert "logged" in ask(bot, "met", user="U3")["text"]
    assert "already logged" in ask(bot, "met", user="U2")["text"]
    assert bot.store.activity.last_meeting(bot.store.partnerships.get(TEAM, CHANNEL)) is not None
    assert "no meeting logged" not in json.dumps(ask(bot, "summary group"))


# ---- work after the acknowledgement --------------------------------------------------------------


def test_a_followup_that_fails_is_logged_with_its_partnership_and_the_person_hears_sorry(bot, caplog):
    """When the work after an ack breaks (here Slack opens a DM but names no channel), the person is told
    kindly to try again through the response_url, and the log names the partnership and what was lost."""
    ask(bot, "timezone Europe/London")  # the partnership exists
    bot.stub.answer("conversations.open", {"ok": True})  # no "channel"
    answer = ask(bot, "export")
    assert answer["_via"] == "response_url"
    assert "went wrong on my side" in answer["text"] and "try again" in answer["text"]
    assert "Traceback" not in json.dumps(answer)
    assert f"could not carry out /coprod Export for team {TEAM} channel {CHANNEL}" in caplog.text


def test_every_checkin_asked_is_posted_once(bot):
    """Ten `/coprod checkin`s in a row: ten acknowledgements, ten check-ins posted, one each."""
    ask(bot, "timezone Europe/London")
    for _ in range(10):
        assert bot.command("checkin").acknowledged
    bot.drain()
    posts = [c for c in bot.stub.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]
    assert len(posts) == 10
    assert len({json.dumps(c.json("blocks")) for c in posts}) == 10  # each its own check-in
