"""`coprod run` in a local workspace: the Slack stand-in and its page on 127.0.0.1:PORT, coprod behind it.

coprod runs exactly as over HTTP (``bot.runtime.run.Runtime``, its signed ``/slack/events`` endpoint, the
scheduler), on 127.0.0.1 at a port of its own; only its Slack URL, token and signing secret are the
stand-in's. The first start seeds six months of history (``seed``) unless ``--fresh``. The database is
``coprod-local.db`` unless ``COPROD_DB`` says otherwise; the stand-in keeps Slack's side (messages, App Home,
files) beside it in ``coprod-local.slack.json``, 0600 like the database. A database that a real workspace's
coprod made is refused, never mixed with. ``--fresh`` (start empty) and ``--demo`` (start again with the history)
set the local workspace's files aside as ``coprod-local.previous.*`` rather than deleting them, so nobody loses
what they tried by starting over; the set of files set aside before that is replaced.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import replace
from pathlib import Path

from bot.localslack import seed
from bot.localslack.page import LocalPage
from bot.localslack.server import HOST, SlackServer
from bot.localslack.slackside import SlackSide
from bot.localslack.workspace import Workspace
from bot.runtime.run import Runtime, run_until_stopped
from bot.settings import Settings, SettingsError
from bot.store import Store
from bot.store.files import with_side_files
from bot.store.keys import key_file_for

log = logging.getLogger(__name__)
MARK = "local_workspace"  # in the database's meta: a local workspace made it


def slack_file_for(db_path: str) -> Path:
    """Where the stand-in keeps Slack's side: ``coprod-local.db`` -> ``coprod-local.slack.json``."""
    path = Path(db_path)
    return path.with_name(path.stem + ".slack.json")


class LocalWorkspace:
    """The stand-in, its page and Slack's side of the conversation, for one local workspace."""

    def __init__(self, settings: Settings) -> None:
        self.workspace = Workspace(
            team_id=seed.TEAM_ID, team_name=seed.TEAM_NAME, path=slack_file_for(settings.db_path)
        )
        self.workspace.bot_token = settings.bot_token
        seed.populate(self.workspace)
        self.server = SlackServer(self.workspace, port=settings.port)
        self.side = SlackSide(self.server.api, settings.signing_secret or "")
        self.page = LocalPage(self.side, timezone=seed.TIMEZONE)
        self.server.page = self.page

    def bind(self, port: int) -> None:
        """Take the port (a start-up error if it is in use); nothing is served until :meth:`start`."""
        try:
            self.server.bind()
        except OSError as exc:
            raise SettingsError(f"cannot listen on port {port}: {exc.strerror} (set PORT to a free port)") from None
        self.page.port = self.server.port

    def start(self, events_url: str) -> None:
        """Serve, sending what people do to coprod at ``events_url``."""
        self.side.events_url = events_url
        self.workspace.start_saving()
        self.server.start()

    @property
    def address(self) -> str:
        return f"http://{HOST}:{self.server.port}"

    def stop(self) -> None:
        self.server.stop()
        self.workspace.close()


def run_local(settings: Settings, *, fresh: bool, demo: bool = False) -> int:
    """Serve a local workspace until SIGTERM or Ctrl-C; see the module docstring."""
    kept = set_aside(settings) if fresh or demo else None
    new = not Path(settings.db_path).exists()
    local = LocalWorkspace(settings)
    local.bind(settings.port)
    try:
        runtime = Runtime(replace(settings, api_url=local.server.url), sends=False)
    except BaseException:
        local.stop()
        raise
    try:
        prepare(runtime, local, new=new, fresh=fresh)
        runtime.make_server(host=HOST, port=0)
    except BaseException:
        runtime.stop()
        local.stop()
        raise
    local.start(f"http://{HOST}:{runtime.port}/slack/events")

    def announce() -> None:
        if kept is not None:
            print(f"The local workspace's earlier data is kept in {kept} ({reopen(kept)} opens it).")
        print(f"coprod is running in a local workspace: open {local.address}")
        if fresh:
            print("It starts empty: `coprod run --local --demo` starts it again with six months of history.")
        sys.stdout.flush()

    return run_until_stopped(runtime, announce, after_stop=local.stop)


def prepare(runtime: Runtime, local: LocalWorkspace, *, new: bool, fresh: bool) -> None:
    """A new database is marked as the local workspace's and, unless ``fresh``, given its history; an old
    one must be a local workspace's."""
    store = runtime.store
    if not new and store.ledger.meta(MARK) is None:
        raise SettingsError(refusal(store.path))
    if new:
        store.ledger.set_meta(MARK, "empty" if fresh else "seeded")
        if not fresh:
            seed.seed(store, runtime.deps.catalog, local.workspace, runtime.deps.now())
            local.workspace.save()


def refusal(path: str) -> str:
    return (
        f"{path} holds a Slack workspace's answers, not a local workspace's: the local workspace keeps its own "
        "database (unset COPROD_DB to use coprod-local.db, or point it at a new file)"
    )


def previous_for(db_path: str) -> Path:
    """Where ``--fresh`` and ``--demo`` set a local workspace's database aside: ``coprod-local.db`` ->
    ``coprod-local.previous.db`` (its key file and Slack's side follow the same name)."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}.previous{path.suffix or '.db'}")


def reopen(kept: Path) -> str:
    return f"`COPROD_DB={kept} coprod run --local`"


def set_aside(settings: Settings) -> Path | None:
    """``--fresh`` and ``--demo``: move the local workspace's database, its side files, its key file and Slack's
    side to ``previous_for`` (replacing what an earlier start set aside there), only when a local workspace made
    them. The run lock is held, so no coprod has them open. Where they went, or None when there was nothing."""
    db = Path(settings.db_path)
    if not db.exists():
        return None
    store = Store.open(db, secret_key=settings.secret_key, allow_shared=settings.allow_shared_db)
    try:
        made_here = store.ledger.meta(MARK) is not None
    finally:
        store.close()
    if not made_here:
        raise SettingsError(refusal(str(db)))
    kept = previous_for(str(db))
    moves = [
        *zip(with_side_files(db), with_side_files(kept), strict=True),
        (key_file_for(str(db)), key_file_for(str(kept))),
        (slack_file_for(str(db)), slack_file_for(str(kept))),
    ]
    for _, old in moves:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    for here, there in moves:
        with contextlib.suppress(FileNotFoundError):
            here.rename(there)
    return kept
