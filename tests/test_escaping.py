"""Nobody can make coprod ping @channel or link away, and its secrets never reach a log (issue 4, item 4).

Every word a person typed that the bot writes back (comments in confirmations, the word a usage
message complains about, a pin target, a timezone, a mention's text) is escaped. We read everything
the bot said (acknowledgement bodies and every call it made to the Slack stand-in) and look for Slack's
control sequences: the only ``<…>`` allowed are mentions the bot builds itself from ids it validated.
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.support.constants import APP_TOKEN, BOT_TOKEN, CHANNEL, COORDINATOR, SECRET, TEAM
from tests.support.flows import click_rating, message_in, posted_checkin, replies_to, submit_comment

HOSTILE = "<!channel> <!here> <!everyone> <@U999> <http://evil.example|click me> <!subteam^S1|@team> & co"
ESCAPED = "&lt;!channel&gt;"
# Sequences the bot may send: mentions of people it knows, and its channel.
ALLOWED = re.compile(r"<(?:@(?:U1|U2|U3|U4|UADMIN)|#C1)>")
CONTROL = re.compile(r"<[^<>]*>")


def texts(node, skip=("initial_value", "private_metadata", "value", "_raw", "_key", "token")) -> list[str]:
    """Every string Slack would render from a payload: JSON strings decoded, form/input values left out
    (an input box shows what the person typed, as typed)."""
    if isinstance(node, str):
        try:
            decoded = json.loads(node)
        except ValueError:
            return [node]
        return texts(decoded, skip) if isinstance(decoded, dict | list) else [node]
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                found.extend(texts(value, skip))
    elif isinstance(node, list):
        for item in node:
            found.extend(texts(item, skip))
    return found


class Said:
    """Everything the bot said: acknowledgements we collect plus every call the stub recorded."""

    def __init__(self, bot):
        self.bot = bot
        self.acks: list[str] = []

    def ack(self, reply) -> dict | None:
        assert reply.status == 200, reply.text
        self.acks.append(reply.text)
        return reply.json()

    def all(self) -> list[str]:
        self.bot.drain()
        out = [t for body in self.acks for t in texts(body)]
        for call in self.bot.stub.calls:
            if call.method in ("file_upload", "auth.test"):
                continue  # the file's bytes are a CSV for a spreadsheet, not Slack text
            out.extend(texts(call.args))
        return out

    def check(self) -> str:
        everything = self.all()
        for text in everything:
            for seq in CONTROL.findall(text):
                assert ALLOWED.fullmatch(seq), f"raw {seq!r} in what the bot said: {text[:400]!r}"
        return "\n".join(everything)


def command(bot, said: Said, text: str, user: str = COORDINATOR) -> dict | None:
    """`/coprod <text>`; the private answer, from the acknowledgement or (after it) the response_url."""
    key = f"c{len(said.acks)}"
    answer = said.ack(bot.command(text, user=user, response_url=bot.stub.response_url(key)))
    bot.drain()
    if answer and answer.get("text"):
        return answer
    later = [c.args for c in bot.stub.calls_to("response_url") if c.args.get("_key") == key]
    return later[0] if later else answer


def first_checkin(bot, said: Said) -> int:
    command(bot, said, "checkin")
    return posted_checkin(bot).id


# ---- comments --------------------------------------------------------------------------------------


def test_a_comment_is_escaped_in_every_confirmation(bot):
    said = Said(bot)
    checkin = first_checkin(bot, said)
    answer = said.ack(submit_comment(bot, checkin, "U2", rating=3, comment=HOSTILE))
    assert answer["response_action"] == "update"
    assert ESCAPED in json.dumps(answer)
    # A later click echoes the stored comment in the private confirmation.
    said.ack(click_rating(bot, checkin, 4, "U2"))
    [confirm] = replies_to(bot, "rate-U2")
    assert ESCAPED in confirm.args["text"] and "&lt;@U999&gt;" in confirm.args["text"]
    # Reopening the modal shows the comment as typed, inside the input box only.
    said.ack(bot.slack.click("comment", "comment", block_id=f"checkin:{checkin}", user="U2"))
    [_, opened] = bot.stub.wait_for("views.open", count=2)  # the first opened for the submission above
    assert opened.json("view")["blocks"][2]["element"]["initial_value"] == HOSTILE
    everything = said.check()
    assert "<!channel>" not in everything and "<http://evil" not in everything


# ---- usage messages echoing the wrong word -----------------------------------------------------------

ECHOING_COMMANDS = [
    "schedule checkins weekly <!channel> 10:00",
    "schedule checkins weekly Tuesday <!channel>",
    "schedule <!channel> weekly Tuesday 10:00",
    "schedule checkins <!channel> Tuesday 10:00",
    "schedule checkins weekly Tuesday 10:00 <!channel>",
    "meeting every <!channel> 10:00",
    "meeting every Tuesday 10:00 remind <!channel>",
    "meeting every Tuesday 10:00 <!channel> 5",
    "role <@U2> <!channel>",
    "role <!channel> carer",
    "role <@U2|<!channel>> carer",
    "coordinators add <!channel>",
    "coordinators add <@U2> <!channel>",
    "next <!channel>",
    "checkin <!channel>",
    "timezone <!channel>",
    "timezone Europe/<!channel>",
    "summary <!channel>",
    "summary weeks <!channel>",
    "retention <!channel>",
    "export <!channel>",
    "forget-me <!channel>",
    "<!channel>",
]


@pytest.mark.parametrize("text", ECHOING_COMMANDS)
def test_a_usage_message_escapes_the_word_it_echoes(bot, text):
    said = Said(bot)
    command(bot, said, "schedule checkins weekly Tuesday 10:00")  # the partnership exists, U1 coordinates
    answer = command(bot, said, text)
    assert answer is not None and answer.get("response_type") == "ephemeral", answer
    assert ESCAPED in answer["text"], answer["text"]
    said.check()


@pytest.mark.parametrize("word", [HOSTILE, "<http://evil.example|Europe/London>", "<@U999>", "<!here|here>"])
def test_every_hostile_word_is_escaped_wherever_it_is_echoed(bot, word):
    said = Said(bot)
    command(bot, said, "schedule checkins weekly Tuesday 10:00")
    for template in (
        "schedule checkins weekly {} 10:00",
        "timezone {}",
        "next {}",
        "role <@U2> {}",
        "{}",
        "meeting every Monday {}",
        "summary {}",
    ):
        command(bot, said, template.format(word))
    said.check()


# ---- what the bot writes back from valid commands ---------------------------------------------------


def test_roles_pins_timezones_and_coordinators_carry_only_validated_words(bot):
    said = Said(bot)
    command(bot, said, "schedule checkins weekly Tuesday 10:00")
    answer = command(bot, said, "role <@U2|everyone&amp;here!> carer")
    assert answer["text"].startswith("Thanks: <@U2> is recorded as carer"), answer  # the label is dropped
    for text in (
        "role <@U2|the <b>boss</b>> carer",
        "role <@U3> service user",
        "next group",
        "next power-imbalances",
        "timezone America/Toronto",
        "coordinators add <@U2|x>",
        "coordinators remove <@U2>",
        "summary",
        "help",
        "forget-me",
    ):
        command(bot, said, text)
    everything = said.check()
    assert "<@U3>" in everything  # a mention built from a validated id is fine


def test_a_mention_never_echoes_its_text(bot):
    said = Said(bot)
    command(bot, said, "checkin")
    for i, text in enumerate([f"<@UBOT> {HOSTILE}", f"<@UBOT> summary {HOSTILE}", HOSTILE]):
        said.ack(
            bot.slack.event(
                {"type": "app_mention", "user": "U2", "channel": CHANNEL, "text": text, "ts": f"1.{i}"},
                event_id=f"EvM{i}",
            )
        )
    bot.stub.wait_for("chat.postEphemeral", count=2)
    everything = said.check()
    assert "evil.example" not in everything and "U999" not in everything


def test_app_home_and_summaries_escape_what_people_typed(bot):
    said = Said(bot)
    checkin = first_checkin(bot, said)
    command(bot, said, "role <@U2> carer")
    said.ack(submit_comment(bot, checkin, "U2", rating=1, comment=HOSTILE))
    said.ack(
        bot.slack.event({"type": "app_home_opened", "user": "U2", "channel": "DU2", "tab": "home"}, event_id="EvHome")
    )
    bot.stub.wait_for("views.publish")
    command(bot, said, "summary")
    said.ack(bot.slack.click("home_summary", CHANNEL, user=COORDINATOR, container_type="view"))
    bot.stub.wait_for("chat.postMessage", count=2)
    said.check()


# ---- secrets ------------------------------------------------------------------------------------------


def test_tokens_and_secrets_are_never_logged_or_echoed(bot, caplog):
    caplog.set_level(logging.DEBUG)
    said = Said(bot)
    checkin = first_checkin(bot, said)
    command(bot, said, "schedule checkins weekly Tuesday 10:00")
    said.ack(click_rating(bot, checkin, 5, "U2"))
    said.ack(submit_comment(bot, checkin, "U2", comment="hello"))
    command(bot, said, "export")
    bot.stub.wait_for("file_upload")
    said.ack(
        bot.slack.event({"type": "app_home_opened", "user": "U2", "channel": "DU2", "tab": "home"}, event_id="EvSecret")
    )
    bot.stub.wait_for("views.publish")
    bot.stub.fail("chat.postMessage", "not_in_channel")
    command(bot, said, "checkin")  # a Slack error on the way
    if bot.mode == "http":
        bot.slack.click("rate:1", "1", block_id=f"checkin:{checkin}", bad_signature=True)  # a forged one
        bot.slack.send(b"payload=%7Bbroken", "application/x-www-form-urlencoded")  # a broken one
    else:  # Socket Mode has no signature to forge; a broken payload can still arrive
        bot.slack.envelope("interactive", {"type": "block_actions", "actions": "broken"})
    said.ack(bot.slack.click("met", "2026-11-20", user="U9", message_ts=message_in(bot)))  # an unknown user
    bot.drain()
    assert caplog.records, "the scenario logged nothing: the test would prove nothing"
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    for record in caplog.records:
        rendered = record.getMessage() + (
            logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        for secret in (BOT_TOKEN, SECRET, APP_TOKEN):
            assert secret not in rendered, f"{record.name} logged a secret: {rendered[:300]!r}"
    # nor is it in anything the bot said or sent as an argument (the Authorization header aside)
    assert BOT_TOKEN not in "\n".join(said.all())
    for call in bot.stub.calls:
        for secret in (BOT_TOKEN, SECRET, APP_TOKEN):
            assert secret not in json.dumps(call.args, default=str)
    assert TEAM  # the scenario ran in T1
