"""The SQLite store: migrations, file problems, answers, anonymity, workspace scoping, concurrency."""

from __future__ import annotations

import inspect
import os
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
import sqlite_utils

from bot.store import Store, StoreError, schema
from bot.store import db as store_db
from bot.store.activity import ORDER_SCALE
from bot.store.answers import purge_old_comments
from tests.support.stored import read_only
from tests.support.waiting import eventually

T1, T2 = "T0001", "T0002"
C = "C0001"
NOW = 1_700_000_000
DAY = 86_400
LATER = NOW + 8 * DAY  # every check-in asked at NOW has closed


ALL_MIGRATIONS = schema.KNOWN


def partnership(store: Store, team: str = T1, channel: str = C, creator: str = "UCOORD") -> None:
    store.partnerships.ensure(team, channel, timezone="UTC", created_by=creator, now=NOW)


def checkin(
    store: Store,
    team: str = T1,
    channel: str = C,
    *,
    level: str = "individual",
    fac: str = "reflexivity",
    at: int = NOW,
    kind: str = "checkin",
) -> int:
    return store.checkins.record_checkin(
        store.partnerships.get(team, channel), facilitator_id=fac, level_id=level, asked_at=at, kind=kind
    )


def every_text_value(path: Path) -> list[str]:
    """Every text value in every column of every table of the database file."""
    with read_only(path) as conn:
        values: list[str] = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                values += [v for v in row if isinstance(v, str)]
        return values


# ---- opening and migrating ----------------------------------------------------------------


def test_older_database_file_is_upgraded_on_open(tmp_path: Path) -> None:
    """A file that only has the first migration gains the later ones, keeping its rows."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    schema.migrations.apply(old, stop_before="m002_retention")
    old.execute("INSERT INTO partnerships (team_id, channel_id, created_at) VALUES (?, ?, ?)", [T1, C, NOW])
    old.conn.commit()
    assert "retention_months" not in old["partnerships"].columns_dict
    old.close()
    path.chmod(0o600)  # as its coordinator is told to when coprod refuses a file others can read

    store = Store.open(path)
    try:
        assert store.applied_migrations() == ALL_MIGRATIONS
        found = store.partnerships.get(T1, C)
        assert found is not None and found.retention_months is None
        store.partnerships.set_retention(store.partnerships.get(T1, C), 24)
        assert store.partnerships.get(T1, C).retention_months == 24
    finally:
        store.close()
    assert "retention_months" in sqlite_utils.Database(path)["partnerships"].columns_dict


def test_reopening_an_up_to_date_database_applies_nothing(tmp_path: Path) -> None:
    """The second upgrade of the same file reports no pending migrations."""
    path = tmp_path / "coprod.db"
    first = Store(path)
    assert first.upgrade() == ALL_MIGRATIONS
    first.close()
    second = Store(path)
    assert second.upgrade() == []
    second.close()


def test_database_from_a_newer_coprod_is_refused_in_one_line(tmp_path: Path) -> None:
    """A migration this version does not know means the file is newer: refuse, naming it."""
    path = tmp_path / "coprod.db"
    Store.open(path).close()
    db = sqlite_utils.Database(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": schema.MIGRATION_SET, "name": "m999_future", "applied_at": "2099-01-01"}
    )
    db.close()
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert "m999_future" in message and "newer" in message
    assert "\n" not in message


def test_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    """COPROD_DB in a folder that does not exist: StoreError naming the folder."""
    with pytest.raises(StoreError) as caught:
        Store.open(tmp_path / "nowhere" / "coprod.db")
    assert "nowhere" in str(caught.value) and "does not exist" in str(caught.value)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to any folder")
def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    """A folder nobody may write to: StoreError, one line."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError) as caught:
            Store.open(folder / "coprod.db")
        assert "\n" not in str(caught.value)
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a read-only /proc")
def test_folder_where_no_file_can_be_created_is_refused() -> None:
    """/proc accepts no new files, even for root: StoreError saying what to check."""
    with pytest.raises(StoreError) as caught:
        Store.open("/proc/coprod-test.db")
    assert "COPROD_DB" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.mkdir(), "unable to open"),
        (lambda p: (p.write_bytes(b"this is not a database at all " * 200), p.chmod(0o600)), "not a database"),
    ],
    ids=["a folder", "not sqlite"],
)
def test_path_that_is_not_a_database_is_refused(tmp_path: Path, make, words: str) -> None:
    """COPROD_DB naming a folder or a stranger's file: StoreError with SQLite's reason."""
    path = tmp_path / "coprod.db"
    make(path)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert words in str(caught.value)


def test_wal_foreign_keys_busy_timeout_and_secure_delete_are_on(store: Store) -> None:
    """Every connection (each thread's own) runs in WAL mode with foreign keys enforced, a busy timeout, and
    secure_delete (deleted rows are overwritten in the file, not left in its free space)."""
    connections = [store.db.conn]
    other = threading.Thread(target=lambda: connections.append(store.db.conn))
    other.start()
    other.join()
    assert len({id(c) for c in connections}) == 2
    for conn in connections:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store_db.BUSY_TIMEOUT_MS
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_foreign_keys_refuse_an_orphan_answer(store: Store) -> None:
    """An answer to a check-in that does not exist is refused by the database itself."""
    with pytest.raises(sqlite3.IntegrityError), store.db.write() as conn:
        conn.execute(
            "INSERT INTO responses (checkin_id, team_id, responder, rating, answered_at) VALUES (999, ?, 'x', 3, 0)",
            (T1,),
        )


def test_threads_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Eight threads opening one fresh file together: none fails, migrations applied once."""
    path = tmp_path / "fresh.db"
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            Store.open(path).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = Store.open(path)
    assert store.applied_migrations() == ALL_MIGRATIONS
    assert store.integrity_check() == "ok"
    store.close()


# ---- partnerships ---------------------------------------------------------------------------


def test_first_use_creates_partnership_with_its_creator_as_coordinator(store: Store) -> None:
    """ensure_partnership creates once; the creator is the first coordinator; later calls change nothing."""
    first = store.partnerships.ensure(T1, C, timezone="Europe/London", created_by="UA", now=NOW)
    again = store.partnerships.ensure(T1, C, timezone="UTC", created_by="UB", now=NOW + 5)
    assert first == again
    assert (first.timezone, first.window_weeks, first.k) == ("Europe/London", 8, 3)
    assert store.people.coordinators(store.partnerships.get(T1, C)) == ["UA"]


# ---- answers --------------------------------------------------------------------------------


def test_second_answer_by_same_person_updates_the_first(store: Store) -> None:
    """Answering again changes the rating; there is still one answer."""
    partnership(store)
    cid = checkin(store)
    first = store.answers.record_response(T1, cid, "UANN", rating=2, now=NOW + 1)
    second = store.answers.record_response(T1, cid, "UANN", rating=5, now=NOW + 2)
    assert (first.created, first.count) == (True, 1)
    assert (second.created, second.count, second.rating) == (False, 1, 5)
    assert store.answers.my_answer(T1, cid, "UANN").rating == 5
    assert store.answers.response_count(T1, cid) == 1


def test_comment_added_later_keeps_the_rating(store: Store) -> None:
    """rating=None keeps the earlier rating and stores the comment."""
    partnership(store)
    cid = checkin(store)
    store.answers.record_response(T1, cid, "UANN", rating=4, now=NOW)
    answer = store.answers.record_response(T1, cid, "UANN", rating=None, comment="good chat", now=NOW + 1)
    assert (answer.rating, answer.comment, answer.count) == (4, "good chat", 1)


def test_first_answer_without_rating_is_refused(store: Store) -> None:
    """A comment with no earlier rating is not an answer."""
    partnership(store)
    cid = checkin(store)
    with pytest.raises(ValueError, match="rating"):
        store.answers.record_response(T1, cid, "UANN", rating=None, comment="hi", now=NOW)
    assert store.answers.response_count(T1, cid) == 0


@pytest.mark.parametrize("rating", [6, -1, 100])
def test_rating_outside_one_to_five_is_refused_by_the_database(store: Store, rating: int) -> None:
    """The CHECK constraint keeps ratings within 1..5 (0 is "Not sure yet", stored as ``unsure``)."""
    partnership(store)
    cid = checkin(store)
    with pytest.raises(sqlite3.IntegrityError):
        store.answers.record_response(T1, cid, "UANN", rating=rating, now=NOW)
    assert store.answers.response_count(T1, cid) == 0


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_every_rating_from_one_to_five_is_stored(store: Store, rating: int) -> None:
    """Each of the five buttons' values is a valid rating."""
    partnership(store)
    cid = checkin(store)
    assert store.answers.record_response(T1, cid, "UANN", rating=rating, now=NOW).rating == rating


def test_answer_to_another_workspaces_checkin_is_refused(store: Store) -> None:
    """A check-in id from another workspace is unknown here."""
    partnership(store, T1)
    partnership(store, T2)
    cid = checkin(store, T1)
    with pytest.raises(KeyError):
        store.answers.record_response(T2, cid, "UANN", rating=3, now=NOW)
    assert store.checkins.checkin(T2, cid) is None
    assert store.checkins.checkin(T1, cid).channel_id == C


# ---- anonymity ------------------------------------------------------------------------------


def test_anonymous_answer_keeps_no_user_id_anywhere_in_the_file(store: Store, tmp_path: Path) -> None:
    """After an anonymous answer, the user id is in no text column of any table."""
    partnership(store)
    cid = checkin(store)
    store.answers.record_response(T1, cid, "USECRET42", rating=2, comment="hard to say", anonymous=True, now=NOW)
    again = store.answers.record_response(T1, cid, "USECRET42", rating=3, now=NOW + 1)
    assert again.anonymous is True and again.count == 1
    store.close()
    values = every_text_value(tmp_path / "coprod.db")
    assert "hard to say" in values  # the search does see the answer's text
    assert not any("USECRET42" in v for v in values)
    for file in tmp_path.glob("coprod.db*"):  # nor in any byte of the file, its WAL or indexes
        assert b"USECRET42" not in file.read_bytes()


def test_switching_to_anonymous_clears_the_user_id(store: Store, tmp_path: Path) -> None:
    """A named answer made anonymous afterwards no longer carries the user id."""
    partnership(store)
    cid = checkin(store)
    store.answers.record_response(T1, cid, "USECRET42", rating=4, now=NOW)
    assert any("USECRET42" in v for v in every_text_value(tmp_path / "coprod.db"))
    answer = store.answers.record_response(
        T1, cid, "USECRET42", rating=None, comment="on reflection", anonymous=True, now=NOW + 1
    )
    assert (answer.anonymous, answer.rating, answer.count) == (True, 4, 1)
    store.close()
    assert not any("USECRET42" in v for v in every_text_value(tmp_path / "coprod.db"))


def test_anonymous_and_named_answers_by_one_person_are_still_one_answer(store: Store) -> None:
    """Going anonymous and back keeps one answer per person per check-in."""
    partnership(store)
    cid = checkin(store)
    store.answers.record_response(T1, cid, "UANN", rating=1, anonymous=True, now=NOW)
    store.answers.record_response(T1, cid, "UANN", rating=2, anonymous=False, now=NOW + 1)
    store.answers.record_response(T1, cid, "UANN", rating=3, anonymous=True, now=NOW + 2)
    store.answers.record_response(T1, cid, "UBOB", rating=5, anonymous=True, now=NOW + 3)
    assert store.answers.response_count(T1, cid) == 2
    assert store.answers.my_answer(T1, cid, "UANN").rating == 3
    assert store.answers.my_answer(T1, cid, "UBOB").anonymous is True


def test_same_user_id_in_two_workspaces_is_two_people(store: Store) -> None:
    """The responder hash includes the workspace: one id in two workspaces answers separately."""
    assert store.answers.responder_key(T1, "U1") != store.answers.responder_key(T2, "U1")
    assert store.answers.responder_key(T1, "U1") == store.answers.responder_key(T1, "U1")
    assert "U1" not in store.answers.responder_key(T1, "U1")


def test_export_of_anonymous_rows_has_no_user_and_no_role(store: Store) -> None:
    """Anonymous rows in the export carry neither a pseudonym nor the role; no row carries a Slack id."""
    partnership(store)
    cid = checkin(store)
    store.answers.record_response(T1, cid, "UNAMED", rating=4, role="carer", comment="fine", now=NOW)
    store.answers.record_response(T1, cid, "UANON", rating=2, role="carer", anonymous=True, now=NOW + 1)
    store.answers.record_response(T1, cid, "UTHIRD", rating=5, now=NOW + 2)
    rows = list(store.answers.export_rows(T1, now=LATER))
    assert [(r["person"] is None, r["role"], r["rating"]) for r in rows] == [
        (True, None, 2),
        (False, None, 4),
        (False, None, 5),
    ]
    assert not any(str(v).startswith("U") for r in rows for v in r.values())


def test_private_reflexivity_answer_is_left_out_of_the_export(store: Store) -> None:
    """A private (reflexivity) answer is its author's: neither its rating, comment nor author is exported."""
    partnership(store)
    cid = checkin(store, kind="reflexivity")
    store.answers.record_response(T1, cid, "UANN", rating=3, comment="my own thoughts", private=True, now=NOW)
    shared = checkin(store)
    for n, user in enumerate(("UANN", "UBOB", "UCAT")):
        store.answers.record_response(T1, shared, user, rating=5, comment=f"in the channel {n}", now=NOW)
    assert [(r["kind"], r["rating"], r["comment"]) for r in store.answers.export_rows(T1, now=LATER)] == [
        ("checkin", 5, f"in the channel {n}") for n in range(3)
    ]


# ---- scoping by workspace -------------------------------------------------------------------


def test_two_workspaces_with_the_same_channel_id_never_see_each_other(store: Store) -> None:
    """Same channel id in two workspaces: partnerships, answers, exports, coordinators, roles stay apart."""
    store.partnerships.ensure(T1, C, timezone="UTC", created_by="UONE", now=NOW)
    store.partnerships.ensure(T2, C, timezone="Asia/Tokyo", created_by="UTWO", now=NOW)
    c1 = checkin(store, T1, level="individual")
    c2 = checkin(store, T2, level="societal", fac="decision-makers")
    for user in ("UX", "UY", "UZ"):
        store.answers.record_response(T1, c1, user, rating=1, comment="team one", now=NOW + 1)
        store.answers.record_response(T2, c2, user, rating=5, comment="team two", now=NOW + 1)
    store.people.set_role(store.partnerships.get(T1, C), "UX", "carer")
    store.people.set_role(store.partnerships.get(T2, C), "UX", "researcher")
    store.people.add_coordinator(store.partnerships.get(T2, C), "UEXTRA", added_by="UTWO")
    store.activity.log_meeting(store.partnerships.get(T2, C), held_on="2023-11-14", user="UTWO", now=NOW + 2)

    assert store.partnerships.get(T1, C).timezone == "UTC"
    assert store.partnerships.get(T2, C).timezone == "Asia/Tokyo"
    assert [p.team_id for p in store.partnerships.in_workspace(T1)] == [T1]
    assert store.people.coordinators(store.partnerships.get(T1, C)) == ["UONE"]
    assert store.people.coordinators(store.partnerships.get(T2, C)) == ["UTWO", "UEXTRA"]
    assert store.people.roles(store.partnerships.get(T1, C)) == {"UX": "carer"}
    assert store.people.roles(store.partnerships.get(T2, C)) == {"UX": "researcher"}
    assert [r["comment"] for r in store.answers.export_rows(T1, now=LATER)] == ["team one"] * 3
    assert [r["comment"] for r in store.answers.export_rows(T2, C, now=LATER)] == ["team two"] * 3
    assert set(store.activity.level_activity(store.partnerships.get(T1, C), since=0, until=NOW * 2)) == {"individual"}
    assert set(store.activity.level_activity(store.partnerships.get(T2, C), since=0, until=NOW * 2)) == {"societal"}
    assert times(store.activity.last_asked(store.partnerships.get(T1, C))) == {"reflexivity": ("individual", NOW)}
    assert store.activity.last_meeting(store.partnerships.get(T1, C)) is None
    assert store.activity.last_meeting(store.partnerships.get(T2, C)) == NOW + 2
    assert store.answers.my_answer(T2, c1, "UX") is None
    assert store.answers.response_count(T2, c1) == 0


def test_forget_in_one_workspace_leaves_the_other_alone(store: Store) -> None:
    """forget_user erases in its own workspace only."""
    partnership(store, T1)
    partnership(store, T2)
    c1, c2 = checkin(store, T1), checkin(store, T2)
    store.answers.record_response(T1, c1, "UX", rating=3, now=NOW)
    store.answers.record_response(T2, c2, "UX", rating=4, now=NOW)
    assert store.answers.forget_user(T1, "UX", now=NOW + 1)["answers"] == 1
    assert store.answers.response_count(T1, c1) == 0
    assert store.answers.response_count(T2, c2) == 1


# ---- erasure --------------------------------------------------------------------------------


def test_forget_user_removes_named_and_anonymous_answers_and_reports_counts(store: Store) -> None:
    """forget-me erases answers of both kinds to open check-ins, roles and settings, says how many, and
    keeps coordinator rights."""
    partnership(store, creator="UX")
    other = "C0002"
    partnership(store, channel=other, creator="UCOORD")
    c1, c2, c3 = checkin(store), checkin(store, channel=other), checkin(store, channel=other, at=NOW + 10)
    store.answers.record_response(T1, c1, "UX", rating=3, now=NOW)
    store.answers.record_response(T1, c2, "UX", rating=4, anonymous=True, now=NOW)
    store.answers.record_response(T1, c3, "UX", rating=5, anonymous=True, now=NOW + 10)
    store.answers.record_response(T1, c1, "UKEEP", rating=2, now=NOW)
    store.people.set_role(store.partnerships.get(T1, C), "UX", "carer")
    store.people.set_reflexivity_optout(store.partnerships.get(T1, C), "UX", True)
    store.people.remember_user(T1, "UX", timezone="UTC", is_admin=False, now=NOW)
    store.activity.log_meeting(store.partnerships.get(T1, C), held_on="2023-11-14", user="UX", now=NOW)

    counts = store.answers.forget_user(T1, "UX", now=NOW + 20)

    # c2 was closed by c3: that rating is unlinked, not deleted
    assert counts == {
        "answers": 2,
        "unlinked": 1,
        "roles": 1,
        "reflexivity settings": 1,
        "profile": 1,
        "actions led": 0,
        "reminder settings": 0,
    }
    assert store.answers.my_answer(T1, c1, "UX") is None and store.answers.response_count(T1, c1) == 1
    assert store.answers.response_count(T1, c2) == 1 and store.answers.my_answer(T1, c2, "UX") is None
    assert store.people.roles(store.partnerships.get(T1, C)) == {}
    assert store.people.reflexivity_optouts(store.partnerships.get(T1, C)) == set()
    assert store.people.user(T1, "UX") is None
    assert store.people.coordinators(store.partnerships.get(T1, C)) == [
        "UX"
    ]  # a channel keeps its coordinator; `coordinators remove` ends it
    assert (
        store.activity.last_meeting(store.partnerships.get(T1, C)) == NOW
    )  # the meeting happened; only who logged it is gone
    assert store.answers.forget_user(T1, "UX", now=NOW + 30) == {
        "answers": 0,
        "unlinked": 0,
        "roles": 0,
        "reflexivity settings": 0,
        "profile": 0,
        "actions led": 0,
        "reminder settings": 0,
    }


# ---- check-ins still posting ----------------------------------------------------------------


def times(history: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """The rotation's history with each order key turned back into the time it was asked."""
    return {fac: (level, key // ORDER_SCALE) for fac, (level, key) in history.items()}


def counted(store: Store) -> tuple[dict, dict, list]:
    """What the rotation, the summary and the export count of the partnership's check-ins."""
    p = store.partnerships.get(T1, C)
    levels = store.activity.summary_inputs(p, since=0, until=NOW + DAY).levels
    return (
        times(store.activity.last_asked(p)),
        {lid: (a.checkins, a.responses) for lid, a in levels.items()},
        list(store.answers.export_rows(T1, now=LATER)),
    )


def test_a_checkin_still_posting_counts_nowhere_until_slack_has_its_message(store: Store) -> None:
    """A check-in written before its post counts in no summary, rotation or export; once its message is set,
    it counts (with an answer given in between)."""
    partnership(store)
    p = store.partnerships.get(T1, C)
    cid = store.checkins.record_checkin(
        p, facilitator_id="reflexivity", level_id="individual", asked_at=NOW, posting="1/checkins/1"
    )
    assert counted(store) == ({}, {}, [])
    assert store.checkins.unposted_checkin(p, "1/checkins/1").id == cid
    for user in ("U1", "U2", "U3"):  # clicks on the message Slack has
        store.answers.record_response(T1, cid, user, rating=4, now=NOW + 1)
    assert counted(store) == ({}, {}, [])
    store.checkins.set_checkin_message(T1, cid, "1700000000.000100")
    last_asked, levels, exported = counted(store)
    assert last_asked == {"reflexivity": ("individual", NOW)} and levels == {"individual": (1, 3)}
    assert [r["rating"] for r in exported] == [4, 4, 4]
    assert store.checkins.unposted_checkin(p, "1/checkins/1") is None
    assert store.checkins.checkin(T1, cid).message_ts == "1700000000.000100"


def test_check_ins_nobody_is_posting_any_more_are_swept(store: Store) -> None:
    """Old check-ins still posting are deleted, unless someone answered one (its message did reach Slack): that
    one counts from then on. Recent ones, and posted ones, stay."""
    partnership(store)
    p = store.partnerships.get(T1, C)

    def write(fac: str, at: int, posting: str | None) -> int:
        return store.checkins.record_checkin(p, facilitator_id=fac, level_id="group", asked_at=at, posting=posting)

    lost = write("lost", NOW, "now/a")
    answered = write("answered", NOW, "now/b")
    store.answers.record_response(T1, answered, "U1", rating=3, now=NOW + 1)
    recent = write("recent", NOW + DAY, "now/c")
    posted = write("posted", NOW, None)
    assert store.checkins.sweep_unposted(before=NOW + 1) == 1
    assert store.checkins.checkin(T1, lost) is None
    assert sorted(counted(store)[0]) == ["answered", "posted"]
    assert store.checkins.checkin(T1, recent) is not None and store.checkins.checkin(T1, posted) is not None


def test_half_made_checkins_of_an_older_coprod_stop_counting_on_upgrade(tmp_path: Path) -> None:
    """Upgrading marks the check-ins an older coprod left without a message and without answers as never
    posted (they stop counting); a posted check-in, an answered one and a reflection round still count."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    schema.migrations.apply(old, stop_before="m005_checkin_posting")
    old.execute("INSERT INTO partnerships (id, team_id, channel_id, created_at) VALUES (1, ?, ?, ?)", [T1, C, NOW])
    rows = [
        (1, "checkin", "half-made", None),
        (2, "checkin", "posted", "1.1"),
        (3, "checkin", "answered", None),
        (4, "reflexivity", "round", None),
    ]
    for cid, kind, fac, ts in rows:
        old.execute(
            "INSERT INTO checkins (id, partnership_id, team_id, kind, facilitator_id, level_id, asked_at, message_ts)"
            " VALUES (?, 1, ?, ?, ?, 'group', ?, ?)",
            [cid, T1, kind, fac, NOW, ts],
        )
    old.execute(
        "INSERT INTO responses (checkin_id, team_id, responder, rating, answered_at) VALUES (3, ?, 'r', 4, ?)",
        [T1, NOW],
    )
    old.conn.commit()
    old.close()
    path.chmod(0o600)  # as its coordinator is told to when coprod refuses a file others can read
    store = Store.open(path)
    try:
        p = store.partnerships.get(T1, C)
        assert sorted(store.activity.last_asked(p)) == ["answered", "posted"]
        assert list(store.activity.last_asked(p, kind="reflexivity")) == ["round"]
        assert store.checkins.sweep_unposted(before=NOW + 1) == 1
    finally:
        store.close()


# ---- scheduled posts and Slack retries ------------------------------------------------------


def test_claim_post_succeeds_once(store: Store, tmp_path: Path) -> None:
    """The first claim of a post wins (attempt 1); later claims, also from a second Store on the file, lose (0)."""
    partnership(store)
    assert store.ledger.claim_post(store.partnerships.get(T1, C), kind="checkin", fire_at=NOW, now=NOW) == 1
    assert store.ledger.claim_post(store.partnerships.get(T1, C), kind="checkin", fire_at=NOW, now=NOW + 1) == 0
    other = Store.open(tmp_path / "coprod.db")
    assert other.ledger.claim_post(other.partnerships.get(T1, C), kind="checkin", fire_at=NOW, now=NOW + 2) == 0
    assert other.ledger.claim_post(other.partnerships.get(T1, C), kind="summary", fire_at=NOW, now=NOW + 2) == 1
    assert other.ledger.claim_post(other.partnerships.get(T1, C), kind="checkin", fire_at=NOW + 60, now=NOW + 2) == 1
    other.close()
    assert store.ledger.claim_post(store.partnerships.get(T1, C), kind="checkin", fire_at=NOW, now=NOW + 601) == 2
    assert store.ledger.posts(store.partnerships.get(T1, C), "checkin") == [
        ("checkin", NOW, "claimed"),
        ("checkin", NOW + 60, "claimed"),
    ]


def test_finish_post_records_its_status(store: Store) -> None:
    """A claimed post is marked done or failed afterwards."""
    partnership(store)
    store.ledger.claim_post(store.partnerships.get(T1, C), kind="summary", fire_at=NOW, now=NOW)
    store.ledger.finish_post(store.partnerships.get(T1, C), kind="summary", fire_at=NOW, status="posted")
    assert store.ledger.posts(store.partnerships.get(T1, C)) == [("summary", NOW, "posted")]


def test_racing_threads_claim_a_post_exactly_once(tmp_path: Path) -> None:
    """Eight threads (each its own Store) race for one post: exactly one wins."""
    path = tmp_path / "coprod.db"
    setup = Store.open(path)
    partnership(setup)
    setup.close()
    barrier = threading.Barrier(8)
    wins: list[int] = []

    def claim() -> None:
        s = Store.open(path)
        barrier.wait()
        wins.append(s.ledger.claim_post(s.partnerships.get(T1, C), kind="checkin", fire_at=NOW, now=NOW))
        s.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [0] * 7 + [1]


def test_first_time_event_is_true_once_per_workspace(store: Store) -> None:
    """Slack's retry of an event answers False; the same id in another workspace is new."""
    assert store.ledger.first_time_event(T1, "Ev1", now=NOW) is True
    assert store.ledger.first_time_event(T1, "Ev1", now=NOW + 5) is False
    assert store.ledger.first_time_event(T2, "Ev1", now=NOW + 5) is True
    assert store.ledger.first_time_event(T1, "Ev2", now=NOW + 5) is True


def test_event_ids_are_forgotten_after_a_day(store: Store) -> None:
    """Seen event ids older than a day are dropped, so the table does not grow for ever."""
    assert store.ledger.first_time_event(T1, "Ev1", now=NOW) is True
    assert store.ledger.first_time_event(T1, "Ev1", now=NOW + DAY - 1) is False
    assert store.ledger.first_time_event(T1, "Ev1", now=NOW + 2 * DAY) is True


# ---- what the summary reads -----------------------------------------------------------------


def test_level_activity_counts_people_mean_and_last_activity(store: Store) -> None:
    """Distinct responders, answers, mean and last activity per level, levels without check-ins absent."""
    partnership(store)
    a = checkin(store, level="group", fac="regular-meetings", at=NOW)
    b = checkin(store, level="group", fac="online-tools", at=NOW + DAY)
    checkin(store, level="societal", fac="decision-makers", at=NOW + 2 * DAY)
    store.answers.record_response(T1, a, "U1", rating=1, now=NOW + 10)
    store.answers.record_response(T1, a, "U2", rating=2, now=NOW + 20)
    store.answers.record_response(T1, b, "U1", rating=3, now=NOW + DAY + 30, anonymous=True)
    store.answers.record_response(T1, b, "U3", rating=4, now=NOW + DAY + 40)

    activity = store.activity.level_activity(store.partnerships.get(T1, C), since=NOW, until=NOW + 3 * DAY)

    assert set(activity) == {"group", "societal"}
    group = activity["group"]
    assert (group.checkins, group.responses, group.responders) == (2, 4, 3)
    assert group.mean == pytest.approx(2.5)
    assert group.last_activity == NOW + DAY + 40  # an answer after the check-in was asked
    societal = activity["societal"]
    assert (societal.checkins, societal.responses, societal.responders, societal.mean) == (1, 0, 0, None)
    assert societal.last_activity == NOW + 2 * DAY


@pytest.mark.parametrize(
    "asked_at, inside",
    [(NOW - 1, False), (NOW, True), (NOW + DAY - 1, True), (NOW + DAY, False)],
    ids=["before since", "at since", "just before until", "at until"],
)
def test_level_activity_window_is_half_open(store: Store, asked_at: int, inside: bool) -> None:
    """A check-in counts when since <= asked_at < until."""
    partnership(store)
    checkin(store, at=asked_at)
    assert (
        "individual" in store.activity.level_activity(store.partnerships.get(T1, C), since=NOW, until=NOW + DAY)
    ) is inside


def test_a_partnership_never_asked_has_no_activity(store: Store) -> None:
    """No check-ins yet: no activity and no history (and no error)."""
    partnership(store)
    assert store.activity.level_activity(store.partnerships.get(T1, C), since=0, until=NOW) == {}
    assert store.activity.last_asked(store.partnerships.get(T1, C)) == {}


def test_last_asked_keeps_the_latest_time_per_facilitator(store: Store) -> None:
    """The rotation's history: each facilitator's level and the last time it was asked."""
    partnership(store)
    checkin(store, level="group", fac="online-tools", at=NOW)
    checkin(store, level="group", fac="online-tools", at=NOW + 50)
    checkin(store, level="societal", fac="decision-makers", at=NOW + 20)
    checkin(store, level="individual", fac="reflexivity", at=NOW + 99, kind="reflexivity")
    assert times(store.activity.last_asked(store.partnerships.get(T1, C))) == {
        "online-tools": ("group", NOW + 50),
        "decision-makers": ("societal", NOW + 20),
    }
    assert times(store.activity.last_asked(store.partnerships.get(T1, C), "reflexivity")) == {
        "reflexivity": ("individual", NOW + 99)
    }


def test_last_asked_orders_checkins_asked_in_the_same_second_by_row(store: Store) -> None:
    """Two check-ins in one second are still one after the other, so the rotation never repeats a practice."""
    partnership(store)
    checkin(store, level="group", fac="online-tools", at=NOW)
    checkin(store, level="societal", fac="decision-makers", at=NOW)
    order = store.activity.last_asked(store.partnerships.get(T1, C))
    assert order["decision-makers"][1] > order["online-tools"][1]
    assert times(order) == {"online-tools": ("group", NOW), "decision-makers": ("societal", NOW)}


def test_answered_roles_are_those_of_answers_in_the_window(store: Store) -> None:
    """Roles that answered a check-in asked in the window."""
    partnership(store)
    early = checkin(store, at=NOW - DAY)
    store.answers.record_response(T1, early, "U1", rating=3, role="carer", now=NOW - DAY + 5)
    late = checkin(store, at=NOW)
    store.answers.record_response(T1, late, "U2", rating=3, role="researcher", now=NOW)
    store.answers.record_response(T1, late, "U3", rating=3, now=NOW)
    assert store.activity.answered_roles(store.partnerships.get(T1, C), since=NOW, until=NOW + 1) == {"researcher"}


def test_log_meeting_twice_for_one_day_counts_once(store: Store) -> None:
    """A second "We met" for the same date changes nothing."""
    partnership(store)
    assert store.activity.log_meeting(store.partnerships.get(T1, C), held_on="2023-11-14", user="U1", now=NOW) is True
    assert (
        store.activity.log_meeting(store.partnerships.get(T1, C), held_on="2023-11-14", user="U2", now=NOW + 9) is False
    )
    assert store.activity.last_meeting(store.partnerships.get(T1, C)) == NOW


def test_schedules_round_trip_and_paused_partnerships_are_not_active(store: Store) -> None:
    """A schedule set is read back; replacing keeps one per kind; paused partnerships drop out."""
    partnership(store)
    store.partnerships.set_schedule(
        store.partnerships.get(T1, C),
        kind="checkins",
        cadence="weekly",
        weekday=1,
        at_minute=600,
        anchor="2023-11-14",
        set_by="U1",
        now=NOW,
    )
    store.partnerships.set_schedule(
        store.partnerships.get(T1, C),
        kind="checkins",
        cadence="monthly",
        weekday=4,
        at_minute=900,
        anchor="2023-11-14",
        set_by="U1",
        now=NOW,
    )
    row = store.partnerships.schedules(store.partnerships.get(T1, C))["checkins"]
    assert (row.cadence, row.weekday, row.at_minute) == ("monthly", 4, 900)
    assert [s.schedule.kind for s in store.partnerships.active_schedules()] == ["checkins"]
    store.partnerships.set_paused(store.partnerships.get(T1, C), "channel archived")
    assert store.partnerships.active_schedules() == []
    assert store.partnerships.clear_schedule(store.partnerships.get(T1, C), "checkins") is True
    assert store.partnerships.clear_schedule(store.partnerships.get(T1, C), "checkins") is False


def test_old_comments_are_blanked_by_retention(store: Store) -> None:
    """Comments older than the retention months are blanked; ratings stay."""
    partnership(store)
    store.partnerships.set_retention(store.partnerships.get(T1, C), 1)
    old, new = checkin(store), checkin(store, at=NOW + 40 * DAY)
    store.answers.record_response(T1, old, "U1", rating=4, comment="old", now=NOW)
    store.answers.record_response(T1, new, "U2", rating=5, comment="new", now=NOW + 40 * DAY)
    assert purge_old_comments(store.db, now=NOW + 41 * DAY) == 1
    assert (store.answers.my_answer(T1, old, "U1").rating, store.answers.my_answer(T1, old, "U1").comment) == (4, None)
    assert store.answers.my_answer(T1, new, "U2").comment == "new"


# ---- concurrency ----------------------------------------------------------------------------


def test_writes_from_eight_threads_all_land(store: Store) -> None:
    """Eight threads answering at once through one Store: every answer is stored."""
    channels = [f"C{i}" for i in range(5)]
    for channel in channels:
        partnership(store, channel=channel)
    checkins = [checkin(store, channel=channel, at=NOW) for channel in channels]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def answer(n: int) -> None:
        barrier.wait()
        try:
            for cid in checkins:
                store.answers.record_response(T1, cid, f"U{n}", rating=1 + n % 5, now=NOW + n)
                store.ledger.first_time_event(T1, f"Ev{n}-{cid}", now=NOW)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [store.answers.response_count(T1, cid) for cid in checkins] == [8] * 5
    assert (
        store.activity.level_activity(store.partnerships.get(T1, "C0"), since=0, until=NOW * 2)["individual"].responders
        == 8
    )


def test_comparing_two_windows_cannot_reveal_one_persons_rating(store: Store) -> None:
    """The mean counts only check-ins k people answered, so a wider window adding one lone answer
    shows the same mean: nobody's rating can be worked out by subtracting one summary from another."""
    partnership(store)
    old, recent = checkin(store, at=NOW), checkin(store, at=NOW + 20 * DAY)
    for user, rating in (("UA", 4), ("UB", 4), ("UC", 5)):
        store.answers.record_response(T1, recent, user, rating=rating, now=NOW + 20 * DAY)
    store.answers.record_response(T1, old, "UD", rating=1, now=NOW)  # the lone answer
    narrow = store.activity.level_activity(store.partnerships.get(T1, C), since=NOW + DAY, until=NOW + 30 * DAY, k=3)[
        "individual"
    ]
    wide = store.activity.level_activity(store.partnerships.get(T1, C), since=NOW, until=NOW + 30 * DAY, k=3)[
        "individual"
    ]
    assert wide.responses == narrow.responses + 1
    assert narrow.mean == wide.mean == pytest.approx(13 / 3)


def sqlite_steps(store: Store, read) -> int:
    """How much work SQLite does for ``read()`` (its virtual machine's steps, in hundreds)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    store.db.conn.set_progress_handler(count, 100)
    try:
        read()
    finally:
        store.db.conn.set_progress_handler(None, 0)
    return steps[0]


def test_counting_a_checkins_answers_does_not_read_the_workspaces_other_answers(store: Store) -> None:
    """A count update reads one check-in's answers, however many the workspace has: 3,000 answers to other
    check-ins in the workspace cost response_count and my_answer nothing more."""
    partnership(store)
    counted = checkin(store)
    store.answers.record_response(T1, counted, "U1", rating=4, now=NOW)

    def reads() -> None:
        assert store.answers.response_count(T1, counted) == 1
        mine = store.answers.my_answer(T1, counted, "U1")
        assert mine is not None and mine.count == 1

    before = sqlite_steps(store, reads)
    for n in range(60):
        other = checkin(store, at=NOW + n)
        for user in range(50):
            store.answers.record_response(T1, other, f"U{user}", rating=3, now=NOW + n)
    store.db.conn.execute("ANALYZE")
    after = sqlite_steps(store, reads)
    assert after <= before + 1, (before, after)


def test_forgetting_old_events_does_not_read_the_days_events(store: Store) -> None:
    """Each event forgets those older than a day by the index on when they were seen: 3,000 events seen today
    cost the next one nothing more."""
    assert store.ledger.first_time_event(T1, "Ev-first", now=NOW)
    before = sqlite_steps(store, lambda: store.ledger.first_time_event(T1, "Ev-a", now=NOW + 1))
    with store.db.write() as conn:
        conn.executemany(
            "INSERT INTO events_seen (team_id, event_id, seen_at) VALUES (?, ?, ?)",
            [(T1, f"Ev{n}", NOW + 2) for n in range(3000)],
        )
    after = sqlite_steps(store, lambda: store.ledger.first_time_event(T1, "Ev-b", now=NOW + 3))
    assert after <= before + 2, (before, after)


def waiting_for_the_write_lock(thread: threading.Thread) -> bool:
    """``thread`` is blocked in :meth:`Database.write` before its transaction begins: its innermost frame waits on
    one of the write's locks (the background writers' gate, the write lock, or their turn after a person), and
    ``Database.write`` is on its stack (a thread inside its transaction has left that frame, suspended)."""
    write = inspect.unwrap(store_db.Database.write).__code__
    waits = {
        write,
        inspect.unwrap(store_db.Database._writing).__code__,
        threading.Condition.wait.__code__,
        threading.Condition.wait_for.__code__,
    }
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None or frame.f_code not in waits:
        return False
    while frame is not None and frame.f_code is not write:
        frame = frame.f_back
    return frame is not None


def test_a_persons_write_waits_for_one_scheduled_posts_write_at_most(store: Store) -> None:
    """Scheduled posts write from many threads at once (bot/runtime/jobs.py marks them background); a person's write (a
    click's answer) that arrives while four of them wait goes in after the one under way, not after all four.
    (It used to queue behind each: clicks during a batch of 10,000 check-ins had a p99 several times that
    without one, the time spent waiting for the write lock.)"""
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def write(name: str, hold: bool = False) -> None:
        with store.db.write() as conn:
            if hold:
                holding.set()
                release.wait(10)
            conn.execute("UPDATE meta SET value = value WHERE key = 'responder_key'")
            order.append(name)

    posts = [threading.Thread(target=store_db.background, args=(write, "post 0", True))]
    posts[0].start()
    assert holding.wait(10)
    for n in range(1, 5):
        posts.append(threading.Thread(target=store_db.background, args=(write, f"post {n}")))
        posts[-1].start()
    assert eventually(lambda: all(waiting_for_the_write_lock(t) for t in posts[1:]), 10)  # the four are waiting
    person = threading.Thread(target=write, args=("person",))
    person.start()
    assert eventually(lambda: waiting_for_the_write_lock(person), 10)  # and so is the person
    release.set()
    for t in [*posts, person]:
        t.join(10)
    assert sorted(order) == ["person", "post 0", "post 1", "post 2", "post 3", "post 4"]
    assert order.index("person") <= 2, order


def test_a_reminder_round_already_sent_is_not_read_again_each_tick(store: Store) -> None:
    """Once a check-in's reminder round is in the ledger as posted, the tick's look for due reminders leaves it
    out in SQL, rather than handing it back every 30 s for the ledger to drop again (with 10,000 partnerships
    reminding, 251 ms a tick)."""
    partnership(store)
    p = store.partnerships.get(T1, C)
    assert p is not None
    store.partnerships.set_nudge(p, 48, now=NOW - DAY)
    asked = checkin(store, at=NOW)
    later = NOW + 3 * DAY
    assert [n.checkin_id for n in store.nudges.due(now=later)] == [asked]
    kind = f"nudge:{asked}"
    assert store.ledger.claim_post(p, kind=kind, fire_at=NOW, now=later)
    assert [n.checkin_id for n in store.nudges.due(now=later)] == [asked]  # claimed, not yet sent: still due
    store.ledger.finish_post(p, kind=kind, fire_at=NOW, status="posted")
    assert store.nudges.due(now=later) == []


def test_the_purge_finds_what_it_removes_without_reading_the_history(store: Store) -> None:
    """The 6-hourly purge looks for check-ins nobody is posting any more, and posted fire times long past, in
    indexes of their own: 3,000 closed check-ins and 3,000 recent posted ledger rows cost it nothing more (at
    100,000 partnerships it read 3M check-ins and 4M ledger rows, holding the write lock)."""
    partnership(store)
    p = store.partnerships.get(T1, C)
    assert p is not None

    def purge() -> None:
        assert store.checkins.sweep_unposted(before=NOW - DAY) == 0
        assert store.ledger.prune_posts(before=NOW - 70 * DAY) == 0

    before = sqlite_steps(store, purge)
    with store.db.write() as conn:
        conn.executemany(
            "INSERT INTO checkins (partnership_id, team_id, kind, facilitator_id, level_id, asked_at, closes_at)"
            " VALUES (?, ?, 'checkin', 'reflexivity', 'individual', ?, ?)",
            [(p.id, T1, NOW + n, NOW + n + 1) for n in range(3000)],
        )
        conn.executemany(
            "INSERT INTO posts (partnership_id, team_id, kind, fire_at, claimed_at, status)"
            " VALUES (?, ?, 'checkins', ?, ?, 'posted')",
            [(p.id, T1, NOW + n, NOW + n) for n in range(3000)],
        )
    assert sqlite_steps(store, purge) <= before + 2
    store.db.conn.execute("ANALYZE")
    assert sqlite_steps(store, purge) <= before + 2


def test_the_retention_purge_blanks_comments_in_short_transactions(store: Store) -> None:
    """1,200 old comments are blanked a few hundred to a transaction, so answers arriving meanwhile wait
    for a short one at most; ratings stay."""
    partnership(store)
    store.partnerships.set_retention(store.partnerships.get(T1, C), 1)
    for n in range(24):
        asked = checkin(store, at=NOW + n)
        for user in range(50):
            store.answers.record_response(T1, asked, f"U{user}", rating=4, comment="old words", now=NOW + n)
    transactions: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: transactions.append(sql) if sql.startswith("BEGIN") else None)
    try:
        assert purge_old_comments(store.db, now=NOW + 40 * DAY) == 1200
    finally:
        store.db.conn.set_trace_callback(None)
    assert len(transactions) == 3, transactions
    assert store.db.one("SELECT COUNT(*) FROM responses WHERE comment IS NOT NULL")[0] == 0
    assert store.db.one("SELECT COUNT(*) FROM responses WHERE rating = 4")[0] == 1200


def test_the_look_for_due_reminders_reads_only_what_is_due(store: Store) -> None:
    """Each posted check-in keeps when its reminder round falls due: 1,000 partnerships that remind, each with
    an open check-in not yet due a reminder, cost the tick's look nothing more (it read every check-in of the
    last week of every partnership that reminds: 59 ms a tick, 0.7% of a core idle at 100,000)."""
    partnership(store)
    p = store.partnerships.get(T1, C)
    assert p is not None
    store.partnerships.set_nudge(p, 48, now=NOW - DAY)
    asked = checkin(store, at=NOW)
    before = sqlite_steps(store, lambda: store.nudges.due(now=NOW + DAY))
    for n in range(1000):
        partnership(store, channel=f"C{n}")
        other = store.partnerships.get(T1, f"C{n}")
        assert other is not None
        store.partnerships.set_nudge(other, 48, now=NOW - DAY)
        checkin(store, channel=f"C{n}", at=NOW)
    assert sqlite_steps(store, lambda: store.nudges.due(now=NOW + DAY)) <= before + 2
    assert [n.checkin_id for n in store.nudges.due(now=NOW + 2 * DAY)][:1] == [asked]


def test_a_reminder_round_follows_the_partnerships_setting(store: Store) -> None:
    """Turned on after a check-in's reminder time had passed: no round for it; turned off: its round is
    dropped; turned on again in time: due at the new hours; closed: forgotten."""
    partnership(store)
    p = store.partnerships.get(T1, C)
    assert p is not None
    asked = checkin(store, at=NOW)
    store.partnerships.set_nudge(p, 24, now=NOW + 2 * DAY)  # its 24 hours were up a day ago
    assert store.nudges.due(now=NOW + 3 * DAY) == []
    store.partnerships.set_nudge(p, 72, now=NOW + 2 * DAY)
    assert store.nudges.due(now=NOW + 2 * DAY) == []
    assert [n.checkin_id for n in store.nudges.due(now=NOW + 3 * DAY)] == [asked]
    store.partnerships.set_nudge(p, None, now=NOW + 3 * DAY)
    assert store.nudges.due(now=NOW + 3 * DAY) == []
    store.partnerships.set_nudge(p, 96, now=NOW + 3 * DAY)
    assert [n.checkin_id for n in store.nudges.due(now=NOW + 4 * DAY)] == [asked]
    assert store.nudges.due(now=NOW + 8 * DAY) == []  # closed a week after it was asked
    row = store.db.one("SELECT nudge_at FROM checkins WHERE id = ?", (asked,))
    assert row is not None and row["nudge_at"] is None
