"""Slack's text as HTML, for the local workspace's page: mrkdwn, Block Kit text objects and emoji. Pure.

Text from coprod is Slack mrkdwn, already Slack-escaped (``&lt;`` for ``<``), so it is read as Slack reads it
(control sequences such as ``<@U1>`` and ``<https://…|label>``, then ``*bold*``, ``_italic_``, ``~strike~``,
`` `code` ``, emoji shortcodes) and every piece of text is HTML-escaped on the way out. Links go to http(s)
and mailto addresses only. ``render`` (blocks) and ``elements`` (the controls) both build on it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The shortcodes coprod writes, and a few people type; any other stays as typed.
EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "calendar": "📆",
    "spiral_calendar_pad": "🗓️",
    "pause_button": "⏸️",
    "tada": "🎉",
    "wave": "👋",
    "+1": "👍",
    "thumbsup": "👍",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
    "heart": "❤️",
    "speech_balloon": "💬",
    "bar_chart": "📊",
    "memo": "📝",
    "bulb": "💡",
    "star": "⭐",
    "pray": "🙏",
    "raised_hands": "🙌",
    "eyes": "👀",
    "x": "❌",
    "information_source": "ℹ️",
    "hourglass_flowing_sand": "⏳",
    "paperclip": "📎",
    "seedling": "🌱",
    "heavy_minus_sign": "➖",
    "alarm_clock": "⏰",
    "palm_tree": "🌴",
    "left_right_arrow": "↔️",
    "chart_with_downwards_trend": "📉",
    "grey_question": "❔",
    "rotating_light": "🚨",
    "bookmark_tabs": "📑",
}
LINK_SCHEMES = ("http://", "https://", "mailto:")
_CODE = re.compile(r"```(.+?)```|`([^`\n]+)`", re.S)
_CONTROL = re.compile(r"<([^<>\n]+)>")
_HOLE = re.compile(r"\x00(\d+)\x00")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def _marker(mark: str, tag: str) -> tuple[re.Pattern[str], str]:
    m = re.escape(mark)
    # Slack's rule: a marker opens after a start, space or punctuation, and closes before an end, space or
    # punctuation; the text between doesn't start or end with a space. (snake_case stays as it is.)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)(.+?)(?<=\S){m}(?![\w{m}])"), rf"<{tag}>\1</{tag}>"


_STYLES = [_marker("*", "strong"), _marker("_", "em"), _marker("~", "s")]


@dataclass(frozen=True)
class Names:
    """How ids read on the page: a person's name, a channel's name; and whom and which conversations a select
    menu of people or conversations lists, as (id, name)."""

    user: Callable[[str], str]
    channel: Callable[[str], str]
    people: Callable[[], list[tuple[str, str]]] = list
    conversations: Callable[[], list[tuple[str, str]]] = list


NO_NAMES = Names(user=lambda u: u, channel=lambda c: c)


def esc(text: object) -> str:
    """HTML-escaped, quotes included (safe in text and in attribute values)."""
    return html.escape(str(text), quote=True)


def unslack(text: str) -> str:
    """Slack's escaping undone: the text as the person meant it (still to be HTML-escaped)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji(escaped: str) -> str:
    """Shortcodes in already-escaped text as emoji, each named for screen readers."""

    def one(match: re.Match[str]) -> str:
        char = EMOJI.get(match.group(1))
        if char is None:
            return match.group(0)
        return f'<span class="emoji" role="img" aria-label="{esc(match.group(1).replace("_", " "))}">{char}</span>'

    return _SHORTCODE.sub(one, escaped)


def _control(inside: str, names: Names) -> str:
    """One ``<…>`` control sequence as HTML."""
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{esc(unslack(label) or names.user(target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{esc(unslack(label) or names.channel(target[1:]))}</span>'
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        return f'<span class="mention">@{esc(unslack(label) or word)}</span>'
    url = unslack(target)
    if url.startswith(LINK_SCHEMES):
        return f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(unslack(label) or url)}</a>'
    return esc(unslack(f"<{inside}>"))


def _inline(text: str, names: Names) -> str:
    holes: list[str] = []

    def hole(match: re.Match[str]) -> str:
        holes.append(_control(match.group(1), names))
        return f"\x00{len(holes) - 1}\x00"

    out = esc(unslack(_CONTROL.sub(hole, text)))
    for pattern, replacement in _STYLES:
        out = pattern.sub(replacement, out)
    out = emoji(out).replace("\n", "<br>")
    return _HOLE.sub(lambda m: holes[int(m.group(1))], out)


def mrkdwn(text: str, names: Names = NO_NAMES) -> str:
    """Slack mrkdwn (Slack-escaped) as safe HTML."""
    text = text.replace("\x00", "\ufffd")  # our placeholders can't be forged
    out: list[str] = []
    at = 0
    for match in _CODE.finditer(text):
        out.append(_inline(text[at : match.start()], names))
        if match.group(1) is not None:
            out.append(f"<pre>{esc(unslack(match.group(1)))}</pre>")
        else:
            out.append(f"<code>{esc(unslack(match.group(2)))}</code>")
        at = match.end()
    out.append(_inline(text[at:], names))
    return "".join(out)


def text_object(obj: Any, names: Names = NO_NAMES) -> str:
    """A Block Kit text object (plain_text or mrkdwn) as HTML."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return emoji(esc(unslack(text)))


def plain(obj: Any) -> str:
    """A text object's words, unformatted (for labels and names)."""
    return unslack(str(obj.get("text", ""))) if isinstance(obj, dict) else ""
