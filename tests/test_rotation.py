"""Which facilitator comes next: level least recently covered, then facilitator least recently asked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import rotation
from bot.domain.catalog import Catalog, load_catalog
from tests.support.constants import TEAM
from tests.support.flows import ask, post_checkin

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


def test_thirty_picks_from_a_fresh_start_ask_every_practice_moving_between_levels() -> None:
    """A new team's first 30 check-ins ask all 30 practices once; the first five visit all five levels."""
    picks = run({}, 30, T0)
    assert sorted(picks) == sorted(FACILITATORS) and len(FACILITATORS) == 30
    first = [CATALOG.facilitator(fid).level_id for fid in picks[:5]]
    assert first == LEVELS


def test_the_power_sharing_practices_come_round_within_thirty() -> None:
    """The practices central to co-production are no longer left waiting a year (issue 23, rule 1)."""
    picks = run({}, 30, T0)
    assert {"shared-ownership", "shared-data-analysis", "power-imbalances", "others-lead"} <= set(picks)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_rotation_is_deterministic(history: dict[str, tuple[str, int]]) -> None:
    """The same history (in any insertion order) gives the same answer."""
    again = dict(reversed(list(history.items())))
    assert rotation.next_facilitator(CATALOG, history) == rotation.next_facilitator(CATALOG, again)


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(min_value=0, max_value=40))
def test_any_thirty_consecutive_picks_ask_all_thirty_practices(history: dict[str, tuple[str, int]], skip: int) -> None:
    """Whatever came before, any 30 check-ins in a row (nobody pinning one) ask every practice once."""
    picks = run(history, skip + 30, T0)[skip:]
    assert sorted(picks) == sorted(FACILITATORS)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_pick_is_a_least_recently_asked_practice(history: dict[str, tuple[str, int]]) -> None:
    """No practice was asked less recently than the one picked; never asked beats any asked."""
    pick = rotation.next_facilitator(CATALOG, history)
    if pick.id in history:
        assert all(fid in history and history[fid][1] >= history[pick.id][1] for fid in FACILITATORS)


@settings(max_examples=100, deadline=None)
@given(histories)
def test_among_never_asked_practices_the_least_recently_covered_level_goes_first(
    history: dict[str, tuple[str, int]],
) -> None:
    """Level balance breaks ties: of the practices never asked, one from the level least recently covered."""
    pick = rotation.next_facilitator(CATALOG, history)
    never = {CATALOG.facilitator(fid).level_id for fid in FACILITATORS if fid not in history}
    if never:
        need = rotation.levels_by_need(CATALOG, history)
        assert pick.level_id == min(never, key=need.index)


@settings(max_examples=100, deadline=None)
@given(histories, st.sampled_from(["small", "large"]))
def test_with_a_size_any_29_consecutive_picks_ask_every_practice_in_play(
    history: dict[str, tuple[str, int]], size: str
) -> None:
    """With a size set, any 29 check-ins in a row ask each of the 29 practices that size is asked about."""
    picks = []
    history = dict(history)
    for i in range(29 * 2):
        fac = rotation.next_facilitator(CATALOG, history, size=size)
        history[fac.id] = (fac.level_id, T0 + 60 * (i + 1))
        picks.append(fac.id)
    in_play = sorted(f.id for f in rotation.in_play(CATALOG, size))
    assert len(in_play) == 29 and sorted(picks[29:]) == in_play


@pytest.mark.parametrize("size, left_out", [("small", "roles-and-structure"), ("large", "flexible-relationships")])
def test_a_partnership_size_asks_the_practice_the_paper_names_for_it(size: str, left_out: str) -> None:
    """Defined roles for large projects, fluid ones for small: 29 picks ask every practice but the other one."""
    history: dict[str, tuple[str, int]] = {}
    picks = []
    for i in range(29 * 2):
        fac = rotation.next_facilitator(CATALOG, history, size=size)
        history[fac.id] = (fac.level_id, T0 + i)
        picks.append(fac.id)
    assert left_out not in picks
    assert sorted(picks[:29]) == sorted(picks[29:]) == sorted(set(FACILITATORS) - {left_out})


def test_without_a_size_both_role_practices_are_asked() -> None:
    """Until a coordinator says how big the partnership is, both of the paper's role practices are asked."""
    picks = run({}, 30, T0)
    assert {"roles-and-structure", "flexible-relationships"} <= set(picks)


def test_thirty_checkin_commands_in_a_row_ask_all_thirty_practices(bot) -> None:
    """`/coprod checkin` typed 30 times (unanswered, all in the same second of coprod's clock) asks each practice
    once. Slack's clock for its limits moves a second per check-in (one post a second in a channel), so no post
    waits out a 429 in real time.

    On the old rotation 12 in a row asked appreciative-facilitation twice and circled the Individual level."""
    slacks_time = [1000.0]
    bot.stub.api.limits.clock = lambda: slacks_time[0]
    asked = []
    for _ in range(30):
        asked.append(bot.store.checkins.checkin(TEAM, post_checkin(bot).id))
        slacks_time[0] += 1.0
    practices = [c.facilitator_id for c in asked if c is not None]
    assert sorted(practices) == sorted(FACILITATORS)


def test_through_slack_a_small_partnership_is_asked_about_fluid_roles_not_defined_ones(bot) -> None:
    """`/coprod size small`: nine Group check-ins in a row ask its nine other practices, never defined roles;
    a size coprod doesn't know gets a clear message."""
    assert "not a size I know" in ask(bot, "size medium")["text"]
    assert "small partnership" in ask(bot, "size small")["text"]
    asked = {bot.store.checkins.checkin(TEAM, post_checkin(bot, "group").id).facilitator_id for _ in range(9)}
    assert "roles-and-structure" not in asked and "flexible-relationships" in asked and len(asked) == 9
