"""Button clicks on check-ins and reminders: ratings, the comment form, "We met", reflection opt-outs, forget-me.

Every click is checked against the store on the server side (the check-in belongs to this workspace
and channel, the value is a rating) before anything is written, and the answer is committed before
the acknowledgement. Replies to Slack follow it, on the follow-up workers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import date
from functools import partial

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render import messages
from bot.render.involvement_blocks import who_came_blocks
from bot.slack import reminders
from bot.slack.deps import Deps
from bot.slack.listeners import payloads
from bot.slack.listeners.home import publish_home
from bot.slack.listeners.payloads import action_of, ids
from bot.store import Answer, Checkin
from bot.store.answers import CheckinClosed
from bot.store.db import background
from bot.store.outbox import CALL, Reply
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)
RATE = re.compile(r"^rate:([0-5])$")  # 0: "Not sure yet", an answer that is in no mean
BLOCK = re.compile(r"^(checkin|reflect|nudge):(\d{1,18})$")
# A check-in's count is updated at once after a quiet second, then at most about once a second however many
# people click at once (the rest of a burst collapses into one update).
COUNT_DELAY = 1.0
REPLY_DELAY = 0.3
SORRY = "Sorry, something went wrong on my side and that didn't go through. Please try again in a minute."


def checkin_for_click(deps: Deps, body: dict) -> Checkin | None:
    """The check-in a click belongs to, or None when the payload doesn't match what we posted."""
    team, channel, _ = ids(body)
    match = BLOCK.match(str(action_of(body).get("block_id", "")))
    if not match:
        return None
    checkin = deps.store.checkins.checkin(team, int(match.group(2)))
    if checkin is None:
        return None
    if match.group(1) == "nudge":  # the reminder's DM: only for someone coprod reminded about this check-in
        reminded = checkin.kind == "checkin" and deps.store.nudges.was_reminded(team, checkin.id, ids(body)[2])
        return checkin if reminded else None
    reflexive = match.group(1) == "reflect"
    if reflexive != (checkin.kind == "reflexivity"):
        return None
    if not reflexive and checkin.channel_id != channel:
        return None
    return checkin


def _after_ack(
    deps: Deps, body: dict, what: str, run: Callable[[], object], apologise: Callable[[], object] | None = None
) -> None:
    team, channel, _ = ids(body)
    deps.followups.submit(FollowUp(run, what=what, team=team, channel=channel, apologise=apologise))


def _sorry_in_place(respond: Respond) -> Callable[[], object]:
    """What to tell someone whose click could not be followed through (an ephemeral note under it)."""
    return lambda: respond(text=SORRY, response_type="ephemeral", replace_original=False)


def on_rate(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    action = action_of(body)
    match = RATE.match(str(action.get("action_id", "")))
    checkin = checkin_for_click(deps, body)
    if not match or checkin is None or action.get("value") != match.group(1):
        log.warning("ignored a rating click that doesn't match a check-in (team %s)", ids(body)[0])
        ack()
        return
    team, _, user = ids(body)
    private = checkin.kind == "reflexivity"
    role = None if private else deps.store.people.role(checkin.partnership_id, user)
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    url = payloads.text(body, "response_url")

    def confirm(answer: Answer) -> Reply | None:
        # A double click sends one reply: the worker sends the one committed last, a moment later.
        if not url:
            return None
        text = messages.answer_recorded(
            facilitator, answer.rating, anonymous=answer.anonymous, comment=answer.comment, private=private
        )
        body = {"text": text, "response_type": "ephemeral", "replace_original": False}
        return Reply(url, body, checkin.channel_id, REPLY_DELAY)

    try:
        deps.store.answers.record_response(
            team,
            checkin.id,
            user,
            rating=int(match.group(1)),
            now=deps.stamp(),
            private=private,
            role=role,
            reply=confirm,
        )
    except CheckinClosed:
        ack()
        _refuse_closed(deps, body, client, respond, checkin)
        return
    clicked_ts = payloads.text(body, "container", "message_ts")
    if checkin.message_ts is None and not private and ids(body)[1] == checkin.channel_id and clicked_ts:
        # Its post's outcome was unknown to coprod (bot/slack/delivery.py): this click on it shows Slack has it.
        deps.store.checkins.seen_in_slack(team, checkin.id, clicked_ts)
    ack()
    if not private:
        # The message's ts may not be stored yet when a click follows the post at once; the click carries it.
        count_changed(deps, client, checkin, payloads.text(body, "container", "message_ts") or None)


def _refuse_closed(deps: Deps, body: dict, client: WebClient, respond: Respond, checkin: Checkin) -> None:
    """Tell someone kindly that the check-in they clicked has closed, and show it closed."""
    p = deps.store.partnerships.get(checkin.team_id, checkin.channel_id)
    text = messages.closed_text(checkin.closes_at, p.timezone if p else "UTC")
    _after_ack(
        deps,
        body,
        "say a check-in has closed",
        lambda: respond(text=text, response_type="ephemeral", replace_original=False),
    )
    if checkin.kind != "reflexivity":
        count_changed(deps, client, checkin, payloads.text(body, "container", "message_ts") or None)


def on_comment(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    checkin = checkin_for_click(deps, body)
    ack()
    if checkin is None:
        return
    if checkin.closed(deps.stamp()):
        _refuse_closed(deps, body, client, respond, checkin)
        return
    team, _, user = ids(body)
    trigger_id = payloads.text(body, "trigger_id")

    def open_form() -> None:
        mine = deps.store.answers.my_answer(team, checkin.id, user)
        facilitator = deps.catalog.facilitator(checkin.facilitator_id)
        client.views_open(
            trigger_id=trigger_id,
            view=messages.comment_modal(
                facilitator,
                checkin.id,
                seal=deps.store.answers.form_seal(team, user, checkin.id),
                rating=mine.rating if mine else None,
                comment=mine.comment if mine else None,
                anonymous=mine.anonymous if mine else False,
            ),
        )

    # Nothing slow is needed to fill it in (the store is local), so the whole form opens at once, on the lane
    # kept for opening modals (bot/work/followups.py): the trigger id expires 3 s after the click.
    deps.followups.open_modal(
        FollowUp(
            open_form,
            what="open the comment form",
            team=team,
            channel=checkin.channel_id,
            apologise=_sorry_in_place(respond),
        )
    )


def on_source(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    """ "Where this comes from": the paper's words for the practice, in a modal. Only a practice of our own
    catalog is shown; anything else in the value is ignored."""
    ack()
    fac_id = str(action_of(body).get("value", ""))
    try:
        facilitator = deps.catalog.facilitator(fac_id)
    except KeyError:
        return
    team, channel, _ = ids(body)
    view = messages.source_modal(deps.catalog.level(facilitator.level_id), facilitator, deps.catalog.source)
    trigger_id = payloads.text(body, "trigger_id")
    deps.followups.open_modal(
        FollowUp(
            lambda: client.views_open(trigger_id=trigger_id, view=view),
            what="show where a question comes from",
            team=team,
            channel=channel,
            apologise=_sorry_in_place(respond),
        )
    )


def on_met(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    team, channel, user = ids(body)
    try:
        day = date.fromisoformat(str(action_of(body).get("value", "")))
    except ValueError:
        ack()
        return
    partnership = deps.store.partnerships.get(team, channel)
    # A reminder's button carries its meeting's date: accept only a date near today.
    if abs((day - deps.now().date()).days) > 7 or partnership is None:
        ack()
        return
    held_on = day.isoformat()
    new = deps.store.activity.log_meeting(partnership, held_on=held_on, user=user, now=deps.stamp())
    ack()
    ts = payloads.text(body, "container", "message_ts") or payloads.text(body, "message", "ts")

    def tell() -> None:
        if new and ts:
            client.chat_update(
                channel=channel, ts=ts, text="Meeting logged", blocks=messages.meeting_logged_blocks(held_on, user)
            )
            said = "Thank you for logging the meeting. Who came, and for how long? (Their involvement is recorded.)"
            respond(text=said, blocks=who_came_blocks(said, held_on), response_type="ephemeral", replace_original=False)
        elif not new:
            respond(
                text="That meeting is already logged. Thank you!", response_type="ephemeral", replace_original=False
            )

    _after_ack(deps, body, "show that the meeting was logged", tell)


def on_forget(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    team, _, user = ids(body)
    named = deps.store.plans.naming(team, user)  # posts of actions they led or planned show their name
    counts = deps.store.answers.forget_user(team, user, now=deps.stamp())
    kept = deps.store.people.coordinates_in_workspace(team, user)  # coordinator rights stay (docs/rules.md)
    ack()
    if named:
        _after_ack(deps, body, "take a name off actions' posts", lambda: reminders.unname(deps, client, team, named))
    _after_ack(
        deps,
        body,
        "confirm an erasure",
        lambda: respond(text=messages.forgotten_text(counts, still_coordinator=kept), replace_original=True),
    )


def on_forget_cancel(ack: Ack, body: dict, respond: Respond, deps: Deps) -> None:
    ack()
    _after_ack(
        deps,
        body,
        "confirm nothing was erased",
        lambda: respond(text="Nothing was erased. Your answers are safe.", replace_original=True),
    )


def on_reflexivity(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    team, _, user = ids(body)
    action = action_of(body)
    partnership = deps.store.partnerships.get(team, str(action.get("value", "")))
    if partnership is None:
        ack()
        return
    opted_out = action.get("action_id") == "reflexivity_off"
    deps.store.people.set_reflexivity_optout(partnership, user, opted_out)
    ack()
    if payloads.text(body, "container", "type") == "view":
        _after_ack(deps, body, "refresh App Home", lambda: publish_home(deps, client, team, user))
        return
    text = (
        "Done: no more reflection prompts for you. You can turn them back on from my Home tab."
        if opted_out
        else "Done: I'll send you reflection prompts again."
    )
    _after_ack(
        deps,
        body,
        "confirm a reflection setting",
        lambda: respond(text=text, response_type="ephemeral", replace_original=False),
    )


def register(app: App) -> None:
    # Any "rate:…" click is acknowledged (a forged "rate:9" too); on_rate checks it before storing.
    app.action(re.compile(r"^rate:"))(on_rate)
    app.action("comment")(on_comment)
    app.action("source")(on_source)
    app.action("met")(on_met)
    app.action("forget_me_confirm")(on_forget)
    app.action("forget_me_cancel")(on_forget_cancel)
    app.action(re.compile(r"^reflexivity_(on|off)$"))(on_reflexivity)


def count_changed(deps: Deps, client: WebClient, checkin: Checkin, message_ts: str | None = None) -> None:
    """Queue an update of the check-in's count; updates waiting for the same check-in collapse into one."""
    deps.followups.submit_latest(
        ("count", checkin.team_id, checkin.id),
        FollowUp(
            lambda: update_count(deps, checkin, message_ts),
            what="update a check-in's count",
            team=checkin.team_id,
            channel=checkin.channel_id,
        ),
        delay=COUNT_DELAY,
        leading=True,
    )


def update_count(deps: Deps, checkin: Checkin, message_ts: str | None = None) -> None:
    """Show the new number of answers on the check-in message (never who or what)."""
    ts = checkin.message_ts or message_ts
    if not ts:
        return
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    level = deps.catalog.level(checkin.level_id)
    count = deps.store.answers.response_count(checkin.team_id, checkin.id)
    closed = checkin.closed(deps.stamp())
    # Sent by the worker (bot/runtime/sender.py), like the clicks' confirmations: not on this process's threads,
    # where it would hold up the next acknowledgement. A later count replaces one still waiting; written as
    # background work, so a click's answer never waits behind it.
    put = partial(
        deps.store.outbox.put,
        f"count:{checkin.team_id}:{checkin.id}",
        team=checkin.team_id,
        channel=checkin.channel_id,
        kind=CALL,
        target="chat.update",
        body={
            "channel": checkin.channel_id,
            "ts": ts,
            "text": messages.checkin_text(facilitator),
            "blocks": messages.checkin_blocks(level, facilitator, checkin.id, count, closed=closed),
        },
        due=time.time(),
    )
    background(put)
