"""Reading Slack payloads that may be malformed (forged, or from a future Slack): never an exception."""

from __future__ import annotations

import re

USER_ID = re.compile(r"[UW][A-Z0-9]+")
TEAM_ID = re.compile(r"[TE][A-Z0-9]+")
# The kinds of payload coprod handles; Slack sends no other kind to an app configured as manifest.json says.
INTERACTIONS = ("block_actions", "view_submission", "view_closed")
EVENTS = ("event_callback", "url_verification")
# Slack's deepest payloads (rich text inside a message inside a click) nest about a dozen levels; anything
# far deeper is not Slack's, and code that walks it could run out of stack.
MAX_DEPTH = 64


def dig(data: object, *keys: str) -> object:
    """data[k1][k2]…, or None as soon as a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def text(data: object, *keys: str) -> str:
    """A string field, or "" when it is missing or not a string."""
    value = dig(data, *keys)
    return value if isinstance(value, str) else ""


def ids(body: dict) -> tuple[str, str, str]:
    """(workspace, channel, user) of an interaction; "" for any that is missing.

    The workspace is the one coprod is installed in, whose token answers and whose partnership it is. In a
    Slack Connect channel the person may belong to another organization (``user.team_id``); a click on a
    message names the app's workspace in ``team.id``, and a modal submitted from there names it in
    ``view.app_installed_team_id`` while ``team.id`` is the person's
    (https://docs.slack.dev/reference/interaction-payloads; Bolt's own ``extract_team_id`` reads them in this
    order, so it is the workspace Bolt authorized)."""
    team = text(body, "view", "app_installed_team_id") or text(body, "team", "id") or text(body, "user", "team_id")
    return team, text(body, "channel", "id"), text(body, "user", "id")


def action_of(body: dict) -> dict:
    """The first action of a click (Slack sends one), or {} when there is none."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def payload_problem(body: object) -> str | None:
    """Why a parsed body is not a payload coprod could have been sent, or None when it is one.

    Checks the identity of the workspace and the person (a listener must never store something under a
    bogus id) and the fields routing reads, in the types Slack sends them."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if nested_deeper_than(body, MAX_DEPTH):
        return f"nested more than {MAX_DEPTH} levels deep"
    kind = body.get("type")
    if "ssl_check" in body:  # Slack checking the certificate of a slash command's URL
        return None
    if "command" in body:
        if not isinstance(body.get("command"), str) or not isinstance(body.get("text", ""), str):
            return "command malformed"
        return _identity(body.get("team_id"), body.get("user_id"))
    if kind in INTERACTIONS:
        who, where = body.get("user"), body.get("team")
        if not isinstance(who, dict):
            return "no user"
        team = where.get("id") if isinstance(where, dict) and where.get("id") else who.get("team_id")
        return _identity(team, who.get("id")) or _interaction_shape(body)
    if kind in EVENTS:
        return _event_shape(body)
    return "not a kind of payload coprod handles"


def nested_deeper_than(data: object, limit: int) -> bool:
    """Whether lists and objects in ``data`` nest more than ``limit`` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _identity(team: object, user: object) -> str | None:
    if not (isinstance(user, str) and USER_ID.fullmatch(user)):
        return "not a user id"
    if not (isinstance(team, str) and TEAM_ID.fullmatch(team)):
        return "not a workspace id"
    return None


def _interaction_shape(body: dict) -> str | None:
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (
            isinstance(actions, list)
            and actions
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        ):
            return "actions malformed"
        return None
    view = body.get("view")
    if not (isinstance(view, dict) and isinstance(view.get("callback_id"), str) and isinstance(view.get("type"), str)):
        return "view malformed"
    return None


def _event_shape(body: dict) -> str | None:
    if body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        return "event malformed"
    if not all(isinstance(event.get(k), dict | None) for k in ("message", "previous_message")):
        return "event malformed"
    return None
