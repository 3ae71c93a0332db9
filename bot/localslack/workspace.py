"""What a Slack workspace holds, as Slack keeps it: people, channels, messages, App Home tabs, modals and files.

One lock guards it all; every change bumps ``version`` and wakes whoever waits for one (the page's long
polls). Messages are kept per conversation (a channel id, or ``D<user>`` for a person's DM with the app),
oldest first, each with Slack's ``ts`` from the workspace's clock. Ephemeral messages, modals, triggers
and response URLs live only as long as the process, as they do in Slack; the rest can be saved to a file
(0600) and read back, so a local workspace keeps its history across restarts (``saving``).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.localslack.saving import Saving

TEAM_ID = "T1"
TEAM_NAME = "Team One"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A1"
# A trigger_id expires 3 seconds after the interaction that made it and can be exchanged once
# (https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses).
TRIGGER_SECONDS = 3.0
# A response_url can be used up to 5 times within 30 minutes
# (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses).
HOOK_USES = 5
HOOK_SECONDS = 30 * 60.0


def _manifest_scopes() -> frozenset[str]:
    """The bot scopes manifest.json asks for (coprod's own, when the file isn't beside the package)."""
    try:
        data = json.loads((Path(__file__).resolve().parents[2] / "manifest.json").read_text(encoding="utf-8"))
        return frozenset(str(s) for s in data["oauth_config"]["scopes"]["bot"])
    except (OSError, ValueError, KeyError, TypeError):
        from bot.slack.installs import SCOPES  # the same list; tests/test_installs.py keeps them equal

        return frozenset(SCOPES)


BOT_SCOPES = _manifest_scopes()


def dm_of(user: str) -> str:
    """The conversation id of a person's DM with the app (posting to a user id lands there, as on Slack)."""
    return "D" + user


def tz_offset(tz: str) -> int:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def copy(data: Any) -> Any:
    """A deep copy of JSON data (what leaves the workspace never aliases what it keeps)."""
    return json.loads(json.dumps(data))


@dataclass
class Ephemeral:
    """A message only ``user`` sees, in ``conv``, until the page is closed."""

    key: str
    conv: str
    user: str
    message: dict[str, Any]
    rev: int = 1


@dataclass
class Hook:
    """What a response_url answers for: a command or click by ``user`` in ``conv``, and the message it came
    from (``source_ts`` in the conversation, or ``source_ephemeral``), which ``replace_original`` replaces."""

    conv: str
    user: str
    source_ts: str | None = None
    source_ephemeral: str | None = None
    label: str = ""  # a test's name for it (``SlackStub.response_url(key)``); the recorded calls' ``_key``
    uses: int = 0
    expires: float = 0.0  # monotonic; set when issued


@dataclass
class Modal:
    view: dict[str, Any]
    user: str | None  # None: opened with a trigger this workspace never gave out (tests)
    errors: dict[str, str] = field(default_factory=dict)
    rev: int = 1


class Workspace(Saving):
    """A Slack workspace's state; see the module docstring. Methods that change it take the lock."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        team_name: str = TEAM_NAME,
        clock: Callable[[], float] = time.time,
        path: Path | None = None,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.clock = clock  # seconds since the epoch: each new message's ts
        self.path = path
        self.bot_token: str | None = None  # when set, Web API calls must carry it
        self.scopes: set[str] = set(BOT_SCOPES)  # what the app was granted: manifest.json's bot scopes
        self.lock = threading.Condition(threading.RLock())
        self.version = 0
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}  # conversation -> messages, oldest first
        self.revs: dict[tuple[str, str], int] = {}  # (conversation, ts) -> how often the message changed
        self.ephemerals: list[Ephemeral] = []
        self.homes: dict[str, dict[str, Any]] = {}  # user -> the App Home view published for them
        self.home_revs: dict[str, int] = {}
        self.modals: dict[str, Modal] = {}  # view id -> an open modal
        self.files: dict[str, dict[str, Any]] = {}  # file id -> its record, content included
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger id -> (user, expires at, monotonic)
        self.exchanged: set[str] = set()  # trigger ids already used
        self.hooks: dict[str, Hook] = {}  # response_url key -> what it answers for
        self._last_ts = 0  # microseconds: each new ts is later than the one before
        self._ids = itertools.count(1)
        self._dirty = False
        self._saver: threading.Thread | None = None
        self._closing = threading.Event()
        if path is not None and path.exists():
            self._load(path)

    # ---- changes -------------------------------------------------------------------------------------
    def changed(self) -> None:
        """Something visible changed: wake the page's long polls (call with the lock held)."""
        with self.lock:
            self.version += 1
            self._dirty = True
            self.lock.notify_all()

    def wait_for_change(self, after: int, timeout: float) -> int:
        """Block until ``version`` passes ``after`` (or ``timeout`` seconds); the version then."""
        with self.lock:
            self.lock.wait_for(lambda: self.version > after, timeout)
            return self.version

    def new_id(self, prefix: str) -> str:
        """A new id such as ``F0007A1B2C3``: in order of making, and unlike any made before a restart."""
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(3).upper()}"

    def next_ts(self) -> str:
        """Slack's ts: its clock's time, unique in a channel; here each is also later than the last."""
        with self.lock:
            micro = max(int(self.clock() * 1_000_000), self._last_ts + 100)
            self._last_ts = micro
            return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    # ---- people and channels -------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_owner: bool = False,
        name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
        title: str = "",
    ) -> dict[str, Any]:
        """Add (or replace) a person that users.info and users.list answer with; returns the user object."""
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": tz_offset(tz),
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "deleted": deleted,
            "profile": {
                "display_name": display_name if display_name is not None else name,
                "real_name": real_name,
                "title": title,
            },
        }
        with self.lock:
            self.users[user_id] = user
            self.changed()
        return user

    def add_channel(
        self, channel_id: str, members: list[str], name: str = "partnership", archived: bool = False
    ) -> None:
        """Add (or replace) a channel that conversations.* and users.conversations answer with."""
        with self.lock:
            self.channels[channel_id] = {"id": channel_id, "name": name, "members": list(members), "archived": archived}
            self.changed()

    # ---- messages ------------------------------------------------------------------------------------
    def add_message(self, conv: str, message: dict[str, Any]) -> dict[str, Any]:
        """Keep ``message`` (which has its ``ts``) in ``conv``, in ts order; returns it."""
        with self.lock:
            kept = self.history.setdefault(conv, [])
            bisect.insort(kept, message, key=lambda m: float(m["ts"]))
            self.revs[(conv, message["ts"])] = 1
            self.changed()
            return message

    def find(self, conv: str, ts: str) -> dict[str, Any] | None:
        with self.lock:
            return next((m for m in self.history.get(conv, []) if m["ts"] == ts), None)

    def edit(self, conv: str, ts: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Change a message's fields in place (chat.update, replace_original); None when there is none."""
        with self.lock:
            kept = self.find(conv, ts)
            if kept is None:
                return None
            kept.update(fields)
            kept["edited"] = {"user": kept.get("user", BOT_USER_ID), "ts": self.next_ts()}
            self.revs[(conv, ts)] = self.revs.get((conv, ts), 1) + 1
            self.changed()
            return kept

    def delete(self, conv: str, ts: str) -> bool:
        with self.lock:
            kept = self.find(conv, ts)
            if kept is None:
                return False
            self.history[conv].remove(kept)
            self.revs.pop((conv, ts), None)
            self.changed()
            return True

    def messages(self, conv: str) -> list[dict[str, Any]]:
        """A copy of the messages now in ``conv`` (a user id means their DM), oldest first."""
        if conv[:1] in {"U", "W"}:
            conv = dm_of(conv)
        with self.lock:
            return copy(self.history.get(conv, []))

    def add_ephemeral(self, conv: str, user: str, message: dict[str, Any]) -> Ephemeral:
        with self.lock:
            shown = Ephemeral(self.new_id("E"), conv, user, message)
            self.ephemerals.append(shown)
            self.changed()
            return shown

    def ephemeral(self, key: str) -> Ephemeral | None:
        with self.lock:
            return next((e for e in self.ephemerals if e.key == key), None)

    def drop_ephemeral(self, key: str) -> None:
        with self.lock:
            self.ephemerals = [e for e in self.ephemerals if e.key != key]
            self.changed()

    # ---- interactions --------------------------------------------------------------------------------
    def new_trigger(self, user: str) -> str:
        with self.lock:
            trigger = f"{next(self._ids)}.{int(self.clock())}.{secrets.token_hex(8)}"
            self.triggers[trigger] = (user, time.monotonic() + TRIGGER_SECONDS)
            return trigger

    def take_trigger(self, trigger: str) -> tuple[str | None, str | None]:
        """Exchange ``trigger`` (views.open, views.push): (its person, None), or (None, Slack's error) for one it
        never issued, already exchanged or expired (https://docs.slack.dev/reference/methods/views.open)."""
        with self.lock:
            if trigger in self.exchanged:
                return None, "exchanged_trigger_id"
            known = self.triggers.pop(trigger, None)
            if known is None:
                return None, "invalid_trigger_id"
            self.exchanged.add(trigger)
            if known[1] < time.monotonic():
                return None, "expired_trigger_id"
            return known[0], None

    def new_hook(self, hook: Hook, base: str) -> str:
        """A response_url for ``hook``, good for :data:`HOOK_USES` posts within :data:`HOOK_SECONDS`."""
        with self.lock:
            key = self.new_id("R")
            hook.expires = time.monotonic() + HOOK_SECONDS
            self.hooks[key] = hook
            return f"{base}response/{key}"

    def use_hook(self, key: str) -> tuple[Hook | None, str | None]:
        """Count a post to response URL ``key``: (its hook, None), or (None, why Slack refuses it)."""
        with self.lock:
            hook = self.hooks.get(key)
            if hook is None:
                return None, "no_service"
            if hook.expires < time.monotonic():
                return None, "expired_url"
            if hook.uses >= HOOK_USES:
                return None, "used_url"
            hook.uses += 1
            return hook, None

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Hold the lock for a batch of changes (the seeded history), waking the page once at the end."""
        with self.lock:
            yield
            self.changed()
