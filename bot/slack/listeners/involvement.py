"""The record of involvement in Slack: `/coprod log|payment|ledger|aim|title|changed`, the "We met" form
(who came, how long, which stage) and the "you said, we changed" form.

Rights are checked before the commands get here (bot/slack/listeners/commands.py). A person's ledger and payment
choice go only to them (and, in the export, to coordinators). A change's author is found by recomputing each
member's label (bot/store/said.py) and told in a direct message; the coordinator is never told who it was.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import involvement
from bot.domain import involvement_grammar as grammar
from bot.render import involvement_blocks as blocks
from bot.report_export import ledger_records, write_csv
from bot.reports import partnership_summary
from bot.slack import posts
from bot.slack.deps import Deps
from bot.slack.listeners.payloads import action_of, dig, ids, text
from bot.slack.people import known_user
from bot.store import Partnership
from bot.work.followups import FollowUp

log = logging.getLogger(__name__)

INVOLVEMENT_COMMANDS = (
    grammar.LogWork,
    grammar.SetRate,
    grammar.ChoosePayment,
    grammar.MarkPaid,
    grammar.ShowLedger,
    grammar.ExportLedger,
    grammar.FixLine,
    grammar.SetReportText,
    grammar.RecordChange,
)
SLACK_WORK = (grammar.ExportLedger, grammar.RecordChange)  # upload a file, open a form


def _reply(words: str, blocks_: list | None = None) -> dict:
    out: dict = {"response_type": "ephemeral", "text": words}
    if blocks_:
        out["blocks"] = blocks_
    return out


def _today(deps: Deps, p: Partnership) -> date:
    return deps.now().astimezone(ZoneInfo(p.timezone)).date()


def apply(
    deps: Deps, cmd: grammar.InvolvementCommand, user: str, p: Partnership, client: WebClient, trigger_id: str
) -> dict | None:
    store = deps.store.involvement
    today = _today(deps, p)
    if isinstance(cmd, grammar.LogWork):
        day = cmd.done_on or today
        if day > today:
            return _reply(f"{day.isoformat()} hasn't come yet here: log work on or after the day you did it.")
        store.log_work(p, user, done_on=day.isoformat(), minutes=cmd.minutes, what=cmd.what, now=deps.stamp())
        return _reply(
            f"Thank you: {involvement.hours_text(cmd.minutes)} on {day:%-d %B} is in your ledger. "
            "See it with `/coprod ledger`."
        )
    if isinstance(cmd, grammar.ShowLedger):
        words, shown = blocks.ledger_blocks(store.lines(p, user), store.rates(p), store.choices(p).get(user))
        return _reply(words, shown)
    if isinstance(cmd, grammar.FixLine):
        mine = store.lines(p, user)
        if not 1 <= cmd.number <= len(mine):
            return _reply(f"You have no line {cmd.number}: `/coprod ledger` shows your lines with their numbers.")
        line = mine[cmd.number - 1]
        store.correct_line(p, user, line.id, minutes=cmd.minutes, stage=cmd.stage or line.stage)
        return _reply(f"Done: line {cmd.number} is now {involvement.hours_text(cmd.minutes)}.")
    if isinstance(cmd, grammar.ChoosePayment):
        store.set_choice(p, user, cmd.choice)
        return _reply(
            f"Done: you'll be {involvement.CHOICE_WORDS[cmd.choice]} for your involvement here. Only you and the "
            "coordinators see this choice."
        )
    if isinstance(cmd, grammar.SetRate):
        store.set_rate(p, activity=cmd.activity, pence_per_hour=cmd.pence_per_hour, currency=cmd.currency, set_by=user)
        which = f" for {cmd.activity}" if cmd.activity else ""
        return _reply(f"Done: the rate{which} is {involvement.money_text(cmd.pence_per_hour, cmd.currency)} per hour.")
    if isinstance(cmd, grammar.MarkPaid):
        until = cmd.until or today
        n = store.mark_paid(p, cmd.user, paid_on=until.isoformat(), by=user)
        lines = "1 line" if n == 1 else f"{n} lines"
        return _reply(f"Done: {lines} of <@{cmd.user}> up to {until:%-d %B %Y} marked paid.")
    if isinstance(cmd, grammar.SetReportText):
        store.set_text(p, cmd.name, cmd.value)
        what = "involvement aim" if cmd.name == "aim" else "study title"
        return _reply(f"Done: the report will give the {what} as you wrote it.")
    if isinstance(cmd, grammar.ExportLedger):
        return _export(deps, client, user, p)
    if isinstance(cmd, grammar.RecordChange):
        comments = deps.store.said.comments(p, now=deps.stamp())
        flagged = [s.level for s in partnership_summary(deps.store, deps.catalog, p, now=deps.now()).neglected]
        if not comments and not flagged:
            return _reply(
                "There's nothing to answer yet: no comment the export shows (check-ins that closed with enough "
                "answers) and no level the summary flags. Try again after the next check-in closes."
            )
        view = blocks.change_modal(p.channel_id, comments, flagged, p.timezone)
        client.views_open(trigger_id=trigger_id, view=view)
        return None
    raise TypeError(f"unhandled command {type(cmd).__name__}")


def _name(client: WebClient, user: str) -> str | None:
    try:
        data = client.users_info(user=user)["user"]
    except SlackApiError:
        return None
    profile = data.get("profile") or {}
    return str(profile.get("real_name") or data.get("real_name") or data.get("name") or "") or None


def ledger_csv(deps: Deps, p: Partnership) -> tuple[str, int]:
    """The partnership's ledger as CSV for finance, and how many lines."""
    out = io.StringIO()
    n = write_csv(ledger_records(deps.store, p), out, involvement.LEDGER_FIELDS)
    return out.getvalue(), n


def _export(deps: Deps, client: WebClient, user: str, p: Partnership) -> dict:
    store = deps.store.involvement
    people = {line.user_id for line in store.lines(p)}
    names = {u: found for u in sorted(people) if (found := _name(client, u))}
    if names:
        store.remember_names(p, names)
    content, n = ledger_csv(deps, p)
    dm = client.conversations_open(users=user)["channel"]["id"]
    client.files_upload_v2(
        channel=dm,
        content=content,
        filename=f"coprod-ledger-{p.channel_id}.csv",
        title="coprod involvement ledger",
        initial_comment=f"Here is the involvement ledger of <#{p.channel_id}> for finance. It names people, because "
        "paying them needs names: keep it with your payment records, not with the answers.",
    )
    return _reply(f"I've sent you the ledger ({n} {'line' if n == 1 else 'lines'}) as a direct message.")


# ---- the "We met" form ----------------------------------------------------------------------------


def on_who_came(ack: Ack, body: dict, client: WebClient, respond: Respond, deps: Deps) -> None:
    """The button under a logged meeting: open the form with the person first among those who came."""
    ack()
    team, channel, user = ids(body)
    held_on = str(action_of(body).get("value", ""))
    try:
        date.fromisoformat(str(held_on))
    except ValueError:
        return
    trigger_id = text(body, "trigger_id")
    deps.followups.open_modal(
        FollowUp(
            lambda: client.views_open(trigger_id=trigger_id, view=blocks.met_modal(channel, str(held_on), user)),
            what="open the We met form",
            team=team,
            channel=channel,
            apologise=lambda: respond(text="Sorry, the form didn't open. Please try again.", replace_original=False),
        )
    )


def on_met_submit(ack: Ack, body: dict, view: dict, client: WebClient, deps: Deps) -> None:
    team, _, user = ids(body)
    channel, p = _form_partnership(deps, team, view)
    values = dig(view, "state", "values")
    day = dig(values, "day", "day", "selected_date")
    people = dig(values, "people", "people", "selected_users")
    length = dig(values, "length", "length", "value")
    stage = dig(values, "stage", "stage", "selected_option", "value")
    if p is None:
        ack(response_action="errors", errors={"day": "Sorry, I can't find this partnership any more."})
        return
    try:
        held_on = date.fromisoformat(str(day))
    except ValueError:
        ack(response_action="errors", errors={"day": "Please pick the day you met."})
        return
    if held_on > _today(deps, p) or held_on < _today(deps, p) - timedelta(days=366):
        ack(response_action="errors", errors={"day": "Please pick a day in the last year, not in the future."})
        return
    try:
        minutes = involvement.parse_duration(str(length or ""))
    except involvement.DurationError as exc:
        ack(response_action="errors", errors={"length": str(exc)})
        return
    if stage not in involvement.STAGES:
        ack(response_action="errors", errors={"stage": "Please pick the study stage."})
        return
    who = [u for u in people if isinstance(u, str)] if isinstance(people, list) else []
    if not who:
        ack(response_action="errors", errors={"people": "Please pick who came."})
        return
    deps.store.activity.log_meeting(p, held_on=held_on.isoformat(), user=user, now=deps.stamp())
    n = deps.store.involvement.log_meeting(
        p, held_on=held_on.isoformat(), minutes=minutes, stage=str(stage), people=who, logged_by=user, now=deps.stamp()
    )
    _thank(
        ack,
        f"The meeting of {held_on:%-d %B} is logged: {n} {'person' if n == 1 else 'people'}, "
        f"{involvement.hours_text(minutes)}, {stage}. Each can see and correct their own line "
        "with `/coprod ledger`.",
    )


# ---- you said, we changed ---------------------------------------------------------------------


def on_change_submit(ack: Ack, body: dict, view: dict, client: WebClient, deps: Deps) -> None:
    team, _, user = ids(body)
    channel, p = _form_partnership(deps, team, view)
    values = dig(view, "state", "values")
    said = str(dig(values, "said", "said", "selected_option", "value") or "")
    when = str(dig(values, "when", "when", "selected_date") or "")
    what = str(dig(values, "what", "what", "value") or "").strip()
    difference = str(dig(values, "difference", "difference", "value") or "").strip()
    if p is None or not deps.store.people.is_coordinator(p, user) and not _admin(deps, team, user):
        ack(response_action="errors", errors={"said": "Only this channel's coordinators can record what changed."})
        return
    try:
        changed_on = date.fromisoformat(when)
    except ValueError:
        ack(response_action="errors", errors={"when": "Please pick the day it changed."})
        return
    if not what or not difference:
        missing = "what" if not what else "difference"
        ack(response_action="errors", errors={missing: "Please write a few words here."})
        return
    comment = None
    if said.startswith("c:") and said[2:].isdigit():
        comment = deps.store.said.comment(p, int(said[2:]), now=deps.stamp())
        if comment is None:
            ack(response_action="errors", errors={"said": "Sorry, that comment isn't there any more. Pick another."})
            return
        asked_on = f"{datetime.fromtimestamp(comment.asked_at, UTC).astimezone(ZoneInfo(p.timezone)):%-d %B %Y}"
        words = blocks.said_text("comment", deps.catalog, facilitator_id=comment.facilitator_id, asked_on=asked_on)
        source = "comment"
    elif said.startswith("l:") and any(level.id == said[2:] for level in deps.catalog.levels):
        words, source = blocks.said_text("level", deps.catalog, level_id=said[2:]), "level"
    else:
        ack(response_action="errors", errors={"said": "Please pick the comment or level this answers."})
        return
    change_id = deps.store.involvement.record_change(
        p,
        changed_on=changed_on.isoformat(),
        source=source,
        said=words,
        what_changed=what,
        difference=difference,
        recorded_by=user,
        now=deps.stamp(),
    )
    _thank(
        ack,
        "Recorded. I'll post a short “You said, we changed” in the channel"
        + (" and tell whoever wrote the comment, privately. I won't tell you who it was." if comment else "."),
    )
    change = next(c for c in deps.store.involvement.changes(p) if c.id == change_id)

    def tell() -> None:
        client.chat_postMessage(channel=p.channel_id, text=blocks.change_post(change))
        if comment is None:
            return
        members = posts.channel_members(client, p.channel_id)
        author = deps.store.said.author_among(p, comment.id, members)
        if author is not None:
            dm = client.conversations_open(users=author)["channel"]["id"]
            client.chat_postMessage(channel=dm, text=blocks.change_dm(change, p.channel_id))

    deps.followups.submit(FollowUp(tell, what="post you said, we changed", team=team, channel=p.channel_id))


def _admin(deps: Deps, team: str, user: str) -> bool:
    info = known_user(deps.store, team, user, deps.stamp())
    return bool(info and info.is_admin)


def register(app: App) -> None:
    app.action(blocks.WHO_CAME)(on_who_came)
    app.view(blocks.MET_FORM)(on_met_submit)
    app.view(blocks.CHANGE_FORM)(on_change_submit)


__all__ = ["INVOLVEMENT_COMMANDS", "SLACK_WORK", "apply", "ledger_csv", "register"]


def _form_partnership(deps: Deps, team: str, view: dict) -> tuple[str, Partnership | None]:
    """The channel a form was opened for (its private_metadata) and that channel's partnership, if any."""
    try:
        channel = str(json.loads(view.get("private_metadata") or "{}").get("channel", ""))
    except (ValueError, AttributeError):
        channel = ""
    return channel, deps.store.partnerships.get(team, channel) if channel else None


def _thank(ack: Ack, words: str) -> None:
    """Answer a form's Submit by turning it into a short "Thank you" that says what was done."""
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Thank you"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [blocks.section(words)],
    }
    ack(response_action="update", view=view)
