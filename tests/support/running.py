"""coprod running against the Slack stand-ins: in this process (``running_bot``, the ``bot`` fixture's), or
as a real ``python -m bot`` process (``coprod_process``) with a clean environment (``clean_env``).

In process, coprod runs as it does in production (Bolt, a real SQLite file); only Slack is replaced: its Web
API by ``SlackStub``, and its side of the conversation by ``SlackClientSim`` (signed HTTP requests) or
``SocketModeSim`` (Socket Mode envelopes over a loopback WebSocket).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.localslack import access
from bot.localslack.client_sim import SlackClientSim
from bot.runtime.run import Runtime
from bot.settings import Settings
from tests.support.clock import Clock
from tests.support.constants import APP_TOKEN, BOT_TOKEN, CHANNEL, COORDINATOR, MODES, SECRET
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeSim
from tests.support.waiting import eventually


@dataclass
class Bot:
    runtime: Runtime
    slack: SlackClientSim | SocketModeSim
    stub: SlackStub
    clock: Clock
    mode: str = "http"  # "http" | "socket"

    @property
    def store(self):
        return self.runtime.store

    def drain(self) -> None:
        """Wait until the work that follows acknowledgements has finished (delayed updates run at once),
        so a test can read what it did."""
        finished = self.runtime.drain()
        assert finished is not False, "the work that follows acknowledgements did not finish in time"

    def command(self, text: str, user: str = COORDINATOR, channel: str = CHANNEL, **kw):
        """`/coprod <text>`; Slack's reply. An acknowledgement carrying blocks is held to the stand-in's Block
        Kit rules, as Slack holds it (it would show the person "failed with the error invalid_blocks")."""
        kw.setdefault("response_url", self.stub.response_url(f"cmd-{user}"))
        reply = self.slack.command(text, user=user, channel=channel, **kw)
        try:
            body = reply.json()
        except ValueError:
            return reply
        if isinstance(body, dict) and "blocks" in body:
            refused = access.blocks_refusal(self.stub.workspace, "response_url", body)
            assert refused is None, f"Slack would refuse /coprod {text}'s answer: {refused}"
        return reply

    def tick(self):
        return self.runtime.dispatcher.tick()


def make_settings(tmp_path, stub: SlackStub, **extra: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": stub.url,
        "COPROD_DB": str(tmp_path / "coprod.db"),
        "PORT": "0",
        **extra,
    }
    return Settings.from_env(env)


@contextmanager
def running_bot(request, mode: str, tmp_path, stub: SlackStub, clock: Clock, **env: str) -> Iterator[Bot]:
    """coprod running in ``mode`` ("http" or "socket") against the stub, with ``env`` added to its settings;
    drained and stopped on the way out."""
    if mode == "http":
        runtime = Runtime(make_settings(tmp_path, stub, **env), clock=clock)
        runtime.make_server(host="127.0.0.1", port=0)
        threading.Thread(target=runtime.serve, daemon=True).start()
        slack: SlackClientSim | SocketModeSim = SlackClientSim(
            f"http://127.0.0.1:{runtime.port}/", SECRET, triggers=stub.trigger
        )
        stopping = contextlib.nullcontext
    elif mode == "socket":
        endpoint = request.getfixturevalue("socket_endpoint")
        # As configured for Socket Mode: an app-level token and no signing secret.
        runtime = Runtime(
            make_settings(tmp_path, stub, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET="", **env), clock=clock
        )
        try:
            runtime.start_socket_mode()
            endpoint.wait_connected()
        except BaseException:
            runtime.stop()
            raise
        slack = SocketModeSim(endpoint, triggers=stub.trigger)
        stopping = endpoint.pinging  # or the client's close waits out its 3 s read timeout
    else:
        raise ValueError(f"no such mode {mode!r}; one of {MODES}")
    running = Bot(runtime, slack, stub, clock, mode)
    try:
        yield running
    finally:
        try:
            running.drain()  # nothing queued after an ack may outlive the database
        finally:
            with stopping():
                runtime.stop()


# ---- coprod as a process ------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any SLACK_* or COPROD_* setting (a developer's own must not leak
    into a test), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPROD_"))}
    env.update(extra)
    return env


def coprod_process(args: list[str], env: dict[str, str], cwd: Path, **kw: Any) -> subprocess.Popen:
    """``python -m bot <args>`` in ``cwd`` with ``env`` on a clean environment; stdout and stderr piped, as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(**env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def helpers(db: Path | str, module: str) -> list[int]:
    """The process ids of the helper processes running ``module`` (``bot.runtime.worker``) for the coprod whose
    database is ``db`` (found by their environment, which they share with it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if module.encode() in cmdline.split(b"\0") and f"COPROD_DB={db}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def free_port() -> int:
    """A loopback port nobody is listening on (for ``PORT``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Wait until the coprod process ``proc`` answers ``GET /healthz`` on ``port``; fail if it exits first."""

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"coprod exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    assert eventually(healthy, timeout, interval=0.1), "coprod never became healthy"


@contextmanager
def coprod_with_a_checkin(db: Path, mode: str, channel: str, *run_args: str) -> Iterator[tuple[SlackStub, Any, Any]]:
    """`coprod run` (with ``run_args``) in ``mode`` as a process on ``db``, against a Slack stand-in that knows
    ``channel`` with the check-in bench/harness.py's ``seed`` wrote there, and a clicker for it:
    (stub, process, clicker)."""
    from bench.harness import BotProcess, channel_with_checkin, click_target, clicker, socket_endpoint

    with contextlib.ExitStack() as stack:
        endpoint = None
        if mode == "socket":
            endpoint = socket_endpoint()
            stack.callback(endpoint.stop)
        stub = stack.enter_context(SlackStub())
        channel_with_checkin(stub, channel)
        if endpoint is not None:
            stub.socket_mode_url = endpoint.url
        command = [sys.executable, "-m", "bot", "run", *run_args, *(["--http"] if mode == "http" else [])]
        bot = stack.enter_context(
            BotProcess(db, stub.url, db.with_suffix(".log"), mode=mode, endpoint=endpoint, command=command)
        )
        client = clicker(click_target(bot))
        stack.callback(client.close)
        yield stub, bot, client
