"""`coprod ledger`: the partnership's involvement ledger for finance, as a CSV only its owner can read, naming
people; and no table of the record of involvement can be joined to any answer, even with the database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from bot.store import Store

TEAM, CHANNEL = "T0001", "C0001"


def test_coprod_ledger_writes_the_partnerships_lines_with_names_for_finance(store: Store, tmp_path: Path) -> None:
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UC", now=0)
    inv = store.involvement
    inv.log_meeting(p, held_on="2026-03-02", minutes=120, stage="analysis", people=["UA", "UB"], logged_by="UA", now=0)
    inv.log_work(p, "UB", done_on="2026-03-03", minutes=30, what='=HYPERLINK("x") read the leaflet', now=0)
    inv.set_rate(p, activity="", pence_per_hour=2000, currency="GBP", set_by="UC")
    inv.set_rate(p, activity="meeting", pence_per_hour=3000, currency="GBP", set_by="UC")
    inv.set_choice(p, "UA", "voucher")
    inv.remember_names(p, {"UA": "Ada Lovelace"})
    inv.mark_paid(p, "UA", paid_on="2026-03-10", by="UC")
    out = tmp_path / "ledger.csv"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ledger", "--team", TEAM, "--channel", CHANNEL, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COPROD_DB": str(store.path)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "3 lines" in result.stdout and (out.stat().st_mode & 0o777) == 0o600
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["name"], r["kind"], r["hours"], r["choice"], r["owed"], r["paid_on"]) for r in rows] == [
        ("Ada Lovelace", "meeting", "2.00", "voucher", "60.00", "2026-03-10"),
        ("UB", "meeting", "2.00", "paid", "60.00", ""),
        ("UB", "work", "0.50", "paid", "10.00", ""),
    ]
    assert rows[2]["what"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it


def test_no_involvement_table_has_a_column_that_joins_to_answers(store: Store) -> None:
    """The ledger names people, so it holds no responder hash, check-in or answer id (docs/rules.md)."""
    joins = {"responder", "checkin_id", "response_id", "answer_id", "person"}
    for table in ("involvement", "pay_rates", "pay_choices", "changes", "ledger_names", "report_texts"):
        columns = {row[1] for row in store.db.query(f"PRAGMA table_info({table})")}
        assert columns and not columns & joins, table
