"""The `/coprod` commands that close the loop: `actions` (the list, with Done and Drop), `nudge` (the reminder
to those who haven't answered), `pause until …` and `resume` (a holiday). Rights are checked before these
run (bot/slack/listeners/commands.py); every reply is private and needs nothing from Slack."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import commands as grammar
from bot.domain import holidays
from bot.render import plan_blocks
from bot.slack.deps import Deps
from bot.slack.people import known_user
from bot.store import Partnership

LOOP_COMMANDS = (grammar.ListActions, grammar.SetNudge, grammar.Pause, grammar.Resume)


def _reply(text: str, blocks: list | None = None) -> dict:
    out: dict = {"response_type": "ephemeral", "text": text}
    if blocks:
        out["blocks"] = blocks
    return out


def coordinates(deps: Deps, p: Partnership, user: str, now: int) -> bool:
    """Named coordinator, or a workspace admin as far as coprod already knows (the buttons check again)."""
    if deps.store.people.is_coordinator(p, user):
        return True
    info = known_user(deps.store, p.team_id, user, now)
    return bool(info and info.is_admin)


def apply(deps: Deps, cmd: grammar.Command, user: str, p: Partnership, now: int) -> dict:
    store = deps.store
    today = deps.now().astimezone(ZoneInfo(p.timezone)).date()
    if isinstance(cmd, grammar.ListActions):
        actions = store.plans.open_actions(p)
        boss = coordinates(deps, p, user, now)
        mine = [a.id for a in actions if boss or a.owned_by(user)]
        n = len(actions)
        text = f"{n} {'action' if n == 1 else 'actions'} in progress" if n else "Nothing in progress right now"
        return _reply(text, plan_blocks.actions_list_blocks(actions, deps.catalog, today, may_change=mine))
    if isinstance(cmd, grammar.SetNudge):
        store.partnerships.set_nudge(p, cmd.hours, now=now)
        if cmd.hours is None:
            return _reply("Done: no more reminders to people who haven't answered a check-in.")
        hours = "1 hour" if cmd.hours == 1 else f"{cmd.hours} hours"
        return _reply(
            f"Done: when someone hasn't answered a check-in {hours} after it was posted, I'll send them one "
            "private reminder with the rating buttons. Anyone can say “don't remind me”. Nobody else is told "
            "who was reminded."
        )
    if isinstance(cmd, grammar.Pause):
        if cmd.until <= today:
            return _reply(f"{cmd.until:%-d %B %Y} has already come here: pick a date after today.")
        ends = holidays.midnight(cmd.until, p.timezone)
        store.partnerships.pause(p, until_on=cmd.until, ends_at=int(ends.timestamp()), set_by=user, now=now)
        return _reply(
            "Done. " + holidays.holiday_text(ends, p.timezone) + " Summaries won't count the paused weeks "
            "against any level. Enjoy the break!"
        )
    if isinstance(cmd, grammar.Resume):
        if not store.partnerships.resume(p, now=now):
            return _reply("coprod wasn't paused for a holiday here, so there was nothing to resume.")
        return _reply("Welcome back! Scheduled check-ins, summaries and reminders are running again.")
    raise TypeError(f"unhandled command {type(cmd).__name__}")


def active_pause_end(deps: Deps, p: Partnership) -> datetime | None:
    """When the holiday pause in force ends, if one is."""
    pause = holidays.active(deps.store.partnerships.pauses(p, since=deps.stamp()), deps.stamp())
    return datetime.fromtimestamp(pause.ends_at, ZoneInfo(p.timezone)) if pause else None
