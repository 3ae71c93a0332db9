"""Anonymity at rest (issue 22): a copy of the database, without the key, links no anonymous answer to
anyone and names nobody who was or wasn't reminded; people counts stay true after forget-me.

Each test drives coprod through Slack requests in both modes, then reads what a coordinator sees, or a copy
of the database file as someone holding only that copy would.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import shutil
import sqlite3
from pathlib import Path

from bot import reports
from bot.store import Store
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, configure, open_home, post_checkin, rate, replies_to, submit_comment
from tests.test_database_files import TEAM as OLD_TEAM
from tests.test_database_files import old_database, raw_bytes

SETUP = "schedule checkins weekly Tuesday 10:00"
PEOPLE = re.compile(r"(\d+) answers? from (\d+) (?:person|people)")


def copy_of_database(bot, into: Path) -> sqlite3.Connection:
    """The database as a backup, a replica or a laptop would hold it: the file and its WAL, no key."""
    db = Path(bot.store.path)
    into = into / "copy"
    into.mkdir()
    for side in (db, Path(f"{db}-wal")):
        if side.exists():
            shutil.copy(side, into / side.name)
    conn = sqlite3.connect(into / db.name)
    conn.row_factory = sqlite3.Row
    return conn


def every_value(conn: sqlite3.Connection) -> list[tuple[str, str, object]]:
    """(table, column, value) for every cell of every table in the copy."""
    cells = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            cells.extend((table, column, row[column]) for column in row.keys())  # noqa: SIM118 - a Row iterates its values
    return cells


def dont_remind_me(bot, user: str) -> None:
    reply = bot.slack.click(
        "nudge_off", CHANNEL, user=user, channel=f"D{user}", response_url=bot.stub.response_url(user)
    )
    assert reply.status == 200
    replies_to(bot, user)


def test_a_copy_of_the_database_links_no_anonymous_answer_and_names_nobody_reminded(bot, tmp_path: Path):
    """Findings 1 and 2: U2 answers one check-in by name and the next anonymously, U3 anonymously; U4 is
    reminded and says "don't remind me". In a copy of the database no value kept for an anonymous answer
    appears anywhere else (no self-join ties it to U2's named answer), and the reminders' and opt-outs' values
    equal nothing kept for an answer."""
    configure(bot, SETUP)
    first = post_checkin(bot).id
    rate(bot, first, 4, "U2")
    assert submit_comment(bot, first, "U3", 2, "quietly", anonymous=True).status == 200
    configure(bot, "nudge 24")
    bot.clock.advance(hours=24)
    bot.tick()
    dont_remind_me(bot, "U4")
    second = post_checkin(bot).id
    assert submit_comment(bot, second, "U2", 1, "not by name", anonymous=True).status == 200
    assert submit_comment(bot, second, "U3", 5, "again quietly", anonymous=True).status == 200

    copy = copy_of_database(bot, tmp_path)
    # The attack: one self-join of the answers on their stored label.
    assert (
        copy.execute(
            "SELECT 1 FROM responses a JOIN responses n ON a.responder = n.responder AND a.id != n.id"
        ).fetchall()
        == []
    )
    cells = every_value(copy)
    anonymous = [r for r in copy.execute("SELECT * FROM responses WHERE anonymous = 1")]
    assert len(anonymous) == 3
    for row in anonymous:
        # The label and comment of an anonymous answer occur in that one row and nowhere else.
        for column in ("responder", "comment"):
            assert [c for c in cells if c[2] == row[column]] == [("responses", column, row[column])]
        assert row["user_id"] is None and row["role"] is None
        assert (
            row["answered_at"] % 3600 == 0
            or row["answered_at"] == bot.store.checkins.checkin(TEAM, row["checkin_id"]).asked_at
        )
    reminded = {r[0] for r in copy.execute("SELECT responder FROM nudges UNION SELECT responder FROM nudge_optouts")}
    assert reminded and not reminded & {r[0] for r in copy.execute("SELECT responder FROM responses")}
    assert not [c for c in cells if c[0] in ("nudges", "nudge_optouts") and str(c[2]).startswith("U")]
    # Without the key nobody can recompute a label from a Slack id they know (the old stable hash included).
    for user in ("U2", "U3", "U4"):
        for guess in (hashlib.sha256(f"{TEAM}:{user}".encode()).hexdigest()[:32], user):
            assert not [c for c in cells if c[2] == guess and c[1] == "responder"]
    # coprod itself, with the key, still knows each person's answer and reminder.
    assert bot.store.answers.my_answer(TEAM, second, "U2").anonymous
    assert bot.store.nudges.opted_out(bot.store.partnerships.get(TEAM, CHANNEL), "U4")


def test_a_copy_of_the_database_names_nobody_who_was_reminded_or_said_dont_remind_me(bot, tmp_path: Path):
    """Finding 2: U4 and U3 are reminded about a check-in they hadn't answered, U3 says "don't remind me",
    then both answer the next check-in by name. In a copy of the database no reminder or opt-out joins any
    answer, so the copy can't tell who was reminded, nor so who hadn't answered."""
    configure(bot, SETUP)
    first = post_checkin(bot).id
    rate(bot, first, 4, "U2")
    configure(bot, "nudge 24")
    bot.clock.advance(hours=24)
    bot.tick()
    assert bot.store.nudges.was_reminded(TEAM, first, "U4") and bot.store.nudges.was_reminded(TEAM, first, "U3")
    dont_remind_me(bot, "U3")
    second = post_checkin(bot).id
    for user in ("U3", "U4"):
        rate(bot, second, 3, user)

    copy = copy_of_database(bot, tmp_path)
    named = copy.execute(
        "SELECT DISTINCT r.user_id FROM responses r JOIN nudges n ON n.responder = r.responder"
        " UNION SELECT DISTINCT r.user_id FROM responses r JOIN nudge_optouts o ON o.responder = r.responder"
    ).fetchall()
    assert named == []
    assert copy.execute("SELECT COUNT(*) FROM nudges").fetchone()[0] >= 2  # how many, never who
    assert not {r[0] for r in copy.execute("SELECT responder FROM nudges")} & {
        r[0] for r in copy.execute("SELECT responder FROM nudge_optouts")
    }


def test_an_old_database_is_relabelled_on_first_start_and_the_old_hashes_leave_its_bytes(tmp_path: Path):
    """Finding 1's migration: a database whose answers carry the old stable hash of "team:user" is relabelled
    on first start with the key; afterwards neither the file nor its WAL holds any old hash, and U2's
    anonymous answer is still U2's."""
    db = tmp_path / "coprod.db"
    key_hex, checkin_id = old_database(db)
    old = [
        hmac.new(bytes.fromhex(key_hex), f"{OLD_TEAM}:{user}".encode(), hashlib.sha256).hexdigest()[:32]
        for user in ("U2", "U3")
    ]
    assert all(h.encode() in raw_bytes(db) for h in old)
    store = Store.open(db)
    try:
        for name in (db, Path(f"{db}-wal")):
            if name.exists():
                data = name.read_bytes()
                assert not [h for h in old if h.encode() in data], name
        mine = store.answers.my_answer(OLD_TEAM, checkin_id, "U2")
        assert mine is not None and mine.anonymous and mine.rating == 2
    finally:
        store.close()


def test_after_members_are_erased_no_people_count_exceeds_the_members(bot):
    """Finding 3: five members answer two check-ins (some anonymously), then two use forget-me. Every count a
    coordinator sees (summary, App Home, the funders' report, the export) keeps the answers and never counts
    more people than the five members; the erased people's kept ratings are answers, not people."""
    configure(bot, SETUP)
    everyone = (COORDINATOR, "U2", "U3", "U4", ADMIN)
    asked = [post_checkin(bot, "organisational").id]
    for i, user in enumerate(everyone):
        if i % 2:
            assert submit_comment(bot, asked[0], user, 3, "said quietly", anonymous=True).status == 200
        else:
            rate(bot, asked[0], 4, user)
    asked.append(post_checkin(bot, "organisational").id)  # closes the first
    for user in everyone:
        rate(bot, asked[1], 5, user)
    post_checkin(bot, "group")  # closes the second
    for user in ("U2", "U3"):
        ask(bot, "forget-me", user=user)
        reply = bot.slack.click(
            "forget_me_confirm", "confirm", user=user, is_ephemeral=True, response_url=bot.stub.response_url(user)
        )
        assert reply.status == 200
        replies_to(bot, user)
        bot.drain()

    summary = " ".join(b["text"]["text"] for b in ask(bot, "summary")["blocks"] if "text" in b and "text" in b["text"])
    [(answers, people)] = [(int(a), int(p)) for a, p in PEOPLE.findall(summary) if int(a) == 10]
    assert people == 3 and "(60% of 5 members)" in summary
    home = str(open_home(bot))  # App Home shows practices discussed; any people count in it stays true too
    assert "organisational" in home.lower() and all(int(p) <= 3 for _, p in PEOPLE.findall(home))
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    html = reports.partnership_report(bot.store, bot.runtime.deps.catalog, p, now=bot.clock())
    took_part = re.search(r"(\d+) (?:person|people) answered at least one check-in", html)
    assert took_part and int(took_part.group(1)) == 3
    answer = ask(bot, "export")
    assert "10 answers" in answer["text"]
    [upload] = bot.stub.wait_for("file_upload")
    rows = list(csv.DictReader(io.StringIO(upload.args["_raw"])))
    assert len(rows) == 10 and len({r["person"] for r in rows if r["person"]}) <= 3
