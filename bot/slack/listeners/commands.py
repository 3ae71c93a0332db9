"""`/coprod`: parse, check rights, change or read the store, and answer privately.

The acknowledgement carries the answer whenever everything needed is already known, so the write
is committed before Slack hears back. When Slack must be asked something first (who is this person,
what is their timezone) or a post must be made, the work moves after the acknowledgement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import command_grammar
from bot.domain import commands as grammar
from bot.domain.catalog import Facilitator
from bot.domain.holidays import holiday_text
from bot.domain.schedule import Spec, next_fire
from bot.render import messages, overview, pages, settings_text
from bot.render.blocks import section
from bot.render.involvement_blocks import who_came_blocks
from bot.reports import partnership_summary, with_involvement
from bot.slack import delivery, posts
from bot.slack.deps import Deps
from bot.slack.listeners import exports, involvement, loop
from bot.slack.listeners.command_request import NOT_SET_UP, Reply, Request, reply
from bot.slack.people import known_user, look_up_user, may_coordinate
from bot.store import Partnership, UserInfo
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. Please try again in a minute."
NOT_IN_CHANNEL = "I can't post in this channel yet. Please invite me first: type `/invite @coprod`, then try again."


def on_command(ack: Ack, command: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    """Parse once; answer inside the acknowledgement when nothing must be asked of Slack first,
    otherwise acknowledge and carry the command out (once) on the follow-up workers."""
    req = Request.from_command(command, deps)
    try:
        cmd = command_grammar.parse(command.get("text", ""), deps.catalog, today=deps.now().date())
    except command_grammar.UsageError as exc:
        ack(**reply(settings_text.usage_text(str(exc))))
        return
    standing = Standing.of(deps, cmd, req)
    if not standing.must_ask_slack(cmd):
        ack(**(execute(deps, cmd, req, standing, client=client) or {}))
        return
    ack()
    deps.followups.submit(
        FollowUp(
            lambda: _after_ack(deps, cmd, req, client, respond),
            what=f"carry out /coprod {type(cmd).__name__}",
            team=req.team,
            channel=req.channel,
            apologise=lambda: respond(**reply(SORRY), replace_original=False),
        )
    )


def register(app: App) -> None:
    app.command("/coprod")(on_command)


def _after_ack(deps: Deps, cmd: grammar.Command, req: Request, client: WebClient, respond: Respond) -> None:
    try:
        # Read again: the acknowledgement was a moment ago, and another command may have set things up since.
        outcome = execute(deps, cmd, req, Standing.of(deps, cmd, req), client=client)
    except SlackApiError as exc:
        error = exc.response.get("error", "")
        log.warning(
            "/coprod %s failed at Slack for team %s channel %s: %s", type(cmd).__name__, req.team, req.channel, error
        )
        if error in ("not_in_channel", "channel_not_found"):
            outcome = reply(NOT_IN_CHANNEL)
        elif exc.response.status_code >= 500:  # a post or a file's sharing, never repeated blind (bot/slack/app.py)
            outcome = reply(
                "Slack didn't answer properly just now, so I can't tell whether that went through. If you don't "
                "see it in a minute or two, please try again."
            )
        else:
            outcome = reply("Sorry, Slack didn't accept that just now. Please try again in a minute.")
    except delivery.LookLater:  # the post may be in the channel: asking again could make it twice
        outcome = reply(
            "Slack is slow to answer just now, so I can't tell whether the check-in went out. If you don't see it "
            "in the channel in a few minutes, please try again."
        )
    except delivery.NotPosted:
        outcome = reply("Sorry, Slack didn't answer, and nothing was posted. Please try again in a minute.")
    if outcome:
        respond(**outcome, replace_original=False)


@dataclass(frozen=True)
class Standing:
    """What coprod knows, without asking Slack, of the channel and the person giving a command."""

    partnership: Partnership | None
    # What Slack says of the person matters: their timezone for a new partnership, or whether they are a
    # workspace admin when a coordinator-only command comes from someone not named coordinator.
    needs_info: bool
    info: UserInfo | None  # what we know of them, when it matters and is fresh

    @classmethod
    def of(cls, deps: Deps, cmd: grammar.Command, req: Request) -> Standing:
        if isinstance(cmd, (grammar.Help, grammar.ForgetMe)) or not _in_channel(req):
            return cls(None, False, None)  # answered without reading anything
        store = deps.store
        partnership = store.partnerships.get(req.team, req.channel)
        if isinstance(cmd, (grammar.ShowSummary, grammar.ShowPicture)):
            return cls(partnership, False, None)
        needs_info = partnership is None or (
            grammar.is_coordinator_only(cmd) and not store.people.is_coordinator(partnership, req.user)
        )
        return cls(partnership, needs_info, known_user(store, req.team, req.user, req.now) if needs_info else None)

    def must_ask_slack(self, cmd: grammar.Command) -> bool:
        """Whether carrying out ``cmd`` means calling Slack (to post, to upload, or to learn who the person
        is), so that it must wait until after the acknowledgement."""
        # A schedule asks Slack whether coprod is in the channel, so it never says "All set" where it can't post.
        schedules = (grammar.SetSchedule, grammar.SetMeeting)
        slack_work = (
            grammar.CheckinNow,
            grammar.Export,
            grammar.ShowPicture,
            grammar.Report,
            *schedules,
            *involvement.SLACK_WORK,
        )
        return isinstance(cmd, slack_work) or (self.needs_info and self.info is None)


def _in_channel(req: Request) -> bool:
    return bool(req.channel) and not req.channel.startswith("D")


def execute(deps: Deps, cmd: grammar.Command, req: Request, standing: Standing, *, client: WebClient) -> Reply | None:
    """Carry out a command, calling Slack only where ``standing.must_ask_slack`` says so. Returns the
    private reply, or None when what happened speaks for itself (a check-in posted in the channel)."""
    store = deps.store
    if isinstance(cmd, grammar.Help):
        p = deps.store.partnerships.get(req.team, req.channel) if _in_channel(req) else None
        until = loop.active_pause_end(deps, p) if p else None
        notice = holiday_text(until, p.timezone) if p and until else None
        removal = None if deps.erase_after_days is None else pages.kept_for(deps.erase_after_days)
        return reply("Here's what I can do.", settings_text.help_blocks(notice, removal))
    if isinstance(cmd, grammar.ForgetMe):
        return reply("Erase your answers?", messages.forget_me_blocks())
    if not _in_channel(req):
        return reply("Please use `/coprod` in your partnership's channel, not in a direct message.")
    partnership, info = standing.partnership, standing.info
    if isinstance(cmd, grammar.ShowSummary):
        return _summary(deps, cmd, partnership, req.user)
    if isinstance(cmd, grammar.ShowPicture):
        return exports.send_picture(deps, client, req, partnership)
    if info is None and standing.needs_info:
        info = look_up_user(store, client, req.team, req.user, req.now)
    if grammar.is_coordinator_only(cmd) and not may_coordinate(store, partnership, info, req.user):
        assert partnership is not None  # may_coordinate says yes to a channel nobody has set up
        what = grammar.COORDINATOR_ONLY[type(cmd)]
        return reply(settings_text.refusal_text(what, store.people.coordinators(partnership)))
    if isinstance(cmd, (grammar.SetSchedule, grammar.SetMeeting)):
        closed = posts.cannot_post_in(client, req.channel)
        if closed:  # before anything is stored: a channel set up only to pause later helps nobody
            return reply(settings_text.cannot_schedule_text(closed))
    if partnership is None:
        tz = info.timezone if info and info.timezone else "UTC"
        partnership = store.partnerships.ensure(req.team, req.channel, timezone=tz, created_by=req.user, now=req.now)
    return _with_pause_notice(deps, req, _apply(deps, cmd, req, partnership, client))


def _with_pause_notice(deps: Deps, req: Request, outcome: Reply | None) -> Reply | None:
    """The answer, led by why the channel's schedules are paused when coprod's token stopped working there
    (it could DM nobody then, bot/slack/posts.py): whoever next uses /coprod in the channel is told."""
    p = deps.store.partnerships.get(req.team, req.channel)
    if p is None or p.paused_reason not in posts.DEAD_TOKEN:
        return outcome
    notice = settings_text.paused_text(p.channel_id, p.paused_reason)
    if not outcome:
        return reply(notice)
    blocks = outcome.get("blocks")
    return {
        **outcome,
        "text": f"{notice}\n\n{outcome.get('text', '')}",
        **({"blocks": [section(notice), *blocks]} if blocks else {}),
    }


def _summary(deps: Deps, cmd: grammar.ShowSummary, partnership: Partnership | None, user: str) -> Reply:
    if partnership is None:
        return reply(NOT_SET_UP)
    result = partnership_summary(
        deps.store,
        deps.catalog,
        partnership,
        now=deps.now(),
        weeks=cmd.weeks,
        level_id=cmd.level.id if cmd.level else None,
    )
    shown = overview.summary_blocks(result, partnership.timezone, channel=partnership.channel_id)
    boss = deps.store.people.is_coordinator(partnership, user)
    return reply(
        overview.summary_text(result), with_involvement(shown, deps.store, partnership, result, coordinators=boss)
    )


def _apply(deps: Deps, cmd: grammar.Command, req: Request, p: Partnership, client: WebClient) -> Reply | None:
    store, tz = deps.store, p.timezone
    if isinstance(cmd, grammar.CheckinNow):
        posts.post_checkin(deps, client, p, cmd.target)
        return None
    if isinstance(cmd, grammar.Export):
        return exports.send_export(deps, client, req)
    if isinstance(cmd, grammar.Report):
        return exports.send_report(deps, client, req, p, cmd)
    if isinstance(cmd, loop.LOOP_COMMANDS):
        return loop.apply(deps, cmd, req.user, p, req.now)
    if isinstance(cmd, involvement.INVOLVEMENT_COMMANDS):
        exports.remember_name(deps, req, p)
        return involvement.apply(deps, cmd, req.user, p, client, req.trigger_id)
    if isinstance(cmd, grammar.SetSchedule):
        # Fortnightly counts from the week of the partnership's own today (UTC may still say yesterday).
        spec = replace(cmd.spec, anchor=deps.now().astimezone(ZoneInfo(tz)).date())
        store.partnerships.set_schedule(
            p,
            kind=cmd.kind,
            cadence=spec.cadence,
            weekday=spec.weekday,
            at_minute=spec.at_minute,
            anchor=spec.anchor.isoformat(),
            set_by=req.user,
            now=req.now,
        )
        store.partnerships.set_paused(p, None)
        return reply(settings_text.schedule_set_text(cmd.kind, spec, tz, next_fire(spec, tz, deps.now())))
    if isinstance(cmd, grammar.StopSchedule):
        removed = store.partnerships.clear_schedule(p, cmd.kind)
        what = settings_text.KIND_NAMES[cmd.kind]
        return reply(f"Done: no more scheduled {what}." if removed else f"There were no scheduled {what} to stop.")
    if isinstance(cmd, grammar.SetMeeting):
        spec = Spec(cmd.cadence, cmd.weekday, cmd.at_minute, deps.now().astimezone(ZoneInfo(tz)).date())
        store.partnerships.set_schedule(
            p,
            kind="meeting",
            cadence=cmd.cadence,
            weekday=cmd.weekday,
            at_minute=cmd.at_minute,
            anchor=spec.anchor.isoformat(),
            set_by=req.user,
            now=req.now,
            remind_minutes=cmd.remind_minutes,
        )
        store.partnerships.set_paused(p, None)
        first = next_fire(spec, tz, deps.now(), offset_minutes=-cmd.remind_minutes)
        return reply(
            settings_text.meeting_set_text(cmd.weekday, cmd.at_minute, cmd.remind_minutes, tz, first, cmd.cadence)
        )
    if isinstance(cmd, grammar.LogMeeting):
        today = deps.now().astimezone(ZoneInfo(tz)).date().isoformat()
        new = store.activity.log_meeting(p, held_on=today, user=req.user, now=req.now)
        said = "Thank you: today's meeting is logged." if new else "Today's meeting was already logged. Thank you!"
        return reply(said, who_came_blocks(said, today))
    if isinstance(cmd, grammar.StopMeeting):
        removed = store.partnerships.clear_schedule(p, "meeting")
        return reply("Done: no more meeting reminders." if removed else "There were no meeting reminders to stop.")
    if isinstance(cmd, grammar.ChangeCoordinator):
        return _coordinators(deps, cmd, req, p)
    if isinstance(cmd, grammar.SetRole):
        store.people.set_role(p, cmd.user, cmd.role)
        return reply(
            f"Thanks: {messages.mention(cmd.user)} is recorded as {cmd.role}. Roles help the summary "
            "notice whose voices we haven't heard lately."
        )
    if isinstance(cmd, grammar.PinNext):
        store.partnerships.set_pin(p, cmd.target.id)
        name = cmd.target.text if isinstance(cmd.target, Facilitator) else cmd.target.name
        return reply(f"Done: the next scheduled check-in will be about “{messages.escape(name)}”.")
    if isinstance(cmd, grammar.SetTimezone):
        store.partnerships.set_timezone(p, cmd.timezone, now=req.now)
        return reply(f"Done: times for this partnership are now in {cmd.timezone}.")
    if isinstance(cmd, grammar.SetSize):
        store.partnerships.set_size(p, cmd.size)
        return reply(settings_text.size_set_text(cmd.size))
    if isinstance(cmd, grammar.SetRetention):
        store.partnerships.set_retention(p, cmd.months)
        if cmd.months is None:
            return reply("Done: comments are kept until someone erases them.")
        return reply(f"Done: comments older than {cmd.months} months will be deleted (ratings are kept).")
    raise TypeError(f"unhandled command {type(cmd).__name__}")


def _coordinators(deps: Deps, cmd: grammar.ChangeCoordinator, req: Request, p: Partnership) -> Reply:
    people = deps.store.people
    who = messages.mention(cmd.user)
    if cmd.add:
        added = people.add_coordinator(p, cmd.user, added_by=req.user)
        return reply(f"Done: {who} is now a coordinator here." if added else f"{who} is already a coordinator here.")
    current = people.coordinators(p)
    if cmd.user in current and len(current) == 1:
        return reply(f"{who} is the only coordinator here, so I kept them. Add someone else first.")
    removed = people.remove_coordinator(p, cmd.user)
    return reply(f"Done: {who} is no longer a coordinator here." if removed else f"{who} wasn't a coordinator here.")
