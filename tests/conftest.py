"""Fixtures for the Slack layer: a Slack stand-in on loopback, and coprod running for real.

coprod runs as it does in production (Bolt, a real SQLite file); only Slack is replaced: its Web API by
``SlackStub``, and its side of the conversation by a sim. ``bot`` runs every test twice:

- ``http``: waitress on a real port; requests are signed with the signing secret exactly as Slack signs
  them (``SlackClientSim``).
- ``socket``: coprod connects out over a WebSocket to ``SocketModeEndpoint``, and each request arrives as a
  Socket Mode envelope (``SocketModeSim``).

``browser`` makes pages as Playwright's ``Browser.new_page`` does (each in a fresh context) in headless Chromium,
launched once per test process (``chromium_browser``); without Chromium or Playwright it skips, or fails under ``CI``.

``http_bot`` is the HTTP runner alone, for tests about the HTTP transport itself (signatures, body limits,
malformed bodies, URL verification). Time comes from a clock the test moves by hand. ``store`` is a bare
store on a fresh database file, for tests of the store and what is computed from it.

What the fixtures are made of lives in ``tests.support`` (``running``, ``clock``, the stand-ins).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from tests.support.browser import chromium, missing
from tests.support.clock import Clock
from tests.support.constants import ADMIN, BOT_USER, CHANNEL, COORDINATOR, MEMBERS, MODES, START
from tests.support.running import running_bot
from tests.support.slack_stub import SlackStub
from tests.support.socket_mode_sim import SocketModeEndpoint


@pytest.fixture
def stub(clock):
    # Slack stamps each message with its own clock: here, the time coprod sees.
    with SlackStub(clock=lambda: clock.now.timestamp()) as s:
        s.add_user(COORDINATOR, tz="Europe/London", name="ann")
        for user in MEMBERS[1:]:
            s.add_user(user, tz="Europe/London")
        s.add_user(ADMIN, tz="Europe/London", is_admin=True)
        s.add_user(BOT_USER, is_bot=True)
        s.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER], name="partnership")
        yield s


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def socket_endpoint(stub):
    """Slack's Socket Mode endpoint on loopback; the stub's apps.connections.open hands out its URL."""
    with SocketModeEndpoint() as endpoint:
        stub.socket_mode_url = endpoint.url
        yield endpoint
        stub.socket_mode_url = None


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """A database file as coprod creates it (every migration applied), made once per test process; its key file
    is not kept, so each copy gets a key of its own when it is opened."""
    path = tmp_path_factory.mktemp("migrated") / "coprod.db"
    Store.open(path).close()
    return path


@pytest.fixture
def fresh_db(tmp_path, migrated_db) -> Path:
    """``tmp_path/coprod.db``: a copy of the freshly created database (0600, as coprod makes it), so each test
    opens an up-to-date file rather than running every migration again."""
    path = tmp_path / "coprod.db"
    shutil.copyfile(migrated_db, path)
    path.chmod(0o600)
    return path


@pytest.fixture(params=MODES)
def bot(request, tmp_path, fresh_db, stub, clock):
    """coprod in each Slack runner mode in turn: ``http`` and ``socket``."""
    with running_bot(request, request.param, tmp_path, stub, clock) as running:
        yield running


@pytest.fixture
def http_bot(request, tmp_path, fresh_db, stub, clock):
    """coprod behind its HTTP endpoint only, for tests about the HTTP transport itself."""
    with running_bot(request, "http", tmp_path, stub, clock) as running:
        yield running


@pytest.fixture
def store(fresh_db: Path) -> Iterator[Store]:
    """A store on a fresh database file, closed afterwards."""
    s = Store.open(fresh_db)
    yield s
    s.close()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium, launched once for the session (each test takes a context of its own in it)."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with chromium() as running:
        yield running


class Pages:
    """Playwright's ``Browser.new_page`` on the session's Chromium: each page in a fresh context of its own (its
    own cookies, storage and downloads), all closed when the test ends."""

    def __init__(self, chromium: Any) -> None:
        self.chromium = chromium
        self.contexts: list[Any] = []

    def new_page(self, **options: Any) -> Any:
        context = self.chromium.new_context(**options)
        self.contexts.append(context)
        return context.new_page()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browser(chromium_browser) -> Iterator[Pages]:
    """New pages in the session's Chromium, as ``Browser.new_page`` makes them; closed afterwards."""
    pages = Pages(chromium_browser)
    try:
        yield pages
    finally:
        pages.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on a browser run on one test process (``--dist loadgroup``), so Chromium is launched once."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("chromium"))
