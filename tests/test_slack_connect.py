"""A partnership channel shared with another organization (Slack Connect), in both Slack modes.

Events there come with the envelope's ``team_id`` naming the workspace where they happened (the partner
organization's), and ``authorizations[0].team_id`` naming the workspace coprod is installed in, whose token
answers them (tests/support/org_payloads.py). coprod serves, stores and looks up everything under the
authorizing workspace: the partnership is that workspace's.
"""

from __future__ import annotations

from tests.support.blockkit import summary_posts, valid_blocks
from tests.support.constants import ADMIN, BOT_TOKEN, BOT_USER, CHANNEL, MEMBERS, TEAM
from tests.support.flows import post_checkin
from tests.support.org_payloads import connect_event
from tests.support.stored import rows
from tests.support.waiting import eventually, quiet

PARTNER_ORG = "T0PARTNER7ORG"  # the other organization's workspace; coprod is not installed there
GUEST = "U0GUEST9X"  # a person of the partner organization, in the shared channel


def start_partnership(bot) -> None:
    bot.stub.add_user(GUEST, tz="Europe/Paris")
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, GUEST], name="partnership")
    post_checkin(bot)
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count is not None)
    bot.stub.reset()


def shared(event: dict, event_id: str):
    return connect_event(event, installed_in=TEAM, happened_in=PARTNER_ORG, event_id=event_id)


def test_a_partner_organizations_mention_gets_the_partnerships_summary(bot):
    """`@coprod summary` said by someone of the partner organization posts this partnership's summary, with the
    token of the workspace coprod is installed in (before: "coprod isn't set up in this channel yet")."""
    start_partnership(bot)
    mention = {"type": "app_mention", "user": GUEST, "text": "<@UBOT> summary", "channel": CHANNEL}
    reply = bot.slack.send(*shared({**mention, "ts": "1700000001.000100"}, "EvShared1"))
    assert reply.status == 200, reply.text
    [post] = bot.stub.wait_for("chat.postMessage")
    assert post.args["channel"] == CHANNEL and post.token == BOT_TOKEN
    assert any(b.get("block_id", "").startswith("level:") for b in valid_blocks(post.json("blocks")))
    assert bot.stub.calls_to("chat.postEphemeral") == []

    # Slack's retry of it is recognised as one, and nothing in the database names the partner's workspace.
    retry = bot.slack.send(*shared({**mention, "ts": "1700000001.000100"}, "EvShared1"))
    assert retry.status == 200
    bot.drain()
    quiet(bot.stub, "chat.postMessage", 1)
    assert len(summary_posts(bot.stub)) == 1
    tables = [name for (name,) in rows(bot.store.path, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [c[1] for c in rows(bot.store.path, f"PRAGMA table_info({table})")]
        if "team_id" in columns:
            assert rows(bot.store.path, f"SELECT COUNT(*) FROM {table} WHERE team_id = ?", PARTNER_ORG)[0][0] == 0


def test_someone_of_the_partner_organization_joining_updates_the_member_count(bot):
    start_partnership(bot)
    before = bot.store.partnerships.get(TEAM, CHANNEL).member_count
    bot.stub.add_user("U0GUEST2X")
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, GUEST, "U0GUEST2X"], name="partnership")
    joined = {"type": "member_joined_channel", "user": "U0GUEST2X", "channel": CHANNEL, "channel_type": "C"}
    assert bot.slack.send(*shared(joined, "EvSharedJoin")).status == 200
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count == before + 1)
