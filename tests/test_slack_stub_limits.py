"""The Slack stand-in refuses what Slack refuses: triggers, response URLs, paging, rate tiers, the history
limit of apps outside the Marketplace, and the shape of a Slack Connect event (bot/localslack/limits.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.localslack.server import SlackServer
from bot.localslack.signed import event_body
from bot.localslack.workspace import HOOK_USES, Workspace
from tests.support.constants import CHANNEL, COORDINATOR
from tests.support.flows import open_comment_form, post_checkin
from tests.support.slack_stub import SlackStub
from tests.support.waiting import eventually

MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "A form"},
    "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Hello"}}],
}


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub() as s:
        for n in range(6):
            s.add_user(f"U{n}")
        for n in range(4):
            s.add_channel(f"C{n}", ["UBOT", "U1", "U2", "U3", "U4"], name=f"room-{n}")
        yield s


def hold_time(slack: SlackServer) -> None:
    """Stop the rate limits' clock (real time by default), so a slow machine refills no bucket mid-test."""
    slack.api.limits.clock = lambda: 1000.0


def client(slack: SlackStub, token: str = "xoxb-any") -> WebClient:
    """slack-sdk's client with no retries: each refusal is seen as Slack sends it."""
    return WebClient(token=token, base_url=slack.url, retry_handlers=[])


def refused(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


# ---- triggers ----------------------------------------------------------------------------------------------


def test_views_open_takes_only_a_trigger_slack_issued(slack):
    """A made-up trigger_id is ``invalid_trigger_id``; one Slack issued opens the modal."""
    web = client(slack)
    assert refused(lambda: web.views_open(trigger_id="trigger-3", view=MODAL)).response["error"] == "invalid_trigger_id"
    assert web.views_open(trigger_id=slack.trigger("U1"), view=MODAL)["ok"]


def test_a_trigger_is_exchanged_once(slack):
    """The second views.open or views.push with one trigger is ``exchanged_trigger_id``."""
    web = client(slack)
    trigger = slack.trigger("U1")
    web.views_open(trigger_id=trigger, view=MODAL)
    assert refused(lambda: web.views_open(trigger_id=trigger, view=MODAL)).response["error"] == "exchanged_trigger_id"
    assert refused(lambda: web.views_push(trigger_id=trigger, view=MODAL)).response["error"] == "exchanged_trigger_id"


def test_a_trigger_expires_after_three_seconds(slack):
    """A trigger used more than 3 s after its interaction is ``expired_trigger_id``."""
    trigger = slack.trigger("U1")
    user, _ = slack.workspace.triggers[trigger]
    slack.workspace.triggers[trigger] = (user, time.monotonic() - 0.01)  # its 3 s are up
    error = refused(lambda: client(slack).views_push(trigger_id=trigger, view=MODAL)).response["error"]
    assert error == "expired_trigger_id"


def test_each_click_carries_a_trigger_slack_issued(bot):
    """Clicking "Add a comment" (both modes): the trigger in the click is one the stand-in issued, and the
    modal coprod opens with it is accepted."""
    checkin = post_checkin(bot)
    open_comment_form(bot, checkin.id, "U2")
    [call] = bot.stub.wait_for("views.open")
    assert call.response["ok"], call.response
    assert call.args["trigger_id"] in bot.stub.workspace.exchanged


# ---- response URLs ---------------------------------------------------------------------------------------------


def test_a_response_url_takes_five_posts(slack):
    """A response URL answers its first five posts, and a 404 after; each post is recorded under its key."""
    hook = WebhookClient(slack.response_url("reply-to-ann"))
    for n in range(HOOK_USES):
        assert hook.send(text=f"reply {n}").status_code == 200
    sixth = hook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    assert [c.args["_key"] for c in slack.calls_to("response_url")] == ["reply-to-ann"] * (HOOK_USES + 1)


def test_each_response_url_is_new(slack):
    """Two URLs issued under one key are two hooks, each with its own five posts."""
    first, second = slack.response_url("cmd-U1"), slack.response_url("cmd-U1")
    assert first != second
    for _ in range(HOOK_USES):
        WebhookClient(first).send(text="x")
    assert WebhookClient(second).send(text="y").status_code == 200


def test_a_response_url_slack_never_issued_is_refused(slack):
    """A made-up response URL is a 404 ``no_service``, as Slack's hooks answer."""
    # This run's address (every URL the stand-in hands out carries its run token), with a key never issued.
    answer = WebhookClient(f"{slack.api.base}response/cmd-U1").send(text="hello")
    assert (answer.status_code, answer.body) == (404, "no_service")


def test_a_response_url_lasts_thirty_minutes(slack):
    """A response URL older than 30 minutes is refused (``expired_url``)."""
    url = slack.response_url("late")
    slack.workspace.hooks[url.rsplit("/", 1)[1]].expires = time.monotonic() - 0.01
    answer = WebhookClient(url).send(text="too late")
    assert (answer.status_code, answer.body) == (404, "expired_url")


# ---- paging ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "field"),
    [
        ("users.conversations", {"user": "U1", "types": "public_channel"}, "channels"),
        ("conversations.members", {"channel": "C1"}, "members"),
        ("users.list", {}, "members"),
    ],
)
def test_a_first_page_can_be_short_with_a_cursor(slack, method, args, field):
    """Fewer items than ``limit`` still come with a next_cursor: only following it finds them all."""
    web = client(slack)
    first = web.api_call(method, params={**args, "limit": 100})
    everything = list(first[field])
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor and len(everything) < 4
    while cursor:
        more = web.api_call(method, params={**args, "limit": 100, "cursor": cursor})
        everything += more[field]
        cursor = more["response_metadata"]["next_cursor"]
    assert len(everything) >= 4
    assert len({json.dumps(x, sort_keys=True) for x in everything}) == len(everything)


# ---- rate tiers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "per_minute", "args"),
    [
        ("users.list", 20, {}),
        ("users.conversations", 50, {"user": "U1"}),
        ("chat.update", 50, {"channel": "C1", "ts": "1.000100", "text": "x"}),
        ("conversations.members", 100, {"channel": "C1"}),
    ],
)
def test_a_method_over_its_tier_is_answered_429(slack, method, per_minute, args):
    """A minute's worth of calls goes through at once; the next is HTTP 429 ``ratelimited`` with Retry-After."""
    hold_time(slack)
    web = client(slack)
    for _ in range(per_minute):
        web.api_call(method, params=args) if method != "chat.update" else _update(web, args)
    error = refused(lambda: web.api_call(method, params=args))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert int(error.response.headers["Retry-After"]) >= 1
    assert [c.method for c in slack.limited] == [method]


def _update(web: WebClient, args: dict) -> None:
    try:  # the message may not exist; only the count matters here
        web.api_call("chat.update", params=args)
    except SlackApiError as err:
        assert err.response.status_code == 200


def test_rate_limits_are_per_workspace(slack):
    """Another workspace's token has a full minute of its own."""
    hold_time(slack)
    web = client(slack)
    for _ in range(20):
        web.users_list()
    assert refused(web.users_list).response.status_code == 429
    # The stand-in's own workspace is T1; T2 gets a token by OAuth.
    other = WebClient(base_url=slack.url, retry_handlers=[]).oauth_v2_access(
        client_id="c", client_secret="s", code=slack.grant("T2")
    )["access_token"]
    assert client(slack, other).users_list()["ok"]


def test_posts_are_limited_per_channel_after_a_burst(slack):
    """chat.postMessage: a short burst, then about one a second per channel; other channels carry on."""
    hold_time(slack)
    web = client(slack)
    for n in range(10):
        web.chat_postMessage(channel="C1", text=f"post {n}")
    error = refused(lambda: web.chat_postMessage(channel="C1", text="one too many"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "1"
    assert web.chat_postMessage(channel="C2", text="elsewhere")["ok"]
    assert len(slack.messages("C1")) == 10  # the refused post was not made


def test_rate_limits_can_be_turned_off_for_a_bench():
    """``SlackStub(rate_limits=False)``: a bench measuring coprod's own throughput is never held back."""
    with SlackStub(rate_limits=False) as slack:
        slack.add_user("U1")
        web = client(slack)
        for _ in range(30):
            web.users_list()


def test_coprod_waits_out_the_post_limit_and_every_check_in_arrives(bot):
    """Twelve check-ins asked for at once in one channel (both modes): Slack refuses some for a moment
    (429), coprod waits as told and posts each exactly once."""
    resumed: list[float] = []

    def slacks_time() -> float:
        """Still until Slack first refuses (however slow this machine, the twelve come within Slack's
        second), then real time."""
        if not bot.stub.limited:
            return 1000.0
        resumed[:] = resumed or [time.monotonic()]
        return 1000.0 + time.monotonic() - resumed[0]

    bot.stub.api.limits.clock = slacks_time
    for _ in range(12):
        assert bot.command("checkin").status == 200
    assert eventually(lambda: any(c.method == "chat.postMessage" for c in bot.stub.limited), 10)
    posted = bot.stub.wait_for("chat.postMessage", count=12, timeout=30, where=lambda c: c.status == 200)
    assert len([c for c in posted if c.args.get("channel") == CHANNEL]) >= 12
    bot.drain()
    assert len([m for m in bot.stub.messages(CHANNEL) if m.get("blocks")]) == 12


# ---- apps outside the Marketplace ---------------------------------------------------------------------------------


def test_history_outside_the_marketplace_is_fifteen_messages_once_a_minute():
    """An app distributed outside the Marketplace: conversations.history gives at most 15 messages a page and
    is answered once a minute; a Marketplace app (the default) gets its limit and Tier 3."""
    with SlackStub(marketplace=False) as slack:
        hold_time(slack)
        slack.add_channel("C1", ["UBOT"])
        web = client(slack)
        for n in range(20):
            slack.workspace.add_message(
                "C1", {"type": "message", "user": "U1", "text": f"{n}", "ts": f"17000000{n:02d}.000100"}
            )
        first = web.conversations_history(channel="C1", limit=100)
        assert len(first["messages"]) == 15 and first["has_more"]
        error = refused(
            lambda: web.conversations_history(channel="C1", cursor=first["response_metadata"]["next_cursor"])
        )
        assert error.response.status_code == 429 and int(error.response.headers["Retry-After"]) > 30
        slack.marketplace = True
        assert slack.marketplace


def test_history_in_the_marketplace_gives_the_limit_asked_for(slack):
    for n in range(20):
        slack.workspace.add_message(
            "C1", {"type": "message", "user": "U1", "text": f"{n}", "ts": f"17000000{n:02d}.000100"}
        )
    web = client(slack)
    assert len(web.conversations_history(channel="C1", limit=100)["messages"]) == 20
    assert web.conversations_history(channel="C1")["ok"]


# ---- Slack Connect --------------------------------------------------------------------------------------------------


def test_an_event_from_a_slack_connect_channel_names_the_installing_team_in_its_authorizations():
    """In a shared channel the envelope's team is where the event happened; the authorization is the team that
    installed the app."""
    body, _ = event_body(
        {"type": "app_mention", "user": COORDINATOR, "channel": CHANNEL}, team="TOTHER", authorizing_team="T1"
    )
    envelope = json.loads(body)
    assert envelope["team_id"] == "TOTHER"
    assert envelope["authorizations"][0]["team_id"] == "T1"
    assert envelope["is_ext_shared_channel"] is True
    plain = json.loads(event_body({"type": "app_mention"}, team="T1")[0])
    assert plain["authorizations"][0]["team_id"] == "T1" and plain["is_ext_shared_channel"] is False


# ---- the local workspace ------------------------------------------------------------------------------------------


def test_the_local_workspaces_slack_keeps_the_same_rules():
    """The page's Slack (``SlackServer``, without the tests' recording) is no more lenient: rate limits, made-up
    response URLs and triggers are refused there too."""
    with SlackServer(Workspace()) as local:
        hold_time(local)
        local.workspace.add_user("U1")
        web = WebClient(token="xoxb-local", base_url=local.url, retry_handlers=[])
        for _ in range(20):
            web.users_list()
        assert refused(web.users_list).response.status_code == 429
        answer = WebhookClient(f"{local.api.base}response/R0001").send(text="hello")
        assert (answer.status_code, answer.body) == (404, "no_service")
        assert refused(lambda: web.views_open(trigger_id="t1", view=MODAL)).response["error"] == "invalid_trigger_id"
