"""Events: mentions, App Home opening, people (and the bot) joining a channel.

Slack retries an event it thinks we missed; each event id is handled once. Every event is acknowledged
at once and its work handed to the follow-up workers.

An event belongs to the workspace whose installation it was delivered for (``authorizations[0].team_id``,
which Bolt puts in ``context.team_id``), not the envelope's ``team_id``: in a Slack Connect channel that is the
other organization's workspace, where coprod may not even be installed
(https://docs.slack.dev/apis/slack-connect, https://docs.slack.dev/apis/events-api). The
token answering it and the partnership it concerns are the authorizing workspace's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain import command_grammar
from bot.domain import commands as grammar
from bot.render import messages
from bot.slack import posts
from bot.slack.deps import Deps
from bot.slack.listeners.home import publish_home
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[^>]*>")
SORRY = "Sorry, something went wrong on my side. Please try again in a minute."
HELLO = "Hello! Say `@coprod summary` to see how we're doing, or type `/coprod help`."


def team_of(body: dict, context: BoltContext) -> str:
    """The workspace an event was delivered for (see the module's docstring)."""
    team = context.team_id or body.get("team_id")
    return team if isinstance(team, str) else ""


def _first_time(deps: Deps, team: str, body: dict) -> bool:
    """False for Slack's retry of an event we already took."""
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id or not team:
        return True  # nothing to recognise a retry by
    return deps.store.ledger.first_time_event(team, event_id, now=deps.stamp())


def _once(
    ack: Ack,
    body: dict,
    event: dict,
    deps: Deps,
    team: str,
    what: str,
    work: Callable[[], object],
    apologise: Callable[[], object] | None = None,
) -> None:
    """Acknowledge; hand a new event's ``work`` to the follow-up workers (a retry's is dropped)."""
    first = _first_time(deps, team, body)
    ack()
    if first:
        deps.followups.submit(
            FollowUp(work, what=what, team=team, channel=str(event.get("channel", "")), apologise=apologise)
        )


def on_mention(ack: Ack, body: dict, event: dict, client: WebClient, context: BoltContext, deps: Deps) -> None:
    team, channel, user = team_of(body, context), str(event.get("channel", "")), str(event.get("user", ""))
    _once(
        ack,
        body,
        event,
        deps,
        team,
        "answer a mention",
        lambda: answer_mention(deps, client, team, channel, user, str(event.get("text", ""))),
        apologise=lambda: client.chat_postEphemeral(channel=channel, user=user, text=SORRY),
    )


def answer_mention(deps: Deps, client: WebClient, team: str, channel: str, user: str, text: str) -> None:
    # "@coprod summary group weeks 12": the words after the mention, read as the slash command reads them.
    words = MENTION.sub(" ", text).split()
    summary_at = next((i for i, w in enumerate(words) if w.lower() == "summary"), None)
    if summary_at is None:
        client.chat_postEphemeral(channel=channel, user=user, text=HELLO)
        return
    try:
        cmd = command_grammar.parse(" ".join(words[summary_at:]), deps.catalog, today=deps.now().date())
    except command_grammar.UsageError:  # people talk to a mention ("summary please"): the whole summary, then
        cmd = grammar.ShowSummary()
    if not isinstance(cmd, grammar.ShowSummary):
        cmd = grammar.ShowSummary()
    partnership = deps.store.partnerships.get(team, channel)
    if partnership is None:
        client.chat_postEphemeral(
            channel=channel, user=user, text="coprod isn't set up in this channel yet. Type `/coprod help` to start."
        )
        return
    posts.post_summary(deps, client, partnership, weeks=cmd.weeks, level_id=cmd.level.id if cmd.level else None)


def on_home_opened(ack: Ack, body: dict, event: dict, client: WebClient, context: BoltContext, deps: Deps) -> None:
    team, user = team_of(body, context), str(event.get("user", ""))
    if event.get("tab", "home") != "home":
        ack()
        return
    _once(ack, body, event, deps, team, "publish App Home", lambda: publish_home(deps, client, team, user))


def on_join(ack: Ack, body: dict, event: dict, client: WebClient, context: BoltContext, deps: Deps) -> None:
    team, channel, user = team_of(body, context), str(event.get("channel", "")), str(event.get("user", ""))
    _once(ack, body, event, deps, team, "welcome a new member", lambda: welcome(deps, client, team, channel, user))


def welcome(deps: Deps, client: WebClient, team: str, channel: str, user: str) -> None:
    if user and user == deps.bot_user(client, team):
        client.chat_postMessage(channel=channel, text="Hello! I'm coprod.", blocks=messages.welcome_blocks())
        return
    partnership = deps.store.partnerships.get(team, channel)
    if partnership is not None:
        posts.refresh_members(deps, client, partnership)


def register(app: App) -> None:
    app.event("app_mention")(on_mention)
    app.event("app_home_opened")(on_home_opened)
    app.event("member_joined_channel")(on_join)
