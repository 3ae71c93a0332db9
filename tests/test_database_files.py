"""coprod's files as another account on the machine would find them: the database, its -wal and -shm, and
the key file. They are private (0600) whatever the umask; coprod refuses to start on one that others can
read unless told otherwise; and the responder key lives outside the database, so a copy of the database
alone links no anonymous answer to anyone, while the answers still belong to their people across restarts
and across the move of an old database's key out of it."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils

from bot.localslack.client_sim import SlackClientSim
from bot.store import Store, StoreError, schema
from tests.support.running import coprod_process, free_port, wait_healthy
from tests.support.slack_stub import SlackStub
from tests.support.stored import rows

TEAM, CHANNEL = "T0001", "C0001"
SECRET = "files-test-secret"
NOW = 1_700_000_000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def coprod_files(db: Path) -> list[Path]:
    """The database and the side files SQLite keeps beside it (those that exist)."""
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")) if p.exists()]


def raw_bytes(db: Path) -> bytes:
    """Every byte of the database and its side files, as someone copying them would have them."""
    return b"".join(p.read_bytes() for p in coprod_files(db))


def key_in_file(db: Path) -> str:
    return db.with_suffix(".key").read_text(encoding="ascii").strip()


def assert_no_key_in(db: Path, key_hex: str) -> None:
    raw = raw_bytes(db)
    for form in (key_hex.lower().encode(), key_hex.upper().encode(), bytes.fromhex(key_hex)):
        assert form not in raw
    assert rows(db, "SELECT value FROM meta WHERE key = 'responder_key'") == []


@contextmanager
def umask(value: int) -> Iterator[None]:
    before = os.umask(value)
    try:
        yield
    finally:
        os.umask(before)


def answer(store: Store, user: str, rating: int, comment: str, *, anonymous: bool) -> int:
    """A partnership with a check-in (made once), and ``user``'s answer to it; the check-in's id."""
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="UCOORD", now=NOW)
    found = store.db.one("SELECT id FROM checkins WHERE partnership_id = ?", (p.id,))
    checkin_id = found["id"] if found else None
    if checkin_id is None:
        checkin_id = store.checkins.record_checkin(p, facilitator_id="reflexivity", level_id="individual", asked_at=NOW)
    store.answers.record_response(TEAM, checkin_id, user, rating=rating, comment=comment, anonymous=anonymous, now=NOW)
    return checkin_id


def run_env(db: Path, port: int, api_url: str = "http://127.0.0.1:9/api/", **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "PORT": str(port),
        "COPROD_DB": str(db),
        **extra,
    }


def one_line(proc) -> str:
    """The process exited 1 with exactly one line on stderr, no traceback; that line."""
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---- 0600 whatever the umask ------------------------------------------------------------------------


def test_coprod_run_keeps_the_database_its_side_files_and_key_private_under_umask_022(tmp_path: Path) -> None:
    """`coprod run` under umask 022 (where new files are 0644): after a command that writes, the database,
    its -wal and -shm, and the key file are 0600, while coprod is still running."""
    db, port = tmp_path / "coprod.db", free_port()
    with SlackStub() as stub:
        stub.add_user("U1", tz="Europe/London")
        stub.add_channel("C1", ["U1"])
        proc = coprod_process(["run", "--http"], run_env(db, port, stub.url), tmp_path, umask=0o022)
        try:
            wait_healthy(port, proc)
            slack = SlackClientSim(f"http://127.0.0.1:{port}/", SECRET, triggers=stub.trigger)
            reply = slack.command("timezone Europe/Paris", user="U1", response_url=stub.response_url("set"))
            assert reply.status == 200
            stub.wait_for("response_url", where=lambda c: c.args["_key"] == "set")
            assert rows(db, "SELECT timezone FROM partnerships") == [("Europe/Paris",)]
            found = {p.name: mode(p) for p in [*coprod_files(db), db.with_suffix(".key")] if p.exists()}
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert found == {"coprod.db": 0o600, "coprod.db-wal": 0o600, "coprod.db-shm": 0o600, "coprod.key": 0o600}


@pytest.mark.parametrize("value", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_opening_the_store_makes_private_files_whatever_the_umask(tmp_path: Path, value: int) -> None:
    """Store.open and a write under a permissive umask: every file coprod made is 0600."""
    db = tmp_path / "coprod.db"
    with umask(value):
        store = Store.open(db)
        try:
            answer(store, "U2", 4, "fine", anonymous=False)
            made = {p.name: mode(p) for p in [*coprod_files(db), db.with_suffix(".key")] if p.exists()}
            assert made == dict.fromkeys(("coprod.db", "coprod.db-wal", "coprod.db-shm", "coprod.key"), 0o600)
        finally:
            store.close()


# ---- refusing files others can read -----------------------------------------------------------------


@pytest.mark.parametrize("shared", ["coprod.db", "coprod.db-wal", "coprod.db-shm", "coprod.key"])
def test_a_file_others_can_read_stops_coprod_run_in_one_line(tmp_path: Path, shared: str) -> None:
    """A database, a side file left by an older coprod, or a key file that others can read: `coprod run`
    says so in one line, naming the file and the fix (or the opt-out), exits 1 and changes nothing."""
    db = tmp_path / "coprod.db"
    Store.open(db).close()
    target = tmp_path / shared
    target.touch()  # -wal and -shm go when the last connection closes; an older coprod may have left them
    target.chmod(0o644)
    before = raw_bytes(db)
    line = one_line(coprod_process(["run", "--http"], run_env(db, free_port()), tmp_path))
    assert f"chmod 600 {target}`" in line
    assert "COPROD_ALLOW_SHARED_DB=1" in line
    assert "can be read by other accounts on this machine" in line
    assert raw_bytes(db) == before and mode(target) == 0o644


def test_coprod_run_starts_on_a_shared_database_when_the_coordinator_allows_it(tmp_path: Path) -> None:
    """A 0644 database is refused, and then served once COPROD_ALLOW_SHARED_DB=1 says it is meant to be."""
    db, port = tmp_path / "coprod.db", free_port()
    Store.open(db).close()
    db.chmod(0o644)
    assert "chmod 600" in one_line(coprod_process(["run", "--http"], run_env(db, port), tmp_path))
    proc = coprod_process(["run", "--http"], run_env(db, port, COPROD_ALLOW_SHARED_DB="1"), tmp_path)
    try:
        wait_healthy(port, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_the_cli_refuses_a_shared_database_too(tmp_path: Path) -> None:
    """`coprod export` (any command that opens the database) refuses a 0644 file the same way."""
    db = tmp_path / "coprod.db"
    Store.open(db).close()
    db.chmod(0o640)
    line = one_line(coprod_process(["export", "--team", TEAM], {"COPROD_DB": str(db)}, tmp_path))
    assert f"chmod 600 {db}`" in line and "can be read" in line


# ---- the responder key lives outside the database ---------------------------------------------------


def test_a_copied_database_alone_holds_no_responder_key_and_links_nobody(tmp_path: Path) -> None:
    """The key is in coprod.key (0600), not in the database: the bytes of the database and its WAL, copied
    while coprod runs, hold no trace of it, and opened elsewhere without the key they are refused rather
    than given a new key. With the key file, an anonymous answer is still its author's after a restart."""
    db = tmp_path / "coprod.db"
    store = Store.open(db)
    checkin_id = answer(store, "U2", 2, "We never see the budget", anonymous=True)
    answer(store, "U3", 4, "fine", anonymous=False)
    key_hex = key_in_file(db)
    assert mode(db.with_suffix(".key")) == 0o600 and len(key_hex) == 64
    assert_no_key_in(db, key_hex)

    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    for path in coprod_files(db):
        shutil.copy2(path, elsewhere / path.name)
    store.close()
    with pytest.raises(StoreError) as caught:
        Store.open(elsewhere / "coprod.db")
    assert "key is missing" in str(caught.value) and "\n" not in str(caught.value)

    again = Store.open(db)
    try:
        mine = again.answers.my_answer(TEAM, checkin_id, "U2")
        assert mine is not None and mine.anonymous and mine.comment == "We never see the budget"
        changed = again.answers.record_response(TEAM, checkin_id, "U2", rating=3, now=NOW + 60)
        assert (changed.created, changed.count) == (False, 2)
        assert again.answers.forget_user(TEAM, "U2", now=NOW + 60)["answers"] == 1
        assert key_in_file(db) == key_hex
    finally:
        again.close()


def test_a_key_from_the_environment_is_used_and_no_key_file_is_written(tmp_path: Path) -> None:
    """With COPROD_SECRET_KEY (here as bytes, as Settings gives it) no key file is made, the key is nowhere in
    the database, and answers stay their people's across restarts with the same key."""
    db, key = tmp_path / "coprod.db", bytes.fromhex("5e" * 32)
    store = Store.open(db, secret_key=key)
    checkin_id = answer(store, "U2", 2, "quiet", anonymous=True)
    store.close()
    assert not db.with_suffix(".key").exists()
    assert_no_key_in(db, key.hex())
    again = Store.open(db, secret_key=key)
    try:
        assert again.answers.my_answer(TEAM, checkin_id, "U2").rating == 2
    finally:
        again.close()


def old_database(path: Path) -> tuple[str, int]:
    """A database as coprod wrote it before the key moved out: the key in meta.responder_key, an anonymous
    answer by U2 (kept only as the keyed hash of "team:user"; U2's cached profile tells coprod who U2 may be)
    and a named one by U3. (key hex, check-in id)"""
    db = sqlite_utils.Database(path)
    schema.migrations.apply(db)
    key_hex = db.execute("SELECT value FROM meta WHERE key = 'responder_key'").fetchone()[0]
    db.execute(
        "INSERT INTO partnerships (id, team_id, channel_id, created_at) VALUES (1, ?, ?, ?)", [TEAM, CHANNEL, NOW]
    )
    db.execute(
        "INSERT INTO checkins (id, partnership_id, team_id, facilitator_id, level_id, asked_at, closes_at)"
        " VALUES (7, 1, ?, 'reflexivity', 'individual', ?, ?)",
        [TEAM, NOW, NOW + 7 * 86_400],
    )
    db.execute("INSERT INTO users (team_id, user_id, fetched_at) VALUES (?, 'U2', ?)", [TEAM, NOW])
    for user, anonymous, rating in (("U2", 1, 2), ("U3", 0, 4)):
        responder = hmac.new(bytes.fromhex(key_hex), f"{TEAM}:{user}".encode(), hashlib.sha256).hexdigest()[:32]
        db.execute(
            "INSERT INTO responses (checkin_id, team_id, responder, user_id, anonymous, rating, comment, answered_at)"
            " VALUES (7, ?, ?, ?, ?, ?, 'old words', ?)",
            [TEAM, responder, None if anonymous else user, anonymous, rating, NOW],
        )
    db.conn.commit()
    db.close()
    path.chmod(0o600)
    return key_hex, 7


def test_an_old_database_keeps_its_answers_identity_after_its_key_moves_to_the_key_file(tmp_path: Path) -> None:
    """Opening a database that keeps its key in meta moves the key to coprod.key and out of the database's
    bytes; the anonymous answer made with it is still U2's (found, updated in place, erased by forget-me)."""
    db = tmp_path / "coprod.db"
    key_hex, checkin_id = old_database(db)
    assert key_hex.encode() in raw_bytes(db)
    store = Store.open(db)
    try:
        assert key_in_file(db) == key_hex and mode(db.with_suffix(".key")) == 0o600
        assert_no_key_in(db, key_hex)
        mine = store.answers.my_answer(TEAM, checkin_id, "U2")
        assert mine is not None and (mine.rating, mine.anonymous) == (2, True)
        assert store.answers.record_response(TEAM, checkin_id, "U2", rating=5, now=NOW).count == 2
        assert store.answers.forget_user(TEAM, "U2", now=NOW)["answers"] == 1
        assert store.answers.my_answer(TEAM, checkin_id, "U3").rating == 4
    finally:
        store.close()
    again = Store.open(db)  # the second start finds the key in the file alone
    try:
        assert again.answers.my_answer(TEAM, checkin_id, "U3").rating == 4
    finally:
        again.close()


def test_an_old_database_opened_with_its_own_key_in_the_environment_keeps_its_answers(tmp_path: Path) -> None:
    """COPROD_SECRET_KEY set to the key the database was made with: the key leaves meta, no file is written."""
    db = tmp_path / "coprod.db"
    key_hex, checkin_id = old_database(db)
    store = Store.open(db, secret_key=bytes.fromhex(key_hex))
    try:
        assert store.answers.my_answer(TEAM, checkin_id, "U2").anonymous
        assert not db.with_suffix(".key").exists()
        assert_no_key_in(db, key_hex)
    finally:
        store.close()


def test_a_different_key_for_an_old_database_is_refused_in_one_line(tmp_path: Path) -> None:
    """COPROD_SECRET_KEY differing from the key an old database's answers were made with would cut every
    answer from its person: refused in one line, and the database keeps its key (nothing changes)."""
    db = tmp_path / "coprod.db"
    key_hex, _ = old_database(db)
    line = one_line(
        coprod_process(
            ["run", "--http"],
            run_env(db, free_port(), COPROD_SECRET_KEY="another key of enough length, surely"),
            tmp_path,
        )
    )
    assert "COPROD_SECRET_KEY" in line and "no longer match" in line
    assert rows(db, "SELECT value FROM meta WHERE key = 'responder_key'") == [(key_hex,)]
    assert not db.with_suffix(".key").exists()


def test_a_too_short_secret_key_stops_coprod_run_in_one_line(tmp_path: Path) -> None:
    """COPROD_SECRET_KEY shorter than 32 characters: one line saying how to make a good one, exit 1."""
    line = one_line(
        coprod_process(
            ["run", "--http"], run_env(tmp_path / "coprod.db", free_port(), COPROD_SECRET_KEY="hunter2"), tmp_path
        )
    )
    assert "COPROD_SECRET_KEY is too short" in line and "hunter2" not in line
    assert not (tmp_path / "coprod.db").exists()
