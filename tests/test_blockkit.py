"""Every Block Kit payload coprod sends is valid by slack_sdk's models and within Slack's limits, even for
huge catalogs; and nothing a person typed is ever echoed in a form Slack would interpret."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain.catalog import Catalog, Facilitator, Level
from bot.domain.summary import summarize, window_for
from bot.render import messages, overview
from tests.support.blockkit import (
    MESSAGE_BLOCKS_MAX,
    VIEW_BLOCKS_MAX,
    blocks_json,
    check_message_blocks,
    check_payload,
    check_view,
    checkin_id_of,
    everything_said,
    payloads,
)
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR
from tests.support.flows import ask, click_rating, submit_comment

NASTY = ("<!channel>", "<@U999>", "<https://evil|x>", "<!here>", "<!subteam^S1>")
NASTY_TEXT = "Hi " + " ".join(NASTY) + " & friends"


def run_broad_scenario(bot, comment: str) -> list[dict]:
    """Drive coprod through every surface it has; returns the acknowledgement bodies it answered with."""
    stub, acks = bot.stub, []

    def command(text: str, user: str = COORDINATOR) -> None:
        acks.append(ask(bot, text, user=user))

    def json_of(reply) -> None:
        assert reply.status == 200
        acks.append(reply.json())

    command("help")
    command("schedule checkins weekly Tuesday 10:00")
    command("schedule summary weekly Tuesday 10:00")
    command("schedule reflexivity fortnightly Tuesday 10:00")
    command("meeting every Tuesday 11:00 remind 30")
    command("role <@U2> carer")
    command("schedule checkins weekly Someday 10:00")  # a usage message
    command("timezone Europe/Paris", user="U3")  # a refusal
    command("summary")  # before any answer
    bot.clock.advance(hours=1)
    bot.tick()
    [checkin_call] = stub.wait_for("chat.postMessage", where=lambda c: '"block_id": "checkin:' in blocks_json(c))
    stub.wait_for("chat.postMessage", count=4, where=lambda c: str(c.args.get("channel", "")).startswith("U"))
    stub.wait_for("conversations.members", count=2)  # the check-in's message ts is stored after the post
    checkin_id = checkin_id_of(checkin_call)
    for user, rating in (("U2", 2), ("U3", 4), ("U4", 5)):
        json_of(click_rating(bot, checkin_id, rating, user))
    # Clicks within a second share one coalesced count update.
    stub.wait_for("chat.update", where=lambda c: "3 answers so far" in blocks_json(c))
    json_of(bot.slack.click("comment", "comment", block_id=f"checkin:{checkin_id}", user="U2"))
    stub.wait_for("views.open")
    json_of(submit_comment(bot, checkin_id, "U2", comment=comment, anonymous=True))
    json_of(submit_comment(bot, checkin_id, "U3", rating=3, comment=NASTY_TEXT))
    json_of(bot.slack.click("comment", "comment", block_id=f"checkin:{checkin_id}", user="U3"))
    stub.wait_for("views.open", count=2)
    [reflect_call] = stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "U4")
    json_of(
        bot.slack.click(
            "rate:1",
            "1",
            block_id=f"reflect:{checkin_id_of(reflect_call)}",
            user="U4",
            channel="DU4",
            response_url=stub.response_url("reflect"),
        )
    )
    json_of(
        bot.slack.click(
            "reflexivity_off",
            CHANNEL,
            block_id=f"reflexivity:{CHANNEL}",
            user="U4",
            channel="DU4",
            response_url=stub.response_url("optout"),
        )
    )
    bot.clock.advance(minutes=30)
    bot.tick()
    [reminder] = stub.wait_for("chat.postMessage", where=lambda c: '"block_id": "meeting:' in blocks_json(c))
    met = [b for b in reminder.json("blocks") if b["type"] == "actions"][0]["elements"][0]
    json_of(
        bot.slack.click(
            "met", met["value"], user="U2", message_ts=reminder.response["ts"], response_url=stub.response_url("met")
        )
    )
    stub.wait_for("chat.update", where=lambda c: "logged by" in blocks_json(c))
    stub.add_channel("C2", ["U1", "U2", "UBOT"], name="second")  # coprod is added to a second channel
    for n, (user, event) in enumerate(
        [
            (COORDINATOR, {"type": "app_home_opened", "tab": "home"}),
            ("U3", {"type": "app_home_opened", "tab": "home"}),
            (ADMIN, {"type": "app_home_opened", "tab": "home"}),
            ("U2", {"type": "app_mention", "text": "<@UBOT> summary please", "channel": CHANNEL}),
            ("U2", {"type": "app_mention", "text": "<@UBOT> hello", "channel": CHANNEL}),
            ("UBOT", {"type": "member_joined_channel", "channel": "C2"}),
        ]
    ):
        json_of(bot.slack.event({**event, "user": user, "ts": f"1700000001.00{n}"}, event_id=f"Ev{n}"))
    stub.wait_for("views.publish", count=3)
    stub.wait_for("chat.postEphemeral")
    stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "C2")
    bot.slack.click("home_checkin", CHANNEL, container_type="view", user="U3")
    stub.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "U3" and "Sorry" in c.args["text"])
    command("summary")
    command("summary organisational weeks 12")
    command("export")
    stub.wait_for("files.completeUploadExternal")
    command("forget-me", user="U2")
    json_of(
        bot.slack.click(
            "forget_me_confirm", "confirm", user="U2", is_ephemeral=True, response_url=stub.response_url("forget")
        )
    )
    stub.wait_for("response_url", where=lambda c: c.args["_key"] == "forget")
    return acks


@pytest.fixture
def scenario(bot):
    acks = run_broad_scenario(bot, comment="&<>" * 666 + "&&")  # 2,000 characters that escaping quadruples
    return bot, acks


def test_every_payload_of_a_broad_scenario_is_valid_block_kit(scenario):
    """Messages, updates, ephemerals, modals, Home tabs, response_url replies and acks all pass slack_sdk."""
    bot, acks = scenario
    sent = payloads(bot.stub, acks)
    for payload in sent:
        check_payload(payload)
    sources = {(p.source, p.kind) for p in sent}
    assert {
        ("chat.postMessage", "message"),
        ("chat.update", "message"),
        ("chat.postEphemeral", "message"),
        ("response_url", "message"),
        ("views.open", "view"),
        ("views.publish", "view"),
        ("ack", "message"),
        ("ack", "view"),
    } <= sources


def test_the_broad_scenario_reached_every_kind_of_post(scenario):
    """The scenario is broad: check-ins, reflection DMs, summaries, reminders, welcome and help all appear."""
    bot, acks = scenario
    said = "\n".join(everything_said(bot.stub, acks))
    for words in (
        "Check-in ·",
        "A moment to reflect",
        "Our regular summary",
        "Your team meeting starts",
        "Meeting on",
        "I'm coprod",
        "coprod: what I can do",
        "Sorry, only coordinators",
        "is not a day of the week",
        "Erase your answers?",
        "I erased",
        "Add a comment",
    ):
        assert words in said, words


def test_nothing_a_person_typed_is_echoed_raw(scenario):
    """A comment full of <!channel>, <@U999> and links is shown escaped wherever the bot repeats it."""
    bot, acks = scenario
    said = everything_said(bot.stub, acks)
    for text in said:
        for nasty in NASTY:
            assert nasty not in text, (nasty, text[:200])
    assert any("&lt;!channel&gt;" in text for text in said)  # it was repeated (escaped), so the check had teeth


@pytest.mark.parametrize(
    "text",
    [
        "role <@U2> <!channel>",
        "role <@U2> <https://evil|x>",
        "role <!channel> carer",
        "checkin <!channel>",
        "summary <@U999>",
        "next <https://evil|x>",
        "timezone <!here>",
        "<!channel>",
        "meeting every <!channel> 14:00",
        "schedule checkins weekly Tuesday <@U999>",
        "coordinators add <!subteam^S1>",
    ],
)
def test_typed_mentions_and_links_in_bad_commands_are_not_echoed_raw(bot, text):
    """A command quoting `<!channel>`, `<@U999>` or a link back in its usage message escapes it."""
    acks = [ask(bot, "schedule checkins weekly Tuesday 10:00"), ask(bot, text)]
    said = everything_said(bot.stub, acks)
    assert any("&lt;" in s for s in said)
    for s in said:
        for nasty in (*NASTY, "<!channel>"):
            assert nasty not in s


# ---- huge inputs: clipping keeps every payload within Slack's limits ----------------------------------


def huge_catalog(levels: int = 70, per_level: int = 4) -> Catalog:
    long = "word " * 700  # 3,500 characters
    lvls = tuple(Level(f"level-{i}", f"Level {i} " + "x" * 300, "micro") for i in range(levels))
    facs = tuple(
        Facilitator(f"f-{i}-{j}", f"level-{i}", f"{long} <{i}-{j}>", f"{long}?", tags=("meeting", "reflexivity"))
        for i in range(levels)
        for j in range(per_level)
    )
    return Catalog("huge", lvls, facs)


def huge_summary(catalog: Catalog):
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    window = window_for(now, "Europe/London", 8)
    roles = [f"role {n} " + "r" * 200 for n in range(40)]
    return summarize(catalog, {}, window=window, now=now, k=3, members=12, roles=roles)


@pytest.mark.parametrize("levels", [1, 5, 46, 47, 70])
def test_summary_blocks_stay_within_message_limits_for_any_catalog(levels):
    """Any number of levels and any length of words fit one message (50 blocks, 3,000-character sections)."""
    catalog = huge_catalog(levels)
    blocks = overview.summary_blocks(huge_summary(catalog), "Europe/London")
    check_message_blocks(blocks)
    named = [b for b in blocks if b.get("block_id", "").startswith("level:")]
    # header, period, silent roles and the suggestion take four blocks; past 46 levels one more says "and N more"
    fits = MESSAGE_BLOCKS_MAX - 4
    assert len(named) == (levels if levels <= fits else fits - 1)
    assert all("neglected" in b["text"]["text"] for b in named)
    assert ("more levels" in json.dumps(blocks)) == (levels > fits)


def test_home_view_stays_within_view_limits_for_many_partnerships():
    """App Home with many partnerships and a huge catalog stays within 100 blocks and every text limit."""
    catalog = huge_catalog(12)
    summary = huge_summary(catalog)
    later = datetime(2026, 12, 1, 10, tzinfo=UTC)
    items = [
        overview.HomeItem(
            channel=f"C{n}",
            timezone="Europe/London",
            summary=summary,
            next={"checkins": later, "summary": None},
            paused=None,
            coordinator=n % 2 == 0,
            reflexivity_on=n % 3 == 0,
        )
        for n in range(30)
    ]
    view = overview.home_view(items, catalog)
    check_view(view)
    assert len(view["blocks"]) <= VIEW_BLOCKS_MAX


def test_checkin_and_modal_stay_within_limits_for_huge_words():
    """A check-in, a reflection prompt and the comment modal for a 3,500-character practice all validate."""
    catalog = huge_catalog(1, 1)
    level, facilitator = catalog.levels[0], catalog.facilitators[0]
    check_message_blocks(messages.checkin_blocks(level, facilitator, 123456789, 10_000))
    check_message_blocks(messages.checkin_blocks(level, facilitator, 1, 0, reflexive_channel="C1"))
    check_view(messages.comment_modal(facilitator, 1, seal="0" * 32, rating=3, comment="c" * 5000, anonymous=True))


def test_every_level_block_names_its_level_after_clipping():
    """Clipping long flags never cuts the level's name off the front of its block."""
    catalog = huge_catalog(5)
    blocks = overview.summary_blocks(huge_summary(catalog), "Europe/London")
    for level in catalog.levels:
        [block] = [b for b in blocks if b.get("block_id") == f"level:{level.id}"]
        assert block["text"]["text"].startswith(f"*{level.name}*")
        assert len(block["text"]["text"]) <= 3000
