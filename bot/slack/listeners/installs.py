"""A workspace removing coprod (several-workspace mode only): ``app_uninstalled`` and ``tokens_revoked``.

Its tokens are deleted and its partnerships paused before the event is acknowledged; its data waits out the
grace period (bot/slack/installs.py). Both are safe to repeat, so Slack's retries need no event-id check; a failure
is not acknowledged as done (a 500), so Slack sends the event again.
"""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.slack import installs
from bot.slack.deps import Deps
from bot.slack.listeners import payloads
from bot.work.followups import FollowUp


def _removed(deps: Deps, team: str) -> None:
    assert deps.installations is not None and deps.erase_after_days is not None
    now = deps.stamp()
    erase_at = installs.removed(deps.store, deps.installations, team, now=now, erase_after_days=deps.erase_after_days)
    if erase_at <= now:  # no grace period: erased straight away, once acknowledged
        deps.followups.submit(
            FollowUp(lambda: installs.erase_due(deps.store, now=now), what="erase a removed workspace", team=team)
        )


def _team(body: dict, context: BoltContext) -> str:
    team = context.team_id or payloads.text(body, "team_id")
    return team if payloads.TEAM_ID.fullmatch(team or "") else ""


def on_app_uninstalled(ack: Ack, body: dict, context: BoltContext, deps: Deps) -> None:
    team = _team(body, context)
    if team:
        _removed(deps, team)
    ack()


def on_tokens_revoked(ack: Ack, body: dict, event: dict, context: BoltContext, deps: Deps) -> None:
    """The bot's token revoked is coprod removed; a person's token revoked changes nothing (coprod asks for
    none, and keeps none)."""
    team = _team(body, context)
    bots = payloads.dig(event, "tokens", "bot")
    if team and isinstance(bots, list) and bots:
        _removed(deps, team)
    ack()


def register(app: App) -> None:
    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
