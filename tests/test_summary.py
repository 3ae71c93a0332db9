"""Level summaries: neglect rules at their edges, the window in the team's timezone, and the text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import reports
from bot.domain import schedule
from bot.domain import summary as summaries
from bot.domain.catalog import Catalog, load_catalog
from bot.domain.summary import Activity, summarize, window_for
from bot.domain.summary_text import render_text
from bot.render import overview
from bot.render.nudge_blocks import nudge_blocks
from bot.store import Store
from tests.support.blockkit import summary_posts
from tests.support.clock import stamp
from tests.support.constants import CHANNEL as SLACK_CHANNEL
from tests.support.constants import TEAM as SLACK_TEAM
from tests.support.flows import ask as slack_ask
from tests.support.flows import open_comment_form, open_home, post_checkin, rate, replies_to, submit_comment
from tests.support.waiting import eventually

CATALOG: Catalog = load_catalog()
LEVELS = [level.id for level in CATALOG.levels]
TEAM, CHANNEL = "T0001", "C0001"
NOW = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)
UNKIND = ("fail", "bad", "poor", "wrong", "error", "must", "should", "!")


def setup(store: Store, timezone: str = "UTC", created: datetime = NOW - timedelta(weeks=52)) -> None:
    store.partnerships.ensure(TEAM, CHANNEL, timezone=timezone, created_by="UCOORD", now=stamp(created))


def ask(store: Store, level: str, at: datetime, ratings: list[int] = (), fac: str | None = None) -> int:
    """A check-in at a level, answered by one new person per rating."""
    fac = fac or CATALOG.in_level(level)[0].id
    cid = store.checkins.record_checkin(
        store.partnerships.get(TEAM, CHANNEL), facilitator_id=fac, level_id=level, asked_at=stamp(at)
    )
    for n, rating in enumerate(ratings):
        store.answers.record_response(TEAM, cid, f"U{level[:3]}{n}", rating=rating, now=stamp(at) + 60)
    return cid


def healthy(store: Store, at: datetime = NOW - timedelta(days=8)) -> None:
    """Every level asked and answered well by three people (every check-in closed by now), and a meeting logged."""
    for level in LEVELS:
        ask(store, level, at, [4, 4, 5])
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on=at.date().isoformat(), user="UCOORD", now=stamp(at)
    )


def summary_of(store: Store, now: datetime = NOW, **kw) -> summaries.Summary:
    result = reports.partnership_summary(store, CATALOG, store.partnerships.get(TEAM, CHANNEL), now=now, **kw)
    assert result is not None
    return result


def level(result: summaries.Summary, level_id: str) -> summaries.LevelSummary:
    return next(s for s in result.levels if s.level.id == level_id)


def blocks(text: str) -> dict[str, str]:
    """The rendered text's level blocks, keyed by the level line."""
    out = {}
    for block in text.split("\n\n"):
        head = block.splitlines()[0]
        out[head] = block
    return out


# ---- neglect rules, end to end over a real store ---------------------------------------------


def test_healthy_partnership_has_nothing_neglected(store: Store) -> None:
    """Every level answered by k people rating well, a recent meeting: no flags at all."""
    setup(store)
    healthy(store)
    result = summary_of(store)
    assert result.neglected == ()
    assert [s.mean for s in result.levels] == [pytest.approx(13 / 3)] * 5


def test_exactly_k_responders_shows_the_mean_and_is_not_flagged(store: Store) -> None:
    """Three people (k = 3) answering: the mean is shown and participation is fine."""
    setup(store)
    healthy(store)
    ask(store, "societal", NOW - timedelta(days=1), [3, 4, 5])
    s = level(summary_of(store, now=NOW + timedelta(days=7)), "societal")  # once it has closed
    assert s.responders == 3
    assert s.mean == pytest.approx((4 + 4 + 5 + 3 + 4 + 5) / 6)
    assert s.reasons == ()


def test_fewer_than_k_responders_hides_the_mean_and_names_the_count(store: Store) -> None:
    """Two people (k - 1): mean hidden, flagged, the reason says how many answered and the k looked for."""
    setup(store)
    healthy(store, at=NOW - timedelta(weeks=2))  # three other people, before the 1-week window
    ask(store, "paradigmatic", NOW - timedelta(days=1), [1, 2], fac="wide-sharing")
    s = level(summary_of(store, weeks=1), "paradigmatic")
    assert (s.responders, s.mean) == (2, None)
    assert s.reasons == ("only 2 people answered in the last week (we look for at least 3)",)


def test_one_responder_reads_as_one_person(store: Store) -> None:
    """The reason uses the singular for one person."""
    setup(store)
    ask(store, "group", NOW - timedelta(days=1), [5])
    assert level(summary_of(store), "group").reasons == (
        "only 1 person answered in the last 8 weeks (we look for at least 3)",
    )


@pytest.mark.parametrize(
    "ratings, flagged",
    [([2, 3, 2, 3], True), ([2, 3, 3, 2, 3], False), ([1, 1, 1], True), ([3, 2, 3], False)],
    ids=["2.5", "2.6", "1.0", "2.67"],
)
def test_mean_of_two_and_a_half_or_lower_is_flagged(store: Store, ratings: list[int], flagged: bool) -> None:
    """A mean of exactly 2.5 is neglected; 2.6 is not."""
    setup(store)
    healthy(store, at=NOW - timedelta(weeks=20))  # outside the window: does not dilute the mean
    ask(store, "organisational", NOW - timedelta(days=9), ratings)  # closed a week after
    s = level(summary_of(store), "organisational")
    assert s.mean == pytest.approx(sum(ratings) / len(ratings))
    assert s.neglected is flagged
    if flagged:
        assert s.reasons == (f"the team rated it {s.mean:.1f} of 5 on average: worth talking about together",)


def test_asked_but_unanswered_level_is_flagged(store: Store) -> None:
    """A check-in with no answers: flagged, saying nobody has answered yet."""
    setup(store)
    ask(store, "individual", NOW - timedelta(days=1))
    s = level(summary_of(store), "individual")
    assert (s.checkins, s.responses, s.mean) == (1, 0, None)
    assert s.reasons == ("asked, but nobody has answered yet in the last 8 weeks",)


def test_new_partnership_sees_every_level_not_discussed_yet(store: Store) -> None:
    """An empty window flags every level, kindly, and the meeting item too."""
    setup(store, created=NOW - timedelta(hours=1))
    result = summary_of(store)
    assert [s.level.id for s in result.levels] == LEVELS
    assert all(s.reasons == ("not discussed yet in the last 8 weeks",) for s in result.levels)
    assert [s.level.id for s in result.neglected] == LEVELS
    assert [(f.facilitator.id, f.reason) for f in level(result, "group").flags] == [
        (
            "regular-meetings",
            "no meeting logged yet: after you meet, type `/coprod met` or press “We met” on a reminder",
        )
    ]
    assert result.next_focus.id == CATALOG.facilitators[0].id


@pytest.mark.parametrize(
    "activity",
    [
        None,
        Activity(checkins=1, responses=0, responders=0, mean=None, last_activity=None),
        Activity(checkins=1, responses=1, responders=1, mean=5.0, last_activity=1),
        Activity(checkins=2, responses=2, responders=2, mean=1.0, last_activity=1),
        Activity(checkins=2, responses=9, responders=3, mean=1.0, last_activity=1),
    ],
    ids=["none", "unanswered", "one person", "two people", "low mean"],
)
@pytest.mark.parametrize("weeks", [1, 8])
def test_every_reason_is_worded_kindly(activity: Activity | None, weeks: int) -> None:
    """Reasons are plain and kind: no blame words, no shouting, and each says what the window was."""
    reasons = summaries.level_reasons(activity, k=3, weeks=weeks)
    assert len(reasons) == 1
    reason = reasons[0]
    assert not any(word in reason.lower() for word in UNKIND)
    assert reason[0].islower() and reason == reason.strip()
    if activity is None or activity.mean is None or activity.responders < 3:
        assert ("last week" if weeks == 1 else f"last {weeks} weeks") in reason
    else:
        assert "worth talking about together" in reason


@pytest.mark.parametrize(
    "gap, expected",
    [
        (timedelta(weeks=3), "no meeting logged in the last 3 weeks"),
        (timedelta(weeks=3) - timedelta(minutes=1), None),
        (timedelta(weeks=10), "no meeting logged in the last 3 weeks"),
        (timedelta(0), None),
    ],
    ids=["exactly 3 weeks", "3 weeks less a minute", "10 weeks", "today"],
)
def test_meeting_flag_after_three_weeks(gap: timedelta, expected: str | None) -> None:
    """The regular-meetings item is flagged from exactly 3 weeks without a logged meeting."""
    assert summaries.meeting_flag(NOW - gap, NOW) == expected
    activity = {lid: Activity(1, 3, 3, 4.0, None) for lid in LEVELS}
    window = window_for(NOW, "UTC")
    result = summarize(CATALOG, activity, window=window, now=NOW, last_meeting=NOW - gap)
    flagged = [f.facilitator.id for s in result.levels for f in s.flags]
    assert flagged == ([] if expected is None else ["regular-meetings"])
    assert [s.level.id for s in result.neglected] == ([] if expected is None else ["group"])


def test_no_meeting_ever_logged_is_flagged_with_what_to_do() -> None:
    """With no meeting ever, the reason tells the team how to log one."""
    reason = summaries.meeting_flag(None, NOW)
    assert reason is not None and "We met" in reason


def test_meeting_three_weeks_ago_flags_through_the_store(store: Store) -> None:
    """A meeting logged exactly 3 weeks before now flags regular meetings in the group level."""
    setup(store)
    healthy(store, at=NOW - timedelta(days=2))
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on="2024-05-22", user="U1", now=stamp(NOW - timedelta(weeks=3))
    )
    result = summary_of(store)
    assert [s.level.id for s in result.neglected] == []  # the healthy() meeting 2 days ago is the latest
    three_weeks_on = NOW + timedelta(weeks=3) - timedelta(days=2)
    later = summary_of(store, now=three_weeks_on)
    assert [f.reason for f in level(later, "group").flags] == ["no meeting logged in the last 3 weeks"]


# ---- the window ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timezone, now_local, boundary",
    [
        # Auckland, northern summer = NZ standard time (+12)
        ("Pacific/Auckland", datetime(2024, 6, 12, 9, 0), date(2024, 6, 5)),
        # New York, window spanning the March change to daylight time
        ("America/New_York", datetime(2024, 3, 20, 12, 0), date(2024, 3, 6)),
        # New York, window spanning the November change back
        ("America/New_York", datetime(2024, 11, 10, 8, 0), date(2024, 10, 27)),
        # Auckland, window spanning the April change back to standard time
        ("Pacific/Auckland", datetime(2024, 4, 10, 7, 0), date(2024, 3, 27)),
    ],
)
def test_window_starts_at_local_midnight_in_the_partnerships_timezone(
    store: Store, timezone: str, now_local: datetime, boundary: date
) -> None:
    """A check-in at 23:30 local the day before the window is out; 00:30 on its first day is in."""
    tz = ZoneInfo(timezone)
    now = now_local.replace(tzinfo=tz).astimezone(UTC)
    weeks = (now_local.date() - boundary).days // 7
    setup(store, timezone=timezone, created=now - timedelta(weeks=30))
    before = datetime.combine(boundary - timedelta(days=1), datetime.min.time().replace(hour=23, minute=30), tz)
    after = datetime.combine(boundary, datetime.min.time().replace(minute=30), tz)
    ask(store, "societal", before, [4, 4, 4])
    ask(store, "paradigmatic", after, [4, 4, 4])

    result = summary_of(store, now=now, weeks=weeks)

    assert result.window.start.astimezone(tz) == datetime.combine(boundary, datetime.min.time(), tz)
    assert result.window.start.astimezone(tz).hour == 0
    assert level(result, "societal").checkins == 0
    phrase = "in the last week" if weeks == 1 else f"in the last {weeks} weeks"
    assert level(result, "societal").reasons == (f"not discussed yet {phrase}",)
    assert level(result, "paradigmatic").checkins == 1
    assert level(result, "paradigmatic").reasons == ()


def test_window_across_spring_forward_is_not_a_whole_number_of_24_hour_days() -> None:
    """Two local weeks across New York's March change are 335 hours, starting at local midnight."""
    tz = ZoneInfo("America/New_York")
    now = datetime(2024, 3, 20, 0, 0, tzinfo=tz)
    window = window_for(now.astimezone(UTC), "America/New_York", 2)
    assert window.start == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)  # midnight EST
    assert window.end - window.start == timedelta(hours=14 * 24 - 1)


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)),
    timezone=st.sampled_from(
        [
            "UTC",
            "Pacific/Auckland",
            "America/New_York",
            "Europe/London",
            "America/Santiago",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
        ]
    ),
    weeks=st.integers(min_value=1, max_value=60),
)
def test_window_always_starts_at_the_first_instant_of_a_local_day(now: datetime, timezone: str, weeks: int) -> None:
    """Whatever the zone and date, the start is the first instant of the local day `weeks` weeks ago."""
    tz = ZoneInfo(timezone)
    window = window_for(now, timezone, weeks)
    first_day = now.astimezone(tz).date() - timedelta(weeks=weeks)
    assert window.start.astimezone(tz).date() == first_day
    assert (window.start - timedelta(seconds=1)).astimezone(tz).date() == first_day - timedelta(days=1)
    assert window.end == now and window.weeks == weeks and window.widened_from is None


@pytest.mark.parametrize(
    "cadence, asked, weeks, widened_from",
    [
        ("monthly", 8, 22, 8),
        ("fortnightly", 8, 10, 8),
        ("weekly", 8, 8, None),
        ("monthly", 26, 26, None),
        (None, 8, 8, None),
        ("monthly", 1, 22, 1),
    ],
)
def test_window_is_never_shorter_than_one_rotation(
    cadence: str | None, asked: int, weeks: int, widened_from: int | None
) -> None:
    """Monthly: 5 levels x 52/12 weeks rounds up to 22 weeks, and the summary says it widened."""
    window = window_for(NOW, "UTC", asked, cadence=cadence)
    assert (window.weeks, window.widened_from) == (weeks, widened_from)
    assert window.start == datetime.combine(NOW.date() - timedelta(weeks=weeks), datetime.min.time(), UTC)


def test_monthly_team_summary_is_widened_end_to_end(store: Store) -> None:
    """A partnership with monthly check-ins gets a 22-week window and the text explains why."""
    setup(store)
    store.partnerships.set_schedule(
        store.partnerships.get(TEAM, CHANNEL),
        kind="checkins",
        cadence="monthly",
        weekday=0,
        at_minute=600,
        anchor="2024-01-01",
        set_by="UCOORD",
        now=stamp(NOW),
    )
    ask(store, "organisational", NOW - timedelta(weeks=20), [4, 4, 4])
    result = summary_of(store)
    assert (result.window.weeks, result.window.widened_from) == (22, 8)
    assert level(result, "organisational").reasons == ()
    assert "widened from 8 weeks" in render_text(result)
    assert level(result, "societal").reasons == ("not discussed yet in the last 22 weeks",)


# ---- roles, next focus, one level ------------------------------------------------------------


def test_silent_roles_are_those_recorded_but_not_heard(store: Store) -> None:
    """Roles of members who did not answer in the window are listed, sorted, once each."""
    setup(store)
    cid = ask(store, "group", NOW - timedelta(days=1))
    store.answers.record_response(TEAM, cid, "URES", rating=4, role="researcher", now=stamp(NOW))
    for user, role in [("URES", "researcher"), ("UCAR", "carer"), ("UCAR2", "carer"), ("UPAT", "service user/patient")]:
        store.people.set_role(store.partnerships.get(TEAM, CHANNEL), user, role)
    result = summary_of(store)
    assert result.silent_roles == ("carer", "service user/patient")
    assert "Not heard from in this window: carer, service user/patient" in render_text(result)


def test_next_focus_is_a_neglected_levels_facilitator(store: Store) -> None:
    """The suggestion points at a neglected level, the one the rotation would reach first."""
    setup(store)
    for lid in LEVELS:
        if lid != "societal":
            ask(store, lid, NOW - timedelta(days=5), [4, 4, 4])
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on="2024-06-10", user="U1", now=stamp(NOW - timedelta(days=2))
    )
    ask(store, "societal", NOW - timedelta(weeks=20), fac="engaging-formats")
    result = summary_of(store)
    assert [s.level.id for s in result.neglected] == ["societal"]
    assert result.next_focus.id == "decision-makers"  # engaging-formats was asked already


def test_next_focus_without_neglect_follows_the_rotation() -> None:
    """With nothing neglected, the suggestion is simply the rotation's next practice."""
    history = {f.id: (f.level_id, 100 + i) for i, f in enumerate(CATALOG.facilitators)}
    activity = {lid: Activity(1, 3, 3, 4.0, None) for lid in LEVELS}
    result = summarize(CATALOG, activity, window=window_for(NOW, "UTC"), now=NOW, last_meeting=NOW, history=history)
    assert result.neglected == ()
    assert result.next_focus == CATALOG.facilitators[0]


def test_summary_of_one_level_only(store: Store) -> None:
    """level_id limits the summary to that level."""
    setup(store)
    result = summary_of(store, level_id="organisational")
    assert [s.level.id for s in result.levels] == ["organisational"]


@pytest.mark.parametrize("members, expected", [(None, None), (6, 0.5), (3, 1.0)])
def test_participation_is_responders_over_members(store: Store, members: int | None, expected) -> None:
    """Participation is known only when the member count is."""
    setup(store)
    if members is not None:
        store.partnerships.set_member_count(store.partnerships.get(TEAM, CHANNEL), members)
    ask(store, "group", NOW - timedelta(days=1), [3, 4, 5])
    assert level(summary_of(store), "group").participation == expected


# ---- text ------------------------------------------------------------------------------------


def test_render_text_names_every_level_and_marks_the_neglected_ones(store: Store) -> None:
    """Each level has its own block naming it; flagged blocks say "neglected" and why, others don't."""
    setup(store)
    ask(store, "individual", NOW - timedelta(days=1), [4, 5, 4])
    ask(store, "group", NOW - timedelta(days=1), [1, 2, 2])
    ask(store, "organisational", NOW - timedelta(days=1), [5])
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on="2024-06-10", user="U1", now=stamp(NOW - timedelta(days=2))
    )
    result = summary_of(store)
    text = render_text(result, timezone="UTC")
    by_head = blocks(text)
    for lvl in CATALOG.levels:
        assert f"{lvl.name} ({lvl.scale})" in by_head
    assert "neglected" not in by_head["Individual (micro)"]
    assert "average rating: 4.3 of 5" in by_head["Individual (micro)"]
    assert "neglected: the team rated it 1.7 of 5 on average" in by_head["Group/interpersonal (micro)"]
    assert "average rating: hidden (fewer than 3 people answered)" in by_head["Organisational (meso)"]
    assert "neglected: only 1 person answered" in by_head["Organisational (meso)"]
    assert "neglected: not discussed yet in the last 8 weeks" in by_head["Societal (macro)"]
    assert "neglected: not discussed yet in the last 8 weeks" in by_head["Paradigmatic (macro)"]
    assert text.startswith("Summary for 17 Apr 2024 to 12 Jun 2024 (8 weeks)")
    assert f"Suggested next focus: {result.next_focus.text}" in text


def test_render_text_shows_the_meeting_flag_under_its_level() -> None:
    """The regular-meetings flag is printed in the group block with the practice's wording."""
    activity = {lid: Activity(1, 3, 3, 4.0, None) for lid in LEVELS}
    result = summarize(CATALOG, activity, window=window_for(NOW, "UTC"), now=NOW, last_meeting=None)
    group = blocks(render_text(result))["Group/interpersonal (micro)"]
    assert f"neglected: {CATALOG.facilitator('regular-meetings').text}: no meeting logged yet" in group
    assert "neglected" not in blocks(render_text(result))["Individual (micro)"]


def test_render_text_dates_are_in_the_partnerships_timezone() -> None:
    """The window's dates are printed as the team's calendar has them."""
    now = datetime(2024, 6, 12, 20, 0, tzinfo=UTC)  # already 13 June in Auckland
    result = summarize(CATALOG, {}, window=window_for(now, "Pacific/Auckland", 1), now=now)
    assert render_text(result, timezone="Pacific/Auckland").startswith(
        "Summary for 06 Jun 2024 to 13 Jun 2024 (1 week)\n"
    )


# ---- issue 23: every practice asked, self-ratings apart ------------------------------------------


def test_a_practice_not_asked_for_six_months_is_named(store: Store) -> None:
    """A team asking for seven months names each practice it hasn't asked since six months ago."""
    setup(store)
    for n, fac in enumerate(f for f in CATALOG.facilitators if f.id != "online-tools"):
        ask(store, fac.level_id, NOW - timedelta(days=20 + n), fac=fac.id)
    ask(store, "organisational", NOW - timedelta(days=220), fac="online-tools")
    result = summary_of(store)
    assert [g.facilitator.id for g in result.gaps] == ["online-tools"]
    text = render_text(result)
    assert "Practices not asked for a long time" in text and "not asked since" in text


def test_a_power_sharing_practice_is_flagged_after_three_months(store: Store) -> None:
    """shared-data-analysis (now tagged power) asked four months ago is flagged; a plain practice is not."""
    assert {f.id for f in CATALOG.tagged("power")} >= {"shared-data-analysis", "shared-ownership"}
    setup(store)
    ask(store, "individual", NOW - timedelta(days=200), fac="keeping-on-track")
    for n, fac in enumerate(CATALOG.facilitators):
        if fac.id not in ("shared-data-analysis", "clear-scope"):
            ask(store, fac.level_id, NOW - timedelta(days=10 + n), fac=fac.id)
    ask(store, "group", NOW - timedelta(days=120), fac="shared-data-analysis")
    ask(store, "organisational", NOW - timedelta(days=120), fac="clear-scope")
    gaps = {g.facilitator.id: g for g in summary_of(store).gaps}
    assert set(gaps) == {"shared-data-analysis"} and gaps["shared-data-analysis"].power
    assert "sharing power" in render_text(summary_of(store))


def test_a_new_team_is_not_told_of_practices_it_has_not_reached(store: Store) -> None:
    """Never asked counts as a gap only once the team has been asking for longer than the gap."""
    setup(store)
    ask(store, "individual", NOW - timedelta(days=30))
    assert summary_of(store).gaps == ()


def test_reflection_ratings_never_enter_a_team_figure(store: Store) -> None:
    """Private self-ratings (a reflection round) neither make a level's mean nor clear "not discussed"."""
    setup(store)
    p = store.partnerships.get(TEAM, CHANNEL)
    cid = store.checkins.record_checkin(
        p,
        facilitator_id="reflexivity",
        level_id="individual",
        asked_at=stamp(NOW - timedelta(days=10)),
        kind="reflexivity",
    )
    for n in range(4):
        store.answers.record_response(TEAM, cid, f"UR{n}", rating=5, now=stamp(NOW - timedelta(days=10)) + 60)
    individual = level(summary_of(store), "individual")
    assert individual.mean is None and individual.responses == 0
    assert individual.reasons and "not discussed" in individual.reasons[0]
    facts = store.activity.report_inputs(p, since=0, until=stamp(NOW), now=stamp(NOW))
    assert [a.total for a in facts.asked if a.kind == "reflexivity"] == [None]


# ---- issue 23: partners and professionals seen apart -----------------------------------------------


def rated(store: Store, fac: str, at: datetime, answers: list[tuple[str, int]]) -> None:
    """A check-in of ``fac`` answered by one named person per (role, rating), closed by now."""
    level_id = CATALOG.facilitator(fac).level_id
    cid = ask(store, level_id, at, fac=fac)
    for n, (role, rating) in enumerate(answers):
        store.answers.record_response(TEAM, cid, f"U{fac[:4]}{n}", rating=rating, role=role, now=stamp(at) + 60)


PARTNERS_LOW = [("service user/patient", 2), ("carer", 2), ("service user/patient", 2)]
PROFESSIONALS_HIGH = [("researcher", 5), ("practitioner", 5), ("manager", 5)]


def test_partners_and_professionals_apart_is_shown_as_a_band_never_a_mean(store: Store) -> None:
    """Partners 2, professionals 5: the level's mean 3.5 flags nothing, but the gap is named as a band."""
    setup(store)
    rated(store, "power-imbalances", NOW - timedelta(days=20), PARTNERS_LOW + PROFESSIONALS_HIGH)
    result = summary_of(store)
    assert level(result, "group").mean == 3.5 and not level(result, "group").reasons
    [apart] = result.disagreements
    assert apart.level_id == "group" and apart.facilitator is None
    words = "partners rate this lower than professionals by 3 to 4 points"
    assert apart.words() == words
    text = render_text(result)
    assert words in text and "2.0" not in text and "5.0" not in text


@pytest.mark.parametrize(
    "answers",
    [
        PARTNERS_LOW[:2] + PROFESSIONALS_HIGH,  # two partners: fewer than k on one side
        PARTNERS_LOW + PROFESSIONALS_HIGH[:2],  # two professionals: the rest of the team is smaller than k
        [("carer", 4), ("carer", 4), ("carer", 4)] + [("researcher", 5), ("researcher", 4), ("researcher", 5)],
    ],
)
def test_too_few_on_a_side_or_a_gap_under_a_point_says_nothing(store: Store, answers) -> None:
    """Under k answers on either side, or means under a point apart, nothing is said."""
    setup(store)
    rated(store, "power-imbalances", NOW - timedelta(days=20), answers)
    assert summary_of(store).disagreements == ()


def test_sides_pool_over_the_windows_closed_checkins_and_name_the_practice(store: Store) -> None:
    """Two check-ins of two practices pool per level; the one practice that differs is named on its own."""
    setup(store)
    rated(store, "power-imbalances", NOW - timedelta(days=30), PARTNERS_LOW[:2] + PROFESSIONALS_HIGH[:2])
    rated(store, "power-imbalances", NOW - timedelta(days=20), PARTNERS_LOW[:1] + PROFESSIONALS_HIGH[:2])
    rated(store, "online-tools", NOW - timedelta(days=10), [("carer", 4)] * 3 + [("researcher", 4)] * 3)
    found = {(d.facilitator.id if d.facilitator else None): d for d in summary_of(store).disagreements}
    assert set(found) == {None, "power-imbalances"}
    assert found["power-imbalances"].band == 3 and found[None].band == 1


def summary_blocks_of(answer: dict) -> dict[str, str]:
    """block id -> its text, in a summary coprod sent to Slack."""
    return {b["block_id"]: b["text"]["text"] for b in answer["blocks"] if b.get("block_id") and "text" in b}


def test_through_slack_partners_rating_power_sharing_lower_is_named_as_a_band(bot) -> None:
    """Three patients and carers rate 2, three professionals rate 5: `/coprod summary` names the gap as a band
    under the level, and says neither side's average."""
    slack_ask(bot, "schedule checkins weekly Tuesday 10:00")
    for user, role in (
        ("U2", "patient"),
        ("U3", "carer"),
        ("U4", "carer"),
        ("U5", "researcher"),
        ("U6", "clinician"),
        ("U7", "manager"),
    ):
        slack_ask(bot, f"role <@{user}> {role}")
    checkin_id = post_checkin(bot, "power-imbalances").id
    for user, rating in (("U2", 2), ("U3", 2), ("U4", 2), ("U5", 5), ("U6", 5), ("U7", 5)):
        rate(bot, checkin_id, rating, user)
    before = summary_blocks_of(slack_ask(bot, "summary group"))["level:group"]
    assert "seen differently" not in before  # still open: no figure about it yet
    post_checkin(bot, "societal")  # closes it
    group = summary_blocks_of(slack_ask(bot, "summary group"))["level:group"]
    assert "partners rate this lower than professionals by 3 to 4 points" in group
    assert "Average rating: *3.5 of 5*" in group and "2.0" not in group and "5.0" not in group


# ---- issue 23: the meeting gap follows the team's own rhythm --------------------------------------


def test_a_monthly_team_is_flagged_only_when_a_scheduled_meeting_passes_unlogged(bot) -> None:
    """`/coprod meeting monthly …`: four weeks after a meeting is not a gap; the next meeting passing unlogged is."""
    slack_ask(bot, "schedule checkins weekly Tuesday 10:00")
    assert "first Wednesday of each month" in slack_ask(bot, "meeting monthly Wednesday 14:00")["text"]
    p = bot.store.partnerships.get(SLACK_TEAM, SLACK_CHANNEL)
    spec = schedule.spec_of(bot.store.partnerships.schedules(p)["meeting"])
    meeting = schedule.next_fire(spec, p.timezone, bot.clock())
    bot.clock.advance(seconds=(meeting - bot.clock()).total_seconds() + 3600)
    assert "logged" in slack_ask(bot, "met")["text"]
    following = schedule.next_fire(spec, p.timezone, bot.clock())
    bot.clock.advance(days=27)
    group = summary_blocks_of(slack_ask(bot, "summary group"))["level:group"]
    assert "no meeting logged" not in group and "wasn't logged" not in group
    bot.clock.advance(seconds=(following - bot.clock()).total_seconds() + 7 * 86400 + 60)
    group = summary_blocks_of(slack_ask(bot, "summary group"))["level:group"]
    local = following.astimezone(ZoneInfo(p.timezone))
    assert f"the meeting planned for {local:%A %-d %B} wasn't logged" in group


def test_without_a_meeting_schedule_the_gap_is_three_weeks() -> None:
    """No schedule: three weeks without a logged meeting is flagged, as before."""
    assert summaries.meeting_flag(NOW - timedelta(weeks=3), NOW) == "no meeting logged in the last 3 weeks"
    assert summaries.meeting_flag(NOW - timedelta(weeks=3), NOW, scheduled=[]) is None


# ---- issue 23: trends ----------------------------------------------------------------------------------


def test_through_slack_a_practice_rated_lower_than_last_time_is_flagged_with_both_figures(bot) -> None:
    """Asked twice, 4.0 then 3.0 (each closed with three answers): the summary says so, with both figures."""
    slack_ask(bot, "schedule checkins weekly Tuesday 10:00")
    for ratings in ((4, 4, 4), (3, 3, 3)):
        checkin_id = post_checkin(bot, "power-imbalances").id
        for user, rating in zip(("U2", "U3", "U4"), ratings, strict=True):
            rate(bot, checkin_id, rating, user)
        bot.clock.advance(days=8)  # closes it
    group = summary_blocks_of(slack_ask(bot, "summary group"))["level:group"]
    assert "rated lower than last time" in group and "4.0 of 5 when asked on" in group and "3.0 of 5 on" in group


@pytest.mark.parametrize("second, flagged", [(3.25, True), (3.5, False)])
def test_a_fall_of_three_quarters_of_a_point_is_the_line(store: Store, second: float, flagged: bool) -> None:
    """4.0 then 3.25 is flagged (a fall of 0.75); 4.0 then 3.5 is not."""
    setup(store)
    ask(store, "group", NOW - timedelta(days=40), [4, 4, 4, 4], fac="power-imbalances")
    ratings = [3, 3, 3, 4] if second == 3.25 else [3, 3, 4, 4]
    ask(store, "group", NOW - timedelta(days=20), ratings, fac="power-imbalances")
    falls = summary_of(store).falls
    assert bool(falls) is flagged
    if flagged:
        assert (falls[0].before, falls[0].now) == (4.0, second)


# ---- issue 23: stuck levels -------------------------------------------------------------------------------


def weekly_summaries_since(store: Store, start: datetime) -> None:
    store.partnerships.set_schedule(
        store.partnerships.get(TEAM, CHANNEL),
        kind="summary",
        cadence="weekly",
        weekday=NOW.weekday(),
        at_minute=9 * 60,
        anchor=start.date().isoformat(),
        set_by="UCOORD",
        now=stamp(start),
    )


def test_a_level_flagged_four_regular_summaries_running_is_raised_first_with_plan_something(store: Store) -> None:
    """Organisational never looked after in five weeks of weekly summaries: the next regular summary opens with
    it and its Plan something button; a summary asked for by hand does not."""

    setup(store)
    weekly_summaries_since(store, NOW - timedelta(weeks=5))
    for level_id in LEVELS:
        if level_id != "organisational":
            for weeks in (1, 3, 5, 7):
                ask(store, level_id, NOW - timedelta(weeks=weeks, days=1), [4, 4, 4])
    store.activity.log_meeting(
        store.partnerships.get(TEAM, CHANNEL), held_on=NOW.date().isoformat(), user="UCOORD", now=stamp(NOW)
    )
    regular = summary_of(store, scheduled=True)
    assert regular.stuck == ("organisational",)
    assert summary_of(store).stuck == ()
    blocks = overview.summary_blocks(regular, "UTC", channel=CHANNEL)
    top = next(b for b in blocks if b["type"] == "section")
    assert top["block_id"] == "stuck:organisational" and "last 4 regular summaries" in top["text"]["text"]
    assert top["accessory"]["text"]["text"] == "Plan something"


def test_a_level_with_an_action_planned_is_not_stuck(store: Store) -> None:
    """Something planned for the level since the run began: it is not raised."""
    setup(store)
    weekly_summaries_since(store, NOW - timedelta(weeks=5))
    store.plans.plan(
        store.partnerships.get(TEAM, CHANNEL),
        what="Ask our trust's R&D office to join",
        facilitator_id="clear-scope",
        level_id="organisational",
        lead=None,
        due_on=None,
        planned_by="UCOORD",
        now=stamp(NOW - timedelta(weeks=2)),
    )
    assert "organisational" not in summary_of(store, scheduled=True).stuck
    assert "group" in summary_of(store, scheduled=True).stuck


# ---- issue 23: "Not sure yet" is an answer ------------------------------------------------------------


def test_through_slack_not_sure_yet_takes_part_in_no_mean_and_names_a_practice_to_explain(bot) -> None:
    """Every check-in offers "Not sure yet": four of seven say so about shared-data-analysis. They count as
    answering, the average is the three ratings' alone, and the summary names it as one to explain."""
    slack_ask(bot, "schedule checkins weekly Tuesday 10:00")
    posted = post_checkin(bot, "shared-data-analysis")
    buttons = [e for b in posted.blocks if b["type"] == "actions" for e in b["elements"]]
    assert any(e["text"]["text"] == "Not sure yet" and e["value"] == "0" for e in buttons)
    for user in ("U2", "U3", "U4", "U5"):
        rate(bot, posted.id, 0, user)
    confirm = replies_to(bot, "rate-U2")[0]
    assert "not sure yet" in confirm.args["text"] and "isn't in any average" in confirm.args["text"]
    for user, rating in (("U6", 4), ("U7", 5), ("U8", 3)):
        rate(bot, posted.id, rating, user)
    bot.clock.advance(days=8)  # closes it
    answer = slack_ask(bot, "summary group")
    group = summary_blocks_of(answer)["level:group"]
    assert "7 answers from 7 people" in group and "Average rating: *4.0 of 5*" in group
    explain = summary_blocks_of(answer)["explain"]
    assert "not sure yet" in explain and "How much is everyone involved in looking at the findings" in explain


def test_through_slack_the_comment_form_offers_not_sure_yet(bot) -> None:
    """The comment modal lists "Not sure yet" with the ratings; choosing it records an answer in no mean."""
    checkin_id = post_checkin(bot).id
    form = open_comment_form(bot, checkin_id, "U3")
    options = form["blocks"][1]["element"]["options"]
    assert options[-1] == {"text": {"type": "plain_text", "text": "Not sure yet"}, "value": "0"}
    assert submit_comment(bot, checkin_id, "U3", 0, "I haven't seen the data yet", form=form).status == 200
    assert eventually(lambda: bot.store.answers.my_answer(SLACK_TEAM, checkin_id, "U3") is not None)
    assert bot.store.answers.my_answer(SLACK_TEAM, checkin_id, "U3").rating == 0


def test_the_reminder_dm_offers_not_sure_yet() -> None:
    """The nudge DM carries the same answers as the check-in, "Not sure yet" among them."""
    fac = CATALOG.facilitator("bridging-people")
    blocks = nudge_blocks(
        CATALOG.level(fac.level_id), fac, checkin_id=7, channel="C1", closes_at=stamp(NOW), timezone="UTC"
    )
    values = [e["value"] for b in blocks if b.get("block_id") == "nudge:7" for e in b["elements"]]
    assert values[:6] == ["1", "2", "3", "4", "5", "0"]


# ---- issue 23: private self-ratings stay private ---------------------------------------------------------


def test_through_slack_reflections_are_in_no_team_figure_and_each_person_sees_only_their_own(bot) -> None:
    """A reflection round: U2 rates 5, U3 "not sure yet", U4 rates 5. The Individual level stays "not discussed"
    with no average; U2's App Home lists U2's own answer, U3's lists theirs, U1 (who didn't answer) sees none."""
    slack_ask(bot, "schedule reflexivity fortnightly Tuesday 10:00")
    bot.clock.advance(hours=1)
    [fired] = bot.tick()
    assert (fired.kind, fired.status) == ("reflexivity", "posted")
    sent = {
        c.args["channel"]: c
        for c in bot.stub.calls_to("chat.postMessage")
        if str(c.args.get("channel", "")).startswith("U") and "reflect:" in str(c.args.get("blocks"))
    }
    for user, rating in (("U2", 5), ("U3", 0), ("U4", 5)):
        block_id = next(
            b["block_id"] for b in sent[user].json("blocks") if b.get("block_id", "").startswith("reflect:")
        )
        reply = bot.slack.click(f"rate:{rating}", str(rating), block_id=block_id, user=user, channel=f"D{user}")
        assert reply.status == 200
        assert bot.store.answers.my_answer(SLACK_TEAM, int(block_id.split(":")[1]), user).rating == rating
    answer = slack_ask(bot, "summary individual")
    individual = summary_blocks_of(answer)["level:individual"]
    assert "not discussed yet" in individual and "Average" not in individual and "answer" not in individual
    assert "Private reflections: 3 people took part" in json.dumps(answer)  # all the team is told
    mine = json.dumps(open_home(bot, "U2"))
    assert "Your reflections" in mine and "5 of 5 (Always)" in mine and "not sure yet" not in mine
    assert "not sure yet" in json.dumps(open_home(bot, "U3"))
    assert "Your reflections" not in json.dumps(open_home(bot, "U1"))


def test_through_slack_people_who_reflect_every_round_are_counted_once(bot) -> None:
    """Two reflection rounds answered by the same people: the team is told 3 people took part, not 5 (a
    person's answers carry a label per round, so counting labels would count them once a round)."""
    slack_ask(bot, "schedule reflexivity fortnightly Tuesday 10:00")
    for round_, people in enumerate((("U2", "U3", "U4"), ("U2", "U3"))):
        bot.clock.advance(hours=1) if round_ == 0 else bot.clock.advance(weeks=2)
        [fired] = bot.tick()
        assert (fired.kind, fired.status) == ("reflexivity", "posted")
        for user in people:
            [prompt] = [
                c
                for c in bot.stub.calls_to("chat.postMessage")
                if c.args.get("channel") == user and "reflect:" in str(c.args.get("blocks"))
            ][round_ : round_ + 1]
            block_id = next(
                b["block_id"] for b in prompt.json("blocks") if b.get("block_id", "").startswith("reflect:")
            )
            assert bot.slack.click("rate:4", "4", block_id=block_id, user=user, channel=f"D{user}").status == 200
    assert "Private reflections: 3 people took part" in json.dumps(slack_ask(bot, "summary individual"))


def test_public_partner_roles_are_roles_a_coordinator_can_record() -> None:
    """Patient, carer, public and community member are public partners, and `/coprod role` records each."""
    from bot.domain import commands, findings

    assert set(findings.PARTNER_ROLES) == {"service user/patient", "carer", "public", "community member"}
    assert set(findings.PARTNER_ROLES) <= set(commands.ROLES)


def test_through_slack_the_fifth_weekly_summary_of_a_neglected_organisational_level_opens_with_it(bot) -> None:
    """Scheduled weekly summaries and Organisational never asked: the fifth regular summary (four before it
    flagged it) opens with the stuck level and its Plan something button; the fourth does not."""
    slack_ask(bot, "schedule summary weekly Wednesday 15:00")
    p = bot.store.partnerships.get(SLACK_TEAM, SLACK_CHANNEL)
    spec = schedule.spec_of(bot.store.partnerships.schedules(p)["summary"])
    for week in range(5):
        due = schedule.next_fire(spec, p.timezone, bot.clock())
        bot.clock.advance(seconds=(due - bot.clock()).total_seconds() + 60)
        assert [(f.kind, f.status) for f in bot.tick()] == [("summary", "posted")], week
    posts = summary_posts(bot.stub, SLACK_CHANNEL)
    assert len(posts) == 5
    assert not any(b.get("block_id", "").startswith("stuck:") for b in posts[3].json("blocks"))
    top = [b for b in posts[4].json("blocks") if b["type"] == "section"][0]
    assert top["block_id"] == "stuck:individual" and "last 4 regular summaries" in top["text"]["text"]
    assert top["accessory"]["text"]["text"] == "Plan something"
    stuck = {b["block_id"] for b in posts[4].json("blocks") if b.get("block_id", "").startswith("stuck:")}
    assert "stuck:organisational" in stuck
