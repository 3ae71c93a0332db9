"""The coverage picture and the funder's report through Slack, in both modes: `/coprod summary picture` sends
the picture privately, `/coprod report` sends coordinators the HTML file, a scheduled summary shares the
picture in the channel, and App Home then shows it."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.blockkit import summary_posts
from tests.support.constants import CHANNEL, COORDINATOR
from tests.support.flows import ask, open_home, post_checkin, rate

SETUP = "schedule checkins weekly Tuesday 10:00"


def uploads_to(bot, channel: str, count: int = 1) -> list[tuple]:
    """The files shared in ``channel``: (the ticket call, the uploaded bytes, the completion call)."""
    done = bot.stub.wait_for(
        "files.completeUploadExternal", count=count, where=lambda c: c.args.get("channel_id") == channel
    )
    found = []
    for call in done:
        [file_id] = [f["id"] for f in call.json("files")]
        [ticket] = [c for c in bot.stub.calls_to("files.getUploadURLExternal") if c.response.get("file_id") == file_id]
        [upload] = [c for c in bot.stub.calls_to("file_upload") if c.args["_file_id"] == file_id]
        found.append((ticket, upload.args["_bytes"], call))
    return found


def answered(bot) -> None:
    """A check-in three people answered, closed by the next one."""
    ask(bot, SETUP)
    first = post_checkin(bot, "organisational").id
    for user in ("U2", "U3", "U4"):
        rate(bot, first, 4, user)
    post_checkin(bot, "societal")


def test_summary_picture_is_sent_privately_with_its_words(bot):
    answered(bot)
    answer = ask(bot, "summary picture", user="U2")
    assert answer["text"] == "I've sent you the picture as a direct message."
    [(ticket, png, done)] = uploads_to(bot, "DU2")
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size[0] >= 1000
    assert ticket.args["alt_txt"].startswith("How we looked after each level")
    assert "Organisational (meso): " in ticket.args["alt_txt"] and "4.0" in ticket.args["alt_txt"]
    assert not [c for c in bot.stub.calls_to("files.completeUploadExternal") if c.args.get("channel_id") == CHANNEL]


def test_report_goes_to_a_coordinators_direct_messages_and_members_are_refused(bot):
    answered(bot)
    refused = ask(bot, "report", user="U2")
    assert "only coordinators" in refused["text"]
    answer = ask(bot, "report since 2026-01-01")
    assert answer["text"] == "I've sent you the report as a direct message."
    [(ticket, html, done)] = uploads_to(bot, "D" + COORDINATOR)
    text = html.decode("utf-8")
    # Named for the channel (by the name Slack sent with the command) and the period the report covers.
    assert ticket.args["filename"] == f"coprod-report-partnership-2026-01-01-to-{bot.clock.now.date().isoformat()}.html"
    assert text.startswith("<!doctype html>") and "GRIPP2 short form" in text and "1 January 2026" in text
    assert "Your words" in done.args["initial_comment"]
    assert "U2" not in text.replace("base64,", "").split("<img")[0]


def test_a_report_date_that_cannot_be_read_gets_a_usage_message(bot):
    ask(bot, SETUP)
    answer = ask(bot, "report since yesterday")
    assert "is not a date I can read" in answer["text"] and "`/coprod report since 2026-01-01`" in answer["text"]


def test_a_scheduled_summary_shares_the_picture_and_app_home_shows_it(bot):
    answered(bot)
    ask(bot, "schedule summary weekly Tuesday 10:00")
    bot.clock.advance(hours=1)
    assert [(f.kind, f.status) for f in bot.tick() if f.kind == "summary"] == [("summary", "posted")]
    assert len(summary_posts(bot.stub)) == 1
    [(ticket, png, done)] = uploads_to(bot, CHANNEL)
    assert png.startswith(b"\x89PNG") and ticket.args["alt_txt"].startswith("How we looked after each level")
    file_id = ticket.response["file_id"]
    home = open_home(bot)
    [image] = [b for b in home["blocks"] if b["type"] == "image"]
    assert image["slack_file"] == {"id": file_id} and image["alt_text"] == ticket.args["alt_txt"]
