"""The local workspace's Slack, in this process: coprod running as over HTTP behind the stand-in, and what a
person does on the page sent to it as Slack sends it (``SlackSide``), with its answer shown as Slack shows it.

Only the browser is missing here (``tests/test_browser.py`` has it); everything else is the product's path.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.localslack import seed
from bot.localslack.launch import LocalWorkspace, prepare
from bot.localslack.slackside import REQUIRED, SlackSide
from bot.localslack.webapi import WebAPI
from bot.localslack.workspace import Hook, Workspace, dm_of
from bot.runtime.run import Runtime
from bot.settings import Settings
from tests.support.running import free_port
from tests.support.waiting import eventually

PRIYA, TOM, MO = seed.PRIYA.id, seed.TOM.id, seed.MO.id
CHANNEL = seed.CHANNEL_ID


@dataclass
class Local:
    workspace: LocalWorkspace
    runtime: Runtime

    @property
    def side(self):
        return self.workspace.side

    @property
    def ws(self):
        return self.workspace.workspace

    def drain(self) -> None:
        assert self.runtime.drain() is not False

    def seen(self, user: str, conv: str = CHANNEL) -> dict[str, Any]:
        with self.ws.lock:
            return self.workspace.page.view(user, conv)

    def ephemerals(self, user: str, conv: str = CHANNEL) -> list[str]:
        self.drain()
        return [m["html"] for m in self.seen(user, conv)["messages"] if "Only visible to you" in m["html"]]

    def channel(self) -> list[dict[str, Any]]:
        self.drain()
        return self.ws.messages(CHANNEL)

    def checkin(self) -> tuple[str, int]:
        """`/coprod checkin` by the coordinator: the new check-in's ts and id."""
        self.side.type(PRIYA, CHANNEL, "/coprod checkin")
        message = self.channel()[-1]
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        return message["ts"], int(actions["block_id"].split(":")[1])


@pytest.fixture
def local(tmp_path) -> Iterator[Local]:
    """A fresh local workspace (its people, no history) with coprod behind it, all in this process."""
    settings = Settings.from_env({"COPROD_DB": str(tmp_path / "coprod-local.db"), "PORT": "0"}, local=True)
    workspace = LocalWorkspace(settings)
    workspace.bind(0)
    runtime = Runtime(replace(settings, api_url=workspace.server.url))
    prepare(runtime, workspace, new=True, fresh=True)
    runtime.make_server(host="127.0.0.1", port=0)
    threading.Thread(target=runtime.serve, daemon=True).start()
    workspace.start(f"http://127.0.0.1:{runtime.port}/slack/events")
    try:
        yield Local(workspace, runtime)
    finally:
        try:
            runtime.drain()
        finally:
            runtime.stop()
            workspace.stop()


def test_settings_with_no_slack_setting_are_a_local_workspace():
    """No Slack variable at all: local, with made-up tokens, the local database; any Slack variable, or --http,
    means a real app (and its own checks)."""
    local = Settings.from_env({})
    assert local.local and local.bot_token.startswith("xoxb-local-") and local.signing_secret
    assert local.db_path == "coprod-local.db" and local.app_token is None and not local.socket_mode
    assert Settings.from_env({"COPROD_DB": "mine.db"}).db_path == "mine.db"
    assert Settings.from_env({}).signing_secret != local.signing_secret, "a new secret every run"
    real = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert not real.local and real.db_path == "coprod.db"
    forced = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, local=True)
    assert forced.local and forced.bot_token != "xoxb-1" and not forced.socket_mode
    assert not Settings.from_env({}, require_slack=False).local


def test_a_command_is_answered_privately_to_the_person_who_typed_it(local):
    local.side.type(PRIYA, CHANNEL, "/coprod help")
    [reply] = local.ephemerals(PRIYA)
    assert "what I can do" in reply
    assert local.ephemerals(TOM) == []
    assert local.channel() == []


def test_a_rating_updates_the_count_in_place_and_thanks_only_the_person(local):
    ts, checkin_id = local.checkin()
    local.side.click(TOM, CHANNEL, ts, f"checkin:{checkin_id}", "rate:4", "4")
    assert eventually(lambda: "1 answer so far" in json.dumps(local.ws.find(CHANNEL, ts)))
    assert [m["ts"] for m in local.channel()] == [ts], "edited, not posted again"
    assert local.ws.revs[(CHANNEL, ts)] >= 2
    [thanks] = local.ephemerals(TOM)
    assert "Thank you! I recorded your answer" in thanks and "4 of 5" in thanks
    assert local.ephemerals(PRIYA) == []
    assert local.runtime.store.answers.my_answer(seed.TEAM_ID, checkin_id, TOM).rating == 4


def test_the_comment_modal_checks_what_slack_checks_then_shows_coprods_answer(local):
    """A required rating left empty, or a comment over its length, is refused by Slack before coprod hears of it;
    a good answer updates the modal to coprod's thanks, and coprod stored it anonymously."""
    ts, checkin_id = local.checkin()
    local.side.click(MO, CHANNEL, ts, f"checkin:{checkin_id}", "comment", "comment")
    local.drain()
    modal = local.seen(MO)["modal"]
    assert modal is not None and "Add a comment" in modal["html"] and local.seen(PRIYA)["modal"] is None
    view_id = modal["id"]

    local.side.submit(MO, view_id, {"rating": None, "comment": "hi"})
    assert REQUIRED in local.seen(MO)["modal"]["html"]
    local.side.submit(MO, view_id, {"rating": "3", "comment": "x" * 2001})
    assert "2000 characters or fewer" in local.seen(MO)["modal"]["html"]
    assert local.runtime.store.answers.my_answer(seed.TEAM_ID, checkin_id, MO) is None

    local.side.submit(MO, view_id, {"rating": "3", "comment": "Share the agenda earlier", "anonymous": ["anonymous"]})
    thanks = local.seen(MO)["modal"]
    assert thanks["id"] == view_id and "Thank you" in thanks["html"] and "anonymously" in thanks["html"]
    answer = local.runtime.store.answers.my_answer(seed.TEAM_ID, checkin_id, MO)
    assert (answer.rating, answer.comment, answer.anonymous) == (3, "Share the agenda earlier", True)
    local.side.close(MO, view_id)
    assert local.seen(MO)["modal"] is None


def test_forget_me_replaces_its_own_private_message_when_answered(local):
    """A click on an ephemeral message's button: coprod answers through its response_url with
    replace_original, and that same private message changes."""
    local.side.type(TOM, CHANNEL, "/coprod forget-me")
    local.drain()
    [shown] = [e for e in local.ws.ephemerals if e.user == TOM]
    local.side.click(TOM, CHANNEL, shown.key, "forget-me", "forget_me_cancel", "cancel")
    local.drain()
    [after] = [e for e in local.ws.ephemerals if e.user == TOM]
    assert after.key == shown.key and after.rev > 1 and "Nothing was erased" in after.message["text"]
    assert after.message["blocks"] == []


def test_a_mention_posts_the_summary_for_everyone_and_home_shows_the_partnership(local):
    local.side.type(PRIYA, CHANNEL, "/coprod checkin")
    local.drain()
    local.side.type(TOM, CHANNEL, "@coprod summary please")
    posted = local.channel()
    assert posted[-2]["user"] == TOM and posted[-2]["text"] == "<@UBOT> summary please"
    assert posted[-1]["user"] == "UBOT" and "How we're doing" in json.dumps(posted[-1]["blocks"])
    local.side.open_home(TOM)
    local.drain()
    home = local.seen(TOM, "home")["home"]["html"]
    assert "our-partnership" in home and "practices discussed" in home


def test_the_export_arrives_as_a_file_in_the_dm_and_downloads(local):
    """`/coprod export` goes through Slack's upload flow (getUploadURLExternal, the upload, completeUploadExternal):
    the coordinator's DM gets a message with the file, which the page serves as a download."""
    local.side.type(PRIYA, CHANNEL, "/coprod checkin")
    local.side.type(PRIYA, CHANNEL, "/coprod export")
    local.drain()
    [message] = [m for m in local.ws.messages(dm_of(PRIYA)) if m.get("files")]
    [file] = message["files"]
    assert file["name"].endswith(".csv") and "answers" in message["text"]
    page = local.workspace.address
    request = urllib.request.Request(f"{page}/files/{file['id']}/{file['name']}")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.read().decode().startswith('"channel","level"')


def test_when_coprod_does_not_answer_slackbot_says_so(local):
    local.side.events_url = f"http://127.0.0.1:{free_port()}/slack/events"
    local.side.type(PRIYA, CHANNEL, "/coprod help")
    [note] = local.ephemerals(PRIYA)
    assert "Slackbot" in note and "failed with the error" in note and "dispatch_failed" in note


def test_other_slash_commands_and_dms_are_handled_as_slack_would(local):
    local.side.type(PRIYA, CHANNEL, "/giphy cats")
    [note] = local.ephemerals(PRIYA)
    assert "is not a command here" in note
    local.side.type(PRIYA, dm_of(PRIYA), "/coprod summary")
    [reply] = local.ephemerals(PRIYA, dm_of(PRIYA))
    assert "in your partnership" in reply


# ---- the Web API as Slack answers it ------------------------------------------------------------------------


def test_the_web_api_wants_its_token_and_knows_its_methods(local):
    url = local.workspace.server.url
    with pytest.raises(SlackApiError, match="invalid_auth"):
        WebClient(token="xoxb-someone-else", base_url=url).auth_test()
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=url).auth_test()
    client = WebClient(token=local.ws.bot_token, base_url=url)
    assert client.auth_test()["team_id"] == seed.TEAM_ID
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("reactions.add", json={"name": "tada", "channel": CHANNEL, "timestamp": "1.0"})


def test_response_urls_post_in_channel_replace_and_delete(local):
    client = WebClient(token=local.ws.bot_token, base_url=local.workspace.server.url)
    ts = client.chat_postMessage(channel=CHANNEL, text="original")["ts"]
    base = local.workspace.server.api.base
    url = local.ws.new_hook(Hook(CHANNEL, TOM, source_ts=ts), base)
    WebhookClient(url).send(text="for everyone", response_type="in_channel")
    assert [m["text"] for m in local.ws.messages(CHANNEL)] == ["original", "for everyone"]
    WebhookClient(url).send(text="replaced", replace_original=True)
    assert local.ws.find(CHANNEL, ts)["text"] == "replaced"
    WebhookClient(url).send(text="just you")
    assert [e.message["text"] for e in local.ws.ephemerals if e.user == TOM] == ["just you"]
    WebhookClient(url).send(delete_original=True)
    assert [m["text"] for m in local.ws.messages(CHANNEL)] == ["for everyone"]


MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": [{"type": "divider"}]}


def test_a_trigger_expires_after_three_seconds_as_on_slack(local):
    client = WebClient(token=local.ws.bot_token, base_url=local.workspace.server.url)
    trigger = local.ws.new_trigger(TOM)
    user, _ = local.ws.triggers[trigger]
    local.ws.triggers[trigger] = (user, time.monotonic() - 1)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        client.views_open(trigger_id=trigger, view=MODAL)


# ---- the page's own guard ------------------------------------------------------------------------------------


def http(url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()


def test_the_page_answers_only_at_its_own_address_and_takes_only_json_from_itself(local):
    """No DNS rebinding (another Host is refused), no cross-site form posts (JSON only, and not from another
    origin), and a Content-Security-Policy that allows scripts and styles from the page itself only."""
    page = local.workspace.address
    status, headers, body = http(page + "/")
    assert status == 200 and b'<script src="/page.js"' in body and b"<script>" not in body
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    assert http(page + "/", headers={"Host": "attacker.example"})[0] == 421
    act = json.dumps({"act": "type", "user": PRIYA, "conv": CHANNEL, "text": "/coprod help"}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert http(page + "/ui/act", method="POST", data=act, headers=form)[0] == 415
    elsewhere = {"Content-Type": "application/json", "Origin": "http://attacker.example"}
    assert http(page + "/ui/act", method="POST", data=act, headers=elsewhere)[0] == 421
    nobody = json.dumps({"act": "type", "user": "UNOBODY", "conv": CHANNEL, "text": "hi"}).encode()
    assert http(page + "/ui/act", method="POST", data=nobody, headers={"Content-Type": "application/json"})[0] == 400
    assert local.ws.ephemerals == [] and local.ws.messages(CHANNEL) == []
    assert local.workspace.server.base.startswith("http://127.0.0.1:")


# ---- what comes back in an acknowledgement is held to Slack's Block Kit rules ---------------------------------


@contextlib.contextmanager
def app_answering(body: dict[str, Any]) -> Iterator[str]:
    """An app at the returned request URL that acknowledges everything with ``body``."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


TWICE = [{"type": "section", "block_id": "same", "text": {"type": "mrkdwn", "text": t}} for t in ("a", "b")]


def test_a_commands_acknowledgement_with_blocks_slack_refuses_is_not_shown():
    """A slash command's acknowledgement carrying blocks Slack refuses (a repeated block_id) shows Slackbot's
    failure note instead, as a response URL refuses them (https://docs.slack.dev/interactivity/
    handling-user-interaction#message_responses)."""
    ws = Workspace()
    ws.add_user("U1")
    ws.add_channel("C1", ["U1", "UBOT"])
    with app_answering({"blocks": TWICE, "text": "hi"}) as url:
        side = SlackSide(WebAPI(ws), "secret", url)
        side.command("U1", "C1", "help")
    [note] = ws.ephemerals
    assert note.message["user"] == "USLACKBOT" and "invalid_blocks" in note.message["text"]


def test_a_modal_updated_by_its_acknowledgement_with_a_view_slack_refuses_stays_as_it_was():
    """A view_submission's ``response_action: update`` (or push) whose view Slack refuses leaves the modal as it
    was with an error, as views.update would refuse it (https://docs.slack.dev/surfaces/modals)."""
    ws = Workspace()
    ws.add_user("U1")
    api = WebAPI(ws)
    form = {"type": "modal", "title": {"type": "plain_text", "text": "Form"}, "blocks": [{"type": "divider"}]}
    opened = api.answer("views.open", {"trigger_id": ws.new_trigger("U1"), "view": form})
    view_id = opened["view"]["id"]
    for action in ("update", "push"):
        bad = {"response_action": action, "view": {**form, "blocks": TWICE}}
        with app_answering(bad) as url:
            SlackSide(api, "secret", url).submit("U1", view_id, {})
        assert [m.view["blocks"] for m in ws.modals.values()] == [[{"type": "divider"}]]
        assert ws.modals[view_id].errors == {"": "We had some trouble connecting. Try again?"}
