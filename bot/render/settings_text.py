"""What coprod says about a partnership's settings and who may change them: the help, a command it couldn't
read, a refusal, a schedule, meeting or size set, and why its schedules can't run or were paused. Pure.

Any text a person typed goes through ``escape`` before it is shown, as in ``messages``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.commands import help_lines
from bot.domain.schedule import DAY_NAMES, Spec, format_minute
from bot.render.blocks import context, escape, header, section
from bot.render.messages import people

KIND_NAMES = {
    "checkins": "check-ins",
    "summary": "summaries",
    "reflexivity": "reflection prompts",
    "meeting": "meeting reminders",
}


def help_blocks(notice: str | None = None, note: str | None = None) -> list[dict]:
    """The list of commands; ``notice``: what the channel should know first (a holiday pause in force);
    ``note``: one more line of coprod's own words (several-workspace mode: what happens if it is removed)."""
    rows = "\n".join(f"`{cmd}`  {escape(meaning)}" for cmd, meaning in help_lines())
    notes = "Times are in the partnership's timezone. Settings, exports and roles are for coordinators."
    return [
        header("coprod: what I can do"),
        *([context(":palm_tree: " + notice)] if notice else []),
        section(rows),
        context(f"{notes} {note}" if note else notes),
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


def schedule_set_text(kind: str, spec: Spec, timezone: str, next_at: datetime) -> str:
    local = next_at.astimezone(ZoneInfo(timezone))
    return f"All set: {KIND_NAMES[kind]} {spec.describe()} ({timezone}). The next one is on {local:%A %-d %B at %H:%M}."


def meeting_set_text(
    weekday: int, at_minute: int, remind: int, timezone: str, next_at: datetime, cadence: str = "weekly"
) -> str:
    local = next_at.astimezone(ZoneInfo(timezone))
    day = DAY_NAMES[weekday]
    every = {"fortnightly": f"every other {day}", "monthly": f"on the first {day} of each month"}.get(
        cadence, f"every {day}"
    )
    lead = (
        "when your meeting starts"
        if remind == 0
        else f"{remind} minute{'' if remind == 1 else 's'} before your meeting"
    )
    return (
        f"All set: I'll remind the channel {lead} {every} at "
        f"{format_minute(at_minute)} ({timezone}). The next reminder is on {local:%A %-d %B at %H:%M}. "
        "The summary says a meeting wasn't logged only once one of these has passed without one."
    )


def size_set_text(size: str | None) -> str:
    if size == "small":
        return (
            "Done: this is a small partnership, so I'll ask how easily you shift who does what, not about defined "
            "roles (the research suggests fluid roles for small teams)."
        )
    if size == "large":
        return (
            "Done: this is a large partnership, so I'll ask how clear roles and structures are, not about fluid "
            "roles (the research suggests defined roles for large projects)."
        )
    return "Done: I'll ask about both defined and fluid roles, as I do until a partnership's size is set."


# Why coprod's schedules in a channel stopped, and what someone can do about it, in plain words; the errors
# are chat.postMessage's (https://docs.slack.dev/reference/methods/chat.postMessage).
_INVITE = "When it's sorted, invite me back and type `/coprod schedule checkins …` to start again."
_REINSTALL = (
    "A workspace admin can fix this by installing coprod again (from its manifest.json, which asks for every "
    "permission I need); then type `/coprod schedule checkins …` here to start again."
)
_LET_ME_POST = (
    "A channel manager can let me post in the channel's settings (or choose another channel); then type "
    "`/coprod schedule checkins …` to start again."
)
PAUSE_REASONS = {
    "channel_not_found": ("I can't find the channel any more", _INVITE),
    "is_archived": ("the channel was archived", _INVITE),
    "not_in_channel": ("I'm no longer in the channel", _INVITE),
    "account_inactive": ("my Slack account was deactivated", _INVITE),
    "missing_scope": ("Slack says I'm missing a permission I need to post", _REINSTALL),
    "invalid_auth": ("Slack no longer accepts my sign-in for this workspace", _REINSTALL),
    "token_revoked": ("coprod's access to this workspace was taken away", _REINSTALL),
    "token_expired": ("coprod's access to this workspace expired", _REINSTALL),
    "team_access_not_granted": ("this workspace hasn't given coprod access", _REINSTALL),
    "restricted_action": ("the workspace doesn't let me post in the channel", _LET_ME_POST),
    "restricted_action_read_only_channel": ("the channel is read-only for me", _LET_ME_POST),
    "restricted_action_thread_only_channel": ("the channel only takes replies in threads", _LET_ME_POST),
    "restricted_action_non_threadable_channel": ("the channel doesn't let me post there", _LET_ME_POST),
}


def cannot_schedule_text(error: str) -> str:
    """The answer to a schedule set in a channel coprod can't post in: nothing was changed."""
    if error in ("not_in_channel", "channel_not_found"):
        return (
            "I'm not in this channel yet, so I couldn't post anything you schedule here, and I've changed nothing. "
            "Please invite me first: type `/invite @coprod` in this channel, then try again."
        )
    why, fix = PAUSE_REASONS.get(error, (f"Slack said “{escape(error)}”", "Please try again in a minute."))
    return f"I couldn't set that up, and I've changed nothing: {why}. {fix}"


def paused_text(channel: str, error: str) -> str:
    why, fix = PAUSE_REASONS.get(error, (f"Slack said “{escape(error)}”", _INVITE))
    return f"I've paused coprod's schedules for <#{channel}> because {why}. Nothing is lost. {fix}"
