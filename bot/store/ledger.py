"""The post ledger: scheduled posts claimed before they are made, events already seen, and a few settings
of the process itself (meta). It is how a post happens once across restarts and processes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from bot.store.db import BUSY_TIMEOUT_MS, Database, StoreError
from bot.store.partnerships import joined_columns
from bot.store.records import Partnership, ScheduledPartnership, ScheduleRow, from_row

# A scheduled post is tried at most this many times; a claim not finished within the lease is abandoned.
MAX_ATTEMPTS = 3
CLAIM_LEASE = 600
EVENT_MEMORY = 86_400  # Slack retries an event within minutes; a day is plenty
HEALTH_KEY = "health_checked_at"
# Planned fire times are written this many schedules to a transaction (a long downtime's skips included):
# a click's write waits for at most one such transaction (bot/store/db.py), a few ms at this size.
PLAN_BATCH = 50
# Posted and skipped rows long past are deleted this many at a time.
PRUNE_BATCH = 2_000


@dataclass
class Planned:
    """What the scheduler decided for one due schedule: fire times to skip (with why), fire times to claim,
    and the schedule's next fire time, replacing ``seen_next`` (None: it was to be worked out)."""

    p: Partnership
    kind: str
    seen_next: int | None
    next_fire_at: int
    skips: list[tuple[int, str]] = field(default_factory=list)
    claims: list[int] = field(default_factory=list)


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

    def take_due(self, plans: list[Planned], *, now: int) -> list[tuple[Planned, list[int]]]:
        """Record each plan at once: its skips written, its claims taken (attempt 1), its schedule moved on
        to its next fire time. A schedule changed since it was read (set again, paused, another process got
        there first) is left as it is and its plan dropped. Returns each plan kept with the fire times this
        call claimed."""
        kept: list[tuple[Planned, list[int]]] = []
        for start in range(0, len(plans), PLAN_BATCH):
            with self.db.write() as conn:
                for plan in plans[start : start + PLAN_BATCH]:
                    moved = conn.execute(
                        "UPDATE schedules SET next_fire_at = ? WHERE partnership_id = ? AND kind = ?"
                        " AND next_fire_at = ?",
                        (plan.next_fire_at, plan.p.id, plan.kind, -1 if plan.seen_next is None else plan.seen_next),
                    )
                    if not moved.rowcount:
                        continue
                    # Only the skips written now are kept in the plan: a fire time already in the ledger (posted
                    # by an earlier process, or seeded) is neither recorded again nor reported as skipped.
                    plan.skips[:] = [
                        (at, why)
                        for at, why in plan.skips
                        if conn.execute(
                            "INSERT OR IGNORE INTO posts (partnership_id, team_id, kind, fire_at, claimed_at, status,"
                            " detail) VALUES (?, ?, ?, ?, ?, 'skipped', ?)",
                            (plan.p.id, plan.p.team_id, plan.kind, at, now, why),
                        ).rowcount
                    ]
                    claimed = [
                        at
                        for at in plan.claims
                        if conn.execute(
                            "INSERT OR IGNORE INTO posts (partnership_id, team_id, kind, fire_at, claimed_at)"
                            " VALUES (?, ?, ?, ?, ?)",
                            (plan.p.id, plan.p.team_id, plan.kind, at, now),
                        ).rowcount
                    ]
                    kept.append((plan, claimed))
        return kept

    def open_claims(self, *, since: int, now: int) -> list[tuple[ScheduledPartnership, int]]:
        """Scheduled posts since ``since`` that may be claimed again (failed with tries left, or abandoned
        past their lease), with their schedule, for partnerships not paused whose schedule was set before
        the fire time (all workspaces). Read from the index of open claims alone."""
        rows = self.db.query(
            f"""
            SELECT {joined_columns()}, o.fire_at FROM posts o
            JOIN schedules s ON s.partnership_id = o.partnership_id AND s.kind = o.kind
            JOIN partnerships p ON p.id = o.partnership_id
            WHERE o.status IN ('claimed', 'failed') AND o.fire_at >= ? AND o.attempts < ?
              AND (o.status = 'failed' OR o.claimed_at < ?)
              AND p.paused_reason IS NULL AND s.set_at < o.fire_at
            ORDER BY o.fire_at
            """,
            (since, MAX_ATTEMPTS, now - CLAIM_LEASE),
        )
        return [(ScheduledPartnership(from_row(Partnership, r), from_row(ScheduleRow, r)), r["fire_at"]) for r in rows]

    def release_posts(self, keys: list[tuple[int, str, int]]) -> None:
        """Give back claims whose post never started (the process is stopping): each is claimed again, as
        the same attempt, by the next tick (after a restart)."""
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE posts SET status = 'failed', detail = 'stopped before posting', attempts = attempts - 1"
                " WHERE partnership_id = ? AND kind = ? AND fire_at = ? AND status = 'claimed'",
                keys,
            )

    def abandon_posts(self, keys: list[tuple[int, str, int]]) -> None:
        """Leave claims whose post was still waiting on Slack when the process stopped as failed attempts: the
        next start claims each again as a later attempt, which looks in the channel before posting."""
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE posts SET status = 'failed', detail = 'stopped while waiting for Slack'"
                " WHERE partnership_id = ? AND kind = ? AND fire_at = ? AND status = 'claimed'",
                keys,
            )

    def postpone_post(self, p: Partnership, *, kind: str, fire_at: int, until: int, detail: str) -> None:
        """A claimed post whose outcome can't be told before ``until`` (Slack asked to wait before its channel's
        history can be read): it stays claimed until then and is taken up again after, as a later attempt
        (which looks before posting). Waiting spends no try: at least one is always left for the look."""
        with self.db.write() as conn:
            conn.execute(
                """
                UPDATE posts SET status = 'claimed', claimed_at = ?, detail = ?, attempts = MIN(attempts, ?)
                WHERE partnership_id = ? AND kind = ? AND fire_at = ?
                """,
                (until - CLAIM_LEASE, detail, MAX_ATTEMPTS - 1, p.id, kind, fire_at),
            )

    def prune_posts(self, *, before: int) -> int:
        """Delete posted and skipped rows whose fire time is before ``before``, a batch per transaction (so
        the write lock is never held long); returns how many."""
        total = 0
        while True:
            with self.db.write() as conn:
                cur = conn.execute(
                    "DELETE FROM posts WHERE rowid IN (SELECT rowid FROM posts WHERE fire_at < ?"
                    " AND status IN ('posted', 'skipped') LIMIT ?)",
                    (before, PRUNE_BATCH),
                )
            total += cur.rowcount
            if cur.rowcount < PRUNE_BATCH:
                return total

    def settled_among(self, keys: list[tuple[int, str, int]], *, now: int) -> set[tuple[int, str, int]]:
        """Which of these (partnership id, kind, fire time) need no more work: posted, skipped, out of attempts,
        or claimed by someone still working on it. One look-up of the ledger's key each."""
        settled: set[tuple[int, str, int]] = set()
        for key in keys:
            row = self.db.one(
                "SELECT 1 FROM posts WHERE partnership_id = ? AND kind = ? AND fire_at = ?"
                " AND (status IN ('posted', 'skipped') OR attempts >= ? OR (status = 'claimed' AND claimed_at >= ?))",
                (*key, MAX_ATTEMPTS, now - CLAIM_LEASE),
            )
            if row:
                settled.add(key)
        return settled

    def given_up_among(self, keys: list[tuple[int, str, int]]) -> set[tuple[int, str, int]]:
        """Which of these (partnership id, kind, fire time) failed every try they had."""
        given_up: set[tuple[int, str, int]] = set()
        for key in keys:
            row = self.db.one(
                "SELECT 1 FROM posts WHERE partnership_id = ? AND kind = ? AND fire_at = ? AND status = 'failed'"
                " AND attempts >= ?",
                (*key, MAX_ATTEMPTS),
            )
            if row:
                given_up.add(key)
        return given_up

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
