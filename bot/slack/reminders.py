"""What coprod sends to keep the loop going: an action's post in its channel (and what became of it), the
follow-up on its due date, and the gentle reminder to those who haven't answered an open check-in.

Posts in a channel are made once (bot/slack/delivery.py). Direct messages are sent at most once per attempt, as
reflection prompts are (coprod doesn't read DMs to check): a reminder to a person is recorded before it is
sent, so nobody is reminded twice about one check-in.
"""

from __future__ import annotations

import logging
from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.plans import Action
from bot.render import nudge_blocks, plan_blocks
from bot.slack import delivery, posts
from bot.slack.deps import Deps
from bot.store import Partnership

log = logging.getLogger(__name__)


def _today(deps: Deps, timezone: str) -> date:
    return deps.now().astimezone(ZoneInfo(timezone)).date()


def post_action(deps: Deps, client: WebClient, p: Partnership, action: Action) -> None:
    """Tell the channel about a new action, once, and remember the post so it can show what became of it."""
    posted = delivery.deliver(
        client,
        p.channel_id,
        delivery.asked_now(deps.stamp()),
        text=plan_blocks.action_text(action),
        blocks=plan_blocks.action_post_blocks(action, deps.catalog, p.timezone, _today(deps, p.timezone)),
        payload={"action": action.id},
    )
    deps.store.plans.set_message(p.team_id, action.id, posted.ts)


def show_action(deps: Deps, client: WebClient, p: Partnership, action: Action) -> None:
    """Show on the action's post in the channel what became of it (done, dropped, a new date)."""
    if not action.message_ts:
        return
    try:
        client.chat_update(
            channel=p.channel_id,
            ts=action.message_ts,
            text=plan_blocks.action_text(action),
            blocks=plan_blocks.action_post_blocks(action, deps.catalog, p.timezone, _today(deps, p.timezone)),
        )
    except SlackApiError as exc:
        log.warning(
            "could not update an action's post for team %s channel %s: %s",
            p.team_id,
            p.channel_id,
            exc.response.get("error"),
        )


def unname(deps: Deps, client: WebClient, team: str, action_ids: list[int]) -> None:
    """After forget-me: re-draw the posts of the actions they led or planned, which no longer name them."""
    for action_id in action_ids:
        action = deps.store.plans.get(team, action_id)
        p = deps.store.partnerships.get(team, action.channel_id) if action else None
        if action is not None and p is not None:
            show_action(deps, client, p, action)


def remind(deps: Deps, client: WebClient, p: Partnership, action: Action, key: delivery.PostKey) -> None:
    """The follow-up on an action's due date: to its lead in a direct message, or to the channel with no lead."""
    today = _today(deps, p.timezone)
    text = f"How did it go? {plan_blocks.action_text(action)}"
    if action.lead:
        blocks = plan_blocks.reminder_blocks(action, deps.catalog, today, to_lead=True)
        client.chat_postMessage(channel=action.lead, text=text, blocks=blocks)  # never retried blind
    else:
        blocks = plan_blocks.reminder_blocks(action, deps.catalog, today, to_lead=False)
        delivery.deliver(client, p.channel_id, key, text=text, blocks=blocks, payload={"action": action.id})
    deps.store.plans.reminded(p.team_id, action.id, now=deps.stamp())


def send_nudges(deps: Deps, client: WebClient, p: Partnership, checkin_id: int) -> int:
    """Remind, once and privately, each member who hasn't answered the open check-in (named or anonymously)
    and didn't say "don't remind me"; returns how many were reminded. Nobody else hears who was."""
    store, team = deps.store, p.team_id
    checkin = store.checkins.checkin(team, checkin_id)
    if checkin is None or checkin.closed(deps.stamp()):
        return 0
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    level = deps.catalog.level(checkin.level_id)
    bot = deps.bot_user(client, p.team_id)
    in_channel = [m for m in posts.channel_members(client, p.channel_id) if m != bot]
    members = deps.roster.people(client, team, in_channel, now=deps.now().timestamp())
    sent = 0
    for member in members:
        if store.nudges.answered(team, checkin_id, member) or store.nudges.opted_out(p, member):
            continue
        if not store.nudges.claim(team, checkin_id, member, now=deps.stamp()):
            continue  # reminded already (an earlier attempt of this round)
        try:
            client.chat_postMessage(
                channel=member,
                text=nudge_blocks.nudge_text(facilitator),
                blocks=nudge_blocks.nudge_blocks(
                    level,
                    facilitator,
                    checkin_id=checkin.id,
                    channel=p.channel_id,
                    closes_at=checkin.closes_at,
                    timezone=p.timezone,
                ),
            )
            sent += 1
        except (SlackApiError, *delivery.UNKNOWN_OUTCOME) as exc:
            log.warning(
                "a reminder for team %s channel %s could not be sent: %s",
                team,
                p.channel_id,
                exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__,
            )
    return sent
