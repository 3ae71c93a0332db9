"""The post ledger: scheduled posts claimed before they are made, events already seen, and a few settings
of the process itself (meta). It is how a post happens once across restarts and processes."""

from __future__ import annotations

import sqlite3

from bot.store.db import BUSY_TIMEOUT_MS, Database, StoreError
from bot.store.records import Partnership

# A scheduled post is tried at most this many times; a claim not finished within the lease is abandoned.
MAX_ATTEMPTS = 3
CLAIM_LEASE = 600
EVENT_MEMORY = 86_400  # Slack retries an event within minutes; a day is plenty
HEALTH_KEY = "health_checked_at"


class Ledger:
    def __init__(self, db: Database):
        self.db = db

    def claim_post(self, p: Partnership, *, kind: str, fire_at: int, now: int) -> int:
        """Claim the right to make one scheduled post; returns which attempt this is (1 for the first), or 0
        when someone already has it.

        A claim whose post failed (up to MAX_ATTEMPTS tries) or whose claimer vanished without finishing
        (after CLAIM_LEASE seconds) can be claimed again. An attempt after the first may find that an earlier
        one reached Slack after all (a timeout, a crash), so the poster looks before posting."""
        with self.db.write() as conn:
            cur = conn.execute(
                """
                INSERT OR IGNORE INTO posts (partnership_id, team_id, kind, fire_at, claimed_at)
                VALUES (?, ?, ?, ?, ?)
                """,
                (p.id, p.team_id, kind, fire_at, now),
            )
            if cur.rowcount:
                return 1
            row = conn.execute(
                """
                UPDATE posts SET status = 'claimed', claimed_at = ?, attempts = attempts + 1
                WHERE partnership_id = ? AND kind = ? AND fire_at = ? AND attempts < ?
                  AND (status = 'failed' OR (status = 'claimed' AND claimed_at < ?))
                RETURNING attempts
                """,
                (now, p.id, kind, fire_at, MAX_ATTEMPTS, now - CLAIM_LEASE),
            ).fetchone()
            return int(row[0]) if row else 0

    def settled_posts(self, *, since: int, now: int) -> set[tuple[int, str, int]]:
        """(partnership id, kind, fire time) of every post since ``since`` that needs no more work:
        posted, skipped, out of attempts, or claimed by someone still working on it (all workspaces)."""
        rows = self.db.query(
            """
            SELECT partnership_id, kind, fire_at FROM posts
            WHERE fire_at >= ? AND (status IN ('posted', 'skipped') OR attempts >= ?
                                    OR (status = 'claimed' AND claimed_at >= ?))
            """,
            (since, MAX_ATTEMPTS, now - CLAIM_LEASE),
        )
        return {(r["partnership_id"], r["kind"], r["fire_at"]) for r in rows}

    def finish_post(self, p: Partnership, *, kind: str, fire_at: int, status: str, detail: str = "") -> None:
        """Record how a claimed post ended: posted, skipped or failed (with Slack's error)."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE posts SET status = ?, detail = ? WHERE partnership_id = ? AND kind = ? AND fire_at = ?",
                (status, detail, p.id, kind, fire_at),
            )

    def posts(self, p: Partnership, kind: str | None = None) -> list[tuple[str, int, str]]:
        """(kind, fire time, status) of the partnership's scheduled posts, oldest first."""
        rows = self.db.query(
            "SELECT kind, fire_at, status FROM posts WHERE partnership_id = ? AND (? IS NULL OR kind = ?)"
            " ORDER BY fire_at",
            (p.id, kind, kind),
        )
        return [(r["kind"], r["fire_at"], r["status"]) for r in rows]

    def first_time_event(self, team: str, event_id: str, *, now: int) -> bool:
        """True the first time an event id is seen; Slack's retries of it answer False."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM events_seen WHERE seen_at < ?", (now - EVENT_MEMORY,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO events_seen (team_id, event_id, seen_at) VALUES (?, ?, ?)", (team, event_id, now)
            )
            return cur.rowcount > 0

    def meta(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def prove_writable(self, *, now: int, wait: float) -> None:
        """Write the time of this health check over the last one's (one meta row: the file doesn't grow),
        committed as every write is; waits at most ``wait`` seconds for another process's write lock.
        StoreError with SQLite's short reason when the database can't be written."""
        try:
            conn = self.db.conn
        except StoreError:
            raise StoreError("the database is closed") from None
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            self.set_meta(HEALTH_KEY, str(now))
        except sqlite3.Error as exc:
            raise StoreError(f"the database cannot be written: {exc}") from None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
