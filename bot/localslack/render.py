"""Block Kit as HTML, for the local workspace's page. Pure.

Everything that reaches the page is escaped here or in the modules it builds on: Slack's text (mrkdwn, text
objects, emoji) in ``slacktext``, the interactive controls in ``elements``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.localslack import elements
from bot.localslack.slacktext import LINK_SCHEMES, NO_NAMES, Names, emoji, esc, mrkdwn, plain, text_object


def dom_id(*parts: str) -> str:
    """An id attribute built from Slack ids (letters, digits, - and _ only)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", p) for p in parts)


# ---- blocks ------------------------------------------------------------------------------------------


def button(element: dict[str, Any], block_id: str) -> str:
    style = element.get("style")
    classes = "sk-button" + (f" {style}" if style in ("primary", "danger") else "")
    action_id, value = str(element.get("action_id", "")), str(element.get("value", ""))
    url = str(element.get("url", ""))
    if url.startswith(LINK_SCHEMES):
        link = f'href="{esc(url)}" rel="noopener noreferrer" target="_blank"'
        return f'<a class="{classes}" {link}>{plain_label(element)}</a>'
    return (
        f'<button type="button" class="{classes}" data-act="click" data-block-id="{esc(block_id)}" '
        f'data-action-id="{esc(action_id)}" data-value="{esc(value)}" '
        f'data-focus="{esc(block_id)}/{esc(action_id)}/{esc(value)}">{plain_label(element)}</button>'
    )


def plain_label(element: dict[str, Any]) -> str:
    return emoji(esc(plain(element.get("text"))))


def element(el: Any, block_id: str, names: Names = NO_NAMES) -> str:
    if not isinstance(el, dict):
        return ""
    if el.get("type") == "button":
        return button(el, block_id)
    if el.get("type") in elements.SHOWN:
        return elements.interactive(el, block_id, names)
    if el.get("type") == "image" and str(el.get("image_url", "")).startswith(("http://", "https://")):
        return f'<img class="sk-thumb" src="{esc(el["image_url"])}" alt="{esc(el.get("alt_text", ""))}">'
    return f'<span class="sk-unknown">(a “{esc(el.get("type", "?"))}” this page can\'t show)</span>'


def block(b: Any, names: Names, view_id: str = "", errors: dict[str, str] | None = None) -> str:
    """One block as HTML; inputs (in modals) carry their view's id and any error Slack showed."""
    if not isinstance(b, dict):
        return ""
    kind, block_id = b.get("type"), str(b.get("block_id", ""))
    if kind == "header":
        return f'<h3 class="sk-header">{text_object(b.get("text"), names)}</h3>'
    if kind == "divider":
        return '<hr class="sk-divider">'
    if kind == "section":
        parts = []
        if "text" in b:
            parts.append(f'<div class="sk-text">{text_object(b["text"], names)}</div>')
        if isinstance(b.get("fields"), list):
            cells = "".join(f'<div class="sk-field">{text_object(f, names)}</div>' for f in b["fields"])
            parts.append(f'<div class="sk-fields">{cells}</div>')
        if "accessory" in b:
            parts.append(f'<div class="sk-accessory">{element(b["accessory"], block_id, names)}</div>')
        return f'<div class="sk-section">{"".join(parts)}</div>'
    if kind == "context":
        items = []
        for el in b.get("elements", []) if isinstance(b.get("elements"), list) else []:
            is_image = isinstance(el, dict) and el.get("type") == "image"
            items.append(element(el, block_id) if is_image else f"<span>{text_object(el, names)}</span>")
        return f'<div class="sk-context">{"".join(items)}</div>'
    if kind == "actions":
        elements = b.get("elements", []) if isinstance(b.get("elements"), list) else []
        inner = "".join(element(el, block_id, names) for el in elements)
        return f'<div class="sk-actions" role="group">{inner}</div>'
    if kind == "image":
        url = str(b.get("image_url", ""))
        slack_file = b.get("slack_file")
        if isinstance(slack_file, dict) and slack_file.get("id"):  # a file coprod uploaded here
            url = f"/files/{slack_file['id']}/picture.png"
        elif not url.startswith(("http://", "https://")):
            return ""
        title = f"<figcaption>{text_object(b['title'], names)}</figcaption>" if "title" in b else ""
        return f'<figure class="sk-image"><img src="{esc(url)}" alt="{esc(b.get("alt_text", ""))}">{title}</figure>'
    if kind == "input":
        return input_block(b, names, view_id, (errors or {}).get(block_id))
    return f'<p class="sk-unknown">(a “{esc(kind)}” block this page can\'t show)</p>'


def blocks(items: Any, names: Names, view_id: str = "", errors: dict[str, str] | None = None) -> str:
    return "".join(block(b, names, view_id, errors) for b in items) if isinstance(items, list) else ""


def input_block(b: dict[str, Any], names: Names, view_id: str, error: str | None) -> str:
    """A modal's input: its label, the element (text, or any of ``elements.SHOWN``) and its error."""
    el = b.get("element") if isinstance(b.get("element"), dict) else {}
    assert isinstance(el, dict)
    block_id, action_id, kind = str(b.get("block_id", "")), str(el.get("action_id", "")), str(el.get("type", ""))
    field_id = dom_id("in", view_id, block_id, action_id)
    error_id = field_id + "-error"
    label = esc(plain(b.get("label")))
    optional = ' <span class="sk-optional">(optional)</span>' if b.get("optional") else ""
    invalid = f' aria-invalid="true" aria-describedby="{error_id}"' if error else ""
    data = f'data-block-id="{esc(block_id)}" data-action-id="{esc(action_id)}" data-kind="{esc(kind)}"'
    hint = f'<p class="sk-hint">{text_object(b["hint"], names)}</p>' if "hint" in b else ""
    said = f'<p class="sk-error" id="{error_id}" role="alert">{mrkdwn(error, names)}</p>' if error else ""
    if kind in elements.SHOWN:
        return elements.field(
            el, names, field_id=field_id, label=label + optional, data=data, invalid=invalid, rest=hint + said
        )
    if kind == "plain_text_input":
        limit = f' maxlength="{int(el["max_length"])}"' if isinstance(el.get("max_length"), int) else ""
        placeholder = f' placeholder="{esc(plain(el["placeholder"]))}"' if "placeholder" in el else ""
        initial = esc(el.get("initial_value", ""))
        attrs = f'id="{field_id}" name="{field_id}"{limit}{placeholder}{invalid}'
        if not b.get("optional"):
            attrs += ' aria-required="true"'
        field = (
            f'<textarea {attrs} rows="4">{initial}</textarea>'
            if el.get("multiline")
            else (f'<input type="text" {attrs} value="{initial}">')
        )
        return (
            f'<div class="sk-input" {data}><label for="{field_id}">{label}{optional}</label>{field}{hint}{said}</div>'
        )
    return (
        f'<div class="sk-input" {data}><p class="sk-unknown">{label}: (a “{esc(kind)}” this page can\'t show)</p></div>'
    )


# ---- messages and views ------------------------------------------------------------------------------


def when(ts: str, timezone: str) -> tuple[str, str]:
    """(ISO time, how the page shows it) of a message's ts."""
    moment = datetime.fromtimestamp(float(ts), ZoneInfo(timezone))
    return moment.isoformat(timespec="seconds"), f"{moment:%a %-d %b, %H:%M}"


def message(
    msg: dict[str, Any], *, key: str, author: str, is_app: bool, names: Names, timezone: str, ephemeral: bool = False
) -> str:
    """A message as the page shows it: who, when, its blocks (or text), its files; marked when only the reader
    sees it."""
    iso, shown = when(str(msg.get("ts", "0")), timezone)
    badge = ' <span class="badge">App</span>' if is_app else ""
    edited = ' <span class="edited">(edited)</span>' if "edited" in msg and not is_app else ""
    body = (
        blocks(msg.get("blocks"), names)
        if msg.get("blocks")
        else f'<div class="sk-text">{mrkdwn(str(msg.get("text", "")), names)}</div>'
    )
    files = ""
    if isinstance(msg.get("files"), list):
        links = "".join(
            (
                f'<li><figure class="sk-image"><img src="/files/{esc(f.get("id", ""))}/{esc(f.get("name", ""))}" '
                f'alt="{esc(f.get("alt_txt", ""))}"></figure>'
                if f.get("mimetype") == "image/png"
                else "<li>"
            )
            + f'<a href="/files/{esc(f.get("id", ""))}/{esc(f.get("name", ""))}" download="{esc(f.get("name", ""))}">'
            f'<span aria-hidden="true">📎</span> {esc(f.get("title") or f.get("name", ""))}</a></li>'
            for f in msg["files"]
            if isinstance(f, dict)
        )
        files = f'<ul class="files" aria-label="Files">{links}</ul>'
    only = ""
    dismiss = ""
    if ephemeral:
        only = '<p class="only-you"><span aria-hidden="true">👁</span> Only visible to you</p>'
        dismiss = (
            f'<button type="button" class="link" data-act="dismiss" data-focus="dismiss/{esc(key)}">Dismiss</button>'
        )
    classes = "msg ephemeral" if ephemeral else "msg"
    return (
        f'<article class="{classes}" data-key="{esc(key)}" data-ts="{esc(msg.get("ts", ""))}" '
        f'aria-label="{esc(author)}, {esc(shown)}">'
        f'<header><strong class="author">{esc(author)}</strong>{badge} '
        f'<time datetime="{iso}">{esc(shown)}</time>{edited}</header>'
        f'{only}<div class="body">{body}{files}</div>{dismiss}</article>'
    )


def modal(view: dict[str, Any], names: Names, errors: dict[str, str]) -> str:
    """A modal as a form: title, blocks with their errors, Cancel (or Close) and Submit."""
    view_id = str(view.get("id", ""))
    title_id = dom_id("modal-title", view_id)
    close = esc(plain(view.get("close")) or ("Cancel" if view.get("submit") else "Close"))
    submit = (
        f'<button type="submit" class="sk-button primary">{esc(plain(view["submit"]))}</button>'
        if view.get("submit")
        else ""
    )
    trouble = f'<p class="sk-error" role="alert">{esc(errors[""])}</p>' if errors.get("") else ""
    return (
        f'<form class="modal" data-view-id="{esc(view_id)}" aria-labelledby="{title_id}" novalidate>'
        f'<h2 id="{title_id}">{esc(plain(view.get("title")))}</h2>{trouble}'
        f'<div class="modal-body">{blocks(view.get("blocks"), names, view_id, errors)}</div>'
        '<div class="modal-buttons">'
        f'<button type="button" class="sk-button" data-act="close">{close}</button>{submit}</div>'
        "</form>"
    )


def home(view: dict[str, Any] | None, names: Names) -> str:
    if view is None:
        return '<p class="waiting">Opening coprod\'s Home…</p>'
    return f'<div class="home" data-view-id="{esc(view.get("id", ""))}">{blocks(view.get("blocks"), names)}</div>'
