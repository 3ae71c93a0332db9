"""Several workspaces from one deployment (OAuth distribution, issue 14), walked as people walk it.

coprod runs over HTTP with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET and no bot token. A person adds it to
their workspace in a browser (``tests/support/installing.py``): coprod's /slack/install page, Slack's
"Allow" (the stub's ``grant``), back to /slack/oauth_redirect, where coprod exchanges the code
(``oauth.v2.access``) and stores the workspace's token. Then Slack's signed requests arrive from each
workspace, and each is answered with that workspace's own token. OAuth is HTTP-only (Slack does not
distribute Socket Mode apps), so these tests run in HTTP mode alone.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from bot.localslack.client_sim import SlackClientSim
from bot.settings import Settings, SettingsError
from bot.slack.installs import SCOPES
from bot.slack.oauth import REDIRECT_PATH
from bot.store.installations import installations_path_for
from tests.support.blockkit import is_checkin_post
from tests.support.clock import stamp
from tests.support.constants import CHANNEL, SECRET
from tests.support.flows import ask, post_checkin, rate, submit_comment
from tests.support.installing import come_back, get, install, start
from tests.support.running import coprod_process, free_port, running_bot, wait_healthy
from tests.support.slack_stub import SlackStub
from tests.support.stored import file_bytes

CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"
# Long, distinctive ids: a short one could turn up in a page of the file by chance.
A, B = "T0ALPHA9WS", "T0BRAVO8WS"
ANN, BEN, CAT, DAN = "U0ANN1X", "U0BEN2X", "U0CAT3ERASE", "U0DAN4X"  # ANN, BEN, CAT are in A; DAN coordinates B
OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def oauth_stub(stub: SlackStub) -> SlackStub:
    stub.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    for user in (ANN, BEN, CAT, DAN):
        stub.add_user(user, tz="Europe/London")
    stub.add_channel(CHANNEL, [ANN, BEN, CAT, DAN, "UBOT" + A, "UBOT" + B])
    return stub


@pytest.fixture
def several(request, tmp_path, oauth_stub, clock):
    """coprod serving several workspaces over HTTP."""
    with running_bot(request, "http", tmp_path, oauth_stub, clock, **OAUTH) as running:
        running.base_url = f"http://127.0.0.1:{running.runtime.port}/"
        yield running


def token_of(bot, team: str) -> str:
    """The workspace's newest token: the one its last install gave coprod."""
    return bot.stub.tokens_of(team)[-1]


def checkin_in(bot, team: str, user: str):
    return post_checkin(bot, user=user, channel=CHANNEL, team=team)


def uninstall(bot, team: str, event_id: str = "EvGone") -> None:
    """The workspace removes coprod: Slack revokes its tokens and says so."""
    bot.stub.revoke(team)
    reply = bot.slack.event({"type": "app_uninstalled"}, team=team, event_id=event_id)
    assert reply.status == 200, reply.text


def test_install_answer_each_workspace_with_its_own_token_uninstall_and_come_back(several, tmp_path):
    """Install in A and B; each is answered with its own token and neither sees the other's data; A removes
    coprod (its tokens go, B carries on); A adds it back and finds everything as it was."""
    bot = several
    page_a = install(bot.base_url, bot.stub, A, installer=ANN)
    page_b = install(bot.base_url, bot.stub, B, installer=DAN)
    for page in (page_a, page_b):
        assert page.status == 200 and "coprod is now in your workspace" in page.words
        assert "kept for 30 days" in page.words
    token_a, token_b = token_of(bot, A), token_of(bot, B)
    assert token_a != token_b

    # The same channel id in both workspaces: two partnerships, each answered with its own workspace's token.
    checkin_a = checkin_in(bot, A, ANN)
    assert checkin_a.call.token == token_a
    for user, rating in ((ANN, 5), (BEN, 4), (CAT, 4)):
        rate(bot, checkin_a.id, rating, user, team=A)
    submit_comment(bot, checkin_a.id, BEN, 4, "only A may read this", team=A)
    checkin_b = checkin_in(bot, B, DAN)
    assert checkin_b.call.token == token_b
    bot.drain()
    # Every call about A's check-in (its count updated, the comment form opened) carried A's token.
    about_a = [c for c in bot.stub.calls if c.args.get("ts") == checkin_a.ts or c.method == "views.open"]
    assert about_a and {c.token for c in about_a} == {token_a}
    # Nothing reached Slack without a workspace's token but the code exchange and the private replies.
    tokenless = {c.method for c in bot.stub.calls if c.token not in (token_a, token_b)}
    assert tokenless <= {"oauth.v2.access", "response_url"}

    store = bot.store
    pa, pb = store.partnerships.get(A, CHANNEL), store.partnerships.get(B, CHANNEL)
    assert pa is not None and pb is not None and pa.id != pb.id
    assert store.answers.response_count(B, checkin_a.id) == 0  # B can't see A's check-in
    assert store.checkins.checkin(B, checkin_a.id) is None
    assert [r for r in store.answers.export_rows(B, now=stamp(bot.clock.now) + 10**7)] == []
    summary_b = ask(bot, "summary", user=DAN, team=B)
    assert "only A may read this" not in str(summary_b)
    # Coordinators can read, before anyone removes coprod, what would happen to their answers.
    assert "kept for 30 days" in str(ask(bot, "help", user=ANN, team=A)["blocks"])

    # A removes coprod: its tokens are deleted, its partnership paused, and nothing is posted there any more.
    calls_before = len(bot.stub.calls)
    uninstall(bot, A)
    assert bot.runtime.installations.token(A) is None
    assert bot.runtime.installations.token(B) == token_b
    assert bot.store.partnerships.get(A, CHANNEL).paused_reason == "app_uninstalled"
    assert bot.store.workspaces.erase_at(A) == stamp(bot.clock.now) + 30 * 86_400
    assert token_a.encode() not in file_bytes(installations_path_for(bot.store.path))
    # A person in A who still types a command hears why nothing happens.
    gone = ask(bot, "summary", user=ANN, team=A)
    assert "removed from this workspace" in gone["text"] and "30 days" in gone["text"]
    # B is unaffected.
    assert checkin_in(bot, B, DAN).call.token == token_b
    bot.drain()
    assert [c.method for c in bot.stub.calls[calls_before:] if c.token == token_a] == []

    # A adds coprod back within the 30 days: welcome back, with everything as it was.
    bot.clock.advance(days=10)
    page = install(bot.base_url, bot.stub, A, installer=BEN)
    assert page.status == 200 and "Welcome back" in page.words
    new_token = token_of(bot, A)
    assert new_token != token_a
    assert bot.store.workspaces.erase_at(A) is None
    assert bot.store.partnerships.get(A, CHANNEL).paused_reason is None
    assert bot.store.answers.response_count(A, checkin_a.id) == 3
    again = checkin_in(bot, A, ANN)
    assert again.call.token == new_token


def test_a_removed_workspace_is_erased_after_the_grace_period_and_another_is_not(several):
    """30 days after A removed coprod, every row of A is erased and no byte of it stays in the files; B keeps
    all of its data. A workspace that comes back after that starts afresh."""
    bot = several
    install(bot.base_url, bot.stub, A, installer=ANN)
    install(bot.base_url, bot.stub, B, installer=DAN)
    checkin_a = checkin_in(bot, A, ANN)
    for user in (ANN, BEN, CAT):
        rate(bot, checkin_a.id, 3, user, team=A)
    submit_comment(bot, checkin_a.id, CAT, 3, "a secret only A's partnership holds", team=A)
    checkin_b = checkin_in(bot, B, DAN)
    rate(bot, checkin_b.id, 2, DAN, team=B)
    bot.drain()
    uninstall(bot, A)

    bot.clock.advance(days=29, hours=23)
    assert bot.runtime.erase_removed() == []  # not yet
    assert bot.store.answers.response_count(A, checkin_a.id) == 3
    bot.clock.advance(hours=1)
    assert bot.runtime.erase_removed() == [A]
    assert bot.runtime.erase_removed() == []

    assert bot.store.partnerships.in_workspace(A) == []
    assert bot.store.checkins.checkin(A, checkin_a.id) is None
    assert bot.store.workspaces.erase_at(A) is None
    raw = file_bytes(bot.store.path)
    for trace in (A.encode(), b"a secret only A's partnership holds", CAT.encode()):
        assert trace not in raw, trace
    # B is untouched.
    assert bot.store.answers.my_answer(B, checkin_b.id, DAN).rating == 2
    assert bot.store.partnerships.get(B, CHANNEL) is not None

    page = install(bot.base_url, bot.stub, A, installer=ANN)
    assert page.status == 200 and "Welcome back" not in page.words and "now in your workspace" in page.words


def test_tokens_revoked_for_the_bot_removes_the_workspace_and_for_a_person_changes_nothing(several):
    bot = several
    install(bot.base_url, bot.stub, A, installer=ANN)
    checkin_in(bot, A, ANN)
    person = {"type": "tokens_revoked", "tokens": {"oauth": [ANN]}}
    assert bot.slack.event(person, team=A, event_id="EvPerson").status == 200
    assert bot.runtime.installations.token(A) is not None and bot.store.workspaces.erase_at(A) is None
    bot_gone = {"type": "tokens_revoked", "tokens": {"bot": ["UBOT" + A]}}
    assert bot.slack.event(bot_gone, team=A, event_id="EvBot").status == 200
    assert bot.runtime.installations.token(A) is None
    assert bot.store.workspaces.erase_at(A) is not None
    assert bot.store.partnerships.get(A, CHANNEL).paused_reason == "app_uninstalled"


def test_slack_retrying_the_removal_changes_nothing(several):
    """Slack resends app_uninstalled if it missed the acknowledgement: the first time counts."""
    bot = several
    install(bot.base_url, bot.stub, A)
    checkin_in(bot, A, ANN)
    uninstall(bot, A, event_id="EvOnce")
    first = bot.store.workspaces.erase_at(A)
    bot.clock.advance(days=2)
    assert bot.slack.event({"type": "app_uninstalled"}, team=A, event_id="EvOnce", retry_attempt=1).status == 200
    assert bot.store.workspaces.erase_at(A) == first


def test_scheduled_posts_use_each_workspaces_token_and_skip_a_removed_one(several):
    bot = several
    install(bot.base_url, bot.stub, A, installer=ANN)
    install(bot.base_url, bot.stub, B, installer=DAN)
    for team, user in ((A, ANN), (B, DAN)):
        ask(bot, "schedule checkins weekly Tuesday 10:00", user=user, team=team)
    bot.clock.advance(hours=1, minutes=1)  # Tuesday 10:01 in London
    fired = bot.tick()
    assert sorted(f.team for f in fired if f.status == "posted") == [A, B]
    posts = [c for c in bot.stub.calls_to("chat.postMessage") if is_checkin_post(c, CHANNEL)]
    assert {c.token for c in posts} == {token_of(bot, A), token_of(bot, B)}

    uninstall(bot, A)
    bot.clock.advance(days=7)
    fired = bot.tick()
    assert [f.team for f in fired if f.status == "posted"] == [B]


@pytest.mark.parametrize(
    ("spoil", "status", "words"),
    [
        ("no cookie", 400, "different browser"),
        ("code used twice", 401, "may have been used already"),
        ("cancelled", 200, "You chose not to add coprod"),
    ],
)
def test_an_install_that_does_not_finish_says_why_in_plain_words_and_stores_nothing(several, spoil, status, words):
    bot = several
    started = start(bot.base_url)
    code = bot.stub.grant(A)
    if spoil == "no cookie":  # the link was opened in another browser
        started.cookie = ""
    elif spoil == "code used twice":  # the installer's browser went back and came again
        assert come_back(bot.base_url, started, code).status == 200
        started = start(bot.base_url)
    tokens = bot.stub.tokens_of(A)
    if spoil == "cancelled":  # they pressed "Cancel" on Slack's page
        page = get(f"{bot.base_url}slack/oauth_redirect?error=access_denied&state={started.state}", started.cookie)
    else:
        page = come_back(bot.base_url, started, code)
    assert page.status == status
    assert words in page.words and "start again" in page.words
    assert "Traceback" not in page.text
    assert bot.stub.tokens_of(A) == tokens  # nothing new was installed
    assert bot.runtime.installations.token(A) == (tokens[0] if tokens else None)


def test_the_install_page_asks_slack_for_manifest_scopes_and_says_what_happens_on_removal(several):
    started = start(several.base_url)
    assert started.authorize_url.startswith(several.stub.base + "oauth/v2/authorize?")
    assert f"client_id={CLIENT_ID}" in started.authorize_url
    assert "Add to Slack" in started.page.words and "kept for 30 days" in started.page.words
    assert "HttpOnly" in started.page.headers["set-cookie"][0]


def test_the_installations_file_is_private_and_holds_no_answers(several):
    bot = several
    install(bot.base_url, bot.stub, A)
    path = installations_path_for(bot.store.path)
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if f.exists():
            assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f


def test_oauth_is_http_only_and_needs_both_credentials():
    """Slack distributes only apps with request URLs: Socket Mode with SLACK_CLIENT_ID is refused in one line."""
    base = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_SIGNING_SECRET": SECRET}
    assert Settings.from_env(base).oauth
    with pytest.raises(SettingsError, match="need HTTP mode"):
        Settings.from_env({**base, "SLACK_APP_TOKEN": "xapp-1"})
    assert Settings.from_env({**base, "SLACK_APP_TOKEN": "xapp-1"}, http=True).oauth
    with pytest.raises(SettingsError, match="SLACK_CLIENT_SECRET is not set"):
        Settings.from_env({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_SIGNING_SECRET": SECRET})
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        Settings.from_env({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET})
    # One bot token: one workspace, exactly as before, whatever else is set.
    single = Settings.from_env({**base, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert not single.oauth and single.client_id is None
    with pytest.raises(SettingsError, match="COPROD_ERASE_AFTER_DAYS"):
        Settings.from_env({**base, "COPROD_ERASE_AFTER_DAYS": "soon"})


def manifest(name: str) -> dict:
    return json.loads((Path(__file__).resolve().parents[1] / name).read_text(encoding="utf-8"))


def test_scopes_asked_for_are_the_manifests():
    assert sorted(SCOPES) == sorted(manifest("manifest.json")["oauth_config"]["scopes"]["bot"])


def test_the_several_workspace_manifest_is_the_one_workspace_manifest_over_http_with_oauth():
    """The manifest for several workspaces differs from manifest.json only in what distribution needs: request
    URLs on one host (Socket Mode off), the OAuth redirect URL, and the two events that say a workspace left."""
    one, several = manifest("manifest.json"), manifest("manifest-several-workspaces.json")
    settings = several["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = [
        several["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    [redirect] = several["oauth_config"]["redirect_urls"]
    assert {u.rsplit("/slack/", 1)[0] for u in [*urls, redirect]} == {"https://coprod.example.org"}
    assert all(u.endswith("/slack/events") for u in urls) and redirect.endswith(REDIRECT_PATH)
    events = settings["event_subscriptions"]["bot_events"]
    assert events == [*one["settings"]["event_subscriptions"]["bot_events"], "app_uninstalled", "tokens_revoked"]
    # Everything else is the same.
    for m in (one, several):
        m["features"]["slash_commands"][0].pop("url", None)
        m["oauth_config"].pop("redirect_urls", None)
        for key in ("event_subscriptions", "interactivity", "socket_mode_enabled"):
            del m["settings"][key]
    assert several == one


def test_malformed_removal_events_change_nothing(several):
    bot = several
    install(bot.base_url, bot.stub, A)
    for n, event in enumerate(
        [
            {"type": "tokens_revoked", "tokens": "all"},
            {"type": "tokens_revoked", "tokens": {"bot": "UBOT"}},
            {"type": "tokens_revoked", "tokens": {"bot": []}},
            {"type": "tokens_revoked"},
        ]
    ):
        assert bot.slack.event(event, team=A, event_id=f"EvOdd{n}").status == 200
    assert bot.runtime.installations.token(A) is not None and bot.store.workspaces.erase_at(A) is None


def test_one_workspace_mode_is_unchanged_when_oauth_credentials_are_in_the_environment_too(tmp_path):
    """With SLACK_BOT_TOKEN, coprod serves its one workspace even when the Client ID and Secret are in the
    environment as well (copied from Basic Information with the rest): Bolt, left to itself, would switch to
    its own OAuth flow with file stores in the home folder and drop the token, and every request failed."""
    port = free_port()
    with SlackStub() as stub:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "SLACK_API_URL": stub.url,
            "PORT": str(port),
            "COPROD_DB": str(tmp_path / "c.db"),
            "HOME": str(tmp_path),
        }
        proc = coprod_process(["run", "--http"], env, tmp_path)
        try:
            wait_healthy(port, proc)
            slack = SlackClientSim(f"http://127.0.0.1:{port}/", SECRET, triggers=stub.trigger)
            reply = slack.command("help")
            assert reply.status == 200 and "what I can do" in reply.text, reply.text
            assert "kept for" not in reply.text  # one workspace: nothing is erased when the app is removed
            assert get(f"http://127.0.0.1:{port}/slack/install").status == 404
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    assert not (tmp_path / ".bolt-app-installation").exists()
    assert not installations_path_for(tmp_path / "c.db").exists()
