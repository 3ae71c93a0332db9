"""Button clicks: ratings, comments, "We met", reflection opt-outs, forget-me, App Home actions.

Every click is checked against the store on the server side (the check-in belongs to this workspace
and channel, the value is a rating, the clicker may do this) before anything is written, and the
answer is committed before the acknowledgement. Replies to Slack come after it.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages, posts
from bot.followups import FollowUp
from bot.listeners import payloads
from bot.listeners.home import publish_home
from bot.listeners.payloads import ids
from bot.people import known_user, look_up_user, may_coordinate
from bot.posts import Deps
from bot.store import Checkin

log = logging.getLogger(__name__)
RATE = re.compile(r"^rate:([1-5])$")
BLOCK = re.compile(r"^(checkin|reflect):(\d{1,18})$")
# A check-in's count is updated at most about once a second, however many people click at once.
COUNT_DELAY = 1.0
REPLY_DELAY = 0.3
SORRY = "Sorry, something went wrong on my side and that didn't go through. Please try again in a minute."


def _action(body: dict) -> dict:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def checkin_for_click(deps: Deps, body: dict) -> Checkin | None:
    """The check-in a click belongs to, or None when the payload doesn't match what we posted."""
    team, channel, _ = ids(body)
    match = BLOCK.match(str(_action(body).get("block_id", "")))
    if not match:
        return None
    checkin = deps.store.checkin(team, int(match.group(2)))
    if checkin is None:
        return None
    reflexive = match.group(1) == "reflect"
    if reflexive != (checkin.kind == "reflexivity"):
        return None
    if not reflexive and checkin.channel_id != channel:
        return None
    return checkin


def sorry_in_place(respond):
    """What to tell someone whose click could not be followed through (an ephemeral note under it)."""
    return lambda: respond(text=SORRY, response_type="ephemeral", replace_original=False)


def register(app: App, deps: Deps) -> None:
    store = deps.store

    def after_ack(body: dict, what: str, run, apologise=None) -> None:
        team, channel, _ = ids(body)
        deps.followups.submit(FollowUp(run, what=what, team=team, channel=channel, apologise=apologise))

    def on_rate(ack, body, client, respond):
        action = _action(body)
        match = RATE.match(str(action.get("action_id", "")))
        checkin = checkin_for_click(deps, body)
        if not match or checkin is None or action.get("value") != match.group(1):
            log.warning("ignored a rating click that doesn't match a check-in (team %s)", ids(body)[0])
            return ack()
        team, _, user = ids(body)
        private = checkin.kind == "reflexivity"
        role = None if private else store.roles(team, checkin.channel_id).get(user)
        answer = store.record_response(team, checkin.id, user, rating=int(match.group(1)),
                                       now=int(deps.now().timestamp()), private=private, role=role)
        ack()
        facilitator = deps.catalog.facilitator(checkin.facilitator_id)
        text = messages.answer_recorded(facilitator, answer.rating, anonymous=answer.anonymous,
                                        comment=answer.comment, private=private)
        # A double click sends one reply (the latest): replies to one person's clicks on one check-in
        # wait a moment and replace each other.
        deps.followups.submit_latest(("reply", team, checkin.id, user), FollowUp(
            lambda: respond(text=text, response_type="ephemeral", replace_original=False),
            what="confirm a rating", team=team, channel=checkin.channel_id), delay=REPLY_DELAY)
        if not private:
            # The message's ts may not be stored yet when a click follows the post at once; the click carries it.
            message_ts = payloads.text(body, "container", "message_ts") or None
            count_changed(deps, client, checkin, message_ts)

    def on_comment(ack, body, client, respond):
        checkin = checkin_for_click(deps, body)
        ack()
        if checkin is None:
            return
        team, _, user = ids(body)
        trigger_id = payloads.text(body, "trigger_id")

        def open_modal():
            mine = store.my_answer(team, checkin.id, user)
            facilitator = deps.catalog.facilitator(checkin.facilitator_id)
            client.views_open(trigger_id=trigger_id, view=messages.comment_modal(
                facilitator, checkin.id, rating=mine.rating if mine else None,
                comment=mine.comment if mine else None, anonymous=mine.anonymous if mine else False))

        after_ack(body, "open the comment form", open_modal, sorry_in_place(respond))

    def on_met(ack, body, client, respond):
        team, channel, user = ids(body)
        try:
            day = date.fromisoformat(str(_action(body).get("value", "")))
        except ValueError:
            return ack()
        # A reminder's button carries its meeting's date: accept only a date near today.
        if abs((day - deps.now().date()).days) > 7 or store.partnership(team, channel) is None:
            return ack()
        held_on = day.isoformat()
        new = store.log_meeting(team, channel, held_on=held_on, user=user, now=int(deps.now().timestamp()))
        ack()
        ts = payloads.text(body, "container", "message_ts") or payloads.text(body, "message", "ts")

        def tell():
            if new and ts:
                client.chat_update(channel=channel, ts=ts, text="Meeting logged",
                                   blocks=messages.meeting_logged_blocks(held_on, user))
            elif not new:
                respond(text="That meeting is already logged. Thank you!", response_type="ephemeral",
                        replace_original=False)

        after_ack(body, "show that the meeting was logged", tell)

    def on_forget(ack, body, respond):
        team, _, user = ids(body)
        counts = store.forget_user(team, user)
        ack()
        after_ack(body, "confirm an erasure", lambda: respond(text=messages.forgotten_text(counts),
                                                             replace_original=True))

    def on_forget_cancel(ack, body, respond):
        ack()
        after_ack(body, "confirm nothing was erased", lambda: respond(
            text="Nothing was erased. Your answers are safe.", replace_original=True))

    def on_reflexivity(ack, body, client, respond):
        team, _, user = ids(body)
        action = _action(body)
        channel = str(action.get("value", ""))
        if store.partnership(team, channel) is None:
            return ack()
        opted_out = action.get("action_id") == "reflexivity_off"
        store.set_reflexivity_optout(team, channel, user, opted_out)
        ack()
        if payloads.text(body, "container", "type") == "view":
            after_ack(body, "refresh App Home", lambda: publish_home(deps, client, team, user))
            return
        text = ("Done: no more reflection prompts for you. You can turn them back on from my Home tab."
                if opted_out else "Done: I'll send you reflection prompts again.")
        after_ack(body, "confirm a reflection setting", lambda: respond(
            text=text, response_type="ephemeral", replace_original=False))

    def on_home_button(ack, body, client):
        ack()
        team, _, user = ids(body)
        action = _action(body)
        channel, kind = str(action.get("value", "")), str(action.get("action_id"))
        deps.followups.submit(FollowUp(
            lambda: home_post(deps, client, team, user, channel, kind), what=f"carry out {kind} from App Home",
            team=team, channel=channel,
            apologise=lambda: client.chat_postMessage(channel=user, text=SORRY)))

    # Any "rate:…" click is acknowledged (a forged "rate:9" too); on_rate checks it before storing.
    app.action(re.compile(r"^rate:"))(on_rate)
    app.action("comment")(on_comment)
    app.action("met")(on_met)
    app.action("forget_me_confirm")(on_forget)
    app.action("forget_me_cancel")(on_forget_cancel)
    app.action(re.compile(r"^reflexivity_(on|off)$"))(on_reflexivity)
    app.action(re.compile(r"^home_(checkin|summary)$"))(on_home_button)


def home_post(deps: Deps, client: WebClient, team: str, user: str, channel: str, kind: str) -> None:
    """App Home's buttons: coordinators only, checked here on the server, whatever the payload says."""
    store = deps.store
    if store.partnership(team, channel) is None:
        return
    now = int(deps.now().timestamp())
    info = known_user(store, team, user, now) or look_up_user(store, client, team, user, now)
    if not may_coordinate(store, team, channel, info, user):
        client.chat_postMessage(channel=user, text=messages.refusal_text(
            "post check-ins and summaries from here", store.coordinators(team, channel)))
        return
    # A double click posts once: both clicks claim the same one-minute slot.
    if not store.claim_post(team, channel, kind=kind, fire_at=now // 60 * 60, now=now):
        return
    try:
        if kind == "home_checkin":
            posts.post_checkin(deps, client, team, channel)
        else:
            posts.post_summary(deps, client, team, channel)
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        posts.pause_for_error(deps, client, team, channel, error)
        client.chat_postMessage(channel=user,
                                text=f"Sorry, I couldn't post in <#{channel}> ({messages.escape(error)}).")
    publish_home(deps, client, team, user)


def count_changed(deps: Deps, client, checkin: Checkin, message_ts: str | None = None) -> None:
    """Queue an update of the check-in's count; updates waiting for the same check-in collapse into one."""
    deps.followups.submit_latest(("count", checkin.team_id, checkin.id), FollowUp(
        lambda: update_count(deps, client, checkin, message_ts), what="update a check-in's count",
        team=checkin.team_id, channel=checkin.channel_id), delay=COUNT_DELAY)


def update_count(deps: Deps, client, checkin: Checkin, message_ts: str | None = None) -> None:
    """Show the new number of answers on the check-in message (never who or what)."""
    ts = checkin.message_ts or message_ts
    if not ts:
        return
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    level = deps.catalog.level(checkin.level_id)
    count = deps.store.response_count(checkin.team_id, checkin.id)
    try:
        client.chat_update(channel=checkin.channel_id, ts=ts, text=messages.checkin_text(facilitator),
                           blocks=messages.checkin_blocks(level, facilitator, checkin.id, count))
    except SlackApiError as exc:
        log.warning("could not update a check-in's count for team %s channel %s: %s", checkin.team_id,
                    checkin.channel_id, exc.response.get("error"))
