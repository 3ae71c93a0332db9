"""Workspaces that removed coprod (several-workspace mode), and erasing a workspace's data.

When a workspace removes coprod, its data is kept for a grace period (``COPROD_ERASE_AFTER_DAYS``, 30 by
default), so adding coprod back brings every partnership back as it was; its schedules are paused meanwhile.
When the period is over, everything coprod holds for that workspace is erased: every row of every table
that names it, overwritten in the file (``secure_delete``) and gone from the WAL.
"""

from __future__ import annotations

from bot.store.db import Database

# Every table holding a workspace's rows, children before their parents; tests/test_workspaces.py checks that
# no table with a team_id column is missing.
WORKSPACE_TABLES = (
    "outbox",
    "responses",
    "nudges",
    "checkins",
    "action_events",
    "actions",
    "nudge_optouts",
    "pauses",
    "meetings",
    "posts",
    "schedules",
    "coordinators",
    "roles",
    "reflexivity_optouts",
    "users",
    "events_seen",
    "pictures",
    "involvement",
    "pay_rates",
    "pay_choices",
    "changes",
    "ledger_names",
    "report_texts",
    "partnerships",
    "removed_workspaces",
)
REMOVED = "app_uninstalled"  # the pause reason of a removed workspace's partnerships


class Workspaces:
    def __init__(self, db: Database):
        self.db = db

    def removed(self, team: str, *, now: int, erase_at: int) -> int:
        """The workspace removed coprod: pause its partnerships and keep its data until ``erase_at``. Slack's
        retries of the news change nothing: the first time counts. Returns when its data will be erased."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO removed_workspaces (team_id, removed_at, erase_at) VALUES (?, ?, ?)",
                (team, now, erase_at),
            )
            conn.execute(
                "UPDATE partnerships SET paused_reason = ? WHERE team_id = ? AND paused_reason IS NULL", (REMOVED, team)
            )
            row = conn.execute("SELECT erase_at FROM removed_workspaces WHERE team_id = ?", (team,)).fetchone()
        return int(row[0])

    def returned(self, team: str) -> bool:
        """The workspace added coprod again: nothing will be erased and its schedules resume. True when its
        data had been waiting for it."""
        with self.db.write() as conn:
            waiting = conn.execute("DELETE FROM removed_workspaces WHERE team_id = ?", (team,)).rowcount > 0
            conn.execute(
                "UPDATE partnerships SET paused_reason = NULL WHERE team_id = ? AND paused_reason = ?", (team, REMOVED)
            )
            kept = conn.execute("SELECT EXISTS (SELECT 1 FROM partnerships WHERE team_id = ?)", (team,)).fetchone()[0]
        return waiting and bool(kept)

    def erase_at(self, team: str) -> int | None:
        """When the workspace's data will be erased, if it removed coprod."""
        row = self.db.one("SELECT erase_at FROM removed_workspaces WHERE team_id = ?", (team,))
        return int(row[0]) if row else None

    def removed_list(self) -> list[tuple[str, int, int]]:
        """(workspace, removed at, erase at) of every workspace that removed coprod, soonest erasure first."""
        rows = self.db.query("SELECT team_id, removed_at, erase_at FROM removed_workspaces ORDER BY erase_at, team_id")
        return [(r["team_id"], r["removed_at"], r["erase_at"]) for r in rows]

    def due(self, *, now: int) -> list[str]:
        """The workspaces whose grace period is over (all workspaces: the scheduler's work list)."""
        rows = self.db.query("SELECT team_id FROM removed_workspaces WHERE erase_at <= ? ORDER BY team_id", (now,))
        return [r["team_id"] for r in rows]

    def erase(self, team: str, *, due_by: int | None = None) -> dict[str, int] | None:
        """Delete every row of this workspace, in every table, in one transaction; nothing of another workspace
        is touched. Deleted rows are overwritten in the file, and the WAL emptied. Returns rows per table.

        ``due_by``: only if the workspace removed coprod and its grace period ended by then (None otherwise, as
        when it came back in the meantime)."""
        with self.db.write() as conn:
            if (
                due_by is not None
                and not conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM removed_workspaces WHERE team_id = ? AND erase_at <= ?)",
                    (team, due_by),
                ).fetchone()[0]
            ):
                return None
            counts = {
                table: conn.execute(f"DELETE FROM {table} WHERE team_id = ?", (team,)).rowcount
                for table in WORKSPACE_TABLES
            }
        self.db.empty_wal()
        return counts
