"""The test doubles themselves: the Web API stub and Slack-signed requests behave like Slack."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.localslack.client_sim import SlackClientSim, post
from bot.localslack.signed import action_body, command_body, event_body, sign, view_submission_body
from tests.support.constants import SECRET
from tests.support.slack_stub import SlackStub
from tests.support.waiting import eventually


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    """The stand-in with a person and the bot in two channels: Slack answers only for conversations it knows."""
    with SlackStub() as s:
        s.add_user("U1")
        s.add_user("UBOT", is_bot=True)
        s.add_channel("C1", ["U1", "UBOT"])
        s.add_channel("C2", ["U1", "UBOT"], name="second")
        yield s


@pytest.fixture
def client(stub: SlackStub) -> WebClient:
    return WebClient(token="xoxb-test", base_url=stub.url, timeout=5)


def test_url_is_loopback_api_base(stub: SlackStub) -> None:
    """The stub listens on 127.0.0.1 at a random port and exposes the /api/ base URL."""
    assert stub.url.startswith("http://127.0.0.1:")
    assert stub.url.endswith("/api/")
    assert stub.port > 0


def test_post_message_is_recorded_with_channel_text_and_blocks(stub: SlackStub, client: WebClient) -> None:
    """A real WebClient chat_postMessage is recorded with channel, text, blocks and the bearer token."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    first = client.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="again")

    [call, _] = stub.wait_for("chat.postMessage", count=2)
    assert call.args["channel"] == "C1"
    assert call.args["text"] == "hello"
    assert call.json("blocks") == blocks
    assert call.token == "xoxb-test"
    assert call.status == 200
    assert first["ok"] and first["channel"] == "C1"
    assert first["message"]["text"] == "hello" and first["message"]["blocks"] == blocks
    assert float(second["ts"]) > float(first["ts"])
    assert call.response is not None and call.response["ts"] == first["ts"]


def test_form_encoded_and_query_string_args_are_decoded(stub: SlackStub) -> None:
    """Form bodies and query strings are decoded; JSON-valued form fields stay strings until .json()."""
    blocks = [{"type": "divider"}]
    body = urllib.parse.urlencode({"channel": "C1", "blocks": json.dumps(blocks)}).encode()
    req = urllib.request.Request(
        stub.url + "chat.postMessage?thread_ts=1.2",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer xoxb-form"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        answer = json.loads(resp.read())
    assert answer["ok"] is True and answer["message"]["blocks"] == blocks
    [call] = stub.calls_to("chat.postMessage")
    assert isinstance(call.args["blocks"], str)
    assert call.json("blocks") == blocks
    assert call.args["thread_ts"] == "1.2"
    assert call.token == "xoxb-form"


def test_auth_test_and_unknown_methods(client: WebClient, stub: SlackStub) -> None:
    """auth.test names the bot; a method the stand-in doesn't have answers unknown_method, as Slack does."""
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T1", "UBOT", "BBOT")
    with pytest.raises(SlackApiError) as err:
        client.api_call("reactions.add", json={"name": "tada"})
    assert err.value.response.data == {"ok": False, "error": "unknown_method"}
    assert [c.method for c in stub.calls] == ["auth.test", "reactions.add"]


def test_users_info_of_an_added_user(stub: SlackStub, client: WebClient) -> None:
    """users.info answers from the user table (tz, admin flags); an unknown user is user_not_found."""
    stub.add_user("U1", tz="America/New_York", is_admin=True, name="ann")
    user = client.users_info(user="U1")["user"]
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert user["is_admin"] is True and user["is_owner"] is False
    assert user["name"] == "ann" and user["profile"]["display_name"] == "ann"
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


def test_conversations_members_paginates(stub: SlackStub, client: WebClient) -> None:
    """conversations.members pages with cursor/limit and ends with an empty next_cursor."""
    members = [f"U{i}" for i in range(7)]
    stub.add_channel("C1", members)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        resp = client.conversations_members(channel="C1", limit=3, cursor=cursor)
        seen += resp["members"]
        pages += 1
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == members
    assert pages == 3
    assert len(stub.calls_to("conversations.members")) == 3


def test_conversations_info_open_and_user_conversations(stub: SlackStub, client: WebClient) -> None:
    """conversations.info/open and users.conversations answer from the channel table."""
    stub.add_channel("C1", ["U1", "UBOT"], name="partnership")
    stub.add_channel("C2", ["U1", "UBOT"], name="old", archived=True)
    info = client.conversations_info(channel="C1")["channel"]
    assert info["name"] == "partnership" and info["is_member"] is True and info["is_archived"] is False
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    ids = [c["id"] for c in client.users_conversations(exclude_archived=True)["channels"]]
    assert ids == ["C1"]
    with pytest.raises(SlackApiError):
        client.conversations_info(channel="C404")


def test_fail_makes_webclient_raise_with_that_error(stub: SlackStub, client: WebClient) -> None:
    """fail() answers ok:false once (then normal), and WebClient raises SlackApiError with the error."""
    stub.fail("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert [c.response["ok"] for c in stub.calls_to("chat.postMessage")] == [False, True]


def test_rate_limit_is_retried_by_the_sdk_handler(stub: SlackStub, client: WebClient) -> None:
    """A 429 with Retry-After is retried by RateLimitErrorRetryHandler and then succeeds."""
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    stub.rate_limit("chat.postMessage", retry_after=0)
    resp = client.chat_postMessage(channel="C1", text="after the wait")
    assert resp["ok"] is True
    calls = stub.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]


def test_rate_limit_without_retry_handler_raises(stub: SlackStub, client: WebClient) -> None:
    """Without a retry handler the 429 surfaces as SlackApiError 'ratelimited' with Retry-After."""
    stub.rate_limit("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])


HOME = {"type": "home", "blocks": [{"type": "divider"}]}


def test_server_error_and_delay(stub: SlackStub) -> None:
    """server_error answers a 5xx; delay holds the answer long enough for a client timeout."""
    stub.server_error("views.publish", status=503)
    client = WebClient(token="xoxb-test", base_url=stub.url, timeout=1)
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view=HOME)
    assert stub.calls_to("views.publish")[0].status == 503

    stub.delay("views.publish", 2.0)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - urllib's timeout error type varies by Python version
        client.views_publish(user_id="U1", view=HOME)
    assert time.monotonic() - started < 1.9
    assert len(stub.calls_to("views.publish")) == 2
    assert client.views_publish(user_id="U1", view=HOME)["view"]["type"] == "home"


def test_posts_are_kept_and_read_back_by_history_with_their_metadata_when_asked(stub: SlackStub) -> None:
    """chat.postMessage keeps the message (metadata too); conversations.history returns the channel's messages
    after ``oldest``, newest first, paged, with ``metadata`` only under ``include_all_metadata``."""
    now = [1_800_000_000.0]
    stub.clock = lambda: now[0]
    client = WebClient(token="xoxb-test", base_url=stub.url, timeout=5)
    metadata = {"event_type": "coprod_post", "event_payload": {"claim": "1/checkins/5", "checkin": 7}}
    first = client.chat_postMessage(channel="C1", text="first")
    now[0] += 60
    second = client.chat_postMessage(channel="C1", text="second", metadata=metadata)
    client.chat_postMessage(channel="C2", text="elsewhere")
    assert first["ts"].startswith("1800000000.") and second["ts"].startswith("1800000060.")
    assert second["message"]["metadata"] == metadata

    plain = client.conversations_history(channel="C1")
    assert [m["text"] for m in plain["messages"]] == ["second", "first"]
    assert all("metadata" not in m for m in plain["messages"])
    later = client.conversations_history(channel="C1", oldest="1800000030", include_all_metadata=True)
    assert [(m["ts"], m["metadata"]) for m in later["messages"]] == [(second["ts"], metadata)]
    paged = [m["text"] for page in client.conversations_history(channel="C1", limit=1) for m in page["messages"]]
    assert paged == ["second", "first"]
    assert [m["text"] for m in stub.messages("C1")] == ["first", "second"]
    client.chat_update(channel="C1", ts=first["ts"], text="edited")
    client.chat_delete(channel="C1", ts=second["ts"])
    assert [m["text"] for m in stub.messages("C1")] == ["edited"]
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.conversations_history(channel="CNONE")


def test_a_post_can_be_made_while_its_answer_is_lost(stub: SlackStub) -> None:
    """server_error(accepted=True), drop and delay carry the post out and lose the answer (a 5xx, a closed
    connection, a timeout); a plain server_error and hold(accepted=False) post nothing."""
    client = WebClient(token="xoxb-test", base_url=stub.url, timeout=1, retry_handlers=[])
    stub.server_error("chat.postMessage", 503, accepted=True)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="5xx")
    stub.drop("chat.postMessage")
    with pytest.raises(ConnectionError):
        client.chat_postMessage(channel="C1", text="dropped")
    stub.delay("chat.postMessage", 2.0)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    stub.server_error("chat.postMessage", 500)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="refused")
    released = stub.hold("chat.postMessage", accepted=False)
    released.set()
    with pytest.raises(ConnectionError):
        client.chat_postMessage(channel="C1", text="held")
    assert [m["text"] for m in stub.messages("C1")] == ["5xx", "dropped", "slow"]


def test_wait_for_times_out_naming_what_was_seen(stub: SlackStub, client: WebClient) -> None:
    """wait_for raises AssertionError listing the calls seen when the expected call never arrives."""
    client.auth_test()
    with pytest.raises(AssertionError, match="auth.test"):
        stub.wait_for("chat.postMessage", timeout=0.2)


def test_wait_for_wakes_on_a_later_call(stub: SlackStub, client: WebClient) -> None:
    """wait_for returns as soon as a call from another thread arrives."""
    timer = threading.Timer(0.1, lambda: client.chat_postMessage(channel="C1", text="later"))
    timer.start()
    [call] = stub.wait_for("chat.postMessage", timeout=5)
    timer.join()
    assert call.args["text"] == "later"
    stub.reset()
    assert stub.calls == []


def test_response_url_posts_are_recorded(stub: SlackStub) -> None:
    """Posts to response_url(key) are recorded as method 'response_url' with the JSON body and _key."""
    url = stub.response_url("abc")
    resp = WebhookClient(url).send(text="only you can see this", response_type="ephemeral")
    assert resp.status_code == 200 and json.loads(resp.body) == {"ok": True}
    [call] = stub.wait_for("response_url")
    assert call.args["text"] == "only you can see this"
    assert call.args["response_type"] == "ephemeral"
    assert call.args["_key"] == "abc"


def test_other_paths_are_404_and_recorded(stub: SlackStub) -> None:
    """Anything outside /api/ and /response/ answers 404 and is recorded under its path."""
    status, _, _ = post(stub.base + "nowhere", b"{}", "application/json", SECRET)
    assert status == 404
    assert stub.calls[-1].method == "/nowhere" and stub.calls[-1].status == 404


def test_sign_matches_slack_sdk_verifier() -> None:
    """sign() produces headers slack_sdk's SignatureVerifier accepts; a tampered body is rejected."""
    body, _ = command_body("help")
    headers = sign(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert sig.startswith("v0=")
    assert verifier.is_valid(body, ts, sig)
    assert not verifier.is_valid(body + b"&text=evil", ts, sig)
    assert not SignatureVerifier("other-secret").is_valid(body, ts, sig)


def test_bolt_parses_every_payload_builder() -> None:
    """A real Bolt app (over WSGI on loopback) verifies and routes each signed payload we build."""
    seen: dict[str, object] = {}
    with SlackStub() as api:
        app = App(token="xoxb-test", signing_secret=SECRET, client=WebClient(token="xoxb-test", base_url=api.url))

        @app.command("/coprod")
        def on_command(ack, command):
            ack(text="got it")
            seen["command"] = (command["text"], command["user_id"], command["response_url"])

        @app.action("go")
        def on_action(ack, body, action):
            ack()
            seen["action"] = (action["value"], body["container"]["type"], body.get("channel"))

        @app.view("survey")
        def on_view(ack, view):
            ack()
            seen["view"] = (view["state"]["values"], view["private_metadata"])

        @app.event("app_home_opened")
        def on_event(event):
            seen["event"] = event["user"]

        server = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            sim = SlackClientSim(f"http://127.0.0.1:{server.server_port}/", SECRET)
            url = api.response_url()
            r = sim.command("status", user="U7", response_url=url)
            assert r.status == 200 and r.text == "got it"  # Bolt acks text-only as text/plain
            assert seen["command"] == ("status", "U7", url)

            assert sim.click("go", "42").status == 200
            assert seen["action"] == ("42", "message", {"id": "C1", "name": "partnership"})
            assert sim.click("go", "home", container_type="view").status == 200
            assert seen["action"] == ("home", "view", None)

            values = {"b1": {"a1": {"type": "plain_text_input", "value": "hi"}}}
            r = sim.submit("survey", values, private_metadata="m")
            assert r.status == 200 and r.json() is None
            assert seen["view"] == (values, "m")

            assert sim.event({"type": "app_home_opened", "user": "U3", "tab": "home"}).status == 200
            eventually(lambda: "event" in seen)
            assert seen["event"] == "U3"

            assert sim.command("status", bad_signature=True).status == 401
            assert sim.command("status", timestamp=int(time.time()) - 3600).status == 401
        finally:
            server.shutdown()
            server.server_close()


def test_builders_shape() -> None:
    """Payload builders produce Slack's wire shapes and content types."""
    body, ctype = action_body("x", "1", container_type="view", view_id="VH1")
    assert ctype == "application/x-www-form-urlencoded"
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["container"] == {"type": "view", "view_id": "VH1"}
    assert payload["view"]["type"] == "home" and "channel" not in payload and "message" not in payload

    body, _ = view_submission_body("cb", {"b": "text", "c": ["x", "y"]})
    view = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])["view"]
    assert view["state"]["values"]["b"] == {"b": {"type": "plain_text_input", "value": "text"}}
    assert [o["value"] for o in view["state"]["values"]["c"]["c"]["selected_options"]] == ["x", "y"]

    body, ctype = event_body({"type": "app_mention"}, event_id="Ev9", event_time=5)
    envelope = json.loads(body)
    assert ctype == "application/json"
    assert envelope["event_id"] == "Ev9" and envelope["event_time"] == 5
    assert envelope["authorizations"][0]["user_id"] == "UBOT"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def test_oauth_v2_access_exchanges_a_code_once_for_a_workspace_token_as_slack_does(stub):
    """oauth.v2.access (client credentials as HTTP Basic auth, as slack-sdk sends them) answers as Slack
    documents it for a bot install; a code works once; auth.test with the token names its workspace and bot;
    after revoke, the token is refused."""
    stub.oauth_client = ("123.456", "shh")
    code = stub.grant("T9", installer="U7", team_name="Nine")
    client = WebClient(base_url=stub.url)
    with pytest.raises(SlackApiError, match="bad_client_secret"):
        client.oauth_v2_access(client_id="123.456", client_secret="wrong", code=code)
    answer = client.oauth_v2_access(client_id="123.456", client_secret="shh", code=code)
    assert answer["ok"] and answer["token_type"] == "bot" and answer["access_token"].startswith("xoxb-")
    assert answer["team"] == {"id": "T9", "name": "Nine"} and answer["enterprise"] is None
    assert answer["authed_user"] == {"id": "U7"} and answer["bot_user_id"] == "UBOTT9"
    assert stub.tokens_of("T9") == [answer["access_token"]]
    with pytest.raises(SlackApiError, match="invalid_code"):
        client.oauth_v2_access(client_id="123.456", client_secret="shh", code=code)
    me = client.auth_test(token=answer["access_token"])
    assert (me["team_id"], me["user_id"]) == ("T9", "UBOTT9")
    stub.revoke("T9")
    with pytest.raises(SlackApiError, match="token_revoked"):
        client.chat_postMessage(token=answer["access_token"], channel="C1", text="hi")
    assert client.auth_test(token="xoxb-test-token")["team_id"] == "T1"  # other tokens answer as before


# ---- the stand-in refuses what Slack refuses (bot/localslack/blockkit.py, access.py) -------------------------


def _refusal(call) -> dict:
    with pytest.raises(SlackApiError) as err:
        call()
    return dict(err.value.response.data)


def _section(text: str, block_id: str | None = None) -> dict:
    block: dict = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _button(**kw) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", **kw}


def _select(initial: dict | None = None, **kw) -> dict:
    option = {"text": {"type": "plain_text", "text": "One"}, "value": "1"}
    select = {"type": "static_select", "action_id": "pick", "options": [option], **kw}
    if initial is not None:
        select["initial_option"] = initial
    return select


def _modal(blocks: list[dict], **kw) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Plan"}, "blocks": blocks, **kw}


OTHER_OPTION = {"text": {"type": "plain_text", "text": "Two"}, "value": "2"}


@pytest.mark.parametrize(
    ("blocks", "wrong"),
    [
        # https://docs.slack.dev/reference/methods/chat.postMessage: up to 50 blocks a message
        ([{"type": "divider"}] * 51, "no more than 50"),
        # https://docs.slack.dev/reference/block-kit/blocks: block_id unique within a message
        ([_section("a", "same"), _section("b", "same")], "duplicate block_id"),
        # https://docs.slack.dev/reference/block-kit/blocks/section-block: text at most 3000
        ([_section("x" * 3001)], "3000"),
        # https://docs.slack.dev/reference/block-kit/blocks/header-block: text at most 150
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "150"),
        # https://docs.slack.dev/reference/block-kit/block-elements/button-element: text 75, value 2000
        ([{"type": "actions", "elements": [_button(text={"type": "plain_text", "text": "b" * 76})]}], "75"),
        ([{"type": "actions", "elements": [_button(value="v" * 2001)]}], "button value"),
        # https://docs.slack.dev/reference/block-kit/blocks, block-elements: ids at most 255
        ([_section("a", "b" * 256)], "block_id"),
        ([{"type": "actions", "elements": [_button(action_id="a" * 256)]}], "action_id"),
        # https://docs.slack.dev/reference/block-kit/composition-objects/option-object: option text 75
        (
            [
                {
                    "type": "actions",
                    "elements": [_select(options=[{"text": {"type": "plain_text", "text": "o" * 76}, "value": "1"}])],
                }
            ],
            "option text",
        ),
        # https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element: placeholder 150,
        # initial_option one of the options
        ([{"type": "actions", "elements": [_select(placeholder={"type": "plain_text", "text": "p" * 151})]}], "150"),
        ([{"type": "actions", "elements": [_select(OTHER_OPTION)]}], "initial_option"),
        # https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object: a file that exists
        ([{"type": "image", "slack_file": {"id": "F404"}, "alt_text": "a chart"}], "slack_file"),
        # https://docs.slack.dev/reference/block-kit/blocks: a block type Slack has
        ([{"type": "marquee", "text": "hi"}], "unknown block type"),
    ],
)
def test_the_stand_in_refuses_blocks_slack_refuses_on_every_message_path(stub, client, blocks, wrong) -> None:
    """chat.postMessage, chat.update, chat.postEphemeral answer invalid_blocks with what was wrong, as Slack
    does (https://docs.slack.dev/reference/methods/chat.postMessage, errors), and a response URL answers
    HTTP 400; nothing is posted or changed."""
    posted = client.chat_postMessage(channel="C1", text="before")
    for call in (
        lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks),
        lambda: client.chat_update(channel="C1", ts=posted["ts"], text="t", blocks=blocks),
        lambda: client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=blocks),
    ):
        answer = _refusal(call)
        assert answer["error"] == "invalid_blocks"
        assert any(wrong in m for m in answer["response_metadata"]["messages"]), answer
    sent = WebhookClient(stub.response_url("r")).send(text="t", blocks=blocks)
    assert sent.status_code == 400
    assert [m["text"] for m in stub.messages("C1")] == ["before"]


def test_blocks_within_slacks_rules_are_taken_and_an_uploaded_file_can_be_shown(stub, client) -> None:
    """The limits themselves are allowed: 50 blocks, 3000 characters, an initial option inside an option
    group, and an image of a file uploaded to the workspace."""
    upload = client.files_getUploadURLExternal(filename="chart.png", length=3)
    grouped = _select(
        initial=OTHER_OPTION,
        options=None,
        option_groups=[{"label": {"type": "plain_text", "text": "G"}, "options": [OTHER_OPTION]}],
    )
    del grouped["options"]
    blocks = [
        _section("x" * 3000, "long"),
        {"type": "actions", "elements": [grouped]},
        {"type": "image", "slack_file": {"id": upload["file_id"]}, "alt_text": "a chart"},
        *[{"type": "divider"}] * 47,
    ]
    assert client.chat_postMessage(channel="C1", text="t", blocks=blocks)["ok"]


@pytest.mark.parametrize(
    ("view", "wrong"),
    [
        # https://docs.slack.dev/surfaces/modals: up to 100 blocks in a modal or Home
        ({"type": "home", "blocks": [{"type": "divider"}] * 101}, "100"),
        ({"type": "home", "blocks": [_section("a", "plan:x"), _section("b", "plan:x")]}, "duplicate block_id"),
        # https://docs.slack.dev/reference/views/modal-views: title at most 24, private_metadata at most 3000
        (_modal([{"type": "divider"}], title={"type": "plain_text", "text": "t" * 25}), "title"),
        (_modal([{"type": "divider"}], private_metadata="m" * 3001), "private_metadata"),
        (
            _modal([{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": _select(OTHER_OPTION)}]),
            "initial_option",
        ),
    ],
)
def test_the_stand_in_refuses_views_slack_refuses(stub, client, view, wrong) -> None:
    """views.publish, views.open, views.push and views.update answer invalid_arguments with the reasons, as
    Slack does for a view it won't show (https://docs.slack.dev/reference/methods/views.publish, errors)."""
    stub.add_user("U1")
    opened = client.views_open(trigger_id=stub.workspace.new_trigger("U1"), view=_modal([{"type": "divider"}]))
    for call in (
        lambda: client.views_publish(user_id="U1", view=view),
        lambda: client.views_open(trigger_id=stub.workspace.new_trigger("U1"), view=view),
        lambda: client.views_push(trigger_id=stub.workspace.new_trigger("U1"), view=view),
        lambda: client.views_update(view_id=opened["view"]["id"], view=view),
    ):
        answer = _refusal(call)
        assert answer["error"] == "invalid_arguments"
        assert any(wrong in m for m in answer["response_metadata"]["messages"]), answer


def test_a_method_needs_the_scope_slack_lists_and_the_stand_in_grants_manifest_json(stub, client) -> None:
    """Each method needs its page's scope (https://docs.slack.dev/reference/methods/<method>); the stand-in
    grants manifest.json's bot scopes and answers missing_scope with needed and provided, as Slack does."""
    manifest = json.loads((Path(__file__).parents[1] / "manifest.json").read_text(encoding="utf-8"))
    assert stub.workspace.scopes == set(manifest["oauth_config"]["scopes"]["bot"])
    assert client.users_info(user="U1")["ok"]
    # coprod has no im:history: reading a DM's history is refused
    answer = _refusal(lambda: client.conversations_history(channel="DU1"))
    assert (answer["error"], answer["needed"]) == ("missing_scope", "im:history")
    stub.grant_only("chat:write")
    for call, needed in (
        (lambda: client.users_info(user="U1"), "users:read"),
        (lambda: client.users_list(), "users:read"),
        (lambda: client.users_conversations(types="public_channel,private_channel"), "channels:read"),
        (lambda: client.conversations_members(channel="C1"), "channels:read"),
        (lambda: client.conversations_history(channel="C1"), "channels:history"),
        (lambda: client.conversations_open(users="U1"), "im:write"),
        (lambda: client.files_getUploadURLExternal(filename="a.csv", length=1), "files:write"),
    ):
        answer = _refusal(call)
        assert (answer["error"], answer["needed"], answer["provided"]) == ("missing_scope", needed, "chat:write")
    assert client.chat_postMessage(channel="C1", text="still allowed")["ok"]


def test_the_bot_reaches_only_channels_it_is_in(stub, client) -> None:
    """https://docs.slack.dev/reference/methods/chat.postMessage, chat.update, conversations.history: a public
    channel the bot isn't in is not_in_channel (coprod has no chat:write.public), a private one or one that
    doesn't exist channel_not_found; https://docs.slack.dev/reference/methods/chat.postEphemeral: a person not
    in the channel is user_not_in_channel."""
    stub.add_user("U2")
    stub.add_channel("C3", ["U1"], name="without-the-bot")
    stub.add_channel("G1", ["U1"], name="private")
    posted = client.chat_postMessage(channel="C1", text="here")
    for channel, error in (("C3", "not_in_channel"), ("G1", "channel_not_found"), ("C404", "channel_not_found")):
        assert _refusal(lambda ch=channel: client.chat_postMessage(channel=ch, text="x"))["error"] == error
        assert _refusal(lambda ch=channel: client.conversations_history(channel=ch))["error"] == error
        assert _refusal(lambda ch=channel: client.chat_update(channel=ch, ts=posted["ts"], text="x"))["error"] == error
    assert _refusal(lambda: client.conversations_members(channel="G1"))["error"] == "channel_not_found"
    assert client.conversations_members(channel="C3")["members"] == ["U1"]  # a public channel's members are open
    refused = _refusal(lambda: client.chat_postEphemeral(channel="C1", user="U2", text="x"))
    assert refused["error"] == "user_not_in_channel"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="x")["ok"]
    # an app granted chat:write.public may post in a public channel it isn't in (and only post there)
    stub.grant_only(*stub.workspace.scopes, "chat:write.public")
    assert client.chat_postMessage(channel="C3", text="from outside")["ok"]
    assert _refusal(lambda: client.conversations_history(channel="C3"))["error"] == "not_in_channel"


def test_messages_are_changed_only_where_they_exist_and_a_dm_is_its_d_id(stub, client) -> None:
    """https://docs.slack.dev/reference/methods/chat.update: an unknown ts is message_not_found, and blocks
    not given are kept (an empty list removes them); chat.postMessage to a person's user id posts in their DM
    and answers its D… id, which every other method needs (a user id there is channel_not_found)."""
    assert _refusal(lambda: client.chat_update(channel="C1", ts="1700000000.000100", text="x"))["error"] == (
        "message_not_found"
    )
    assert _refusal(lambda: client.chat_delete(channel="C1", ts="1700000000.000100"))["error"] == "message_not_found"
    blocks = [_section("with buttons", "b")]
    posted = client.chat_postMessage(channel="C1", text="first", blocks=blocks)
    client.chat_update(channel="C1", ts=posted["ts"], text="fallback only")
    assert stub.messages("C1")[-1]["blocks"] == blocks and stub.messages("C1")[-1]["text"] == "fallback only"
    client.chat_update(channel="C1", ts=posted["ts"], text="plain now", blocks=[])
    assert stub.messages("C1")[-1]["blocks"] == []

    dm = client.chat_postMessage(channel="U1", text="hello you")
    assert dm["channel"] == "DU1"
    assert client.chat_update(channel="DU1", ts=dm["ts"], text="edited")["ok"]
    for call in (
        lambda: client.chat_update(channel="U1", ts=dm["ts"], text="x"),
        lambda: client.chat_delete(channel="U1", ts=dm["ts"]),
    ):
        assert _refusal(call)["error"] == "channel_not_found"
