"""The gentle reminder to someone who hasn't answered an open check-in, as a direct message. Pure.

It carries the same rating buttons as the check-in (their block is ``nudge:<check-in id>``, which the
listener checks against the store's record of who was reminded) and a one-click "Don't remind me". It
says nothing about anyone else: not who answered, not how many, not who else was reminded.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.catalog import Facilitator, Level
from bot.render.blocks import button, context, escape, section
from bot.render.messages import level_title, rating_buttons, scale_line, source_button


def nudge_text(facilitator: Facilitator) -> str:
    return f"A gentle reminder: {escape(facilitator.prompt)}"


def nudge_blocks(
    level: Level, facilitator: Facilitator, *, checkin_id: int, channel: str, closes_at: int, timezone: str
) -> list[dict]:
    closes = datetime.fromtimestamp(closes_at, ZoneInfo(timezone))
    return [
        section(
            f"Hello! The team's check-in in <#{channel}> is open until {closes:%A %-d %B}, and I don't "
            "think you've answered yet. It takes one click: answer here or in the channel."
        ),
        section(f"*{escape(facilitator.prompt)}*\n_{escape(level_title(level))}_ · {scale_line(facilitator)}"),
        {
            "type": "actions",
            "block_id": f"nudge:{checkin_id}",
            "elements": [*rating_buttons(facilitator), source_button(facilitator)],
        },
        context("Only you got this message. Nobody is told who was reminded, or who answered what."),
        {
            "type": "actions",
            "block_id": f"nudge-optout:{channel}",
            "elements": [button("Don't remind me", "nudge_off", channel)],
        },
    ]


def optout_blocks(channel: str, opted_out: bool) -> list[dict]:
    """What the reminder becomes once someone said "don't remind me" (or changed their mind)."""
    if opted_out:
        return [
            section(f"Done: I won't remind you about check-ins in <#{channel}>. They still appear in the channel."),
            {
                "type": "actions",
                "block_id": f"nudge-optout:{channel}",
                "elements": [button("Remind me again", "nudge_on", channel)],
            },
        ]
    return [section(f"Done: I'll send you a reminder again when you haven't answered a check-in in <#{channel}>.")]
