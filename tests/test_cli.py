"""The `coprod` command as a user runs it: a real process, a real database file, any folder."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils

from bot import reports
from bot.catalog import load_catalog
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
    """A database with one partnership, answered check-ins (named, anonymous, a formula) and a neglected level."""
    now = int(time.time())
    store = Store.open(tmp_path / "coprod.db")
    store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UCOORD", now=now - 86_400 * 70)
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on="2024-01-01", user="UCOORD", now=now - 86_400 * 2
    )
    for i, level in enumerate(["individual", "group", "organisational", "societal"]):
        fac = CATALOG.in_level(level)[0].id
        cid = store.answers.record_checkin(
            store.partnerships.get(TEAM, CHANNEL), facilitator_id=fac, level_id=level, asked_at=now - 86_400 * (i + 1)
        )
        for n in range(3):
            store.answers.record_response(TEAM, cid, f"UNAMED{n}", rating=4, role="researcher", now=now - 3600)
    low = store.answers.record_checkin(
        store.partnerships.get(TEAM, CHANNEL),
        facilitator_id="wide-sharing",
        level_id="paradigmatic",
        asked_at=now - 86_400 * 3,
    )
    store.answers.record_response(TEAM, low, "UNAMED0", rating=2, comment='=HYPERLINK("http://evil","x")', now=now - 60)
    store.answers.record_response(
        TEAM, low, "USECRET", rating=1, comment="quietly, I disagree", anonymous=True, role="carer", now=now - 30
    )
    other = store.partnerships.ensure("T0002", CHANNEL, timezone="UTC", created_by="UX", now=now)
    cid = store.answers.record_checkin(
        store.partnerships.get(other.team_id, CHANNEL),
        facilitator_id="clear-scope",
        level_id="organisational",
        asked_at=now - 10,
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
    assert "Not heard from" not in out  # no roles recorded for members
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


def test_export_csv_has_ratings_comments_and_no_identity_for_anonymous_rows(populated: Path) -> None:
    """CSV export: every answer of the workspace, anonymous rows with empty user and role."""
    result = cli(populated, "export", "--team", TEAM, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 14
    assert {r["channel"] for r in rows} == {CHANNEL}
    assert "other workspace" not in result.stdout
    anonymous = [r for r in rows if r["anonymous"] == "True"]
    assert [(r["user"], r["role"], r["rating"], r["comment"]) for r in anonymous] == [
        ("", "", "1", "quietly, I disagree")
    ]
    assert "USECRET" not in result.stdout
    named = [r for r in rows if r["level"] == "individual"]
    assert {(r["user"], r["role"], r["rating"]) for r in named} == {(f"UNAMED{n}", "researcher", "4") for n in range(3)}
    assert all(r["text"] and r["facilitator"] and r["answered_at"].endswith("Z") for r in rows)


def test_export_csv_neutralises_formulas(populated: Path) -> None:
    """A comment starting with "=" cannot run as a spreadsheet formula."""
    result = cli(populated, "export", "--team", TEAM)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    formula = [r["comment"] for r in rows if "HYPERLINK" in r["comment"]]
    assert formula == ['\'=HYPERLINK("http://evil","x")']
    assert not any(value.startswith(("=", "+", "-", "@")) for r in rows for value in r.values())


def test_export_json_has_the_same_rows(populated: Path) -> None:
    """JSON export: the same answers, anonymous ones with null user and role, comments as written."""
    result = cli(populated, "export", "--team", TEAM, "--channel", CHANNEL, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 14
    anonymous = [r for r in rows if r["anonymous"]]
    assert [(r["user"], r["role"], r["rating"]) for r in anonymous] == [(None, None, 1)]
    assert '=HYPERLINK("http://evil","x")' in [r["comment"] for r in rows]
    assert "USECRET" not in result.stdout


def test_export_of_other_channel_is_just_the_header(populated: Path) -> None:
    """A channel with no answers exports only the header line."""
    result = cli(populated, "export", "--team", TEAM, "--channel", "CNONE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        ",".join(
            [
                "channel",
                "level",
                "facilitator",
                "text",
                "kind",
                "asked_at",
                "rating",
                "comment",
                "anonymous",
                "user",
                "role",
                "answered_at",
            ]
        )
    ]


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
    result = cli(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "applied m002_retention, m003_history_index, m004_post_attempts, m005_checkin_posting"
    )


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


@pytest.mark.parametrize("comment", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_neutralises_every_formula_prefix(comment: str) -> None:
    """Any cell a spreadsheet would run as a formula is prefixed with a quote."""
    out = io.StringIO()
    reports.write_csv([{"comment": comment, "rating": 3, "user": None}], out)
    row = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row["comment"] == "'" + comment.replace("\r", "\n")
    assert (row["rating"], row["user"]) == ("3", "")


@pytest.mark.parametrize("comment", ['ok\r=HYPERLINK("http://evil")', "ok\r\n@SUM(A1)", "a\rb\rc"])
def test_csv_carriage_return_cannot_start_a_new_row(comment: str) -> None:
    """A carriage return inside a comment stays inside its quoted cell, as a line break."""
    out = io.StringIO()
    reports.write_csv([{"comment": comment, "rating": 3}], out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == 2
    assert rows[1][7] == comment.replace("\r\n", "\n").replace("\r", "\n")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize("comment", ["fine", "1 = 1", "", "'quoted", "multi\nline, with comma"])
def test_csv_leaves_ordinary_comments_alone(comment: str) -> None:
    """Comments that are not formulas are written exactly as typed."""
    out = io.StringIO()
    reports.write_csv([{"comment": comment}], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue())))["comment"] == comment


def test_export_of_a_practice_missing_from_the_catalog_has_empty_text(tmp_path: Path) -> None:
    """An answer about a practice a custom catalog no longer has still exports, with no wording."""
    store = Store.open(tmp_path / "coprod.db")
    store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="U1", now=0)
    cid = store.answers.record_checkin(
        store.partnerships.get(TEAM, CHANNEL), facilitator_id="retired", level_id="gone", asked_at=0
    )
    store.answers.record_response(TEAM, cid, "U1", rating=2, now=86_400)
    [record] = list(reports.export_records(store, CATALOG, TEAM))
    store.close()
    assert (record["facilitator"], record["text"], record["asked_at"], record["answered_at"]) == (
        "retired",
        "",
        "1970-01-01T00:00:00Z",
        "1970-01-02T00:00:00Z",
    )
