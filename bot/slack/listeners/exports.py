"""The `/coprod` commands whose answer is a file sent to the person privately, in their DM: the coverage picture
(`summary picture`), the report for funders (`report`) and the export (`export`). Rights are checked before the
commands get here (bot/slack/listeners/commands.py)."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.domain import commands as grammar
from bot.domain.coverage import utc
from bot.domain.summary import DEFAULT_K
from bot.report_export import (
    ACTION_FIELDS,
    CHANGE_FIELDS,
    action_records,
    actions_note,
    change_records,
    export_note,
    export_records,
    write_csv,
)
from bot.reports import coverage_picture, partnership_report, picture_period, report_filename, report_period
from bot.slack.deps import Deps
from bot.slack.listeners.command_request import NOT_SET_UP, Reply, Request, reply
from bot.store import Partnership


def remember_name(deps: Deps, req: Request, p: Partnership) -> None:
    """The channel's name as Slack sent it with the command, so the report names the channel by it (Slack
    sends ``channel_name`` with every slash command: https://docs.slack.dev/interactivity/implementing-slash-commands).
    A private channel may come as "privategroup", which is no name."""
    name = req.channel_name
    if (
        name
        and name not in ("privategroup", "directmessage")
        and deps.store.involvement.texts(p).get("channel_name") != name
    ):
        deps.store.involvement.set_text(p, "channel_name", name)


def send_picture(deps: Deps, client: WebClient, req: Request, p: Partnership | None) -> Reply:
    if p is None:
        return reply(NOT_SET_UP)
    now = deps.now()
    start, end = picture_period(p, now)
    png, alt = coverage_picture(deps.store, deps.catalog, p, start=start, end=end, now=now)
    dm = client.conversations_open(users=req.user)["channel"]["id"]
    client.files_upload_v2(
        channel=dm,
        file=png,
        filename="coprod-coverage.png",
        title="How we looked after each level",
        alt_txt=alt,
        initial_comment=f"Here is the picture of <#{req.channel}> you asked for. Only you can see it here.",
    )
    return reply("I've sent you the picture as a direct message.")


def send_report(deps: Deps, client: WebClient, req: Request, p: Partnership, cmd: grammar.Report) -> Reply:
    now = deps.now()
    remember_name(deps, req, p)
    since = utc(cmd.since, p.timezone) if cmd.since else None
    html = partnership_report(deps.store, deps.catalog, p, now=now, since=since)
    # The period in the message and the file's name: a report since a date is told apart from the whole one.
    tz = ZoneInfo(p.timezone)
    first, last = (moment.astimezone(tz) for moment in report_period(p, since, None, now))
    whole = "" if cmd.since else " (all of it, since coprod began there)"
    dm = client.conversations_open(users=req.user)["channel"]["id"]
    client.files_upload_v2(
        channel=dm,
        content=html,
        filename=report_filename(deps.store, p, first, last),
        title=f"coprod report for funders, {first:%-d %B %Y} to {last:%-d %B %Y}",
        initial_comment=f"Here is the report of <#{req.channel}> from {first:%-d %B %Y} to {last:%-d %B %Y}{whole}: "
        "open it in a browser, fill in the boxes marked “Your words”, and print it or save it as a PDF. It names "
        "nobody and quotes no comments.",
    )
    return reply("I've sent you the report as a direct message.")


def send_export(deps: Deps, client: WebClient, req: Request) -> Reply:
    out = io.StringIO()
    now = deps.now()
    rows = write_csv(export_records(deps.store, deps.catalog, req.team, req.channel, now=now), out)
    p = deps.store.partnerships.get(req.team, req.channel)
    k = p.k if p is not None else DEFAULT_K
    note = export_note(deps.store, req.team, req.channel, now=now, k=k)
    dm = client.conversations_open(users=req.user)["channel"]["id"]
    client.files_upload_v2(
        channel=dm,
        content=out.getvalue(),
        filename=f"coprod-{req.channel}.csv",
        title="coprod answers",
        initial_comment=f"Here are the {rows} answers from <#{req.channel}>. {note}",
    )
    actions = io.StringIO()
    if write_csv(action_records(deps.store, deps.catalog, req.team, req.channel, now=now), actions, ACTION_FIELDS):
        client.files_upload_v2(
            channel=dm,
            content=actions.getvalue(),
            filename=f"coprod-actions-{req.channel}.csv",
            title="coprod actions",
            initial_comment=f"And the actions planned in <#{req.channel}>. {actions_note(k)}",
        )
    changes = io.StringIO()
    if p and write_csv(change_records(deps.store, p), changes, CHANGE_FIELDS):
        client.files_upload_v2(
            channel=dm,
            content=changes.getvalue(),
            filename=f"coprod-changes-{req.channel}.csv",
            title="coprod: you said, we changed",
            initial_comment=f"And what changed because of the team's input in <#{req.channel}>. It names nobody.",
        )
    return reply(f"I've sent you the export ({rows} {'answer' if rows == 1 else 'answers'}) as a direct message.")
