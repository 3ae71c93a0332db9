"""Reflection rounds at scale: who is a person read once per workspace (users.list), prompts sent side by side.

coprod runs as in production, in each Slack mode, with the real APScheduler ticking every 0.2 s; the
Slack stand-in records every call. A round is one reflexivity schedule firing (bot/slack/posts.py, bot/slack/roster.py).
"""

from __future__ import annotations

import pytest

from bot.runtime.run import Runtime
from tests.support.blockkit import block_id_of
from tests.support.constants import ADMIN, BOT_USER, CHANNEL, MEMBERS, MODES, TEAM
from tests.support.flows import configure, listings
from tests.support.running import make_settings, running_bot
from tests.support.waiting import eventually

OTHER = "C2"


@pytest.fixture(params=MODES)
def ticking(request, tmp_path, stub, clock):
    """coprod in each runner mode with the real APScheduler (started by ``fire``) ticking every 0.2 s."""
    with running_bot(request, request.param, tmp_path, stub, clock, COPROD_TICK_SECONDS="0.2") as bot:
        try:
            yield bot
        finally:
            if bot.runtime.scheduler.running:
                bot.runtime.scheduler.shutdown(wait=True)


def prompts(bot, *, ok: bool = True) -> list:
    """The reflection DMs Slack received (channel = a user id), answered ok unless ``ok`` is False."""
    return [
        c
        for c in bot.stub.calls_to("chat.postMessage")
        if str(c.args.get("channel", "")).startswith("U")
        and "reflect" in str(c.args.get("blocks"))
        and (not ok or (c.response or {}).get("ok"))
    ]


def prompted(bot) -> list[str]:
    return sorted(c.args["channel"] for c in prompts(bot))


def schedule_rounds(bot, *channels: str) -> None:
    for channel in channels:
        configure(bot, "schedule reflexivity fortnightly Tuesday 10:00", channel=channel)


def rounds_posted(bot, *channels: str, count: int = 1) -> bool:
    def posted(channel: str) -> bool:
        p = bot.store.partnerships.get(TEAM, channel)
        return [status for kind, _, status in bot.store.ledger.posts(p) if kind == "reflexivity"] == ["posted"] * count

    return bool(eventually(lambda: all(posted(c) for c in channels), timeout=10))


def big_round(bot, prefix: str, extra: int) -> list[str]:
    """The channel with ``extra`` more people (``<prefix>00``...), a round scheduled; returns the extra ones."""
    users = [f"{prefix}{n:02}" for n in range(extra)]
    for user in users:
        bot.stub.add_user(user)
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, *users], name="partnership")
    schedule_rounds(bot, CHANNEL)
    return users


def fire(bot, *channels: str, count: int = 1) -> None:
    """Move to Tuesday 10:00 (from Tuesday 09:00), let the real scheduler fire the rounds and wait for them."""
    bot.clock.advance(hours=1)
    if not bot.runtime.scheduler.running:
        bot.runtime.start_scheduler()
    assert rounds_posted(bot, *channels, count=count), "the reflection rounds were not posted"


def test_a_round_reads_who_is_a_person_once_per_workspace_not_once_per_member(ticking):
    """Two partnerships of one workspace due at once: one users.list between them, no users.info per member;
    a round a fortnight later reads the listing again (a person deactivated since gets no prompt)."""
    bot = ticking
    bot.stub.add_user("U5")
    bot.stub.add_channel(OTHER, ["U1", "U2", "U5", BOT_USER], name="second")
    schedule_rounds(bot, CHANNEL, OTHER)
    bot.stub.reset()  # count the rounds' calls only
    fire(bot, CHANNEL, OTHER)
    assert prompted(bot) == sorted([*MEMBERS, ADMIN, "U1", "U2", "U5"])
    assert listings(bot.stub, "users.list") == 1
    assert bot.stub.calls_to("users.info") == []
    assert bot.store.partnerships.get(TEAM, OTHER).member_count == 3

    bot.stub.add_user("U4", deleted=True)
    bot.stub.reset()
    bot.clock.advance(weeks=2, hours=-1)
    fire(bot, CHANNEL, OTHER, count=2)
    assert listings(bot.stub, "users.list") == 1
    assert prompted(bot) == sorted(["U1", "U2", "U3", ADMIN, "U1", "U2", "U5"])
    assert bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS)


def test_other_bots_deactivated_accounts_and_people_who_opted_out_get_no_prompt(ticking):
    """From the listing: another app's bot and a deactivated account are left out, and so is someone who
    pressed "Stop these prompts"; a member the listing doesn't name (another organisation's, in a shared
    channel) is asked about on their own, and prompted."""
    bot = ticking
    bot.stub.add_user("UOTHERBOT", is_bot=True)
    bot.stub.add_user("UGONE", deleted=True)
    bot.stub.add_user("UEXT")
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, "UOTHERBOT", "UGONE", "UEXT"], name="partnership")
    schedule_rounds(bot, CHANNEL)
    bot.slack.click("reflexivity_off", CHANNEL, user="U3", team=TEAM, container_type="view")
    assert bot.store.people.reflexivity_optouts(bot.store.partnerships.get(TEAM, CHANNEL)) == {"U3"}
    bot.drain()  # App Home, refreshed for U3, is not the round's
    listed = [u for u in bot.stub.workspace.users.values() if u["id"] != "UEXT"]
    bot.stub.answer("users.list", {"ok": True, "members": listed, "response_metadata": {"next_cursor": ""}})
    calls_before = len(bot.stub.calls)
    fire(bot, CHANNEL)
    assert prompted(bot) == sorted(["U1", "U2", "U4", ADMIN, "UEXT"])
    asked = [c.args["user"] for c in bot.stub.calls[calls_before:] if c.method == "users.info"]
    assert asked == ["UEXT"]
    assert bot.store.partnerships.get(TEAM, CHANNEL).member_count == len(MEMBERS) + 2  # the admin, UEXT


def test_when_slack_wont_list_the_workspace_each_member_is_looked_up_on_their_own(ticking):
    """users.list refused (an app installed without users:read): the round asks users.info about each
    member, as coprod did before, and still leaves other apps' bots out."""
    bot = ticking
    bot.stub.add_user("UOTHERBOT", is_bot=True)
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, "UOTHERBOT"], name="partnership")
    schedule_rounds(bot, CHANNEL)
    bot.stub.reset()
    bot.stub.fail("users.list", "missing_scope")
    fire(bot, CHANNEL)
    assert prompted(bot) == sorted([*MEMBERS, ADMIN])
    assert listings(bot.stub, "users.list") == 1
    assert sorted(c.args["user"] for c in bot.stub.calls_to("users.info")) == sorted([*MEMBERS, ADMIN, "UOTHERBOT"])


def test_a_slow_or_failed_prompt_neither_holds_up_nor_stops_the_others(ticking):
    """One member's DM hangs and another's is refused: the rest are prompted meanwhile, the round counts
    once, and the partnership is not paused (a refused DM says nothing about the channel)."""
    bot = ticking
    schedule_rounds(bot, CHANNEL)
    bot.stub.reset()
    held = bot.stub.hold("chat.postMessage", accepted=True, channel="U2")
    bot.stub.fail("chat.postMessage", "channel_not_found", channel="U4")
    try:
        bot.clock.advance(hours=1)
        bot.runtime.start_scheduler()
        others = bot.stub.wait_for(
            "chat.postMessage", count=4, where=lambda c: c.args.get("channel") in ("U1", "U3", "U4", ADMIN)
        )
        assert sorted(c.args["channel"] for c in others) == sorted(["U1", "U3", "U4", ADMIN])
    finally:
        held.set()
    assert rounds_posted(bot, CHANNEL)
    assert prompted(bot) == sorted(["U1", "U2", "U3", ADMIN])
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    assert p.paused_reason is None
    [checkin_id] = {int(block_id_of(c, "reflect:").split(":")[1]) for c in prompts(bot)}
    assert bot.store.checkins.checkin(TEAM, checkin_id) is not None
    assert list(bot.store.activity.last_asked(p, kind="reflexivity")) == ["reflexivity"]  # the round counts


def test_a_429_holds_back_the_workspaces_prompts_until_slack_says_and_each_arrives_once(ticking):
    """Slack answers one prompt 429 (Retry-After 2 s): no new prompt for that workspace starts until then
    (those already on their way land), the refused one is sent again, and every member gets exactly one."""
    bot = ticking
    extra = big_round(bot, "U1", 20)
    bot.stub.reset()
    bot.stub.rate_limit("chat.postMessage", retry_after=2)
    bot.stub.delay("chat.postMessage", 0.1, times=len(extra) + 10)  # Slack's pace: the prompts take a while
    fire(bot, CHANNEL)
    everyone = sorted([*MEMBERS, ADMIN, *extra])
    assert prompted(bot) == everyone
    sent = prompts(bot, ok=False)
    assert len(sent) == len(everyone) + 1
    [refused] = [c for c in sent if c.status == 429]
    started_meanwhile = [c for c in sent if refused.time + 0.3 < c.time < refused.time + 1.8]
    assert started_meanwhile == []
    again = [c for c in sent if c.args["channel"] == refused.args["channel"] and c.status == 200]
    assert len(again) == 1 and again[0].time >= refused.time + 2


def test_stopping_mid_round_sends_no_more_prompts_and_none_twice(ticking, tmp_path, stub, clock):
    """Stopping while a big round is under way at Slack's pace: the prompts under way land, no more are sent,
    the round counts once, and a restart prompts nobody again."""
    bot = ticking
    extra = big_round(bot, "U2", 30)
    bot.stub.reset()
    bot.stub.delay("chat.postMessage", 0.3, times=100)
    bot.clock.advance(hours=1)
    bot.runtime.start_scheduler()
    bot.stub.wait_for("chat.postMessage", count=4)
    bot.runtime.scheduler.shutdown(wait=True)
    bot.runtime.dispatcher.close(timeout=0.5)  # what SIGTERM does, with a shorter wait for posts under way
    everyone = [*MEMBERS, ADMIN, *extra]
    sent = prompted(bot)
    assert 4 <= len(sent) < len(everyone)
    assert len(set(sent)) == len(sent)
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    assert [status for kind, _, status in bot.store.ledger.posts(p) if kind == "reflexivity"] == ["posted"]
    assert list(bot.store.activity.last_asked(p, kind="reflexivity")) == ["reflexivity"]

    again = Runtime(make_settings(tmp_path, stub), clock=clock)
    try:
        bot.clock.advance(minutes=30)
        assert again.dispatcher.tick() == []
    finally:
        again.stop()
    assert prompted(bot) == sent
