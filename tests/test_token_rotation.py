"""Token rotation stays off: coprod keeps the tokens Slack gives it and never refreshes one, so a rotating
token (which expires 12 hours after it was issued: https://docs.slack.dev/authentication/using-token-rotation)
would stop every post half a day later. coprod refuses one at once instead, in plain words: at start (one
line, a non-zero exit), and on the page a person lands on when adding coprod to a workspace.
"""

from __future__ import annotations

import subprocess
import sys

from slack_sdk.oauth.installation_store import Installation

from bot.store.installations import installations_path_for, open_stores
from tests.support.constants import SECRET
from tests.support.installing import come_back, start
from tests.support.running import clean_env, running_bot
from tests.support.stored import file_bytes

CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"
OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}
TEAM = "T0ROTATE5WS"


def run(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """``coprod run --http`` as a person starts it; it is expected to stop at once."""
    environment = clean_env(COPROD_DB=str(tmp_path / "coprod.db"), SLACK_SIGNING_SECRET=SECRET, PORT="0", **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--http"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    return line


def test_a_rotating_bot_token_is_refused_at_start_in_one_line(tmp_path):
    line = one_line(run(tmp_path, SLACK_BOT_TOKEN="xoxe.xoxb-1-rotating"))
    assert "rotating token" in line and "token rotation off" in line and "README" in line


def test_an_installation_kept_with_a_refresh_token_stops_coprod_at_start(tmp_path):
    """Workspaces added while the app had rotation on (by an earlier coprod): coprod says so and does not start."""
    installations, _ = open_stores(installations_path_for(tmp_path / "coprod.db"), client_id=CLIENT_ID)
    installations.save(installation(TEAM, "xoxe.xoxb-1-rotating", "xoxe-1-refresh"))
    line = one_line(run(tmp_path, **OAUTH))
    assert "1 workspace(s)" in line and "token rotation on" in line and "README" in line


def installation(team: str, token: str, refresh: str | None) -> Installation:
    """An install as Bolt's OAuth flow saves it."""
    return Installation(
        app_id="A1",
        team_id=team,
        user_id="U1",
        bot_token=token,
        bot_id="BBOT",
        bot_user_id="UBOT",
        bot_refresh_token=refresh,
        bot_token_expires_in=43_200 if refresh else None,
    )


def test_only_a_workspaces_newest_install_with_rotation_on_counts(tmp_path):
    """A workspace added again from an app with rotation off no longer holds coprod back; another app's
    installations (another Client ID) are not this one's."""
    path = installations_path_for(tmp_path / "coprod.db")
    installations, _ = open_stores(path, client_id=CLIENT_ID)
    installations.save(installation(TEAM, "xoxe.xoxb-1-old", "xoxe-1-old"))
    assert installations.refresh_tokens() == 1
    installations.save(installation(TEAM, "xoxb-1-new", None))
    assert installations.refresh_tokens() == 0
    installations.save(installation("T0OTHER8WS", "xoxe.xoxb-2", "xoxe-2"))
    assert installations.refresh_tokens() == 1
    other_app, _ = open_stores(path, client_id="9999.8888")
    assert other_app.refresh_tokens() == 0


def test_adding_coprod_from_an_app_with_token_rotation_on_is_refused_and_keeps_nothing(request, tmp_path, stub, clock):
    stub.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    with running_bot(request, "http", tmp_path, stub, clock, **OAUTH) as bot:
        base_url = f"http://127.0.0.1:{bot.runtime.port}/"
        page = come_back(base_url, start(base_url), stub.grant(TEAM, rotating=True))
        assert "coprod was not added" in page.words and "token rotation" in page.words, page.words
        assert "Traceback" not in page.text
        [token] = stub.tokens_of(TEAM)
        assert token.startswith("xoxe.xoxb-")
        assert bot.runtime.installations.token(TEAM) is None
        assert token.encode() not in file_bytes(installations_path_for(bot.store.path))
