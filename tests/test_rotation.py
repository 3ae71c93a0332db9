"""Which facilitator comes next: level least recently covered, then facilitator least recently asked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import rotation
from bot.catalog import Catalog, load_catalog

CATALOG: Catalog = load_catalog()
LEVELS = [level.id for level in CATALOG.levels]
FACILITATORS = [f.id for f in CATALOG.facilitators]
T0 = 1_700_000_000


def asked(*pairs: tuple[str, int]) -> dict[str, tuple[str, int]]:
    """History from (facilitator id, time) pairs."""
    return {fid: (CATALOG.facilitator(fid).level_id, at) for fid, at in pairs}


def run(history: dict[str, tuple[str, int]], picks: int, start: int) -> list[str]:
    """Pick `picks` times, recording each pick in the history one minute after the last."""
    history = dict(history)
    out = []
    for i in range(picks):
        fac = rotation.next_facilitator(CATALOG, history)
        history[fac.id] = (fac.level_id, start + 60 * (i + 1))
        out.append(fac.id)
    return out


histories = st.dictionaries(
    st.sampled_from(FACILITATORS), st.integers(min_value=T0 - 10**8, max_value=T0), max_size=30
).map(lambda d: {fid: (CATALOG.facilitator(fid).level_id, at) for fid, at in d.items()})


def test_empty_history_starts_with_first_facilitator_of_first_level() -> None:
    """A new partnership is asked about the catalog's first practice."""
    assert rotation.next_facilitator(CATALOG, {}) == CATALOG.in_level(LEVELS[0])[0]


def test_never_covered_levels_come_first_in_catalog_order() -> None:
    """Levels never asked about go before any covered level, in the paper's order."""
    history = asked(("regular-interaction", T0), ("clear-scope", T0 - 999))
    assert rotation.levels_by_need(CATALOG, history) == [
        "group",
        "societal",
        "paradigmatic",
        "organisational",
        "individual",
    ]
    assert rotation.next_facilitator(CATALOG, history).id == CATALOG.in_level("group")[0].id


def test_least_recently_covered_level_is_next_once_all_are_covered() -> None:
    """With every level covered, the one whose last check-in is oldest wins."""
    history = asked(
        ("regular-interaction", T0 + 5),
        ("roles-and-structure", T0 + 4),
        ("clear-scope", T0 + 1),
        ("engaging-formats", T0 + 3),
        ("coproduction-principles", T0 + 2),
        ("bridging-people", T0 + 6),  # organisational again, most recently: now the newest level
    )
    assert rotation.level_last_covered(CATALOG, history)["organisational"] == T0 + 6
    assert rotation.levels_by_need(CATALOG, history)[0] == "paradigmatic"


def test_within_a_level_least_recently_asked_facilitator_is_next() -> None:
    """Never-asked facilitators first (catalog order), then the oldest asked."""
    group = [f.id for f in CATALOG.in_level("group")]
    everyone_but_two = asked(*[(fid, T0 + i) for i, fid in enumerate(group) if fid not in (group[3], group[7])])
    assert rotation.next_in_level(CATALOG, "group", everyone_but_two).id == group[3]
    everyone = asked(*[(fid, T0 + 100 - i) for i, fid in enumerate(group)])
    assert rotation.next_in_level(CATALOG, "group", everyone).id == group[-1]


def test_history_of_facilitators_not_in_the_catalog_is_ignored() -> None:
    """A facilitator or level removed from a custom catalog does not break the rotation."""
    history = {"gone": ("vanished-level", T0), **asked(("regular-interaction", T0))}
    assert rotation.next_facilitator(CATALOG, history).level_id == "group"


@pytest.mark.parametrize(
    "pinned, expected",
    [
        ("power-imbalances", "power-imbalances"),
        ("POWER-IMBALANCES", "power-imbalances"),
        ("societal", "engaging-formats"),
        ("Organisational", "clear-scope"),
        ("no-such-thing", "regular-interaction"),
        ("", "regular-interaction"),
        (None, "regular-interaction"),
    ],
)
def test_pinned_level_or_facilitator_wins(pinned: str | None, expected: str) -> None:
    """A pin beats the rotation; an unknown pin is ignored."""
    assert rotation.next_facilitator(CATALOG, {}, pinned).id == expected


def test_pinned_level_picks_its_least_recently_asked_facilitator() -> None:
    """Pinning a level still rotates within it."""
    history = asked(("engaging-formats", T0), ("decision-makers", T0 - 5))
    assert rotation.next_facilitator(CATALOG, history, "societal").id == "accessible-sharing"


def test_pinned_facilitator_wins_even_when_just_asked() -> None:
    """The coordinator's choice overrides recency."""
    history = asked(("online-tools", T0))
    assert rotation.next_facilitator(CATALOG, history, "online-tools").id == "online-tools"


def test_every_facilitator_is_asked_within_one_cycle_of_the_largest_level() -> None:
    """From a fresh start, every one of the 30 facilitators is asked within 5 x (largest level) picks."""
    largest = max(len(CATALOG.in_level(level)) for level in LEVELS)
    picks = run({}, len(LEVELS) * largest, T0)
    assert set(picks) == set(FACILITATORS)
    assert len(FACILITATORS) == 30


def test_thirty_picks_share_turns_equally_between_levels() -> None:
    """30 picks from a fresh start give each level 6 turns, each level's practices asked in order."""
    picks = run({}, 30, T0)
    levels = [CATALOG.facilitator(fid).level_id for fid in picks]
    assert levels == LEVELS * 6
    for level in LEVELS:
        mine = [fid for fid in picks if CATALOG.facilitator(fid).level_id == level]
        in_order = [f.id for f in CATALOG.in_level(level)]
        assert mine == (in_order * 2)[:6]


@settings(max_examples=150, deadline=None)
@given(histories)
def test_rotation_is_deterministic(history: dict[str, tuple[str, int]]) -> None:
    """The same history (in any insertion order) gives the same answer."""
    again = dict(reversed(list(history.items())))
    assert rotation.next_facilitator(CATALOG, history) == rotation.next_facilitator(CATALOG, again)


@settings(max_examples=100, deadline=None)
@given(histories)
def test_any_five_consecutive_picks_cover_every_level(history: dict[str, tuple[str, int]]) -> None:
    """Whatever the history, each window of 5 consecutive picks asks about all 5 levels once."""
    picks = run(history, 20, T0)
    levels = [CATALOG.facilitator(fid).level_id for fid in picks]
    for i in range(len(levels) - 4):
        assert sorted(levels[i : i + 5]) == sorted(LEVELS)


@settings(max_examples=100, deadline=None)
@given(histories)
def test_pick_is_from_a_least_recently_covered_level(history: dict[str, tuple[str, int]]) -> None:
    """No level was covered less recently than the picked one; never-covered beats any covered."""
    pick = rotation.next_facilitator(CATALOG, history)
    last = rotation.level_last_covered(CATALOG, history)
    mine = last[pick.level_id]
    for other in last.values():
        if mine is not None:
            assert other is not None and other >= mine
    in_level = [fid for fid, (level, _) in history.items() if level == pick.level_id]
    if pick.id in history:
        assert all(history[fid][1] >= history[pick.id][1] for fid in in_level)
        assert len(in_level) == len(CATALOG.in_level(pick.level_id))


@settings(max_examples=60, deadline=None)
@given(histories)
def test_a_level_repeats_a_practice_only_after_asking_all_of_them(history: dict[str, tuple[str, int]]) -> None:
    """Within a level, picks go round every facilitator before repeating one."""
    picks = run(history, 50, T0)
    for level in LEVELS:
        mine = [fid for fid in picks if CATALOG.facilitator(fid).level_id == level]
        size = len(CATALOG.in_level(level))
        for i in range(len(mine) - size + 1):
            assert len(set(mine[i : i + size])) == size
