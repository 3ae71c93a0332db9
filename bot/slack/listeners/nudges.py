"""The reminder to those who haven't answered: "Don't remind me" and "Remind me again", one click each, from
the reminder itself. (A rating from the reminder is a rating like any other: bot/slack/listeners/actions.py.)"""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.render import nudge_blocks
from bot.slack.deps import Deps
from bot.slack.listeners.payloads import action_of, ids
from bot.work.followups import FollowUp


def on_optout(ack: Ack, body: dict, respond: Respond, deps: Deps) -> None:
    team, _, user = ids(body)
    action = action_of(body)
    channel = str(action.get("value", ""))
    partnership = deps.store.partnerships.get(team, channel)
    if partnership is None:
        ack()
        return
    opted_out = action.get("action_id") == "nudge_off"
    deps.store.nudges.set_optout(partnership, user, opted_out)  # only ever about the person who clicked
    ack()
    blocks = nudge_blocks.optout_blocks(channel, opted_out)
    deps.followups.submit(
        FollowUp(
            lambda: respond(text=blocks[0]["text"]["text"], blocks=blocks, replace_original=True),
            what="confirm a reminder setting",
            team=team,
            channel=channel,
        )
    )


def register(app: App) -> None:
    app.action("nudge_off")(on_optout)
    app.action("nudge_on")(on_optout)
