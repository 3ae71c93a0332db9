"""The `/coprod` words that close the loop: `actions`, `nudge <hours>|off`, `pause until <date>`, `resume`.
Pure; ``bot.domain.command_grammar`` asks here first for these verbs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.holidays import PauseError, parse_until
from bot.domain.typed import typed, whole_number

MAX_NUDGE_HOURS = 167  # a check-in is open for a week at most


class LoopUsageError(ValueError):
    """What was wrong, in words for the person who typed it (``command_grammar`` raises it as its UsageError)."""


@dataclass(frozen=True)
class ListActions:
    pass


@dataclass(frozen=True)
class SetNudge:
    hours: int | None  # None: off


@dataclass(frozen=True)
class Pause:
    until: date  # the local date the pause ends on


@dataclass(frozen=True)
class Resume:
    pass


LoopCommand = ListActions | SetNudge | Pause | Resume


def parse(verb: str, rest: list[str], *, today: date) -> LoopCommand | None:
    """The command for ``verb`` and the words after it; None when the verb isn't one of these."""
    if verb in ("actions", "action"):
        _nothing_after(rest, "actions")
        return ListActions()
    if verb in ("nudge", "nudges"):
        return _nudge(rest)
    if verb == "pause":
        words = rest[1:] if rest and rest[0].lower() == "until" else rest
        if not words:
            raise LoopUsageError("Say until when, for example `/coprod pause until 2027-01-04`")
        try:
            return Pause(parse_until(" ".join(words), today=today))
        except PauseError as exc:
            raise LoopUsageError(f"{exc}. Use: `/coprod pause until 2027-01-04`") from None
    if verb in ("resume", "unpause"):
        _nothing_after(rest, "resume")
        return Resume()
    return None


def _nothing_after(words: list[str], usage: str) -> None:
    if words:
        raise LoopUsageError(f"I didn't understand “{typed(' '.join(words))}” at the end. Use: `/coprod {usage}`")


def _nudge(rest: list[str]) -> SetNudge:
    usage = "nudge <hours>  (or nudge off)"
    words = [w.lower() for w in rest]
    if words == ["off"]:
        return SetNudge(None)
    if words and words[-1] in ("hours", "hour"):
        words = words[:-1]
    if len(words) == 1 and words[0].endswith("h"):
        words = [words[0][:-1]]
    if len(words) != 1:
        raise LoopUsageError(f"Say after how many hours, for example `/coprod nudge 48`. Use: `/coprod {usage}`")
    hours = whole_number(words[0], "hours", 1, MAX_NUDGE_HOURS)
    if isinstance(hours, str):
        raise LoopUsageError(f"{hours} (a check-in is open for a week), as in `/coprod nudge 48`")
    return SetNudge(hours)
