"""Who someone is to coprod: their timezone, and whether they may change a partnership's settings.

Coordinators are whoever first configured the channel, people added with `/coprod coordinators
add`, and the workspace's admins and owners (as Slack's users.info reports them). What Slack tells
us is kept for a day, so most commands are answered without a call to Slack.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.store import Partnership, Store, UserInfo

FRESH_SECONDS = 86_400
log = logging.getLogger(__name__)


def known_user(store: Store, team: str, user: str, now: int) -> UserInfo | None:
    """What we already know of a person, when it is fresh enough to act on without asking Slack."""
    info = store.people.user(team, user)
    if info is None or now - info.fetched_at > FRESH_SECONDS:
        return None
    return info


def look_up_user(store: Store, client: WebClient, team: str, user: str, now: int) -> UserInfo:
    """Ask Slack who someone is (timezone, admin) and remember it. Falls back to 'not an admin'."""
    try:
        data = client.users_info(user=user)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for a user of team %s: %s", team, exc.response.get("error"))
        cached = store.people.user(team, user)
        return cached or UserInfo(user, None, False, now)
    is_admin = bool(data.get("is_admin") or data.get("is_owner") or data.get("is_primary_owner"))
    store.people.remember_user(team, user, timezone=data.get("tz"), is_admin=is_admin, now=now)
    return UserInfo(user, data.get("tz"), is_admin, now)


def may_coordinate(store: Store, partnership: Partnership | None, info: UserInfo | None, user: str) -> bool | None:
    """True or False when we can tell from what we know; None when Slack must be asked first."""
    if partnership is None:
        return True  # whoever configures a channel first becomes its coordinator
    if store.people.is_coordinator(partnership, user):
        return True
    if info is None:
        return None
    return info.is_admin
