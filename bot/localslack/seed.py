"""The local workspace's people, and six months of plausible history for them, written through coprod's store.

The partnership in ``#our-partnership``: a researcher who coordinates, a clinician, a patient partner, a carer
and a service manager. Its history is written in time order, each write with its own past time, as coprod
would have written it: weekly check-ins through the levels, each answered within its open week (so each
closes as coprod closes them, when the next is posted), fortnightly reflection prompts, weekly meetings
logged, monthly summaries, and every scheduled post claimed in the ledger as made. The channel gets the
messages coprod would have posted. What it shows on first open: healthy Individual and Group levels, a low
Organisational average, Paradigmatic answered by only two people, Societal not discussed in the last 8
weeks, the manager heard only anonymously (a silent role), and this week's check-in still open; and each
finding of issue 23 at least once (``SHOWN``): a stuck level, power-sharing practices never asked, a fall,
partners and professionals apart, and a practice most people are not sure about yet.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog, Facilitator
from bot.domain.schedule import Spec, fire_times
from bot.localslack.seed_involvement import seed_involvement
from bot.localslack.workspace import APP_ID, BOT_ID, BOT_USER_ID, Workspace, dm_of
from bot.render import messages, overview
from bot.reports import partnership_summary
from bot.store import Partnership, Store

TEAM_ID = "TLOCAL"
TEAM_NAME = "Our partnership (local)"
CHANNEL_ID = "CPARTNERSHIP"
CHANNEL_NAME = "our-partnership"
TIMEZONE = "Europe/London"
WEEKS = 26


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    handle: str
    title: str
    role: str  # as coprod records it (`/coprod role`)


MEMBERS = (
    Member("UPRIYA", "Priya Shah", "priya", "researcher, coordinator", "researcher"),
    Member("UTOM", "Tom Evans", "tom", "clinician", "practitioner"),
    Member("UGRACE", "Grace Mensah", "grace", "patient partner", "service user/patient"),
    Member("UMO", "Mo Ahmed", "mo", "carer", "carer"),
    Member("UHELEN", "Helen Clarke", "helen", "service manager", "manager"),
)
PRIYA, TOM, GRACE, MO, HELEN = MEMBERS

# Schedules as a coordinator set them: (kind, cadence, weekday 0=Monday, minute of the day, reminder minutes).
SCHEDULES = (
    ("checkins", "weekly", 1, 10 * 60, None),
    ("meeting", "weekly", 2, 14 * 60, 30),
    ("reflexivity", "fortnightly", 0, 9 * 60 + 30, None),
    ("summary", "monthly", 4, 15 * 60, None),
)
# The level of the check-in asked this many weeks ago (0: the latest); older ones go round all five.
RECENT = (
    "individual",
    "group",
    "organisational",
    "paradigmatic",
    "individual",
    "group",
    "organisational",
    "individual",
)
OLDER = ("group", "organisational", "paradigmatic", "societal", "individual")
TYPICAL = {"individual": 4, "group": 4, "organisational": 2, "paradigmatic": 3, "societal": 3}
# Check-ins written as they happened, to show each of the summary's findings (issue 23): weeks ago -> the practice
# (None: the level's turn) and who answered what (0: "Not sure yet"; True: anonymously). What they show:
# - a fall: power-imbalances, 4.25 thirteen weeks ago, 3.0 last week
# - partners and professionals apart: on Individual, the patient partner and carer rate 2 points lower
# - a practice most people are not sure about yet: shared-data-analysis (there is no data to look at yet)
# - a gap: shared-ownership and others-lead, about sharing power, never asked (the old rotation left them)
# - a stuck level: Organisational, rated low in every monthly summary, with nothing planned
SHOWN: dict[int, tuple[str | None, tuple[tuple[Member, int, bool], ...]]] = {
    13: ("power-imbalances", ((PRIYA, 4, False), (TOM, 5, False), (GRACE, 4, False), (MO, 4, False))),
    1: ("power-imbalances", ((PRIYA, 4, False), (TOM, 4, False), (GRACE, 2, False), (MO, 2, False), (HELEN, 3, True))),
    4: (None, ((PRIYA, 5, False), (TOM, 4, False), (GRACE, 2, False), (MO, 3, False), (HELEN, 4, True))),
    5: (
        "shared-data-analysis",
        ((PRIYA, 4, False), (TOM, 3, False), (GRACE, 0, False), (MO, 0, False), (HELEN, 0, True)),
    ),
    7: (None, ((PRIYA, 4, False), (TOM, 5, False), (GRACE, 3, False), (MO, 2, False))),
}
NEVER_ASKED = ("shared-ownership", "others-lead")
COMMENTS = {
    (1, GRACE): ("Getting the papers a week before the meeting, not the night before, made all the difference.", True),
    (2, TOM): ("Our trust's approvals still take months, and that slows everyone down.", False),
    (2, HELEN): ("Budget decisions still happen outside this group.", True),
    (4, MO): ("I felt listened to this time. Thank you.", False),
    (6, PRIYA): ("We should talk about authorship early, not at the end.", False),
    (11, GRACE): ("I'd like us to explain the jargon when we use it.", False),
    (15, HELEN): ("Happy to bring this to the board if it helps.", False),
}


def populate(ws: Workspace) -> None:
    """The people and the channel, as Slack knows them."""
    for m in MEMBERS:
        ws.add_user(m.id, name=m.handle, real_name=m.name, tz=TIMEZONE, title=m.title, is_admin=m is PRIYA)
    ws.add_user(BOT_USER_ID, name="coprod", real_name="coprod", is_bot=True)
    ws.add_channel(CHANNEL_ID, [*(m.id for m in MEMBERS), BOT_USER_ID], name=CHANNEL_NAME)


def seed(store: Store, catalog: Catalog, ws: Workspace, now: datetime) -> Partnership:
    """Write the history up to ``now`` (see the module docstring); returns the partnership."""
    return _History(store, catalog, ws, now).write()


class _History:
    def __init__(self, store: Store, catalog: Catalog, ws: Workspace, now: datetime) -> None:
        self.store, self.catalog, self.ws, self.now = store, catalog, ws, now.astimezone(UTC)
        self.start = self.now - timedelta(weeks=WEEKS)
        self.rng = random.Random(2018)  # the same history every time, for the same now
        self.seq = itertools.count(1)
        self.asked: dict[str, itertools.cycle[Facilitator]] = {
            level.id: itertools.cycle(catalog.in_level(level.id)) for level in catalog.levels
        }
        reflexive = catalog.tagged("reflexivity") or catalog.in_level("individual")
        self.prompts = itertools.cycle([*reflexive, *(f for f in catalog.in_level("individual") if f not in reflexive)])
        self.posts: list[tuple[str, dict[str, Any]]] = []  # (conversation, message) made along the way
        self.checkins: list[tuple[int, str, Facilitator, int, bool]] = []  # id, ts, practice, count, open
        self.p: Partnership

    def stamp(self, moment: datetime) -> int:
        return int(moment.timestamp())

    def ts(self, moment: datetime) -> str:
        return f"{self.stamp(moment)}.{next(self.seq):06d}"

    def post(self, conv: str, moment: datetime, text: str, blocks: list[dict] | None = None, user: str = "") -> str:
        ts = self.ts(moment)
        message: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "team": TEAM_ID}
        if user:
            message["user"] = user
        else:
            message.update(user=BOT_USER_ID, bot_id=BOT_ID, app_id=APP_ID)
        if blocks is not None:
            message["blocks"] = blocks
        self.posts.append((conv, message))
        return ts

    def write(self) -> Partnership:
        created = self.start - timedelta(days=1)
        self.p = self.store.partnerships.ensure(
            TEAM_ID, CHANNEL_ID, timezone=TIMEZONE, created_by=PRIYA.id, now=self.stamp(created)
        )
        for m in MEMBERS:
            self.store.people.set_role(self.p, m.id, m.role)
        self.store.partnerships.set_member_count(self.p, len(MEMBERS))
        self.post(CHANNEL_ID, created, "Hello! I'm coprod.", messages.welcome_blocks())
        self.post(
            CHANNEL_ID,
            created + timedelta(minutes=5),
            "Welcome, everyone. coprod will ask us one short question a week about how we work together. "
            "Answer as yourself, or anonymously: nobody sees who answered what.",
            user=PRIYA.id,
        )
        events: list[tuple[datetime, Callable[[], None]]] = []
        for kind, cadence, weekday, minute, remind in SCHEDULES:
            self.store.partnerships.set_schedule(
                self.p,
                kind=kind,
                cadence=cadence,
                weekday=weekday,
                at_minute=minute,
                anchor=created.date().isoformat(),
                set_by=PRIYA.id,
                now=self.stamp(created),
                remind_minutes=remind,
            )
            spec = Spec(cadence, weekday, minute, created.date())
            times = fire_times(spec, TIMEZONE, self.start, self.now, offset_minutes=-(remind or 0))
            for n, at in enumerate(times):
                ago = len(times) - 1 - n
                events.append((at, self._event(kind, at, ago)))
        for _, happen in sorted(events, key=lambda pair: pair[0]):
            happen()
        seed_involvement(self.store, self.p, self.now, created, TIMEZONE, self.post, CHANNEL_ID)
        self._finish()
        found = self.store.partnerships.get(TEAM_ID, CHANNEL_ID)
        assert found is not None
        return found

    def _event(self, kind: str, at: datetime, ago: int) -> Callable[[], None]:
        def claimed() -> None:
            self.store.ledger.claim_post(self.p, kind=kind, fire_at=self.stamp(at), now=self.stamp(at))
            self.store.ledger.finish_post(self.p, kind=kind, fire_at=self.stamp(at), status="posted")
            {"checkins": self._checkin, "meeting": self._meeting, "reflexivity": self._reflect}.get(
                kind, self._summary
            )(at, ago)

        return claimed

    # ---- what happened ------------------------------------------------------------------------------------
    def _checkin(self, at: datetime, ago: int) -> None:
        level_id = RECENT[ago] if ago < len(RECENT) else OLDER[(ago - len(RECENT)) % len(OLDER)]
        chosen = SHOWN.get(ago, (None, ()))[0]
        practice = self.catalog.facilitator(chosen) if chosen else next(self.asked[level_id])
        while practice.id in {*(fid for fid, _ in SHOWN.values() if fid), *NEVER_ASKED} and not chosen:
            practice = next(self.asked[level_id])  # the shown ones are asked only when the story says
        ts = self.ts(at)
        checkin_id = self.store.checkins.record_checkin(
            self.p, facilitator_id=practice.id, level_id=level_id, asked_at=self.stamp(at), message_ts=ts
        )
        count = 0
        for offset, member, rating, anonymous in self._answers(level_id, ago):
            when = at + offset
            if when >= self.now - timedelta(minutes=1):
                continue  # the future, for this week's check-in
            comment, anonymous_comment = COMMENTS.get((ago, member), (None, False))
            anonymous = anonymous or anonymous_comment
            self.store.answers.record_response(
                TEAM_ID,
                checkin_id,
                member.id,
                rating=rating,
                now=self.stamp(when),
                comment=comment,
                anonymous=anonymous,
                role=None if anonymous else member.role,
            )
            count += 1
        self.checkins.append((checkin_id, ts, practice, count, ago == 0))

    def _answers(self, level_id: str, ago: int) -> list[tuple[timedelta, Member, int, bool]]:
        """Who answered the check-in asked ``ago`` weeks back, when (after it was asked), how, and anonymously."""
        if ago == 0:  # this week's: two answers so far, in its first minutes
            return [(timedelta(minutes=3), TOM, 4, False), (timedelta(minutes=12), GRACE, 5, True)]
        if ago in SHOWN:
            delays = [
                timedelta(minutes=20),
                timedelta(hours=2),
                timedelta(hours=6),
                timedelta(days=1),
                timedelta(days=3),
            ]
            return [(delays[n], m, rating, anon) for n, (m, rating, anon) in enumerate(SHOWN[ago][1])]
        if ago == 3:  # Paradigmatic: only two people answered
            return [(timedelta(hours=2), PRIYA, 3, False), (timedelta(days=1), TOM, 2, False)]
        if ago < len(RECENT):  # the last eight weeks: the manager answers only anonymously, now and then
            who = [PRIYA, TOM, GRACE, MO] + ([HELEN] if ago % 2 == 0 else [])
        else:
            who = self.rng.sample(MEMBERS, self.rng.randint(3, 5))
        delays = [timedelta(minutes=20), timedelta(hours=2), timedelta(hours=6), timedelta(days=1), timedelta(days=3)]
        out = []
        for n, member in enumerate(who):
            rating = TYPICAL[level_id] + self.rng.choice((-1, 0, 0, 1))
            if level_id == "organisational":  # rated low all along, with nothing planned: a stuck level
                rating = 3 if n == 0 else 2
            anonymous = (member is HELEN and ago < len(RECENT)) or (member is GRACE and self.rng.random() < 0.3)
            out.append((delays[n], member, max(1, min(5, rating)), anonymous))
        return out

    def _reflect(self, at: datetime, ago: int) -> None:
        practice = next(self.prompts)
        level = self.catalog.level(practice.level_id)
        round_id = self.store.checkins.record_checkin(
            self.p, facilitator_id=practice.id, level_id=practice.level_id, asked_at=self.stamp(at), kind="reflexivity"
        )
        blocks = messages.checkin_blocks(level, practice, round_id, 0, reflexive_channel=CHANNEL_ID)
        for m in MEMBERS:
            self.post(dm_of(m.id), at, f"A moment to reflect: {messages.escape(practice.prompt)}", blocks)
        for hours, member in ((3, PRIYA), (26, GRACE), (50, MO)):
            when = at + timedelta(hours=hours)
            if when < self.now:
                rating = self.rng.choice((3, 4, 4, 5))
                self.store.answers.record_response(
                    TEAM_ID, round_id, member.id, rating=rating, now=self.stamp(when), private=True
                )

    def _meeting(self, at: datetime, ago: int) -> None:
        meeting_at = at + timedelta(minutes=30)
        held_on = meeting_at.astimezone(ZoneInfo(TIMEZONE)).date()
        logged = ago > 0 and ago not in (9, 16) and meeting_at + timedelta(hours=1) < self.now
        if logged:
            who = PRIYA if ago % 3 else TOM
            self.store.activity.log_meeting(
                self.p, held_on=held_on.isoformat(), user=who.id, now=self.stamp(meeting_at + timedelta(hours=1))
            )
            blocks = messages.meeting_logged_blocks(held_on.isoformat(), who.id)
            self.post(CHANNEL_ID, at, "Meeting logged", blocks)
        else:
            blocks = messages.meeting_reminder_blocks(meeting_at, TIMEZONE, 30)
            self.post(CHANNEL_ID, at, "Your team meeting is coming up", blocks)

    def _summary(self, at: datetime, ago: int) -> None:
        result = partnership_summary(self.store, self.catalog, self.p, now=at, scheduled=True)
        title = "Our regular summary: how we're doing"
        self.post(CHANNEL_ID, at, overview.summary_text(result), overview.summary_blocks(result, TIMEZONE, title=title))

    def _finish(self) -> None:
        """The check-ins' messages as they stand now (counts, closed or open), then everything into the channel."""
        for checkin_id, ts, practice, count, still_open in self.checkins:
            if not still_open:  # written closed below: the scheduler has nothing to show closed
                self.store.checkins.shown_closed(TEAM_ID, checkin_id)
            level = self.catalog.level(practice.level_id)
            blocks = messages.checkin_blocks(level, practice, checkin_id, count, closed=not still_open)
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "app_id": APP_ID,
                "text": messages.checkin_text(practice),
                "blocks": blocks,
                "ts": ts,
                "team": TEAM_ID,
            }
            self.posts.append((CHANNEL_ID, message))
        with self.ws.quietly():
            for conv, message in self.posts:
                self.ws.add_message(conv, message)
