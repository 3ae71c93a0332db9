"""The comment modal: a rating, an optional comment (up to 2,000 characters), and anonymity."""

from __future__ import annotations

import hmac
import json
import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.render import messages
from bot.slack.deps import Deps
from bot.slack.listeners.actions import count_changed
from bot.slack.listeners.payloads import dig, ids
from bot.store.answers import CheckinClosed

log = logging.getLogger(__name__)


def parse_submission(view: dict) -> tuple[int | None, str, int | None, str | None, bool]:
    """(checkin id, seal, rating, comment, anonymous) from a submitted modal; None or "" where absent or malformed."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        checkin_id = int(meta["checkin"]) if isinstance(meta, dict) else None
        seal = str(meta.get("seal", "")) if isinstance(meta, dict) else ""
    except (ValueError, KeyError, TypeError):
        checkin_id, seal = None, ""
    if checkin_id is not None and not 0 < checkin_id < 2**63:  # not a row id SQLite could hold
        checkin_id = None
    values = dig(view, "state", "values")
    rating_text = dig(values, "rating", "rating", "selected_option", "value")
    rating = int(rating_text) if rating_text in ("0", "1", "2", "3", "4", "5") else None  # 0: "Not sure yet"
    comment = dig(values, "comment", "comment", "value")
    comment = comment.strip() if isinstance(comment, str) else None
    boxes = dig(values, "anonymous", "anonymous", "selected_options")
    anonymous = isinstance(boxes, list) and any(isinstance(o, dict) and o.get("value") == "anonymous" for o in boxes)
    return checkin_id, seal, rating, comment or None, anonymous


def _thanks(text: str) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Thank you"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def on_comment_submit(ack: Ack, body: dict, view: dict, client: WebClient, deps: Deps) -> None:
    team, _, user = ids(body)
    answers = deps.store.answers
    checkin_id, seal, rating, comment, anonymous = parse_submission(view)
    checkin = deps.store.checkins.checkin(team, checkin_id) if checkin_id is not None else None
    # Only a form coprod opened for this person on this check-in carries its seal: a form edited to name
    # another check-in (another channel's, say) is refused.
    if checkin is None or not hmac.compare_digest(seal, answers.form_seal(team, user, checkin.id)):
        log.warning("refused a comment form that doesn't match one coprod opened (team %s)", team)
        ack(response_action="errors", errors={"comment": "Sorry, I can't find that check-in any more."})
        return
    if checkin.closed(deps.stamp()):
        p = deps.store.partnerships.get(team, checkin.channel_id)
        ack(
            response_action="errors",
            errors={"comment": messages.closed_text(checkin.closes_at, p.timezone if p else "UTC")},
        )
        return
    if comment and len(comment) > messages.COMMENT_MAX:
        ack(response_action="errors", errors={"comment": f"Please keep it under {messages.COMMENT_MAX} characters."})
        return
    if rating is None and answers.my_answer(team, checkin.id, user) is None:
        ack(response_action="errors", errors={"rating": "Please pick a rating from 1 to 5, or “Not sure yet”."})
        return
    private = checkin.kind == "reflexivity"
    role = None if private or anonymous else deps.store.people.role(checkin.partnership_id, user)
    try:
        answer = answers.record_response(
            team,
            checkin.id,
            user,
            rating=rating,
            comment=comment or "",
            anonymous=anonymous,
            now=deps.stamp(),
            private=private,
            role=role,
        )
    except CheckinClosed as closed:
        p = deps.store.partnerships.get(team, checkin.channel_id)
        ack(
            response_action="errors",
            errors={"comment": messages.closed_text(closed.closed_at, p.timezone if p else "UTC")},
        )
        return
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    ack(
        response_action="update",
        view=_thanks(
            messages.answer_recorded(
                facilitator, answer.rating, anonymous=answer.anonymous, comment=answer.comment, private=private
            )
        ),
    )
    if not private:
        count_changed(deps, client, checkin)


def failed_form_reply(view: object, words: str) -> dict:
    """The answer to a submitted form that coprod couldn't handle: ``words`` beside its first input, so the form
    stays open with what the person typed. Slack shows ``errors`` only under input blocks of the submitted view,
    and refuses a reply naming any other block (https://docs.slack.dev/surfaces/modals#displaying_errors): the
    block is read from the view itself, since each form has its own. A form with no input is replaced by one
    saying so."""
    view = view if isinstance(view, dict) else {}
    blocks = view.get("blocks")
    inputs = [
        b["block_id"]
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("block_id"), str)
    ]
    if not inputs:  # as Slack sends it back, state.values is keyed by the view's input blocks
        values = dig(view, "state", "values")
        inputs = [k for k in values if isinstance(k, str)] if isinstance(values, dict) else []
    if inputs:
        return {"response_action": "errors", "errors": {inputs[0]: words}}
    return {"response_action": "update", "view": _sorry(words)}


def _sorry(text: str) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Sorry"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def register(app: App) -> None:
    app.view("comment")(on_comment_submit)
