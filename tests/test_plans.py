"""Closing the loop, without Slack: actions and their before-and-after under the anonymity rule, follow-up
times across daylight saving, holiday pauses in the summary's window, and the words and blocks for all of it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import report_export, reports
from bot.domain import holidays, plans, summary_text
from bot.domain import summary as summaries
from bot.domain.catalog import Catalog, load_catalog
from bot.domain.holidays import Pause, PauseError
from bot.domain.plans import Action, PlanError
from bot.render import plan_blocks
from bot.render.messages import forgotten_text
from bot.render.nudge_blocks import nudge_blocks, optout_blocks
from bot.render.overview import summary_blocks
from bot.store import Store
from tests.support.blockkit import check_message_blocks, check_view, texts_in
from tests.support.clock import stamp

CATALOG: Catalog = load_catalog()
TEAM, CHANNEL = "T0001", "C0001"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
DAY = 86_400
NASTY = "<!channel> & <@U999> <https://evil|x>"


def partnership(store: Store, timezone: str = "UTC"):
    store.partnerships.ensure(TEAM, CHANNEL, timezone=timezone, created_by="UCOORD", now=stamp(NOW) - 400 * DAY)
    return store.partnerships.get(TEAM, CHANNEL)


def ask(store: Store, at: int, ratings: list[int], fac: str = "power-imbalances", people: str = "U") -> int:
    p = store.partnerships.get(TEAM, CHANNEL)
    cid = store.checkins.record_checkin(p, facilitator_id=fac, level_id=CATALOG.facilitator(fac).level_id, asked_at=at)
    for n, rating in enumerate(ratings):
        store.answers.record_response(TEAM, cid, f"{people}{n}", rating=rating, now=at + 60)
    return cid


def action(store: Store, at: int, fac: str = "power-imbalances", **kw) -> Action:
    fields = {"what": "rotating who chairs", "lead": "U2", "due_on": None, "planned_by": "U1"} | kw
    return store.plans.plan(
        store.partnerships.get(TEAM, CHANNEL),
        facilitator_id=fac,
        level_id=CATALOG.facilitator(fac).level_id,
        now=at,
        **fields,
    )


def tried(store: Store, now: int) -> list[plans.Tried]:
    result = reports.partnership_summary(store, CATALOG, store.partnerships.get(TEAM, CHANNEL), now=at(now))
    assert result.loop is not None
    return list(result.loop.tried)


def at(moment: int) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


# ---- before and after, under the anonymity rule ---------------------------------------------------------------------


def test_before_and_after_are_shown_only_for_closed_groups_of_k_or_more(store: Store) -> None:
    """The practice's last check-in before the action was planned, and its first after the action was done,
    each count only once closed with 3 or more answers, the rule every mean follows."""
    partnership(store)
    start = stamp(NOW) - 60 * DAY
    ask(store, start, [2, 2, 3])  # the "before": closed, three people, mean 2.33
    a = action(store, start + 10 * DAY)
    store.plans.close(TEAM, a.id, "done", by="U2", now=start + 20 * DAY)
    after = ask(store, start + 21 * DAY, [4, 3])  # two so far, still open
    [t] = tried(store, start + 22 * DAY)
    assert (t.before, t.after) == (pytest.approx(7 / 3), None) and not t.comparable
    store.answers.record_response(TEAM, after, "U9", rating=4, now=start + 22 * DAY)
    assert tried(store, start + 22 * DAY + 60)[0].after is None  # three now, but still open
    [t] = tried(store, start + 28 * DAY + 1)  # closed a week after it was asked
    assert (t.before, t.after) == (pytest.approx(7 / 3), pytest.approx(11 / 3)) and t.comparable
    assert summary_text.compared(t) == "2.3 → 3.7"


def test_a_side_with_fewer_than_k_answers_is_never_shown(store: Store) -> None:
    """A closed "before" that only two people answered stays hidden, however long ago it closed."""
    partnership(store)
    start = stamp(NOW) - 30 * DAY
    ask(store, start, [1, 5])
    a = action(store, start + DAY)
    store.plans.close(TEAM, a.id, "done", by="U1", now=start + 2 * DAY)
    ask(store, start + 3 * DAY, [4, 4, 4])
    [t] = tried(store, stamp(NOW))
    assert (t.before, t.after) == (None, 4.0)


def test_before_and_after_are_what_two_level_summaries_already_tell(store: Store) -> None:
    """Nothing new is revealed: each side equals the level's mean over a window holding just that check-in."""
    partnership(store)
    start = stamp(NOW) - 30 * DAY
    before = ask(store, start, [2, 3, 3, 4])
    a = action(store, start + DAY)
    store.plans.close(TEAM, a.id, "done", by="U1", now=start + 2 * DAY)
    after = ask(store, start + 3 * DAY, [5, 4, 4])
    [t] = tried(store, stamp(NOW))
    p = store.partnerships.get(TEAM, CHANNEL)
    before_at, after_at = (store.checkins.checkin(TEAM, cid).asked_at for cid in (before, after))
    # Windows cut at check-ins: from the "before" to just past the "after" (still open there, so not in the
    # mean), and from the "after" to now.
    for since, until, side in ((before_at, after_at + 1, t.before), (after_at, stamp(NOW) + 1, t.after)):
        assert store.activity.level_activity(p, since=since, until=until, k=p.k)["group"].mean == pytest.approx(side)


def test_a_check_in_still_posting_is_neither_before_nor_after(store: Store) -> None:
    """A check-in whose message never reached Slack counts nowhere, here too."""
    partnership(store)
    start = stamp(NOW) - 30 * DAY
    ask(store, start, [3, 3, 3])
    a = action(store, start + DAY)
    store.plans.close(TEAM, a.id, "done", by="U1", now=start + 2 * DAY)
    p = store.partnerships.get(TEAM, CHANNEL)
    store.checkins.record_checkin(
        p, facilitator_id="power-imbalances", level_id="group", asked_at=start + 3 * DAY, posting="claim"
    )
    assert store.plans.awaiting_after(p) == "power-imbalances"
    assert tried(store, stamp(NOW))[0].after is None


def test_a_done_action_waits_for_its_practice_to_be_asked_again(store: Store) -> None:
    """The next scheduled check-in asks a done action's practice, until one has been asked since."""
    p = partnership(store)
    a = action(store, stamp(NOW) - 5 * DAY, fac="shared-ownership")
    assert store.plans.awaiting_after(p) is None  # still open
    store.plans.close(TEAM, a.id, "done", by="U1", now=stamp(NOW) - 4 * DAY)
    assert store.plans.awaiting_after(p) == "shared-ownership"
    ask(store, stamp(NOW) - 3 * DAY, [], fac="shared-ownership")
    assert store.plans.awaiting_after(p) is None


def test_overdue_actions_are_listed_once_per_date(store: Store) -> None:
    """A scheduled summary lists an action past its date once; moved to a new date, it may be listed again."""
    partnership(store)
    a = action(store, stamp(NOW) - 10 * DAY, due_on=date(2026, 6, 5))
    p = store.partnerships.get(TEAM, CHANNEL)
    first = reports.partnership_summary(store, CATALOG, p, now=NOW, scheduled=True).loop
    assert [x.id for x in first.overdue] == [a.id]
    assert reports.partnership_summary(store, CATALOG, p, now=NOW).loop.overdue == ()  # only scheduled ones list
    store.plans.mark_overdue_listed(TEAM, list(first.overdue))
    assert reports.partnership_summary(store, CATALOG, p, now=NOW, scheduled=True).loop.overdue == ()
    store.plans.move_due(TEAM, a.id, date(2026, 6, 8), by="U2", now=stamp(NOW))
    assert len(reports.partnership_summary(store, CATALOG, p, now=NOW, scheduled=True).loop.overdue) == 1


def test_only_open_actions_change_and_every_change_is_recorded(store: Store) -> None:
    """Done, not yet and dropped each leave an event; a second close changes nothing."""
    partnership(store)
    a = action(store, stamp(NOW), due_on=date(2026, 6, 20))
    assert store.plans.move_due(TEAM, a.id, date(2026, 6, 27), by="U2", now=stamp(NOW) + 1).due_on == date(2026, 6, 27)
    assert store.plans.close(TEAM, a.id, "dropped", by="U1", now=stamp(NOW) + 2).status == "dropped"
    assert store.plans.close(TEAM, a.id, "done", by="U1", now=stamp(NOW) + 3) is None
    assert store.plans.move_due(TEAM, a.id, date(2026, 7, 1), by="U2", now=stamp(NOW) + 4) is None
    assert store.plans.events(TEAM, a.id) == [
        ("planned", "2026-06-20", "U1"),
        ("not yet", "2026-06-27", "U2"),
        ("dropped", None, "U1"),
    ]
    assert store.plans.get("T0002", a.id) is None  # another workspace never sees it


def test_the_actions_export_never_carries_the_answers_pseudonym(store: Store) -> None:
    """Everyone saw who leads an action: in the export the lead is an L- pseudonym, never the P- that would
    unmask their named answers; who planned it is left out."""
    partnership(store)
    start = stamp(NOW) - 30 * DAY
    for n in range(3):
        ask(store, start + n * 8 * DAY, [3, 4, 5], people="U")  # U0, U1, U2 answer, named
    action(store, start, lead="U2")
    answers = list(store.answers.export_rows(TEAM, now=stamp(NOW)))
    [row] = list(report_export.action_records(store, CATALOG, TEAM, now=NOW))
    answer_pseudonyms = {r["person"] for r in answers}
    assert row["lead"].startswith("L-") and row["lead"] not in answer_pseudonyms
    assert "U2" not in json.dumps(row) and "U1" not in json.dumps(row)
    assert set(report_export.ACTION_FIELDS) == set(row)


# ---- follow-up times --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "minute", "expected"),
    [
        (date(2027, 3, 26), 600, datetime(2027, 3, 26, 10, tzinfo=UTC)),  # GMT
        (date(2027, 4, 2), 600, datetime(2027, 4, 2, 9, tzinfo=UTC)),  # BST: 10:00 local is 09:00 UTC
        (date(2027, 3, 28), 90, datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),  # 01:30 doesn't exist: 02:30 BST
        (date(2027, 10, 31), 90, datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),  # 01:30 happens twice: the first
        (date(2027, 1, 5), None, datetime(2027, 1, 5, 10, tzinfo=UTC)),  # no check-in schedule: 10:00
    ],
)
def test_a_follow_up_comes_at_the_check_in_hour_in_the_partnerships_timezone(due, minute, expected) -> None:
    assert plans.reminder_at(due, "Europe/London", minute) == expected


@pytest.mark.parametrize(("typed", "problem"), [("", "say what"), ("   ", "say what"), ("x" * 501, "under 500")])
def test_what_we_will_do_is_required_and_short(typed: str, problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        plans.check_what(typed)


@pytest.mark.parametrize(
    ("typed", "problem"), [("2026-06-09", "passed"), ("2027-06-12", "within a year"), ("tomorrow", "calendar")]
)
def test_a_due_date_is_today_or_later_within_a_year(typed: str, problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        plans.check_due(typed, today=date(2026, 6, 10))
    assert plans.check_due("2026-06-10", today=date(2026, 6, 10)) == date(2026, 6, 10)


# ---- holiday pauses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("2026-06-10", "already come"), ("2027-06-12", "more than a year"), ("4/1/2027", "year-month-day")],
)
def test_a_pause_ends_on_a_date_after_today_within_a_year(typed: str, problem: str) -> None:
    with pytest.raises(PauseError, match=problem):
        holidays.parse_until(typed, today=date(2026, 6, 10))


def test_paused_weeks_do_not_count_against_a_level(store: Store) -> None:
    """A level asked nine weeks ago is "not discussed yet" in an 8-week window; with two weeks paused in it, the
    window reaches back past that check-in, and the summary says the window held a pause."""
    p = partnership(store, "Europe/London")
    ask(store, stamp(NOW) - 9 * 7 * DAY, [4, 4, 4], fac="clear-scope")
    level = lambda r: next(s for s in r.levels if s.level.id == "organisational")  # noqa: E731
    plain = reports.partnership_summary(store, CATALOG, p, now=NOW)
    assert level(plain).reasons == ("not discussed yet in the last 8 weeks",)
    store.partnerships.pause(
        p, until_on=date(2026, 5, 20), ends_at=stamp(NOW) - 21 * DAY, set_by="UCOORD", now=stamp(NOW) - 35 * DAY
    )
    paused = reports.partnership_summary(store, CATALOG, p, now=NOW)
    assert level(paused).reasons == () and level(paused).checkins == 1
    assert paused.window.weeks == 8 and (plain.window.start - paused.window.start) == timedelta(weeks=2)
    note = summary_text.pause_note(paused.window, "Europe/London")
    assert "held a pause (6 May to 20 May)" in note
    assert "held a pause" in summary_text.render_text(paused, timezone="Europe/London")


def test_a_paused_fortnight_does_not_count_toward_a_gap_in_meetings() -> None:
    last = NOW - timedelta(weeks=4)
    assert summaries.meeting_flag(last, NOW) == "no meeting logged in the last 3 weeks"
    pause = Pause(stamp(NOW) - 20 * DAY, stamp(NOW) - 6 * DAY, date(2026, 6, 4))
    assert summaries.meeting_flag(last, NOW, [pause]) is None


def test_a_new_pause_in_force_moves_instead_of_doubling(store: Store) -> None:
    p = partnership(store)
    store.partnerships.pause(p, until_on=date(2026, 7, 1), ends_at=stamp(NOW) + 20 * DAY, set_by="U1", now=stamp(NOW))
    store.partnerships.pause(p, until_on=date(2026, 7, 8), ends_at=stamp(NOW) + 27 * DAY, set_by="U1", now=stamp(NOW))
    [pause] = store.partnerships.pauses(p, since=0)
    assert pause.until == date(2026, 7, 8)
    assert store.partnerships.resume(p, now=stamp(NOW) + DAY) and not store.partnerships.resume(p, now=stamp(NOW) + DAY)
    assert holidays.active(store.partnerships.pauses(p, since=0), stamp(NOW) + 2 * DAY) is None


# ---- words and blocks -------------------------------------------------------------------------------------------


def sample_action(**kw) -> Action:
    fields = dict(
        id=7,
        partnership_id=1,
        team_id=TEAM,
        channel_id=CHANNEL,
        what="Rotating who chairs " + NASTY,
        facilitator_id="power-imbalances",
        level_id="group",
        lead="U2",
        due_on=date(2027, 1, 15),
        status="open",
        planned_by="U1",
        planned_at=stamp(NOW),
    )
    return Action(**(fields | kw))


def test_an_action_reads_as_the_issue_asks_and_escapes_what_was_typed() -> None:
    line = plan_blocks.action_line(sample_action(), CATALOG, date(2026, 12, 1))
    assert line.startswith("<@U2> will try rotating who chairs &lt;!channel&gt; &amp; &lt;@U999&gt;")
    assert ", by 15 January 2027, for *Facilitation and proactive management of potential power imbalances*" in line
    assert plan_blocks.action_line(sample_action(lead=None, due_on=None), CATALOG, NOW.date()).startswith("We will try")


def test_every_loop_message_is_valid_block_kit_and_leaks_no_typed_markup() -> None:
    """The form, the post (open and closed), the list, the follow-ups, the nudge and the summary's section."""
    a = sample_action()
    done = sample_action(status="done", closed_at=stamp(NOW))
    today = date(2027, 1, 15)
    loop = plans.Loop(open=(a,), overdue=(a,), tried=(plans.Tried(done, 2.4, 3.6), plans.Tried(done, None, 4.0)))
    messages = [
        plan_blocks.action_post_blocks(a, CATALOG, "Europe/London", today),
        plan_blocks.action_post_blocks(done, CATALOG, "Europe/London", today),
        plan_blocks.actions_list_blocks([sample_action(id=n) for n in range(1, 31)], CATALOG, today, may_change=[a.id]),
        plan_blocks.actions_list_blocks([], CATALOG, today),
        plan_blocks.reminder_blocks(a, CATALOG, today, to_lead=True),
        plan_blocks.reminder_blocks(a, CATALOG, today + timedelta(days=3), to_lead=False),
        plan_blocks.loop_blocks(loop, today),
        nudge_blocks(
            CATALOG.level("group"),
            CATALOG.facilitator("power-imbalances"),
            checkin_id=3,
            channel=CHANNEL,
            closes_at=stamp(NOW),
            timezone="UTC",
        ),
        optout_blocks(CHANNEL, True),
        optout_blocks(CHANNEL, False),
    ]
    for blocks in messages:
        check_message_blocks(blocks)
        for text in texts_in(blocks):
            assert "<!channel>" not in text and "<@U999>" not in text and "<https" not in text
    said = "\n".join(texts_in(plan_blocks.loop_blocks(loop, today)))
    assert "2.4 → 3.6 after *Rotating who chairs" in said
    assert "not enough answers yet to compare" in said
    form = plan_blocks.plan_modal(
        CATALOG, selected=CATALOG.facilitator("regular-meetings"), channel=CHANNEL, seal="s" * 32
    )
    check_view(form)
    practice = next(b for b in form["blocks"] if b.get("block_id") == "practice")["element"]
    assert practice["initial_option"]["value"] == "regular-meetings"
    assert sum(len(g["options"]) for g in practice["option_groups"]) == len(CATALOG.facilitators)


def test_each_neglected_level_and_flagged_practice_has_a_plan_button(store: Store) -> None:
    """A new partnership: every level neglected, and the regular-meetings practice flagged too: the Group level
    gets a button for the level and one for the practice."""
    p = partnership(store)
    result = reports.partnership_summary(store, CATALOG, p, now=NOW)
    blocks = summary_blocks(result, "UTC", channel=CHANNEL)
    check_message_blocks(blocks)
    values = [e["value"] for b in blocks for e in [b.get("accessory"), *b.get("elements", [])] if e and "value" in e]
    assert values == [
        "C0001|level:individual",
        "C0001|level:group",
        "C0001|practice:regular-meetings",
        "C0001|level:organisational",
        "C0001|level:societal",
        "C0001|level:paradigmatic",
    ]
    assert not [b for b in summary_blocks(result, "UTC") if b.get("accessory")]  # no channel, no buttons


def test_a_long_custom_catalog_still_fits_one_message_with_its_buttons() -> None:
    """60 neglected levels, each with a button and a flagged practice: the summary shows what fits in 50 blocks."""
    from bot.domain.catalog import Facilitator, Level

    levels = tuple(Level(f"l{n}", f"Level {n}", "micro") for n in range(60))
    facs = tuple(Facilitator(f"f{n}", f"l{n}", f"Practice {n}", "How?", ("meeting",)) for n in range(60))
    catalog = Catalog("test", levels, facs)
    window = summaries.window_for(NOW, "UTC")
    result = summaries.summarize(catalog, {}, window=window, now=NOW)
    check_message_blocks(summary_blocks(result, "UTC", channel=CHANNEL))


def test_forget_me_says_an_action_they_led_stays_without_their_name() -> None:
    text = forgotten_text({"answers": 1, "actions led": 1, "reminder settings": 1})
    assert "I erased 1 answer, 1 reminder setting." in text
    assert "The action you led stays the team's, without your name." in text
    assert "The 2 actions you led stay" in forgotten_text({"actions led": 2})
