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
from slack_sdk.errors import SlackApiError

from bot import messages, posts
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


def register(app: App, deps: Deps) -> None:
    store = deps.store

    def rate_ack(ack, body, client, respond):
        action = _action(body)
        match = RATE.match(str(action.get("action_id", "")))
        checkin = checkin_for_click(deps, body)
        if not match or checkin is None or action.get("value") != match.group(1):
            log.warning("ignored a rating click that doesn't match a check-in")
            return ack()
        team, _, user = ids(body)
        private = checkin.kind == "reflexivity"
        role = None if private else store.roles(team, checkin.channel_id).get(user)
        answer = store.record_response(team, checkin.id, user, rating=int(match.group(1)),
                                       now=int(deps.now().timestamp()), private=private, role=role)
        ack()
        # The hot path: replies go to coprod's own follow-up workers rather than a Bolt lazy listener,
        # which would copy the whole request before answering Slack.
        facilitator = deps.catalog.facilitator(checkin.facilitator_id)
        text = messages.answer_recorded(facilitator, answer.rating, anonymous=answer.anonymous,
                                        comment=answer.comment, private=private)
        # A double click sends one reply (the latest): replies to one person's clicks on one check-in
        # wait a moment and replace each other.
        deps.followups.submit_latest(("reply", team, checkin.id, user), lambda: respond(
            text=text, response_type="ephemeral", replace_original=False), delay=REPLY_DELAY)
        if not private:
            # The message's ts may not be stored yet when a click follows the post at once; the click carries it.
            message_ts = payloads.text(body, "container", "message_ts") or None
            count_changed(deps, client, checkin, message_ts)

    def comment_open(body, client):
        checkin = checkin_for_click(deps, body)
        if checkin is None:
            return
        team, _, user = ids(body)
        mine = store.my_answer(team, checkin.id, user)
        facilitator = deps.catalog.facilitator(checkin.facilitator_id)
        client.views_open(trigger_id=body.get("trigger_id", ""), view=messages.comment_modal(
            facilitator, checkin.id, rating=mine.rating if mine else None, comment=mine.comment if mine else None,
            anonymous=mine.anonymous if mine else False))

    def met_ack(ack, body, context):
        team, channel, user = ids(body)
        value = str(_action(body).get("value", ""))
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return ack()
        # A reminder's button carries its meeting's date: accept only a date near today.
        if abs((day - deps.now().date()).days) > 7:
            return ack()
        held_on = day.isoformat()
        if store.partnership(team, channel) is None:
            return ack()
        context["coprod_met"] = {"held_on": held_on,
                                 "new": store.log_meeting(team, channel, held_on=held_on, user=user,
                                                          now=int(deps.now().timestamp()))}
        ack()

    def met_reply(body, context, client, respond):
        done = context.get("coprod_met")
        if not done:
            return
        _, channel, user = ids(body)
        if done["new"]:
            ts = payloads.text(body, "container", "message_ts") or payloads.text(body, "message", "ts")
            if ts:
                client.chat_update(channel=channel, ts=ts, text="Meeting logged",
                                   blocks=messages.meeting_logged_blocks(done["held_on"], user))
        else:
            respond(text="That meeting is already logged. Thank you!", response_type="ephemeral",
                    replace_original=False)

    def forget_ack(ack, body, context):
        team, _, user = ids(body)
        context["coprod_forgotten"] = store.forget_user(team, user)
        ack()

    def forget_reply(context, respond):
        counts = context.get("coprod_forgotten")
        if counts is not None:
            respond(text=messages.forgotten_text(counts), replace_original=True)

    def forget_cancel(respond):
        respond(text="Nothing was erased. Your answers are safe.", replace_original=True)

    def reflexivity_toggle(ack, body, context):
        team, _, user = ids(body)
        action = _action(body)
        channel = str(action.get("value", ""))
        if store.partnership(team, channel) is None:
            return ack()
        opted_out = action.get("action_id") == "reflexivity_off"
        store.set_reflexivity_optout(team, channel, user, opted_out)
        context["coprod_reflexivity"] = {"channel": channel, "off": opted_out}
        ack()

    def reflexivity_reply(body, context, client, respond):
        done = context.get("coprod_reflexivity")
        if not done:
            return
        team, _, user = ids(body)
        if payloads.text(body, "container", "type") == "view":
            publish_home(deps, client, team, user)
            return
        text = ("Done: no more reflection prompts for you. You can turn them back on from my Home tab."
                if done["off"] else "Done: I'll send you reflection prompts again.")
        respond(text=text, response_type="ephemeral", replace_original=False)

    def home_action(body, client):
        """App Home buttons: coordinators only, checked here on the server, whatever the payload says."""
        team, _, user = ids(body)
        action = _action(body)
        channel = str(action.get("value", ""))
        if store.partnership(team, channel) is None:
            return
        now = int(deps.now().timestamp())
        info = known_user(store, team, user, now) or look_up_user(store, client, team, user, now)
        if not may_coordinate(store, team, channel, info, user):
            client.chat_postMessage(channel=user, text=messages.refusal_text(
                "post check-ins and summaries from here", store.coordinators(team, channel)))
            return
        kind = str(action.get("action_id"))
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

    # Any "rate:…" click is acknowledged (a forged "rate:9" too); rate_ack checks it before storing.
    app.action(re.compile(r"^rate:"))(rate_ack)
    app.action("comment")(ack=lambda ack: ack(), lazy=[comment_open])
    app.action("met")(ack=met_ack, lazy=[met_reply])
    app.action("forget_me_confirm")(ack=forget_ack, lazy=[forget_reply])
    app.action("forget_me_cancel")(ack=lambda ack: ack(), lazy=[forget_cancel])
    app.action(re.compile(r"^reflexivity_(on|off)$"))(ack=reflexivity_toggle, lazy=[reflexivity_reply])
    app.action(re.compile(r"^home_(checkin|summary)$"))(ack=lambda ack: ack(), lazy=[home_action])


def count_changed(deps: Deps, client, checkin: Checkin, message_ts: str | None = None) -> None:
    """Queue an update of the check-in's count; updates waiting for the same check-in collapse into one."""
    deps.followups.submit_latest(("count", checkin.team_id, checkin.id),
                                 lambda: update_count(deps, client, checkin, message_ts), delay=COUNT_DELAY)


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
        log.warning("could not update a check-in's count: %s", exc.response.get("error"))
