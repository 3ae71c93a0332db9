"""A file's sharing is never repeated blind: `files.completeUploadExternal` answered with a 5xx may have shared
the file already (https://docs.slack.dev/reference/methods/files.completeUploadExternal), so coprod doesn't
send it again, and says kindly when it can't tell whether the file arrived."""

from __future__ import annotations

from tests.support.blockkit import summary_posts
from tests.support.constants import CHANNEL
from tests.support.flows import ask, post_checkin, rate


def files_in(bot, conversation: str) -> list[dict]:
    """The files shared in ``conversation``, as Slack keeps its messages."""
    return [f for m in bot.stub.messages(conversation) for f in m.get("files") or []]


def answered(bot) -> None:
    ask(bot, "schedule checkins weekly Tuesday 10:00")
    first = post_checkin(bot, "organisational").id
    for user in ("U2", "U3", "U4"):
        rate(bot, first, 4, user)
    post_checkin(bot, "societal")


def test_a_picture_whose_sharing_slack_took_but_answered_with_a_500_is_shared_once(bot):
    """`/coprod summary picture`: Slack shares the file and then answers 500. The person gets it once, and is
    told coprod can't tell whether it went through (not that nothing happened)."""
    answered(bot)
    bot.stub.server_error("files.completeUploadExternal", 500, accepted=True)
    answer = ask(bot, "summary picture", user="U2")
    assert "can't tell" in answer["text"] and "try again" in answer["text"]
    assert len(bot.stub.calls_to("files.completeUploadExternal")) == 1
    assert len(files_in(bot, "DU2")) == 1


def test_a_scheduled_summarys_picture_is_shared_once_though_slacks_answer_failed(bot):
    """The scheduled summary is posted, and its picture, shared by Slack before a 503, is in the channel once."""
    answered(bot)
    ask(bot, "schedule summary weekly Tuesday 10:00")
    bot.stub.server_error("files.completeUploadExternal", 503, accepted=True)
    bot.clock.advance(hours=1)
    assert [(f.kind, f.status) for f in bot.tick() if f.kind == "summary"] == [("summary", "posted")]
    assert len(summary_posts(bot.stub)) == 1
    assert len(bot.stub.calls_to("files.completeUploadExternal")) == 1
    assert len(files_in(bot, CHANNEL)) == 1
