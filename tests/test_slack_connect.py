"""A partnership channel shared with another organization (Slack Connect), in both Slack modes.

Events there come with the envelope's ``team_id`` naming the workspace where they happened (the partner
organization's), and ``authorizations[0].team_id`` naming the workspace coprod is installed in, whose token
answers them (tests/support/org_payloads.py). coprod serves, stores and looks up everything under the
authorizing workspace: the partnership is that workspace's.
"""

from __future__ import annotations

from bot.localslack.signed import action_body, view_submission_body
from tests.support.blockkit import summary_posts, valid_blocks
from tests.support.constants import ADMIN, BOT_TOKEN, BOT_USER, CHANNEL, MEMBERS, TEAM
from tests.support.flows import ask, modal_values, post_checkin
from tests.support.installing import install
from tests.support.org_payloads import connect_event, connect_interaction
from tests.support.running import running_bot
from tests.support.stored import rows
from tests.support.waiting import eventually

PARTNER_ORG = "T0PARTNER7ORG"  # the other organization's workspace; coprod is not installed there
GUEST = "U0GUEST9X"  # a person of the partner organization, in the shared channel


def start_partnership(bot) -> int:
    """The partnership's channel, shared with GUEST's organization, with a check-in posted; its id."""
    bot.stub.add_user(GUEST, tz="Europe/Paris")
    bot.stub.add_channel(CHANNEL, [*MEMBERS, ADMIN, BOT_USER, GUEST], name="partnership")
    checkin = post_checkin(bot)
    assert eventually(lambda: bot.store.partnerships.get(TEAM, CHANNEL).member_count is not None)
    bot.stub.reset()
    return checkin.id


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
    bot.drain()  # the retry's follow-up, had it been handled as a new event, has run
    assert len(bot.stub.calls_to("chat.postMessage")) == 1
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


def test_a_partner_organizations_rating_and_comment_count_in_the_partnership(bot):
    """Someone of the partner organization rates the check-in and comments in the modal coprod opens for them:
    both are this partnership's answers (the modal's submission names their workspace in team.id, and coprod's
    in view.app_installed_team_id)."""
    checkin_id = start_partnership(bot)
    guest = {"installed_in": TEAM, "happened_in": PARTNER_ORG}
    rated = action_body("rate:4", "4", block_id=f"checkin:{checkin_id}", user=GUEST, channel=CHANNEL, team=TEAM)
    assert bot.slack.send(*connect_interaction(rated, **guest)).status == 200
    assert bot.store.answers.my_answer(TEAM, checkin_id, GUEST).rating == 4

    clicked = action_body(
        "comment",
        "comment",
        block_id=f"checkin:{checkin_id}",
        user=GUEST,
        channel=CHANNEL,
        team=TEAM,
        trigger_id=(trigger := bot.stub.trigger(GUEST)),
    )
    assert bot.slack.send(*connect_interaction(clicked, **guest)).status == 200
    [opened] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == trigger)
    form = opened.json("view")
    values = modal_values(3, "we should meet in person more often")
    submitted = view_submission_body(
        "comment", values, private_metadata=form["private_metadata"], user=GUEST, team=TEAM
    )
    reply = bot.slack.send(*connect_interaction(submitted, **guest))
    assert reply.status == 200 and "errors" not in reply.text, reply.text
    answer = bot.store.answers.my_answer(TEAM, checkin_id, GUEST)
    assert (answer.rating, answer.comment) == (3, "we should meet in person more often")
    assert bot.store.answers.my_answer(PARTNER_ORG, checkin_id, GUEST) is None


def test_with_several_workspaces_a_shared_channel_is_answered_with_the_installing_workspaces_token(
    request, tmp_path, stub, clock
):
    """Several-workspace mode (over HTTP, OAuth): coprod is installed in the partnership's workspace only, and a
    person of the partner organization mentions it in the shared channel. The mention is answered with the
    installing workspace's token, about its partnership."""
    stub.oauth_client = ("1111.2222", "oauth-client-secret")
    env = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "oauth-client-secret"}
    stub.add_user(GUEST, tz="Europe/Paris")
    stub.add_channel(CHANNEL, [*MEMBERS, GUEST, "UBOT" + TEAM], name="partnership")
    with running_bot(request, "http", tmp_path, stub, clock, **env) as bot:
        install(f"http://127.0.0.1:{bot.runtime.port}/", stub, TEAM, installer=MEMBERS[0])
        [token] = stub.tokens_of(TEAM)
        assert "All set" in ask(bot, "schedule checkins weekly Tuesday 10:00", user=MEMBERS[0])["text"]
        stub.reset()
        mention = {"type": "app_mention", "user": GUEST, "text": "<@UBOT> summary", "channel": CHANNEL, "ts": "1.2"}
        assert bot.slack.send(*shared(mention, "EvSharedOauth")).status == 200
        [post] = stub.wait_for("chat.postMessage")
        assert post.args["channel"] == CHANNEL and post.token == token
        assert any(b.get("block_id", "").startswith("level:") for b in valid_blocks(post.json("blocks")))
