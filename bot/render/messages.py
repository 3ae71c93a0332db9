"""What the bot says, as Block Kit payloads: plain data in, plain dicts out. Pure. Its words about settings (help,
refusals, what was set, pauses) are ``settings_text``'s; the summary and App Home are ``overview``'s.

Words are plain and kind: some readers are patient partners new to Slack. Any text a person typed
goes through ``escape`` before it is shown, so nobody can make the bot ping @channel or link away.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.catalog import Facilitator, Level
from bot.render.blocks import button, clip, context, escape, header, section

# The "how much" scale; each question names its own (Facilitator.labels, bot/domain/catalog.py).
RATING_LABELS = {1: "Not at all", 2: "A little", 3: "Somewhat", 4: "Mostly", 5: "Very much"}
COMMENT_MAX = 2000


def mention(user: str) -> str:
    return f"<@{user}>"


def people(users: Sequence[str]) -> str:
    names = [mention(u) for u in users]
    if not names:
        return "nobody yet"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def level_title(level: Level) -> str:
    """ "Paradigmatic: how research is done in general": the paper's name with a plain gloss, when it has one."""
    return f"{level.name}: {level.gloss}" if level.gloss else f"{level.name} level"


def scale_line(facilitator: Facilitator) -> str:
    """ "1 means never, 5 means always": the ends of this question's own scale."""
    labels = facilitator.labels
    return f"1 means {labels[1].lower()}, 5 means {labels[5].lower()}. Not sure yet? That's an answer too."


NOT_SURE = "Not sure yet"


def rating_buttons(facilitator: Facilitator) -> list[dict]:
    """The five answers on the question's scale, then "Not sure yet": taking part without guessing. With the
    comment and "Where this comes from" buttons that is 8 elements, within an actions block's 25
    (https://docs.slack.dev/reference/block-kit/blocks/actions-block)."""
    ratings = [button(f"{n} · {label}", f"rate:{n}", str(n)) for n, label in facilitator.labels.items()]
    return [*ratings, button(NOT_SURE, "rate:0", "0")]


def source_button(facilitator: Facilitator) -> dict:
    """Opens the paper's words for this practice: the question leads, the research is one click away."""
    return button("Where this comes from", "source", facilitator.id)


def source_modal(level: Level, facilitator: Facilitator, source: str) -> dict:
    """The paper's words behind a question (bot/slack/listeners/actions.py opens it)."""
    blocks = [
        section(f"*{escape(facilitator.prompt)}*"),
        section(
            f"This question comes from the *{escape(level.name)}* level of the research "
            f"({escape(level.gloss or level.scale)}). The research describes it as:\n_{escape(facilitator.text)}_"
        ),
    ]
    if source:
        blocks.append(context(escape(source)))
    # A modal's title and close button hold at most 24 characters
    # (https://docs.slack.dev/reference/views/modal-views): "Where this comes from" is 21.
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Where this comes from"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


def answers_line(count: int, *, closed: bool = False) -> str:
    if closed:
        who = "nobody answered" if count == 0 else ("1 person answered" if count == 1 else f"{count} people answered")
        return f"This check-in has closed: {who}. Thank you! Nobody sees who answered or what."
    so_far = "No answers yet" if count == 0 else ("1 answer so far" if count == 1 else f"{count} answers so far")
    return (
        f"{so_far}. Only the number is shown here: nobody sees who answered or what. "
        "Open for a week, or until the next check-in."
    )


def closed_text(closed_at: int, timezone: str) -> str:
    when = datetime.fromtimestamp(closed_at, ZoneInfo(timezone))
    return (
        f"Thank you for wanting to answer! This check-in closed on {when:%A %-d %B}, so I can't add or change "
        "answers to it now: that keeps everyone's answers safe from being worked out. The next one is coming soon."
    )


# ---- check-ins -------------------------------------------------------------------------------


def checkin_blocks(
    level: Level,
    facilitator: Facilitator,
    checkin_id: int,
    count: int,
    *,
    reflexive_channel: str | None = None,
    closed: bool = False,
) -> list[dict]:
    """A check-in: level, our question, five answers on its own scale, a comment button and "Where this comes
    from" (the paper's words, in a modal: the question leads).

    ``reflexive_channel`` makes it a private reflection prompt (sent by DM) for that channel's team;
    ``closed`` shows a closed check-in, with its count and no buttons.
    """
    prefix = "reflect" if reflexive_channel else "checkin"
    blocks = [
        header(("A moment to reflect · " if reflexive_channel else "Check-in · ") + level_title(level)),
        section(f"*{escape(facilitator.prompt)}*\n{scale_line(facilitator)}"),
        {
            "type": "actions",
            "block_id": f"{prefix}:{checkin_id}",
            "elements": [
                *rating_buttons(facilitator),
                button("Add a comment", "comment", "comment"),
                source_button(facilitator),
            ],
        },
    ]
    if reflexive_channel:
        blocks.append(
            context(
                f"Just for you, about your work in <#{reflexive_channel}>. Your answer stays private: it is in no "
                "team figure (the team sees only how many took part), and only you can look back at it, on my "
                "Home tab."
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"reflexivity:{reflexive_channel}",
                "elements": [button("Stop these prompts", "reflexivity_off", reflexive_channel)],
            }
        )
    else:
        blocks.append(context(answers_line(count, closed=closed)))
    if closed:
        blocks = [b for b in blocks if b["type"] != "actions"]
    return blocks


def checkin_text(facilitator: Facilitator) -> str:
    return f"Check-in: {escape(facilitator.prompt)}"


def answer_recorded(
    facilitator: Facilitator, rating: int, *, anonymous: bool, comment: str | None, private: bool = False
) -> str:
    how = " anonymously" if anonymous else ""
    what = f"{rating} of 5 ({facilitator.labels[rating]})" if rating else NOT_SURE.lower()
    lines = [f"Thank you! I recorded your answer{how}: *{what}* for “{escape(facilitator.prompt)}”"]
    if not rating:
        lines.append("That's a fine answer: it counts as taking part, and it isn't in any average.")
    if comment:
        lines.append(f"Your comment: “{escape(clip(comment, 500))}”")
    lines.append("Changed your mind? Click another number, or add a comment, and I'll update your answer.")
    if private:
        lines.append("This stays private to you: it is in no team figure, and you can look back at it on my Home tab.")
    return "\n".join(lines)


def comment_modal(
    facilitator: Facilitator, checkin_id: int, *, seal: str, rating: int | None, comment: str | None, anonymous: bool
) -> dict:
    """The comment form; ``seal`` is the store's keyed seal on (person, check-in), checked when it comes back."""
    choices = [(f"{n} · {label}", str(n)) for n, label in facilitator.labels.items()] + [(NOT_SURE, "0")]
    rating_options = [{"text": {"type": "plain_text", "text": text}, "value": value} for text, value in choices]
    rating_element: dict = {"type": "radio_buttons", "action_id": "rating", "options": rating_options}
    if rating is not None:
        rating_element["initial_option"] = next(o for o in rating_options if o["value"] == str(rating))
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
        "private_metadata": json.dumps({"checkin": checkin_id, "seal": seal}),
        "title": {"type": "plain_text", "text": "Add a comment"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{escape(facilitator.prompt)}*"),
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


# ---- meetings, reflexivity, notices ----------------------------------------------------------


def meeting_reminder_blocks(meeting_at: datetime, timezone: str, minutes_left: int) -> list[dict]:
    local = meeting_at.astimezone(ZoneInfo(timezone))
    soon = ("in 1 minute" if minutes_left == 1 else f"in {minutes_left} minutes") if minutes_left > 0 else "now"
    return [
        section(
            f":calendar: *Your team meeting starts {soon}* ({local:%A %H:%M}).\n"
            "Afterwards, one click tells coprod you met, so the summary knows."
        ),
        {
            "type": "actions",
            "block_id": f"meeting:{local:%Y-%m-%d}",
            "elements": [button("We met", "met", local.strftime("%Y-%m-%d"), style="primary")],
        },
    ]


def meeting_logged_blocks(held_on: str, user: str) -> list[dict]:
    return [section(f":white_check_mark: Meeting on {held_on} logged by {mention(user)}. Thank you!")]


def welcome_blocks() -> list[dict]:
    return [
        section(
            "*Hello! I'm coprod.* I help this partnership keep up the everyday practices that make "
            "co-production work, from the research of Beckett and colleagues (2018).\n"
            "Now and then I'll ask the team one short question. Answering takes a few seconds, and "
            "nobody sees who answered what."
        ),
        context(
            "To start, a coordinator types `/coprod schedule checkins weekly Tuesday 10:00`. "
            "Type `/coprod help` to see everything."
        ),
    ]


def forget_me_blocks() -> list[dict]:
    return [
        section(
            "*Erase your answers?* This deletes every comment you gave in this workspace (anonymous ones "
            "too), your answers to check-ins still open, your role and your reflection settings (if you had "
            "stopped reflection prompts, they will start again; you can stop them from my Home tab), whether you "
            "said “don't remind me”, and your name on actions you planned or led (the actions stay the team's). "
            "Your ratings to check-ins that have closed stay in the team's averages, but with nothing left "
            "that links them to you: taking them out would let someone work them out. "
            "If you are a coordinator, you stay one until another coordinator removes you. "
            "It can't be undone."
        ),
        {
            "type": "actions",
            "block_id": "forget-me",
            "elements": [
                button("Yes, erase them", "forget_me_confirm", "confirm", style="danger"),
                button("No, keep them", "forget_me_cancel", "cancel"),
            ],
        },
    ]


def forgotten_text(counts: dict[str, int], *, still_coordinator: bool = False) -> str:
    singular = {
        "answers": "answer",
        "roles": "role",
        "reflexivity settings": "reflexivity setting",
        "reminder settings": "reminder setting",
    }
    kept = ("unlinked", "actions led")  # things that stay, without the person's name
    parts = [
        f"{n} {singular.get(what, what) if n == 1 else what}" for what, n in counts.items() if n and what not in kept
    ]
    unlinked, led = counts.get("unlinked", 0), counts.get("actions led", 0)
    text = "Done. I erased " + ", ".join(parts) + "." if parts else "Done."
    if unlinked:
        text += (
            f" {unlinked} {'rating' if unlinked == 1 else 'ratings'} to closed check-ins stay in the team's "
            "averages with nothing that links them to you."
        )
    if led:
        led_text = "The action you led stays" if led == 1 else f"The {led} actions you led stay"
        text += f" {led_text} the team's, without your name."
    if not parts and not unlinked and not led:
        text = "Done. There was nothing of yours to erase."
    if still_coordinator:
        text += (
            " You are still a coordinator, so your name stays on the list of coordinators until another "
            "coordinator removes you (`/coprod coordinators remove @name`)."
        )
    return text
