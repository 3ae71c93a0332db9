"""What Slack sends from a workspace of an Enterprise Grid organization, and from a Slack Connect channel.

``bot.localslack.signed`` builds what a plain workspace sends; these take its bodies and add what Slack adds:

- A Grid workspace: Slack names its organization in every request (``enterprise_id`` in a slash command,
  ``enterprise``/``team.enterprise_id`` in an interaction, ``enterprise_id`` in an event's envelope and its
  ``authorizations``), and Bolt finds the workspace's installation by both ids
  (https://api.slack.com/enterprise/apps/reference).
- A Slack Connect channel: an event's envelope ``team_id`` is the workspace where it happened (another
  organization's), while ``authorizations[0]`` names the installation the event is delivered for, whose token
  answers it (https://docs.slack.dev/apis/slack-connect, https://docs.slack.dev/apis/events-api).
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.localslack.signed import command_body, event_body

_keys = itertools.count(1)


def grid_command(text: str, *, enterprise: str, **kw: Any) -> tuple[bytes, str]:
    """A slash command from a workspace of the Grid organization ``enterprise``."""
    body, content_type = command_body(text, **kw)
    fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    fields.update(enterprise_id=enterprise, enterprise_name=f"Organization {enterprise}")
    return urlencode(fields).encode("utf-8"), content_type


def grid_event(event: dict[str, Any], *, enterprise: str, **kw: Any) -> tuple[bytes, str]:
    """An event from a workspace of the Grid organization ``enterprise``."""
    body, content_type = event_body(event, **kw)
    envelope = json.loads(body)
    envelope["enterprise_id"] = enterprise
    envelope["authorizations"][0]["enterprise_id"] = enterprise
    return json.dumps(envelope).encode("utf-8"), content_type


def connect_event(event: dict[str, Any], *, installed_in: str, happened_in: str, **kw: Any) -> tuple[bytes, str]:
    """An event in a Slack Connect channel, done by someone of workspace ``happened_in`` and delivered for
    coprod's installation in ``installed_in``."""
    body, content_type = event_body({**event, "user_team": happened_in, "team": happened_in}, team=happened_in, **kw)
    envelope = json.loads(body)
    envelope["authorizations"][0]["team_id"] = installed_in
    envelope["is_ext_shared_channel"] = True
    return json.dumps(envelope).encode("utf-8"), content_type


def grid_ask(bot, text: str, *, enterprise: str, team: str, user: str, channel: str) -> dict:
    """``/coprod <text>`` typed in a Grid workspace: its private answer (in the acknowledgement or through the
    response_url), as ``tests.support.flows.ask`` reads it."""
    key = f"grid-ask-{next(_keys)}"
    built = grid_command(
        text, enterprise=enterprise, team=team, user=user, channel=channel, response_url=bot.stub.response_url(key)
    )
    reply = bot.slack.send(*built)
    assert reply.status == 200, reply.text
    answer = reply.json()
    if answer and (answer.get("text") or answer.get("blocks")):
        return answer
    [call] = bot.stub.wait_for("response_url", where=lambda c: c.args.get("_key") == key)
    return dict(call.args)


def connect_interaction(built: tuple[bytes, str], *, installed_in: str, happened_in: str) -> tuple[bytes, str]:
    """A click or a modal's submission (built for ``installed_in``) by someone of workspace ``happened_in`` in
    a Slack Connect channel: ``user.team_id`` is theirs. A click on coprod's message names coprod's workspace in
    ``team.id``; a modal names the person's there, and coprod's in ``view.app_installed_team_id``."""
    body, content_type = built
    fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    payload = json.loads(fields["payload"])
    payload["user"]["team_id"] = happened_in
    if payload["type"] in ("view_submission", "view_closed"):
        payload["team"]["id"] = happened_in
        payload["view"]["app_installed_team_id"] = installed_in
    fields["payload"] = json.dumps(payload)
    return urlencode(fields).encode("utf-8"), content_type
