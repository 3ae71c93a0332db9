"""Reports assembled from the store: a partnership's level summary, the coverage picture and the funder's report.
The exports (answers, actions, changes, the ledger; CSV and JSON) are ``report_export``'s."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import coverage, findings, holidays, involvement, plans, schedule
from bot.domain import summary as summaries
from bot.domain.catalog import Catalog
from bot.render import gripp_form, gripp_report
from bot.store import Partnership, Store
from bot.store.records import ReportInputs, ScheduleRow


def partnership_summary(
    store: Store,
    catalog: Catalog,
    p: Partnership,
    *,
    now: datetime,
    weeks: int | None = None,
    level_id: str | None = None,
    scheduled: bool = False,
) -> summaries.Summary:
    """The level summary of one partnership, with its actions; ``scheduled``: a scheduled summary, which lists
    the actions past their date that no scheduled summary listed yet."""
    schedules = store.partnerships.schedules(p)
    cadence = schedules.get("checkins")
    pauses = store.partnerships.pauses(p, since=0)
    window = summaries.window_for(
        now,
        p.timezone,
        weeks or p.window_weeks,
        cadence=cadence.cadence if cadence else None,
        level_count=len(catalog.levels),
        pauses=pauses,
    )
    since, until = int(window.start.timestamp()), int(window.end.timestamp()) + 1
    seen = store.activity.summary_inputs(p, since=since, until=until)
    actions, groups, listed = store.plans.for_summary(p, since=since, now=int(now.timestamp()))
    loop = plans.loop_of(
        actions,
        groups,
        today=now.astimezone(ZoneInfo(p.timezone)).date(),
        since=since,
        overdue_listed=listed if scheduled else None,
    )
    result = summaries.summarize(
        catalog,
        seen.levels,
        window=window,
        now=now,
        k=p.k,
        members=p.member_count,
        last_meeting=datetime.fromtimestamp(seen.last_meeting, UTC) if seen.last_meeting else None,
        roles=store.people.roles(p).values(),
        answered_roles=seen.answered_roles,
        history=seen.history,
        asked_at=seen.asked_at,
        size=p.size,
        sides=store.activity.ratings_by_side(p, since=since, until=until, partner_roles=findings.PARTNER_ROLES),
        level_id=level_id,
        pauses=pauses,
        meetings_scheduled=meetings_scheduled(schedules.get("meeting"), p.timezone, now),
        means=store.activity.practice_means(p, until=until),
        not_sure=store.activity.not_sure(p, since=since, until=until),
    )
    stuck = (
        stuck_levels(store, catalog, p, result, now, summary=schedules.get("summary"), pauses=pauses)
        if scheduled and level_id is None
        else ()
    )
    reflected = store.reflections.reflected(p, since=since, until=until)
    return replace(result, loop=loop, stuck=stuck, reflected=reflected)


STUCK_RUN = 4  # regular summaries in a row that flagged a level, with nothing planned for it


def stuck_levels(
    store: Store,
    catalog: Catalog,
    p: Partnership,
    now_summary: summaries.Summary,
    now: datetime,
    *,
    summary: ScheduleRow | None,
    pauses: Sequence[holidays.Pause],
) -> tuple[str, ...]:
    """Levels flagged in each of the last four regular summaries (the ``summary`` schedule's times before the
    one due now, outside holiday ``pauses``), still flagged now, with no action planned for them since the
    first."""
    flagged_now = {s.level.id for s in now_summary.neglected}
    if summary is None or not flagged_now:
        return ()
    start = max(datetime.fromtimestamp(summary.set_at, UTC), now - timedelta(weeks=STUCK_RUN * 5))
    # The latest time due is the summary being posted now; the ones before it are the run.
    earlier = schedule.fire_times(schedule.spec_of(summary), p.timezone, start, now)[:-1]
    times = [t for t in earlier if not holidays.paused_seconds(pauses, int(t.timestamp()), int(t.timestamp()) + 1)]
    times = times[-STUCK_RUN:]
    if len(times) < STUCK_RUN:
        return ()
    stuck = set(flagged_now)
    for t in times:
        stuck &= {s.level.id for s in partnership_summary(store, catalog, p, now=t).neglected}
    first = int(times[0].timestamp())
    actions = store.plans.for_summary(p, since=first, now=int(now.timestamp()))[0]
    planned = {a.level_id for a in actions if a.status == "open" or a.planned_at >= first}
    return tuple(level.id for level in catalog.levels if level.id in stuck - planned)


def meetings_scheduled(meeting: ScheduleRow | None, timezone: str, now: datetime) -> list[datetime] | None:
    """The team's meeting times since its meeting schedule was set (the last nine weeks of them: enough for
    two monthly meetings), or None when it has no schedule."""
    if meeting is None:
        return None
    start = max(datetime.fromtimestamp(meeting.set_at, UTC), now - timedelta(weeks=9))
    local = ZoneInfo(timezone)  # the summary names the missed meeting's day as the team knows it
    return [t.astimezone(local) for t in schedule.fire_times(schedule.spec_of(meeting), timezone, start, now)]


def partnership_actions(store: Store, p: Partnership, *, start: datetime, end: datetime, now: datetime) -> list[dict]:
    """The partnership's actions planned or closed in [start, end], as the actions export has them
    (pseudonymous; before and after only where the anonymity rule allows)."""
    first, last = start.date().isoformat(), end.date().isoformat()
    return [
        row
        for row in store.plans.export_rows(
            p.team_id, p.channel_id, now=int(now.timestamp()), key=store.answers.responder_key
        )
        if first <= row["planned_on"] <= last or (row["closed_on"] and first <= row["closed_on"] <= last)
    ]


def coverage_grid(
    store: Store, catalog: Catalog, p: Partnership, *, start: datetime, end: datetime, now: datetime
) -> tuple[coverage.Grid, ReportInputs, list[dict]]:
    """The coverage grid of [start, end), the facts it was made from, and the actions of the period."""
    # Up to and including ``end``'s second, as the summary counts up to and including now.
    seen = store.activity.report_inputs(
        p, since=int(start.timestamp()), until=int(end.timestamp()) + 1, now=int(now.timestamp())
    )
    actions = partnership_actions(store, p, start=start, end=end, now=now)
    done = [
        int(datetime.fromisoformat(a["closed_on"]).replace(hour=12, tzinfo=UTC).timestamp())
        for a in actions
        if a["status"] == "done" and a["closed_on"]
    ]
    marks = {"Meetings held": seen.meetings, "Actions done": done}
    grid = coverage.build(catalog, seen.asked, start=start, end=end, timezone=p.timezone, marks=marks)
    return grid, seen, actions


def coverage_picture(
    store: Store, catalog: Catalog, p: Partnership, *, start: datetime, end: datetime, now: datetime
) -> tuple[bytes, str]:
    """The coverage picture of [start, end) as PNG bytes, and its alt text."""
    from bot.render import picture  # noqa: PLC0415 - Pillow only when a picture is drawn

    grid, _, _ = coverage_grid(store, catalog, p, start=start, end=end, now=now)
    return picture.draw(grid), coverage.alt_text(grid)


PICTURE_WEEKS = 26


def picture_period(p: Partnership, now: datetime, *, weeks: int = PICTURE_WEEKS) -> tuple[datetime, datetime]:
    """What a coverage picture shows by default: the last ``weeks`` weeks, not before the partnership began."""
    began = datetime.fromtimestamp(p.created_at, UTC)
    return max(now - timedelta(weeks=weeks), min(began, now - timedelta(weeks=4))), now


def report_period(
    p: Partnership, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The report's period: from ``since`` (default: when the partnership began) to ``until`` (default: now)."""
    return since or datetime.fromtimestamp(p.created_at, UTC), until or now


def partnership_report(
    store: Store,
    catalog: Catalog,
    p: Partnership,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """The funder's report of one partnership, as one self-contained HTML file."""
    from bot.render import picture  # noqa: PLC0415 - Pillow only when a picture is drawn

    start, end = report_period(p, since, until, now)
    grid, seen, actions = coverage_grid(store, catalog, p, start=start, end=end, now=now)
    facts = gripp_report.ReportFacts(
        channel=channel_name(store, p),
        timezone=p.timezone,
        start=start,
        end=end,
        made=now,
        k=p.k,
        members=p.member_count,
        asked=seen.asked,
        meetings=seen.meetings,
        people=seen.people,
        role_answers=seen.role_answers,
        role_sizes=seen.role_sizes,
        reflexivity_optouts=seen.reflexivity_optouts,
        actions=actions,
        picture_png=picture.draw(grid),
        picture_alt=coverage.alt_text(grid),
        form=involvement_facts(store, p, seen, start=start, end=end, now=now),
        filename=report_filename(store, p, start, end),
    )
    return gripp_report.render(facts, catalog)


def with_involvement(
    blocks: list[dict], store: Store, p: Partnership, result: summaries.Summary, *, coordinators: bool = True
) -> list[dict]:
    """A summary's blocks with its line on the record of involvement (bot/render/involvement_blocks.py), where a message
    has room for it (50 blocks: https://docs.slack.dev/reference/block-kit/blocks)."""
    from bot.render.involvement_blocks import summary_context  # noqa: PLC0415 - Block Kit only for Slack's summaries

    tz = ZoneInfo(p.timezone)
    first = result.window.start.astimezone(tz).date().isoformat()
    last = result.window.end.astimezone(tz).date().isoformat()
    inv = store.involvement
    changes = len(inv.changes(p, first=first, last=last))
    overdue = involvement.overdue(inv.lines(p), inv.rates(p), inv.choices(p), result.window.end.astimezone(tz).date())
    extra = summary_context(changes, overdue if coordinators else 0)
    return blocks + extra if len(blocks) + len(extra) <= 50 else blocks


def channel_name(store: Store, p: Partnership) -> str:
    """The channel as people know it (#name), learned from the commands Slack sent; its id until then."""
    name = store.involvement.texts(p).get("channel_name")
    return f"#{name}" if name else p.channel_id


def report_filename(store: Store, p: Partnership, start: datetime, end: datetime) -> str:
    """A report's file name, saying its channel and its period: coprod-report-diabetes-2026-01-01-to-2026-06-30.html."""
    tz = ZoneInfo(p.timezone)
    name = re.sub(r"[^a-z0-9_-]+", "-", channel_name(store, p).lstrip("#").lower()).strip("-") or "channel"
    return f"coprod-report-{name}-{start.astimezone(tz):%Y-%m-%d}-to-{end.astimezone(tz):%Y-%m-%d}.html"


def involvement_facts(
    store: Store, p: Partnership, seen: ReportInputs, *, start: datetime, end: datetime, now: datetime
) -> gripp_form.FormFacts:
    """What the GRIPP2 short form shows of the record of involvement in [start, end]: totals, never names."""
    tz = ZoneInfo(p.timezone)
    first, last = start.astimezone(tz).date().isoformat(), end.astimezone(tz).date().isoformat()
    inv = store.involvement
    lines = [line for line in inv.lines(p) if first <= line.done_on <= last]
    rates, choices, roles = inv.rates(p), inv.choices(p), store.people.roles(p)
    texts = inv.texts(p)
    counts = dict(Counter(roles.values()))
    return gripp_form.FormFacts(
        aim=texts.get("aim"),
        title=texts.get("title"),
        roles=counts,
        unroled=max(0, (p.member_count or 0) - len(roles)),
        involvement=involvement.totals(lines, rates, choices, roles),
        changes=inv.changes(p, first=first, last=last),
        unheard_roles=sorted(r for r, n in seen.role_answers.items() if n == 0),
        unpaid=involvement.overdue(lines, rates, choices, now.astimezone(tz).date()),
    )
