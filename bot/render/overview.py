"""How we're doing, shown: a partnership's summary as a message, and App Home. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog
from bot.domain.findings import Disagreement, Fall, fall_words, gap_line
from bot.domain.holidays import holiday_text
from bot.domain.plans import Action
from bot.domain.summary import LevelSummary, Summary, format_mean
from bot.domain.summary_text import pause_note, reflected_words, stuck_words
from bot.render.blocks import MESSAGE_BLOCKS_MAX, button, clip, context, escape, header, section
from bot.render.plan_blocks import home_actions_block, loop_blocks, plan_buttons
from bot.render.settings_text import paused_text

# ---- summaries --------------------------------------------------------------------------------


def _level_block(
    s: LevelSummary,
    k: int,
    members: int | None,
    plan: dict | None = None,
    apart: tuple[Disagreement, ...] = (),
    fell: tuple[tuple[Fall, str], ...] = (),
) -> dict:
    lines = [f"*{escape(s.level.name)}*: {escape(s.level.gloss)}" if s.level.gloss else f"*{escape(s.level.name)}*"]
    if s.checkins:
        asked = "1 check-in" if s.checkins == 1 else f"{s.checkins} check-ins"
        who = "1 person" if s.responders == 1 else f"{s.responders} people"
        part = f" ({s.participation:.0%} of {members} members)" if s.participation is not None else ""
        answers = "1 answer" if s.responses == 1 else f"{s.responses} answers"
        lines.append(f"{asked}, {answers} from {who}{part}")
        if s.mean is not None:
            lines.append(f"Average rating: *{format_mean(s.mean)} of 5*")
        elif s.responders:
            lines.append(
                f"Average shown once a check-in {k} or more people answered has closed, so nobody can be singled out"
            )
    for reason in s.reasons:
        lines.append(f":warning: *neglected*: {reason}")
    for flag in s.flags:
        lines.append(f":warning: _{escape(flag.facilitator.text)}_ is *neglected*: {flag.reason}")
    for d in apart:
        what = f"_{escape(d.facilitator.prompt)}_: " if d.facilitator else ""
        lines.append(f":left_right_arrow: *seen differently*: {what}{d.words()}. Worth talking about together.")
    for fall, words in fell:
        lines.append(
            f":chart_with_downwards_trend: *rated lower than last time*: _{escape(fall.facilitator.prompt)}_: {words}"
        )
    if not s.reasons and not s.flags and not apart and not fell:
        if s.mean is None:  # answered, but its average is still hidden: too soon to call it well looked after
            lines.append(
                ":hourglass_flowing_sand: not enough answers to show yet, so it's too early to say how it's going"
            )
        else:
            lines.append(":white_check_mark: looking after this well")
    return section("\n".join(lines), block_id=f"level:{s.level.id}", **({"accessory": plan} if plan else {}))


def summary_blocks(
    summary: Summary, timezone: str, *, title: str | None = None, channel: str | None = None
) -> list[dict]:
    """The summary as a message; with ``channel``, each neglected level and flagged practice has a "Plan
    something" button for that channel's partnership."""
    tz = ZoneInfo(timezone)
    w = summary.window
    period = f"{w.start.astimezone(tz):%-d %b} to {w.end.astimezone(tz):%-d %b %Y}"
    blocks = [header(title or f"How we're doing: the last {w.weeks} weeks")]
    intro = f"From {period}."
    if w.widened_from:
        intro += f" (Widened from {w.widened_from} weeks so every level has had its turn.)"
    note = pause_note(w, timezone)
    if note:
        intro += f" {note}"
    blocks.append(context(intro))
    for s in summary.levels:
        if s.level.id in summary.stuck:  # raised first, with its own Plan something button
            plan = plan_buttons(channel, s)[0] if channel else None
            text = f":rotating_light: *Stuck:* {escape(stuck_words(summary, s.level.id))}"
            blocks.append(section(text, block_id=f"stuck:{s.level.id}", **({"accessory": plan} if plan else {})))
    today = w.end.astimezone(tz).date()
    loop = loop_blocks(summary.loop, today)
    levels = [(s, *(plan_buttons(channel, s) if channel else (None, None))) for s in summary.levels]
    # A message holds 50 blocks: a long custom catalog shows the levels that fit and says how to see the rest.
    room = (
        MESSAGE_BLOCKS_MAX
        - len(blocks)
        - 1
        - bool(summary.silent_roles)
        - bool(summary.gaps)
        - bool(summary.to_explain)
        - bool(summary.reflected)
        - len(loop)
    )
    shown: list[tuple[LevelSummary, dict | None, dict | None]] = []
    used = 0
    for s, plan, more in levels:
        used += 1 + bool(more)
        if used > room - (len(shown) + 1 < len(levels)):
            break
        shown.append((s, plan, more))
    for s, plan, more in shown:
        fell = tuple((f, fall_words(f, tz)) for f in summary.falls if f.facilitator.level_id == s.level.id)
        blocks.append(_level_block(s, summary.k, summary.members, plan, summary.disagreements_at(s.level.id), fell))
        if more:
            blocks.append(more)
    if len(shown) < len(summary.levels):
        blocks.append(
            context(
                f"…and {len(summary.levels) - len(shown)} more levels. See one with `/coprod summary &lt;level&gt;`."
            )
        )
    if summary.to_explain:
        blocks.append(explain_block(summary))
    if summary.gaps:
        blocks.append(gaps_block(summary))
    if summary.silent_roles:
        blocks.append(
            context(
                "We haven't heard from these roles in this time: "
                + ", ".join(escape(r) for r in summary.silent_roles)
                + ". A gentle invitation might help."
            )
        )
    if summary.reflected:
        blocks.append(context(reflected_words(summary.reflected)))
    blocks.extend(loop)
    focus = summary.next_focus
    blocks.append(section(f"*A suggestion for next time:* _{escape(focus.text)}_\n{escape(focus.prompt)}"))
    return blocks


def explain_block(summary: Summary) -> dict:
    """Practices most people are "not sure yet" about: ones to explain, not to worry about."""
    lines = ["*Worth explaining to the team*: most people said “not sure yet” about"]
    lines += [f":grey_question: _{escape(f.prompt)}_" for f in summary.to_explain]
    lines.append("A few words at your next meeting about what this means for your project could help.")
    return section(clip("\n".join(lines), 3000), block_id="explain")


def gaps_block(summary: Summary) -> dict:
    """The practices not asked for a long time, each with why (bot/domain/findings.py)."""
    lines = ["*Not asked for a long time*"]
    lines += [f":warning: _{escape(g.facilitator.text)}_: {gap_line(g)}" for g in summary.gaps]
    lines.append(
        "Pin one for the next check-in with `/coprod next &lt;practice&gt;`, or ask it now with `/coprod checkin`."
    )
    return section(clip("\n".join(lines), 3000), block_id="gaps")


def summary_text(summary: Summary) -> str:
    flagged = [escape(s.level.name) for s in summary.neglected]
    if not flagged:
        return "How we're doing: every level is looked after."
    return "How we're doing: neglected levels: " + ", ".join(flagged)


# ---- App Home ---------------------------------------------------------------------------------

# "up to 50 blocks in each message, and 100 blocks in modals or Home tabs"
# (https://docs.slack.dev/reference/block-kit/blocks); views.publish refuses more.
VIEW_BLOCKS_MAX = 100
COMPACT_MAX = 40  # partnerships listed one line each, well within a section's 3000 characters


def coverage_bar(covered: int, total: int, width: int = 10) -> str:
    filled = round(width * covered / total) if total else 0
    return "▰" * filled + "▱" * (width - filled)


@dataclass(frozen=True)
class HomeItem:
    """One partnership as its member sees it on App Home."""

    channel: str
    timezone: str
    summary: Summary
    next: dict[str, datetime | None]  # kind -> when it fires next (None while paused); set kinds only
    paused: str | None  # why the schedules are paused
    coordinator: bool  # may use the coordinator buttons
    reflexivity_on: bool  # gets reflection prompts
    picture: tuple[str, str] | None = None  # (Slack file id, alt text) of the last coverage picture shared
    actions: tuple[Action, ...] = ()  # open actions (bot/domain/plans.py)
    paused_until: datetime | None = None  # a holiday pause in force ends then
    # The viewer's own reflection answers, latest first: (asked at, practice id, rating; 0 "not sure yet").
    # Only ever this viewer's: App Home is published to one person.
    reflections: tuple[tuple[int, str, int], ...] = ()


def posted_note(what: str, channel: str, at: datetime) -> str:
    """Home's answer to its "Ask a check-in now" and "Post the summary" buttons: ``what`` was posted."""
    return f":white_check_mark: Posted {what} in <#{channel}> at {at:%H:%M}."


def not_posted_note(what: str, channel: str, error: str | None, *, paused: bool = False) -> str:
    """…and when it wasn't: ``error`` is Slack's refusal, None when Slack didn't answer at all."""
    if error is None:
        return (
            f":warning: I'm not sure {what} reached <#{channel}>: Slack didn't answer. "
            "Please have a look in the channel before trying again."
        )
    if paused:
        return f":warning: I couldn't post {what} in <#{channel}>, so I've paused its schedules: see above for why."
    return (
        f":warning: I couldn't post {what} in <#{channel}> (Slack said “{escape(error)}”). "
        "Please try again in a minute."
    )


def _latest(item: HomeItem) -> float:
    """When anything last happened in the partnership's window (a check-in or an answer); -1 when nothing has."""
    times = [s.last_activity.timestamp() for s in item.summary.levels if s.last_activity]
    return max(times, default=-1.0)


def home_view(partnerships: Iterable[HomeItem], catalog: Catalog, notes: Mapping[str, str] | None = None) -> dict:
    """App Home: each partnership's levels with coverage, flags and what is coming next, the most recently
    active first. Those that don't fit in Slack's 100 blocks get a line each, saying where to see them.
    ``notes``: a line of news for a partnership (channel -> mrkdwn), such as "posted the summary"."""
    blocks: list[dict] = [
        header("coprod"),
        context("How your partnerships are keeping up the practices of co-production."),
    ]
    items = sorted(partnerships, key=_latest, reverse=True)  # stable: equally quiet ones keep the store's order
    if not items:
        blocks.append(
            section(
                "You're not in a channel that uses coprod yet. Invite me to your partnership's "
                "channel with `/invite @coprod`, then type `/coprod help` there."
            )
        )
    rest: list[HomeItem] = []
    for n, item in enumerate(items):
        shown = [] if rest else _partnership_blocks(item, catalog, (notes or {}).get(item.channel))
        # Leave room for the divider and the section that point to those after this one, should they not fit.
        reserve = 2 if n + 1 < len(items) else 0
        if shown and len(blocks) + len(shown) + reserve <= VIEW_BLOCKS_MAX:
            blocks.extend(shown)
        else:
            rest.append(item)
    if rest:
        blocks.append({"type": "divider"})
        blocks.append(_compact(rest, len(rest) < len(items)))
    return {"type": "home", "blocks": blocks}


def _compact(items: list[HomeItem], after_others: bool) -> dict:
    """One line for each partnership there is no room to show in full."""
    n = len(items)
    if after_others:
        title = f"*And {n} more {'partnership' if n == 1 else 'partnerships'}.* There isn't room for them all here"
    else:
        title = "*Your partnerships.* There isn't room to show them in full here"
    lines = []
    for item in items[:COMPACT_MAX]:
        neglected = sum(1 for s in item.summary.levels if s.neglected or s.flags)
        state = f"{neglected} of {len(item.summary.levels)} levels neglected" if neglected else "nothing neglected"
        lines.append(f"• <#{item.channel}>  ·  {state}")
    if n > COMPACT_MAX:
        lines.append(f"…and {n - COMPACT_MAX} more")
    return section(f"{title}: to see one, open its channel and type `/coprod summary`.\n" + "\n".join(lines))


def reflections_block(item: HomeItem, catalog: Catalog) -> dict | None:
    """Your own reflections, for you alone: they are in no team figure (the team sees only how many took part)."""
    tz = ZoneInfo(item.timezone)
    lines = []
    for asked_at, fac_id, rating in item.reflections:
        try:
            fac = catalog.facilitator(fac_id)
        except KeyError:  # a practice since taken out of a custom catalog
            continue
        answer = f"{rating} of 5 ({fac.labels[rating]})" if rating else "not sure yet"
        lines.append(f"{datetime.fromtimestamp(asked_at, tz):%-d %b}: _{escape(fac.prompt)}_ {answer}")
    if not lines:
        return None
    return context(clip("*Your reflections* (only you see these):\n" + "\n".join(lines), 3000))


def _partnership_blocks(item: HomeItem, catalog: Catalog, note: str | None) -> list[dict]:
    """One partnership in full. Its block ids carry the channel: Slack refuses a view whose block ids repeat
    (https://docs.slack.dev/reference/block-kit/blocks: a block_id is unique within a message or view)."""
    channel, summary, tz = item.channel, item.summary, item.timezone
    blocks: list[dict] = [{"type": "divider"}, section(f"*<#{channel}>*  ·  last {summary.window.weeks} weeks")]
    for s in summary.levels:
        total = len(catalog.in_level(s.level.id))
        covered = s.covered
        line = f"{coverage_bar(covered, total)}  *{escape(s.level.name)}*  {covered} of {total} practices discussed"
        for reason in s.reasons:
            line += f"\n      :warning: neglected: {reason}"
        for flag in s.flags:
            line += f"\n      :warning: {escape(flag.facilitator.text)}: neglected: {flag.reason}"
        plan, more = plan_buttons(channel, s)
        blocks.append(section(line, **({"accessory": plan} if plan else {})))
        if more:
            # The Plan buttons say what they plan in their values; the block id only has to be unique here.
            blocks.append({**more, "block_id": f"plan:{channel}:{s.level.id}"})
    if item.picture:
        file_id, alt = item.picture
        blocks.append({"type": "image", "slack_file": {"id": file_id}, "alt_text": clip(alt, 2000)})
    upcoming = []
    for kind in ("checkins", "summary", "meeting"):
        when = item.next.get(kind)
        label = {"checkins": "Next check-in", "summary": "Next summary", "meeting": "Next meeting reminder"}[kind]
        if when:
            shown = f"{when.astimezone(ZoneInfo(tz)):%a %-d %b, %H:%M}"
        else:
            shown = "paused" if item.paused and kind in item.next else "not set"
        upcoming.append(f"{label}: {shown}")
    blocks.append(context("  ·  ".join(upcoming)))
    if item.paused:
        blocks.append(context(":pause_button: " + paused_text(channel, item.paused)))
    if item.paused_until:
        # The emoji itself, not its :palm_tree: code: it reads the same wherever the words are shown.
        blocks.append(context("🌴 " + holiday_text(item.paused_until, tz)))
    listed = home_actions_block(list(item.actions), catalog, summary.window.end.astimezone(ZoneInfo(tz)).date())
    if listed:
        blocks.append(listed)
    buttons = []
    if item.coordinator:
        buttons += [
            button("Ask a check-in now", "home_checkin", channel, style="primary"),
            button("Post the summary", "home_summary", channel),
        ]
    mine = reflections_block(item, catalog)
    if mine:
        blocks.append(mine)
    if item.reflexivity_on:
        buttons.append(button("Stop my reflection prompts", "reflexivity_off", channel))
    else:
        buttons.append(button("Send me reflection prompts", "reflexivity_on", channel))
    blocks.append({"type": "actions", "block_id": f"home:{channel}", "elements": buttons})
    if note:
        blocks.append(context(note))
    return blocks
