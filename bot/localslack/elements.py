"""Block Kit's interactive elements other than buttons, as HTML controls for the local workspace's page. Pure.

Select menus (of options, option groups, the workspace's members or its conversations, one or many), date and
time pickers, checkboxes, radio buttons and overflow menus, each showing its ``initial_*`` pick
(https://api.slack.com/reference/block-kit/block-elements). In a modal's input block the page reads them on
Submit; in an actions block or as a section's accessory a change is sent at once, as Slack sends a
``block_actions`` payload for it (``data-act="choose"``). Every text is escaped here (``slacktext.esc``).
"""

from __future__ import annotations

import itertools
from typing import Any

from bot.localslack import picked
from bot.localslack.slacktext import Names, esc, plain, text_object

CHOICES = ("radio_buttons", "checkboxes")
MENUS = ("static_select", "multi_static_select", "external_select", "multi_external_select", *picked.PICKERS)
PICKERS = ("datepicker", "timepicker")
SHOWN = (*CHOICES, *MENUS, *PICKERS, "overflow")
# What a control is called when the element has no placeholder (for screen readers, and Slack's own wording).
UNNAMED = {"datepicker": "Select a date", "timepicker": "Select time", "overflow": "More options"}
_serial = itertools.count(1)  # the same block can be in several messages: each control's id is its own


def _listed(el: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = el.get(key)
    return [o for o in found if isinstance(o, dict)] if isinstance(found, list) else []


def _option(option: dict[str, Any], chosen: list[str]) -> str:
    value = str(option.get("value", ""))
    selected = " selected" if value in chosen else ""
    return f'<option value="{esc(value)}"{selected}>{esc(plain(option.get("text")))}</option>'


def _menu_options(el: dict[str, Any], names: Names, chosen: list[str]) -> str:
    kind = str(el.get("type", ""))
    if kind.endswith("users_select"):
        listed = names.people()
    elif kind.endswith(("conversations_select", "channels_select")):
        listed = names.conversations()
    else:
        out = [_option(o, chosen) for o in _listed(el, "options")]
        groups = el.get("option_groups")
        for group in groups if isinstance(groups, list) else []:
            if isinstance(group, dict):
                inner = "".join(_option(o, chosen) for o in _listed(group, "options"))
                out.append(f'<optgroup label="{esc(plain(group.get("label")))}">{inner}</optgroup>')
        return "".join(out)
    return "".join(
        f'<option value="{esc(ident)}"{" selected" if ident in chosen else ""}>{esc(name)}</option>'
        for ident, name in listed
    )


def control(el: dict[str, Any], names: Names, attrs: str, field_id: str = "") -> str:
    """The HTML control for element ``el`` (one of ``SHOWN``), with ``attrs`` on it (or on its group)."""
    kind = str(el.get("type", ""))
    chosen = picked.initial(el)
    placeholder = plain(el.get("placeholder")) or UNNAMED.get(kind, "Choose…")
    if kind in MENUS:
        many = kind.startswith("multi_")
        first = "" if many else f'<option value="">{esc(placeholder)}</option>'
        size = ' multiple size="5"' if many else ""
        return f"<select {attrs}{size}>{first}{_menu_options(el, names, chosen)}</select>"
    if kind in PICKERS:
        what = "date" if kind == "datepicker" else "time"
        value = f' value="{esc(chosen[0])}"' if chosen else ""
        return f'<input type="{what}" {attrs}{value}>'
    if kind == "overflow":
        items = "".join(_option(o, []) for o in _listed(el, "options"))
        return f'<select {attrs}><option value="">⋯</option>{items}</select>'
    # radio buttons and checkboxes
    choose = "radio" if kind == "radio_buttons" else "checkbox"
    group = field_id or "choice"
    labels = []
    for n, option in enumerate(_listed(el, "options")):
        value = str(option.get("value", ""))
        checked = " checked" if value in chosen else ""
        described = ""
        if "description" in option:
            described = f'<span class="sk-description">{text_object(option["description"], names)}</span>'
        labels.append(
            f'<label class="sk-choice"><input type="{choose}" name="{esc(group)}" value="{esc(value)}" '
            f'id="{esc(group)}-{n}"{checked}> <span>{text_object(option.get("text"), names)}</span>{described}</label>'
        )
    return "".join(labels)


def interactive(el: dict[str, Any], block_id: str, names: Names) -> str:
    """An element in an actions block or a section's accessory: changing it is sent at once."""
    kind = str(el.get("type", ""))
    field_id = f"el-{next(_serial)}"
    data = (
        f'data-act="choose" data-block-id="{esc(block_id)}" data-action-id="{esc(el.get("action_id", ""))}" '
        f'data-kind="{esc(kind)}"'
    )
    name = plain(el.get("placeholder")) or UNNAMED.get(kind, "Choose")
    if kind in CHOICES:
        inner = control(el, names, "", field_id)
        return f'<fieldset class="sk-choices" {data} aria-label="{esc(name)}">{inner}</fieldset>'
    attrs = f'{data} id="{esc(field_id)}" aria-label="{esc(name)}" class="sk-select"'
    return control(el, names, attrs, field_id)


def field(el: dict[str, Any], names: Names, *, field_id: str, label: str, data: str, invalid: str, rest: str) -> str:
    """An element in a modal's input block: ``label`` (HTML), the control, and ``rest`` (hint, error)."""
    kind = str(el.get("type", ""))
    if kind in CHOICES:
        return (
            f'<fieldset class="sk-input" {data}{invalid}><legend>{label}</legend>'
            f"{control(el, names, '', field_id)}{rest}</fieldset>"
        )
    attrs = f'id="{esc(field_id)}" name="{esc(field_id)}"{invalid}'
    return (
        f'<div class="sk-input" {data}><label for="{esc(field_id)}">{label}</label>'
        f"{control(el, names, attrs, field_id)}{rest}</div>"
    )
