"""Slow clients: how fast signed clicks are acknowledged while hundreds of connections that never finish a
request are held open against `coprod run --http` from one address, against the same clicks without them.

    python bench/slowloris_bench.py [--slow 300] [--clicks 500] [--rounds 4] [--every 1.0] [--gap-ms 20]
                                    [--coprod-root DIR] [--smoke]

1. Seeds a fresh database and starts ``coprod run --http`` on it as a subprocess, with Slack's Web API
   replaced by ``SlackStub`` in a process of its own.
2. ``--rounds`` times, two blocks in turn (which goes first alternates): **without** slow clients, and
   **with** ``--slow`` of them held open by another process of this bench (tests/support/slow_clients.py:
   half idle, half sending one more header byte every ``--every`` seconds, never ending their headers,
   and opened again at once when coprod closes them, as an attacker would). In each block ``--clicks``
   signed rating clicks, one at a time, ``--gap-ms`` apart, each on a **new connection** (a click after a
   quiet spell, and the connection the server has to accept, which is what a crowd of slow clients
   blocks), timed from connecting until the response, with Slack's 3 s as the client's timeout; then
   one GET /healthz.
3. Prints, per condition, p50/p95/p99/max (nearest rank) of the acknowledged clicks, how many took over
   1 s or got no answer within 3 s, /healthz answers, how many slow connections coprod closed (the
   request deadline and idle timeout, bot/slack/server.py), and coprod's CPU.

Exits 1 when a click with slow clients held open failed or took over 1 s (issue 8's promise), or /healthz
was not ok. ``--coprod-root DIR`` runs coprod from another checkout (say, the code before bot/slack/server.py),
to see the difference. ``--smoke``: 30 slow clients, 20 clicks a block, one round.

Not a test: the figures go into BENCHMARKS.md; tests/test_http_edge.py is the CI form.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import harness as h

PROMISE = 1.0  # seconds: a click is acknowledged within this, slow clients or not


def hold(port: int, count: int, every: float) -> None:
    """``--hold``: ``count`` slow clients against ``port`` until stdin closes; prints "ready" once they are
    open, and how many were opened again when it ends."""
    from tests.support.slow_clients import SlowClients

    with SlowClients(port, count=count, every=every) as slow:
        print("ready", flush=True)
        sys.stdin.read()
        print(slow.reopened, flush=True)


class SlowClientsProcess:
    """:func:`hold` in a child process, so its sockets and thread take no time from the clicks being timed."""

    def __init__(self, port: int, count: int, every: float):
        command = [sys.executable, str(Path(__file__).resolve()), "--hold", str(port), str(count), str(every)]
        self.proc = subprocess.Popen(command, cwd=h.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            raise RuntimeError("the slow clients did not start")

    def stop(self) -> int:
        """Close them all; how many coprod had closed (and were opened again) meanwhile."""
        out, _ = self.proc.communicate(timeout=30)
        return int(out.strip() or 0)


def click_on_a_new_connection(port: int, prepared, timeout: float) -> tuple[int | str, float]:
    """(status, or the error's name; seconds from connecting until the response)."""
    body, headers = prepared
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/slack/events", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status: int | str = resp.status
    except OSError as exc:
        status = type(exc).__name__
    finally:
        conn.close()
    return status, time.perf_counter() - began


def healthz(port: int) -> int | str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=h.SLACK_ACK_TIMEOUT) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError as exc:
        return type(exc).__name__


class Condition:
    def __init__(self, name: str):
        self.name = name
        self.latencies: list[float] = []  # acknowledged clicks (HTTP 200)
        self.failures: dict[str, int] = {}  # status or error -> count
        self.health: dict[str, int] = {}
        self.closed_by_coprod = 0

    def add(self, status: int | str, seconds: float) -> None:
        if status == 200:
            self.latencies.append(seconds)
        else:
            self.failures[str(status)] = self.failures.get(str(status), 0) + 1

    def row(self) -> str:
        s = h.describe(self.latencies)
        slow = sum(x > PROMISE for x in self.latencies)
        failed = sum(self.failures.values())
        return (
            f"| {self.name} | {s.n} | {h.ms(s.p50)} | {h.ms(s.p95)} | {h.ms(s.p99)} | {h.ms(s.max)} | {slow} | "
            f"{failed}{' ' + str(self.failures) if failed else ''} | {self.health} |"
        )


def main(argv: list[str] | None = None) -> int:
    from tests.support.slack_stub import SlackStub  # noqa: F401 - fail early without the test extra

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=300, help="slow connections held open (default 300)")
    parser.add_argument("--clicks", type=int, default=500, help="timed clicks per block (default 500)")
    parser.add_argument("--rounds", type=int, default=4, help="blocks of each condition (default 4)")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between a slow client's bytes")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="idle time after each click (default 20)")
    parser.add_argument("--coprod-root", type=Path, help="run coprod from this checkout instead")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 30 slow clients, 20 clicks, 1 round")
    parser.add_argument("--hold", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hold:
        hold(int(args.hold[0]), int(args.hold[1]), float(args.hold[2]))
        return 0
    if args.smoke:
        args.slow, args.clicks, args.rounds = 30, 20, 1

    workdir = Path(tempfile.mkdtemp(prefix="coprod-slowloris-"))
    db = workdir / "slowloris.db"
    targets = h.seed(db, 4)
    stream = h.ClickStream(targets)
    h.print_machine()
    command = None
    if args.coprod_root:
        root = str(args.coprod_root.resolve())
        command = [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {root!r}); from bot.cli import main; sys.exit(main(['run', '--http']))",
        ]
    without, with_slow = Condition("without slow clients"), Condition(f"{args.slow} slow clients held open")
    with h.StubProcess() as stub:
        bot = h.BotProcess(db, stub.url, workdir / "coprod.log", command=command)
        with bot:
            print(
                f"coprod pid {bot.proc.pid}{' from ' + str(args.coprod_root) if args.coprod_root else ''}; "
                f"{args.rounds} rounds of {args.clicks} clicks each way; {args.slow} slow clients "
                f"(half idle, half a byte every {args.every:g} s)",
                flush=True,
            )
            signer = h.Clicker(bot.port)
            cpu_before = h.process_cpu(bot.proc.pid)
            for round_no in range(args.rounds):
                order = [without, with_slow] if round_no % 2 == 0 else [with_slow, without]
                for condition in order:
                    slow = SlowClientsProcess(bot.port, args.slow, args.every) if condition is with_slow else None
                    try:
                        if slow is not None:
                            time.sleep(min(2.0, 2 * args.every))  # every slow client has started trickling
                        for _ in range(args.clicks):
                            user, channel, checkin, rating = stream.next()
                            prepared = signer.prepare(user, channel, checkin, rating, stub.open_response_urls(user))
                            condition.add(*click_on_a_new_connection(bot.port, prepared, h.SLACK_ACK_TIMEOUT))
                            time.sleep(args.gap_ms / 1000)
                        status = str(healthz(bot.port))
                        condition.health[status] = condition.health.get(status, 0) + 1
                    finally:
                        if slow is not None:
                            condition.closed_by_coprod += slow.stop()
                print(f"round {round_no + 1}/{args.rounds} done", flush=True)
            cpu = h.process_cpu(bot.proc.pid) - cpu_before
            signer.close()
            log = bot.log()

    print()
    print("| condition | clicks acked | p50 ms | p95 ms | p99 ms | max ms | over 1 s | failed | /healthz |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print(without.row())
    print(with_slow.row())
    print()
    print(f"slow connections coprod closed (and the bench opened again): {with_slow.closed_by_coprod}")
    print(f"coprod CPU {cpu:.1f} s over the whole run; load average after {h.loadavg()}")
    if "ERROR" in log or "Traceback" in log:
        print(f"coprod's log has errors: {log}")
    ok = (
        not with_slow.failures
        and not without.failures
        and all(x <= PROMISE for x in with_slow.latencies)
        and set(with_slow.health) == {"200"}
        and "Traceback" not in log
    )
    print("promise (clicks within 1 s with slow clients held open, /healthz ok): " + ("held" if ok else "NOT held"))
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"database and log: {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
