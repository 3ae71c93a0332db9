"""The `/coprod` words for the record of involvement: `log`, `payment`, `ledger`, `aim`, `title`, `changed`.
Pure; ``bot.domain.command_grammar`` asks here for these verbs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.domain.involvement import STAGES, DurationError, parse_duration

MAX_TEXT = 500
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_MONEY = re.compile(r"^\d{1,6}(?:\.\d{1,2})?$")


class InvolvementUsageError(ValueError):
    """What was wrong, in words for the person who typed it (``command_grammar`` raises it as its UsageError)."""


@dataclass(frozen=True)
class LogWork:
    done_on: date | None  # None: today where the partnership is
    minutes: int
    what: str


@dataclass(frozen=True)
class SetRate:
    pence_per_hour: int
    currency: str
    activity: str  # "" for every activity


@dataclass(frozen=True)
class ChoosePayment:
    choice: str  # paid, voucher or none


@dataclass(frozen=True)
class MarkPaid:
    user: str
    until: date | None


@dataclass(frozen=True)
class ShowLedger:
    pass


@dataclass(frozen=True)
class ExportLedger:
    pass


@dataclass(frozen=True)
class FixLine:
    number: int  # as the person's own ledger numbers it
    minutes: int
    stage: str | None


@dataclass(frozen=True)
class SetReportText:
    name: str  # aim or title
    value: str


@dataclass(frozen=True)
class RecordChange:
    pass


InvolvementCommand = (
    LogWork | SetRate | ChoosePayment | MarkPaid | ShowLedger | ExportLedger | FixLine | SetReportText | RecordChange
)

LOG_USAGE = "Use: `/coprod log 2h reviewed the participant leaflet` (or `/coprod log 2026-03-01 90m …`)"
PAYMENT_USAGE = (
    "Use: `/coprod payment paid`, `/coprod payment voucher` or `/coprod payment none` to choose how you are paid; "
    "coordinators: `/coprod payment rate 25 GBP per hour [for meeting|work|<stage>]` or `/coprod payment made @name`"
)


def _stage(words: list[str]) -> str | None:
    text = " ".join(words).lower()
    if not text:
        return None
    if text in STAGES:
        return text
    raise InvolvementUsageError(f"“{' '.join(words)}” is not a study stage. Pick one of: {', '.join(STAGES)}")


def _day(word: str, usage: str) -> date:
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise InvolvementUsageError(f"“{word}” is not a date I can read (like 2026-03-01). {usage}") from None


def _duration(word: str, usage: str) -> int:
    try:
        return parse_duration(word)
    except DurationError as exc:
        raise InvolvementUsageError(f"{exc}. {usage}") from None


def parse(verb: str, rest: list[str], *, today: date) -> InvolvementCommand | None:
    """The command for ``verb``, or None when the verb isn't one of these."""
    if verb == "log":
        return _log(rest, today)
    if verb in ("payment", "pay"):
        return _payment(rest, today)
    if verb == "ledger":
        if not rest:
            return ShowLedger()
        if [w.lower() for w in rest] == ["export"]:
            return ExportLedger()
        if rest[0].lower() == "fix" and len(rest) >= 3 and rest[1].isdigit():
            usage = "Use: `/coprod ledger fix <line number> 1.5h [stage]`"
            return FixLine(int(rest[1]), _duration(rest[2], usage), _stage(rest[3:]))
        raise InvolvementUsageError(
            "Use: `/coprod ledger` (your own lines), `/coprod ledger fix 2 1.5h analysis` or `/coprod ledger export`"
        )
    if verb in ("aim", "title"):
        text = " ".join(rest).strip()
        if not text:
            raise InvolvementUsageError(f"Tell me the {verb} after the word. Use: `/coprod {verb} <words>`")
        if len(text) > MAX_TEXT:
            raise InvolvementUsageError(f"Please keep the {verb} under {MAX_TEXT} characters.")
        return SetReportText(verb, text)
    if verb == "changed":
        if rest:
            raise InvolvementUsageError("Just type `/coprod changed`: a form opens to pick the comment or level")
        return RecordChange()
    return None


def _log(rest: list[str], today: date) -> LogWork:
    words = list(rest)
    done_on = None
    if words and re.match(r"^\d{4}-", words[0]):
        done_on = _day(words.pop(0), LOG_USAGE)
        if done_on > today:
            raise InvolvementUsageError(f"“{done_on.isoformat()}” hasn't come yet. {LOG_USAGE}")
    if len(words) < 2:
        raise InvolvementUsageError(f"I need how long and what you did. {LOG_USAGE}")
    minutes = _duration(words[0], LOG_USAGE)
    what = " ".join(words[1:])
    if len(what) > MAX_TEXT:
        raise InvolvementUsageError(f"Please keep what you did under {MAX_TEXT} characters.")
    return LogWork(done_on, minutes, what)


def _payment(rest: list[str], today: date) -> InvolvementCommand:
    words = [w.lower() for w in rest]
    if words and words[0] == "choose":
        words, rest = words[1:], rest[1:]
    if len(words) == 1 and words[0] in ("paid", "voucher", "none"):
        return ChoosePayment(words[0])
    if words[:1] == ["rate"]:
        # rate <amount> <CUR> per hour [for <activity>]
        if len(words) < 5 or words[3:5] != ["per", "hour"] or not _MONEY.match(words[1]):
            raise InvolvementUsageError(PAYMENT_USAGE)
        currency = rest[2].upper()
        if not re.match(r"^[A-Z]{3}$", currency):
            raise InvolvementUsageError(f"“{rest[2]}” is not a currency code: use three letters, like GBP or EUR")
        activity = ""
        if len(words) > 5:
            if words[5] != "for" or len(words) < 7:
                raise InvolvementUsageError(PAYMENT_USAGE)
            activity = " ".join(words[6:])
            activity = {"meetings": "meeting", "other work": "work"}.get(activity, activity)
            if activity not in ("meeting", "work", *STAGES):
                raise InvolvementUsageError(
                    f"“{' '.join(rest[6:])}” is not an activity I know: meeting, work, or a stage ({', '.join(STAGES)})"
                )
        return SetRate(round(float(words[1]) * 100), currency, activity)
    if words[:1] == ["made"] and len(rest) in (2, 3):
        match = _MENTION.match(rest[1])
        if not match:
            raise InvolvementUsageError(f"“{rest[1]}” is not a person: type @ and pick their name from the list")
        until = _day(rest[2], PAYMENT_USAGE) if len(rest) == 3 else None
        return MarkPaid(match.group(1), until)
    raise InvolvementUsageError(PAYMENT_USAGE)
