"""Replies to clicks through their response_url, sent by a small process of their own.

Every rating click is confirmed to the person who clicked ("Thank you, your answer is saved"), through the
response_url Slack sends with the click, a moment later so that a double click gets one reply (the latest).
Sent on the web process's own threads, those replies held up the next click's acknowledgement: threads of
one process take turns on the interpreter lock. So they go to a process of their own. The listener writes
one line to that process's pipe (microseconds) and acknowledges; the process waits out the delay, keeps
only the latest reply for each key, and sends.

The process is started at the first reply and ends with coprod: when its pipe closes (coprod stopping, or
killed outright) it sends what it still holds at once, for up to :data:`LAST_SEND` seconds, and exits. A
reply that can't be sent is logged with its workspace and channel; the answer itself was stored before the
acknowledgement, whatever happens to its reply.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.settings import configure_logging

log = logging.getLogger(__name__)
SENDERS = 4  # replies sent at once (each waits on Slack)
LAST_SEND = 3.0  # seconds the process keeps sending after its pipe closes
SEND_TIMEOUT = 10.0
PIPE_SIZE = 1 << 20  # room for a few thousand replies while the process catches up
NICE = 10  # below the web process's priority
CLIENTS = 256  # Web API clients kept, one per workspace token


class Replies:
    """The web process's side: hands replies to the sending process, starting it when first needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._closed = False
        self._drained: dict[int, threading.Event] = {}
        self._order = itertools.count(1)

    def send(
        self, key: str, url: str, body: dict[str, Any], *, delay: float, order: int, team: str, channel: str
    ) -> None:
        """Post ``body`` to ``url`` after ``delay`` seconds. A reply still waiting with the same ``key`` is replaced
        by this one if ``order`` (what it confirms: when that was stored) is not lower than its own: two clicks
        handed over out of the order they were stored in still end with the reply to the later."""
        message = {"key": key, "url": url, "body": body, "delay": delay, "order": order}
        self._hand_over(message | {"team": team, "channel": channel}, "confirm a click")

    def call(self, key: str, client: WebClient, method: str, args: dict[str, Any], *, team: str, channel: str) -> None:
        """Call Slack's Web API ``method`` with ``client``'s token, now; a call still waiting with the same ``key``
        is replaced (a message update that only needs the latest state)."""
        message = {"key": key, "base_url": client.base_url, "token": client.token, "method": method, "args": args}
        self._hand_over(message | {"team": team, "channel": channel}, f"call {method}")

    def _hand_over(self, message: dict[str, Any], what: str) -> None:
        if not self._write(message):
            log.error(
                "could not %s for team %s channel %s: coprod was stopping", what, message["team"], message["channel"]
            )

    def drain(self, timeout: float = 10.0) -> bool:
        """Send every waiting reply now and wait until all are sent; False if ``timeout`` passed first."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                return True
        n = next(self._order)
        done = self._drained[n] = threading.Event()
        try:
            return self._write({"drain": n}, start=False) and done.wait(timeout)
        finally:
            self._drained.pop(n, None)

    def close(self, timeout: float = LAST_SEND + 1.0) -> None:
        """Take no more replies; let the process send what it holds (up to ``timeout``) and end."""
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the reply sender was still sending when coprod stopped; the rest of its replies are lost")
            proc.kill()
            proc.wait()

    def _write(self, message: dict[str, Any], *, start: bool = True) -> bool:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._closed:
                return False
            for attempt in range(2):
                proc = self._proc
                if proc is None or proc.poll() is not None:
                    if not start:
                        return False
                    if proc is not None:
                        log.error("the reply sender ended (exit %s); starting another", proc.returncode)
                    proc = self._proc = self._spawn()
                try:
                    _write_all(proc.stdin.fileno(), data)  # type: ignore[union-attr]
                    return True
                except OSError:
                    if attempt:
                        raise
                    proc.kill()
                    proc.wait()
        return False

    def _spawn(self) -> subprocess.Popen:
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.replies", "--log-level", str(level)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        with contextlib.suppress(OSError, AttributeError):  # Linux: a bigger pipe, so a busy moment never blocks
            import fcntl

            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[union-attr]
        threading.Thread(target=self._read_drained, args=(proc,), name="coprod-replies", daemon=True).start()
        return proc

    def _read_drained(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            word, _, n = line.decode().partition(" ")
            if word == "drained" and n.strip().isdigit():
                event = self._drained.get(int(n))
                if event is not None:
                    event.set()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---- the sending process ------------------------------------------------------------------------


class Sender:
    """Waiting replies, by key: each sent when due, on a few threads."""

    def __init__(self, workers: int = SENDERS):
        self._lock = threading.Condition()
        self._latest: dict[str, dict[str, Any]] = {}
        self._due: list[tuple[float, int, str]] = []  # a heap; entries for keys already sent are stale
        self._order = itertools.count()
        self._busy = 0  # waiting or being sent
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="coprod-reply")
        self._open = True
        threading.Thread(target=self._clock, name="coprod-reply-clock", daemon=True).start()

    def add(self, message: dict[str, Any]) -> None:
        key = str(message["key"])
        due = time.monotonic() + max(0.0, float(message.get("delay") or 0.0))
        with self._lock:
            waiting = self._latest.get(key)
            if waiting is not None and int(waiting.get("order") or 0) > int(message.get("order") or 0):
                return  # it confirms something stored later than this does
            if waiting is None:
                self._busy += 1
            self._latest[key] = message | {"due": due}
            heapq.heappush(self._due, (due, next(self._order), key))
            self._lock.notify_all()

    def release(self) -> None:
        """Everything waiting is due now."""
        with self._lock:
            self._due = [(0.0, next(self._order), key) for key in self._latest]
            for message in self._latest.values():
                message["due"] = 0.0
            self._lock.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._busy == 0, timeout)

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._lock.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _clock(self) -> None:
        with self._lock:
            while self._open:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    due, _, key = heapq.heappop(self._due)
                    message = self._latest.get(key)
                    if message is not None and message["due"] == due:  # not replaced by a later one
                        del self._latest[key]
                        self._pool.submit(self._send, message)
                self._lock.wait(self._due[0][0] - now if self._due else None)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            _post(message)
        finally:
            with self._lock:
                self._busy -= 1
                self._lock.notify_all()


def _post(message: dict[str, Any]) -> None:
    where = f"team {message.get('team') or '?'} channel {message.get('channel') or '?'}"
    if "method" in message:
        _call(message, where)
        return
    try:
        response = WebhookClient(str(message["url"]), timeout=int(SEND_TIMEOUT)).send_dict(message["body"])
    except Exception as exc:  # one failed reply must not stop the others
        log.warning("could not confirm a click for %s: %s", where, type(exc).__name__)
        return
    if response.status_code != 200:
        log.warning("could not confirm a click for %s: Slack answered HTTP %s", where, response.status_code)


_clients: dict[tuple[str, str], WebClient] = {}
_clients_lock = threading.Lock()


def _call(message: dict[str, Any], where: str) -> None:
    from bot.slack.app import web_client  # coprod's retries (rate limits per workspace, timeouts, server errors)

    method = str(message["method"])
    place = (str(message["base_url"]), str(message["token"]))
    with _clients_lock:
        client = _clients.get(place)
        if client is None:
            if len(_clients) >= CLIENTS:  # a workspace's token changed, or many workspaces: start afresh
                _clients.clear()
            client = _clients[place] = web_client(*place)
    try:
        client.api_call(method, json=message["args"])
    except SlackApiError as exc:
        log.warning("could not call %s for %s: %s", method, where, exc.response.get("error"))
    except Exception as exc:
        log.warning("could not call %s for %s: %s", method, where, type(exc).__name__)


def serve(lines: IO[bytes], out: IO[bytes]) -> None:
    """Take replies (and drain requests) from ``lines`` until it closes, then send what is left."""
    sender = Sender()
    try:
        for raw in lines:
            try:
                message = json.loads(raw)
            except ValueError:
                log.error("the reply sender was handed a line that is not JSON; it was left out")
                continue
            if "drain" in message:
                sender.release()
                sender.wait_idle()
                out.write(f"drained {int(message['drain'])}\n".encode())
                out.flush()
            else:
                sender.add(message)
        sender.release()
        if not sender.wait_idle(LAST_SEND):
            log.warning("coprod stopped with replies still unsent; they are lost")
    finally:
        sender.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="coprod's reply sender (started by coprod run)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    # Ctrl-C or a platform's SIGTERM reaches the whole process group: this process ends when coprod closes its
    # pipe instead, after sending what it holds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Acknowledgements come first: on a busy machine the system gives this process's sending the CPU last.
    with contextlib.suppress(OSError):
        os.nice(NICE)
    serve(sys.stdin.buffer, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
