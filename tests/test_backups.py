"""Backups by hand (issue 14): `coprod db backup PATH` and `coprod db restore PATH`, as real commands.

A backup taken while `coprod run` answers a stream of signed clicks is one consistent moment: every answer
acknowledged before it began is in it, SQLite finds it whole, and it is one private file. A restore refuses
to overwrite a database changed since the backup (unless forced), and refuses to restore answers whose key
is not there or is another one: the key is not in the database, and must be backed up apart from it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from bench.harness import TEAM, BotProcess, Progress, run_clicks, seed
from bot.store import Store
from tests.support.running import coprod_process
from tests.support.slack_stub import SlackStub
from tests.support.stored import rows

BEFORE_BACKUP = 120  # acknowledged clicks before the backup starts; the streams go on while it runs


def coprod(args: list[str], db: Path, cwd: Path, **env: str) -> tuple[int, str, str]:
    proc = coprod_process(args, {"COPROD_DB": str(db), **env}, cwd, umask=0o022)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def answers_of(db: Path) -> list[tuple]:
    return rows(db, "SELECT checkin_id, responder, rating FROM responses ORDER BY checkin_id, responder")


def test_a_backup_taken_while_coprod_answers_clicks_is_one_private_consistent_file(tmp_path):
    db, dest = tmp_path / "coprod.db", tmp_path / "backups" / "monday.db"
    dest.parent.mkdir()
    targets = seed(db, 4)
    taken: dict[str, object] = {}
    with SlackStub() as stub:
        for channel, _ in targets:
            stub.add_channel(channel, ["UBOT"])
        bot = BotProcess(db, stub.url, tmp_path / "coprod.log").start()
        progress, stop = Progress(), threading.Event()

        def back_up_mid_stream() -> None:
            try:
                progress.wait_for(BEFORE_BACKUP, timeout=60)
                taken["began"] = time.time()
                taken["result"] = coprod(["db", "backup", str(dest)], db, tmp_path)
                progress.wait_for(progress.acked + 50, timeout=30)  # the bot kept answering
            finally:
                stop.set()

        backer = threading.Thread(target=back_up_mid_stream, daemon=True)
        backer.start()
        try:
            result = run_clicks(
                bot.port,
                targets,
                clients=3,
                users_per_client=30,
                stop=stop,
                response_url=stub.response_url(""),
                progress=progress,
                max_clicks_per_client=3000,
            )
        finally:
            backer.join(90)
            assert bot.stop() == 0, bot.log()
    code, out, err = taken["result"]
    assert code == 0, err
    assert "a copy of" in out and "keep a copy of" in err and str(db.with_suffix(".key")) in err
    assert result.server_errors == 0

    # One private file (made under umask 022), whole, with no WAL beside it.
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == ["monday.db"]
    assert rows(dest, "PRAGMA integrity_check") == [("ok",)]
    assert rows(dest, "PRAGMA journal_mode") == [("delete",)]
    # Every answer acknowledged before the backup began is in it.
    live = Store.open(db)
    try:
        key_of = {(user, cid): live.answers.label_for(TEAM, cid, user) for user, cid in result.acked}
    finally:
        live.close()
    in_backup = {(cid, responder) for cid, responder, _ in answers_of(dest)}
    before = {(key.split("/")[0], int(key.split("/")[1])) for key, at in result.acked_at.items() if at < taken["began"]}
    assert len(before) >= BEFORE_BACKUP / 3
    missing = [pair for pair in before if (pair[1], key_of[pair]) not in in_backup]
    assert missing == []
    assert len(in_backup) < len(result.acked), "the stream went on after the backup"


@pytest.fixture
def used(tmp_path) -> Path:
    """A database with a partnership, a check-in and answers (named and anonymous), and its key file."""
    db = tmp_path / "live" / "coprod.db"
    db.parent.mkdir()
    store = Store.open(db)
    try:
        p = store.partnerships.ensure(TEAM, "C1", timezone="UTC", created_by="U1", now=1_000)
        cid = store.checkins.record_checkin(p, facilitator_id="power-imbalances", level_id="group", asked_at=1_000)
        store.answers.record_response(TEAM, cid, "U1", rating=4, now=1_001)
        store.answers.record_response(TEAM, cid, "U2", rating=2, now=1_002, anonymous=True, comment="quietly")
    finally:
        store.close()
    return db


def test_restore_puts_the_answers_back_with_their_people(tmp_path, used):
    """The host is lost: on a new disk, with the key file kept elsewhere put back, the backup restores and each
    answer (the anonymous one too) still belongs to its person."""
    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    new = tmp_path / "new" / "coprod.db"
    new.parent.mkdir()
    (new.parent / "coprod.key").write_bytes(used.with_suffix(".key").read_bytes())
    os.chmod(new.parent / "coprod.key", 0o600)

    code, out, err = coprod(["db", "restore", str(backup)], new, tmp_path)
    assert code == 0, err
    assert "restored from" in out and "2 answers" in out
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o600
    store = Store.open(new)
    try:
        assert store.answers.my_answer(TEAM, 1, "U2").anonymous is True
        assert store.answers.my_answer(TEAM, 1, "U2").rating == 2
        assert store.ledger.meta("backup_taken_at") is None
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def test_restore_refuses_a_database_changed_since_the_backup_unless_forced(tmp_path, used):
    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    store = Store.open(used)
    try:
        store.answers.record_response(TEAM, 1, "U3", rating=5, now=1_003)  # given after the backup
    finally:
        store.close()
    before = answers_of(used)

    code, _, err = coprod(["db", "restore", str(backup)], used, tmp_path)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "after this backup was taken" in err and "--force" in err
    assert answers_of(used) == before  # nothing changed

    code, _, err = coprod(["db", "restore", str(backup), "--force"], used, tmp_path)
    assert code == 0, err
    assert len(answers_of(used)) == 2


@pytest.mark.parametrize("key", ["missing", "another"])
def test_restore_refuses_answers_whose_key_is_not_there(tmp_path, used, key):
    """Without the key the answers were made with, a restore would bring back answers nobody could be matched
    to (coprod would refuse to start on them): it refuses first, in one line, and writes nothing."""
    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    new = tmp_path / "new" / "coprod.db"
    new.parent.mkdir()
    if key == "another":
        (new.parent / "coprod.key").write_text("ab" * 32 + "\n")
        os.chmod(new.parent / "coprod.key", 0o600)
    code, _, err = coprod(["db", "restore", str(backup)], new, tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert ("key is not here" if key == "missing" else "not the one this backup's answers were made with") in err
    assert not new.exists()


def test_coprod_refuses_to_start_beside_another_databases_key_file(tmp_path, used):
    """A database copied beside the wrong key file (a restore by hand, a mix-up of folders) is refused rather
    than used: its anonymous answers would silently stop matching their people."""
    wrong = used.with_suffix(".key")
    wrong.write_text("cd" * 32 + "\n")
    with pytest.raises(Exception, match="not the key database"):
        Store.open(used)


def test_backup_refuses_to_overwrite_or_to_back_up_nothing(tmp_path, used):
    backup = tmp_path / "b.db"
    backup.write_text("something precious")
    code, _, err = coprod(["db", "backup", str(backup)], used, tmp_path)
    assert code == 1 and "already exists" in err and backup.read_text() == "something precious"
    assert coprod(["db", "backup", str(backup), "--force"], used, tmp_path)[0] == 0
    assert rows(backup, "SELECT COUNT(*) FROM responses") == [(2,)]
    code, _, err = coprod(["db", "backup", str(tmp_path / "c.db")], tmp_path / "nothing.db", tmp_path)
    assert code == 1 and "no database at" in err
    code, _, err = coprod(["db", "restore", str(tmp_path / "nothing.db")], used, tmp_path)
    assert code == 1 and "no backup at" in err
    not_coprods = tmp_path / "other.db"
    sqlite3.connect(not_coprods).close()
    code, _, err = coprod(["db", "restore", str(not_coprods)], used, tmp_path)
    assert code == 1 and "not a coprod database" in err


def edited(backup: Path, *statements: str) -> None:
    """Someone edits a backup by hand, as anyone holding the file can."""
    conn = sqlite3.connect(backup)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_a_backup_claiming_a_later_time_still_cannot_overwrite_newer_answers(tmp_path, used):
    """Issue 22, finding 4: the backup says it was taken in 2099, after the answer given since. The restore
    compares the two databases' rows, not the time the backup states: refused, and nothing is lost."""
    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    edited(backup, "UPDATE meta SET value = '4102444800.0' WHERE key = 'backup_taken_at'")
    os.utime(backup, (4102444800, 4102444800))  # its file time lies too
    store = Store.open(used)
    try:
        store.answers.record_response(TEAM, 1, "U3", rating=5, now=1_003)  # acknowledged after the backup
    finally:
        store.close()
    before = answers_of(used)
    code, _, err = coprod(["db", "restore", str(backup)], used, tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "1 in responses" in err and "--force" in err
    assert answers_of(used) == before


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE partnerships SET k = 1",
        "CREATE TRIGGER leak AFTER INSERT ON responses BEGIN UPDATE meta SET value = NEW.user_id; END",
        "CREATE VIEW everyone AS SELECT * FROM responses",
        "CREATE TABLE copies (responder TEXT, user_id TEXT)",
        "CREATE INDEX extra ON responses (comment)",
        "UPDATE responses SET role = 'carer' WHERE anonymous = 1",
    ],
)
def test_a_restore_refuses_what_coprod_would_never_have_written_even_forced(tmp_path, used, edit):
    """Issue 22, finding 4: an edited backup bringing k = 1, a trigger, a view, an unknown table or index, or
    an anonymous answer with a role is refused in one line, --force or not, and the database is untouched."""
    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    edited(backup, edit)
    before = answers_of(used)
    for args in ([], ["--force"]):
        code, _, err = coprod(["db", "restore", str(backup), *args], used, tmp_path)
        assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert "never" in err or "otherwise than coprod does" in err
    assert answers_of(used) == before
    assert rows(used, "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')") == []


def test_a_restore_is_refused_while_coprod_holds_its_run_lock(tmp_path, used):
    """Issue 22, finding 4: `coprod run` holds `<db>.lock` with flock (issue 26); while it is held a restore
    is refused, even forced, and writes nothing."""
    import fcntl

    backup = tmp_path / "b.db"
    assert coprod(["db", "backup", str(backup)], used, tmp_path)[0] == 0
    with open(used.with_name(used.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = coprod(["db", "restore", str(backup), "--force"], used, tmp_path)
        assert code == 1 and "coprod is running" in err and "stop it first" in err
    assert coprod(["db", "restore", str(backup), "--force"], used, tmp_path)[0] == 0
