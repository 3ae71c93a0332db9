"""What the Slack edge and the scheduler share: the store, the catalog, the clock and the follow-up workers
(what they send after an acknowledgement goes through the store's outbox)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.catalog import Catalog
from bot.slack.roster import Roster
from bot.store import Store
from bot.work.followups import FollowUps

if TYPE_CHECKING:
    from bot.slack.installs import Installations


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """Built once by the runtime and handed to every listener and job."""

    store: Store
    catalog: Catalog
    clock: Callable[[], datetime] = utcnow  # an aware datetime in UTC; tests move it by hand
    identity: dict[str, str] = field(default_factory=dict)  # workspace -> the bot's own user id there
    followups: FollowUps = field(default_factory=FollowUps)  # the work that follows an acknowledgement
    # Several-workspace mode (bot/slack/installs.py): the installations, and how long a workspace that removed coprod
    # keeps its data. None and None with one bot token.
    installations: Installations | None = None
    erase_after_days: float | None = None
    # One auth.test per workspace however many threads ask at once (a batch of posts at start).
    identity_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Who is a person in each workspace (users.list), read once for the reflection rounds due together.
    roster: Roster = field(default_factory=Roster, repr=False, compare=False)

    def now(self) -> datetime:
        return self.clock()

    def stamp(self) -> int:
        """Now, in the store's Unix seconds."""
        return int(self.clock().timestamp())

    def bot_user(self, client: WebClient, team: str) -> str | None:
        """The bot's own user id in this workspace (each workspace has its own bot user), learned once (one
        auth.test however many threads ask at once: a batch of posts at start)."""
        with self.identity_lock:
            if team not in self.identity:
                try:
                    self.identity[team] = client.auth_test()["user_id"]
                except SlackApiError:
                    return None
            return self.identity[team]
