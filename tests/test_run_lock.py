"""One `coprod run` per database, and a local workspace that can start over without losing anything (issue 26).

Real `coprod run` processes: a second one on the same database (the local workspace's `coprod-local.db`, or
`coprod.db` over HTTP) stops in one line naming the first, which carries on; a lock file left by a crash blocks
nothing; `--fresh` and `--demo` keep the earlier data beside the new, where `COPROD_DB` opens it again.
"""

from __future__ import annotations

import json
import signal
import stat
import urllib.request

from bot.localslack import seed
from tests.support.browser import ANNOUNCEMENT, local_coprod
from tests.support.running import coprod_process, free_port, wait_healthy
from tests.support.stored import rows
from tests.support.waiting import eventually

HTTP_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"}


def refused(args: list[str], env: dict[str, str], folder) -> str:
    """The one line a `coprod` that must not start prints (it exits 1)."""
    proc = coprod_process(args, env, folder)
    _, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def messages_on_page(url: str) -> int:
    with urllib.request.urlopen(f"{url}/ui/view?user=&conv={seed.CHANNEL_ID}", timeout=5) as response:
        return len(json.loads(response.read())["messages"])


def test_a_second_local_coprod_on_the_same_database_refuses_naming_the_first(tmp_path):
    with local_coprod(tmp_path) as first:
        lock = tmp_path / "coprod-local.db.lock"
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        port = first.url.rsplit(":", 1)[1]
        line = refused(["run"], {"PORT": str(free_port())}, tmp_path)
        assert line == (
            f"coprod: another coprod is already running on coprod-local.db (pid {first.proc.pid}, port {port}): "
            "stop it first, or set COPROD_DB to another database"
        )
        # `--fresh` and `--demo` are refused too, before they set anything aside under the running one.
        assert "already running" in refused(["run", "--fresh"], {"PORT": str(free_port())}, tmp_path)
        assert not (tmp_path / "coprod-local.previous.db").exists()
        assert messages_on_page(first.url) > 30  # the first carries on
    assert not lock.exists()  # a clean stop takes its lock file away


def test_a_second_coprod_over_http_on_coprod_db_refuses_and_a_third_starts_once_the_first_stops(tmp_path):
    port = free_port()
    first = coprod_process(["run", "--http"], {**HTTP_ENV, "PORT": str(port)}, tmp_path)
    try:
        wait_healthy(port, first)
        line = refused(["run", "--http"], {**HTTP_ENV, "PORT": str(free_port())}, tmp_path)
        assert f"already running on coprod.db (pid {first.pid}, port {port})" in line
        wait_healthy(port, first)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0
    third_port = free_port()
    third = coprod_process(["run", "--http"], {**HTTP_ENV, "PORT": str(third_port)}, tmp_path)
    try:
        wait_healthy(third_port, third)
    finally:
        third.send_signal(signal.SIGTERM)
        third.communicate(timeout=30)


def test_a_lock_file_left_by_a_crash_blocks_nothing(tmp_path):
    """A coprod killed outright leaves its lock file, naming it; the next start goes ahead all the same."""
    port = free_port()
    crashed = coprod_process(["run", "--http"], {**HTTP_ENV, "PORT": str(port)}, tmp_path)
    try:
        wait_healthy(port, crashed)
    finally:
        crashed.kill()
        crashed.communicate(timeout=30)
    assert f"pid {crashed.pid}" in (tmp_path / "coprod.db.lock").read_text()
    again = coprod_process(["run", "--http"], {**HTTP_ENV, "PORT": str(port)}, tmp_path)
    try:
        wait_healthy(port, again)
        assert f"pid {again.pid}" in (tmp_path / "coprod.db.lock").read_text()
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
    assert again.returncode == 0


def test_fresh_keeps_the_earlier_data_beside_it_and_demo_writes_the_history_again(tmp_path):
    """`--fresh` starts empty and says where the earlier data went and how to get the history back; that data
    opens again with `COPROD_DB`; `--demo` writes the six months of history again, keeping the empty one."""
    db, previous = tmp_path / "coprod-local.db", tmp_path / "coprod-local.previous.db"
    with local_coprod(tmp_path) as seeded:
        history = messages_on_page(seeded.url)
    checkins = rows(db, "SELECT COUNT(*) FROM checkins")
    assert history > 30 and checkins[0][0] > 10
    with local_coprod(tmp_path, "--fresh") as fresh:
        assert messages_on_page(fresh.url) == 0
        assert eventually_printed(fresh, 3)
    said = "\n".join(fresh.printed)
    assert (
        "The local workspace's earlier data is kept in coprod-local.previous.db "
        "(`COPROD_DB=coprod-local.previous.db coprod run --local` opens it)." in said
    )
    assert "It starts empty: `coprod run --local --demo` starts it again with six months of history." in said
    assert any(ANNOUNCEMENT.match(line) for line in fresh.printed)
    assert (
        rows(db, "SELECT COUNT(*) FROM checkins") == [(0,)]
        and rows(previous, "SELECT COUNT(*) FROM checkins") == checkins
    )
    for name in ("coprod-local.previous.db", "coprod-local.previous.key", "coprod-local.previous.slack.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    with local_coprod(tmp_path, env={"COPROD_DB": "coprod-local.previous.db"}) as reopened:
        assert messages_on_page(reopened.url) == history
    with local_coprod(tmp_path, "--demo") as demo:
        assert messages_on_page(demo.url) > 30
    assert rows(db, "SELECT COUNT(*) FROM checkins")[0][0] > 10
    assert rows(previous, "SELECT COUNT(*) FROM checkins") == [(0,)]  # the empty one, kept in its turn


def eventually_printed(coprod, lines: int) -> bool:
    return eventually(lambda: len(coprod.printed) >= lines, 10)
