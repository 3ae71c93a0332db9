"""What each `/coprod` command is, as data; which are coordinators' only; the help's examples. Pure.

The grammar that reads them from what people type is ``bot.domain.command_grammar``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.catalog import Facilitator, Level
from bot.domain.involvement_grammar import (
    ChoosePayment,
    ExportLedger,
    FixLine,
    LogWork,
    MarkPaid,
    RecordChange,
    SetRate,
    SetReportText,
    ShowLedger,
)
from bot.domain.loop_grammar import ListActions, Pause, Resume, SetNudge
from bot.domain.schedule import Spec

# Public partners (service user/patient, carer, public, community member) and professionals (the rest) are the
# two sides the summary compares (bot/domain/findings.py).
ROLES = (
    "researcher",
    "practitioner",
    "service user/patient",
    "carer",
    "public",
    "community member",
    "policy-maker",
    "manager",
    "other",
)

EXAMPLES = (
    ("help", "this list"),
    ("checkin", "ask the team about the next practice now"),
    ("checkin organisational", "ask about a level, or a practice by its id"),
    ("summary", "how are we doing? (only you see it)"),
    ("summary group weeks 12", "one level, over the last 12 weeks"),
    ("summary picture", "a picture of the last six months, sent to you privately"),
    ("schedule checkins weekly Tuesday 10:00", "a check-in every Tuesday at 10:00"),
    ("schedule summary monthly Friday 15:00", "a summary on the first Friday of each month"),
    ("schedule reflexivity fortnightly Monday 09:30", "a private reflection prompt for each member"),
    ("schedule checkins off", "stop scheduled check-ins"),
    ("meeting every Wednesday 14:00 remind 30", "remind the channel 30 minutes before your meeting"),
    ("meeting monthly Wednesday 14:00", "a team that meets on the first Wednesday of each month"),
    ("meeting off", "stop meeting reminders"),
    ("met", "tell me the team met today (or press “We met” on a reminder)"),
    ("next power-imbalances", "choose what the next scheduled check-in asks about"),
    ("coordinators add @name", "let someone else change settings (or remove)"),
    ("role @name carer", "record someone's role: " + ", ".join(ROLES)),
    ("timezone Europe/London", "the partnership's timezone"),
    ("size small", "a small partnership: asks about flexible roles, not defined ones (size large, or size off)"),
    ("retention 24", "delete comments older than 24 months (or retention off)"),
    ("export", "download every answer as a file (coordinators)"),
    ("report since 2026-01-01", "a report for funders (GRIPP2), sent to you as a file (coordinators)"),
    ("actions", "what we said we'd do, with Done and Drop (plan one with “Plan something” on a summary)"),
    ("nudge 48", "remind people who haven't answered a check-in after 48 hours, once, privately (or nudge off)"),
    ("pause until 2027-01-04", "pause every scheduled post for a holiday"),
    ("resume", "end a holiday pause now"),
    ("log 2h reviewed the participant leaflet", "log work you did for the study (hours and what)"),
    ("ledger", "your own involvement: hours, what you did, owed and paid (only you see it)"),
    ("payment voucher", "how you want to be paid: paid, voucher or none (private to you and coordinators)"),
    ("payment rate 25 GBP per hour", "the rate card, per activity if you like (coordinators)"),
    ("payment made @name", "mark someone's lines paid (coordinators)"),
    ("ledger export", "everyone's involvement as a file for finance (coordinators)"),
    ("changed", "record “you said, we changed” for a comment or a flagged level (coordinators)"),
    ("aim To shape the study with carers", "the aim of involvement, for the report (and `title …`) (coordinators)"),
    ("forget-me", "erase your own answers and settings"),
)


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class CheckinNow:
    target: Level | Facilitator | None = None


@dataclass(frozen=True)
class ShowSummary:
    level: Level | None = None
    weeks: int | None = None


@dataclass(frozen=True)
class ShowPicture:
    pass


@dataclass(frozen=True)
class Report:
    since: date | None = None


@dataclass(frozen=True)
class SetSchedule:
    kind: str
    spec: Spec


@dataclass(frozen=True)
class StopSchedule:
    kind: str


@dataclass(frozen=True)
class SetMeeting:
    weekday: int
    at_minute: int
    remind_minutes: int
    cadence: str = "weekly"  # how often the team meets: the summary's "no meeting logged" follows it


@dataclass(frozen=True)
class StopMeeting:
    pass


@dataclass(frozen=True)
class LogMeeting:
    pass


@dataclass(frozen=True)
class ChangeCoordinator:
    add: bool
    user: str


@dataclass(frozen=True)
class SetRole:
    user: str
    role: str


@dataclass(frozen=True)
class PinNext:
    target: Level | Facilitator


@dataclass(frozen=True)
class SetTimezone:
    timezone: str


@dataclass(frozen=True)
class SetSize:
    size: str | None  # "small", "large", or None: not set (both role practices are asked)


@dataclass(frozen=True)
class SetRetention:
    months: int | None


@dataclass(frozen=True)
class Export:
    pass


@dataclass(frozen=True)
class ForgetMe:
    pass


Command = (
    Help
    | CheckinNow
    | ShowSummary
    | ShowPicture
    | Report
    | SetSchedule
    | StopSchedule
    | SetMeeting
    | StopMeeting
    | LogMeeting
    | ChangeCoordinator
    | SetRole
    | PinNext
    | SetTimezone
    | SetSize
    | SetRetention
    | Export
    | ForgetMe
    | ListActions
    | SetNudge
    | Pause
    | Resume
    | LogWork
    | SetRate
    | ChoosePayment
    | MarkPaid
    | ShowLedger
    | ExportLedger
    | FixLine
    | SetReportText
    | RecordChange
)

# Commands that change settings or read everyone's answers: coordinators only, and what a refusal
# says the person can't do.
COORDINATOR_ONLY = {
    SetSchedule: "change schedules",
    StopSchedule: "change schedules",
    SetMeeting: "set meeting reminders",
    StopMeeting: "set meeting reminders",
    ChangeCoordinator: "change who the coordinators are",
    SetRole: "record people's roles",
    PinNext: "choose the next check-in",
    SetTimezone: "change the timezone",
    SetSize: "set the partnership's size",
    SetRetention: "change how long comments are kept",
    Export: "export the answers",
    Report: "make the report for funders",
    SetNudge: "change reminders to people who haven't answered",
    Pause: "pause coprod for a holiday",
    Resume: "end a holiday pause",
    SetRate: "set the rate card",
    MarkPaid: "mark payments made",
    ExportLedger: "export everyone's involvement",
    SetReportText: "set the report's aim and title",
    RecordChange: "record what changed",
}


def is_coordinator_only(command: Command) -> bool:
    return type(command) in COORDINATOR_ONLY


def help_lines() -> list[tuple[str, str]]:
    return [(f"/coprod {example}", meaning) for example, meaning in EXAMPLES]


__all__ = ["ROLES", "help_lines", "is_coordinator_only"]
