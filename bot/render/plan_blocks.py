"""Actions as Slack shows them: the "Plan something" buttons, the form, the post in the channel, the list,
the follow-up on the due date, and what a summary and App Home say of them. Pure.

Every text a person typed (what they will do) is escaped; the lead and the planner are shown as mentions
built from user ids Slack gave us.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog, Facilitator
from bot.domain.plans import WHAT_MAX, Action, Loop
from bot.domain.summary import LevelSummary
from bot.domain.summary_text import compared
from bot.render.blocks import button, clip, context, escape, header, section

PLAN = "plan_open"  # the "Plan something" button's action_id (a suffix keeps ids unique within a block)
LIST_MAX = 20  # actions listed in one message (two blocks each, within Slack's 50)
HOME_MAX = 5


# ---- the "Plan something" buttons --------------------------------------------------------------------


def plan_value(channel: str, target: str) -> str:
    """A button's value: the channel and what to pre-select (``level:<id>`` or ``practice:<id>``)."""
    return f"{channel}|{target}"


def parse_plan_value(value: str) -> tuple[str, str, str] | None:
    """(channel, "level" or "practice", id) from a button's value; None when it isn't one of ours."""
    channel, _, target = value.partition("|")
    kind, _, ident = target.partition(":")
    if not channel or kind not in ("level", "practice") or not ident:
        return None
    return channel, kind, ident


def plan_targets(s: LevelSummary) -> list[str]:
    """What a neglected level's buttons pre-select: the level (when it is neglected), then each flagged practice."""
    return ([f"level:{s.level.id}"] if s.reasons else []) + [f"practice:{f.facilitator.id}" for f in s.flags]


def plan_buttons(channel: str, s: LevelSummary) -> tuple[dict | None, dict | None]:
    """A level's "Plan something" buttons: one as the level section's accessory, and an actions block for
    each further flagged practice (None where there is none)."""
    targets = plan_targets(s)
    if not targets:
        return None, None
    first = button("Plan something", PLAN, plan_value(channel, targets[0]))
    further = s.flags if s.reasons else s.flags[1:]  # the flagged practices the first button doesn't pre-select
    if not further:
        return first, None
    more = [
        button(
            f"Plan something: {flag.facilitator.text}",
            f"{PLAN}:{n}",
            plan_value(channel, f"practice:{flag.facilitator.id}"),
        )
        for n, flag in enumerate(further[:25])
    ]
    return first, {"type": "actions", "block_id": f"plan:{s.level.id}", "elements": more}


# ---- the form --------------------------------------------------------------------------------------------


def _option(f: Facilitator) -> dict:
    return {"text": {"type": "plain_text", "text": clip(f.text, 75)}, "value": f.id}


def plan_modal(catalog: Catalog, *, selected: Facilitator, channel: str, seal: str) -> dict:
    """The form: what we will do, for which practice (pre-selected from the flag), who leads it, by when.
    ``seal`` is the store's keyed seal on (person, channel), checked when the form comes back."""
    groups = [
        {"label": {"type": "plain_text", "text": clip(level.name, 75)}, "options": [_option(f) for f in fs][:100]}
        for level in catalog.levels
        if (fs := catalog.in_level(level.id))
    ][:100]

    def field(block_id: str, label: str, element: dict, optional: bool = False, hint: str = "") -> dict:
        block = {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": label},
            "element": {"action_id": block_id, **element},
            "optional": optional,
        }
        if hint:
            block["hint"] = {"type": "plain_text", "text": hint}
        return block

    return {
        "type": "modal",
        "callback_id": "plan",
        "private_metadata": json.dumps({"channel": channel, "seal": seal}),
        "title": {"type": "plain_text", "text": "Plan something"},
        "submit": {"type": "plain_text", "text": "Plan it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"A small step the team will take, for <#{channel}>. Everyone there will see it."),
            field(
                "what",
                "What we will do",
                {
                    "type": "plain_text_input",
                    "multiline": True,
                    "max_length": WHAT_MAX,
                    "placeholder": {"type": "plain_text", "text": "For example: take turns chairing our meetings"},
                },
            ),
            field(
                "practice",
                "Which practice it helps",
                {"type": "static_select", "option_groups": groups, "initial_option": _option(selected)},
            ),
            field("lead", "Who leads it", {"type": "users_select"}, optional=True, hint="Leave empty for the team"),
            field("due", "By when", {"type": "datepicker"}, optional=True, hint="I'll check in with them that day"),
        ],
    }


def waiting_modal(channel: str) -> dict:
    """What the form shows for the moment it takes to check with Slack that the person is in the channel."""
    return notice_modal(f"One moment: I'm getting the form ready for <#{channel}>…")


def notice_modal(text: str) -> dict:
    """A modal with only something to say (why there is no form), and a button to close it."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Plan something"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [section(text)],
    }


# ---- one action, in words ------------------------------------------------------------------------------------


def practice_name(catalog: Catalog, facilitator_id: str) -> str:
    try:
        return catalog.facilitator(facilitator_id).text
    except KeyError:  # the catalog changed since the action was planned
        return facilitator_id


def day(d: date, today: date) -> str:
    return f"{d:%-d %B}" if d.year == today.year else f"{d:%-d %B %Y}"


def _lowered(what: str) -> str:
    # "Rotate who chairs" reads "will try rotate who chairs"; "NHS forms" keeps its capitals.
    return what[0].lower() + what[1:] if len(what) > 1 and what[0].isupper() and what[1].islower() else what


def action_line(a: Action, catalog: Catalog, today: date) -> str:
    """ "<@U2> will try rotating who chairs, by 15 January, for *Facilitation and …*" """
    who = f"<@{a.lead}>" if a.lead else "We"
    by = f", by {day(a.due_on, today)}" if a.due_on else ""
    return f"{who} will try {escape(_lowered(a.what))}{by}, for *{escape(practice_name(catalog, a.facilitator_id))}*"


def action_text(a: Action) -> str:
    """The notification text of a message about an action (no mentions: they would ping from a preview)."""
    return f"Action: {escape(clip(a.what, 200))}"


def _change_buttons(a: Action, *, later: bool = False) -> dict:
    elements = [button("Done", "action_done", str(a.id), style="primary")]
    if later:
        elements.append(
            {
                "type": "datepicker",
                "action_id": "action_later",
                "placeholder": {"type": "plain_text", "text": "Not yet: pick a new date"},
            }
        )
    elements.append(button("Drop", "action_drop", str(a.id)))
    return {"type": "actions", "block_id": f"action:{a.id}", "elements": elements}


def status_line(a: Action, timezone: str) -> str:
    if a.open:
        return ""
    when = datetime.fromtimestamp(a.closed_at or 0, ZoneInfo(timezone))
    if a.status == "done":
        return f":white_check_mark: Done on {when:%-d %B}. I'll ask the team about this practice at the next check-in."
    return f":heavy_minus_sign: Dropped on {when:%-d %B}."


def action_post_blocks(a: Action, catalog: Catalog, timezone: str, today: date) -> list[dict]:
    """The action as posted in its channel: with Done and Drop while open, with what became of it after."""
    blocks = [section(":seedling: " + action_line(a, catalog, today))]
    if a.open:
        planner = f"Planned by <@{a.planned_by}>. " if a.planned_by else ""
        blocks.append(context(f"{planner}Whoever leads or planned it, or a coordinator, can mark it done or drop it."))
        blocks.append(_change_buttons(a))
    else:
        blocks.append(context(status_line(a, timezone)))
    return blocks


def reminder_blocks(a: Action, catalog: Catalog, today: date, *, to_lead: bool) -> list[dict]:
    """The follow-up on the due date: to the lead in a direct message, or to the channel."""
    when = "today" if a.due_on in (None, today) else f"on {day(a.due_on, today)}"
    practice = escape(practice_name(catalog, a.facilitator_id))
    what = escape(a.what)
    if to_lead:
        text = (
            f"Hello! You planned to try *{what}* by {when}, for _{practice}_ in <#{a.channel_id}>. "
            "How did it go? No pressure: it is fine to need more time."
        )
    else:
        text = (
            f"Hello team! We planned to try *{what}* by {when}, for _{practice}_. How did it go? "
            "Whoever planned it, or a coordinator, can say."
        )
    return [
        section(":alarm_clock: " + text),
        _change_buttons(a, later=True),
        context("Done asks the team about this practice at the next check-in, so we can see whether it helped."),
    ]


# ---- many actions ---------------------------------------------------------------------------------------------


def actions_list_blocks(
    actions: list[Action], catalog: Catalog, today: date, *, may_change: Iterable[int] = ()
) -> list[dict]:
    """`/coprod actions`: the open actions, each with Done and Drop for those who may change it."""
    changeable = set(may_change)
    blocks = [header("What we said we'd do")]
    if not actions:
        blocks.append(
            section(
                "Nothing in progress right now. Press *Plan something* beside a neglected level in a summary, "
                "or on my Home tab, to plan a small step."
            )
        )
        return blocks
    for a in actions[:LIST_MAX]:
        late = " _(past its date)_" if a.overdue(today) else ""
        blocks.append(section(action_line(a, catalog, today) + late))
        if a.id in changeable:
            blocks.append(_change_buttons(a))
    if len(actions) > LIST_MAX:
        blocks.append(context(f"…and {len(actions) - LIST_MAX} more."))
    blocks.append(context("Whoever leads or planned an action, or a coordinator, can mark it done or drop it."))
    return blocks


def loop_blocks(loop: Loop | None, today: date) -> list[dict]:
    """What a summary says of the team's actions: past their date (once, in a scheduled summary), what we
    tried with the practice's rating before and after, and how many are in progress."""
    if loop is None:
        return []
    blocks = []
    if loop.overdue:
        lines = [f"• _{escape(a.what)}_ (planned for {day(a.due_on, today)})" for a in loop.overdue if a.due_on]
        blocks.append(section("*Past their date:* still worth doing, or time to drop?\n" + "\n".join(lines[:10])))
    if loop.tried:
        lines = []
        for t in loop.tried[:10]:
            what = escape(t.action.what)
            shown = compared(t)
            lines.append(f"• {shown} after *{what}*" if shown else f"• *{what}*: not enough answers yet to compare")
        blocks.append(section("*What we tried*\n" + "\n".join(lines)))
    if loop.open:
        n = len(loop.open)
        blocks.append(context(f"{n} {'action' if n == 1 else 'actions'} in progress: `/coprod actions` lists them."))
    return blocks


def home_actions_block(actions: list[Action], catalog: Catalog, today: date) -> dict | None:
    """App Home: the partnership's open actions."""
    if not actions:
        return None
    lines = [
        "• " + action_line(a, catalog, today) + (" _(past its date)_" if a.overdue(today) else "")
        for a in actions[:HOME_MAX]
    ]
    if len(actions) > HOME_MAX:
        lines.append(f"…and {len(actions) - HOME_MAX} more")
    return section("*What we said we'd do*\n" + "\n".join(lines) + "\nType `/coprod actions` there to update them.")
