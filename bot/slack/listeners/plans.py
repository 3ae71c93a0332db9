"""Actions: "Plan something" opens the form, the form plans the action (posted to the channel), and Done,
Not yet (a new date) and Drop change it.

Anyone in the channel may plan; a button from App Home names its channel, so the person's membership is
checked with Slack before the form is shown (a waiting modal opens at once, within the click's 3 s), and the
form carries a keyed seal on (person, channel, this one form, when it was issued) that its submission must
match: it expires after SEAL_LIFETIME, and a form once planned from can't be submitted again.
Only the action's owner (whoever leads or planned it) or a coordinator may change it, checked here whatever
the payload says. Writes are committed before the acknowledgement.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import plans, rotation
from bot.domain.catalog import Facilitator
from bot.domain.plans import Action, PlanError
from bot.render import messages, plan_blocks
from bot.render.blocks import section
from bot.slack import reminders
from bot.slack.deps import Deps
from bot.slack.listeners.payloads import USER_ID, action_of, dig, ids, text
from bot.slack.people import known_user, look_up_user, may_coordinate
from bot.store import Partnership
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)
BLOCK = re.compile(r"^action:(\d{1,18})$")
SORRY = "Sorry, something went wrong on my side and that didn't go through. Please try again in a minute."
GONE = "Sorry, I can't plan this one any more: please press “Plan something” again."
NOT_MEMBER = "Only people in <#{channel}> can plan something for it. Ask someone there to add you to the channel."
UNCHECKED = (
    "Sorry, I couldn't check with Slack just now that you're in <#{channel}>, so I can't show the form yet. "
    "Please close this and press “Plan something” again in a minute."
)


# How long a plan form's seal holds: a form left open longer is refused kindly (press the button again).
SEAL_LIFETIME = 24 * 3600
_spent: dict[str, int] = {}  # forms planned from (form id -> when its seal expires), so none is used twice
_spent_lock = threading.Lock()


def _mac(deps: Deps, team: str, user: str, channel: str, form: str, issued: int) -> str:
    # "#" and "|" never occur in a user id, channel id, form id or number: the fields can't run into each other.
    return deps.store.answers.responder_key(team, f"{user}#plan|{channel}|{form}|{issued}")


def seal(deps: Deps, team: str, user: str, channel: str) -> str:
    """A keyed seal on one plan form: ``form.issued.mac``, a fresh form id, when it was issued, and a keyed
    hash over them with the person and channel. Only the one form coprod opened for this person and channel
    carries it, and only until it expires."""
    form, issued = secrets.token_hex(8), deps.stamp()
    return f"{form}.{issued}.{_mac(deps, team, user, channel, form, issued)}"


def unseal(deps: Deps, team: str, user: str, channel: str, sealed: str) -> str | None:
    """The form id a submitted seal names, if it is this person's, for this channel, unexpired and unspent."""
    form, _, rest = sealed.partition(".")
    issued_text, _, mac = rest.partition(".")
    if not form or not issued_text.isdigit() or len(issued_text) > 12:
        return None
    issued = int(issued_text)
    if not hmac.compare_digest(mac, _mac(deps, team, user, channel, form, issued)):
        return None
    now = deps.stamp()
    if not issued <= now < issued + SEAL_LIFETIME:
        return None
    with _spent_lock:
        if form in _spent:
            return None
    return form


def spend(deps: Deps, form: str) -> bool:
    """Claim the form for the one plan it may make: False if it already made one (a second submission)."""
    now = deps.stamp()
    with _spent_lock:
        for old in [f for f, until in _spent.items() if until <= now]:
            del _spent[old]  # past its seal's life: the seal alone refuses it now
        if form in _spent:
            return False
        _spent[form] = now + SEAL_LIFETIME
        return True


def _say(respond: Respond, words: str, *, replace: bool = False) -> Callable[[], object]:
    return lambda: respond(text=words, response_type="ephemeral", replace_original=replace)


def _later(deps: Deps, body: dict, what: str, run: Callable[[], object], respond: Respond | None = None) -> None:
    team, channel, _ = ids(body)
    apologise = _say(respond, SORRY) if respond else None
    deps.followups.submit(FollowUp(run, what=what, team=team, channel=channel, apologise=apologise))


# ---- "Plan something" and the form ---------------------------------------------------------------------------


def preselect(deps: Deps, p: Partnership, kind: str, ident: str) -> Facilitator:
    """The practice a button pre-selects: the flagged one, or the level's least recently asked."""
    catalog = deps.catalog
    if kind == "practice":
        try:
            return catalog.facilitator(ident)
        except KeyError:
            pass
    history = deps.store.activity.last_asked(p)
    if kind == "level" and ident in {level.id for level in catalog.levels}:
        return rotation.next_in_level(catalog, ident, history, p.size)
    return rotation.next_facilitator(catalog, history, size=p.size)


def on_plan_open(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    ack()
    team, clicked_in, user = ids(body)
    parsed = plan_blocks.parse_plan_value(str(action_of(body).get("value", "")))
    from_home = text(body, "container", "type") == "view"
    if parsed is None or (not from_home and parsed[0] != clicked_in):
        log.warning("ignored a Plan something click that doesn't match a summary (team %s)", team)
        return
    channel, kind, ident = parsed
    p = deps.store.partnerships.get(team, channel)
    if p is None:
        return
    trigger_id = text(body, "trigger_id")

    def form() -> dict:
        selected = preselect(deps, p, kind, ident)
        return plan_blocks.plan_modal(
            deps.catalog, selected=selected, channel=channel, seal=seal(deps, team, user, channel)
        )

    def open_form() -> None:
        # The modal opens first, within the trigger's 3 s (https://docs.slack.dev/interactivity/handling-user-
        # interaction#modal_responses); a click on a summary came from the channel, so the whole form can. A
        # click on Home must first be checked against the person's channels (pages of users.conversations), so a
        # waiting modal opens and the form, or why not, follows with views.update on the follow-up workers.
        if not from_home:
            client.views_open(trigger_id=trigger_id, view=form())
            return
        opened = client.views_open(trigger_id=trigger_id, view=plan_blocks.waiting_modal(channel))["view"]
        view_id, view_hash = str(opened["id"]), str(opened.get("hash") or "")

        def fill() -> None:
            try:
                member = in_channel(client, user, channel)
            except SlackApiError as exc:
                log.warning("could not check a person's channels (team %s): %s", team, exc.response.get("error"))
                _show(client, view_id, view_hash, plan_blocks.notice_modal(UNCHECKED.format(channel=channel)))
                return
            if not member:
                _show(client, view_id, view_hash, plan_blocks.notice_modal(NOT_MEMBER.format(channel=channel)))
                return
            _show(client, view_id, view_hash, form())

        deps.followups.submit(
            FollowUp(
                fill,
                what="fill in the plan form",
                team=team,
                channel=channel,
                apologise=lambda: client.views_update(view_id=view_id, view=plan_blocks.notice_modal(SORRY)),
            )
        )

    apologise = (lambda: client.chat_postMessage(channel=user, text=SORRY)) if from_home else _say(respond, SORRY)
    deps.followups.open_modal(
        FollowUp(open_form, what="open the plan form", team=team, channel=channel, apologise=apologise)
    )


def in_channel(client: WebClient, user: str, channel: str) -> bool:
    """Whether ``user`` is in ``channel``, from their channels' pages (stops at the page naming it). Slack's
    refusal is raised: it is not an answer."""
    for page in client.users_conversations(
        user=user, types="public_channel,private_channel", exclude_archived=True, limit=200
    ):
        if any(c.get("id") == channel for c in page.get("channels", [])):
            return True
    return False


def _show(client: WebClient, view_id: str, view_hash: str, view: dict) -> None:
    """Replace the waiting modal. ``hash`` makes Slack refuse if the modal changed meanwhile
    (https://docs.slack.dev/reference/methods/views.update): then, or when the person closed it, there is
    nothing left to fill in."""
    try:
        client.views_update(view_id=view_id, hash=view_hash or None, view=view)
    except SlackApiError as exc:
        if exc.response.get("error") not in ("hash_conflict", "not_found"):
            raise
        log.info("the plan form was closed or changed before it was filled in: %s", exc.response.get("error"))


def _submitted(view: dict) -> dict[str, str | None]:
    values = dig(view, "state", "values")
    found = {
        "what": dig(values, "what", "what", "value"),
        "practice": dig(values, "practice", "practice", "selected_option", "value"),
        "lead": dig(values, "lead", "lead", "selected_user"),
        "due": dig(values, "due", "due", "selected_date"),
    }
    return {k: v if isinstance(v, str) else None for k, v in found.items()}


def on_plan_submit(ack: Ack, body: dict, view: dict, client: WebClient, deps: Deps) -> None:
    team, _, user = ids(body)
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        channel, sealed = str(meta["channel"]), str(meta["seal"])
    except (ValueError, KeyError, TypeError):
        channel, sealed = "", ""
    p = deps.store.partnerships.get(team, channel) if channel else None
    form = unseal(deps, team, user, channel, sealed) if p is not None else None
    if p is None or form is None:
        log.warning("refused a plan form that doesn't match one coprod opened (team %s)", team)
        ack(response_action="errors", errors={"what": GONE})
        return
    got = _submitted(view)
    today = deps.now().astimezone(ZoneInfo(p.timezone)).date()
    errors: dict[str, str] = {}
    try:
        what = plans.check_what(got["what"])
    except PlanError as exc:
        errors["what"] = str(exc)
    try:
        facilitator = deps.catalog.facilitator(got["practice"] or "")
    except KeyError:
        errors["practice"] = "Please pick a practice from the list."
    lead = got["lead"]
    if lead is not None and not USER_ID.fullmatch(lead):
        errors["lead"] = "Please pick a person from the list, or leave it empty."
    try:
        due = plans.check_due(got["due"], today=today)
    except PlanError as exc:
        errors["due"] = str(exc)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    if not spend(deps, form):
        log.warning("refused a plan form submitted a second time (team %s)", team)
        ack(response_action="errors", errors={"what": GONE})
        return
    action = deps.store.plans.plan(
        p,
        what=what,
        facilitator_id=facilitator.id,
        level_id=facilitator.level_id,
        lead=lead,
        due_on=due,
        planned_by=user,
        now=deps.stamp(),
    )
    ack()

    def post() -> None:
        try:
            reminders.post_action(deps, client, p, action)
        except SlackApiError as exc:
            client.chat_postMessage(
                channel=user,
                text=f"I saved your plan, but couldn't post it in <#{channel}> "
                f"({messages.escape(str(exc.response.get('error', '')))}). `/coprod actions` there lists it.",
            )

    deps.followups.submit(
        FollowUp(
            post,
            what="post a planned action",
            team=team,
            channel=channel,
            apologise=lambda: client.chat_postMessage(channel=user, text=SORRY),
        )
    )


# ---- Done, Not yet, Drop ------------------------------------------------------------------------------------------


def _clicked_action(deps: Deps, body: dict) -> Action | None:
    team = ids(body)[0]
    act = action_of(body)
    match = BLOCK.match(str(act.get("block_id", "")))
    if not match or (act.get("type") != "datepicker" and act.get("value") != match.group(1)):
        return None
    return deps.store.plans.get(team, int(match.group(1)))


def on_change(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    """Done, Drop or a new date, from the channel post, `/coprod actions` or the due-date follow-up."""
    team, _, user = ids(body)
    action = _clicked_action(deps, body)
    p = deps.store.partnerships.get(team, action.channel_id) if action else None
    if action is None or p is None:
        ack()
        return
    store = deps.store
    allowed = action.owned_by(user) or may_coordinate(store, p, known_user(store, team, user, deps.stamp()), user)
    if allowed:
        change(deps, body, client, respond, p, action)  # committed before the acknowledgement
        ack()
        return
    ack()

    def after_asking_slack() -> None:
        info = look_up_user(store, client, team, user, deps.stamp())
        if allowed is None and info.is_admin:
            change(deps, body, client, respond, p, action)
        else:
            respond(
                text="Sorry, only whoever leads or planned this action, and coordinators, can change it. "
                f"Coordinators here: {messages.people(store.people.coordinators(p))} (and workspace admins).",
                response_type="ephemeral",
                replace_original=False,
            )

    _later(deps, body, "change an action", after_asking_slack, respond)


def change(deps: Deps, body: dict, client: WebClient, respond: Respond, p: Partnership, action: Action) -> None:
    """Carry out the click (its write now), and hand what Slack must show to the follow-up workers."""
    team, _, user = ids(body)
    act = action_of(body)
    kind = str(act.get("action_id"))
    today = deps.now().astimezone(ZoneInfo(p.timezone)).date()
    if kind == "action_later":
        try:
            due = date.fromisoformat(str(act.get("selected_date", "")))
        except ValueError:
            return
        if not today < due <= today + timedelta(days=plans.DUE_MAX_DAYS):
            _later(deps, body, "refuse a date", _say(respond, "Please pick a date after today, within a year."))
            return
        changed = deps.store.plans.move_due(team, action.id, due, by=user, now=deps.stamp())
        words = f"Thank you! I'll check in again on {plan_blocks.day(due, today)}. Good luck with it."
    else:
        status = "done" if kind == "action_done" else "dropped"
        changed = deps.store.plans.close(team, action.id, status, by=user, now=deps.stamp())
        words = (
            "Well done, and thank you! I'll ask the team about this practice at the next scheduled check-in, "
            "so the summary can show whether it helped."
            if status == "done"
            else "Done: I've dropped it. Trying something and letting it go is part of learning together."
        )
    if changed is None:
        _later(deps, body, "say an action was already closed", _say(respond, "That action was already closed."))
        return
    on_post = text(body, "container", "message_ts") == (action.message_ts or "") and bool(action.message_ts)
    listing = bool(dig(body, "container", "is_ephemeral"))

    def show() -> None:
        reminders.show_action(deps, client, p, changed)
        if listing:
            actions = deps.store.plans.open_actions(p)
            boss = bool(may_coordinate(deps.store, p, known_user(deps.store, team, user, deps.stamp()), user))
            mine = [a.id for a in actions if boss or a.owned_by(user)]
            blocks = plan_blocks.actions_list_blocks(actions, deps.catalog, today, may_change=mine)
            respond(text=words, blocks=[section(words), *blocks], replace_original=True)
        elif not on_post:  # the follow-up, in a direct message or the channel: it becomes the answer
            line = plan_blocks.action_line(changed, deps.catalog, today)
            respond(text=words, blocks=[section(f"{line}\n{words}")], replace_original=True)

    _later(deps, body, "show what became of an action", show, respond)


def register(app: App) -> None:
    app.action(re.compile(r"^plan_open(:\d+)?$"))(on_plan_open)
    app.view("plan")(on_plan_submit)
    app.action(re.compile(r"^action_(done|drop|later)$"))(on_change)
