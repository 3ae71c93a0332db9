"""The store's verbs for a workspace that removed coprod: keeping its data for a while, and erasing it, by
workspace, from every table, leaving every other workspace's rows exactly as they were."""

from __future__ import annotations

from datetime import date

from bot.store import Store
from bot.store.workspaces import REMOVED, WORKSPACE_TABLES
from tests.support.stored import file_bytes, rows

A, B = "T0GONE7WS", "T0STAYS8WS"
NOW = 1_800_000_000


def fill(store: Store, team: str, channel: str = "C1") -> None:
    """One partnership of ``team`` with a row in every table that can hold one."""
    p = store.partnerships.ensure(team, channel, timezone="UTC", created_by=f"U{team}1", now=NOW)
    store.partnerships.set_schedule(
        p, kind="checkins", cadence="weekly", weekday=1, at_minute=600, anchor="2026-01-06", set_by=f"U{team}1", now=NOW
    )
    store.people.set_role(p, f"U{team}2", "carer")
    store.people.set_reflexivity_optout(p, f"U{team}3", True)
    store.people.remember_user(team, f"U{team}1", timezone="UTC", is_admin=False, now=NOW)
    checkin = store.answers.record_checkin(p, facilitator_id="power-imbalances", level_id="group", asked_at=NOW)
    store.answers.record_response(team, checkin, f"U{team}2", rating=4, now=NOW + 1, comment=f"words of {team}")
    store.activity.log_meeting(p, held_on="2027-01-15", user=f"U{team}1", now=NOW)
    store.ledger.claim_post(p, kind="summary", fire_at=NOW, now=NOW)
    store.ledger.first_time_event(team, f"Ev{team}", now=NOW)
    store.partnerships.set_picture(p, file_id=f"F{team}{channel}", alt_text="the picture", now=NOW)
    store.plans.plan(
        p,
        what="rotate who chairs",
        facilitator_id="power-imbalances",
        level_id="group",
        lead=f"U{team}2",
        due_on=None,
        planned_by=f"U{team}1",
        now=NOW,
    )
    store.nudges.claim(team, checkin, f"U{team}3", now=NOW)
    store.nudges.set_optout(p, f"U{team}3", True)
    store.partnerships.pause(p, until_on=date(2027, 2, 1), ends_at=NOW + 86_400, set_by=f"U{team}1", now=NOW)
    # The record of involvement: who came and was paid, the rate card, "you said, we changed", the report's words.
    store.involvement.log_meeting(
        p, held_on="2027-01-15", minutes=60, stage="design", people=[f"U{team}2"], logged_by=f"U{team}1", now=NOW
    )
    store.involvement.remember_names(p, {f"U{team}2": f"name of {team}"})
    store.involvement.set_rate(p, activity="meeting", pence_per_hour=2500, currency="GBP", set_by=f"U{team}1")
    store.involvement.set_choice(p, f"U{team}2", "voucher")
    store.involvement.record_change(
        p,
        changed_on="2027-01-16",
        source="level",
        said=f"words of {team}",
        what_changed="we met the council",
        difference="the study reaches further",
        recorded_by=f"U{team}1",
        now=NOW,
    )
    store.involvement.set_text(p, "aim", f"words of {team}")
    # A reply still waiting in the outbox (bot/store/outbox.py) for the worker to send.
    store.outbox.put(
        f"reply:{team}:{channel}",
        team=team,
        channel=channel,
        kind="reply",
        target="https://hooks.slack.test/r",
        body={"text": "thanks"},
        due=NOW,
    )


def counts(store: Store, team: str) -> dict[str, int]:
    return {t: rows(store.path, f"SELECT COUNT(*) FROM {t} WHERE team_id = ?", team)[0][0] for t in WORKSPACE_TABLES}


def test_every_table_that_names_a_workspace_is_erased(store):
    """No table with a team_id column is left out of the erasure (a new table must be added to it)."""
    tables = [name for (name,) in rows(store.path, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    with_team = {t for t in tables if any(c[1] == "team_id" for c in rows(store.path, f"PRAGMA table_info({t})"))}
    assert with_team == set(WORKSPACE_TABLES)


def test_erasing_a_workspace_deletes_every_row_of_it_and_nothing_of_another(store):
    fill(store, A)
    fill(store, B)
    fill(store, B, channel="C2")
    before_b = counts(store, B)
    assert all(n > 0 for table, n in counts(store, A).items() if table != "removed_workspaces")

    erased = store.workspaces.erase(A)
    assert erased is not None and erased["responses"] == 1 and erased["partnerships"] == 1
    assert counts(store, A) == dict.fromkeys(WORKSPACE_TABLES, 0)
    assert counts(store, B) == before_b
    raw = file_bytes(store.path)
    assert A.encode() not in raw and f"words of {A}".encode() not in raw
    assert f"words of {B}".encode() in raw
    assert store.integrity_check() == "ok"


def test_a_removed_workspace_waits_out_its_grace_period_paused_and_coming_back_resumes_it(store):
    fill(store, A)
    p = store.partnerships.get(A, "C1")
    store.partnerships.set_paused(store.partnerships.ensure(A, "C9", timezone="UTC", created_by="U1", now=NOW), "x")
    assert store.workspaces.removed(A, now=NOW, erase_at=NOW + 100) == NOW + 100
    assert store.workspaces.removed(A, now=NOW + 50, erase_at=NOW + 150) == NOW + 100  # the first time counts
    assert store.partnerships.get(A, "C1").paused_reason == REMOVED
    assert store.partnerships.get(A, "C9").paused_reason == "x"  # paused for its own reason, and stays so
    assert [s.partnership.id for s in store.partnerships.active_schedules()] == []

    assert store.workspaces.due(now=NOW + 99) == []
    assert store.workspaces.erase(A, due_by=NOW + 99) is None
    assert store.workspaces.due(now=NOW + 100) == [A]

    assert store.workspaces.returned(A) is True
    assert store.workspaces.returned(A) is False  # nothing was waiting the second time
    assert store.partnerships.get(A, "C1").paused_reason is None
    assert store.partnerships.get(A, "C9").paused_reason == "x"
    assert [s.partnership.id for s in store.partnerships.active_schedules()] == [p.id]
    assert store.workspaces.erase(A, due_by=NOW + 1000) is None  # it came back: nothing is erased
    assert counts(store, A)["responses"] == 1


def test_a_workspace_never_seen_before_is_not_welcomed_back(store):
    assert store.workspaces.returned(A) is False
    store.workspaces.removed(A, now=NOW, erase_at=NOW)
    assert store.workspaces.returned(A) is False  # no data was waiting: it had none
