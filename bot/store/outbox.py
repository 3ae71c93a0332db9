"""The outbox: what coprod still has to send to Slack after a request was acknowledged, for the worker.

A listener writes its reply here, in the same transaction as what it replies to (a click's answer), and
acknowledges; the worker process (bot/runtime/sender.py) sends each row when it falls due and deletes it.
One row per key: a later write replaces a waiting one, so of a double click's two replies only the one
committed last is sent. Rows hold no token (the worker finds each workspace's own) and no user id: a reply's
key is the answer's per-check-in label. A row whose sending failed is deleted and logged, as before the
outbox; one the worker had not reached when it stopped is sent after it starts again.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store.db import Database

PUT = """
    INSERT INTO outbox (key, team_id, channel_id, kind, target, body, due, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
        team_id = excluded.team_id, channel_id = excluded.channel_id, kind = excluded.kind, target = excluded.target,
        body = excluded.body, due = excluded.due, version = excluded.version
"""
REPLY = "reply"  # ``target`` is a response_url; ``body`` is posted to it
CALL = "call"  # ``target`` is a Web API method; ``body`` its arguments, sent with the workspace's token


@dataclass(frozen=True)
class Letter:
    """One row of the outbox: what to send, where, and for which workspace and channel."""

    key: str
    team_id: str
    channel_id: str
    kind: str
    target: str
    body: dict[str, Any]
    version: int


@dataclass(frozen=True)
class Reply:
    """A reply through a request's response_url, sent ``delay`` seconds after it is committed."""

    url: str
    body: dict[str, Any]
    channel: str
    delay: float


class Outbox:
    def __init__(self, db: Database):
        self.db = db
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_put(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` after each row this process puts (an in-process sender then needs no polling)."""
        with self._lock:
            self._listeners.append(wake)

    def put(
        self, key: str, *, team: str, channel: str, kind: str, target: str, body: dict[str, Any], due: float
    ) -> None:
        """Add a row in a transaction of its own, replacing a waiting one with the same ``key``."""
        with self.db.write() as conn:
            _insert(conn, key, team, channel, kind, target, body, due)
        self.wake()

    def put_reply(self, conn: sqlite3.Connection, key: str, team: str, reply: Reply) -> None:
        """Add a reply inside ``conn``'s transaction (the answer's own; the caller wakes the sender after
        committing)."""
        _insert(conn, key, team, reply.channel, REPLY, reply.url, reply.body, time.time() + reply.delay)

    def wake(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for wake in listeners:
            wake()

    def due(self, now: float, *, limit: int, skip: frozenset[tuple[str, int]] = frozenset()) -> list[Letter]:
        """Rows due by ``now``, oldest due first, leaving out the versions in ``skip`` (being sent)."""
        rows = self.db.query(
            "SELECT key, team_id, channel_id, kind, target, body, version FROM outbox WHERE due <= ? "
            "ORDER BY due LIMIT ?",
            (now, limit + len(skip)),
        )
        letters = [
            Letter(r["key"], r["team_id"], r["channel_id"], r["kind"], r["target"], json.loads(r["body"]), r["version"])
            for r in rows
            if (r["key"], r["version"]) not in skip
        ]
        return letters[:limit]

    def next_due(self, after: float) -> float | None:
        """When the next row falls due after ``after`` (rows due already are being sent, or were just read)."""
        row = self.db.one("SELECT MIN(due) FROM outbox WHERE due > ?", (after,))
        return None if row is None or row[0] is None else float(row[0])

    def done(self, letters: list[Letter]) -> None:
        """Delete rows that were sent (or given up on), in one transaction, each unless a later write replaced
        it meanwhile."""
        with self.db.write() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE key = ? AND version = ?", [(letter.key, letter.version) for letter in letters]
            )

    def postpone(self, letter: Letter, due: float) -> None:
        """Send a row again at ``due`` (Slack asked to wait), unless a later write replaced it meanwhile."""
        with self.db.write() as conn:
            conn.execute("UPDATE outbox SET due = ? WHERE key = ? AND version = ?", (due, letter.key, letter.version))

    def hurry(self) -> None:
        """Everything waiting is due now (stopping, or a test draining)."""
        with self.db.write() as conn:
            conn.execute("UPDATE outbox SET due = 0 WHERE due > 0")
        self.wake()

    def waiting(self) -> int:
        row = self.db.one("SELECT COUNT(*) FROM outbox")
        return int(row[0]) if row else 0


def _insert(
    conn: sqlite3.Connection,
    key: str,
    team: str,
    channel: str,
    kind: str,
    target: str,
    body: dict[str, Any],
    due: float,
) -> None:
    """One row, replacing a waiting one with the same ``key``; a fresh version tells the two apart."""
    text = json.dumps(body, separators=(",", ":"))
    conn.execute(PUT, (key, team, channel, kind, target, text, due, secrets.randbits(62)))
