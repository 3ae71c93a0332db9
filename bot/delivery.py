"""Posting to a channel exactly once, even when Slack's answer is lost.

Every post coprod makes in a channel carries Slack message metadata naming it: event type ``coprod_post``
and, in its payload, the post's ``claim`` (for a scheduled post, its partnership, kind and fire time).
When coprod can't tell whether Slack took a post (a timeout, a 5xx, a dropped connection), or takes up a
post an earlier attempt may have made (a scheduled post claimed again after a failure or a crash), it
looks for that claim in the channel's history before posting (again). slack-sdk never retries a post
blind (see ``bot/app.py``); it still waits out 429s, which Slack answers without posting.
"""

from __future__ import annotations

import http.client
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

EVENT_TYPE = "coprod_post"
# Slack stamps a message with its own clock; look this much before the earliest moment ours allows.
CLOCK_SKEW = 300
# After an outcome coprod can't know: wait (so a slow Slack can finish), look, and post again if it isn't
# there; one pause per try, so up to three tries in all.
PAUSES = (1.0, 2.0, 4.0)
# What a post whose answer was lost raises (socket.timeout is TimeoutError; RemoteDisconnected is both).
UNKNOWN_OUTCOME = (TimeoutError, ConnectionError, http.client.HTTPException)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostKey:
    """What a post is known by in Slack: its claim, and the earliest time it could have been made."""

    claim: str
    since: int  # Unix seconds
    retaken: bool = False  # an earlier attempt may have reached Slack: look before posting


def scheduled(partnership_id: int, kind: str, fire_at: int, attempt: int) -> PostKey:
    """The key of a scheduled post: its ledger claim (partnership, kind, fire time)."""
    return PostKey(f"{partnership_id}/{kind}/{fire_at}", fire_at, retaken=attempt > 1)


def asked_now(now: int) -> PostKey:
    """The key of a post asked for by hand: made once, looked for only if its answer is lost."""
    return PostKey(f"now/{secrets.token_hex(8)}", now)


@dataclass(frozen=True)
class Posted:
    ts: str
    payload: dict[str, Any]  # the metadata's event_payload: the claim and what the caller added
    found: bool = False  # an earlier attempt's message, found in the channel's history


class NotPosted(Exception):
    """Slack never answered any try, and the channel's history shows none of them arrived."""


def refused(exc: SlackApiError) -> bool:
    """Slack answered, and its answer was no: nothing was posted."""
    return exc.response.status_code < 500


def deliver(
    client: WebClient,
    channel: str,
    key: PostKey,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    payload: dict[str, Any] | None = None,
) -> Posted:
    """Post to ``channel`` once: the message made now, or the one an earlier try made.

    Raises SlackApiError when Slack refused the post (nothing was posted) or its history could not be read
    for a passing reason, and NotPosted when no try was answered and none is in the history."""
    body = {"claim": key.claim, **(payload or {})}
    if key.retaken:
        found = find(client, channel, key)
        if found is not None:
            return found
    for pause in PAUSES:
        try:
            reply = client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata={"event_type": EVENT_TYPE, "event_payload": body}
            )
            return Posted(str(reply["ts"]), body)
        except SlackApiError as exc:
            if refused(exc):
                raise
            lost = f"HTTP {exc.response.status_code}"
        except UNKNOWN_OUTCOME as exc:
            lost = type(exc).__name__
        log.warning("Slack's answer to a post in channel %s was lost (%s); looking for it", channel, lost)
        time.sleep(pause)
        found = find(client, channel, key)
        if found is not None:
            return found
    raise NotPosted(f"no answer from Slack to {len(PAUSES)} tries, and none of them is in the channel")


def find(client: WebClient, channel: str, key: PostKey) -> Posted | None:
    """The message posted under ``key`` in the channel's history since it could have been made, if any.

    Slack refusing to show the history (an app installed before coprod asked for ``channels:history`` and
    ``groups:history``) counts as not found: the post is made again, as before coprod could look."""
    try:
        for page in client.conversations_history(
            channel=channel, oldest=str(key.since - CLOCK_SKEW), include_all_metadata=True, limit=200
        ):
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                body = metadata.get("event_payload") or {}
                if metadata.get("event_type") == EVENT_TYPE and body.get("claim") == key.claim:
                    return Posted(str(message["ts"]), dict(body), found=True)
    except SlackApiError as exc:
        if exc.response.status_code != 200:  # a 5xx, or still rate limited: try again later
            raise
        log.warning(
            "could not read the history of channel %s (%s) to see whether a post arrived; posting it, so it may"
            " appear twice (reinstall coprod from manifest.json to grant channels:history and groups:history)",
            channel,
            exc.response.get("error"),
        )
    return None
