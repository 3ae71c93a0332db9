"""Which facilitator comes next: pure, deterministic, from the partnership's history.

Every practice gets its turn: the practice asked least recently goes first (never asked before any asked),
so 30 check-ins in a row ask all 30 practices, whichever level they belong to. Ties (practices never asked)
go to the level least recently covered, so a new team's first check-ins move between levels, then to the
catalog's order. A pinned level or facilitator wins once (the caller clears the pin after posting).

The partnership's size (`/coprod size`) leaves out the one practice the paper names for the other size:
defined roles in large projects, fluid ones in small (Beckett et al. 2018, Table 4). Unset, both are asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.catalog import Catalog, Facilitator

# facilitator id -> (level id, when it was last asked). "When" only has to keep the order check-ins were
# asked in: the store gives each check-in's row number, which never ties, even for two asked in one second.
History = Mapping[str, tuple[str, int]]

_NEVER = -1
# The paper's one conditional pair: which practice a partnership of each size leaves out.
SIZES = ("small", "large")
LEFT_OUT_BY_SIZE = {"small": "roles-and-structure", "large": "flexible-relationships"}


def in_play(catalog: Catalog, size: str | None = None) -> tuple[Facilitator, ...]:
    """The practices a partnership of this size is asked about, in catalog order."""
    left_out = LEFT_OUT_BY_SIZE.get(size or "")
    kept = tuple(f for f in catalog.facilitators if f.id != left_out)
    return kept or catalog.facilitators


def level_last_covered(catalog: Catalog, history: History) -> dict[str, int | None]:
    """Level id -> when any of its facilitators was last asked (None: never)."""
    last: dict[str, int | None] = {level.id: None for level in catalog.levels}
    for level_id, asked_at in history.values():
        if level_id in last:
            before = last[level_id]
            last[level_id] = asked_at if before is None else max(before, asked_at)
    return last


def levels_by_need(catalog: Catalog, history: History) -> list[str]:
    """Level ids, least recently covered first."""
    last = level_last_covered(catalog, history)
    order = {level.id: i for i, level in enumerate(catalog.levels)}
    return sorted(last, key=lambda lid: (_NEVER if last[lid] is None else last[lid], order[lid]))


def least_recently_asked(candidates: Sequence[Facilitator], history: History) -> Facilitator:
    """The candidate asked least recently: never asked first, ties to the order given."""
    return min(
        enumerate(candidates), key=lambda pair: (history[pair[1].id][1] if pair[1].id in history else _NEVER, pair[0])
    )[1]


def next_in_level(catalog: Catalog, level_id: str, history: History, size: str | None = None) -> Facilitator:
    """The facilitator of a level asked least recently (never asked first, then catalog order)."""
    kept = {f.id for f in in_play(catalog, size)}
    candidates = [f for f in catalog.in_level(level_id) if f.id in kept] or list(catalog.in_level(level_id))
    return least_recently_asked(candidates, history)


def next_facilitator(
    catalog: Catalog, history: History, pinned: str | None = None, *, size: str | None = None
) -> Facilitator:
    """The next facilitator to ask about. ``pinned`` is a level or facilitator id, or None."""
    if pinned:
        target = catalog.find(pinned)
        if target is not None:
            if isinstance(target, Facilitator):
                return target
            return next_in_level(catalog, target.id, history, size)
    need = {level_id: rank for rank, level_id in enumerate(levels_by_need(catalog, history))}
    candidates = in_play(catalog, size)
    return min(
        enumerate(candidates),
        key=lambda pair: (
            history[pair[1].id][1] if pair[1].id in history else _NEVER,
            need.get(pair[1].level_id, len(need)),
            pair[0],
        ),
    )[1]
