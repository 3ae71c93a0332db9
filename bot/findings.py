"""What a co-production lead most needs to see, beyond each level's mean. Pure.

Practices not asked for a long time: every practice should come round (bot/rotation.py), so one not asked
for six months is named, and a practice about sharing power (tagged ``power`` in the catalog) is flagged
after three, because those are the ones a team most easily lets slide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.catalog import Facilitator

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
