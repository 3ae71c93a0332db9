"""Slack's Block Kit rules, as the stand-in applies them to every message and view an app sends.

slack-sdk's own models check what they know (``Block.parse(b).validate_json()``, ``View(**v)``); the rest
is written here from Slack's reference pages, each rule beside the page it comes from. A problem is one
line in Slack's shape, ``[ERROR] what was wrong [json-pointer:/blocks/3/text]``, as Slack lists them in
``response_metadata.messages``. ``files`` is the workspace's file ids, for ``slack_file`` references (None:
they are not checked, as where no workspace is at hand).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# https://docs.slack.dev/reference/methods/chat.postMessage (blocks: "up to 50 blocks" a message)
MESSAGE_BLOCKS_MAX = 50
# https://docs.slack.dev/surfaces/modals and https://docs.slack.dev/surfaces/app-home ("up to 100 blocks")
VIEW_BLOCKS_MAX = 100
# https://docs.slack.dev/reference/block-kit/blocks/section-block (text: max 3000; each field: max 2000)
SECTION_TEXT_MAX = 3000
SECTION_FIELD_MAX = 2000
# https://docs.slack.dev/reference/block-kit/blocks/header-block (text: max 150)
HEADER_TEXT_MAX = 150
# https://docs.slack.dev/reference/block-kit/block-elements/button-element (text 75, value 2000, url 3000)
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
# https://docs.slack.dev/reference/block-kit/blocks (block_id: max 255) and
# https://docs.slack.dev/reference/block-kit/block-elements (action_id: max 255)
ID_MAX = 255
# https://docs.slack.dev/reference/block-kit/composition-objects/option-object (text 75, value 150)
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
# https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element (placeholder: max 150)
PLACEHOLDER_MAX = 150
# https://docs.slack.dev/reference/views/modal-views (title, submit, close: max 24; private_metadata: max
# 3000; callback_id: max 255)
VIEW_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000


def _text(node: Any) -> str:
    """The string of a text object (or "" when there is none)."""
    return str(node.get("text", "")) if isinstance(node, dict) else ""


def _walk(node: Any, pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every object inside ``node`` with its JSON pointer."""
    if isinstance(node, dict):
        yield node, pointer
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{pointer}/{i}")


def _too_long(problems: list[str], what: str, text: str, limit: int, pointer: str) -> None:
    if len(text) > limit:
        problems.append(f"[ERROR] {what} must be at most {limit} characters, not {len(text)} [json-pointer:{pointer}]")


def _options(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A select's or radio group's options, those inside option_groups included."""
    found = [o for o in node.get("options") or [] if isinstance(o, dict)]
    for group in node.get("option_groups") or []:
        if isinstance(group, dict):
            found.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return found


def _same_option(a: Any, b: dict[str, Any]) -> bool:
    return isinstance(a, dict) and a.get("value") == b.get("value") and _text(a.get("text")) == _text(b.get("text"))


def _element_rules(node: dict[str, Any], pointer: str, files: Collection[str] | None, problems: list[str]) -> None:
    """The limits slack-sdk leaves unchecked, on one object found anywhere in a block."""
    kind = node.get("type")
    if "action_id" in node:
        _too_long(problems, "action_id", str(node["action_id"]), ID_MAX, f"{pointer}/action_id")
    if kind == "button":
        _too_long(problems, "button text", _text(node.get("text")), BUTTON_TEXT_MAX, f"{pointer}/text/text")
        _too_long(problems, "button value", str(node.get("value", "")), BUTTON_VALUE_MAX, f"{pointer}/value")
    if "placeholder" in node and isinstance(node["placeholder"], dict):
        text = _text(node["placeholder"])
        _too_long(problems, "placeholder", text, PLACEHOLDER_MAX, f"{pointer}/placeholder/text")
    if kind in {"static_select", "radio_buttons", "multi_static_select", "checkboxes", "overflow"}:
        options = _options(node)
        for i, option in enumerate(options):
            where = f"{pointer}/options/{i}"
            _too_long(problems, "option text", _text(option.get("text")), OPTION_TEXT_MAX, f"{where}/text")
            _too_long(problems, "option value", str(option.get("value", "")), OPTION_VALUE_MAX, f"{where}/value")
        # https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element (initial_option
        # "must be an exact match to one of the options within options or option_groups")
        if "initial_option" in node and not any(_same_option(node["initial_option"], o) for o in options):
            where = f"{pointer}/initial_option"
            problems.append(f"[ERROR] initial_option must be one of the options [json-pointer:{where}]")
        for initial in node.get("initial_options") or []:
            if not any(_same_option(initial, o) for o in options):
                problems.append(
                    f"[ERROR] initial_options must be among the options [json-pointer:{pointer}/initial_options]"
                )
    # https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object (a file's id must name a
    # file in the workspace that the app can see)
    slack_file = node.get("slack_file") if kind == "image" else None
    known = files is None or str(slack_file.get("id")) in files if isinstance(slack_file, dict) else True
    if isinstance(slack_file, dict) and "id" in slack_file and not known:
        problems.append(f"[ERROR] slack_file names no file of this workspace [json-pointer:{pointer}/slack_file/id]")


def _block_rules(block: dict[str, Any], pointer: str, files: Collection[str] | None, problems: list[str]) -> None:
    kind = block.get("type")
    # https://docs.slack.dev/reference/block-kit/blocks: what slack-sdk's models know and check
    try:
        parsed = Block.parse(block)
        if parsed is None:
            problems.append(f"[ERROR] unknown block type {kind!r} [json-pointer:{pointer}/type]")
            return
        parsed.validate_json()
        parsed.to_dict()  # validates nested elements and text objects too
    except Exception as exc:  # noqa: BLE001 - slack-sdk raises several kinds; each is a refusal here
        problems.append(f"[ERROR] {exc} [json-pointer:{pointer}]")
    if "block_id" in block:
        _too_long(problems, "block_id", str(block["block_id"]), ID_MAX, f"{pointer}/block_id")
    if kind == "section":
        _too_long(problems, "section text", _text(block.get("text")), SECTION_TEXT_MAX, f"{pointer}/text/text")
        for i, f in enumerate(block.get("fields") or []):
            _too_long(problems, "section field", _text(f), SECTION_FIELD_MAX, f"{pointer}/fields/{i}/text")
    elif kind == "header":
        _too_long(problems, "header text", _text(block.get("text")), HEADER_TEXT_MAX, f"{pointer}/text/text")
    for node, where in _walk(block, pointer):
        _element_rules(node, where, files, problems)


def _blocks_rules(blocks: Any, limit: int, pointer: str, files: Collection[str] | None) -> list[str]:
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return [f"[ERROR] blocks must be an array of objects [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    # https://docs.slack.dev/reference/block-kit/blocks ("block_id ... should be unique for each message and
    # each iteration of a message")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{pointer}/{i}/block_id]")
            seen.add(block_id)
        _block_rules(block, f"{pointer}/{i}", files, problems)
    return problems


def decoded(value: Any) -> Any:
    """A JSON-valued argument as Slack reads it (form values arrive as JSON text)."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_problems(blocks: Any, files: Collection[str] | None = None) -> list[str]:
    """What Slack would refuse in a message's ``blocks`` (none: it is fine)."""
    return _blocks_rules(decoded(blocks), MESSAGE_BLOCKS_MAX, "/blocks", files)


def view_problems(view: Any, files: Collection[str] | None = None) -> list[str]:
    """What Slack would refuse in a modal or Home view."""
    view = decoded(view)
    if not isinstance(view, dict):
        return ["[ERROR] view must be an object [json-pointer:/view]"]
    problems = _blocks_rules(view.get("blocks", []), VIEW_BLOCKS_MAX, "/view/blocks", files)
    if view.get("type") == "modal":
        _too_long(problems, "title", _text(view.get("title")), VIEW_TITLE_MAX, "/view/title/text")
        if not _text(view.get("title")):
            problems.append("[ERROR] a modal needs a title [json-pointer:/view/title]")
        for key in ("submit", "close"):
            _too_long(problems, key, _text(view.get(key)), VIEW_TITLE_MAX, f"/view/{key}/text")
    elif view.get("type") != "home":
        problems.append("[ERROR] view type must be modal or home [json-pointer:/view/type]")
    text = str(view.get("private_metadata", ""))
    _too_long(problems, "private_metadata", text, PRIVATE_METADATA_MAX, "/view/private_metadata")
    for key in ("callback_id", "external_id"):
        _too_long(problems, key, str(view.get(key, "")), ID_MAX, f"/view/{key}")
    if not problems:
        try:  # slack-sdk's own checks of a view (its title, its number of blocks)
            View(**view).to_dict()
        except Exception as exc:  # noqa: BLE001 - any refusal of slack-sdk's is Slack's here
            problems.append(f"[ERROR] {exc} [json-pointer:/view]")
    return problems


def refused(error: str, problems: list[str]) -> dict[str, Any]:
    """Slack's answer to blocks it won't take: ``invalid_blocks`` (messages) or ``invalid_arguments`` (views),
    with what was wrong in ``response_metadata.messages``."""
    return {"ok": False, "error": error, "response_metadata": {"messages": problems}}
