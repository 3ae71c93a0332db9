"""What a person picked in a Block Kit element, as Slack sends it to the app. Pure.

The same shapes travel in a modal's ``view.state.values`` (on Submit) and in a ``block_actions`` action (a
select, date picker, overflow or checkbox changed in a message or on App Home): per element type, its own
``selected_*`` key. Slack describes each in the Block Kit reference
(https://api.slack.com/reference/block-kit/block-elements) and in the payloads' pages
(https://api.slack.com/reference/interaction-payloads/block-actions,
https://api.slack.com/reference/interaction-payloads/views#view_submission).

The page sends the values only (an option's ``value``, a user id, ``YYYY-MM-DD``); the rest (an option's
text, whether the id is a member) comes from the element coprod sent and the workspace, never from the page.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME = re.compile(r"\d{2}:\d{2}")
SINGLE_OPTION = ("static_select", "radio_buttons", "overflow", "external_select")
MANY_OPTIONS = ("multi_static_select", "checkboxes", "multi_external_select")
# The select menus of people and conversations: the key their pick travels under, one or many.
PICKERS = {
    "users_select": ("selected_user", False),
    "multi_users_select": ("selected_users", True),
    "conversations_select": ("selected_conversation", False),
    "multi_conversations_select": ("selected_conversations", True),
    "channels_select": ("selected_channel", False),
    "multi_channels_select": ("selected_channels", True),
}


def options(element: dict[str, Any]) -> list[dict[str, Any]]:
    """An element's options, those in ``option_groups`` included, in order."""
    listed = element.get("options")
    found = [o for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
    for group in element.get("option_groups", []) if isinstance(element.get("option_groups"), list) else []:
        if isinstance(group, dict) and isinstance(group.get("options"), list):
            found.extend(o for o in group["options"] if isinstance(o, dict))
    return found


def _values(given: Any) -> list[str]:
    if isinstance(given, list):
        return [str(v) for v in given if isinstance(v, str | int)]
    return [str(given)] if isinstance(given, str | int) and str(given) else []


def entry(
    element: dict[str, Any], given: Any, *, people: Collection[str] = (), conversations: Collection[str] = ()
) -> tuple[dict[str, Any], bool]:
    """(what Slack sends for ``element`` with ``given`` picked, whether nothing was picked). A value that isn't
    one of the element's options, a member or a conversation here counts as nothing picked, as Slack's own
    menus can't offer one."""
    kind = str(element.get("type", ""))
    out: dict[str, Any] = {"type": kind}
    picked = _values(given)
    if kind in SINGLE_OPTION:
        out["selected_option"] = next((o for o in options(element) if o.get("value") in picked[:1]), None)
        return out, out["selected_option"] is None
    if kind in MANY_OPTIONS:
        out["selected_options"] = [o for o in options(element) if o.get("value") in picked]
        return out, not out["selected_options"]
    if kind in PICKERS:
        key, many = PICKERS[kind]
        known = people if kind.endswith("users_select") else conversations
        chosen = [v for v in picked if v in known]
        out[key] = chosen if many else (chosen[0] if chosen else None)
        return out, not chosen
    if kind == "datepicker":
        day = picked[0] if picked and DATE.fullmatch(picked[0]) else None
        out["selected_date"] = day
        return out, day is None
    if kind == "timepicker":
        at = picked[0] if picked and TIME.fullmatch(picked[0]) else None
        out["selected_time"] = at
        return out, at is None
    text = given if isinstance(given, str) else ""
    out["value"] = text or None
    return out, not text.strip()


def initial(element: dict[str, Any]) -> list[str]:
    """What an element shows picked before anyone touches it: its ``initial_*`` values."""
    kind = str(element.get("type", ""))
    if kind in SINGLE_OPTION:
        chosen = element.get("initial_option")
        return [str(chosen.get("value", ""))] if isinstance(chosen, dict) else []
    if kind in MANY_OPTIONS:
        chosen = element.get("initial_options")
        return [str(o.get("value", "")) for o in chosen if isinstance(o, dict)] if isinstance(chosen, list) else []
    if kind in PICKERS:
        key, many = PICKERS[kind]
        name = "initial_" + key.removeprefix("selected_")
        value = element.get(name)
        if many:
            return [str(v) for v in value] if isinstance(value, list) else []
        return [str(value)] if isinstance(value, str) and value else []
    if kind == "datepicker":
        return [str(element["initial_date"])] if isinstance(element.get("initial_date"), str) else []
    if kind == "timepicker":
        return [str(element["initial_time"])] if isinstance(element.get("initial_time"), str) else []
    return []
