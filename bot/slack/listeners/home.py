"""App Home: the partnerships the viewer belongs to, each level's coverage and flags, what is next, and the
coordinators' buttons ("Ask a check-in now", "Post the summary")."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import holidays
from bot.domain.schedule import next_fire, offset_of, spec_of
from bot.render import messages, overview, settings_text
from bot.render.involvement_blocks import home_line
from bot.reports import partnership_summary
from bot.slack import delivery, posts
from bot.slack.deps import Deps
from bot.slack.listeners.payloads import action_of, ids
from bot.slack.people import known_user, look_up_user, may_coordinate
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on my side and that didn't go through. Please try again in a minute."


def viewer_channels(client: WebClient, user: str) -> set[str]:
    channels: set[str] = set()
    try:
        for page in client.users_conversations(
            user=user, types="public_channel,private_channel", exclude_archived=True, limit=200
        ):
            channels.update(c["id"] for c in page.get("channels", []))
    except SlackApiError as exc:
        log.warning("users.conversations failed: %s", exc.response.get("error"))
    return channels


def publish_home(deps: Deps, client: WebClient, team: str, user: str, notes: dict[str, str] | None = None) -> None:
    """Publish ``user``'s Home; ``notes``: a line of news to show under a partnership (channel -> mrkdwn)."""
    store, now = deps.store, deps.now()
    mine = viewer_channels(client, user)
    items = []
    info = None
    for p in store.partnerships.in_workspace(team):
        if p.channel_id not in mine:
            continue
        if info is None:  # workspace admins coordinate too: ask Slack when we don't know them yet
            info = known_user(store, team, user, deps.stamp()) or look_up_user(store, client, team, user, deps.stamp())
        holiday = holidays.active(store.partnerships.pauses(p, since=deps.stamp()), deps.stamp())
        paused_until = datetime.fromtimestamp(holiday.ends_at, UTC) if holiday else None
        after = max(now, paused_until) if paused_until else now  # nothing is posted before a pause ends
        upcoming = {
            kind: None if p.paused_reason else next_fire(spec_of(s), p.timezone, after, offset_minutes=offset_of(s))
            for kind, s in store.partnerships.schedules(p).items()
        }
        items.append(
            overview.HomeItem(
                channel=p.channel_id,
                timezone=p.timezone,
                summary=partnership_summary(store, deps.catalog, p, now=now),
                next=upcoming,
                paused=p.paused_reason,
                coordinator=store.people.is_coordinator(p, user) or bool(info and info.is_admin),
                reflexivity_on=user not in store.people.reflexivity_optouts(p),
                picture=store.partnerships.picture(p),
                actions=tuple(store.plans.open_actions(p)),
                paused_until=paused_until,
                reflections=tuple(
                    store.reflections.my_reflections(p, lambda checkin: store.answers.label_for(team, checkin, user))
                ),
            )
        )
    notes = {**own_involvement(deps, team, user, [i.channel for i in items]), **(notes or {})}
    client.views_publish(user_id=user, view=overview.home_view(items, deps.catalog, notes))


def own_involvement(deps: Deps, team: str, user: str, channels: list[str]) -> dict[str, str]:
    """Each partnership's line on the person's own involvement (render/involvement_blocks.py), where they have one."""
    lines = {}
    for channel in channels:
        p = deps.store.partnerships.get(team, channel)
        if p is None:
            continue
        inv = deps.store.involvement
        line = home_line(inv.lines(p, user), inv.rates(p), inv.choices(p).get(user))
        if line:
            lines[channel] = line
    return lines


def on_home_button(ack: Ack, body: dict, client: WebClient, deps: Deps) -> None:
    ack()
    team, _, user = ids(body)
    action = action_of(body)
    channel, kind = str(action.get("value", "")), str(action.get("action_id"))
    deps.followups.submit(
        FollowUp(
            lambda: home_post(deps, client, team, user, channel, kind),
            what=f"carry out {kind} from App Home",
            team=team,
            channel=channel,
            apologise=lambda: client.chat_postMessage(channel=user, text=SORRY),
        )
    )


def home_post(deps: Deps, client: WebClient, team: str, user: str, channel: str, kind: str) -> None:
    """App Home's buttons: coordinators only, checked here on the server, whatever the payload says."""
    store = deps.store
    partnership = store.partnerships.get(team, channel)
    if partnership is None:
        return
    now = deps.stamp()
    info = known_user(store, team, user, now) or look_up_user(store, client, team, user, now)
    if not may_coordinate(store, partnership, info, user):
        client.chat_postMessage(
            channel=user,
            text=settings_text.refusal_text(
                "post check-ins and summaries from here", store.people.coordinators(partnership)
            ),
        )
        return
    # A double click posts once: both clicks claim the same one-minute slot.
    if not store.ledger.claim_post(partnership, kind=kind, fire_at=now // 60 * 60, now=now):
        return
    what = "a check-in" if kind == "home_checkin" else "the summary"
    try:
        if kind == "home_checkin":
            posts.post_checkin(deps, client, partnership)
        else:
            posts.post_summary(deps, client, partnership)
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        paused = posts.pause_for_error(deps, client, partnership, error)
        note = overview.not_posted_note(what, channel, error, paused=paused)
        client.chat_postMessage(
            channel=user, text=f"Sorry, I couldn't post in <#{channel}> ({messages.escape(error)})."
        )
    except delivery.NotPosted:
        note = overview.not_posted_note(what, channel, None)
        client.chat_postMessage(channel=user, text=note)
    else:
        note = overview.posted_note(what, channel, datetime.fromtimestamp(now, ZoneInfo(partnership.timezone)))
    try:
        publish_home(deps, client, team, user, notes={channel: note})
    except SlackApiError as exc:
        # What was asked for is done, or the person was told why not: a Home that didn't refresh is no reason for
        # a "sorry", only for saying it another way.
        log.warning("could not refresh App Home after %s: %s", kind, exc.response.get("error"))
        client.chat_postMessage(channel=user, text=note)


def register(app: App) -> None:
    app.action("home_checkin")(on_home_button)
    app.action("home_summary")(on_home_button)
