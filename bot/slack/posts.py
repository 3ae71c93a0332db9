"""The posts the bot makes on its own: check-ins, summaries, meeting reminders, reflection prompts.

Used by slash commands and by the scheduler alike. A post in a channel is made once (bot/slack/delivery.py): the
scheduler passes the key of its claim, a post asked for by hand gets a key of its own. A Slack error that
means the channel is gone or closed to us pauses the partnership's schedules and tells its coordinators once.
"""

from __future__ import annotations

import logging
from concurrent.futures import CancelledError, Future
from datetime import datetime
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import rotation
from bot.domain.catalog import Facilitator, Level
from bot.render import messages, overview, settings_text
from bot.reports import coverage_picture, partnership_summary, picture_period, with_involvement
from bot.slack import delivery
from bot.slack.deps import Deps
from bot.store import Checkin, Partnership
from bot.work.lanes import Lane

# Slack errors after which no later post can succeed until someone acts: the channel is gone or closed to
# coprod, the app lacks a permission, the workspace's access is gone, or the channel won't take its posts
# (https://docs.slack.dev/reference/methods/chat.postMessage, "Errors").
PAUSE_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "missing_scope",
        "team_access_not_granted",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        *("invalid_auth", "token_revoked", "token_expired"),
    }
)
# chat.update's answers meaning a message can't be updated, now or later
# (https://docs.slack.dev/reference/methods/chat.update, "Errors"): showing a check-in closed isn't retried.
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed", *PAUSE_ERRORS})
# Of those, the ones that mean coprod's token can't be used at all: it can't DM anyone either, so the pause is
# logged, and told on the next /coprod command in the channel (answered without the token).
DEAD_TOKEN = frozenset({"invalid_auth", "token_revoked", "token_expired"})
log = logging.getLogger(__name__)


def choose_facilitator(
    deps: Deps, p: Partnership, target: Level | Facilitator | None, *, scheduled: bool
) -> tuple[Facilitator, bool]:
    """The facilitator to ask about, and whether it was the coordinator's pin.

    A pin (`/coprod next …`) is for the next *scheduled* check-in; one asked by hand leaves it alone."""
    history = deps.store.activity.last_asked(p)
    if target is not None:
        return rotation.next_facilitator(deps.catalog, history, pinned=target.id, size=p.size), False
    pinned = p.pinned if scheduled else None
    if scheduled and not pinned:
        # A done action's practice is asked next, so the summary can show whether it helped (bot/domain/plans.py).
        after = deps.store.plans.awaiting_after(p)
        if after is not None and after in {f.id for f in deps.catalog.facilitators}:
            return rotation.next_facilitator(deps.catalog, history, pinned=after), False
    return rotation.next_facilitator(deps.catalog, history, pinned=pinned, size=p.size), bool(pinned)


def post_checkin(
    deps: Deps,
    client: WebClient,
    p: Partnership,
    target: Level | Facilitator | None = None,
    *,
    scheduled: bool = False,
    key: delivery.PostKey | None = None,
) -> int:
    """Ask the channel about the next facilitator (or the one chosen), once; returns the check-in id.

    The check-in's row is written before the post (its buttons carry the id) and counts nowhere until Slack
    has the message (or a click on it shows Slack has it). A scheduled post taken up again re-uses the row an
    earlier attempt left (and that attempt's message, if it reached Slack); one Slack refused is deleted, and
    one whose outcome can't be told yet (delivery.LookLater) is kept."""
    checkins = deps.store.checkins
    key = key or delivery.asked_now(deps.stamp())
    earlier = earlier_checkin(deps, p, key)
    if earlier is not None:
        checkin_id, facilitator = earlier
        used_pin = scheduled and p.pinned in (facilitator.id, facilitator.level_id)
    else:
        facilitator, used_pin = choose_facilitator(deps, p, target, scheduled=scheduled)
        checkin_id = checkins.record_checkin(
            p, facilitator_id=facilitator.id, level_id=facilitator.level_id, asked_at=deps.stamp(), posting=key.claim
        )
    level = deps.catalog.level(facilitator.level_id)
    try:
        posted = delivery.deliver(
            client,
            p.channel_id,
            key,
            text=messages.checkin_text(facilitator),
            blocks=messages.checkin_blocks(level, facilitator, checkin_id, 0),
            payload={"checkin": checkin_id},
        )
    except SlackApiError as exc:
        if delivery.refused(exc):  # nothing was posted; otherwise the row waits, counting nowhere, for a retry
            checkins.delete_checkin(p.team_id, checkin_id)
        raise
    found_id = posted.payload.get("checkin") if posted.found else None
    if isinstance(found_id, int) and found_id != checkin_id and checkins.checkin(p.team_id, found_id) is not None:
        # The message found is an earlier attempt's check-in, which a click already showed was in Slack
        # (bot/slack/listeners/actions.py): that one stands, and this attempt's row, never posted, goes.
        checkins.delete_checkin(p.team_id, checkin_id)
        checkin_id = found_id
    checkins.set_checkin_message(p.team_id, checkin_id, posted.ts)
    if used_pin:  # only once the team has really been asked
        deps.store.partnerships.set_pin(p, None)
    if not scheduled:  # the scheduler refreshes member counts off its posting path (bot/runtime/jobs.py)
        refresh_members(deps, client, p)
    return checkin_id


def earlier_checkin(deps: Deps, p: Partnership, key: delivery.PostKey) -> tuple[int, Facilitator] | None:
    """The check-in an earlier attempt of this post wrote and never saw reach Slack, if it can be asked again."""
    if not key.retaken:
        return None
    row = deps.store.checkins.unposted_checkin(p, key.claim)
    if row is None:
        return None
    try:
        return row.id, deps.catalog.facilitator(row.facilitator_id)
    except KeyError:  # the catalog changed since: that attempt's message can't be in Slack in a form we know
        deps.store.checkins.delete_checkin(p.team_id, row.id)
        return None


def show_closed(deps: Deps, client: WebClient, checkin: Checkin) -> None:
    """Show a check-in that has closed as closed in its message: its buttons taken off and its final count
    shown, as a click after closing shows it (bot/slack/listeners/actions.py). The scheduler's tick does it, once,
    off the posting path (bot/runtime/jobs.py). Raises SlackApiError when Slack may take the update later."""
    facilitator = deps.catalog.facilitator(checkin.facilitator_id)
    level = deps.catalog.level(checkin.level_id)
    count = deps.store.answers.response_count(checkin.team_id, checkin.id)
    try:
        client.chat_update(
            channel=checkin.channel_id,
            ts=checkin.message_ts or "",  # only posted check-ins, which have their message's ts, are shown closed
            text=messages.checkin_text(facilitator),
            blocks=messages.checkin_blocks(level, facilitator, checkin.id, count, closed=True),
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if exc.response.status_code != 200 or error not in GONE:
            raise
        log.warning("could not show check-in %s of team %s closed: %s", checkin.id, checkin.team_id, error)
    deps.store.checkins.shown_closed(checkin.team_id, checkin.id)


def channel_members(client: WebClient, channel: str) -> list[str]:
    members: list[str] = []
    for page in client.conversations_members(channel=channel, limit=200):
        members.extend(page.get("members", []))
    return members


def refresh_members(deps: Deps, client: WebClient, p: Partnership) -> list[str]:
    """Remember how many people are in the channel (for participation); bots don't count."""
    try:
        bot = deps.bot_user(client, p.team_id)
        members = [m for m in channel_members(client, p.channel_id) if m != bot]
    except SlackApiError as exc:
        log.warning(
            "conversations.members failed for team %s channel %s: %s",
            p.team_id,
            p.channel_id,
            exc.response.get("error"),
        )
        return []
    deps.store.partnerships.set_member_count(p, len(members))
    return members


def post_summary(
    deps: Deps,
    client: WebClient,
    p: Partnership,
    *,
    title: str | None = None,
    weeks: int | None = None,
    level_id: str | None = None,
    key: delivery.PostKey | None = None,
    scheduled: bool = False,
    picture: bool = False,
) -> None:
    """Post the summary in the channel; a scheduled one also lists, once, the actions past their date.
    ``picture``: share the coverage picture under it (scheduled summaries)."""
    result = partnership_summary(
        deps.store, deps.catalog, p, now=deps.now(), weeks=weeks, level_id=level_id, scheduled=scheduled
    )
    delivery.deliver(
        client,
        p.channel_id,
        key or delivery.asked_now(deps.stamp()),
        text=overview.summary_text(result),
        blocks=with_involvement(
            overview.summary_blocks(result, p.timezone, title=title, channel=p.channel_id), deps.store, p, result
        ),
    )
    if result.loop and result.loop.overdue:
        deps.store.plans.mark_overdue_listed(p.team_id, list(result.loop.overdue))
    if picture:
        share_picture(deps, client, p)


def share_picture(deps: Deps, client: WebClient, p: Partnership) -> None:
    """Share the coverage picture in the channel, and remember it for App Home. A picture that can't be drawn
    or shared is logged and left out: the summary it goes with is already posted."""
    now = deps.now()
    start, end = picture_period(p, now)
    try:
        png, alt = coverage_picture(deps.store, deps.catalog, p, start=start, end=end, now=now)
        shared = client.files_upload_v2(
            channel=p.channel_id,
            file=png,
            filename="coprod-coverage.png",
            title="How we looked after each level",
            alt_txt=alt,
            request_file_info=False,
        )
        file_id = str((shared.get("files") or [{}])[0].get("id") or "")
    except (SlackApiError, OSError, ValueError) as exc:
        log.warning("could not share the coverage picture for team %s channel %s: %s", p.team_id, p.channel_id, exc)
        return
    if file_id:
        deps.store.partnerships.set_picture(p, file_id=file_id, alt_text=alt, now=deps.stamp())


def post_meeting_reminder(
    deps: Deps, client: WebClient, p: Partnership, meeting_at: datetime, remind: int, *, key: delivery.PostKey
) -> None:
    # A reminder posted late (after downtime) says how long is really left, not the configured lead time.
    minutes_left = min(remind, max(0, -int((deps.now() - meeting_at).total_seconds() // 60)))  # rounded up
    delivery.deliver(
        client,
        p.channel_id,
        key,
        text="Your team meeting is coming up",
        blocks=messages.meeting_reminder_blocks(meeting_at, p.timezone, minutes_left),
    )


def reflexivity_facilitator(deps: Deps, p: Partnership) -> Facilitator:
    """The reflexivity facilitator and its kin at the same level, least recently prompted first."""
    tagged = deps.catalog.tagged("reflexivity")
    level_id = tagged[0].level_id if tagged else deps.catalog.levels[0].id
    kin = list(tagged) + [f for f in deps.catalog.in_level(level_id) if f not in tagged]
    return rotation.least_recently_asked(kin, deps.store.activity.last_asked(p, kind="reflexivity"))


def send_reflexivity(
    deps: Deps, client: WebClient, p: Partnership, key: delivery.PostKey | None = None, *, lane: Lane | None = None
) -> int:
    """DM each member (who hasn't opted out) a private reflection prompt; returns how many were sent.

    Who is a person comes from the workspace's listing, read once for the rounds due together
    (bot/slack/roster.py). The DMs go out side by side in ``lane`` (a few at a time per workspace, and a 429 holds
    back the rest of that workspace's), or one after another without one. The round counts (in summaries
    and the rotation) once a prompt has reached someone. A round taken up again re-uses the round an
    earlier attempt left, so it counts once. Each DM is sent once: a DM whose answer is lost is not sent
    again (coprod can't read DMs to check), nor one the lane dropped because coprod is stopping. If Slack
    won't list the channel's members, the round fails (and the scheduler pauses or retries it)."""
    bot = deps.bot_user(client, p.team_id)
    in_channel = [m for m in channel_members(client, p.channel_id) if m != bot]
    members = deps.roster.people(client, p.team_id, in_channel, now=deps.now().timestamp())
    deps.store.partnerships.set_member_count(p, len(members))
    opted_out = deps.store.people.reflexivity_optouts(p)
    key = key or delivery.asked_now(deps.stamp())
    earlier = earlier_checkin(deps, p, key)
    if earlier is not None:
        checkin_id, facilitator = earlier
    else:
        facilitator = reflexivity_facilitator(deps, p)
        checkin_id = deps.store.checkins.record_checkin(
            p,
            facilitator_id=facilitator.id,
            level_id=facilitator.level_id,
            asked_at=deps.stamp(),
            kind="reflexivity",
            posting=key.claim,
        )
    level = deps.catalog.level(facilitator.level_id)
    text = f"A moment to reflect: {messages.escape(facilitator.prompt)}"
    blocks = messages.checkin_blocks(level, facilitator, checkin_id, 0, reflexive_channel=p.channel_id)

    def prompt(member: str) -> bool:
        try:
            client.chat_postMessage(channel=member, text=text, blocks=blocks)
            return True
        except (SlackApiError, *delivery.UNKNOWN_OUTCOME) as exc:
            log.warning(
                "a reflection prompt for team %s channel %s could not be sent: %s",
                p.team_id,
                p.channel_id,
                exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__,
            )
            return False

    to_prompt = [m for m in members if m not in opted_out]
    if lane is None:
        sent = sum(prompt(m) for m in to_prompt)
    else:
        sent = _sent([lane.submit(p.team_id, partial(prompt, m)) for m in to_prompt], p)
    if sent or earlier is not None:
        deps.store.checkins.set_checkin_message(p.team_id, checkin_id, None)
    else:  # it reached nobody
        deps.store.checkins.delete_checkin(p.team_id, checkin_id)
    return sent


def _sent(futures: list[Future], p: Partnership) -> int:
    """How many of a round's DMs were sent; those the lane dropped unstarted (coprod is stopping) were not,
    and are not sent later: those members miss this round's prompt."""
    sent = dropped = 0
    for future in futures:
        try:
            sent += bool(future.result())
        except CancelledError:
            dropped += 1
        except Exception:  # one member's trouble doesn't fail the round (the others' prompts are out)
            log.exception("a reflection prompt for team %s channel %s failed", p.team_id, p.channel_id)
    if dropped:
        log.warning(
            "stopping: %d reflection prompts for team %s channel %s were not sent this round",
            dropped,
            p.team_id,
            p.channel_id,
        )
    return sent


def cannot_post_in(client: WebClient, channel: str) -> str | None:
    """Why coprod can't post in ``channel`` now, as Slack's error for a post would say it, or None (as far as
    conversations.info tells: https://docs.slack.dev/reference/methods/conversations.info, ``is_member``). A
    private channel coprod isn't in is ``channel_not_found`` to it."""
    try:
        found = client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error in ("channel_not_found", "not_in_channel", "is_archived") or error in DEAD_TOKEN:
            return error
        # A missing channels:read (or a passing failure) says nothing of posting itself.
        log.warning("could not check coprod's membership of channel %s: %s", channel, error)
        return None  # can't tell: a post that fails later pauses the schedule and says so
    info = found.get("channel") or {}
    if info.get("is_archived"):
        return "is_archived"
    return None if info.get("is_member") else "not_in_channel"


def pause_for_error(deps: Deps, client: WebClient, p: Partnership, error: str) -> bool:
    """Pause a partnership whose channel Slack won't let us post to, telling coordinators once (by DM, unless
    the token itself is dead: then whoever next uses /coprod there is told, bot/slack/listeners/commands.py)."""
    if error not in PAUSE_ERRORS:
        return False
    current = deps.store.partnerships.get(p.team_id, p.channel_id)  # fresh: another post may have paused it
    if current is None or current.paused_reason:
        return True
    deps.store.partnerships.set_paused(p, error)
    log.warning("paused the schedules of team %s channel %s: %s", p.team_id, p.channel_id, error)
    if error in DEAD_TOKEN:
        return True
    for coordinator in deps.store.people.coordinators(p):
        try:
            client.chat_postMessage(channel=coordinator, text=settings_text.paused_text(p.channel_id, error))
        except SlackApiError as exc:
            log.warning(
                "could not tell a coordinator of team %s channel %s about the pause: %s",
                p.team_id,
                p.channel_id,
                exc.response.get("error"),
            )
    return True
