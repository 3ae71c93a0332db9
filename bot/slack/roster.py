"""Who in a workspace is a person (not another app's bot, not a deactivated account), read in one listing.

A reflection round DMs every person in a channel. Asking Slack about each member (``users.info``) costs one
call per member; the workspace's listing (``users.list``, 200 accounts a page) costs one call per 200
accounts, and is kept a few minutes, so the rounds of several partnerships of one workspace due together
share one listing. A listing is read by one thread at a time per workspace: a round that finds another
reading it waits for that one instead of reading its own.

Members the listing doesn't name (people from another organisation in a shared channel, or someone who
joined since it was read) are asked about one by one, as are all members when Slack won't give the listing
(a missing ``users:read`` scope, an error, still rate limited after the client's retries). When Slack can't
say who someone is, they count as a person: at worst they get a prompt Slack then refuses.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import delivery

# Accounts asked for per users.list page (Slack recommends no more than 200).
PAGE = 200
# Pages read per listing: 5,000 accounts. Past that, members the listing didn't reach are asked about one
# by one (users.list is Tier 2, about 20 calls a minute; users.info Tier 4).
MAX_PAGES = 25
# How long a listing serves later rounds (by the scheduler's clock), and one Slack wouldn't give.
KEEP_SECONDS = 600.0
FAILED_KEEP_SECONDS = 60.0
# Listings kept at once; the oldest goes first. At most MAX_PAGES * PAGE accounts each.
WORKSPACES = 32
SLACKBOT = "USLACKBOT"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """What one users.list said: account id -> whether it is a person. ``None``: Slack wouldn't list them."""

    people: dict[str, bool] | None
    read_at: float


def person(user: dict) -> bool:
    """Whether Slack's user object is a person coprod may DM."""
    return not (user.get("is_bot") or user.get("deleted") or user.get("id") == SLACKBOT)


def is_person(client: WebClient, user: str) -> bool:
    """Ask Slack about one account (users.info); when Slack can't say, assume a person."""
    if user == SLACKBOT:
        return False
    try:
        data = client.users_info(user=user)["user"]
    except SlackApiError:
        return True
    return person({**data, "id": user})


class Roster:
    """Each workspace's listing, kept ``keep`` seconds; bounded to ``workspaces`` listings."""

    def __init__(self, *, keep: float = KEEP_SECONDS, workspaces: int = WORKSPACES):
        self.keep = keep
        self.workspaces = workspaces
        self._lock = threading.Lock()
        self._listings: OrderedDict[str, Listing] = OrderedDict()
        self._reading: dict[str, threading.Event] = {}

    def people(self, client: WebClient, team: str, members: Iterable[str], *, now: float) -> list[str]:
        """The members who are people, in their order: from the workspace's listing (read now if none is
        fresh), and for members it doesn't name, from users.info."""
        listing = self.listing(client, team, now=now)
        known = listing.people or {}
        return [m for m in members if m != SLACKBOT and (known[m] if m in known else is_person(client, m))]

    def listing(self, client: WebClient, team: str, *, now: float) -> Listing:
        """The workspace's fresh listing, reading it if there is none (once, however many threads ask)."""
        while True:
            with self._lock:
                self._forget_stale(now)
                found = self._listings.get(team)
                if found is not None:
                    return found
                reading = self._reading.get(team)
                if reading is None:
                    reading = self._reading[team] = threading.Event()
                    break
            reading.wait(60)  # another round is reading it; then look again
        try:
            found = Listing(read_listing(client, team), now)
        finally:
            with self._lock:
                del self._reading[team]
                reading.set()
        with self._lock:
            self._listings[team] = found
            self._listings.move_to_end(team)
            while len(self._listings) > self.workspaces:
                self._listings.popitem(last=False)
        return found

    def _forget_stale(self, now: float) -> None:
        for team, listing in list(self._listings.items()):
            kept = self.keep if listing.people is not None else min(self.keep, FAILED_KEEP_SECONDS)
            if not listing.read_at <= now < listing.read_at + kept:
                del self._listings[team]


def read_listing(client: WebClient, team: str) -> dict[str, bool] | None:
    """Account id -> person, from users.list (up to MAX_PAGES pages); None when Slack won't list them."""
    people: dict[str, bool] = {}
    cursor = ""
    try:
        for _ in range(MAX_PAGES):
            page = client.users_list(limit=PAGE, cursor=cursor or None)
            for user in page.get("members") or []:
                if user.get("id"):
                    people[str(user["id"])] = person(user)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        else:
            log.info("team %s has more than %d accounts: members past them are looked up one by one", team, len(people))
    except (SlackApiError, *delivery.UNKNOWN_OUTCOME) as exc:
        log.warning(
            "users.list failed for team %s (%s): looking members up one by one",
            team,
            exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__,
        )
        return people or None
    return people
