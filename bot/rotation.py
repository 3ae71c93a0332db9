"""Which facilitator comes next: pure, deterministic, from the partnership's history.

The level least recently covered goes first (a level never covered before all others), then within
it the facilitator least recently asked. Ties go to the catalog's order. A pinned level or
facilitator wins once (the caller clears the pin after posting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.catalog import Catalog, Facilitator

# facilitator id -> (level id, Unix time it was last asked)
History = Mapping[str, tuple[str, int]]

_NEVER = -1


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


def next_in_level(catalog: Catalog, level_id: str, history: History) -> Facilitator:
    """The facilitator of a level asked least recently (never asked first, then catalog order)."""
    return least_recently_asked(catalog.in_level(level_id), history)


def next_facilitator(catalog: Catalog, history: History, pinned: str | None = None) -> Facilitator:
    """The next facilitator to ask about. ``pinned`` is a level or facilitator id, or None."""
    if pinned:
        target = catalog.find(pinned)
        if target is not None:
            if isinstance(target, Facilitator):
                return target
            return next_in_level(catalog, target.id, history)
    return next_in_level(catalog, levels_by_need(catalog, history)[0], history)
