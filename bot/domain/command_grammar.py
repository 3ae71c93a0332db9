"""The `/coprod` grammar: text in, a command (or a usage message naming what was wrong) out. Pure."""

from __future__ import annotations

import re
from datetime import date

from bot.domain import involvement_grammar, loop_grammar
from bot.domain.catalog import Catalog, Facilitator, Level
from bot.domain.commands import (
    ROLES,
    ChangeCoordinator,
    CheckinNow,
    Command,
    Export,
    ForgetMe,
    Help,
    LogMeeting,
    PinNext,
    Report,
    SetMeeting,
    SetRetention,
    SetRole,
    SetSchedule,
    SetSize,
    SetTimezone,
    ShowPicture,
    ShowSummary,
    StopMeeting,
    StopSchedule,
)
from bot.domain.schedule import (
    ScheduleError,
    Spec,
    parse_cadence,
    parse_day,
    parse_time,
    timezone_refused,
    valid_timezone,
)
from bot.domain.typed import typed, whole_number

_ROLE_WORDS = {
    "researcher": "researcher",
    "academic": "researcher",
    "practitioner": "practitioner",
    "clinician": "practitioner",
    "service user/patient": "service user/patient",
    "service user": "service user/patient",
    "service-user": "service user/patient",
    "patient": "service user/patient",
    "carer": "carer",
    "caregiver": "carer",
    "public": "public",
    "member of the public": "public",
    "public member": "public",
    "community member": "community member",
    "community": "community member",
    "policy-maker": "policy-maker",
    "policy maker": "policy-maker",
    "policymaker": "policy-maker",
    "manager": "manager",
    "other": "other",
}
SCHEDULE_KINDS = ("checkins", "summary", "reflexivity")
MAX_WEEKS = 520
MAX_REMIND = 24 * 60
DEFAULT_REMIND = 30
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class UsageError(ValueError):
    """What was wrong with a command, in words for the person who typed it."""


def _user(word: str) -> str:
    match = _MENTION.match(word)
    if not match:
        raise UsageError(f"“{typed(word)}” is not a person: type @ and pick their name from the list")
    return match.group(1)


def _target(catalog: Catalog, words: list[str], what: str) -> Level | Facilitator:
    text = " ".join(words)
    found = catalog.find(text)
    if found is None:
        levels = ", ".join(level.name for level in catalog.levels)
        raise UsageError(
            f"I don't know the {what} “{typed(text)}”. Try a level ({levels}) or a practice id from `/coprod help`"
        )
    return found


def _extra(words: list[str], usage: str) -> None:
    if words:
        raise UsageError(f"I didn't understand “{typed(' '.join(words))}” at the end. Use: `/coprod {usage}`")


def _int(word: str, what: str, low: int, high: int) -> int:
    number = whole_number(word, what, low, high)
    if isinstance(number, str):
        raise UsageError(number)
    return number


def _schedule_spec(words: list[str], usage: str) -> tuple[str, int, int]:
    if len(words) < 3:
        raise UsageError(f"I need how often, a day and a time. Use: `/coprod {usage}`")
    try:
        cadence = parse_cadence(words[0])
        day = parse_day(words[1])
        minute = parse_time(words[2])
    except ScheduleError as exc:
        raise UsageError(f"{exc}. Use: `/coprod {usage}`") from None
    _extra(words[3:], usage)
    return cadence, day, minute


def parse(text: str, catalog: Catalog, *, today: date) -> Command:
    """Parse the text after `/coprod`. ``today`` (a local date) anchors fortnightly schedules."""
    words = text.split()
    if not words:
        return Help()
    verb, rest = words[0].lower(), words[1:]
    if verb in ("help", "?"):
        return Help()
    if verb in ("checkin", "check-in"):
        return CheckinNow(_target(catalog, rest, "level or practice") if rest else None)
    if verb == "summary":
        if [w.lower() for w in rest] in (["picture"], ["pic"], ["chart"]):
            return ShowPicture()
        return _summary(rest, catalog)
    if verb == "report":
        return _report(rest, today)
    if verb == "schedule":
        usage = "schedule checkins|summary|reflexivity weekly|fortnightly|monthly <day> <HH:MM>  (or … off)"
        if not rest or rest[0].lower() not in SCHEDULE_KINDS:
            got = f"“{typed(rest[0])}” is not something I can schedule. " if rest else ""
            raise UsageError(f"{got}Use: `/coprod {usage}`")
        kind = rest[0].lower()
        if len(rest) == 2 and rest[1].lower() == "off":
            return StopSchedule(kind)
        cadence, day, minute = _schedule_spec(rest[1:], usage)
        return SetSchedule(kind, Spec(cadence, day, minute, today))
    if verb == "meeting":
        return _meeting(rest)
    if verb == "met":
        _extra(rest, "met")
        return LogMeeting()
    if verb in ("coordinators", "coordinator"):
        usage = "coordinators add|remove @name"
        if len(rest) < 2 or rest[0].lower() not in ("add", "remove"):
            raise UsageError(f"Use: `/coprod {usage}`")
        _extra(rest[2:], usage)
        return ChangeCoordinator(rest[0].lower() == "add", _user(rest[1]))
    if verb == "role":
        usage = "role @name <role>"
        if len(rest) < 2:
            raise UsageError(f"Use: `/coprod {usage}` where the role is one of: {', '.join(ROLES)}")
        role = _ROLE_WORDS.get(" ".join(rest[1:]).lower())
        user = _user(rest[0])
        if role is None:
            raise UsageError(f"“{typed(' '.join(rest[1:]))}” is not a role I know. Pick one of: {', '.join(ROLES)}")
        return SetRole(user, role)
    if verb in ("next", "pin"):
        if not rest:
            raise UsageError("Tell me which level or practice to ask about next. Use: `/coprod next <level>`")
        return PinNext(_target(catalog, rest, "level or practice"))
    if verb in ("timezone", "tz"):
        if len(rest) != 1 or not valid_timezone(rest[0]):
            raise UsageError(timezone_refused(" ".join(rest)))
        return SetTimezone(rest[0])
    if verb == "size":
        word = " ".join(rest).lower()
        if word in ("small", "large"):
            return SetSize(word)
        if word in ("off", "unset", "not set"):
            return SetSize(None)
        raise UsageError(f"“{' '.join(rest) or 'nothing'}” is not a size I know. Use: `/coprod size small|large|off`")
    if verb == "retention":
        if len(rest) == 1 and rest[0].lower() == "off":
            return SetRetention(None)
        if len(rest) != 1:
            raise UsageError("Use: `/coprod retention <months>` or `/coprod retention off`")
        return SetRetention(_int(rest[0], "months", 1, 120))
    if verb == "export":
        _extra(rest, "export")
        return Export()
    if verb in ("forget-me", "forgetme", "forget"):
        _extra(rest, "forget-me")
        return ForgetMe()
    try:
        involvement = involvement_grammar.parse(verb, rest, today=today)
    except involvement_grammar.InvolvementUsageError as exc:
        raise UsageError(str(exc)) from None
    if involvement is not None:
        return involvement
    try:
        loop = loop_grammar.parse(verb, rest, today=today)
    except loop_grammar.LoopUsageError as exc:
        raise UsageError(str(exc)) from None
    if loop is not None:
        return loop
    raise UsageError(f"I don't know “{typed(words[0])}”. Try `/coprod help` to see what I can do")


def _report(rest: list[str], today: date) -> Report:
    usage = "Use: `/coprod report` or `/coprod report since 2026-01-01`"
    if not rest:
        return Report()
    if len(rest) != 2 or rest[0].lower() != "since":
        raise UsageError(usage)
    try:
        since = date.fromisoformat(rest[1])
    except ValueError:
        raise UsageError(f"“{typed(rest[1])}” is not a date I can read. {usage}") from None
    if since >= today:
        raise UsageError(f"“{rest[1]}” is not before today. {usage}")
    return Report(since)


def _summary(rest: list[str], catalog: Catalog) -> ShowSummary:
    weeks = None
    words = list(rest)
    if "weeks" in [w.lower() for w in words]:
        i = [w.lower() for w in words].index("weeks")
        if i + 1 >= len(words):
            raise UsageError("Say how many weeks, for example `/coprod summary weeks 12`")
        weeks = _int(words[i + 1], "weeks", 1, MAX_WEEKS)
        del words[i : i + 2]
    level = None
    if words:
        found = catalog.find_level(" ".join(words))
        if found is None:
            levels = ", ".join(level.name for level in catalog.levels)
            raise UsageError(f"I don't know the level “{typed(' '.join(words))}”. Pick one of: {levels}")
        level = found
    return ShowSummary(level, weeks)


def _meeting(rest: list[str]) -> SetMeeting | StopMeeting:
    usage = (
        "meeting every <day> <HH:MM> [remind <minutes>]  (or meeting fortnightly|monthly <day> <HH:MM>, or meeting off)"
    )
    if len(rest) == 1 and rest[0].lower() == "off":
        return StopMeeting()
    cadence = "weekly"
    if rest and rest[0].lower() in ("weekly", "fortnightly", "biweekly", "monthly"):
        cadence = parse_cadence(rest[0])
    elif not rest or rest[0].lower() != "every":
        raise UsageError(f"Use: `/coprod {usage}`")
    if len(rest) < 3:
        raise UsageError(f"Use: `/coprod {usage}`")
    try:
        day = parse_day(rest[1])
        minute = parse_time(rest[2])
    except ScheduleError as exc:
        raise UsageError(f"{exc}. Use: `/coprod {usage}`") from None
    remind = DEFAULT_REMIND
    tail = rest[3:]
    if tail:
        if tail[0].lower() != "remind" or len(tail) < 2:
            raise UsageError(f"I didn't understand “{typed(' '.join(tail))}”. Use: `/coprod {usage}`")
        remind = _int(tail[1], "minutes", 0, MAX_REMIND)
        _extra(tail[2:], usage)
    return SetMeeting(day, minute, remind, cadence)


__all__ = ["UsageError", "parse"]
