"""The `coprod` command as a user runs it: a real process, a real database file, any folder."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot import report_export
from bot.domain.catalog import load_catalog
from bot.store import Store, schema
from tests.support.running import clean_env

SCRIPT = Path(sys.executable).parent / "coprod"
TEAM, CHANNEL = "T0001", "C0001"
CATALOG = load_catalog()
FACILITATOR_LINE = re.compile(r"^  ([a-z0-9-]+): ")
INVOCATIONS = {"python -m bot": [sys.executable, "-m", "bot"], "coprod script": [str(SCRIPT)]}


def cli(
    tmp_path: Path, *args: str, via: str = "python -m bot", db: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run coprod in tmp_path with COPROD_DB there (unless ``db`` is False or env overrides it)."""
    defaults = {"COPROD_DB": str(tmp_path / "coprod.db")} if db else {}
    environment = clean_env(**{**defaults, **env})
    return subprocess.run(
        [*INVOCATIONS[via], *args], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=30
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The process failed with ``code`` (1: coprod couldn't; 2: the command line is wrong) and exactly one
    line on stderr, no traceback."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    """A database with one partnership: closed check-ins answered by name, anonymously and with a formula, an
    open one with too few answers (a neglected level), roles, and another workspace's answer."""
    now = int(time.time())
    store = Store.open(tmp_path / "coprod.db")
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UCOORD", now=now - 86_400 * 70)
    store.activity.log_meeting(p, held_on="2024-01-01", user="UCOORD", now=now - 86_400 * 2)
    for n in range(3):
        store.people.set_role(p, f"UNAMED{n}", "researcher")
    store.people.set_role(p, "UONE", "manager")  # a role only one person holds
    store.people.set_role(p, "USECRET", "carer")

    def ask(level: str, days_ago: int, fac: str | None = None) -> int:
        asked = now - 86_400 * days_ago
        return store.checkins.record_checkin(
            p, facilitator_id=fac or CATALOG.in_level(level)[0].id, level_id=level, asked_at=asked
        )

    for days_ago, level in ((20, "individual"), (18, "group"), (16, "organisational"), (14, "societal")):
        cid = ask(level, days_ago)
        for n in range(3):
            store.answers.record_response(
                TEAM, cid, f"UNAMED{n}", rating=4, role="researcher", now=now - 86_400 * days_ago
            )
        if level == "individual":
            store.answers.record_response(TEAM, cid, "UONE", rating=5, role="manager", now=now - 86_400 * days_ago)
    mixed = ask("group", 10, fac=CATALOG.in_level("group")[1].id)
    at = now - 86_400 * 10
    store.answers.record_response(TEAM, mixed, "UNAMED0", rating=2, comment='=HYPERLINK("http://evil","x")', now=at)
    store.answers.record_response(TEAM, mixed, "UNAMED1", rating=3, role="researcher", now=at)
    store.answers.record_response(
        TEAM, mixed, "USECRET", rating=1, comment="quietly, I disagree", anonymous=True, role="carer", now=at
    )
    low = ask("paradigmatic", 3, fac="wide-sharing")  # still open, and only two answers
    store.answers.record_response(TEAM, low, "UNAMED0", rating=2, now=now - 60)
    store.answers.record_response(TEAM, low, "USECRET", rating=1, anonymous=True, now=now - 30)
    other = store.partnerships.ensure("T0002", CHANNEL, timezone="UTC", created_by="UX", now=now)
    cid = store.checkins.record_checkin(
        other, facilitator_id="clear-scope", level_id="organisational", asked_at=now - 10
    )
    store.answers.record_response(other.team_id, cid, "UOTHER", rating=5, comment="other workspace", now=now - 5)
    store.close()
    return tmp_path


# ---- facilitators -----------------------------------------------------------------------------


@pytest.mark.parametrize("via", list(INVOCATIONS))
def test_facilitators_lists_all_thirty_from_any_folder(tmp_path: Path, via: str) -> None:
    """From a folder with no catalog in it, both entry points list the 30 bundled facilitators."""
    result = cli(tmp_path, "facilitators", via=via)
    assert result.returncode == 0, result.stderr
    ids = [m[1] for line in result.stdout.splitlines() if (m := FACILITATOR_LINE.match(line))]
    assert ids == [f.id for f in CATALOG.facilitators]
    assert len(ids) == 30
    for level in CATALOG.levels:
        assert f"{level.name} ({level.scale})" in result.stdout
    assert not (tmp_path / "coprod.db").exists()  # listing the catalog needs no database


@pytest.mark.parametrize(
    "level, expected", [("soc", "societal"), ("Group/interpersonal", "group"), ("ORGANIZATIONAL", "organisational")]
)
def test_facilitators_level_filter(tmp_path: Path, level: str, expected: str) -> None:
    """--level takes an id, a name or a prefix, and lists only that level."""
    result = cli(tmp_path, "facilitators", "--level", level)
    assert result.returncode == 0, result.stderr
    ids = [m[1] for line in result.stdout.splitlines() if (m := FACILITATOR_LINE.match(line))]
    assert ids == [f.id for f in CATALOG.in_level(expected)]


def test_facilitators_unknown_level_is_one_line(tmp_path: Path) -> None:
    """An unknown level: one line naming it and the levels there are."""
    line = one_line_error(cli(tmp_path, "facilitators", "--level", "cosmic"), code=2)
    assert "cosmic" in line and "societal" in line


@pytest.mark.parametrize(
    "command", [["facilitators"], ["summary", "--team", TEAM, "--channel", CHANNEL], ["export", "--team", TEAM]]
)
def test_broken_custom_catalog_is_one_line_with_its_line_number(tmp_path: Path, command: list[str]) -> None:
    """COPROD_FACILITATORS pointing at broken JSON: exit 1, one line naming the file and line."""
    bad = tmp_path / "mine.json"
    bad.write_text('{\n  "source": "ours",\n  "levels": [\n    {"id": "a",,}\n  ]\n}\n', encoding="utf-8")
    line = one_line_error(cli(tmp_path, *command, COPROD_FACILITATORS=str(bad)))
    assert "mine.json" in line and "line 4" in line


def test_custom_catalog_is_used(tmp_path: Path) -> None:
    """A team's own catalog replaces the bundled one."""
    mine = tmp_path / "mine.json"
    mine.write_text(
        json.dumps(
            {
                "source": "ours",
                "levels": [{"id": "us", "name": "Us", "scale": "micro"}],
                "facilitators": [
                    {"id": "tea", "level": "us", "text": "Having tea together", "prompt": "Did we have tea?"}
                ],
            }
        ),
        encoding="utf-8",
    )
    result = cli(tmp_path, "facilitators", COPROD_FACILITATORS=str(mine))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["Us (micro)", "  tea: Having tea together"]


def test_missing_custom_catalog_is_one_line(tmp_path: Path) -> None:
    """COPROD_FACILITATORS naming no file: one line saying what to do."""
    line = one_line_error(cli(tmp_path, "facilitators", COPROD_FACILITATORS=str(tmp_path / "nope.json")))
    assert "nope.json" in line and "COPROD_FACILITATORS" in line


# ---- summary ---------------------------------------------------------------------------------


@pytest.mark.parametrize("via", list(INVOCATIONS))
def test_summary_prints_every_level_and_flags_the_neglected(populated: Path, via: str) -> None:
    """On a populated database the summary names each level and marks the neglected one."""
    result = cli(populated, "summary", "--team", TEAM, "--channel", CHANNEL, via=via)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for level in CATALOG.levels:
        assert f"{level.name} ({level.scale})" in out
    paradigmatic = out.split("Paradigmatic (macro)")[1].split("\n\n")[0]
    assert "neglected: only 2 people answered in the last 8 weeks" in paradigmatic
    assert "average rating: hidden" in paradigmatic
    societal = out.split("Societal (macro)")[1].split("\n\n")[0]
    assert "neglected" not in societal and "average rating: 4.0 of 5" in societal
    assert "Not heard from in this window: carer\n" in out  # an anonymous answer keeps no role
    assert "Suggested next focus: " in out


def test_summary_of_one_level_with_weeks(populated: Path) -> None:
    """--level and --weeks narrow the summary."""
    result = cli(populated, "summary", "--team", TEAM, "--channel", CHANNEL, "--level", "soc", "--weeks", "1")
    assert result.returncode == 0, result.stderr
    assert "Societal (macro)" in result.stdout and "Individual" not in result.stdout
    assert "(1 week)" in result.stdout


@pytest.mark.parametrize("team, channel", [(TEAM, "CNONE"), ("TNONE", CHANNEL)])
def test_summary_of_unknown_channel_is_one_line(populated: Path, team: str, channel: str) -> None:
    """No partnership there: one line on stderr naming the channel, exit 1, nothing on stdout."""
    result = cli(populated, "summary", "--team", team, "--channel", channel)
    line = one_line_error(result)
    assert channel in line and team in line
    assert result.stdout == ""


# ---- export ----------------------------------------------------------------------------------


def test_export_is_pseudonymous_and_leaves_out_what_could_single_someone_out(populated: Path) -> None:
    """CSV export: no Slack id anywhere; a named person is the same pseudonym on every row; an anonymous
    answer has no pseudonym and no role; a role held by fewer than k people is not shown; the open check-in
    with two answers is left out and stderr says so."""
    result = cli(populated, "export", "--team", TEAM, "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"U[A-Z0-9]{3,}", result.stdout)  # no user id of any kind
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 16 and {r["channel"] for r in rows} == {CHANNEL}
    assert "other workspace" not in result.stdout
    assert "paradigmatic" not in {r["level"] for r in rows}
    assert "1 check-in still open or answered by fewer than 3 people is not included yet" in result.stderr
    anonymous = [r for r in rows if not r["person"]]
    assert [(r["role"], r["rating"], r["comment"]) for r in anonymous] == [("", "1", "quietly, I disagree")]
    people = {r["person"] for r in rows if r["person"]}
    assert len(people) == 4 and all(re.fullmatch(r"P-[0-9a-f]{8}", person) for person in people)
    per_person = sorted(sum(r["person"] == person for r in rows) for person in people)
    assert per_person == [1, 4, 5, 5]  # UONE once; UNAMED2 four times; UNAMED0 and UNAMED1 five times
    assert {r["role"] for r in rows} == {"researcher", ""}  # "manager" (one person) is never shown
    assert all(r["text"] and r["facilitator"] and re.fullmatch(r"\d{4}-\d\d-\d\d", r["asked_on"]) for r in rows)


def test_export_lists_a_checkins_answers_in_rating_order_not_the_order_they_came(populated: Path) -> None:
    """The row order of a check-in's answers says nothing about who answered when."""
    result = cli(populated, "export", "--team", TEAM, "--format", "json")
    mixed = [r for r in json.loads(result.stdout) if r["facilitator"] == CATALOG.in_level("group")[1].id]
    assert [r["rating"] for r in mixed] == [1, 2, 3]


def test_export_csv_neutralises_formulas(populated: Path) -> None:
    """A comment starting with "=" cannot run as a spreadsheet formula."""
    result = cli(populated, "export", "--team", TEAM)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    formula = [r["comment"] for r in rows if "HYPERLINK" in r["comment"]]
    assert formula == ['\'=HYPERLINK("http://evil","x")']
    assert not any(value.startswith(("=", "+", "-", "@")) for r in rows for value in r.values())


def test_export_json_has_the_same_rows(populated: Path) -> None:
    """JSON export: the same answers, the anonymous one with null person and role, comments as written."""
    result = cli(populated, "export", "--team", TEAM, "--channel", CHANNEL, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 16
    anonymous = [r for r in rows if r["person"] is None]
    assert [(r["role"], r["rating"]) for r in anonymous] == [(None, 1)]
    assert '=HYPERLINK("http://evil","x")' in [r["comment"] for r in rows]
    assert "USECRET" not in result.stdout and "UNAMED" not in result.stdout


def test_export_of_other_channel_is_just_the_header(populated: Path) -> None:
    """A channel with no answers exports only the header line."""
    result = cli(populated, "export", "--team", TEAM, "--channel", "CNONE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [",".join(f'"{name}"' for name in report_export.EXPORT_FIELDS)]
    assert report_export.EXPORT_FIELDS == (
        "channel",
        "level",
        "facilitator",
        "text",
        "kind",
        "asked_on",
        "person",
        "role",
        "rating",
        "comment",
    )


# ---- database --------------------------------------------------------------------------------


def test_db_upgrade_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    """db upgrade creates a new database, and a second run has nothing to do."""
    first = cli(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "applied m001_initial, m002_retention" in first.stdout
    second = cli(tmp_path, "db", "upgrade", via="coprod script")
    assert second.returncode == 0 and "already up to date" in second.stdout


def test_db_upgrade_of_an_older_file_applies_only_what_is_missing(tmp_path: Path) -> None:
    """An older database gains only the later migrations."""
    db = sqlite_utils.Database(tmp_path / "coprod.db")
    schema.migrations.apply(db, stop_before="m002_retention")
    db.close()
    (tmp_path / "coprod.db").chmod(0o600)  # as its coordinator is told to when coprod refuses a file others can read
    result = cli(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("applied " + ", ".join(schema.KNOWN[1:]))


def test_db_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    """COPROD_DB in a folder that does not exist: one line naming it, exit 1."""
    line = one_line_error(cli(tmp_path, "db", "upgrade", COPROD_DB=str(tmp_path / "gone" / "x.db")))
    assert "gone" in line


def test_db_from_a_newer_coprod_is_one_line(tmp_path: Path) -> None:
    """A database carrying an unknown migration is refused in one line."""
    Store.open(tmp_path / "coprod.db").close()
    db = sqlite_utils.Database(tmp_path / "coprod.db")
    db["_sqlite_migrations"].insert({"migration_set": "coprod", "name": "m900_later", "applied_at": "x"})
    db.close()
    line = one_line_error(cli(tmp_path, "export", "--team", TEAM))
    assert "m900_later" in line


def test_default_database_is_coprod_db_in_the_current_folder(tmp_path: Path) -> None:
    """Without COPROD_DB the database is ./coprod.db."""
    result = cli(tmp_path, "db", "upgrade", db=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "coprod.db").is_file()


# ---- help and usage errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["facilitators"], ["summary"], ["export"], ["db"], ["db", "upgrade"]],
    ids=lambda c: " ".join(c) or "coprod",
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    """--help on every command prints usage and exits 0."""
    result = cli(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: coprod")


@pytest.mark.parametrize(
    "command, named",
    [
        (["summary"], "--team"),
        (["summary", "--team", TEAM], "--channel"),
        (["summary", "--team", TEAM, "--channel", CHANNEL, "--weeks", "0"], "0"),
        (["summary", "--team", TEAM, "--channel", CHANNEL, "--weeks", "many"], "many"),
        (["export"], "--team"),
        (["export", "--team", TEAM, "--format", "xml"], "xml"),
        (["db"], "action"),
        (["db", "downgrade"], "downgrade"),
        (["dance"], "dance"),
        (["facilitators", "--bogus"], "--bogus"),
    ],
)
def test_bad_arguments_are_one_line_exit_two(tmp_path: Path, command: list[str], named: str) -> None:
    """Wrong arguments: one line on stderr naming the problem, exit 2."""
    line = one_line_error(cli(tmp_path, *command), code=2)
    assert named in line


def test_version(tmp_path: Path) -> None:
    """--version prints the version."""
    result = cli(tmp_path, "--version", via="coprod script")
    assert result.returncode == 0 and re.fullmatch(r"coprod \d+\.\d+\.\d+\n", result.stdout)


def test_dotenv_in_the_current_folder_is_read_and_real_variables_win(tmp_path: Path) -> None:
    """A .env file sets COPROD_DB when the environment does not."""
    (tmp_path / ".env").write_text("COPROD_DB=from-dotenv.db\n", encoding="utf-8")
    result = cli(tmp_path, "db", "upgrade", db=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-dotenv.db").is_file() and not (tmp_path / "coprod.db").exists()
    again = cli(tmp_path, "db", "upgrade", COPROD_DB=str(tmp_path / "real.db"))
    assert again.returncode == 0 and (tmp_path / "real.db").is_file()


# ---- the export writers, in process ------------------------------------------------------------


@pytest.mark.parametrize(
    "comment, written",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "' =1"),
        ("\r=1", "\n'=1"),
        ("fine;=HYPERLINK(1)", "fine;'=HYPERLINK(1)"),
        ("a;\t@SUM(A1)", "a;' @SUM(A1)"),
        ("ok\x00\x1b=1", "ok  =1"),
        ("line\n-1", "line\n'-1"),
    ],
)
def test_csv_neutralises_every_formula_prefix(comment: str, written: str) -> None:
    """Any cell, or part after a ";" a spreadsheet may split at, that would run as a formula is prefixed
    with a quote; raw control characters become spaces."""
    out = io.StringIO()
    report_export.write_csv([{"comment": comment, "rating": 3, "person": None}], out)
    row = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row["comment"] == written
    assert (row["rating"], row["person"]) == ("3", "")


@pytest.mark.parametrize("comment", ['ok\r=HYPERLINK("http://evil")', "ok\r\n@SUM(A1)", "a\rb\rc"])
def test_csv_carriage_return_cannot_start_a_new_row(comment: str) -> None:
    """A carriage return inside a comment stays inside its quoted cell, as a line break."""
    out = io.StringIO()
    report_export.write_csv([{"comment": comment, "rating": 3}], out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == 2
    assert rows[1][report_export.EXPORT_FIELDS.index("comment")].replace("'", "") == comment.replace(
        "\r\n", "\n"
    ).replace("\r", "\n")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize("comment", ["fine", "1 = 1", "", "'quoted", "multi\nline, with comma"])
def test_csv_leaves_ordinary_comments_alone(comment: str) -> None:
    """Comments that are not formulas are written exactly as typed."""
    out = io.StringIO()
    report_export.write_csv([{"comment": comment}], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue())))["comment"] == comment


def test_export_of_a_practice_missing_from_the_catalog_has_empty_text(tmp_path: Path) -> None:
    """An answer about a practice a custom catalog no longer has still exports, with no wording."""
    store = Store.open(tmp_path / "coprod.db")
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="U1", now=0)
    cid = store.checkins.record_checkin(p, facilitator_id="retired", level_id="gone", asked_at=0)
    for user in ("U1", "U2", "U3"):
        store.answers.record_response(TEAM, cid, user, rating=2, now=86_400)
    records = list(report_export.export_records(store, CATALOG, TEAM, now=datetime.fromtimestamp(8 * 86_400, UTC)))
    store.close()
    assert [(r["facilitator"], r["text"], r["asked_on"]) for r in records] == [("retired", "", "1970-01-01")] * 3


def test_export_actions_is_pseudonymous_and_formula_safe(populated: Path) -> None:
    """`coprod export --actions`: one row per action of the workspace, its lead an L- pseudonym that is none of
    the answers' P- pseudonyms, no Slack id, a typed formula neutralised; stderr says what was left out."""
    store = Store.open(populated / "coprod.db")
    try:
        p = store.partnerships.get(TEAM, CHANNEL)
        store.plans.plan(
            p,
            what='=HYPERLINK("http://evil","x") rotate the chair',
            facilitator_id="power-imbalances",
            level_id="group",
            lead="UNAMED0",
            due_on=None,
            planned_by="UNAMED1",
            now=int(time.time()) - 60,
        )
    finally:
        store.close()
    result = cli(populated, "export", "--team", TEAM, "--actions")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"U[A-Z0-9]{3,}", result.stdout)
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    answers = {r["person"] for r in csv.DictReader(io.StringIO(cli(populated, "export", "--team", TEAM).stdout))}
    assert re.fullmatch(r"L-[0-9a-f]{8}", row["lead"]) and row["lead"] not in answers
    assert row["what"].startswith("'=HYPERLINK") and row["status"] == "open" and row["text"]
    assert "never the P- of their answers" in result.stderr
    as_json = json.loads(cli(populated, "export", "--team", TEAM, "--actions", "--format", "json").stdout)
    assert [r["lead"] for r in as_json] == [row["lead"]] and list(as_json[0]) == list(report_export.ACTION_FIELDS)
