"""What Slack allows an app per minute, and the answers that are not Slack's usual ``200 {"ok": …}``.

Slack limits each Web API method per workspace (per the token's team) by tier, and chat.postMessage per
channel; a call over the limit is answered HTTP 429 with ``Retry-After`` (seconds) and nothing is done
(https://docs.slack.dev/apis/web-api/rate-limits). Slack evaluates the limits per minute and lets short
bursts through, so each limit here is a bucket that holds a minute's calls and refills evenly over the
minute: a burst of a tier's calls goes through at once, and then one call every 60/N seconds. Time is
real (monotonic) time, as Slack's is, whatever clock the scheduler is given.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Calls a minute per tier (https://docs.slack.dev/apis/web-api/rate-limits#tiers).
TIER_1, TIER_2, TIER_3, TIER_4 = 1, 20, 50, 100

# Each method coprod calls, with the tier its page under https://docs.slack.dev/reference/methods/<method>
# gives. Methods not named here (auth.test, apps.connections.open, oauth.v2.access: "special" limits Slack
# doesn't publish as a number) are not limited here.
TIERS: dict[str, int] = {
    "chat.update": TIER_3,  # https://docs.slack.dev/reference/methods/chat.update
    "chat.delete": TIER_3,  # https://docs.slack.dev/reference/methods/chat.delete
    "chat.postEphemeral": TIER_4,  # https://docs.slack.dev/reference/methods/chat.postEphemeral
    "views.open": TIER_4,  # https://docs.slack.dev/reference/methods/views.open
    "views.push": TIER_4,  # https://docs.slack.dev/reference/methods/views.push
    "views.update": TIER_4,  # https://docs.slack.dev/reference/methods/views.update
    "views.publish": TIER_4,  # https://docs.slack.dev/reference/methods/views.publish
    "users.info": TIER_4,  # https://docs.slack.dev/reference/methods/users.info
    "users.list": TIER_2,  # https://docs.slack.dev/reference/methods/users.list
    "users.conversations": TIER_3,  # https://docs.slack.dev/reference/methods/users.conversations
    "conversations.members": TIER_4,  # https://docs.slack.dev/reference/methods/conversations.members
    "conversations.info": TIER_3,  # https://docs.slack.dev/reference/methods/conversations.info
    "conversations.open": TIER_3,  # https://docs.slack.dev/reference/methods/conversations.open
    "conversations.history": TIER_3,  # https://docs.slack.dev/reference/methods/conversations.history
    "files.getUploadURLExternal": TIER_4,  # https://docs.slack.dev/reference/methods/files.getUploadURLExternal
    "files.completeUploadExternal": TIER_4,  # https://docs.slack.dev/reference/methods/files.completeUploadExternal
}

# chat.postMessage: "1 message per second per channel", with short bursts allowed
# (https://docs.slack.dev/reference/methods/chat.postMessage#rate_limiting). Slack doesn't say how long a
# burst; here a channel may take this many at once, then one a second.
POST_BURST = 10

# An app "distributed outside the Slack Marketplace" (installed since 29 May 2025) may call
# conversations.history (and .replies) once a minute, at most 15 messages a page
# (https://docs.slack.dev/changelog/2025/05/29/rate-limit-changes-for-non-marketplace-apps).
NON_MARKETPLACE_HISTORY_PER_MINUTE = 1
NON_MARKETPLACE_HISTORY_LIMIT = 15


class SlackRefusal(Exception):
    """An answer that is not Slack's usual JSON with status 200: a 429 with Retry-After, or a response URL's
    404 with a plain-text body. Raised inside a method; the server sends it as it is."""

    def __init__(self, status: int, body: str, headers: dict[str, str] | None = None, *, json_body: bool) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.json_body = json_body

    @classmethod
    def rate_limited(cls, retry_after: int) -> SlackRefusal:
        """Slack's 429: ``{"ok": false, "error": "ratelimited"}`` and ``Retry-After``."""
        return cls(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": str(retry_after)}, json_body=True)


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    level: float
    at: float

    def take(self, now: float) -> float:
        """Take one call's room; 0 when there was some, else the seconds until there is."""
        self.level = min(self.capacity, self.level + (now - self.at) * self.per_second)
        self.at = now
        if self.level >= 1:
            self.level -= 1
            return 0.0
        return (1 - self.level) / self.per_second


class RateLimits:
    """Slack's limits; see the module docstring. ``enabled`` False lets every call through (a bench measuring
    coprod's own throughput says so); ``marketplace`` False is an app distributed outside the Marketplace."""

    def __init__(self, *, enabled: bool = True, marketplace: bool = True, clock: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self.marketplace = marketplace
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def _limit(self, method: str, channel: str) -> tuple[tuple[str, ...], float, float] | None:
        """The bucket's key part, its size, and its refill per second, for a call; None if not limited."""
        if method == "chat.postMessage":
            return (method, channel), POST_BURST, 1.0
        if method == "conversations.history" and not self.marketplace:
            return (method,), NON_MARKETPLACE_HISTORY_PER_MINUTE, NON_MARKETPLACE_HISTORY_PER_MINUTE / 60
        per_minute = TIERS.get(method)
        if per_minute is None:
            return None
        return (method,), per_minute, per_minute / 60

    def check(self, team: str, method: str, channel: str = "") -> None:
        """Count a call by ``team``'s token; raise :class:`SlackRefusal` (429) when it is over the limit."""
        if not self.enabled:
            return
        limit = self._limit(method, channel)
        if limit is None:
            return
        part, capacity, per_second = limit
        key = (team, *part)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(capacity, per_second, capacity, now)
            wait = bucket.take(now)
        if wait > 0:
            raise SlackRefusal.rate_limited(max(1, math.ceil(wait)))

    def reset(self) -> None:
        """Every bucket full again (a test starting afresh)."""
        with self._lock:
            self._buckets.clear()
