"""The local workspace's record of involvement, so a newcomer sees all of it at once: the last eight weekly
meetings with who came and at which stage, work members logged, a rate card, each person's choice of how to
be paid (one a voucher, one not at all), lines paid and lines still unpaid 30 days after, two "you said, we
changed" entries with their posts in the channel, and the report's aim and title. Written through the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedule import Spec, fire_times
from bot.render import involvement_blocks
from bot.store import Partnership, Store

# Who came to each of the last eight meetings (oldest first), and the study stage then.
ATTENDANCE = (
    ("design", ("UPRIYA", "UGRACE", "UMO", "UTOM")),
    ("design", ("UPRIYA", "UGRACE", "UTOM")),
    ("set-up", ("UPRIYA", "UGRACE", "UMO")),
    ("set-up", ("UPRIYA", "UMO", "UTOM", "UHELEN")),
    ("set-up", ("UPRIYA", "UGRACE", "UMO")),
    ("data collection", ("UPRIYA", "UGRACE", "UTOM")),
    ("data collection", ("UPRIYA", "UGRACE", "UMO")),
    ("data collection", ("UPRIYA", "UGRACE", "UMO", "UHELEN")),
)
WORK = (  # (who, days ago, minutes, what)
    ("UGRACE", 50, 120, "reviewed the participant leaflet"),
    ("UMO", 44, 90, "read the interview guide and suggested questions for carers"),
    ("UGRACE", 20, 60, "tried the online consent form"),
    ("UMO", 9, 45, "wrote a short piece for the carers' newsletter"),
)
NAMES = {
    "UPRIYA": "Priya Shah",
    "UTOM": "Tom Evans",
    "UGRACE": "Grace Mensah",
    "UMO": "Mo Ahmed",
    "UHELEN": "Helen Clarke",
}
CHANGES = (  # (days ago, source, whose input, what changed, the difference it made)
    (
        30,
        "comment",
        "A comment on “Meeting papers are sent in good time”",
        "Meeting papers now go out a week ahead, in large print on request",
        "Grace and Mo can read them before we meet and come with questions",
    ),
    (
        12,
        "level",
        "The summary's flag on Organisational",
        "A budget line pays carers' travel and replacement care",
        "Carers can come to meetings without paying to be there",
    ),
)


def seed_involvement(
    store: Store,
    p: Partnership,
    now: datetime,
    created: datetime,
    timezone: str,
    post: Callable[..., str],
    channel: str,
) -> None:
    tz = ZoneInfo(timezone)
    inv = store.involvement
    stamp = int(now.timestamp())
    inv.set_text(p, "aim", "To shape every stage of the study with the people who live with diabetes and care for them")
    inv.set_text(p, "title", "Living well with type 2 diabetes: a co-produced study of self-management at home")
    inv.set_text(p, "channel_name", "our-partnership")
    inv.remember_names(p, NAMES)
    inv.set_rate(p, activity="", pence_per_hour=2500, currency="GBP", set_by="UPRIYA")
    inv.set_rate(p, activity="meeting", pence_per_hour=2500, currency="GBP", set_by="UPRIYA")
    inv.set_choice(p, "UMO", "voucher")
    inv.set_choice(p, "UTOM", "none")  # paid by the NHS for his time already
    inv.set_choice(p, "UPRIYA", "none")  # the study pays her salary
    meetings = fire_times(Spec("weekly", 2, 14 * 60, created.date()), timezone, now - timedelta(weeks=12), now)
    held = [at.astimezone(tz).date() for at in meetings if at < now - timedelta(days=1)]
    for (stage, people), day in zip(ATTENDANCE, held[-len(ATTENDANCE) :], strict=False):
        inv.log_meeting(
            p, held_on=day.isoformat(), minutes=90, stage=stage, people=list(people), logged_by="UPRIYA", now=stamp
        )
    today = now.astimezone(tz).date()
    for who, ago, minutes, what in WORK:
        inv.log_work(p, who, done_on=(today - timedelta(days=ago)).isoformat(), minutes=minutes, what=what, now=stamp)
    # Grace and Helen were paid up to five weeks ago; Mo's vouchers are late (the summary tells coordinators).
    paid_on = (today - timedelta(weeks=5)).isoformat()
    for who in ("UGRACE", "UHELEN"):
        inv.mark_paid(p, who, paid_on=paid_on, by="UPRIYA")
    for ago, source, said, what, difference in CHANGES:
        day = today - timedelta(days=ago)
        change_id = inv.record_change(
            p,
            changed_on=day.isoformat(),
            source=source,
            said=said,
            what_changed=what,
            difference=difference,
            recorded_by="UPRIYA",
            now=stamp,
        )
        change = next(c for c in inv.changes(p) if c.id == change_id)
        at = datetime(day.year, day.month, day.day, 16, 0, tzinfo=tz)
        post(channel, at, involvement_blocks.change_post(change))
