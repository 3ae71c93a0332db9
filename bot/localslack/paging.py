"""Slack's cursor paging (https://docs.slack.dev/apis/web-api/pagination): a page of a list from an opaque
cursor, ``limit`` long, and the cursor for the next ("" at the end)."""

from __future__ import annotations

import base64
from typing import Any


def as_int(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: Any) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(str(cursor).encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("offset:") or not text[7:].isdigit():
        return None
    return int(text[7:])


def page(items: list[Any], args: dict[str, Any], default_limit: int = 100) -> tuple[list[Any], str] | None:
    """One page of ``items`` from ``cursor``, ``limit`` long, and the next cursor ("" at the end); None for a
    cursor Slack never gave out."""
    start = decode_cursor(args.get("cursor"))
    if start is None:
        return None
    try:
        limit = int(args.get("limit") or default_limit)
    except (TypeError, ValueError):
        limit = default_limit
    limit = max(1, limit)
    nxt = encode_cursor(start + limit) if start + limit < len(items) else ""
    return items[start : start + limit], nxt


def short_first_page(items: list[Any], args: dict[str, Any], default_limit: int = 100) -> tuple[list[Any], str] | None:
    """:func:`page`, except that a first page of two or more items stops short of ``limit`` (about half of
    what there is, at most half the limit) with a cursor for the rest. Slack may return fewer items than
    ``limit`` with a next_cursor, "even when there are additional results to retrieve", so a caller must
    follow the cursor rather than count (https://docs.slack.dev/apis/web-api/pagination#cursors)."""
    paged = page(items, args, default_limit)
    if paged is None or args.get("cursor") or len(paged[0]) < 2:
        return paged
    found = paged[0]
    short = len(found) // 2
    return found[:short], encode_cursor(short)
