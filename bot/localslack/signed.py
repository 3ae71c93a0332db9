"""Slack's requests to an app, built and signed exactly as Slack builds and signs them.

The local workspace sends coprod its slash commands, clicks, modal submissions and events with these, and
the tests send theirs. Builders return ``(body: bytes, content_type: str)``; ``client_sim``'s :func:`post` signs and
sends them, and its :class:`SlackClientSim` does both against an app's ``/slack/events`` endpoint.

Slack signs ``v0:<timestamp>:<raw body>`` with HMAC-SHA256 keyed by the app's signing secret and sends
``X-Slack-Request-Timestamp`` and ``X-Slack-Signature: v0=<hex digest>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
APP_ID = "A1"
VERIFICATION_TOKEN = "verification-token"
BOT_USER_ID = "UBOT"
# Slack always sends a response_url. When a test does not give one, point at a closed loopback port so
# a forgotten respond() fails fast instead of reaching the internet.
DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/commands/T1/1/no-response-url-given"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack sends with ``body``: X-Slack-Request-Timestamp and X-Slack-Signature."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def _domain(team: str) -> str:
    return f"{team.lower()}-workspace"


def _channel_name(channel: str) -> str:
    return "directmessage" if channel.startswith("D") else "partnership"


def form_payload(payload: Any) -> tuple[bytes, str]:
    """An interaction's body as Slack posts it: the payload's JSON in the form field ``payload``."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8"), FORM


def payload_of(body: bytes) -> Any:
    """The JSON in the ``payload`` field of a form-encoded interaction body (what :func:`form_payload` encoded)."""
    return json.loads(parse_qs(body.decode("utf-8"))["payload"][0])


def command_body(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    command: str = "/coprod",
    response_url: str | None = None,
    trigger_id: str = "t1",
    user_name: str = "ann",
    channel_name: str | None = None,
) -> tuple[bytes, str]:
    """A slash command, form-encoded as Slack posts it."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "team_domain": _domain(team),
        "channel_id": channel,
        "channel_name": channel_name or _channel_name(channel),
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or DEFAULT_RESPONSE_URL,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode("utf-8"), FORM


def action_body(
    action_id: str,
    value: str | None,
    *,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    message_ts: str = "1700000000.000100",
    response_url: str | None = None,
    block_id: str = "b",
    trigger_id: str = "t1",
    container_type: str = "message",
    user_name: str = "ann",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    is_ephemeral: bool = False,
    view_id: str = "VHOME",
    view_callback_id: str = "",
    action: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """A ``block_actions`` payload for a button click, form-encoded as ``payload=<json>``.

    ``container_type="message"`` (default): a button in a channel message (``is_ephemeral`` for an
    ephemeral one). ``container_type="view"``: a button on the App Home tab (no channel/message).
    ``action`` is merged into the action object (e.g. ``{"type": "static_select", "selected_option": ...}``).
    """
    act: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        act["value"] = value
    if action:
        act.update(action)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": team},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": {"id": team, "domain": _domain(team)},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if container_type == "view":
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {
            "id": view_id,
            "team_id": team,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": view_callback_id,
            "state": {"values": {}},
            "hash": "1700000000.abcdef",
            "external_id": "",
            "app_id": APP_ID,
            "bot_id": "BBOT",
            "root_view_id": view_id,
            "previous_view_id": None,
        }
    else:
        payload["container"] = {
            "type": container_type,
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel, "name": _channel_name(channel)}
        if not is_ephemeral:
            payload["message"] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": "BBOT",
                "ts": message_ts,
                "text": message_text,
                "blocks": list(message_blocks or []),
                "team": team,
            }
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url or DEFAULT_RESPONSE_URL
    payload["actions"] = [act]
    return form_payload(payload)


def _nest_values(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Accept Slack's nested state.values as is; expand shorthand ``{block_id: "text" | [options]}``.

    Shorthand uses the block_id as action_id too: a str becomes a plain_text_input value, a list of
    str becomes checkboxes ``selected_options``, None an empty plain_text_input.
    """
    nested: dict[str, dict[str, Any]] = {}
    for block_id, entry in values.items():
        if isinstance(entry, dict):
            nested[block_id] = entry
        elif isinstance(entry, list):
            nested[block_id] = {
                block_id: {
                    "type": "checkboxes",
                    "selected_options": [
                        {"text": {"type": "plain_text", "text": str(v)}, "value": str(v)} for v in entry
                    ],
                }
            }
        else:
            nested[block_id] = {block_id: {"type": "plain_text_input", "value": entry}}
    return nested


def view_submission_body(
    callback_id: str,
    values: dict[str, Any],
    *,
    private_metadata: str = "",
    user: str = "U1",
    team: str = "T1",
    view_id: str = "V1",
    user_name: str = "ann",
    trigger_id: str = "t1",
    view: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """A ``view_submission`` payload (a modal's Submit), form-encoded as ``payload=<json>``.

    ``values`` is Slack's ``state.values``: ``{block_id: {action_id: {"type": ..., "value": ...}}}``
    (or ``selected_options``/``selected_option`` etc.); see :func:`_nest_values` for the shorthand.
    ``view``: the view as it was opened (its blocks, title, buttons), as Slack sends it back.
    """
    shown = view or {}
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team, "domain": _domain(team)},
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": team},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "blocks": shown.get("blocks", []),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": _nest_values(values)},
            "hash": shown.get("hash", "1700000000.abcdef"),
            "title": shown.get("title", {"type": "plain_text", "text": "coprod"}),
            "clear_on_close": bool(shown.get("clear_on_close", False)),
            "notify_on_close": bool(shown.get("notify_on_close", False)),
            "close": shown.get("close"),
            "submit": shown.get("submit", {"type": "plain_text", "text": "Submit"}),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": team,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return form_payload(payload)


def event_body(
    event: dict[str, Any],
    *,
    team: str = "T1",
    event_id: str = "Ev1",
    event_time: int | None = None,
    authorizing_team: str | None = None,
    enterprise: str | None = None,
    authorizations: list[dict[str, Any]] | None = None,
) -> tuple[bytes, str]:
    """An Events API ``event_callback`` envelope around ``event``, as JSON.

    In a Slack Connect channel the envelope's ``team_id`` is the team the event happened in, which may not be
    the one that installed the app: that one is ``authorizations[0].team_id`` (``authorizing_team``), and
    ``is_ext_shared_channel`` is true (https://docs.slack.dev/apis/events-api/, "authorizations";
    https://api.slack.com/apis/channels-between-orgs). ``enterprise``: the Enterprise Grid org of the installation;
    ``authorizations`` replaces the whole list."""
    owner = authorizing_team or team
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": authorizations
        if authorizations is not None
        else [
            {
                "enterprise_id": enterprise,
                "team_id": owner,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": owner != team,
        "event_context": f"4-{event_id}",
    }
    return json.dumps(envelope).encode("utf-8"), JSON


def url_verification_body(challenge: str) -> tuple[bytes, str]:
    """The Events API URL-verification handshake."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode("utf-8"), JSON
