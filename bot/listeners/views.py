"""The comment modal: a rating, an optional comment (up to 2,000 characters), and anonymity."""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from bot import messages
from bot.listeners.actions import count_changed
from bot.listeners.payloads import dig, ids
from bot.posts import Deps

log = logging.getLogger(__name__)


def parse_submission(view: dict) -> tuple[int | None, int | None, str | None, bool]:
    """(checkin id, rating, comment, anonymous) from a submitted modal; None where absent or malformed."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        checkin_id = int(meta["checkin"]) if isinstance(meta, dict) else None
    except (ValueError, KeyError, TypeError):
        checkin_id = None
    values = dig(view, "state", "values")
    rating_text = dig(values, "rating", "rating", "selected_option", "value")
    rating = int(rating_text) if rating_text in ("1", "2", "3", "4", "5") else None
    comment = dig(values, "comment", "comment", "value")
    comment = comment.strip() if isinstance(comment, str) else None
    boxes = dig(values, "anonymous", "anonymous", "selected_options")
    anonymous = isinstance(boxes, list) and any(isinstance(o, dict) and o.get("value") == "anonymous" for o in boxes)
    return checkin_id, rating, comment or None, anonymous


def _thanks(text: str) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Thank you"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def register(app: App, deps: Deps) -> None:
    store = deps.store

    def submit(ack, body, view, client):
        team, _, user = ids(body)
        checkin_id, rating, comment, anonymous = parse_submission(view)
        checkin = store.checkin(team, checkin_id) if checkin_id is not None else None
        if checkin is None:
            return ack(response_action="errors", errors={"comment": "Sorry, I can't find that check-in any more."})
        if comment and len(comment) > messages.COMMENT_MAX:
            return ack(response_action="errors",
                       errors={"comment": f"Please keep it under {messages.COMMENT_MAX} characters."})
        if rating is None and store.my_answer(team, checkin.id, user) is None:
            return ack(response_action="errors", errors={"rating": "Please pick a rating from 1 to 5."})
        private = checkin.kind == "reflexivity"
        role = None if private else store.roles(team, checkin.channel_id).get(user)
        answer = store.record_response(team, checkin.id, user, rating=rating, comment=comment or "",
                                       anonymous=anonymous, now=int(deps.now().timestamp()), private=private,
                                       role=None if anonymous else role)
        facilitator = deps.catalog.facilitator(checkin.facilitator_id)
        ack(response_action="update", view=_thanks(messages.answer_recorded(
            facilitator, answer.rating, anonymous=answer.anonymous, comment=answer.comment, private=private)))
        if not private:
            count_changed(deps, client, checkin)

    app.view("comment")(submit)
