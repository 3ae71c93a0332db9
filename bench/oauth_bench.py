"""Acknowledgement latency with the installation store in the path: several workspaces against one, over HTTP.

    python bench/oauth_bench.py [--clicks 2000] [--warmup 300] [--rounds 10] [--smoke]

Two ``coprod run --http`` subprocesses on this machine, each with its own Slack stand-in (in a process of its
own) and its own database, seeded alike:

- **one workspace**: ``SLACK_BOT_TOKEN``, as before.
- **several workspaces**: ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` and no bot token, with the workspace's
  installation already in the installations file (as ``/slack/oauth_redirect`` leaves it). Each request
  is authorized by Bolt from slack-sdk's SQLite installation store (one ``find_bot`` per request; Slack's
  ``auth.test`` once per token, cached), and gets a Web API client with that workspace's token.

What is timed: a signed rating click POSTed to /slack/events on a keep-alive connection, until the response
(coprod commits the answer first). One click at a time, the two apps taking turns in ``--rounds`` blocks (the
order alternating); ``--warmup`` clicks each first are not counted. Then the same in this process, without
sockets: coprod's WSGI handler called directly for each app in turn, which shows the installation store's cost
without the network's noise. Percentiles are nearest-rank (bench/harness.py). Goal (issue 14): several
workspaces no more than 0.3 ms over one workspace.

``--smoke``: 40 clicks, a few seconds (its figures mean nothing).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import harness as h

CLIENT = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "bench-client-secret"}
KINDS = ("one", "several")
LABELS = {"one": "one workspace (SLACK_BOT_TOKEN)", "several": "several workspaces (installation store)"}
INSTALLED_TOKEN = "xoxb-bench-installed"


def several_env(env: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in env.items() if k != "SLACK_BOT_TOKEN"}, **CLIENT}


def install(db: Path) -> None:
    """The workspace's installation, as the OAuth flow stores it."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.store.installations import installations_path_for, open_stores

    store, _ = open_stores(installations_path_for(db), client_id=CLIENT["SLACK_CLIENT_ID"])
    store.save(
        Installation(
            app_id="A1",
            team_id=h.TEAM,
            team_name="Bench",
            bot_token=INSTALLED_TOKEN,
            bot_id="BBOT",
            bot_user_id="UBOT",
            bot_scopes="commands,chat:write",
            user_id="U1",
        )
    )


def over_http(workdir: Path, clicks: int, warmup: int, rounds: int) -> dict[str, h.Stats]:
    dbs = {kind: workdir / f"oauth-{kind}.db" for kind in KINDS}
    targets = {}
    for kind, db in dbs.items():
        h.remove_db(db)
        targets[kind] = h.seed(db, 16)
    install(dbs["several"])
    apps: dict[str, h.BotProcess] = {}
    response_urls: dict[str, str] = {}
    with ExitStack() as stack:
        for kind in KINDS:
            stub = stack.enter_context(h.StubProcess())
            apps[kind] = h.BotProcess(dbs[kind], stub.url, workdir / f"oauth-{kind}.log")
            if kind == "several":
                apps[kind].env = several_env(apps[kind].env or {})
            response_urls[kind] = stub.open_response_urls(f"oauth-{kind}")
        for app in apps.values():
            app.start()
            stack.callback(app.stop)
        clients = {kind: h.clicker(app.port) for kind, app in apps.items()}
        streams = {kind: h.ClickStream(targets[kind]) for kind in KINDS}  # the same clicks for each
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}

        def click(kind: str) -> float:
            return h.timed_click(clients[kind], streams[kind], response_urls[kind], kind, apps[kind].log)

        for kind in KINDS:
            for _ in range(warmup):
                click(kind)
        per_block = max(1, clicks // rounds)
        for r in range(rounds):
            for kind in KINDS[r % 2 :] + KINDS[: r % 2]:
                times[kind].extend(click(kind) for _ in range(per_block))
        for c in clients.values():
            c.close()
        for app in apps.values():
            if app.proc is not None and app.proc.poll() is None:
                app.proc.send_signal(signal.SIGTERM)
    return {kind: h.describe(v) for kind, v in times.items()}


def in_process(workdir: Path, clicks: int, warmup: int) -> dict[str, h.Stats]:
    """coprod's WSGI handler for each app in this process, called in turn (no sockets)."""
    from bot.runtime.run import Runtime
    from bot.settings import Settings

    runtimes = {}
    handlers = {}
    streams = {}
    with ExitStack() as stack:
        stub = stack.enter_context(h.StubProcess())
        for kind in KINDS:
            db = workdir / f"oauth-inproc-{kind}.db"
            h.remove_db(db)
            streams[kind] = h.ClickStream(h.seed(db, 16), seed_value=7)
            env = h.coprod_env(db, stub.url, port=0)
            if kind == "several":
                install(db)
                env = several_env(env)
            runtime = Runtime(Settings.from_env(env))
            stack.callback(runtime.stop)
            runtime.make_server(host="127.0.0.1", port=0)
            runtimes[kind], handlers[kind] = runtime, runtime.server.application
        response_url = stub.open_response_urls("oauth-inproc")

        def handle(kind: str) -> float:
            return h.handle_click_in_process(handlers[kind], streams[kind].next(), response_url)

        for kind in KINDS:
            for _ in range(warmup):
                handle(kind)
        times = h.interleaved({kind: (lambda _i, k=kind: handle(k)) for kind in KINDS}, reps=clicks)
        for runtime in runtimes.values():
            runtime.drain()
    return {kind: h.describe(v) for kind, v in times.items()}


def report(title: str, stats: dict[str, h.Stats]) -> None:
    print(f"\n### {title}\n")
    print("| app | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for kind in KINDS:
        s = stats[kind]
        cells = [LABELS[kind], str(s.n), *(h.ms(x) for x in (s.p50, s.p95, s.p99, s.mean, s.max))]
        print("| " + " | ".join(cells) + " |")
    one, several = stats["one"], stats["several"]
    print(
        f"\nseveral - one: p50 {(several.p50 - one.p50) * 1e3:+.3f} ms, p99 {(several.p99 - one.p99) * 1e3:+.3f} ms, "
        f"mean {(several.mean - one.mean) * 1e3:+.3f} ms (goal: at most +0.3 ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=2000, help="timed clicks per app")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 40 clicks")
    args = parser.parse_args(argv)
    if args.smoke:
        args.clicks, args.warmup, args.rounds = 40, 10, 2
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="coprod-oauth-"))
    h.print_machine()
    print(f"command       {' '.join(['python', 'bench/oauth_bench.py', *(sys.argv[1:] if argv is None else argv)])}")
    report("HTTP: signed clicks POSTed to /slack/events, keep-alive", over_http(workdir, *_sizes(args)))
    report("coprod's HTTP handler in this process, no sockets", in_process(workdir, args.clicks, args.warmup))
    print(f"load average after: {h.loadavg()}")
    if args.smoke:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs and databases: {workdir}")
    return 0


def _sizes(args: argparse.Namespace) -> tuple[int, int, int]:
    return args.clicks, args.warmup, args.rounds


if __name__ == "__main__":
    sys.exit(main())
