"""What people do with coprod in Slack, as the tests do it: ask it something, post a check-in and read it
back, rate, comment in the modal, open App Home, read the private replies.

Each flow goes through ``bot.slack`` (HTTP or Socket Mode, whichever the test runs in) and reads what came
back from the Slack stand-in's record, so it sees what Slack would have seen.
"""

from __future__ import annotations

import itertools
import json
from typing import NamedTuple

from bot.localslack import access
from bot.localslack.client_sim import Reply
from tests.support.blockkit import block_id_of, checkin_id_of, checkin_posts, is_checkin_post
from tests.support.constants import CHANNEL, COORDINATOR, TEAM
from tests.support.slack_stub import Call
from tests.support.waiting import eventually

_keys = itertools.count(1)


# ---- /coprod ---------------------------------------------------------------------------------------


def ask(bot, text: str, user: str = COORDINATOR, channel: str = CHANNEL, timeout: float = 5.0, **kw) -> dict:
    """Run `/coprod <text>` and return the private answer, whether it came in the acknowledgement or
    afterwards through the response_url. The dict has ``text`` (and ``blocks`` when sent) plus ``_via``."""
    key = f"ask-{next(_keys)}"
    reply = bot.command(text, user=user, channel=channel, response_url=bot.stub.response_url(key), **kw)
    assert reply.status == 200, reply.text
    body = reply.json()
    if body and (body.get("text") or body.get("blocks")):
        return {**body, "_via": "ack"}
    [call] = bot.stub.wait_for("response_url", where=lambda c: c.args.get("_key") == key, timeout=timeout)
    return {**call.args, "_via": "response_url"}


def configure(bot, text: str, user: str = COORDINATOR, channel: str = CHANNEL) -> str:
    """A `/coprod` setting (a schedule, a meeting, a timezone…); the text of its private answer."""
    return ask(bot, text, user=user, channel=channel)["text"]


def replies_to(bot, key: str, count: int = 1) -> list[Call]:
    """The private replies sent to the response_url ``bot.stub.response_url(key)``, once ``count`` came."""
    return bot.stub.wait_for("response_url", count=count, where=lambda c: c.args["_key"] == key)


def listings(stub, method: str) -> int:
    """How many times coprod listed with ``method`` (users.list…): its first pages, whatever pages followed
    (Slack's pages may be short, so one listing can take several calls)."""
    return len([c for c in stub.calls_to(method) if not c.args.get("cursor")])


# ---- check-ins -------------------------------------------------------------------------------------


class Checkin(NamedTuple):
    """A check-in coprod posted: the chat.postMessage call, its id, and the block_id of its buttons."""

    call: Call
    id: int
    block_id: str

    @property
    def ts(self) -> str:
        """The posted message's ts."""
        return self.call.response["ts"]

    @property
    def blocks(self) -> list[dict]:
        return self.call.json("blocks")


def posted_checkin(bot, n: int = 1, channel: str = CHANNEL, team: str = TEAM) -> Checkin:
    """The ``n``-th check-in posted in ``channel``, once coprod has stored its message's ts (as it has by the
    time a person could click)."""
    call = bot.stub.wait_for("chat.postMessage", count=n, where=lambda c: is_checkin_post(c, channel))[n - 1]
    checkin_id = checkin_id_of(call)
    assert eventually(lambda: bot.store.checkins.checkin(team, checkin_id).message_ts == call.response["ts"])
    return Checkin(call, checkin_id, block_id_of(call, "checkin:"))


def post_checkin(bot, target: str = "", user: str = COORDINATOR, channel: str = CHANNEL, team: str = TEAM) -> Checkin:
    """`/coprod checkin [target]` from ``user`` in ``team``/``channel``; the check-in it posted."""
    before = len(checkin_posts(bot.stub, channel))
    reply = bot.command(f"checkin {target}".strip(), user=user, channel=channel, team=team)
    assert reply.status == 200
    return posted_checkin(bot, before + 1, channel, team)


def click_rating(bot, checkin_id: int, rating: int | str, user: str, **kw) -> Reply:
    """``user`` clicks rating ``rating`` on the check-in; the private reply goes to response_url key
    ``rate-<user>`` unless ``response_url`` says otherwise. Slack's reply, whatever it is."""
    kw.setdefault("response_url", bot.stub.response_url(f"rate-{user}"))
    return bot.slack.click(f"rate:{rating}", str(rating), block_id=f"checkin:{checkin_id}", user=user, **kw)


def rate(bot, checkin_id: int, rating: int, user: str, team: str = TEAM, **kw) -> Reply:
    """:func:`click_rating`, acknowledged, and stored as ``user``'s answer by the time Slack has the ack."""
    reply = click_rating(bot, checkin_id, rating, user, team=team, **kw)
    assert reply.status == 200
    assert bot.store.answers.my_answer(team, checkin_id, user).rating == rating
    return reply


# ---- the comment modal ------------------------------------------------------------------------------


def modal_values(rating: int | str | None = None, comment: str | None = None, anonymous: bool = False) -> dict:
    """Slack's state.values for the comment modal as a person filled it in."""
    selected = None
    if rating is not None:
        selected = {"text": {"type": "plain_text", "text": str(rating)}, "value": str(rating)}
    return {
        "comment": comment,
        "anonymous": ["anonymous"] if anonymous else [],
        "rating": {"rating": {"type": "radio_buttons", "selected_option": selected}},
    }


def open_comment_form(
    bot, checkin_id: int, user: str, channel: str = CHANNEL, team: str = TEAM, prefix: str = "checkin"
) -> dict:
    """``user`` clicks "Add a comment" on the check-in (``prefix="reflect"``: on a reflection prompt in their
    DM ``channel``); the modal coprod opened, checked as Slack would."""
    trigger = bot.stub.trigger(user)
    reply = bot.slack.click(
        "comment",
        "comment",
        block_id=f"{prefix}:{checkin_id}",
        user=user,
        channel=channel,
        team=team,
        trigger_id=trigger,
        response_url=bot.stub.response_url(f"comment-{user}"),
    )
    assert reply.status == 200
    [call] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    assert (call.response or {}).get("ok"), f"Slack refused the view: {call.response}"  # the stand-in's rules
    return call.json("view")


def submit_comment(
    bot,
    checkin_id: int,
    user: str,
    rating: int | str | None = None,
    comment: str | None = None,
    anonymous: bool = False,
    *,
    form: dict | None = None,
    **kw,
) -> Reply:
    """``user`` submits the comment modal of the check-in, filled in so: the ``form`` coprod opened for them,
    or (by default) one they open now by clicking "Add a comment"."""
    if "private_metadata" not in kw:
        opened = form or open_comment_form(bot, checkin_id, user, team=kw.get("team", TEAM))
        kw["private_metadata"] = opened["private_metadata"]
    return within_slacks_rules(
        bot, bot.slack.submit("comment", modal_values(rating, comment, anonymous), user=user, **kw)
    )


def within_slacks_rules(bot, reply: Reply) -> Reply:
    """``reply`` to a modal's Submit, once its ``response_action`` view (update, push) is one Slack would show:
    the stand-in's rules for views (a view Slack refuses leaves the modal as it was)."""
    try:
        body = reply.json()
    except ValueError:
        return reply
    if isinstance(body, dict) and body.get("response_action") in ("update", "push"):
        refused = access.blocks_refusal(bot.stub.workspace, "views.update", body)
        assert refused is None, f"Slack would refuse this response_action's view: {refused}"
    return reply


def forged_form(checkin_id: int) -> str:
    """The private_metadata of a comment form someone made up: the right shape, but no seal of coprod's."""
    return json.dumps({"checkin": checkin_id, "seal": "0" * 32})


# ---- App Home -----------------------------------------------------------------------------------------


def home_of(bot, user: str, count: int) -> dict:
    """The ``count``-th home view published for ``user``, validated as Slack would."""
    call = bot.stub.wait_for("views.publish", count=count, where=lambda c: c.args["user_id"] == user)[count - 1]
    assert (call.response or {}).get("ok"), f"Slack refused the view: {call.response}"  # the stand-in's rules
    return call.json("view")


def open_home(bot, user: str = COORDINATOR, team: str = TEAM) -> dict:
    """``user`` opens coprod's Home tab in ``team``; the view published for it."""
    before = len([c for c in bot.stub.calls_to("views.publish") if c.args["user_id"] == user])
    reply = bot.slack.event(
        {"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"},
        team=team,
        event_id=f"EvHome{next(_keys)}",
    )
    assert reply.status == 200
    return home_of(bot, user, before + 1)


# ---- actions (plans) ----------------------------------------------------------------------------------------


def plan_buttons_in(blocks: list[dict]) -> list[str]:
    """The values of the "Plan something" buttons in a message or view, in order."""
    found = []
    for block in blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and str(element.get("action_id", "")).startswith("plan_open"):
                found.append(element["value"])
    return found


def open_plan_form(bot, value: str, user: str, channel: str = CHANNEL, team: str = TEAM, home: bool = False) -> dict:
    """``user`` presses "Plan something" (value ``<channel>|level:<id>``) on a summary in ``channel``, or on App
    Home; the form coprod opened, checked as Slack would."""
    trigger = bot.stub.trigger(user)
    where = {"container_type": "view"} if home else {"channel": channel}
    reply = bot.slack.click("plan_open", value, user=user, team=team, trigger_id=trigger, **where)
    assert reply.status == 200
    [call] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    assert (call.response or {}).get("ok"), f"Slack refused the view: {call.response}"  # the stand-in's rules
    view = call.json("view")
    if home:  # a waiting modal opens at once; the form follows once coprod has checked the person's channels
        view = filled_in(bot, call.response["view"]["id"])
        assert view.get("callback_id") == "plan", view
    return view


def filled_in(bot, view_id: str) -> dict:
    """What the modal ``view_id`` was updated to (views.update), once Slack took it (the stand-in's rules)."""
    [call] = bot.stub.wait_for("views.update", where=lambda c: c.args.get("view_id") == view_id)
    assert (call.response or {}).get("ok"), f"Slack refused the view: {call.response}"
    return call.json("view")


def plan_values(
    what: str | None = "Take turns chairing our meetings",
    practice: str | None = "power-imbalances",
    lead: str | None = None,
    due: str | None = None,
) -> dict:
    """Slack's state.values for the plan form as a person filled it in."""
    option = {"text": {"type": "plain_text", "text": practice}, "value": practice} if practice else None
    return {
        "what": {"what": {"type": "plain_text_input", "value": what}},
        "practice": {"practice": {"type": "static_select", "selected_option": option}},
        "lead": {"lead": {"type": "users_select", "selected_user": lead}},
        "due": {"due": {"type": "datepicker", "selected_date": due}},
    }


def submit_plan(bot, form: dict, user: str, team: str = TEAM, **values) -> Reply:
    """``user`` submits the plan ``form`` coprod opened for them, filled in with ``values`` (see plan_values)."""
    return within_slacks_rules(
        bot,
        bot.slack.submit(
            "plan", plan_values(**values), user=user, team=team, private_metadata=form["private_metadata"]
        ),
    )


def plan(bot, user: str = "U3", value: str = f"{CHANNEL}|level:group", **values) -> int:
    """``user`` plans an action from a summary's button; its id, once coprod has posted it in the channel."""
    before = len(action_posts(bot.stub))
    form = open_plan_form(bot, value, user)
    reply = submit_plan(bot, form, user, **values)
    assert reply.status == 200 and not (reply.json() or {}).get("errors"), reply.text
    call = bot.stub.wait_for("chat.postMessage", count=before + 1, where=_is_action_post)[before]
    action_id = int(call.json("metadata")["event_payload"]["action"])
    assert eventually(lambda: bot.store.plans.get(TEAM, action_id).message_ts == call.response["ts"])
    return action_id


def _is_action_post(call: Call, channel: str = CHANNEL) -> bool:
    return call.args.get("channel") == channel and "action" in call.json("metadata", {}).get("event_payload", {})


def action_posts(stub, channel: str = CHANNEL) -> list:
    """The posts of planned actions in ``channel`` (their metadata names the action)."""
    return [c for c in stub.calls_to("chat.postMessage") if _is_action_post(c, channel)]


def change_action(bot, action_id: int, what: str, user: str, *, date: str | None = None, **kw) -> Reply:
    """``user`` presses Done or Drop (``what``: "done", "drop") or picks a new date ("later", ``date``) on an action."""
    if what == "later":
        extra = {"action": {"type": "datepicker", "selected_date": date}}
        return bot.slack.click("action_later", None, block_id=f"action:{action_id}", user=user, **extra, **kw)
    return bot.slack.click(f"action_{what}", str(action_id), block_id=f"action:{action_id}", user=user, **kw)


def message_in(bot, channel: str = CHANNEL, text: str = "A meeting reminder") -> str:
    """The ts of a message coprod has in ``channel`` (put there directly, no call recorded), for a click on a
    message Slack has: Slack updates only messages it keeps (chat.update of another is message_not_found)."""
    stub = bot.stub
    return stub.workspace.add_message(channel, stub.api.bot_message({"text": text}, stub.workspace.next_ts()))["ts"]
