"""The posts the bot makes on its own: check-ins, summaries, meeting reminders, reflection prompts.

Used by slash commands and by the scheduler alike. A Slack error that means the channel is gone or
closed to us pauses the partnership's schedules and tells its coordinators once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages, rotation
from bot.catalog import Catalog, Facilitator, Level
from bot.followups import FollowUps
from bot.reports import partnership_summary
from bot.store import Store

PAUSE_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel", "account_inactive"})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    """What every listener and job needs: the store, the catalog and the clock."""

    store: Store
    catalog: Catalog
    clock: object  # () -> aware datetime in UTC
    identity: dict = field(default_factory=dict)  # the bot's own user id, learned on first need
    followups: FollowUps = field(default_factory=FollowUps)  # replies that follow an acknowledgement

    def now(self) -> datetime:
        return self.clock()  # type: ignore[operator]

    def bot_user(self, client: WebClient) -> str | None:
        if "user" not in self.identity:
            try:
                self.identity["user"] = client.auth_test()["user_id"]
            except SlackApiError:
                return None
        return self.identity["user"]


def _ts(when: datetime) -> int:
    return int(when.timestamp())


def choose_facilitator(deps: Deps, team: str, channel: str, target: Level | Facilitator | None,
                       *, scheduled: bool) -> tuple[Facilitator, bool]:
    """The facilitator to ask about, and whether it was the coordinator's pin.

    A pin (`/coprod next …`) is for the next *scheduled* check-in; one asked by hand leaves it alone."""
    history = deps.store.last_asked(team, channel)
    if target is not None:
        return rotation.next_facilitator(deps.catalog, history, pinned=target.id), False
    partnership = deps.store.partnership(team, channel)
    pinned = partnership.pinned if partnership and scheduled else None
    return rotation.next_facilitator(deps.catalog, history, pinned=pinned), bool(pinned)


def post_checkin(deps: Deps, client: WebClient, team: str, channel: str,
                 target: Level | Facilitator | None = None, *, scheduled: bool = False) -> int:
    """Ask the channel about the next facilitator (or the one chosen); returns the check-in id."""
    facilitator, used_pin = choose_facilitator(deps, team, channel, target, scheduled=scheduled)
    level = deps.catalog.level(facilitator.level_id)
    checkin_id = deps.store.record_checkin(team, channel, facilitator_id=facilitator.id, level_id=level.id,
                                           asked_at=_ts(deps.now()))
    try:
        reply = client.chat_postMessage(channel=channel, text=messages.checkin_text(facilitator),
                                        blocks=messages.checkin_blocks(level, facilitator, checkin_id, 0))
    except SlackApiError:
        deps.store.delete_checkin(team, checkin_id)
        raise
    deps.store.set_checkin_message(team, checkin_id, reply["ts"])
    if used_pin:  # only once the team has really been asked
        deps.store.set_pin(team, channel, None)
    refresh_members(deps, client, team, channel)
    return checkin_id


def channel_members(client: WebClient, channel: str) -> list[str]:
    members: list[str] = []
    for page in client.conversations_members(channel=channel, limit=200):
        members.extend(page.get("members", []))
    return members


def refresh_members(deps: Deps, client: WebClient, team: str, channel: str) -> list[str]:
    """Remember how many people are in the channel (for participation); bots don't count."""
    try:
        bot = deps.bot_user(client)
        members = [m for m in channel_members(client, channel) if m != bot]
    except SlackApiError as exc:
        log.warning("conversations.members failed for team %s channel %s: %s", team, channel,
                    exc.response.get("error"))
        return []
    deps.store.set_member_count(team, channel, len(members))
    return members


def post_summary(deps: Deps, client: WebClient, team: str, channel: str, *, title: str | None = None,
                 weeks: int | None = None, level_id: str | None = None) -> None:
    partnership = deps.store.partnership(team, channel)
    result = partnership_summary(deps.store, deps.catalog, team, channel, now=deps.now(), weeks=weeks,
                                 level_id=level_id)
    if partnership is None or result is None:
        return
    client.chat_postMessage(channel=channel, text=messages.summary_text(result),
                            blocks=messages.summary_blocks(result, partnership.timezone, title=title))


def post_meeting_reminder(deps: Deps, client: WebClient, team: str, channel: str, meeting_at: datetime,
                          remind: int) -> None:
    partnership = deps.store.partnership(team, channel)
    tz = partnership.timezone if partnership else "UTC"
    # A reminder posted late (after downtime) says how long is really left, not the configured lead time.
    minutes_left = min(remind, max(0, int((meeting_at - deps.now()).total_seconds() // 60)))
    client.chat_postMessage(channel=channel, text="Your team meeting is coming up",
                            blocks=messages.meeting_reminder_blocks(meeting_at, tz, minutes_left))


def reflexivity_facilitator(deps: Deps, team: str, channel: str) -> Facilitator:
    """The reflexivity facilitator and its kin at the same level, least recently prompted first."""
    tagged = deps.catalog.tagged("reflexivity")
    level_id = tagged[0].level_id if tagged else deps.catalog.levels[0].id
    kin = list(tagged) + [f for f in deps.catalog.in_level(level_id) if f not in tagged]
    return rotation.least_recently_asked(kin, deps.store.last_asked(team, channel, kind="reflexivity"))


def send_reflexivity(deps: Deps, client: WebClient, team: str, channel: str) -> int:
    """DM each member (who hasn't opted out) a private reflection prompt; returns how many were sent.

    If Slack won't list the channel's members, the round fails (and the scheduler pauses or retries it)."""
    bot = deps.bot_user(client)
    members = [m for m in channel_members(client, channel) if m != bot and is_person(client, m)]
    deps.store.set_member_count(team, channel, len(members))
    opted_out = deps.store.reflexivity_optouts(team, channel)
    facilitator = reflexivity_facilitator(deps, team, channel)
    level = deps.catalog.level(facilitator.level_id)
    checkin_id = deps.store.record_checkin(team, channel, facilitator_id=facilitator.id, level_id=level.id,
                                           asked_at=_ts(deps.now()), kind="reflexivity")
    sent = 0
    for member in members:
        if member in opted_out:
            continue
        try:
            client.chat_postMessage(channel=member,
                                    text=f"A moment to reflect: {messages.escape(facilitator.prompt)}",
                                    blocks=messages.checkin_blocks(level, facilitator, checkin_id, 0,
                                                                   reflexive_channel=channel))
            sent += 1
        except SlackApiError as exc:
            log.warning("a reflection prompt for team %s channel %s could not be sent: %s", team, channel,
                        exc.response.get("error"))
    return sent


def is_person(client: WebClient, user: str) -> bool:
    """Not another app's bot and not a deactivated account (when Slack can't say, assume a person)."""
    try:
        data = client.users_info(user=user)["user"]
    except SlackApiError:
        return True
    return not (data.get("is_bot") or data.get("deleted") or user == "USLACKBOT")


def pause_for_error(deps: Deps, client: WebClient, team: str, channel: str, error: str) -> bool:
    """Pause a partnership whose channel Slack won't let us post to, telling coordinators once."""
    if error not in PAUSE_ERRORS:
        return False
    partnership = deps.store.partnership(team, channel)
    if partnership is None or partnership.paused_reason:
        return True
    deps.store.set_paused(team, channel, error)
    log.warning("paused the schedules of team %s channel %s: %s", team, channel, error)
    for coordinator in deps.store.coordinators(team, channel):
        try:
            client.chat_postMessage(channel=coordinator, text=messages.paused_text(channel, error))
        except SlackApiError as exc:
            log.warning("could not tell a coordinator of team %s channel %s about the pause: %s", team, channel,
                        exc.response.get("error"))
    return True


def utcnow() -> datetime:
    return datetime.now(UTC)
