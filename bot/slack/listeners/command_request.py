"""A `/coprod` command as it came (who, where, when: :class:`Request`) and the private reply to it, shared by
the listeners that carry commands out (``commands``, ``exports``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.deps import Deps

Reply = dict  # the private answer: a chat message's fields, response_type "ephemeral"


@dataclass(frozen=True)
class Request:
    team: str
    channel: str
    user: str
    now: int
    trigger_id: str = ""  # opens a form (`/coprod changed`)
    channel_name: str = ""  # the report names the channel by it

    @classmethod
    def from_command(cls, command: dict, deps: Deps) -> Request:
        return cls(
            command.get("team_id", ""),
            command.get("channel_id", ""),
            command.get("user_id", ""),
            int(deps.now().timestamp()),
            command.get("trigger_id", ""),
            command.get("channel_name", ""),
        )


def reply(text: str = "", blocks: list | None = None) -> Reply:
    out: Reply = {"response_type": "ephemeral", "text": text}
    if blocks:
        out["blocks"] = blocks
    return out


NOT_SET_UP = (
    "coprod isn't set up in this channel yet. A coordinator can start with "
    "`/coprod schedule checkins weekly Tuesday 10:00`, or anyone can try `/coprod checkin`."
)
