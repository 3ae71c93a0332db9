"""The coverage grid: each level's practice over time, period by period, as the picture and the report show it.
Pure: the store's facts in, a grid and its words out.

A cell is a level in one period (a week, a month, a quarter or a year: as many as fit). It shows the
mean of the closed check-ins of that level asked in that period that k or more people answered: whole
closed groups, as every mean coprod shows (bot/domain/anonymity.py). A level asked in the period without such
a group is "asked, too few answers to show"; otherwise "not asked".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog, Level

RATED, FEW, NOT_ASKED = "rated", "few", "not asked"
STATE_WORDS = {FEW: "asked, too few answers to show", NOT_ASKED: "not asked"}
ALT_MAX = 1900  # Slack's image alt text holds 2,000 characters


class Asked(Protocol):
    """What the grid reads of one check-in (the store's AskedFacts)."""

    @property
    def level_id(self) -> str: ...
    @property
    def asked_at(self) -> int: ...
    @property
    def answers(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    @property
    def rated(self) -> int: ...


@dataclass(frozen=True)
class Period:
    start: date  # local, inclusive
    end: date  # local, exclusive
    label: str  # "Sep", "14 Sep", "Q3 2026"


@dataclass(frozen=True)
class Cell:
    state: str  # RATED, FEW or NOT_ASKED
    checkins: int = 0
    mean: float | None = None  # RATED only


@dataclass(frozen=True)
class Grid:
    title: str
    unit: str  # "week", "month", "quarter" or "year"
    levels: tuple[Level, ...]
    periods: tuple[Period, ...]
    cells: Mapping[tuple[str, int], Cell]  # (level id, period index) -> cell
    marks: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # "Meetings held" -> count per period

    def cell(self, level_id: str, index: int) -> Cell:
        return self.cells[(level_id, index)]


def unit_for(start: date, end: date) -> str:
    days = (end - start).days
    if days <= 16 * 7:
        return "week"
    return "month" if days <= 731 else "quarter" if days <= 3653 else "year"


def periods(start: date, end: date, unit: str) -> tuple[Period, ...]:
    """Periods covering [start, end), aligned to Mondays, months or quarters."""
    out = []
    if unit == "week":
        at = start - timedelta(days=start.weekday())
        while at < end:
            out.append(Period(at, at + timedelta(days=7), f"{at.day} {at:%b}"))
            at += timedelta(days=7)
        return tuple(out)
    step = {"month": 1, "quarter": 3, "year": 12}[unit]
    month = {"month": start.month, "quarter": 1 + 3 * ((start.month - 1) // 3), "year": 1}[unit]
    at = date(start.year, month, 1)
    while at < end:
        following = date(at.year + (at.month - 1 + step) // 12, (at.month - 1 + step) % 12 + 1, 1)
        label = {"month": f"{at:%b}", "quarter": f"Q{(at.month - 1) // 3 + 1}", "year": ""}[unit]
        if unit != "month" or at.month == 1 or not out:
            label = f"{label} {at.year}".strip()
        out.append(Period(at, following, label))
        at = following
    return tuple(out)


def build(
    catalog: Catalog,
    asked: Iterable[Asked],
    *,
    start: datetime,
    end: datetime,
    timezone: str,
    marks: Mapping[str, Sequence[int]] = {},  # noqa: B006 - read only
) -> Grid:
    """The grid for [start, end) in the partnership's timezone; ``marks`` are times of events to count per
    period along the time axis (meetings held, actions done)."""
    tz = ZoneInfo(timezone)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date() + timedelta(days=1)
    unit = unit_for(first, last)
    spans = periods(first, last, unit)

    def index(ts: int) -> int | None:
        day = datetime.fromtimestamp(ts, tz).date()
        for i, p in enumerate(spans):
            if p.start <= day < p.end:
                return i
        return None

    counts: dict[tuple[str, int], list[int]] = {}  # -> [check-ins, answers in rated groups, their total]
    for a in asked:
        i = index(a.asked_at)
        if i is None:
            continue
        c = counts.setdefault((a.level_id, i), [0, 0, 0])
        c[0] += 1
        if a.total is not None:
            c[1] += a.rated  # "not sure yet" takes part but is in no mean
            c[2] += a.total
    cells = {}
    for level in catalog.levels:
        for i in range(len(spans)):
            n, answers, total = counts.get((level.id, i), [0, 0, 0])
            if answers:
                cells[(level.id, i)] = Cell(RATED, n, total / answers)
            elif n:
                cells[(level.id, i)] = Cell(FEW, n)
            else:
                cells[(level.id, i)] = Cell(NOT_ASKED)
    counted = {}
    for label, times in marks.items():
        per = [0] * len(spans)
        for ts in times:
            i = index(ts)
            if i is not None:
                per[i] += 1
        counted[label] = tuple(per)
    title = f"How we looked after each level, {_day(start, tz)} to {_day(end, tz)}"
    return Grid(title, unit, tuple(catalog.levels), spans, cells, counted)


def _day(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%-d %b %Y}"


def alt_text(grid: Grid) -> str:
    """The picture in words: for each level, what each period showed; then the marks. Shortened to a
    count per state when the full words would not fit Slack's alt text."""
    unit = grid.unit
    full = [f"{grid.title}, by {unit}. Ratings are averages of 1 (not at all) to 5 (very much)."]
    short = list(full)
    for level in grid.levels:
        cells = [grid.cell(level.id, i) for i in range(len(grid.periods))]
        parts = [
            f"{p.label} {format_mean(c.mean)}"
            if c.state == RATED and c.mean is not None
            else f"{p.label} {STATE_WORDS[c.state]}"
            for p, c in zip(grid.periods, cells, strict=True)
        ]
        full.append(f"{level.name} ({level.scale}): " + "; ".join(parts) + ".")
        rated = [c.mean for c in cells if c.state == RATED and c.mean is not None]
        few = sum(c.state == FEW for c in cells)
        words = [f"rated in {len(rated)} of {len(cells)} {unit}s"]
        if rated:
            words[0] += f", from {format_mean(min(rated))} to {format_mean(max(rated))}"
        if few:
            words.append(f"asked with too few answers to show in {few}")
        words.append(f"not asked in {len(cells) - len(rated) - few}")
        short.append(f"{level.name} ({level.scale}): " + "; ".join(words) + ".")
    for label, per in grid.marks.items():
        line = f"{label}: {sum(per)}."
        full.append(line)
        short.append(line)
    text = " ".join(full)
    return text if len(text) <= ALT_MAX else " ".join(short)[:ALT_MAX]


def format_mean(mean: float) -> str:
    return f"{mean:.1f}"


def utc(day: date, timezone: str) -> datetime:
    """Local midnight at the start of ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
