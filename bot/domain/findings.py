"""What a co-production lead most needs to see, beyond each level's mean. Pure.

Practices not asked for a long time: every practice should come round (bot/domain/rotation.py), so one not asked
for six months is named, and a practice about sharing power (tagged ``power`` in the catalog) is flagged
after three, because those are the ones a team most easily lets slide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.domain.catalog import Facilitator

GAP = timedelta(days=182)  # six months
POWER_GAP = timedelta(days=91)  # three months


@dataclass(frozen=True)
class Gap:
    """A practice not asked about for a long time."""

    facilitator: Facilitator
    last_asked: datetime | None  # None: never asked
    power: bool  # a power-sharing practice, flagged after three months rather than six


def gaps(practices: Sequence[Facilitator], asked_at: Mapping[str, int], now: datetime) -> tuple[Gap, ...]:
    """Practices not asked for six months (three for ``power`` ones), oldest first.

    A practice never asked counts only once the team has been asking for that long (its first check-in is
    older than the gap): a new team hasn't had time to reach every practice."""
    if not asked_at:
        return ()
    started = min(asked_at.values())
    found = []
    for fac in practices:
        power = "power" in fac.tags
        limit = now - (POWER_GAP if power else GAP)
        when = asked_at.get(fac.id)
        last = datetime.fromtimestamp(when, now.tzinfo) if when is not None else None
        if (last if last is not None else datetime.fromtimestamp(started, now.tzinfo)) <= limit:
            found.append(Gap(fac, last, power))
    return tuple(sorted(found, key=lambda g: (g.last_asked is not None, g.last_asked or now)))


def gap_line(gap: Gap) -> str:
    """ "not asked since 3 Mar" or "never asked yet", plus why a power-sharing practice is flagged sooner."""
    when = f"not asked since {gap.last_asked:%-d %b %Y}" if gap.last_asked else "never asked yet"
    if gap.power:
        return f"{when}: it's about sharing power, so we look for it at least every three months"
    return f"{when}: every practice should come round at least every six months"


# ---- partners and professionals -----------------------------------------------------------------

# Public partners: the people the research is for and with. Everyone else with a role is a professional.
PARTNER_ROLES = ("service user/patient", "carer", "public", "community member")  # as `/coprod role` records them
DISAGREE = 1.0  # a gap of a whole point or more between the sides' means is a finding


class SideFacts(Protocol):
    """What is read of one practice's named answers from one side (the store's SideRatings)."""

    @property
    def level_id(self) -> str: ...
    @property
    def facilitator_id(self) -> str: ...
    @property
    def partner(self) -> bool: ...
    @property
    def answers(self) -> int: ...
    @property
    def total(self) -> int: ...


@dataclass(frozen=True)
class Disagreement:
    """Partners and professionals rate a level or a practice a point or more apart: shown as a band only."""

    level_id: str
    facilitator: Facilitator | None  # None: the level as a whole
    partners_lower: bool
    band: int  # the gap is at least ``band`` and less than ``band + 1`` points

    def words(self) -> str:
        """ "partners rate this lower than professionals by 1 to 2 points": never either side's mean."""
        how = "lower" if self.partners_lower else "higher"
        return f"partners rate this {how} than professionals by {self.band} to {self.band + 1} points"


def disagreements(
    practices: Sequence[Facilitator], sides: Iterable[SideFacts], *, k: int, level_id: str | None = None
) -> tuple[Disagreement, ...]:
    """Levels, then practices, whose partners' and professionals' means differ by a point or more.

    Said only when each side gave k or more answers pooled over the window's closed groups, and the rest of
    those answers (the other side) is not smaller than k either: otherwise nothing is said, since a side of
    one or two would give its members' ratings away. Only the band of whole points is told, never a mean."""
    known = {f.id: f for f in practices}
    # (level id, None) for a level, (level id, practice) for a practice -> [partner n, total, other n, total]
    pooled: dict[tuple[str, Facilitator | None], list[int]] = {}
    for side in sides:
        fac = known.get(side.facilitator_id)
        if fac is None or (level_id is not None and side.level_id != level_id):
            continue
        at = 0 if side.partner else 2
        for key in ((side.level_id, None), (side.level_id, fac)):
            bucket = pooled.setdefault(key, [0, 0, 0, 0])
            bucket[at] += side.answers
            bucket[at + 1] += side.total
    found = []
    for (level, fac), (pn, pt, qn, qt) in pooled.items():
        if pn < k or qn < k or (fac is not None and pooled[(level, None)] == [pn, pt, qn, qt]):
            continue  # too few on a side; or a practice that is all its level had (the level says it)
        gap = pt / pn - qt / qn
        if abs(gap) >= DISAGREE:
            found.append(Disagreement(level, fac, gap < 0, min(int(abs(gap)), 3)))
    return tuple(found)


# ---- falls --------------------------------------------------------------------------------------

FALL = 0.75  # a practice rated this much lower than when it was last asked is flagged, with both figures


class MeanFacts(Protocol):
    """One closed check-in's mean (the store's PracticeMean)."""

    @property
    def facilitator_id(self) -> str: ...
    @property
    def asked_at(self) -> int: ...
    @property
    def mean(self) -> float: ...


@dataclass(frozen=True)
class Fall:
    facilitator: Facilitator
    before: float
    before_at: datetime
    now: float
    now_at: datetime


def falls(practices: Sequence[Facilitator], means: Iterable[MeanFacts], *, since: int) -> tuple[Fall, ...]:
    """Practices whose latest closed check-in (asked since ``since``) is 0.75 or more below the one before it.

    Both are whole closed groups of k or more, each already shown by a summary cut either side of it."""
    known = {f.id: f for f in practices}
    last_two: dict[str, list[MeanFacts]] = {}
    for m in sorted(means, key=lambda m: m.asked_at):
        if m.facilitator_id in known:
            last_two[m.facilitator_id] = [*last_two.get(m.facilitator_id, [])[-1:], m]
    found = []
    for fac_id, pair in last_two.items():
        if len(pair) == 2 and pair[1].asked_at >= since and pair[0].mean - pair[1].mean >= FALL:
            found.append(
                Fall(
                    known[fac_id],
                    pair[0].mean,
                    datetime.fromtimestamp(pair[0].asked_at, UTC),
                    pair[1].mean,
                    datetime.fromtimestamp(pair[1].asked_at, UTC),
                )
            )
    return tuple(found)


def fall_words(fall: Fall, tz: tzinfo) -> str:
    """ "4.0 when asked on 3 Mar, 3.0 on 7 Apr": both figures, each a closed group's mean."""
    return (
        f"{fall.before:.1f} of 5 when asked on {fall.before_at.astimezone(tz):%-d %b}, "
        f"{fall.now:.1f} of 5 on {fall.now_at.astimezone(tz):%-d %b}"
    )


# ---- not sure yet -----------------------------------------------------------------------------------


def to_explain(practices: Sequence[Facilitator], not_sure: Mapping[str, tuple[int, int]]) -> tuple[Facilitator, ...]:
    """Practices most people answered "Not sure yet" about (more than half, over closed groups of k or more):
    ones to explain to the team, since people can't rate what they haven't seen yet."""
    return tuple(f for f in practices if f.id in not_sure and 2 * not_sure[f.id][1] > not_sure[f.id][0])
