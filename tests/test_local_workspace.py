"""`coprod run` with nothing configured: a local workspace on 127.0.0.1, its history, and what it refuses.

The processes here are real `coprod run`s (``tests.support.browser.local_coprod``, no browser needed); the
seeded history is checked through coprod's own summary and the rows of the file.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot import reports
from bot.domain import involvement
from bot.domain.catalog import load_catalog
from bot.domain.schedule import fire_times, spec_of
from bot.domain.summary_text import render_text
from bot.localslack import seed
from bot.localslack.launch import MARK
from bot.render import messages
from bot.reports import partnership_summary
from bot.runtime.jobs import Dispatcher
from bot.slack.deps import Deps
from bot.store import Store
from tests.support.browser import ANNOUNCEMENT, local_coprod
from tests.support.running import coprod_process, free_port
from tests.support.slack_stub import SlackStub
from tests.support.stored import rows

NOW = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # a Monday: this week's check-in (Tuesday's) is open
GRACE = timedelta(hours=6)


def view(url: str, user: str = "", conv: str = "") -> dict:
    with urllib.request.urlopen(f"{url}/ui/view?user={user}&conv={conv}", timeout=5) as response:
        return json.loads(response.read())


def act(url: str, **body: str) -> int:
    request = urllib.request.Request(
        f"{url}/ui/act", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def one_line_exit(args: list[str], env: dict[str, str], folder: Path) -> tuple[int, str]:
    proc = coprod_process(args, env, folder)
    _, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return proc.returncode, lines[0]


def listening_addresses(pid: int) -> set[str]:
    """The local addresses of the TCP sockets process ``pid`` listens on (Linux's /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: listening
                address = fields[1].split(":")[0]
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


# ---- coprod run ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads which addresses coprod listens on from /proc")
def test_coprod_run_with_nothing_set_serves_a_local_workspace_on_loopback_and_keeps_it(tmp_path):
    """One line says where to go; the page and coprod listen on 127.0.0.1 only; the data goes to
    coprod-local.db (0600, never coprod.db), Slack's side beside it; SIGTERM stops it cleanly, and the next
    start finds the same history without writing it again."""
    with local_coprod(tmp_path) as coprod:
        assert len(coprod.printed) == 1, coprod.printed
        assert ANNOUNCEMENT.match(coprod.printed[0]) and coprod.printed[0].endswith(coprod.url)
        assert listening_addresses(coprod.proc.pid) == {"127.0.0.1"}
        first = view(coprod.url)
        assert first["conv"] == seed.CHANNEL_ID and len(first["messages"]) > 30
    files = {p.name for p in tmp_path.iterdir() if p.name.startswith("coprod")}
    assert {"coprod-local.db", "coprod-local.key", "coprod-local.slack.json"} <= files and "coprod.db" not in files
    for name in files:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    checkins = rows(tmp_path / "coprod-local.db", "SELECT COUNT(*) FROM checkins")
    with local_coprod(tmp_path) as again:
        assert [m["key"] for m in view(again.url)["messages"]] == [m["key"] for m in first["messages"]]
    assert rows(tmp_path / "coprod-local.db", "SELECT COUNT(*) FROM checkins") == checkins


def test_local_forces_the_local_workspace_with_slack_tokens_set_and_talks_to_no_slack(tmp_path):
    """`coprod run --local` ignores the tokens and SLACK_API_URL: coprod answers through the stand-in."""
    env = {"SLACK_BOT_TOKEN": "xoxb-real", "SLACK_APP_TOKEN": "xapp-1-real", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    with local_coprod(tmp_path, "--local", env=env) as coprod:
        assert act(coprod.url, act="type", user=seed.PRIYA.id, conv=seed.CHANNEL_ID, text="/coprod help") == 200
        replies = [m["html"] for m in view(coprod.url, seed.PRIYA.id)["messages"] if "Only visible to you" in m["html"]]
        assert replies and "what I can do" in replies[-1]
    assert (tmp_path / "coprod-local.db").exists() and not (tmp_path / "coprod.db").exists()


def test_fresh_starts_an_empty_local_workspace(tmp_path):
    """`--fresh` sets the local workspace's own files aside and starts with its people and nothing else."""
    with local_coprod(tmp_path):
        pass
    with local_coprod(tmp_path, "--fresh") as coprod:
        assert view(coprod.url)["messages"] == []
        assert len(view(coprod.url)["people"]) == len(seed.MEMBERS)
    assert rows(tmp_path / "coprod-local.db", "SELECT COUNT(*) FROM checkins") == [(0,)]


def test_a_real_workspaces_database_is_never_used_or_erased_by_the_local_workspace(tmp_path):
    """COPROD_DB naming a database a real workspace's coprod made: `coprod run` (local) and `--fresh` refuse
    in one line, exit 1, and the file is untouched."""
    db = tmp_path / "coprod.db"
    Store.open(db).close()
    before = db.read_bytes()
    for args in (["run"], ["run", "--local", "--fresh"]):
        code, line = one_line_exit(args, {"COPROD_DB": str(db), "PORT": str(free_port())}, tmp_path)
        assert code == 1 and "not a local workspace's" in line
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["run", "--fresh"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "--local"),
        (["run", "--http", "--local"], {}, "not allowed with"),
    ],
)
def test_fresh_or_local_that_cant_apply_is_a_usage_error(tmp_path, args, env, named):
    code, line = one_line_exit(args, env, tmp_path)
    assert code == 2 and named in line


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, line = one_line_exit(["run"], {"PORT": str(port)}, tmp_path)
    assert code == 1 and f"cannot listen on port {port}" in line


# ---- the seeded history --------------------------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path):
    """The history written at NOW into a store and the tests' stand-in's workspace."""
    store = Store.open(tmp_path / "coprod-local.db")
    catalog = load_catalog(None)
    with SlackStub(clock=NOW.timestamp) as stub:
        seed.populate(stub.workspace)
        partnership = seed.seed(store, catalog, stub.workspace, NOW)
        yield store, catalog, stub, partnership
    store.close()


def test_the_seeded_history_gives_the_summary_real_averages_neglected_levels_and_a_silent_role(seeded):
    store, catalog, _, p = seeded
    summary = partnership_summary(store, catalog, p, now=NOW)
    by_level = {s.level.id: s for s in summary.levels}
    assert by_level["individual"].mean is not None and by_level["individual"].mean >= 3.5
    for healthy in ("individual", "group"):  # Group's average is fine, but its partners see it differently
        assert by_level[healthy].mean is not None and by_level[healthy].mean > 2.5 and not by_level[healthy].neglected
    assert by_level["organisational"].mean is not None and by_level["organisational"].mean <= 2.5
    assert "rated it" in by_level["organisational"].reasons[0]
    assert by_level["societal"].reasons == ("not discussed yet in the last 8 weeks",)
    assert by_level["paradigmatic"].reasons[0].startswith("only 2 people answered")
    assert summary.silent_roles == ("manager",)
    assert not any(s.flags for s in summary.levels), "meetings are logged: no meeting flag"
    assert summary.members == len(seed.MEMBERS)


def test_the_seeded_history_shows_each_finding_of_issue_23(seeded):
    """The last regular summary in the channel opens with a stuck level; the summary on first open shows
    power-sharing practices never asked, a fall with both figures, partners and professionals apart as a band,
    and a practice most people are not sure about."""
    store, catalog, _, p = seeded
    monthly = store.partnerships.schedules(p)["summary"]
    last = fire_times(spec_of(monthly), p.timezone, NOW - timedelta(days=40), NOW)[-1]
    regular = partnership_summary(store, catalog, p, now=last + timedelta(minutes=1), scheduled=True)
    assert regular.stuck == ("organisational",)
    assert "Stuck:" in render_text(regular, timezone=seed.TIMEZONE)
    summary = partnership_summary(store, catalog, p, now=NOW)
    assert {g.facilitator.id for g in summary.gaps if g.power} >= {"shared-ownership", "others-lead"}
    [fall] = summary.falls
    assert (fall.facilitator.id, fall.before, fall.now) == ("power-imbalances", 4.25, 3.0)
    [apart] = summary.disagreements
    assert (apart.level_id, apart.facilitator, apart.words()) == (
        "individual",
        None,
        "partners rate this lower than professionals by 2 to 3 points",
    )
    assert [f.id for f in summary.to_explain] == ["shared-data-analysis"]
    text = render_text(summary, timezone=seed.TIMEZONE)
    for finding in ("sharing power", "Rated lower than last time", "seen differently", "not sure yet"):
        assert finding in text


def test_the_seeded_history_keeps_the_anonymity_rule(seeded):
    """Every answer came while its check-in was open; each check-in closed when the next of its kind was posted
    (or a week after); only this week's check-in is still open."""
    store, _, _, _ = seeded
    checkins = rows(
        store.path, "SELECT id, kind, asked_at, closes_at, posting FROM checkins ORDER BY kind, asked_at, id"
    )
    assert checkins and all(c[4] is None for c in checkins)
    for kind in ("checkin", "reflexivity"):
        mine = [c for c in checkins if c[1] == kind]
        for this, after in zip(mine, mine[1:], strict=False):
            assert this[3] == min(after[2], this[2] + 7 * 86400), this
    still_open = [c for c in checkins if c[3] > NOW.timestamp()]
    assert len([c for c in still_open if c[1] == "checkin"]) == 1
    late = rows(
        store.path,
        "SELECT COUNT(*) FROM responses r JOIN checkins c ON c.id = r.checkin_id"
        " WHERE r.answered_at < c.asked_at OR r.answered_at >= c.closes_at OR r.answered_at > ?",
        int(NOW.timestamp()),
    )
    assert late == [(0,)]


def test_the_seeded_schedules_owe_nothing_and_each_checkin_message_is_coprods(seeded):
    """Every past fire time is in the ledger as posted, so the scheduler's first tick posts and skips nothing;
    each check-in message in the channel is the one coprod would show now for its stored check-in (its ts,
    its buttons' id while open, its count), so coprod's own updates edit it in place."""
    store, catalog, stub, _ = seeded
    assert {r[0] for r in rows(store.path, "SELECT status FROM posts")} == {"posted"}
    client = WebClient(base_url=stub.url)
    dispatcher = Dispatcher(Deps(store, catalog, clock=lambda: NOW), lambda team: client, grace=GRACE)
    try:
        assert dispatcher.tick() == []
    finally:
        dispatcher.close()
    assert stub.calls == []
    posted = {m["ts"]: m for m in stub.messages(seed.CHANNEL_ID) if m["text"].startswith("Check-in:")}
    stored = rows(store.path, "SELECT id, message_ts, closes_at FROM checkins WHERE kind = 'checkin'")
    assert len(stored) == seed.WEEKS and {ts for _, ts, _ in stored} == set(posted)
    for checkin_id, ts, closes_at in stored:
        closed = closes_at <= NOW.timestamp()
        line = messages.answers_line(store.answers.response_count(seed.TEAM_ID, checkin_id), closed=closed)
        blocks = posted[ts]["blocks"]
        assert blocks[-1]["elements"][0]["text"] == line
        assert [b.get("block_id") for b in blocks if b["type"] == "actions"] == (
            [] if closed else [f"checkin:{checkin_id}"]
        )


def test_a_fresh_database_is_marked_as_the_local_workspaces(tmp_path):
    with local_coprod(tmp_path, "--fresh"):
        pass
    assert rows(tmp_path / "coprod-local.db", "SELECT value FROM meta WHERE key = ?", MARK) == [("empty",)]


def test_the_seeded_history_has_a_record_of_involvement_to_see_at_once(seeded):
    """Meetings with who came, logged work, a rate card, paid and unpaid lines, and two "you said, we changed"
    entries posted in the channel: the ledger, the summary and the report show them from the first open."""
    store, catalog, stub, p = seeded
    inv = store.involvement
    lines = inv.lines(p)
    assert {line.kind for line in lines} == {"meeting", "work"} and len({line.done_on for line in lines}) >= 8
    assert inv.rates(p) and any(line.paid_on for line in lines) and any(not line.paid_on for line in lines)
    assert len(inv.changes(p)) == 2
    assert len([m for m in stub.messages(seed.CHANNEL_ID) if "You said, we changed" in m["text"]]) == 2
    rates, choices = inv.rates(p), inv.choices(p)
    assert involvement.overdue(lines, rates, choices, NOW.date()) > 0  # the summary tells the coordinators
    html = reports.partnership_report(store, catalog, p, now=NOW)
    assert "Slack channel #our-partnership" in html and "Meeting papers now go out a week ahead" in html
