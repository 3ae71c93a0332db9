"""What coprod shows of the record of involvement in Slack: the "We met" form, the "you said, we changed" form,
a person's own ledger, and the change's messages. Pure: plain data in, Block Kit out; every text not from
coprod's own code is escaped (bot/render/blocks.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.domain.catalog import Catalog, Level
from bot.domain.involvement import (
    CHOICE_WORDS,
    STAGES,
    Change,
    Line,
    Rate,
    hours_text,
    money_text,
    owed_pence,
    rate_for,
)
from bot.render.blocks import button, clip, context, escape, section
from bot.store.said import Comment

MET_FORM = "we_met"
CHANGE_FORM = "we_changed"
WHO_CAME = "met_who"
TEXT_MAX = 500


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element, "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def who_came_blocks(text: str, held_on: str) -> list[dict]:
    """A thank-you with the button that opens the "We met" form for that day's meeting."""
    return [
        section(text),
        {"type": "actions", "elements": [button("Who came, and for how long?", WHO_CAME, held_on, style="primary")]},
    ]


def met_modal(channel: str, held_on: str, user: str) -> dict:
    """The "We met" form: who came (the person logging first), how long, and the study stage."""
    stages = [{"text": _plain(s.capitalize()), "value": s} for s in STAGES]
    return {
        "type": "modal",
        "callback_id": MET_FORM,
        "private_metadata": json.dumps({"channel": channel}),
        "title": _plain("We met"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": [
            _input("day", "When", {"type": "datepicker", "action_id": "day", "initial_date": held_on}),
            _input(
                "people",
                "Who came",
                {
                    "type": "multi_users_select",
                    "action_id": "people",
                    "initial_users": [user],
                    "max_selected_items": 60,
                },
                hint="Everyone present, from the channel. Each can correct their own line later with /coprod ledger.",
            ),
            _input(
                "length",
                "How long (like 1.5h or 90m)",
                {"type": "plain_text_input", "action_id": "length", "max_length": 10, "initial_value": "1h"},
            ),
            _input("stage", "Study stage", {"type": "static_select", "action_id": "stage", "options": stages}),
        ],
    }


def change_modal(channel: str, comments: Sequence[Comment], flagged: Sequence[Level], timezone: str) -> dict:
    """The "you said, we changed" form, with PIRIT's fields: which input, when, what changed, the difference."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only this form needs it

    tz = ZoneInfo(timezone)
    options = []
    for c in comments:
        asked = datetime.fromtimestamp(c.asked_at, UTC).astimezone(tz)
        options.append({"text": _plain(clip(f"{asked:%-d %b}: “{c.comment}”", 75)), "value": f"c:{c.id}"})
    options += [{"text": _plain(clip(f"The flag on {lv.name}", 75)), "value": f"l:{lv.id}"} for lv in flagged]
    text_box = {"type": "plain_text_input", "multiline": True, "max_length": TEXT_MAX}
    return {
        "type": "modal",
        "callback_id": CHANGE_FORM,
        "private_metadata": json.dumps({"channel": channel}),
        "title": _plain("You said, we changed"),
        "submit": _plain("Save and tell"),
        "close": _plain("Cancel"),
        "blocks": [
            context(
                "Whoever made the comment is told privately what it changed, even when they answered anonymously. "
                "You won't be told who it was."
            ),
            _input("said", "Which input", {"type": "static_select", "action_id": "said", "options": options[:100]}),
            _input("when", "When it changed", {"type": "datepicker", "action_id": "when"}),
            _input("what", "What changed", {**text_box, "action_id": "what"}),
            _input("difference", "The difference it made", {**text_box, "action_id": "difference"}),
        ],
    }


def said_text(
    source: str, catalog: Catalog, *, facilitator_id: str = "", level_id: str = "", asked_on: str = ""
) -> str:
    """Whose input a change answers, in words that name nobody."""
    if source == "comment":
        try:
            practice = catalog.facilitator(facilitator_id).text
        except KeyError:
            practice = "a practice"
        return f"A comment on “{practice}” (asked {asked_on})"
    try:
        name = catalog.level(level_id).name
    except KeyError:
        name = level_id
    return f"The summary's flag on {name}"


def change_post(change: Change) -> str:
    return (
        f"*You said, we changed* :seedling:\n{escape(change.said)}.\n*What changed:* {escape(change.what_changed)}\n"
        f"*Why it matters:* {escape(change.difference)}"
    )


def change_dm(change: Change, channel: str) -> str:
    return (
        f"Thank you for your comment in <#{channel}>. It made a difference: *{escape(change.what_changed)}*. "
        f"{escape(change.difference)}\nOnly you got this message: coprod didn't tell anyone who wrote the comment."
    )


def ledger_blocks(lines: Sequence[Line], rates: Sequence[Rate], choice: str | None) -> tuple[str, list[dict]]:
    """A person's own ledger: each line numbered (to correct it), hours, owed and paid."""
    if not lines:
        text = (
            "You have no involvement logged here yet. Log work with `/coprod log 2h what you did`; meetings you "
            "came to are added from the “We met” form."
        )
        return text, [section(text)]
    minutes = sum(line.minutes for line in lines)
    owed = paid = 0
    rows = []
    currency = ""
    for n, line in enumerate(lines, 1):
        pence = owed_pence(line, rates, choice)
        rate = rate_for(line, rates)
        currency = rate.currency if rate else currency
        owed += pence
        paid += pence if line.paid_on else 0
        worth = f", {money_text(pence, rate.currency)}" if pence and rate else ""
        state = f", paid {line.paid_on}" if line.paid_on else (", not paid yet" if pence else "")
        stage = f" ({line.stage})" if line.stage else ""
        rows.append(f"{n}. {line.done_on}: {escape(line.what)}{stage}, {hours_text(line.minutes)}{worth}{state}")
    text = f"Your involvement: {hours_text(minutes)} in {len(lines)} {'line' if len(lines) == 1 else 'lines'}."
    money = f" Owed {money_text(owed, currency)}, paid {money_text(paid, currency)}." if currency else ""
    how = CHOICE_WORDS.get(choice or "paid", "paid")
    return text, [
        section(f"*{text}*{money}"),
        section("\n".join(rows)[:2900]),
        context(
            f"You chose to be {how}; only you and the coordinators see this. Change it with "
            "`/coprod payment paid|voucher|none`. Correct a line with `/coprod ledger fix <number> 1.5h <stage>`."
        ),
    ]


def summary_context(changes: int, overdue: int) -> list[dict]:
    """The summary's line on the record of involvement: changes made because of the team's input in the period,
    and, for the coordinators, how many ledger lines are unpaid 30 days after (a count, never a name)."""
    words = []
    if changes:
        words.append(
            f":seedling: You said, we changed: {changes} {'change' if changes == 1 else 'changes'} in this period."
        )
    if overdue:
        words.append(
            f"For the coordinators: {overdue} involvement {'line is' if overdue == 1 else 'lines are'} still unpaid "
            "30 days after. `/coprod ledger export` lists them."
        )
    return [context(" ".join(words))] if words else []


def home_line(lines: Sequence[Line], rates: Sequence[Rate], choice: str | None) -> str | None:
    """A person's own involvement in one partnership, for their App Home (only they see it)."""
    if not lines:
        return None
    minutes = sum(line.minutes for line in lines)
    owed = sum(owed_pence(line, rates, choice) for line in lines)
    paid = sum(owed_pence(line, rates, choice) for line in lines if line.paid_on)
    currency = next((r.currency for line in lines if (r := rate_for(line, rates))), "")
    money = f", owed {money_text(owed, currency)}, paid {money_text(paid, currency)}" if currency else ""
    return f":bookmark_tabs: Your involvement here: {hours_text(minutes)}{money}. `/coprod ledger` lists it."
