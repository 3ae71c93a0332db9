"""Reading Slack payloads that may be malformed (forged, or from a future Slack): never an exception."""

from __future__ import annotations


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
    """(workspace, channel, user) of an interaction; "" for any that is missing."""
    team = text(body, "team", "id") or text(body, "user", "team_id")
    return team, text(body, "channel", "id"), text(body, "user", "id")
