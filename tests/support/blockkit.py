"""Reading what coprod sent: the words of an answer, its posts by kind, their block ids, and Block Kit
validity within Slack's limits.

Every payload comes from the Slack stand-in's record (or from the body of an acknowledgement), so these
helpers see exactly what Slack would have seen; Block Kit's rules are the stand-in's own
(``bot.localslack.blockkit``), so a test and the stand-in never disagree on what Slack takes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.localslack import blockkit as rules
from bot.localslack.blockkit import (  # noqa: F401 - Slack's limits, for the tests that probe them
    BUTTON_TEXT_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    VIEW_BLOCKS_MAX,
)
from tests.support.constants import CHANNEL

# Methods whose arguments carry what people read.
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
VIEW_METHODS = ("views.open", "views.publish", "views.update", "views.push")

# ---- what was said and asked ---------------------------------------------------------------------

# Calls made once per process or connection, not because of anything a person did: Bolt learning its own
# identity, and a Socket Mode client asking for its WebSocket URL.
HOUSEKEEPING = ("auth.test", "apps.connections.open")


def slack_calls(stub) -> list:
    """What the bot asked of Slack, less its housekeeping calls (``HOUSEKEEPING``)."""
    return [c for c in stub.calls if c.method not in HOUSEKEEPING]


def words(answer: dict) -> str:
    """All the words of a private answer: its text and every text in its blocks."""
    return str(answer.get("text") or "") + "\n" + "\n".join(texts_in(answer.get("blocks") or []))


def texts_in(node: Any) -> list[str]:
    """Every ``text`` string anywhere inside a Block Kit structure."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return []
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(texts_in(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(texts_in(item))
    return found


# ---- Block Kit ----------------------------------------------------------------------------------


@dataclass
class Payload:
    """One set of blocks (a message) or one view that the bot sent."""

    source: str  # the Web API method, "response_url" or "ack"
    kind: str  # "message" | "view"
    body: dict  # a message's args ({"text", "blocks"}) or the view


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def payloads(stub, acks: list[dict] | tuple = ()) -> list[Payload]:
    """Every message and view the bot sent to the stub, plus the bodies of acknowledgements given."""
    found: list[Payload] = []
    for call in stub.calls:
        if call.method in MESSAGE_METHODS:
            body = {"text": call.args.get("text", "")}
            if "blocks" in call.args:
                body["blocks"] = _decoded(call.args["blocks"])
            found.append(Payload(call.method, "message", body))
        elif call.method in VIEW_METHODS:
            found.append(Payload(call.method, "view", _decoded(call.args["view"])))
    for ack in acks:
        if not ack:
            continue
        if "view" in ack:
            found.append(Payload("ack", "view", ack["view"]))
        else:
            found.append(Payload("ack", "message", ack))
    return found


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def check_block(block: dict) -> None:
    """The block is one Slack takes (the stand-in's rules, ``bot.localslack.blockkit``), alone in a message."""
    problems = rules.message_problems([block])
    assert not problems, problems


def check_message_blocks(blocks: list[dict]) -> None:
    assert blocks, "a message with no blocks"
    problems = rules.message_problems(blocks)
    assert not problems, problems


def valid_blocks(blocks: list[dict]) -> list[dict]:
    """``blocks``, once checked to be a message Slack would accept (:func:`check_message_blocks`)."""
    check_message_blocks(blocks)
    return blocks


def check_view(view: dict) -> None:
    assert view.get("blocks"), "a view with no blocks"
    problems = rules.view_problems(view)
    assert not problems, problems


def check_payload(payload: Payload) -> None:
    if payload.kind == "view":
        check_view(payload.body)
    elif payload.body.get("blocks"):
        check_message_blocks(payload.body["blocks"])
    else:
        assert payload.body.get("text"), f"a {payload.source} message with neither blocks nor text"


def everything_said(stub, acks: list[dict] | tuple = ()) -> list[str]:
    """Every string a person could read in what the bot sent: message texts and every text in blocks
    and views. A text input's ``initial_value`` is the person's own words given back to edit, never
    rendered as mrkdwn, so it is left out."""
    said: list[str] = []
    for payload in payloads(stub, acks):
        if payload.kind == "message":
            said.append(payload.body.get("text", ""))
            said.extend(texts_in(payload.body.get("blocks") or []))
        else:
            said.extend(texts_in(payload.body))
    for call in stub.calls_to("files.completeUploadExternal"):
        said.append(str(call.args.get("initial_comment", "")))
    return said


# ---- posts by kind, and their block ids ---------------------------------------------------------------


def blocks_json(call) -> str:
    """A posted message's blocks as one JSON string, to look for words in."""
    return json.dumps(call.json("blocks", []))


def block_id_of(call, prefix: str) -> str:
    """The id of the first block of a posted message whose id starts with ``prefix`` (``"checkin:"``…)."""
    return next(b["block_id"] for b in call.json("blocks") if b.get("block_id", "").startswith(prefix))


def checkin_id_of(call) -> int:
    """The check-in id of a posted check-in (``checkin:<id>``) or reflection prompt (``reflect:<id>``), from
    the block_id of its buttons."""
    [actions] = [
        b
        for b in call.json("blocks")
        if b["type"] == "actions"
        and ":" in b.get("block_id", "")
        and b["block_id"].split(":")[0] in ("checkin", "reflect")
    ]
    return int(actions["block_id"].split(":")[1])


def _has_block(call, prefix: str) -> bool:
    return any(b.get("block_id", "").startswith(prefix) for b in call.json("blocks", []))


def is_checkin_post(call, channel: str = CHANNEL) -> bool:
    """A chat.postMessage call that posted a check-in in ``channel`` (Slack answered ok)."""
    return (
        bool((call.response or {}).get("ok")) and call.args.get("channel") == channel and _has_block(call, "checkin:")
    )


def checkin_posts(stub, channel: str = CHANNEL) -> list:
    """The check-ins posted in ``channel`` so far (successful posts only)."""
    return [c for c in stub.calls_to("chat.postMessage") if is_checkin_post(c, channel)]


def summary_posts(stub, channel: str = CHANNEL) -> list:
    """The summaries posted in ``channel`` so far (a block per level: ``level:<id>``)."""
    return [
        c for c in stub.calls_to("chat.postMessage") if c.args.get("channel") == channel and _has_block(c, "level:")
    ]
