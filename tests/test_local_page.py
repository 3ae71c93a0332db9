"""The local workspace's page shows every element coprod sends as Slack shows it, and what a person picks in
one travels to coprod as Slack sends it: the plan form's practices in their levels' groups, its lead (a users
select) and its date (a date picker); a new date picked on a message; members picked from the message box's @
list as mentions; and a page open across a restart starting afresh.

Rendering is checked on coprod's own blocks; the rest goes through the local workspace in this process, coprod
behind it as over HTTP (the ``local`` fixture of ``tests/test_local_slack.py``).
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import date, timedelta

import pytest

from bot.domain import plans
from bot.domain.catalog import load_catalog
from bot.localslack import elements, picked, render, seed, slacktext
from bot.localslack.workspace import Modal
from bot.render import plan_blocks
from tests.support.waiting import eventually
from tests.test_local_slack import CHANNEL, MO, PRIYA, TOM, Local
from tests.test_local_slack import local as in_process
from tests.test_render import parsed

local = in_process  # the fixture: a fresh local workspace, coprod behind it, in this process
GRACE, HELEN = "UGRACE", "UHELEN"
PEOPLE = [(GRACE, "Grace <Mensah>"), (HELEN, "Helen Clarke")]


def names() -> slacktext.Names:
    return slacktext.Names(
        user=lambda u: u, channel=lambda c: c, people=lambda: PEOPLE, conversations=lambda: [("C1", "#our-partnership")]
    )


def options_shown(html: str) -> list[tuple[str, bool]]:
    return [(str(attrs.get("value")), "selected" in attrs) for tag, attrs in parsed(html).tags if tag == "option"]


# ---- what the page shows ------------------------------------------------------------------------------------


def test_the_plan_form_shows_its_practices_in_groups_a_list_of_members_and_a_date_picker():
    catalog = load_catalog(None)
    selected = catalog.in_level("organisational")[0]
    view = plan_blocks.plan_modal(catalog, selected=selected, channel="C1", seal="s")
    html = render.modal({**view, "id": "V1"}, names(), {})
    assert "can't show" not in html
    tags = parsed(html).tags
    groups = [attrs["label"] for tag, attrs in tags if tag == "optgroup"]
    assert groups == [level.name for level in catalog.levels]
    shown = options_shown(html)
    assert (selected.id, True) in shown and sum(chosen for _, chosen in shown) == 1
    assert {f.id for f in catalog.facilitators} <= {value for value, _ in shown}
    assert (GRACE, False) in shown and "Grace &lt;Mensah&gt;" in html, "members listed by name, escaped"
    assert ("input", "date") in [(tag, attrs.get("type")) for tag, attrs in tags]


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ({"type": "static_select", "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}]}, []),
        (
            {
                "type": "multi_static_select",
                "option_groups": [
                    {
                        "label": {"type": "plain_text", "text": "G"},
                        "options": [
                            {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
                            {"text": {"type": "plain_text", "text": "B"}, "value": "b"},
                        ],
                    }
                ],
                "initial_options": [{"text": {"type": "plain_text", "text": "B"}, "value": "b"}],
            },
            ["b"],
        ),
        ({"type": "users_select", "initial_user": HELEN}, [HELEN]),
        ({"type": "multi_users_select", "initial_users": [GRACE, HELEN]}, [GRACE, HELEN]),
        ({"type": "conversations_select", "initial_conversation": "C1"}, ["C1"]),
        ({"type": "channels_select", "initial_channel": "C1"}, ["C1"]),
        ({"type": "datepicker", "initial_date": "2026-12-24"}, ["2026-12-24"]),
        ({"type": "timepicker", "initial_time": "09:30"}, ["09:30"]),
        (
            {
                "type": "checkboxes",
                "options": [{"text": {"type": "plain_text", "text": "<b>x</b>"}, "value": "x"}],
                "initial_options": [{"text": {"type": "plain_text", "text": "<b>x</b>"}, "value": "x"}],
            },
            ["x"],
        ),
        (
            {
                "type": "radio_buttons",
                "options": [{"text": {"type": "plain_text", "text": "Y"}, "value": "y"}],
                "initial_option": {"text": {"type": "plain_text", "text": "Y"}, "value": "y"},
            },
            ["y"],
        ),
        ({"type": "overflow", "options": [{"text": {"type": "plain_text", "text": "Edit"}, "value": "edit"}]}, []),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else None,
)
def test_every_element_is_shown_with_its_initial_pick_in_a_form_and_in_a_message(element, expected):
    """In a modal's input and in a message's actions block, each element is a labelled control showing its
    ``initial_*`` pick; in a message it is sent as soon as it changes."""
    assert picked.initial(element) == expected
    el = {**element, "action_id": "pick"}
    form = render.modal(
        {
            "id": "V1",
            "title": {"type": "plain_text", "text": "T"},
            "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}, "element": el}],
        },
        names(),
        {},
    )
    message = render.blocks([{"type": "actions", "block_id": "b", "elements": [el]}], names())
    for html in (form, message):
        assert "can't show" not in html and "<b>" not in html
        tags = parsed(html).tags
        chosen = [attrs.get("value") for tag, attrs in tags if ("checked" in attrs or "selected" in attrs)]
        dated = [
            attrs.get("value") for tag, attrs in tags if attrs.get("type") in ("date", "time") and "value" in attrs
        ]
        assert chosen + dated == expected
    assert 'data-act="choose"' in message and f'data-kind="{element["type"]}"' in message
    assert element["type"] in elements.SHOWN


def test_the_due_date_follow_ups_date_picker_is_a_labelled_date_sent_as_soon_as_it_changes():
    catalog = load_catalog(None)
    action = plans.Action(
        id=7,
        partnership_id=1,
        team_id="T1",
        channel_id="C1",
        what="Tea",
        facilitator_id="others-lead",
        level_id="group",
        lead=None,
        due_on=date(2026, 12, 1),
        status="open",
        planned_by="U1",
        planned_at=0,
    )
    blocks = plan_blocks.reminder_blocks(action, catalog, date(2026, 12, 1), to_lead=False)
    html = render.blocks(blocks, names())
    assert "can't show" not in html
    [date_input] = [attrs for tag, attrs in parsed(html).tags if tag == "input"]
    assert date_input["type"] == "date" and date_input["aria-label"] == "Not yet: pick a new date"
    assert (date_input["data-act"], date_input["data-block-id"], date_input["data-action-id"]) == (
        "choose",
        "action:7",
        "action_later",
    )


def test_what_a_person_picks_travels_as_slack_sends_it_and_nothing_else_counts():
    group = {
        "label": {"type": "plain_text", "text": "G"},
        "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
    }
    assert picked.entry({"type": "static_select", "option_groups": [group]}, "a") == (
        {"type": "static_select", "selected_option": group["options"][0]},
        False,
    )
    assert picked.entry({"type": "static_select", "option_groups": [group]}, "forged")[1] is True
    assert picked.entry({"type": "users_select"}, GRACE, people=[GRACE]) == (
        {"type": "users_select", "selected_user": GRACE},
        False,
    )
    assert picked.entry({"type": "users_select"}, "UNOBODY", people=[GRACE])[0]["selected_user"] is None
    assert picked.entry({"type": "multi_users_select"}, [GRACE, HELEN], people=[GRACE])[0] == {
        "type": "multi_users_select",
        "selected_users": [GRACE],
    }
    assert picked.entry({"type": "datepicker"}, "2026-12-24")[0] == {
        "type": "datepicker",
        "selected_date": "2026-12-24",
    }
    assert picked.entry({"type": "datepicker"}, "24/12/2026")[1] is True
    assert picked.entry({"type": "channels_select"}, "C1", conversations=["C1"])[0]["selected_channel"] == "C1"


# ---- through the local workspace, to coprod and back ---------------------------------------------------------


def plan_form(local: Local) -> Modal:
    """Plan something, pressed on a summary by the coordinator; the plan form once coprod has filled it in."""
    local.checkin()  # the channel is a partnership now, and nothing is discussed yet: every level is neglected
    local.side.type(PRIYA, CHANNEL, "/coprod summary")
    local.drain()
    summary = next(e for e in local.ws.ephemerals if e.user == PRIYA and "How we're doing" in json.dumps(e.message))
    block = next(b for b in summary.message["blocks"] if b.get("accessory", {}).get("action_id") == "plan_open")
    button = block["accessory"]
    local.side.click(PRIYA, CHANNEL, summary.key, block["block_id"], "plan_open", button["value"])

    def filled() -> Modal | None:
        local.drain()
        with local.ws.lock:
            found = [m for m in local.ws.modals.values() if m.user == PRIYA and m.view.get("callback_id") == "plan"]
        return found[-1] if found and any(b.get("block_id") == "practice" for b in found[-1].view["blocks"]) else None

    return eventually(filled)


def test_the_plan_form_is_submitted_with_a_practice_from_its_groups_a_lead_and_a_date(local):
    """What the page sends for the plan form (a practice's value, a member's id, a date) reaches coprod as
    Slack's state values; coprod stores the action and posts it with its lead and date."""
    form = plan_form(local)
    catalog = load_catalog(None)
    practice = catalog.in_level("societal")[-1]
    due = date.today() + timedelta(days=10)
    what = "Ask the council's <team> & partners"
    local.side.submit(
        PRIYA, form.view["id"], {"what": what, "practice": practice.id, "lead": TOM, "due": due.isoformat()}
    )

    def posted() -> dict | None:
        local.drain()
        return next((m for m in local.ws.messages(CHANNEL) if "will try" in m.get("text", "") + json.dumps(m)), None)

    message = eventually(posted)
    words = json.dumps(message["blocks"])
    assert f"<@{TOM}> will try ask the council's &lt;team&gt; &amp; partners" in words
    assert f"by {due:%-d %B}" in words and practice.text[:40] in words
    partnership = local.runtime.store.partnerships.get(seed.TEAM_ID, CHANNEL)
    assert partnership is not None
    [action] = local.runtime.store.plans.open_actions(partnership)
    assert (action.lead, action.due_on, action.facilitator_id) == (TOM, due, practice.id)


def test_a_member_who_is_not_in_the_list_or_a_date_that_is_not_one_is_not_picked(local):
    """Slack's menus offer only members and real dates: anything else the page might send counts as nothing
    picked, and the optional fields stay empty rather than reaching coprod as text."""
    form = plan_form(local)
    local.side.submit(PRIYA, form.view["id"], {"what": "Tea", "practice": "forged", "lead": "UNOBODY", "due": "soon"})
    with local.ws.lock:
        assert local.ws.modals[form.view["id"]].errors == {"practice": "Please complete this required field."}


def test_a_new_date_picked_on_a_message_reaches_coprod_as_slacks_selected_date(local):
    """The due-date follow-up's date picker ("Not yet: pick a new date") in a message: the page sends the date,
    the stand-in sends Slack's datepicker action, and coprod moves the action's date."""
    form = plan_form(local)
    local.side.submit(PRIYA, form.view["id"], {"what": "Tea", "practice": "others-lead"})
    store = local.runtime.store
    partnership = store.partnerships.get(seed.TEAM_ID, CHANNEL)
    assert partnership is not None
    [action] = eventually(lambda: store.plans.open_actions(partnership))
    catalog = load_catalog(None)
    ts = local.ws.next_ts()
    blocks = plan_blocks.reminder_blocks(action, catalog, date.today(), to_lead=False)
    reminder = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "t", "ts": ts, "blocks": blocks}
    local.ws.add_message(CHANNEL, reminder)  # as the scheduler posts it on the due date
    later = date.today() + timedelta(days=20)
    local.side.click(PRIYA, CHANNEL, ts, f"action:{action.id}", "action_later", "", later.isoformat())
    assert eventually(lambda: store.plans.get(partnership.team_id, action.id).due_on == later)


def test_members_picked_from_the_at_list_arrive_as_mentions_and_typed_brackets_as_text(local):
    """A member picked from the message box's @ list is a mention as Slack encodes it (``<@U…|name>`` in a
    command's text, ``<@U…>`` in a message); ``<@U…>`` typed by hand is text, escaped as Slack escapes it."""
    local.checkin()
    local.side.type(PRIYA, CHANNEL, "/coprod coordinators add @Mo Ahmed", [("@Mo Ahmed", MO)])
    assert any("Mo Ahmed" in html and "is now a coordinator" in html for html in local.ephemerals(PRIYA))
    local.side.type(PRIYA, CHANNEL, f"/coprod coordinators add <@{TOM}>")
    assert any("is not a person" in html for html in local.ephemerals(PRIYA))
    local.side.type(PRIYA, CHANNEL, "Thanks @Mo Ahmed & <@UTOM>", [("@Mo Ahmed", MO)])
    said = local.ws.messages(CHANNEL)[-1]
    assert said["text"] == f"Thanks <@{MO}> &amp; &lt;@UTOM&gt;"


def test_a_page_open_across_a_restart_is_answered_at_once_and_told_of_the_new_run(local):
    """The long poll of a page that knew another run (its boot) is answered at once, so the page can start
    afresh, rather than waiting for a change past a version this run never had."""
    page = local.workspace.page
    url = f"{local.workspace.server.base}ui/view?user={PRIYA}&conv={CHANNEL}&after=999999&boot=old"
    with urllib.request.urlopen(url, timeout=LONG_ENOUGH) as response:
        seen = json.loads(response.read())
    assert seen["boot"] == page.boot != "old"
    assert re.fullmatch(r"[0-9a-f]{16}", seen["boot"])


LONG_ENOUGH = 10.0  # well under the long poll's 25 s: an answer within it came at once
