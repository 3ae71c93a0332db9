"""The `coprod` command: run the bot, and read the catalog, summaries and exports without Slack."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from bot import __version__
from bot.domain.catalog import Catalog, CatalogError, load_catalog
from bot.runtime.runlock import RunLock
from bot.settings import (
    Settings,
    SettingsError,
    TokenRefused,
    configure_logging,
    facilitators_path_from_env,
    store_settings_from_env,
)
from bot.store import Partnership, Store, StoreError

EXIT_FAILURE = 1  # coprod could not do it: settings, catalog, database, port
EXIT_USAGE = 2  # the command line itself is wrong
# What `coprod run` starts (bot/runtime/run.py): what --help says of it, and the README's room list says too.
RUN_HELP = (
    "run the bot: the Slack connection (or a local workspace in your browser), with a worker process beside it "
    "for the scheduled posts and the replies to clicks"
)


class UsageError(Exception):
    """An argument names something that doesn't exist (as argparse's own errors, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every other error
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="coprod", description="A Slack bot for research co-production partnerships.")
    parser.add_argument("--version", action="version", version=f"coprod {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    run = sub.add_parser("run", help=RUN_HELP, description=RUN_HELP[0].upper() + RUN_HELP[1:] + ".")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--http", action="store_true", help="serve HTTP on PORT even when SLACK_APP_TOKEN is set")
    how.add_argument(
        "--local",
        action="store_true",
        help="run in a local workspace on this computer, even when Slack tokens are set (the default without them)",
    )
    again = run.add_mutually_exclusive_group()
    again.add_argument(
        "--fresh",
        action="store_true",
        help="start the local workspace empty, without the history (its earlier data is kept in "
        "coprod-local.previous.db)",
    )
    again.add_argument(
        "--demo",
        action="store_true",
        help="start the local workspace again with six months of history (its earlier data is kept in "
        "coprod-local.previous.db)",
    )
    run.add_argument(
        "--web-only",
        action="store_true",
        help="start no worker: for a host that runs `coprod worker` as a process of its own (the Procfile's)",
    )
    sub.add_parser(
        "worker",
        help="run only the worker (scheduled posts, replies to clicks), beside a `coprod run --web-only`",
        description="Run only the worker: the scheduled posts and the replies to clicks, with the same settings as "
        "`coprod run --web-only` beside it. Stops on SIGTERM or Ctrl-C.",
    )

    fac = sub.add_parser("facilitators", help="list the practices coprod asks about")
    fac.add_argument("--level", help="only this level (id or name)")

    summ = sub.add_parser("summary", help="print a partnership's level summary")
    summ.add_argument("--team", required=True, help="Slack workspace id (T…)")
    summ.add_argument("--channel", required=True, help="Slack channel id (C…)")
    summ.add_argument("--weeks", type=_weeks, help="window in weeks (default: the partnership's, 8)")
    summ.add_argument("--level", help="only this level (id or name)")

    exp = sub.add_parser("export", help="write the answers to stdout, pseudonymous (see the README)")
    exp.add_argument("--team", required=True, help="Slack workspace id (T…)")
    exp.add_argument("--channel", help="only this channel id (C…)")
    exp.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    exp.add_argument("--actions", action="store_true", help="the actions planned, instead of the answers")

    pic = sub.add_parser("picture", help="draw a partnership's coverage picture (PNG) without Slack")
    pic.add_argument("--team", required=True, help="Slack workspace id (T…)")
    pic.add_argument("--channel", required=True, help="Slack channel id (C…)")
    pic.add_argument("--weeks", type=_weeks, default=26, help="how far back, in weeks (default 26)")
    pic.add_argument("--out", required=True, help="the PNG file to write, e.g. coverage.png")

    rep = sub.add_parser("report", help="write a partnership's report for funders (one HTML file)")
    rep.add_argument("--team", required=True, help="Slack workspace id (T…)")
    rep.add_argument("--channel", required=True, help="Slack channel id (C…)")
    rep.add_argument("--since", type=_day, help="first day, YYYY-MM-DD (default: when the partnership began)")
    rep.add_argument("--until", type=_day, help="last day, YYYY-MM-DD (default: today)")
    rep.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")

    led = sub.add_parser("ledger", help="write a partnership's involvement ledger (CSV, names people) for finance")
    led.add_argument("--team", required=True, help="Slack workspace id (T…)")
    led.add_argument("--channel", required=True, help="Slack channel id (C…)")
    led.add_argument("--out", required=True, help="the CSV file to write, e.g. ledger.csv (readable by you alone)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="action", parser_class=_Parser, required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the database at COPROD_DB")
    back = db_sub.add_parser("backup", help="write a consistent copy of the database to PATH, even while coprod runs")
    back.add_argument("path", metavar="PATH", help="the backup file to write (made readable by you alone)")
    back.add_argument("--force", action="store_true", help="replace PATH if it exists")
    rest = db_sub.add_parser("restore", help="put a backup back in place of the database at COPROD_DB")
    rest.add_argument("path", metavar="PATH", help="a file `coprod db backup` wrote")
    rest.add_argument("--force", action="store_true", help="restore even over a database changed since the backup")
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day is written YYYY-MM-DD, like 2027-01-04, not “{text}”") from None


def _weeks(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 520:
        raise argparse.ArgumentTypeError(f"weeks must be a whole number from 1 to 520, not “{text}”")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "worker":
            from bot.runtime.worker import main as worker

            return worker([])
        if args.command == "facilitators":
            return _facilitators(args)
        if args.command == "summary":
            return _summary(args)
        if args.command == "export":
            return _export(args)
        if args.command == "picture":
            return _picture(args)
        if args.command == "report":
            return _report(args)
        if args.command == "ledger":
            return _ledger(args)
        if args.command == "db" and args.db_command == "backup":
            return _db_backup(args)
        if args.command == "db" and args.db_command == "restore":
            return _db_restore(args)
        if args.command == "db":
            return _db_upgrade()
        parser.print_help()
        return 0
    except UsageError as exc:
        print(f"coprod: {exc} (see coprod {args.command} --help)", file=sys.stderr)
        return EXIT_USAGE
    except TokenRefused as exc:
        print(f"coprod: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CatalogError, StoreError, SettingsError) as exc:
        print(f"coprod: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # `coprod export | head` is fine
        return 0


def _run(args: argparse.Namespace) -> int:
    """Socket Mode, HTTP, or (no Slack settings, or ``--local``) a local workspace; one at a time on a database
    (bot/runtime/runlock.py), the lock taken before anything else touches it."""
    settings = Settings.from_env(http=args.http, local=args.local)
    if args.fresh and not settings.local:
        raise UsageError("--fresh starts an empty local workspace, and Slack tokens are set: add --local")
    if args.demo and not settings.local:
        raise UsageError("--demo starts the local workspace with its history, and Slack tokens are set: add --local")
    if args.web_only and settings.local:
        raise UsageError("--web-only is for Slack: the local workspace runs its worker itself")
    configure_logging(settings.log_level)
    lock = RunLock.take(settings.db_path, port=None if settings.socket_mode else settings.port or None)
    try:
        if settings.local:
            from bot.localslack.launch import run_local

            return run_local(settings, fresh=args.fresh, demo=args.demo)
        from bot.runtime.run import run

        return run(settings, worker=not args.web_only)
    finally:
        lock.release()


def _level_id(catalog: Catalog, text: str | None) -> str | None:
    if text is None:
        return None
    level = catalog.find_level(text)
    if level is None:
        names = ", ".join(level.id for level in catalog.levels)
        raise UsageError(f"unknown level “{text}”: use one of {names}")
    return level.id


def _facilitators(args: argparse.Namespace) -> int:
    catalog = load_catalog(facilitators_path_from_env())
    only = _level_id(catalog, args.level)
    for level in catalog.levels:
        if only and level.id != only:
            continue
        print(f"{level.name} ({level.scale})")
        for f in catalog.in_level(level.id):
            tags = f"  [{', '.join(f.tags)}]" if f.tags else ""
            print(f"  {f.id}: {f.text}{tags}")
            print(f"      {f.prompt}")
    return 0


def _open_store() -> Store:
    """The existing database: reading commands never create an empty one at a mistyped path."""
    settings = store_settings_from_env()
    if not Path(settings.db_path).is_file():
        raise StoreError(f"no database at {settings.db_path}: set COPROD_DB to the file coprod run uses")
    return Store.open(settings.db_path, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db)


def _summary(args: argparse.Namespace) -> int:
    from bot.domain.summary_text import render_text
    from bot.reports import partnership_summary

    catalog = load_catalog(facilitators_path_from_env())
    level_id = _level_id(catalog, args.level)
    store = _open_store()
    partnership = store.partnerships.get(args.team, args.channel)
    if partnership is None:
        raise StoreError(f"no partnership for channel {args.channel} in workspace {args.team} in {store.path}")
    result = partnership_summary(
        store, catalog, partnership, now=datetime.now(UTC), weeks=args.weeks, level_id=level_id
    )
    print(render_text(result, timezone=partnership.timezone))
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot import report_export
    from bot.domain.summary import DEFAULT_K

    catalog = load_catalog(facilitators_path_from_env())
    store = _open_store()
    now = datetime.now(UTC)
    write = report_export.write_json if args.format == "json" else report_export.write_csv
    one = store.partnerships.get(args.team, args.channel) if args.channel else None
    k = one.k if one is not None else DEFAULT_K
    if args.actions:
        write(
            report_export.action_records(store, catalog, args.team, args.channel, now=now),
            sys.stdout,
            report_export.ACTION_FIELDS,
        )
        print(report_export.actions_note(k), file=sys.stderr)
        return 0
    write(report_export.export_records(store, catalog, args.team, args.channel, now=now), sys.stdout)
    print(report_export.export_note(store, args.team, args.channel, now=now, k=k), file=sys.stderr)
    return 0


def _partnership(store: Store, team: str, channel: str) -> Partnership:
    partnership = store.partnerships.get(team, channel)
    if partnership is None:
        raise StoreError(f"no partnership for channel {channel} in workspace {team} in {store.path}")
    return partnership


def _write_private(path: str, data: bytes) -> None:
    """Write a file only its owner can read (it describes a partnership)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise StoreError(f"can't write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _picture(args: argparse.Namespace) -> int:
    from bot.reports import coverage_picture, picture_period

    catalog = load_catalog(facilitators_path_from_env())
    store = _open_store()
    p = _partnership(store, args.team, args.channel)
    now = datetime.now(UTC)
    start, end = picture_period(p, now, weeks=args.weeks)
    png, alt = coverage_picture(store, catalog, p, start=start, end=end, now=now)
    _write_private(args.out, png)
    print(f"{args.out}: {alt}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from bot.domain.coverage import utc
    from bot.reports import partnership_report

    catalog = load_catalog(facilitators_path_from_env())
    store = _open_store()
    p = _partnership(store, args.team, args.channel)
    now = datetime.now(UTC)
    since = utc(args.since, p.timezone) if args.since else None
    until = utc(args.until + timedelta(days=1), p.timezone) if args.until else None
    if since and until and since >= until:
        raise UsageError("--since must be a day before --until")
    html = partnership_report(store, catalog, p, now=now, since=since, until=min(until, now) if until else None)
    _write_private(args.out, html.encode("utf-8"))
    print(f"{args.out}: the report of {args.channel}")
    return 0


def _ledger(args: argparse.Namespace) -> int:
    import io

    from bot.domain import involvement
    from bot.report_export import ledger_records, write_csv

    store = _open_store()
    p = _partnership(store, args.team, args.channel)
    out = io.StringIO()
    n = write_csv(ledger_records(store, p), out, involvement.LEDGER_FIELDS)
    _write_private(args.out, out.getvalue().encode("utf-8"))
    print(f"{args.out}: {n} {'line' if n == 1 else 'lines'} of the involvement ledger of {args.channel}")
    return 0


def _db_upgrade() -> int:
    settings = store_settings_from_env()
    store = Store(settings.db_path, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db)
    try:
        applied = store.upgrade()
    finally:
        store.close()
    print(f"{store.path}: " + (f"applied {', '.join(applied)}" if applied else "already up to date"))
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from bot.store.backup import backup
    from bot.store.keys import key_file_for

    settings = store_settings_from_env()
    made = backup(settings.db_path, args.path, allow_shared=settings.allow_shared_db, replace=args.force)
    print(f"{made.path}: a copy of {settings.db_path} as of {made.when} ({made.answers} answers)")
    key = "COPROD_SECRET_KEY" if settings.secret_key is not None else str(key_file_for(settings.db_path))
    print(
        f"The key that links anonymous answers to their people is not in it: keep a copy of {key} "
        "too, somewhere else than the backups.",
        file=sys.stderr,
    )
    return 0


def _db_restore(args: argparse.Namespace) -> int:
    from bot.store.backup import restore

    settings = store_settings_from_env()
    found = restore(
        args.path,
        settings.db_path,
        secret_key=settings.secret_key,
        force=args.force,
        allow_shared=settings.allow_shared_db,
    )
    store = Store.open(settings.db_path, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db)
    try:
        problem = store.integrity_check()
    finally:
        store.close()
    if problem != "ok":
        raise StoreError(f"{settings.db_path} is damaged after the restore ({problem}): restore another backup")
    print(f"{settings.db_path}: restored from {found.path}, as of {found.when} ({found.answers} answers)")
    return 0
