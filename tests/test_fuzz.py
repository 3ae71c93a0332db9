"""Hostile and malformed input, fuzzed with hypothesis against the running bot (issue 4, item 6).

Whatever arrives (any slash-command text, modal submissions, odd events; and at ``POST /slack/events``
broken or forged interaction payloads and bodies that are not Slack's at all) gets a 2xx or 4xx, never a
5xx, never a traceback, and never a partial write: the store changes only when the request was a valid one.
Slash commands, submissions and events run in both runner modes; the broken, forged and non-Slack bodies
are about the HTTP endpoint's guard (Socket Mode carries no signature and only JSON Slack built), so they
use ``http_bot``. One bot runs per test and takes every example; ``bot.drain()`` waits for the work after
each acknowledgement so a write can never land after we looked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.localslack.client_sim import post
from bot.localslack.signed import (
    FORM,
    JSON,
    action_body,
    command_body,
    event_body,
    form_payload,
    payload_of,
    view_submission_body,
)
from bot.slack.listeners import plans as plan_listener
from tests.support.constants import CHANNEL, COORDINATOR, SECRET, TEAM
from tests.support.edits import setting
from tests.support.flows import post_checkin, rate
from tests.support.stored import read_only

# COPROD_FUZZ_EXAMPLES=1000 for a deeper run than CI's.
FUZZ = settings(
    max_examples=int(os.environ.get("COPROD_FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Tables whose rows are people's data or settings; `users` (a cache of users.info), `events_seen`,
# `posts` and `meta` are bookkeeping.
DOMAIN_TABLES = (
    "partnerships",
    "schedules",
    "coordinators",
    "roles",
    "checkins",
    "responses",
    "meetings",
    "reflexivity_optouts",
    "actions",
    "action_events",
    "nudges",
    "nudge_optouts",
    "pauses",
)
ERROR_NAME = re.compile(r"\b\w*(?:Error|Exception)\b")
USAGE_TAIL = "Type `/coprod help` for examples."


# ---- helpers ----------------------------------------------------------------------------------


def snapshot(bot, tables=DOMAIN_TABLES) -> dict[str, list[tuple]]:
    """Every row of the domain tables, read through a connection of our own."""
    bot.drain()
    with read_only(bot.store.path) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def assert_clean(reply, sent: str = "") -> None:
    """A 2xx/4xx answer with no traceback and no exception class name the sender didn't type."""
    assert 200 <= reply.status < 500, (reply.status, reply.text[:300])
    text = reply.text
    assert "Traceback" not in text
    try:  # read what a person would read: JSON escapes such as \u201c would glue onto a word
        shown = json.dumps(json.loads(text), ensure_ascii=False) if text.strip() else ""
    except ValueError:
        shown = text
    for name in ERROR_NAME.findall(shown):
        assert name in sent, f"exception name {name!r} leaked in {text[:300]!r}"


def send(bot, body: bytes, content_type: str = FORM, **kw):
    return bot.slack.send(body, content_type, **kw)


def setup_partnership(bot) -> int:
    """A partnership in C1 with one check-in answered by U2; returns the check-in id."""
    checkin_id = post_checkin(bot).id
    rate(bot, checkin_id, 3, "U2")
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1
    bot.drain()
    return checkin_id


def ensure_checkin(bot) -> int:
    """The answered check-in of ``setup_partnership``, made on the first example of a test, and an open action
    U3 planned (id 1)."""
    if bot.store.checkins.checkin(TEAM, 1):
        return 1
    checkin_id = setup_partnership(bot)
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    bot.store.plans.plan(
        p, what="x", facilitator_id="power-imbalances", level_id="group", lead=None, due_on=None, planned_by="U3", now=1
    )
    return checkin_id


# ---- strategies -------------------------------------------------------------------------------

VERBS = [
    "help",
    "?",
    "checkin",
    "check-in",
    "summary",
    "schedule",
    "meeting",
    "coordinators",
    "coordinator",
    "role",
    "next",
    "pin",
    "timezone",
    "tz",
    "retention",
    "export",
    "forget-me",
    "forget",
    "weeks",
    "actions",
    "nudge",
    "pause",
    "resume",
]
WORDS = [
    "checkins",
    "summary",
    "reflexivity",
    "weekly",
    "fortnightly",
    "monthly",
    "off",
    "every",
    "remind",
    "add",
    "remove",
    "Tuesday",
    "tue",
    "10:00",
    "9:30",
    "25:00",
    "24:00",
    "-1",
    "0",
    "1",
    "12",
    "999999999999",
    "²",
    "weeks",
    "individual",
    "group",
    "organisational",
    "societal",
    "paradigmatic",
    "Europe/London",
    "Mars/Olympus",
    "<@U2>",
    "<@U2|bob>",
    "<@W9>",
    "<!channel>",
    "<!here>",
    "<http://x.io|click>",
    "carer",
    "service",
    "user",
    "patient",
    "researcher",
    "@bob",
    "&amp;",
    "`",
    "*",
    "\u200b",
    "\x00",
    "ℌ",
    "١٢",
    "until",
    "2027-01-04",
    "2026-11-24",
    "2026-02-30",
    "48",
    "48h",
    "hours",
    "167",
    "168",
]

any_text = st.text(max_size=300)
long_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000)
control_text = st.text(alphabet=st.characters(max_codepoint=0x20), max_size=40)
grammar_text = st.builds(
    lambda verb, rest: " ".join([verb, *rest]),
    st.sampled_from(VERBS),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=12)), max_size=6),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
garbage = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


# ---- slash commands ----------------------------------------------------------------------------


def check_command(bot, text: str, user: str = COORDINATOR) -> None:
    before = snapshot(bot)
    reply = bot.command(text, user=user)
    assert reply.status == 200, (reply.status, reply.text[:300])
    assert_clean(reply, text)
    answer = reply.json()
    if answer and answer.get("text", "").endswith(USAGE_TAIL):
        assert answer.get("response_type") == "ephemeral"
        assert snapshot(bot) == before, f"a usage message for {text!r}, yet the store changed"


@FUZZ
@given(text=st.one_of(any_text, control_text, long_text))
def test_any_command_text_gets_a_200_and_usage_changes_nothing(bot, text):
    check_command(bot, text)


@FUZZ
@given(text=grammar_text, user=st.sampled_from([COORDINATOR, "U3"]))
def test_grammar_shaped_text_gets_a_200_and_usage_changes_nothing(bot, text, user):
    check_command(bot, text, user)


def test_a_usage_message_really_is_recognised(bot):
    """The fuzz tests lean on spotting usage messages; make sure they do spot them."""
    answer = bot.command("schedule checkins weekly Funday 10:00").json()
    assert answer["text"].endswith(USAGE_TAIL)
    assert "Funday" in answer["text"]


# ---- interaction payloads: broken copies of valid ones ------------------------------------------


def _form(payload: object) -> bytes:
    return form_payload(payload)[0]


def _valid_click(kind: str, checkin_id: int) -> dict:
    """A valid block_actions payload of one kind, from U3 in T1/C1."""
    if kind == "rate":
        body, _ = action_body("rate:5", "5", block_id=f"checkin:{checkin_id}", user="U3")
    elif kind == "met":
        body, _ = action_body("met", "2026-11-20", block_id="meeting:2026-11-20", user="U3")
    elif kind == "reflexivity":
        body, _ = action_body("reflexivity_off", CHANNEL, block_id=f"reflexivity:{CHANNEL}", user="U3")
    elif kind == "action":
        body, _ = action_body("action_done", "1", block_id="action:1", user="U3")
    elif kind == "nudge_off":
        body, _ = action_body("nudge_off", CHANNEL, block_id=f"nudge-optout:{CHANNEL}", user="U3", channel="DU3")
    else:
        body, _ = action_body(
            "home_checkin", CHANNEL, block_id=f"home:{CHANNEL}", user=COORDINATOR, container_type="view"
        )
    return payload_of(body)


def _drop(*keys: str):
    def apply(p: dict) -> dict:
        for key in keys:
            p.pop(key, None)
            if isinstance(p.get("user"), dict) and key == "team":
                p["user"].pop("team_id", None)
        return p

    return apply


# Each breakage makes a valid click invalid: it must then write nothing.
BREAKAGES = {
    "actions not a list": lambda g: setting(("actions",), g),
    "actions empty": lambda g: setting(("actions",), []),
    "action not a dict": lambda g: setting(("actions",), [g]),
    "user missing": lambda g: _drop("user"),
    "user garbage": lambda g: setting(("user",), g),
    "user id garbage": lambda g: setting(("user", "id"), g),
    "team missing": lambda g: _drop("team"),
    "team garbage": lambda g: lambda p: _drop("team")(p) | {"team": g if isinstance(g, str) else {"id": g}},
    "other workspace": lambda g: setting(("team",), {"id": "T2", "domain": "t2"}),
    "action_id garbage": lambda g: setting(("actions", 0, "action_id"), g),
    "value garbage": lambda g: setting(("actions", 0, "value"), g),
    "block_id garbage": lambda g: setting(("actions", 0, "block_id"), g),
}
# These only dress a payload up oddly; a payload can still be valid with them.
COSMETIC = {
    "container garbage": lambda g: setting(("container",), g),
    "message missing": lambda g: _drop("message"),
    "channel garbage": lambda g: setting(("channel",), g),
    "response_url garbage": lambda g: setting(("response_url",), g),
    "extra keys": lambda g: setting(("zzz",), g),
}


def _breaks(kind: str, name: str, g) -> bool:
    """Whether this breakage really invalidates this kind of click (a kind may never read some keys)."""
    if name == "block_id garbage":
        return kind in ("rate", "action")  # ratings and actions are tied to their block
    if name == "value garbage":
        return g not in ("5", CHANNEL, "1")
    if name == "user id garbage":
        return not (isinstance(g, str) and re.fullmatch(r"[UW][A-Z0-9]+", g))
    return True


@FUZZ
@given(
    kind=st.sampled_from(["rate", "met", "reflexivity", "home", "action", "nudge_off"]),
    broken=st.lists(st.tuples(st.sampled_from(sorted(BREAKAGES)), garbage), min_size=1, max_size=3),
    dressed=st.lists(st.tuples(st.sampled_from(sorted(COSMETIC)), garbage), max_size=2),
    sign_it=st.booleans(),
)
def test_broken_clicks_never_500_and_write_nothing(http_bot, kind, broken, dressed, sign_it):
    bot = http_bot
    checkin_id = ensure_checkin(bot)
    payload = _valid_click(kind, checkin_id)
    for name, g in [*dressed, *broken]:
        # (an earlier breakage may have removed what this one would change: still broken)
        with contextlib.suppress(KeyError, IndexError, TypeError):
            payload = (BREAKAGES.get(name) or COSMETIC[name])(g)(payload)
    invalid = any(_breaks(kind, name, g) for name, g in broken)
    before = snapshot(bot)
    reply = send(bot, _form(payload), bad_signature=not sign_it)
    assert_clean(reply)
    if not sign_it:
        assert reply.status == 401
    if invalid or not sign_it:
        assert snapshot(bot) == before, (broken, dressed)


@pytest.mark.parametrize("kind", ["rate", "met", "reflexivity", "home", "action", "nudge_off"])
def test_the_valid_clicks_behind_the_fuzz_do_write(bot, kind):
    """The unbroken payloads the fuzz starts from are accepted, so 'nothing written' means something."""
    ensure_checkin(bot)
    before = snapshot(bot)
    reply = send(bot, _form(_valid_click(kind, 1)))
    assert reply.status == 200
    assert snapshot(bot) != before


# ---- view submissions ----------------------------------------------------------------------------

meta_strategy = st.one_of(
    st.tuples(st.just("valid"), st.just(None)),
    st.tuples(st.just("text"), st.text(max_size=40)),
    st.tuples(st.just("json"), json_values),
    st.tuples(st.just("missing"), st.sampled_from([999, -1, 0, 2**63, "999", "x", None, [1], {"checkin": 1}])),
)
rating_strategy = st.one_of(st.sampled_from(["1", "5"]), st.text(max_size=3), garbage)


def _metadata(bot, kind: str, extra, checkin_id: int, user: str) -> tuple[str, bool]:
    if kind == "valid":  # what the form coprod opened for this person carries (tests/test_slack_modal.py opens it)
        return json.dumps({"checkin": checkin_id, "seal": bot.store.answers.form_seal(TEAM, user, checkin_id)}), True
    if kind == "text":
        return extra, False
    if kind == "json":
        return json.dumps(extra), False
    return json.dumps({"checkin": extra}), False


@FUZZ
@given(
    meta=meta_strategy,
    rating=rating_strategy,
    comment=st.one_of(st.none(), st.text(max_size=50), st.text(min_size=2001, max_size=2100), garbage),
    anonymous=st.one_of(st.lists(st.sampled_from(["anonymous", "x"]), max_size=2), garbage),
    user=st.sampled_from(["U3", "U4", "", "UNEW"]),
    values_garbage=st.one_of(st.none(), garbage),
)
def test_fuzzed_modal_submissions_never_500_and_write_only_when_valid(
    bot, meta, rating, comment, anonymous, user, values_garbage
):
    checkin_id = ensure_checkin(bot)
    private_metadata, meta_ok = _metadata(bot, *meta, checkin_id, user)
    if meta[0] == "json" and isinstance(meta[1], dict) and "checkin" in meta[1]:
        return  # may name a real check-in: covered by the "valid" and "missing" branches
    values = {
        "rating": {"rating": {"type": "radio_buttons", "selected_option": {"value": rating}}},
        "comment": {"comment": {"type": "plain_text_input", "value": comment}},
        "anonymous": {
            "anonymous": {
                "type": "checkboxes",
                "selected_options": [{"value": v} for v in anonymous] if isinstance(anonymous, list) else anonymous,
            }
        },
    }
    body, _ = view_submission_body("comment", values, private_metadata=private_metadata, user=user)
    if values_garbage is not None:
        payload = payload_of(body)
        payload["view"]["state"] = {"values": values_garbage}
        body = _form(payload)
    answered = bool(user) and bot.store.answers.my_answer(TEAM, checkin_id, user) is not None
    comment_ok = not (isinstance(comment, str) and len(comment.strip()) > 2000)
    rating_ok = rating in ("1", "2", "3", "4", "5") or answered
    # A form with nothing readable in it can only save an earlier answer again.
    valid = meta_ok and answered if values_garbage is not None else meta_ok and bool(user) and comment_ok and rating_ok
    before = snapshot(bot)
    reply = send(bot, body)
    assert_clean(reply)
    if not valid:
        assert snapshot(bot) == before
        if reply.status == 200 and reply.body:
            assert reply.json().get("response_action") == "errors"


def _plan_field_ok(name: str, value) -> bool:
    """Whether a plan form's field, as fuzzed, is one coprod must accept (non-strings read as left empty)."""
    if name == "what":
        return isinstance(value, str) and 0 < len(" ".join(value.split())) <= 500
    if name == "practice":
        return value == "power-imbalances"
    if name == "lead":
        return not isinstance(value, str) or re.fullmatch(r"[UW][A-Z0-9]+", value) is not None
    if not isinstance(value, str) or not value:  # the date
        return True
    try:
        due = date.fromisoformat(value)
    except ValueError:
        return False
    return date(2026, 11, 24) <= due <= date(2026, 11, 24) + timedelta(days=366)


@FUZZ
@given(
    meta=st.sampled_from(["valid", "another person's", "made up", "not json"]),
    what=st.one_of(st.none(), st.text(max_size=30), st.text(min_size=501, max_size=600), garbage),
    practice=st.one_of(st.sampled_from(["power-imbalances", "nope", ""]), garbage),
    lead=st.one_of(st.none(), st.sampled_from(["U2", "<!channel>", "", "W9"]), garbage),
    due=st.one_of(st.none(), st.sampled_from(["2026-12-01", "2020-01-01", "2030-01-01", "x", "2026-02-30"]), garbage),
)
def test_fuzzed_plan_forms_never_500_and_plan_only_when_valid(bot, meta, what, practice, lead, due):
    ensure_checkin(bot)
    sealed_for = "U4" if meta == "another person's" else "U3"
    seal = plan_listener.seal(bot.runtime.deps, TEAM, sealed_for, CHANNEL)
    metadata = {
        "valid": json.dumps({"channel": CHANNEL, "seal": seal}),
        "another person's": json.dumps({"channel": CHANNEL, "seal": seal}),
        "made up": json.dumps({"channel": CHANNEL, "seal": "0" * 32}),
        "not json": "{",
    }[meta]
    values = {
        "what": {"what": {"type": "plain_text_input", "value": what}},
        "practice": {"practice": {"type": "static_select", "selected_option": {"value": practice}}},
        "lead": {"lead": {"type": "users_select", "selected_user": lead}},
        "due": {"due": {"type": "datepicker", "selected_date": due}},
    }
    body, _ = view_submission_body("plan", values, private_metadata=metadata, user="U3")
    fields = {"what": what, "practice": practice, "lead": lead, "due": due}
    valid = meta == "valid" and all(_plan_field_ok(name, value) for name, value in fields.items())
    before = snapshot(bot)
    reply = send(bot, body)
    assert_clean(reply)
    if valid:
        assert snapshot(bot) != before, fields
    else:
        assert snapshot(bot) == before, (meta, fields)
        assert reply.json().get("response_action") == "errors"


# ---- events ---------------------------------------------------------------------------------------

# The events coprod subscribes to (manifest.json), then others Slack could only send over HTTP by mistake.
SUBSCRIBED_EVENTS = ["app_mention", "app_home_opened", "member_joined_channel"]
EVENT_TYPES = [*SUBSCRIBED_EVENTS, "message", "reaction_added", "app_uninstalled", "tokens_revoked", ""]
EVENT_TABLES = ("partnerships", "responses", "schedules", "coordinators", "roles", "meetings")
EVENT_FIELDS = ["user", "channel", "text", "tab", "ts", "team", "event_ts"]
event_fields = st.dictionaries(st.sampled_from(EVENT_FIELDS), json_values, max_size=5)
# Fields of the types Slack sends (all strings), with any content: what a listener, not the guard, must handle.
typed_event_fields = st.dictionaries(
    st.sampled_from(EVENT_FIELDS),
    st.one_of(
        st.sampled_from(["U2", "UBOT", "U999", "C1", "C999", "DU2", "home", "messages", "T2", ""]), st.text(max_size=30)
    ),
    max_size=5,
)


def check_event(bot, etype, fields, envelope=None, sign_it: bool = True):
    """Send an event of ``etype`` with ``fields`` (and the envelope's fields replaced by ``envelope``);
    it is answered cleanly and touches no answers, settings or partnerships."""
    event = {"type": etype, **fields}
    body, ctype = event_body(event, event_id=f"Ev{abs(hash((etype, repr(fields)))) % 10**9}")
    doc = json.loads(body)
    doc.update(envelope or {})
    before = snapshot(bot, EVENT_TABLES)
    reply = send(bot, json.dumps(doc).encode(), ctype, **({} if sign_it else {"bad_signature": True}))
    assert_clean(reply)
    if not sign_it:
        assert reply.status == 401
    after = snapshot(bot, EVENT_TABLES)
    # Joining a channel may refresh its member count; nothing else may move.
    strip = [tuple(v for i, v in enumerate(row) if i != 6) for row in after["partnerships"]]
    assert strip == [tuple(v for i, v in enumerate(row) if i != 6) for row in before["partnerships"]]
    assert {k: v for k, v in after.items() if k != "partnerships"} == {
        k: v for k, v in before.items() if k != "partnerships"
    }
    return reply


@FUZZ
@given(etype=st.sampled_from(SUBSCRIBED_EVENTS), fields=typed_event_fields)
def test_fuzzed_events_are_acknowledged_and_touch_no_answers(bot, etype, fields):
    """Events of the kinds coprod subscribes to, with any text in their fields, are acknowledged and change
    nothing."""
    assert check_event(bot, etype, fields).acknowledged


@FUZZ
@given(
    etype=st.one_of(st.sampled_from(EVENT_TYPES), st.text(max_size=20)),
    fields=event_fields,
    envelope=st.dictionaries(
        st.sampled_from(["team_id", "event_id", "event", "authorizations", "type", "api_app_id"]),
        json_values,
        max_size=2,
    ),
    sign_it=st.booleans(),
)
def test_fuzzed_events_never_500_and_touch_no_answers(http_bot, etype, fields, envelope, sign_it):
    """Any event in any (signed or forged) envelope at the HTTP endpoint: a 2xx or 4xx, nothing touched."""
    check_event(http_bot, etype, fields, envelope, sign_it)


# ---- bodies that aren't Slack's at all ------------------------------------------------------------

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.text(max_size=50).map(lambda t: urlencode({"payload": t}).encode()),
    st.text(max_size=50).map(lambda t: b"payload=" + t.encode("utf-8", "replace")),
    st.just(b""),
    st.just(b"payload="),
    st.just(b"payload=%7B"),
    st.just(b"{"),
    st.just(b"\xff\xfe\x00payload"),
)
content_types = st.sampled_from([FORM, JSON, "text/plain", "multipart/form-data; boundary=x", "", "application/xml"])


@FUZZ
@given(body=raw_bodies, ctype=content_types, sign_it=st.booleans())
def test_any_body_gets_a_4xx_or_2xx_never_a_500(http_bot, body, ctype, sign_it):
    bot = http_bot
    checkin_id = ensure_checkin(bot)
    before = snapshot(bot)
    reply = send(bot, body, ctype, bad_signature=not sign_it)
    assert_clean(reply)
    if not sign_it:
        assert reply.status == 401  # the signature is checked before the body is even parsed
    assert snapshot(bot) == before
    assert bot.store.answers.response_count(TEAM, checkin_id) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=",
        b"payload=not-json",
        b"payload=%5B1%5D",
        b"payload=null",
        b"{",
        b"[1, 2]",
        b"null",
        b'"text"',
        b"\xff\xfe",
        b"payload=%7B%22type%22%3A1%7D",
    ],
)
def test_unparseable_signed_bodies_are_a_4xx(http_bot, body):
    ctype = JSON if body[:1] in (b"{", b"[", b"n", b'"') else FORM
    reply = send(http_bot, body, ctype)
    assert_clean(reply)
    assert 400 <= reply.status < 500


# ---- bodies nested deeper than Slack nests ---------------------------------------------------------


def _with_deep_field(json_text: str, depth: int) -> str:
    """A JSON object's text with one more field, lists nested ``depth`` deep (written as text: Python's own
    json would recurse building it)."""
    return f'{json_text[:-1]}, "zzz": {"[" * depth}{"]" * depth}}}'


def deep_body(kind: str, depth: int, checkin_id: int) -> tuple[bytes, str]:
    """A signed-ready body Slack would send, but for one field nested ``depth`` deep: a rating click (the JSON
    in the form's ``payload`` field) or an @coprod mention (a JSON event)."""
    if kind == "interaction":
        click = _with_deep_field(json.dumps(_valid_click("rate", checkin_id)), depth)
        return urlencode({"payload": click}).encode(), FORM
    mention = {"type": "app_mention", "user": "U2", "channel": CHANNEL, "text": "<@UBOT> summary", "ts": "1.0"}
    body, ctype = event_body(mention, event_id=f"Ev-deep-{depth}")
    return _with_deep_field(body.decode(), depth).encode(), ctype


def refused_quietly(bot, caplog, body: bytes, ctype: str):
    """Send ``body``; assert it changed nothing, called Slack for nothing and logged no error; the reply."""
    tables = (*DOMAIN_TABLES, "events_seen")
    before, calls = snapshot(bot, tables), len(bot.stub.calls)
    with caplog.at_level(logging.DEBUG):
        reply = send(bot, body, ctype)
        after = snapshot(bot, tables)
    assert_clean(reply)
    assert after == before
    assert len(bot.stub.calls) == calls
    noisy = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not noisy, [(r.name, r.getMessage()[:200]) for r in noisy]
    return reply


@pytest.mark.parametrize("depth", [100_000, 1_000, 70])
@pytest.mark.parametrize("kind", ["interaction", "event"])
def test_a_signed_body_nested_too_deep_is_a_400_with_no_traceback(http_bot, caplog, kind, depth):
    """Issue 8: a correctly signed body nested 100,000 levels deep was a 500 with a traceback in the log.
    However deep (past the parser's stack or past what Slack ever nests), it is a 400 that stores nothing."""
    bot = http_bot
    reply = refused_quietly(bot, caplog, *deep_body(kind, depth, ensure_checkin(bot)))
    assert reply.status == 400


@pytest.mark.parametrize("kind", ["interaction", "event"])
def test_a_payload_nested_too_deep_is_refused_in_both_modes(bot, caplog, kind):
    """The same limit in Socket Mode (Slack's JSON, already parsed): acknowledged, so Slack doesn't resend it,
    and otherwise ignored. Nested a few levels only, the same click is stored."""
    checkin_id = ensure_checkin(bot)
    reply = refused_quietly(bot, caplog, *deep_body(kind, 200, checkin_id))
    assert reply.status == 400 if bot.mode == "http" else reply.acknowledged
    if kind == "interaction":
        assert send(bot, *deep_body(kind, 3, checkin_id)).status == 200
        assert bot.store.answers.response_count(TEAM, checkin_id) == 2


# ---- signatures -------------------------------------------------------------------------------------


def test_signed_click_is_processed_and_forged_ones_are_401(http_bot):
    bot = http_bot
    checkin_id = setup_partnership(bot)
    body, ctype = action_body("rate:2", "2", block_id=f"checkin:{checkin_id}", user="U4")
    before = snapshot(bot)
    for kw in (
        {"bad_signature": True},
        {"timestamp": 1},
        {"headers": {"X-Slack-Signature": ""}},
        {"headers": {"X-Slack-Request-Timestamp": "not-a-number"}},
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
    ):
        reply = send(bot, body, ctype, **kw)
        assert reply.status == 401, kw
        assert_clean(reply)
    assert snapshot(bot) == before
    reply = send(bot, body, ctype)
    assert reply.status == 200
    assert bot.store.answers.response_count(TEAM, checkin_id) == 2


def test_signed_command_runs_and_unsigned_one_is_401(http_bot):
    bot = http_bot
    body, ctype = command_body("schedule checkins weekly Tuesday 10:00", response_url=bot.stub.response_url("s"))
    status, _, _ = post(bot.slack.url, body, ctype, SECRET + "x")
    assert status == 401
    assert snapshot(bot)["schedules"] == []
    bot.command("summary")  # a first command: creates nothing
    reply = bot.command("schedule checkins weekly Tuesday 10:00")
    assert reply.status == 200
    bot.drain()
    assert len(snapshot(bot)["schedules"]) == 1
