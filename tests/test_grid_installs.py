"""A workspace of an Enterprise Grid organization adds coprod (several-workspace mode, over HTTP: OAuth is
HTTP-only), and a plain workspace beside it.

Slack's ``oauth.v2.access`` answers for a Grid workspace with ``enterprise`` set (and ``is_enterprise_install``
false), so Bolt's OAuth flow stores its token under both the organization's and the workspace's id, and every
request Slack sends from it names both (tests/support/org_payloads.py). coprod's own look-ups (scheduled
posts, a removal) know only the workspace, and must find the token where Bolt put it.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.installs import SCOPES
from bot.store.installations import installations_path_for
from tests.support.blockkit import is_checkin_post
from tests.support.constants import CHANNEL
from tests.support.flows import ask
from tests.support.installing import come_back, install, start
from tests.support.org_payloads import grid_ask, grid_event
from tests.support.running import running_bot
from tests.support.slack_stub import SlackStub
from tests.support.stored import file_bytes

CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"
OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}
GRID, PLAIN = "T0GRIDWS5X", "T0PLAINWS6X"
ORG = "E0STARSHIP1"
GIA, PAT = "U0GIA1X", "U0PAT2X"  # GIA coordinates in the Grid workspace, PAT in the plain one


@pytest.fixture
def several(request, tmp_path, stub: SlackStub, clock):
    stub.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    for user in (GIA, PAT):
        stub.add_user(user, tz="Europe/London")
    stub.add_channel(CHANNEL, [GIA, PAT, "UBOT" + GRID, "UBOT" + PLAIN])
    with running_bot(request, "http", tmp_path, stub, clock, **OAUTH) as running:
        running.base_url = f"http://127.0.0.1:{running.runtime.port}/"
        yield running


def test_the_stand_in_answers_an_install_in_a_grid_workspace_as_slack_does(stub):
    """oauth.v2.access names the organization beside the workspace, and is not an organization-wide install
    (https://docs.slack.dev/reference/methods/oauth.v2.access, https://api.slack.com/enterprise/apps/reference);
    auth.test with the token names both (https://docs.slack.dev/reference/methods/auth.test). With token rotation
    on, the token expires and comes with a refresh token."""
    client = WebClient(base_url=stub.url)
    answer = client.oauth_v2_access(client_id="1", client_secret="2", code=stub.grant(GRID, enterprise=ORG))
    assert answer["team"]["id"] == GRID and answer["enterprise"] == {"id": ORG, "name": f"Organization {ORG}"}
    assert answer["is_enterprise_install"] is False and "refresh_token" not in answer.data
    assert sorted(answer["scope"].split(",")) == sorted(SCOPES)  # manifest.json's, as tests/test_installs.py keeps
    me = client.auth_test(token=answer["access_token"])
    assert (me["team_id"], me["enterprise_id"], me["is_enterprise_install"]) == (GRID, ORG, False)
    rotating = client.oauth_v2_access(client_id="1", client_secret="2", code=stub.grant(PLAIN, rotating=True))
    assert rotating["access_token"].startswith("xoxe.xoxb-") and rotating["refresh_token"].startswith("xoxe-")
    assert rotating["expires_in"] == 43_200 and rotating["enterprise"] is None


def install_in_grid(bot) -> str:
    """A person of the Grid workspace adds coprod to it (to this workspace, not the whole organization); the
    token Slack gave coprod."""
    page = come_back(bot.base_url, start(bot.base_url), bot.stub.grant(GRID, installer=GIA, enterprise=ORG))
    assert page.status == 200 and "coprod is now in your workspace" in page.words, page.words
    [token] = bot.stub.tokens_of(GRID)
    return token


WEEKLY = "schedule checkins weekly Tuesday 10:00"


def schedule_in_grid(bot) -> None:
    answer = grid_ask(bot, WEEKLY, enterprise=ORG, team=GRID, user=GIA, channel=CHANNEL)
    assert "removed" not in answer["text"], answer
    assert bot.store.partnerships.get(GRID, CHANNEL) is not None


def test_a_grid_workspace_gets_its_scheduled_checkin_posted_with_its_own_token(several):
    bot = several
    grid_token = install_in_grid(bot)
    install(bot.base_url, bot.stub, PLAIN, installer=PAT)
    plain_token = bot.stub.tokens_of(PLAIN)[-1]
    schedule_in_grid(bot)
    ask(bot, WEEKLY, user=PAT, team=PLAIN)

    bot.clock.advance(hours=1, minutes=1)  # Tuesday 10:01 in London
    fired = bot.tick()
    assert sorted(f.team for f in fired if f.status == "posted") == sorted([GRID, PLAIN])
    posts = [c for c in bot.stub.calls_to("chat.postMessage") if is_checkin_post(c, CHANNEL)]
    assert sorted(c.token for c in posts) == sorted([grid_token, plain_token])


def test_a_grid_workspace_removing_coprod_loses_its_tokens_and_pauses(several):
    bot = several
    grid_token = install_in_grid(bot)
    schedule_in_grid(bot)

    bot.stub.revoke(GRID)
    reply = bot.slack.send(*grid_event({"type": "app_uninstalled"}, enterprise=ORG, team=GRID, event_id="EvGridGone"))
    assert reply.status == 200, reply.text
    assert bot.runtime.installations.token(GRID) is None
    assert grid_token.encode() not in file_bytes(installations_path_for(bot.store.path))
    assert bot.store.partnerships.get(GRID, CHANNEL).paused_reason == "app_uninstalled"
    assert bot.store.workspaces.erase_at(GRID) is not None
    gone = grid_ask(bot, "summary", enterprise=ORG, team=GRID, user=GIA, channel=CHANNEL)
    assert "removed from this workspace" in gone["text"]

    bot.clock.advance(days=7, hours=1, minutes=1)
    assert [f for f in bot.tick() if f.status == "posted"] == []
    assert [c for c in bot.stub.calls if c.token == grid_token and c.method == "chat.postMessage"] == []


def test_tokens_revoked_for_a_grid_workspaces_bot_removes_it(several):
    bot = several
    grid_token = install_in_grid(bot)
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["UBOT" + GRID]}}
    reply = bot.slack.send(*grid_event(revoked, enterprise=ORG, team=GRID, event_id="EvGridRevoked"))
    assert reply.status == 200, reply.text
    assert grid_token.encode() not in file_bytes(installations_path_for(bot.store.path))
    assert bot.runtime.installations.token(GRID) is None
    assert bot.store.workspaces.erase_at(GRID) is not None
