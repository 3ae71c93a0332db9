"""The summary in words: the plain-text rendering for the command line, and the sentences the Slack summary
(bot/render/overview.py) shares with it: why a level is stuck, a pause held, reflections, before and after. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import findings
from bot.domain.plans import Tried
from bot.domain.summary import Summary, Window, format_mean

PAUSE_NOTED = timedelta(hours=1)  # a shorter pause is not named in the summary


def _weeks(weeks: int) -> str:
    return "1 week" if weeks == 1 else f"{weeks} weeks"


def reflected_words(people: int) -> str:
    """All the team is told of private reflections: how many took part."""
    who = "1 person" if people == 1 else f"{people} people"
    return f"Private reflections: {who} took part. What each person reflected stays with them."


def stuck_words(summary: Summary, level_id: str) -> str:
    """Why a level is raised at the top: flagged four summaries running, nothing planned."""
    name = next((s.level.name for s in summary.levels if s.level.id == level_id), level_id)
    return (
        f"{name} has been flagged in the last 4 regular summaries and nothing is planned for it yet. "
        "Could you plan one small thing together?"
    )


def pause_note(window: Window, timezone: str) -> str | None:
    """What the summary says when its window held a holiday pause. A pause ended within the hour (resumed at
    once, say) held back nothing worth naming and is left out; one within a day is "on 6 Dec"."""
    shown = [p for p in window.paused if p.ends_at - p.starts_at >= PAUSE_NOTED.total_seconds()]
    if not shown:
        return None
    tz = ZoneInfo(timezone)
    days = [(datetime.fromtimestamp(p.starts_at, tz), datetime.fromtimestamp(p.ends_at, tz)) for p in shown]
    spans = ", ".join(
        f"on {start:%-d %b}" if start.date() == end.date() else f"{start:%-d %b} to {end:%-d %b}" for start, end in days
    )
    return (
        f"This time held a pause ({spans}): the time paused doesn't count against any level, so it reaches back "
        "that much further."
    )


def compared(tried: Tried) -> str | None:
    """ "2.4 → 3.6": the practice's rating before and after an action, where both may be shown."""
    if tried.before is None or tried.after is None:
        return None
    return f"{format_mean(tried.before)} → {format_mean(tried.after)}"


def render_text(summary: Summary, *, timezone: str = "UTC") -> str:
    """A plain-text rendering for the command line."""
    tz = ZoneInfo(timezone)
    w = summary.window
    lines = [f"Summary for {w.start.astimezone(tz):%d %b %Y} to {w.end.astimezone(tz):%d %b %Y} ({_weeks(w.weeks)})"]
    for level_id in summary.stuck:
        lines.append(f"Stuck: {stuck_words(summary, level_id)}")
    if w.widened_from:
        lines.append(f"(widened from {_weeks(w.widened_from)} so every level has had its turn)")
    note = pause_note(w, timezone)
    if note:
        lines.append(f"({note})")
    for s in summary.levels:
        lines.append("")
        lines.append(f"{s.level.name} ({s.level.scale})")
        lines.append(f"  check-ins: {s.checkins}  answers: {s.responses}  people: {s.responders}")
        if s.participation is not None:
            lines.append(f"  participation: {s.participation:.0%} of {summary.members} members")
        if s.mean is not None:
            lines.append(f"  average rating: {format_mean(s.mean)} of 5")
        elif s.responders:
            lines.append(f"  average rating: hidden (fewer than {summary.k} people answered)")
        if s.last_activity:
            lines.append(f"  last activity: {s.last_activity.astimezone(tz):%d %b %Y}")
        for reason in s.reasons:
            lines.append(f"  neglected: {reason}")
        for flag in s.flags:
            lines.append(f"  neglected: {flag.facilitator.text}: {flag.reason}")
        for d in summary.disagreements_at(s.level.id):
            lines.append(f"  seen differently: {d.facilitator.text + ': ' if d.facilitator else ''}{d.words()}")
    if summary.silent_roles:
        lines.append("")
        lines.append("Not heard from in this window: " + ", ".join(summary.silent_roles))
    if summary.reflected:
        lines.append("")
        lines.append(reflected_words(summary.reflected))
    for fall in summary.falls:
        lines.append("")
        lines.append(f"Rated lower than last time: {fall.facilitator.text}: {findings.fall_words(fall, tz)}")
    if summary.to_explain:
        lines.append("")
        lines.append("Most people are not sure yet about these, so they may be worth explaining to the team:")
        lines += [f"  {f.text}" for f in summary.to_explain]
    if summary.gaps:
        lines.append("")
        lines.append("Practices not asked for a long time:")
        for gap in summary.gaps:
            lines.append(f"  {gap.facilitator.text}: {findings.gap_line(gap)}")
    loop = summary.loop
    if loop and (loop.open or loop.tried):
        lines.append("")
        lines.append(f"Actions in progress: {len(loop.open)}")
        for a in loop.overdue:
            lines.append(f"  past its date ({a.due_on:%d %b %Y}): {a.what}")
        for t in loop.tried:
            lines.append(f"  {compared(t) or 'not enough answers yet to compare'} after {t.action.what}")
    lines.append("")
    lines.append(f"Suggested next focus: {summary.next_focus.text}")
    return "\n".join(lines)
