"""`coprod run` as a real process: startup errors, the HTTP endpoint, /healthz and SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from bot.localslack.client_sim import SlackClientSim
from tests.support.running import coprod_process, free_port, wait_healthy
from tests.support.slack_stub import SlackStub

SECRET = "run-test-secret"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "abc"}, "should start with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN should start with xapp-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "http"}, "PORT must be a port number"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COPROD_FACILITATORS": "missing.json"},
            "cannot read",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COPROD_DB": "/nonexistent/dir/c.db"},
            "does not exist",
        ),
    ],
)
def test_startup_error_is_one_clear_line_and_exit_1(tmp_path, env, expected):
    """A missing or malformed setting stops coprod with one line naming it, and exit code 1."""
    proc = coprod_process(["run"], env, tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert "Traceback" not in err


def test_http_mode_without_any_setting_asks_for_the_bot_token(tmp_path):
    """`coprod run --http` means a real Slack app: with nothing set it says what is missing (no local workspace)."""
    proc = coprod_process(["run", "--http"], {}, tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "SLACK_BOT_TOKEN is not set" in err and len(err.strip().splitlines()) == 1


def test_database_from_a_newer_coprod_is_refused(tmp_path):
    """A database written by a newer version stops start-up with one line, not a half-upgrade."""
    import sqlite3

    db = tmp_path / "c.db"
    from bot.store import Store

    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('coprod', 'm999', 'x')")
    proc = coprod_process(
        ["run"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COPROD_DB": str(db)}, tmp_path
    )
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "newer coprod" in err and "Traceback" not in err


def test_http_mode_serves_events_and_healthz_and_stops_on_sigterm(tmp_path):
    """`coprod run --http` answers /healthz, verifies signatures on /slack/events, and exits 0 on SIGTERM."""
    port = free_port()
    with SlackStub() as stub:
        stub.add_user("U1", tz="Europe/London")
        stub.add_channel("C1", ["U1"])
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_APP_TOKEN": "xapp-1-unused",
            "SLACK_API_URL": stub.url,
            "PORT": str(port),
            "COPROD_DB": str(tmp_path / "c.db"),
        }
        proc = coprod_process(["run", "--http"], env, tmp_path)
        try:
            wait_healthy(port, proc)
            assert stub.calls == [], "coprod called Slack before anyone asked it anything"
            slack = SlackClientSim(f"http://127.0.0.1:{port}/", SECRET, triggers=stub.trigger)
            assert slack.command("help").status == 200
            assert "checkin" in json.dumps(slack.command("help").json())
            assert slack.command("help", bad_signature=True).status == 401
            assert slack.command("help", timestamp=int(time.time()) - 600).status == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "xoxb-1" not in err and SECRET not in err
        assert "Traceback" not in err


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    """`coprod run --http` on a taken port says so in one line, exits 1, and schedules nothing."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "PORT": str(port),
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "COPROD_DB": str(tmp_path / "c.db"),
        }
        proc = coprod_process(["run", "--http"], env, tmp_path)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"cannot listen on port {port}" in err and "Traceback" not in err
