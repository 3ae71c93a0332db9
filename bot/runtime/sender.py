"""Sending what the outbox holds (bot/store/outbox.py): clicks' confirmations and answer counts, after the ack.

Runs in the worker process (bot/runtime/worker.py), or in the web process's own threads when tests drive
coprod in one process. A few threads send at once; rows sent are deleted together, a few times a second (one
transaction a reply would make clicks wait for the worker's writes), unless a later write replaced one
meanwhile (that one is sent next). A send Slack refuses, or that fails, is logged with its workspace and
channel and not tried again: the answer itself was stored before the acknowledgement.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.slack import delivery
from bot.store import Store
from bot.store.db import background
from bot.store.outbox import REPLY, Letter

log = logging.getLogger(__name__)
SENDERS = 4  # rows sent at once (each waits on Slack)
BATCH = 64  # rows read at a time
LOOK_EVERY = 0.25  # seconds between looks at the outbox when no write in this process wakes the sender
CLEAR_EVERY = 0.25  # seconds between the deletions of rows sent (each a write the web process may wait for)
SEND_TIMEOUT = 10


class OutboxSender:
    """Sends each outbox row when it falls due, on a few threads of its own."""

    def __init__(self, store: Store, client_for: Callable[[str], WebClient | None], *, look_every: float = LOOK_EVERY):
        self.store = store
        self.client_for = client_for
        self.look_every = look_every
        self._cond = threading.Condition()
        self._woken = False
        self._open = True
        self._sending: set[tuple[str, int]] = set()  # being sent, or sent and not yet deleted
        self._sent: list[Letter] = []  # sent, to delete
        self._cleared_at = 0.0
        self._hurry = False  # draining: delete what was sent at once
        self._callers: dict[tuple[str, str | None], WebClient] = {}
        self._pool = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="coprod-send")
        self._thread: threading.Thread | None = None
        store.outbox.on_put(self.wake)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="coprod-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Send everything waiting now and wait until it is sent; False if ``timeout`` passed first."""
        self.store.outbox.hurry()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            try:
                while self._sending or self.store.outbox.waiting():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.05))
            finally:
                self._hurry = False
        return True

    def close(self, timeout: float) -> None:
        """Send what is due within ``timeout`` seconds, then stop; rows left wait for the next start."""
        if self._thread is not None:
            self.drain(timeout)
        with self._cond:
            self._open = False
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._open:
                    return
                clear = self._due_to_clear()
            if clear:
                self._clear(clear)
            with self._cond:
                skip = frozenset(self._sending)
            try:
                now = time.time()
                letters = self.store.outbox.due(now, limit=BATCH, skip=skip)
                upcoming = self.store.outbox.next_due(now) if not letters else None
            except Exception:  # the database closing under a stopping process, or busy: look again
                if not self._open:
                    return
                log.exception("could not read the outbox")
                letters, upcoming = [], None
            with self._cond:
                for letter in letters:
                    self._sending.add((letter.key, letter.version))
                    self._pool.submit(self._send, letter)
                if letters:
                    continue
                wait = self.look_every
                if upcoming is not None:
                    wait = max(0.0, min(wait, upcoming - time.time()))
                if self._sent:
                    wait = min(wait, max(0.0, self._cleared_at + CLEAR_EVERY - time.monotonic()))
                if not self._woken:
                    self._cond.wait(wait)
                self._woken = False

    def _due_to_clear(self) -> list[Letter]:
        """The rows sent, when it is time to delete them (the caller holds the condition)."""
        if not self._sent or not (self._hurry or time.monotonic() - self._cleared_at >= CLEAR_EVERY):
            return []
        sent, self._sent = self._sent, []
        self._cleared_at = time.monotonic()
        return sent

    def _clear(self, sent: list[Letter]) -> None:
        try:
            background(self.store.outbox.done, sent)
        except Exception:
            if self._open:
                log.exception("could not delete %s rows sent from the outbox", len(sent))
        with self._cond:
            self._sending.difference_update((letter.key, letter.version) for letter in sent)
            self._cond.notify_all()

    def _send(self, letter: Letter) -> None:
        later: float | None = None
        try:
            later = background(self._deliver, letter)
            if later is not None:  # Slack asked to wait: the row waits (a later count may replace it meanwhile)
                background(self.store.outbox.postpone, letter, time.time() + later)
        except Exception:
            log.exception("could not send an outbox row for team %s", letter.team_id)
            later = None
        finally:
            with self._cond:
                if later is None:
                    self._sent.append(letter)
                else:
                    self._sending.discard((letter.key, letter.version))
                self._cond.notify_all()

    def _deliver(self, letter: Letter) -> float | None:
        """Send one row; the seconds Slack asked to wait before a Web API call is made again, if it did."""
        where = f"team {letter.team_id} channel {letter.channel_id}"
        if letter.kind == REPLY:
            try:
                response = WebhookClient(letter.target, timeout=SEND_TIMEOUT).send_dict(letter.body)
            except Exception as exc:  # one failed reply must not stop the others
                log.warning("could not confirm a click for %s: %s", where, type(exc).__name__)
                return None
            if response.status_code != 200:
                log.warning("could not confirm a click for %s: Slack answered HTTP %s", where, response.status_code)
            return None
        client = self._caller(letter.team_id)
        if client is None:  # the workspace removed coprod meanwhile
            return None
        try:
            client.api_call(letter.target, json=letter.body)
        except SlackApiError as exc:
            if exc.response.status_code == 429:  # not slept through on a sending thread: the row waits instead
                return delivery.retry_after(exc)
            log.warning("could not call %s for %s: %s", letter.target, where, exc.response.get("error"))
        except Exception as exc:
            log.warning("could not call %s for %s: %s", letter.target, where, type(exc).__name__)
        return None

    def _caller(self, team: str) -> WebClient | None:
        """The workspace's client, answering a 429 at once rather than sleeping through it (one per token)."""
        client = self.client_for(team)
        if client is None:
            return None
        key = (team, client.token)
        with self._cond:
            caller = self._callers.get(key)
            if caller is None:
                caller = self._callers[key] = delivery.without_rate_limit_waits(client)
            return caller
