"""The record of involvement, pure: study stages, hours and money in words, what each ledger line is owed, the
ledger's CSV rows and the totals a report shows. Plain data in, plain data out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Line:
    """One line of the ledger: a meeting someone came to, or work they logged."""

    id: int
    user_id: str
    kind: str  # "meeting" or "work"
    done_on: str  # a local date, YYYY-MM-DD
    minutes: int
    stage: str | None
    what: str
    paid_on: str | None


@dataclass(frozen=True)
class Rate:
    activity: str  # "" for every activity, else "meeting", "work" or a study stage
    pence_per_hour: int
    currency: str


@dataclass(frozen=True)
class Change:
    id: int
    changed_on: str
    source: str  # "comment" or "level"
    said: str  # whose input, described without naming anyone
    what_changed: str
    difference: str


STAGES = ("design", "set-up", "data collection", "analysis", "writing", "sharing")
CHOICE_WORDS = {"paid": "paid", "voucher": "a voucher", "none": "not paid (by choice)"}
UNPAID_AFTER = timedelta(days=30)  # a line still unpaid this long after it is shown to coordinators
_DURATION = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)(h|hr|hrs|hours?|m|min|mins|minutes?)$", re.IGNORECASE)
MAX_MINUTES = 24 * 60


class DurationError(ValueError):
    pass


def parse_duration(word: str) -> int:
    """``2h``, ``1.5h``, ``90m`` → minutes; DurationError naming what was wrong."""
    match = _DURATION.match(word.strip())
    if not match:
        raise DurationError(f"“{word}” is not a length of time I can read: write it like 2h, 1.5h or 90m")
    amount, unit = float(match.group(1)), match.group(2).lower()
    minutes = round(amount * 60) if unit.startswith("h") else round(amount)
    if not 0 < minutes <= MAX_MINUTES:
        raise DurationError(f"“{word}” should be more than nothing and at most 24 hours")
    return minutes


def hours_text(minutes: int) -> str:
    hours = minutes / 60
    shown = f"{hours:.2f}".rstrip("0").rstrip(".")
    return f"{shown} {'hour' if hours == 1 else 'hours'}"


def money_text(pence: int, currency: str) -> str:
    return f"{pence / 100:,.2f} {currency}"


def rate_for(line: Line, rates: Sequence[Rate]) -> Rate | None:
    """The rate that applies: the line's stage's own, else its kind's (meeting or work), else the general one."""
    by = {r.activity: r for r in rates}
    for activity in (line.stage or "", line.kind, ""):
        if activity and activity in by:
            return by[activity]
    return by.get("")


def owed_pence(line: Line, rates: Sequence[Rate], choice: str | None) -> int:
    """What a line is worth to its person: nothing when they chose not to be paid or no rate is set."""
    rate = rate_for(line, rates)
    if rate is None or choice == "none":
        return 0
    return round(rate.pence_per_hour * line.minutes / 60)


def overdue(lines: Iterable[Line], rates: Sequence[Rate], choices: Mapping[str, str], today: date) -> int:
    """How many lines are owed something and still unpaid more than 30 days after they happened."""
    cutoff = (today - UNPAID_AFTER).isoformat()
    return sum(
        1
        for line in lines
        if line.paid_on is None and line.done_on < cutoff and owed_pence(line, rates, choices.get(line.user_id)) > 0
    )


LEDGER_FIELDS = ("name", "slack_id", "date", "kind", "stage", "hours", "what", "choice", "owed", "currency", "paid_on")


@dataclass(frozen=True)
class Totals:
    people: int
    minutes_by_stage: dict[str, int]
    minutes_by_group: dict[str, int]
    owed: dict[str, int]  # currency -> pence
    paid: dict[str, int]


def ledger_rows(
    lines: Iterable[Line], rates: Sequence[Rate], choices: Mapping[str, str], names: Mapping[str, str]
) -> list[dict]:
    """The partnership's ledger for finance: one row per line, with its person's name (payment needs it)."""
    rows = []
    for line in lines:
        choice = choices.get(line.user_id, "paid")
        rate = rate_for(line, rates)
        rows.append(
            {
                "name": names.get(line.user_id, line.user_id),
                "slack_id": line.user_id,
                "date": line.done_on,
                "kind": line.kind,
                "stage": line.stage or "",
                "hours": f"{line.minutes / 60:.2f}",
                "what": line.what,
                "choice": choice,
                "owed": f"{owed_pence(line, rates, choice) / 100:.2f}",
                "currency": rate.currency if rate else "",
                "paid_on": line.paid_on or "",
            }
        )
    return rows


def totals(
    lines: Iterable[Line], rates: Sequence[Rate], choices: Mapping[str, str], roles: Mapping[str, str]
) -> Totals:
    """Hours by stage and by role group, and what was owed and paid, for the report (no names)."""
    people: set[str] = set()
    by_stage: dict[str, int] = {}
    by_group: dict[str, int] = {}
    owed: dict[str, int] = {}
    paid: dict[str, int] = {}
    for line in lines:
        people.add(line.user_id)
        stage = line.stage or "no stage given"
        by_stage[stage] = by_stage.get(stage, 0) + line.minutes
        group = roles.get(line.user_id, "role not recorded")
        by_group[group] = by_group.get(group, 0) + line.minutes
        pence = owed_pence(line, rates, choices.get(line.user_id))
        rate = rate_for(line, rates)
        if pence and rate:
            owed[rate.currency] = owed.get(rate.currency, 0) + pence
            if line.paid_on:
                paid[rate.currency] = paid.get(rate.currency, 0) + pence
    return Totals(len(people), by_stage, by_group, owed, paid)
