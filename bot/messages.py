"""Everything the bot says, as Block Kit payloads: plain data in, plain dicts out. Pure.

Words are plain and kind: some readers are patient partners new to Slack. Any text a person typed
goes through ``escape`` before it is shown, so nobody can make the bot ping @channel or link away.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.catalog import Catalog, Facilitator, Level
from bot.commands import help_lines
from bot.schedule import DAY_NAMES, Spec, format_minute
from bot.summary import LevelSummary, Summary, format_mean

RATING_LABELS = {1: "Not at all", 2: "A little", 3: "Somewhat", 4: "Mostly", 5: "Very much"}
COMMENT_MAX = 2000
SECTION_MAX = 3000
MESSAGE_BLOCKS_MAX = 50
KIND_NAMES = {
    "checkins": "check-ins",
    "summary": "summaries",
    "reflexivity": "reflection prompts",
    "meeting": "meeting reminders",
}


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown, never interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str, **extra: object) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_MAX)}, **extra}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, SECTION_MAX)}]}


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, 150), "emoji": True}}


def _button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(text, 75), "emoji": True},
        "action_id": action_id,
    }
    if value:
        button["value"] = value
    if style:
        button["style"] = style
    return button


def mention(user: str) -> str:
    return f"<@{user}>"


def people(users: Sequence[str]) -> str:
    names = [mention(u) for u in users]
    if not names:
        return "nobody yet"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def level_title(level: Level) -> str:
    return f"{level.name} level ({level.scale})"


def answers_line(count: int) -> str:
    so_far = "No answers yet" if count == 0 else ("1 answer so far" if count == 1 else f"{count} answers so far")
    return f"{so_far}. Only the number is shown here: nobody sees who answered or what."


# ---- check-ins -------------------------------------------------------------------------------


def checkin_blocks(
    level: Level, facilitator: Facilitator, checkin_id: int, count: int, *, reflexive_channel: str | None = None
) -> list[dict]:
    """A check-in: level, the paper's words, our question, five ratings and a comment button.

    ``reflexive_channel`` makes it a private reflection prompt (sent by DM) for that channel's team.
    """
    prefix = "reflect" if reflexive_channel else "checkin"
    ratings = [_button(f"{n} · {label}", f"rate:{n}", str(n)) for n, label in RATING_LABELS.items()]
    blocks = [
        _header(("A moment to reflect · " if reflexive_channel else "Check-in · ") + level_title(level)),
        _section(f"*From the research:* _{escape(facilitator.text)}_"),
        _section(f"*{escape(facilitator.prompt)}*\n1 means not at all, 5 means very much."),
        {
            "type": "actions",
            "block_id": f"{prefix}:{checkin_id}",
            "elements": [*ratings, _button("Add a comment", "comment", "comment")],
        },
    ]
    if reflexive_channel:
        blocks.append(
            _context(
                f"Just for you, about your work in <#{reflexive_channel}>. Your answer stays private: only the "
                "rating is counted, without your name, in the team's summary."
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"reflexivity:{reflexive_channel}",
                "elements": [_button("Stop these prompts", "reflexivity_off", reflexive_channel)],
            }
        )
    else:
        blocks.append(_context(answers_line(count)))
    return blocks


def checkin_text(facilitator: Facilitator) -> str:
    return f"Check-in: {escape(facilitator.prompt)}"


def answer_recorded(
    facilitator: Facilitator, rating: int, *, anonymous: bool, comment: str | None, private: bool = False
) -> str:
    how = " anonymously" if anonymous else ""
    lines = [
        f"Thank you! I recorded your answer{how}: *{rating} of 5 ({RATING_LABELS[rating]})* for "
        f"“{escape(facilitator.prompt)}”"
    ]
    if comment:
        lines.append(f"Your comment: “{escape(_clip(comment, 500))}”")
    lines.append("Changed your mind? Click another number, or add a comment, and I'll update your answer.")
    if private:
        lines.append("This stays private to you; only the rating counts, without your name, in the summary.")
    return "\n".join(lines)


def comment_modal(
    facilitator: Facilitator, checkin_id: int, *, rating: int | None, comment: str | None, anonymous: bool
) -> dict:
    rating_options = [
        {"text": {"type": "plain_text", "text": f"{n} · {label}"}, "value": str(n)}
        for n, label in RATING_LABELS.items()
    ]
    rating_element: dict = {"type": "radio_buttons", "action_id": "rating", "options": rating_options}
    if rating:
        rating_element["initial_option"] = rating_options[rating - 1]
    comment_element: dict = {
        "type": "plain_text_input",
        "action_id": "comment",
        "multiline": True,
        "max_length": COMMENT_MAX,
        "placeholder": {"type": "plain_text", "text": "Anything you'd like the team to know"},
    }
    if comment:
        comment_element["initial_value"] = comment[:COMMENT_MAX]
    anon_option = {
        "text": {"type": "plain_text", "text": "Answer anonymously"},
        "description": {"type": "plain_text", "text": "Your name is not kept with this answer"},
        "value": "anonymous",
    }
    anon_element: dict = {"type": "checkboxes", "action_id": "anonymous", "options": [anon_option]}
    if anonymous:
        anon_element["initial_options"] = [anon_option]
    return {
        "type": "modal",
        "callback_id": "comment",
        "private_metadata": json.dumps({"checkin": checkin_id}),
        "title": {"type": "plain_text", "text": "Add a comment"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"*{escape(facilitator.prompt)}*"),
            {
                "type": "input",
                "block_id": "rating",
                "label": {"type": "plain_text", "text": "Your rating"},
                "element": rating_element,
                "optional": rating is not None,
            },
            {
                "type": "input",
                "block_id": "comment",
                "label": {"type": "plain_text", "text": "Your comment"},
                "element": comment_element,
                "optional": True,
            },
            {
                "type": "input",
                "block_id": "anonymous",
                "label": {"type": "plain_text", "text": "Privacy"},
                "element": anon_element,
                "optional": True,
            },
        ],
    }


# ---- summaries --------------------------------------------------------------------------------


def _level_block(s: LevelSummary, k: int, members: int | None) -> dict:
    lines = [f"*{s.level.name}* ({s.level.scale})"]
    if s.checkins:
        asked = "1 check-in" if s.checkins == 1 else f"{s.checkins} check-ins"
        who = "1 person" if s.responders == 1 else f"{s.responders} people"
        part = f" ({s.participation:.0%} of {members} members)" if s.participation is not None else ""
        answers = "1 answer" if s.responses == 1 else f"{s.responses} answers"
        lines.append(f"{asked}, {answers} from {who}{part}")
        if s.mean is not None:
            lines.append(f"Average rating: *{format_mean(s.mean)} of 5*")
        elif s.responders:
            lines.append(f"Average shown once {k} people have answered the same check-in, so nobody can be singled out")
    for reason in s.reasons:
        lines.append(f":warning: *neglected*: {reason}")
    for flag in s.flags:
        lines.append(f":warning: _{escape(flag.facilitator.text)}_ is *neglected*: {flag.reason}")
    if not s.reasons and not s.flags:
        lines.append(":white_check_mark: looking after this well")
    return _section("\n".join(lines), block_id=f"level:{s.level.id}")


def summary_blocks(summary: Summary, timezone: str, *, title: str | None = None) -> list[dict]:
    tz = ZoneInfo(timezone)
    w = summary.window
    period = f"{w.start.astimezone(tz):%-d %b} to {w.end.astimezone(tz):%-d %b %Y}"
    blocks = [_header(title or f"How we're doing: the last {w.weeks} weeks")]
    intro = f"From {period}."
    if w.widened_from:
        intro += f" (Widened from {w.widened_from} weeks so every level has had its turn.)"
    blocks.append(_context(intro))
    # A message holds 50 blocks: a long custom catalog shows the levels that fit and says how to see the rest.
    room = MESSAGE_BLOCKS_MAX - len(blocks) - 1 - bool(summary.silent_roles)
    shown = summary.levels if len(summary.levels) <= room else summary.levels[: room - 1]
    for s in shown:
        blocks.append(_level_block(s, summary.k, summary.members))
    if len(shown) < len(summary.levels):
        blocks.append(
            _context(
                f"…and {len(summary.levels) - len(shown)} more levels. See one with `/coprod summary &lt;level&gt;`."
            )
        )
    if summary.silent_roles:
        blocks.append(
            _context(
                "We haven't heard from these roles in this time: "
                + ", ".join(escape(r) for r in summary.silent_roles)
                + ". A gentle invitation might help."
            )
        )
    focus = summary.next_focus
    blocks.append(_section(f"*A suggestion for next time:* _{escape(focus.text)}_\n{escape(focus.prompt)}"))
    return blocks


def summary_text(summary: Summary) -> str:
    flagged = [s.level.name for s in summary.neglected]
    if not flagged:
        return "How we're doing: every level is looked after."
    return "How we're doing: neglected levels: " + ", ".join(flagged)


# ---- meetings, reflexivity, notices ----------------------------------------------------------


def meeting_reminder_blocks(meeting_at: datetime, timezone: str, minutes_left: int) -> list[dict]:
    local = meeting_at.astimezone(ZoneInfo(timezone))
    soon = ("in 1 minute" if minutes_left == 1 else f"in {minutes_left} minutes") if minutes_left > 0 else "now"
    return [
        _section(
            f":calendar: *Your team meeting starts {soon}* ({local:%A %H:%M}).\n"
            "Afterwards, one click tells coprod you met, so the summary knows."
        ),
        {
            "type": "actions",
            "block_id": f"meeting:{local:%Y-%m-%d}",
            "elements": [_button("We met", "met", local.strftime("%Y-%m-%d"), style="primary")],
        },
    ]


def meeting_logged_blocks(held_on: str, user: str) -> list[dict]:
    return [_section(f":white_check_mark: Meeting on {held_on} logged by {mention(user)}. Thank you!")]


def welcome_blocks() -> list[dict]:
    return [
        _section(
            "*Hello! I'm coprod.* I help this partnership keep up the everyday practices that make "
            "co-production work, from the research of Beckett and colleagues (2018).\n"
            "Now and then I'll ask the team one short question. Answering takes a few seconds, and "
            "nobody sees who answered what."
        ),
        _context(
            "To start, a coordinator types `/coprod schedule checkins weekly Tuesday 10:00`. "
            "Type `/coprod help` to see everything."
        ),
    ]


def help_blocks() -> list[dict]:
    rows = "\n".join(f"`{cmd}`  {escape(meaning)}" for cmd, meaning in help_lines())
    return [
        _header("coprod: what I can do"),
        _section(rows),
        _context("Times are in the partnership's timezone. Settings, exports and roles are for coordinators."),
    ]


def usage_text(problem: str) -> str:
    # The problem quotes what the person typed (and placeholders like <day>): shown, never interpreted.
    return f"{escape(problem)}\nType `/coprod help` for examples."


def refusal_text(what: str, coordinators: Sequence[str]) -> str:
    return (
        f"Sorry, only coordinators can {what}. Coordinators here: {people(coordinators)} "
        "(and workspace admins). Ask one of them, or ask them to add you with "
        "`/coprod coordinators add @you`."
    )


def forget_me_blocks() -> list[dict]:
    return [
        _section(
            "*Erase your answers?* This deletes every answer and comment you gave in this workspace "
            "(anonymous ones too), your role and your reflection settings (if you had stopped "
            "reflection prompts, they will start again; you can stop them from my Home tab). "
            "It can't be undone."
        ),
        {
            "type": "actions",
            "block_id": "forget-me",
            "elements": [
                _button("Yes, erase them", "forget_me_confirm", "confirm", style="danger"),
                _button("No, keep them", "forget_me_cancel", "cancel"),
            ],
        },
    ]


def forgotten_text(counts: dict[str, int]) -> str:
    singular = {"answers": "answer", "roles": "role", "reflexivity settings": "reflexivity setting"}
    parts = [f"{n} {singular.get(what, what) if n == 1 else what}" for what, n in counts.items() if n]
    if not parts:
        return "Done. There was nothing of yours to erase."
    return "Done. I erased " + ", ".join(parts) + "."


def schedule_set_text(kind: str, spec: Spec, timezone: str, next_at: datetime) -> str:
    local = next_at.astimezone(ZoneInfo(timezone))
    return f"All set: {KIND_NAMES[kind]} {spec.describe()} ({timezone}). The next one is on {local:%A %-d %B at %H:%M}."


def meeting_set_text(weekday: int, at_minute: int, remind: int, timezone: str, next_at: datetime) -> str:
    local = next_at.astimezone(ZoneInfo(timezone))
    return (
        f"All set: I'll remind the channel {remind} minutes before your meeting every {DAY_NAMES[weekday]} at "
        f"{format_minute(at_minute)} ({timezone}). The next reminder is on {local:%A %-d %B at %H:%M}."
    )


def paused_text(channel: str, error: str) -> str:
    reasons = {
        "channel_not_found": "I can't find the channel any more",
        "is_archived": "the channel was archived",
        "not_in_channel": "I'm no longer in the channel",
        "account_inactive": "my Slack account was deactivated",
    }
    why = reasons.get(error, f"Slack said “{escape(error)}”")
    return (
        f"I've paused coprod's schedules for <#{channel}> because {why}. Nothing is lost. "
        f"When it's sorted, invite me back and type `/coprod schedule checkins …` to start again."
    )


# ---- App Home ---------------------------------------------------------------------------------


def coverage_bar(covered: int, total: int, width: int = 10) -> str:
    filled = round(width * covered / total) if total else 0
    return "▰" * filled + "▱" * (width - filled)


@dataclass(frozen=True)
class HomeItem:
    """One partnership as its member sees it on App Home."""

    channel: str
    timezone: str
    summary: Summary
    next: dict[str, datetime | None]  # kind -> when it fires next (None while paused); set kinds only
    paused: str | None  # why the schedules are paused
    coordinator: bool  # may use the coordinator buttons
    reflexivity_on: bool  # gets reflection prompts


def home_view(partnerships: Iterable[HomeItem], catalog: Catalog) -> dict:
    """App Home: each partnership's levels with coverage, flags and what is coming next."""
    blocks: list[dict] = [
        _header("coprod"),
        _context("How your partnerships are keeping up the practices of co-production."),
    ]
    items = list(partnerships)
    if not items:
        blocks.append(
            _section(
                "You're not in a channel that uses coprod yet. Invite me to your partnership's "
                "channel with `/invite @coprod`, then type `/coprod help` there."
            )
        )
    for item in items:
        channel, summary, tz = item.channel, item.summary, item.timezone
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*<#{channel}>*  ·  last {summary.window.weeks} weeks"))
        for s in summary.levels:
            total = len(catalog.in_level(s.level.id))
            covered = s.covered
            line = f"{coverage_bar(covered, total)}  *{s.level.name}*  {covered} of {total} practices discussed"
            for reason in s.reasons:
                line += f"\n      :warning: neglected: {reason}"
            for flag in s.flags:
                line += f"\n      :warning: {escape(flag.facilitator.text)}: neglected: {flag.reason}"
            blocks.append(_section(line))
        upcoming = []
        for kind in ("checkins", "summary", "meeting"):
            when = item.next.get(kind)
            label = {"checkins": "Next check-in", "summary": "Next summary", "meeting": "Next meeting reminder"}[kind]
            if when:
                shown = f"{when.astimezone(ZoneInfo(tz)):%a %-d %b, %H:%M}"
            else:
                shown = "paused" if item.paused and kind in item.next else "not set"
            upcoming.append(f"{label}: {shown}")
        blocks.append(_context("  ·  ".join(upcoming)))
        if item.paused:
            blocks.append(_context(":pause_button: " + paused_text(channel, item.paused)))
        buttons = []
        if item.coordinator:
            buttons += [
                _button("Ask a check-in now", "home_checkin", channel, style="primary"),
                _button("Post the summary", "home_summary", channel),
            ]
        if item.reflexivity_on:
            buttons.append(_button("Stop my reflection prompts", "reflexivity_off", channel))
        else:
            buttons.append(_button("Send me reflection prompts", "reflexivity_on", channel))
        blocks.append({"type": "actions", "block_id": f"home:{channel}", "elements": buttons})
    return {"type": "home", "blocks": blocks[:100]}
