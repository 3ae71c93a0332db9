"""App Home: the partnerships the viewer belongs to, each level's coverage and flags, what is next."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.jobs import offset_of, spec_of
from bot.people import known_user, look_up_user
from bot.posts import Deps
from bot.reports import partnership_summary
from bot.schedule import next_fire
from bot.store import ScheduledPartnership

log = logging.getLogger(__name__)


def viewer_channels(client: WebClient, user: str) -> set[str]:
    channels: set[str] = set()
    try:
        for page in client.users_conversations(user=user, types="public_channel,private_channel",
                                               exclude_archived=True, limit=200):
            channels.update(c["id"] for c in page.get("channels", []))
    except SlackApiError as exc:
        log.warning("users.conversations failed: %s", exc.response.get("error"))
    return channels


def publish_home(deps: Deps, client: WebClient, team: str, user: str) -> None:
    store, now = deps.store, deps.now()
    mine = viewer_channels(client, user)
    items = []
    info = None
    for p in store.partnerships(team):
        if p.channel_id not in mine:
            continue
        if info is None:  # workspace admins coordinate too: ask Slack when we don't know them yet
            stamp = int(now.timestamp())
            info = known_user(store, team, user, stamp) or look_up_user(store, client, team, user, stamp)
        summary = partnership_summary(store, deps.catalog, team, p.channel_id, now=now)
        upcoming = {}
        for kind, row in store.schedules(team, p.channel_id).items():
            item = ScheduledPartnership(p, row)
            upcoming[kind] = None if p.paused_reason else next_fire(
                spec_of(item), p.timezone, now, offset_minutes=offset_of(item))
        items.append({
            "channel": p.channel_id,
            "timezone": p.timezone,
            "summary": summary,
            "covered": {s.level.id: s.covered for s in summary.levels},
            "next": upcoming,
            "paused": p.paused_reason,
            "coordinator": store.is_coordinator(team, p.channel_id, user) or bool(info and info.is_admin),
            "reflexivity_on": user not in store.reflexivity_optouts(team, p.channel_id),
        })
    client.views_publish(user_id=user, view=messages.home_view(items, deps.catalog))
