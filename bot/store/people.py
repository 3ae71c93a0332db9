"""The people of a partnership: coordinators, roles, reflection opt-outs, and what Slack told us of each."""

from __future__ import annotations

from bot.store.db import Database
from bot.store.records import Partnership, UserInfo


class People:
    def __init__(self, db: Database):
        self.db = db

    def coordinators(self, p: Partnership) -> list[str]:
        """The partnership's coordinators' user ids, first added first."""
        rows = self.db.query("SELECT user_id FROM coordinators WHERE partnership_id = ? ORDER BY rowid", (p.id,))
        return [r["user_id"] for r in rows]

    def is_coordinator(self, p: Partnership, user: str) -> bool:
        return (
            self.db.one("SELECT 1 FROM coordinators WHERE partnership_id = ? AND user_id = ?", (p.id, user)) is not None
        )

    def coordinates_in_workspace(self, team: str, user: str) -> bool:
        """Whether the person is a coordinator of any partnership in the workspace (forget-me keeps that)."""
        return self.db.one("SELECT 1 FROM coordinators WHERE team_id = ? AND user_id = ?", (team, user)) is not None

    def add_coordinator(self, p: Partnership, user: str, *, added_by: str) -> bool:
        """False when they already were one."""
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO coordinators (partnership_id, team_id, user_id, added_by) VALUES (?, ?, ?, ?)",
                (p.id, p.team_id, user, added_by),
            )
            return cur.rowcount > 0

    def remove_coordinator(self, p: Partnership, user: str) -> bool:
        """False when they weren't one."""
        with self.db.write() as conn:
            cur = conn.execute("DELETE FROM coordinators WHERE partnership_id = ? AND user_id = ?", (p.id, user))
            return cur.rowcount > 0

    def set_role(self, p: Partnership, user: str, role: str) -> None:
        """Record someone's role (carer, clinician…), so the summary can notice whose voices are missing."""
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO roles (partnership_id, team_id, user_id, role) VALUES (?, ?, ?, ?)
                ON CONFLICT (partnership_id, user_id) DO UPDATE SET role = excluded.role
                """,
                (p.id, p.team_id, user, role),
            )

    def roles(self, p: Partnership) -> dict[str, str]:
        """user id -> role."""
        rows = self.db.query("SELECT user_id, role FROM roles WHERE partnership_id = ?", (p.id,))
        return {r["user_id"]: r["role"] for r in rows}

    def role(self, partnership_id: int, user: str) -> str | None:
        """One person's role in the partnership with this id, if recorded."""
        row = self.db.one("SELECT role FROM roles WHERE partnership_id = ? AND user_id = ?", (partnership_id, user))
        return row["role"] if row else None

    def set_reflexivity_optout(self, p: Partnership, user: str, opted_out: bool) -> None:
        """Stop (or restart) someone's private reflection prompts in this partnership."""
        with self.db.write() as conn:
            if opted_out:
                conn.execute(
                    "INSERT OR IGNORE INTO reflexivity_optouts (partnership_id, team_id, user_id) VALUES (?, ?, ?)",
                    (p.id, p.team_id, user),
                )
            else:
                conn.execute("DELETE FROM reflexivity_optouts WHERE partnership_id = ? AND user_id = ?", (p.id, user))

    def reflexivity_optouts(self, p: Partnership) -> set[str]:
        rows = self.db.query("SELECT user_id FROM reflexivity_optouts WHERE partnership_id = ?", (p.id,))
        return {r["user_id"] for r in rows}

    def remember_user(self, team: str, user: str, *, timezone: str | None, is_admin: bool, now: int) -> None:
        """Keep what Slack said of someone (their timezone, whether they are a workspace admin)."""
        with self.db.write() as conn:
            conn.execute(
                """
                INSERT INTO users (team_id, user_id, timezone, is_admin, fetched_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (team_id, user_id) DO UPDATE SET
                    timezone = excluded.timezone, is_admin = excluded.is_admin, fetched_at = excluded.fetched_at
                """,
                (team, user, timezone, int(is_admin), now),
            )

    def user(self, team: str, user: str) -> UserInfo | None:
        row = self.db.one(
            "SELECT user_id, timezone, is_admin, fetched_at FROM users WHERE team_id = ? AND user_id = ?", (team, user)
        )
        return UserInfo(row["user_id"], row["timezone"], bool(row["is_admin"]), row["fetched_at"]) if row else None
