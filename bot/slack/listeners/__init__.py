"""Slack listeners, one module per kind of payload; ``register_listeners`` is the one wiring seam.

Handlers are module-level functions; Bolt gives each the arguments it names, ``deps`` (bot/slack/deps.py)
among them, put in every request's context by the app (bot/slack/app.py).
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, home, involvement, nudges, plans, views


def register_listeners(app: App) -> None:
    for kind in (commands, actions, home, views, events, plans, nudges, involvement):
        kind.register(app)
