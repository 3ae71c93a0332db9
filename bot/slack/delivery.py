"""Posting to a channel exactly once, even when Slack's answer is lost.

Every post coprod makes in a channel carries Slack message metadata naming it: event type ``coprod_post``
and, in its payload, the post's ``claim`` (for a scheduled post, its partnership, kind and fire time).
When coprod can't tell whether Slack took a post (a timeout, a 5xx, a dropped connection), or takes up a
post an earlier attempt may have made (a scheduled post claimed again after a failure or a crash), it
looks for that claim in the channel's history before posting (again). slack-sdk never retries a post
blind (see ``bot/slack/client.py``); it still waits out 429s, which Slack answers without posting.

A look that Slack doesn't answer (a 429 whose Retry-After is long, a 5xx, a timeout) tells nothing about the
post: it raises :class:`LookLater`, never an error that reads as "Slack refused the post", so the post's
check-in is kept and the scheduler looks again once Slack's wait is over. Apps distributed outside the Slack
Marketplace may read a channel's history once a minute, 15 messages a call
(https://docs.slack.dev/reference/methods/conversations.history): coprod asks for 15 at a time from the
post's due time, stops at the first match, and waits out each Retry-After rather than spending its tries.
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
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

EVENT_TYPE = "coprod_post"
# Slack stamps a message with its own clock; look this much before the earliest moment ours allows.
CLOCK_SKEW = 300
# After an outcome coprod can't know: wait (so a slow Slack can finish), look, and post again if it isn't
# there; one pause per try, so up to three tries in all.
PAUSES = (1.0, 2.0, 4.0)
# What a post whose answer was lost raises (socket.timeout is TimeoutError; RemoteDisconnected is both).
UNKNOWN_OUTCOME = (TimeoutError, ConnectionError, http.client.HTTPException)
# conversations.history: at most 15 messages a call for apps outside the Marketplace (the page above).
HISTORY_PAGE = 15
# A 429 asking to wait this long or less is waited out here; a longer one ends the look (LookLater).
WAIT_HERE = 5.0
# When Slack gives no Retry-After (or the look failed otherwise), look again after this long:
# conversations.history's tightest limit is one call a minute.
LOOK_AGAIN = 60.0
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


class LookLater(Exception):
    """Whether a post reached Slack can't be told now: its channel's history could not be read for a passing
    reason (Slack asked to wait, or didn't answer). Nothing may be undone: the post may be in the channel.
    ``after``: seconds to wait before looking again (Slack's Retry-After when it gave one)."""

    def __init__(self, channel: str, why: str, after: float = LOOK_AGAIN):
        super().__init__(f"could not read the history of channel {channel} ({why}); looking again in {after:.0f} s")
        self.after = after


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

    Raises SlackApiError when Slack refused the post (nothing was posted), NotPosted when no try was answered
    and none is in the history, and LookLater when the history, which alone can tell, can't be read now."""
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

    Reads 15 messages a call from the post's due time (less the clocks' skew), and stops at the first match.
    Raises LookLater when the history can't be read now. Slack refusing to show the history for good (an app
    installed before coprod asked for ``channels:history`` and ``groups:history``) counts as not found: the
    post is made again, as before coprod could look."""
    looker = without_rate_limit_waits(client)
    cursor: str | None = None
    while True:
        try:
            page = _history_page(looker, channel, key, cursor)
        except SlackApiError as exc:
            if exc.response.status_code == 200:
                log.warning(
                    "could not read the history of channel %s (%s) to see whether a post arrived; posting it, so it"
                    " may appear twice (reinstall coprod from manifest.json to grant channels:history and"
                    " groups:history)",
                    channel,
                    exc.response.get("error"),
                )
                return None
            raise LookLater(channel, f"HTTP {exc.response.status_code}", retry_after(exc)) from exc
        except UNKNOWN_OUTCOME as exc:
            raise LookLater(channel, type(exc).__name__) from exc
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            body = metadata.get("event_payload") or {}
            if metadata.get("event_type") == EVENT_TYPE and body.get("claim") == key.claim:
                return Posted(str(message["ts"]), dict(body), found=True)
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return None


def _history_page(client: WebClient, channel: str, key: PostKey, cursor: str | None) -> Any:
    """One page of the history since ``key`` could have been posted; a short Retry-After is waited out here
    (twice at most)."""
    waited = 0
    while True:
        try:
            return client.conversations_history(
                channel=channel,
                oldest=str(key.since - CLOCK_SKEW),
                include_all_metadata=True,
                limit=HISTORY_PAGE,
                cursor=cursor,
            )
        except SlackApiError as exc:
            wait = retry_after(exc)
            if exc.response.status_code != 429 or wait > WAIT_HERE or waited >= 2:
                raise
            waited += 1
            time.sleep(wait)


def retry_after(exc: SlackApiError) -> float:
    """The seconds a 429 asks to wait (https://api.slack.com/apis/rate-limits), or LOOK_AGAIN."""
    headers = exc.response.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value)) if value is not None else LOOK_AGAIN
    except ValueError:
        return LOOK_AGAIN


def without_rate_limit_waits(client: WebClient) -> WebClient:
    """The same client, but a 429 comes back at once instead of being slept through: the look decides
    whether to wait (a second or two) or to look again later (a minute), without holding a post's thread."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        retry_handlers=[h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)],
    )
