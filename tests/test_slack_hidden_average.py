"""A level whose average is still hidden, as a summary shows it: never "looking after this well" before its
figure can be shown (too few answers to show yet), through `/coprod summary` in both Slack modes."""

from __future__ import annotations

from tests.support.flows import ask, configure, post_checkin, rate


def societal(answer: dict) -> str:
    [block] = [b for b in answer["blocks"] if b.get("block_id") == "level:societal"]
    return block["text"]["text"]


def test_a_level_whose_average_is_hidden_is_not_called_well_looked_after(bot):
    """Three people answered a Societal check-in that is still open: its average is hidden, so the summary says
    there aren't enough answers to show yet, not "looking after this well". Once the check-in closes, the
    average shows and the level may be called well looked after."""
    configure(bot, "schedule checkins weekly Tuesday 10:00")
    checkin = post_checkin(bot, "societal").id
    for user, rating in (("U2", 4), ("U3", 5), ("U4", 4)):
        rate(bot, checkin, rating, user)
    hidden = societal(ask(bot, "summary societal"))
    assert "Average rating" not in hidden and "neglected" not in hidden
    assert "looking after this well" not in hidden
    assert "not enough answers to show yet" in hidden
    bot.clock.advance(days=7)
    shown = societal(ask(bot, "summary societal"))
    assert "Average rating: *4.3 of 5*" in shown
    assert "looking after this well" in shown and "not enough answers" not in shown
