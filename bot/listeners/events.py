"""Events: mentions, App Home opening, people (and the bot) joining a channel.

Slack retries an event it thinks we missed; each event id is handled once.
"""

from __future__ import annotations

import logging
import re

from slack_bolt import App

from bot import commands as grammar
from bot import messages, posts
from bot.followups import FollowUp
from bot.listeners.home import publish_home
from bot.posts import Deps

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[^>]*>")
SORRY = "Sorry, something went wrong on my side. Please try again in a minute."
HELLO = "Hello! Say `@coprod summary` to see how we're doing, or type `/coprod help`."


def _first_time(deps: Deps, body: dict) -> bool:
    """False for Slack's retry of an event we already took."""
    event_id, team = body.get("event_id"), body.get("team_id")
    if not isinstance(event_id, str) or not isinstance(team, str) or not event_id:
        return True  # nothing to recognise a retry by
    return deps.store.first_time_event(team, event_id, now=int(deps.now().timestamp()))


def register(app: App, deps: Deps) -> None:
    def handled_once(what: str, work, *, asked: bool = False):
        """A listener that acknowledges every event, and hands each new one's ``work`` to the follow-up
        workers. When someone ``asked`` (a mention), a failure is answered with a private sorry."""

        def listener(ack, body, event, client):
            first = _first_time(deps, body)
            ack()
            if not first:
                return
            team, channel, user = str(body.get("team_id", "")), str(event.get("channel", "")), event.get("user")

            def apologise():
                if asked and channel and isinstance(user, str):
                    client.chat_postEphemeral(channel=channel, user=user, text=SORRY)

            deps.followups.submit(FollowUp(lambda: work(body, event, client), what=what, team=team,
                                           channel=channel, apologise=apologise))

        return listener

    def on_mention(body, event, client):
        team, channel, user = body.get("team_id", ""), event.get("channel", ""), event.get("user", "")
        # "@coprod summary group weeks 12": the words after the mention, read as the slash command reads them.
        words = MENTION.sub(" ", str(event.get("text", ""))).split()
        summary_at = next((i for i, w in enumerate(words) if w.lower() == "summary"), None)
        if summary_at is None:
            client.chat_postEphemeral(channel=channel, user=user, text=HELLO)
            return
        try:
            cmd = grammar.parse(" ".join(words[summary_at:]), deps.catalog, today=deps.now().date())
        except grammar.UsageError:  # people talk to a mention ("summary please"): the whole summary, then
            cmd = grammar.ShowSummary()
        if not isinstance(cmd, grammar.ShowSummary):
            cmd = grammar.ShowSummary()
        if deps.store.partnership(team, channel) is None:
            client.chat_postEphemeral(channel=channel, user=user,
                                      text="coprod isn't set up in this channel yet. Type `/coprod help` to start.")
            return
        posts.post_summary(deps, client, team, channel, weeks=cmd.weeks, level_id=cmd.level.id if cmd.level else None)

    def on_home(body, event, client):
        if event.get("tab", "home") == "home":
            publish_home(deps, client, body.get("team_id", ""), event.get("user", ""))

    def on_join(body, event, client):
        team, channel, user = body.get("team_id", ""), event.get("channel", ""), event.get("user", "")
        if user and user == deps.bot_user(client):
            client.chat_postMessage(channel=channel, text="Hello! I'm coprod.", blocks=messages.welcome_blocks())
            return
        if deps.store.partnership(team, channel) is not None:
            posts.refresh_members(deps, client, team, channel)

    app.event("app_mention")(handled_once("answer a mention", on_mention, asked=True))
    app.event("app_home_opened")(handled_once("publish App Home", on_home))
    app.event("member_joined_channel")(handled_once("welcome a new member", on_join))
