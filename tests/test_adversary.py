"""Issue 22: a randomized adversary. Teams of 3 to 8, any mix of named and anonymous answers and roles,
edits, late clicks, forget-me, reminders and "don't remind me", over time. After every event a coordinator
collects everything a coordinator can see (each level's summary figures, the report's and the picture's
per-check-in totals and people count, the channel's answer counts, the reminders sent, the export), and a
thief takes a copy of the database file without the key. Neither may learn one person's rating of one
check-in, nor tie an anonymous answer to a person, and no people count exceeds the team.

The bulk drives the store's verbs directly, as coprod's views read them (fast: a fixed, derandomized budget
in CI); tests/test_anonymity*.py walk the same views through Slack. `bench/adversary.py` runs a longer
search (ADVERSARY_EXAMPLES).
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.summary import format_mean
from bot.store import Store
from bot.store.answers import CheckinClosed
from tests.support.constants import ADMIN, CHANNEL, COORDINATOR, TEAM
from tests.support.flows import ask, click_rating, post_checkin, replies_to, submit_comment
from tests.support.stored import rows

DAY = 86_400
START = 1_800_000_000
EXAMPLES = int(os.environ.get("ADVERSARY_EXAMPLES", "100"))
FIXED = os.environ.get("ADVERSARY_RANDOM") != "1"  # CI: derandomized, the same examples each run
LEVELS = ("individual", "group", "organisational")

event = st.one_of(
    st.tuples(st.just("ask"), st.sampled_from(LEVELS)),
    st.tuples(st.just("answer"), st.integers(0, 7), st.integers(1, 5), st.booleans(), st.booleans()),
    st.tuples(st.just("edit"), st.integers(0, 7), st.integers(1, 5), st.sampled_from([None, True, False])),
    st.tuples(st.just("later"), st.integers(1, 9)),  # days pass: check-ins close
    st.tuples(st.just("forget"), st.integers(0, 7)),
    st.tuples(st.just("nudge"), st.integers(0, 7)),
    st.tuples(st.just("optout"), st.integers(0, 7), st.booleans()),
)


@dataclass
class World:
    """What really happened, which the adversary must not be able to reconstruct."""

    store: Store
    people: list[str]
    now: int = START
    asked: list[int] = field(default_factory=list)
    forgotten: set[str] = field(default_factory=set)


def views(world: World) -> dict:
    """Everything a coordinator can see now, as coprod computes it for the summary, Home, report, picture,
    the channel's counts, the reminders and the export."""
    store, p = world.store, world.store.partnerships.get(TEAM, CHANNEL)
    assert p is not None
    until = world.now + 1
    levels = store.activity.level_activity(p, since=START, until=until, k=p.k)
    report = store.activity.report_inputs(p, since=START, until=until, now=world.now)
    return {
        "levels": {lv: (a.checkins, a.responses, a.responders, a.mean) for lv, a in levels.items()},
        "totals": [(f.answers, f.total) for f in report.asked],
        "levels_of": [f.level_id for f in report.asked],
        "people": report.people,
        "counts": [store.answers.response_count(TEAM, c) for c in world.asked],
        "reminded": [store.nudges.sent(TEAM, c) for c in world.asked],
        "export": list(store.answers.export_rows(TEAM, now=world.now)),
    }


def check_views(world: World, seen: dict, shown: dict[int, tuple[int, int]]) -> None:
    store, p = world.store, world.store.partnerships.get(TEAM, CHANNEL)
    assert p is not None
    team = len(world.people)
    # People counts never exceed the people who could have answered.
    assert seen["people"] <= team and all(v[2] <= team for v in seen["levels"].values())
    # A rating figure is only ever a whole closed group of k or more, and that group never changes once shown:
    # two views differ by whole groups, never by one person.
    for checkin_id, (answers, total) in zip(world.asked, seen["totals"], strict=True):
        if total is None:
            continue
        closed = store.checkins.checkin(TEAM, checkin_id)
        assert closed is not None and closed.closes_at <= world.now and answers >= p.k
        assert shown.setdefault(checkin_id, (answers, total)) == (answers, total)
    # Each level's mean is exactly the sum of its whole shown groups: nothing finer goes into it.
    for level, (_, _, _, mean) in seen["levels"].items():
        groups = [
            t for t, lv in zip(seen["totals"], seen["levels_of"], strict=True) if lv == level and t[1] is not None
        ]
        if mean is None:
            assert not groups
        else:
            assert abs(mean - sum(t for _, t in groups) / sum(n for n, _ in groups)) < 1e-9
    # The export names no anonymous answer, nor gives it a role.
    for row in seen["export"]:
        if row["person"] is None:
            assert row["role"] is None


def check_copy(world: World, folder: Path) -> None:
    """A copy of the database file, no key: nothing stored for an anonymous answer joins anything else."""
    src = Path(world.store.path)
    world.store.db.empty_wal()
    copy = folder / "stolen.db"
    copy.write_bytes(src.read_bytes())
    conn = sqlite3.connect(copy)
    try:
        anon = conn.execute("SELECT responder, comment FROM responses WHERE anonymous = 1").fetchall()
        values: dict[object, int] = {}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    values[value] = values.get(value, 0) + 1
        for responder, _ in anon:
            assert values[responder] == 1  # the label is in its own row, and nowhere else
        assert not conn.execute(
            "SELECT 1 FROM responses a JOIN responses b ON a.responder = b.responder AND a.id != b.id"
        ).fetchall()
        labels = {r[0] for r in conn.execute("SELECT responder FROM responses")}
        others = {r[0] for r in conn.execute("SELECT responder FROM nudges UNION SELECT responder FROM nudge_optouts")}
        assert not labels & others
        assert not conn.execute(
            "SELECT 1 FROM responses WHERE anonymous = 1 AND (user_id IS NOT NULL OR role IS NOT NULL)"
        ).fetchall()
        # An anonymous answer's time is kept to the hour (or its check-in's asking), so no moment of it matches
        # a named answer, a reminder or anything else done in the same second.
        assert not conn.execute(
            "SELECT 1 FROM responses r JOIN checkins c ON c.id = r.checkin_id"
            " WHERE r.anonymous = 1 AND r.answered_at % 3600 != 0 AND r.answered_at != c.asked_at"
        ).fetchall()
    finally:
        conn.close()
        copy.unlink()


def play(events: list[tuple], size: int, roles: list[str | None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store.open(folder / "coprod.db")
        try:
            people = [f"U{i}" for i in range(size)]
            world = World(store, people)
            p = store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by=people[0], now=START)
            for person, role in zip(people, roles, strict=False):
                if role:
                    store.people.set_role(p, person, role)
            shown: dict[int, tuple[int, int]] = {}
            for ev in events:
                apply(world, p, ev)
                check_views(world, views(world), shown)
            check_copy(world, folder)
        finally:
            store.close()


def apply(world: World, p, ev: tuple) -> None:
    store, kind = world.store, ev[0]
    world.now += 60
    person = world.people[ev[1] % len(world.people)] if kind not in ("ask", "later") else ""
    if kind == "ask":
        world.asked.append(
            store.checkins.record_checkin(p, facilitator_id="power-imbalances", level_id=ev[1], asked_at=world.now)
        )
    elif kind == "later":
        world.now += ev[1] * DAY
    elif not world.asked:
        return
    elif kind in ("answer", "edit"):
        checkin_id = world.asked[-1]
        anonymous = ev[3] if kind == "answer" else ev[3]
        comment = "a thought" if kind == "answer" and ev[4] else None
        try:
            store.answers.record_response(
                TEAM, checkin_id, person, rating=ev[2], now=world.now, anonymous=anonymous, comment=comment, role=None
            )
        except CheckinClosed:
            pass  # a late click: refused, nothing changes
        except ValueError:
            pass
    elif kind == "forget":
        store.answers.forget_user(TEAM, person, now=world.now)
        world.forgotten.add(person)
    elif kind == "nudge":
        checkin_id = world.asked[-1]
        if not store.nudges.answered(TEAM, checkin_id, person):
            store.nudges.claim(TEAM, checkin_id, person, now=world.now)
    elif kind == "optout":
        store.nudges.set_optout(p, person, ev[2])


@settings(
    max_examples=EXAMPLES,
    derandomize=FIXED,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    size=st.integers(3, 8),
    roles=st.lists(st.sampled_from([None, "carer", "clinician", "researcher"]), min_size=8, max_size=8),
    events=st.lists(event, min_size=1, max_size=40),
)
def test_no_coordinator_view_nor_a_keyless_copy_reveals_a_rating_or_an_anonymous_author(size, roles, events):
    play(events, size, roles)


# ---- one end-to-end path: the same adversary, through Slack, in both modes ------------------------------

E2E_EXAMPLES = int(os.environ.get("ADVERSARY_E2E_EXAMPLES", "4"))
AVERAGE = re.compile(r"Average rating: \*([0-9.]+) of 5\*")
PEOPLE_SAID = re.compile(r"(\d+) answers? from (\d+) (?:person|people)")
MEMBERS = (COORDINATOR, "U2", "U3", "U4", ADMIN)  # the channel's five people

slack_event = st.one_of(
    st.tuples(st.just("rate"), st.sampled_from(MEMBERS), st.integers(1, 5)),
    st.tuples(st.just("quietly"), st.sampled_from(MEMBERS), st.integers(1, 5)),
    st.tuples(st.just("later"), st.integers(1, 8)),
    st.tuples(st.just("forget"), st.sampled_from(MEMBERS[1:])),
    st.tuples(st.just("ask"), st.just("organisational")),
)


def coordinator_sees(bot) -> str:
    answer = ask(bot, "summary organisational")
    return " ".join(str(b.get("text", {}).get("text", "")) for b in answer["blocks"])


@settings(
    max_examples=E2E_EXAMPLES,
    derandomize=FIXED,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(slack_event, min_size=3, max_size=10))
def test_the_adversary_through_slack_sees_whole_groups_only_and_true_people_counts(bot, events):
    """Through signed Slack requests: after each answer, anonymous answer, late click, forget-me or new
    check-in, the coordinator's summary shows no more people than the channel has, and an average only ever
    moves when a whole closed group of k or more joins it (the store's per-check-in totals say which)."""
    if bot.store.partnerships.get(TEAM, CHANNEL) is None:
        ask(bot, "schedule checkins weekly Tuesday 10:00")
    if not bot.store.checkins.checkin(TEAM, 1):
        post_checkin(bot, "organisational")
    p = bot.store.partnerships.get(TEAM, CHANNEL)
    for ev in events:
        [(latest, first_asked)] = rows(bot.store.path, "SELECT MAX(id), MIN(asked_at) FROM checkins")
        closes = bot.store.checkins.checkin(TEAM, latest).closes_at
        if ev[0] == "quietly" and bot.clock().timestamp() >= closes:
            ev = ("rate", ev[1], ev[2])  # its comment form no longer opens: a late click instead
        if ev[0] == "rate":
            click_rating(bot, latest, ev[2], ev[1])
        elif ev[0] == "quietly":
            submit_comment(bot, latest, ev[1], ev[2], "only this", anonymous=True)
        elif ev[0] == "later":
            if bot.clock().timestamp() + ev[1] * DAY < first_asked + 40 * DAY:  # all within the summary's 8 weeks
                bot.clock.advance(days=ev[1])
        elif ev[0] == "forget":
            ask(bot, "forget-me", user=ev[1])
            key = f"forget-{ev[1]}-{len(bot.stub.calls)}"
            bot.slack.click(
                "forget_me_confirm", "confirm", user=ev[1], is_ephemeral=True, response_url=bot.stub.response_url(key)
            )
            replies_to(bot, key)
        else:
            post_checkin(bot, ev[1])
        bot.drain()
        seen = coordinator_sees(bot)
        assert all(int(people) <= len(MEMBERS) for _, people in PEOPLE_SAID.findall(seen)), seen
        shown = AVERAGE.search(seen)
        now = int(bot.clock().timestamp())
        groups = [
            (f.answers, f.total)
            for f in bot.store.activity.report_inputs(p, since=0, until=now + 1, now=now).asked
            if f.total is not None and f.level_id == "organisational"
        ]
        if shown is not None:  # hiding an average is always safe; one shown is whole closed groups only
            whole = sum(t for _, t in groups) / sum(n for n, _ in groups)
            assert shown.group(1) == format_mean(whole), (seen, groups)
