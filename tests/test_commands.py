"""The /coprod grammar: each form parses to its command; anything else says which word was wrong."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import commands
from bot.domain.catalog import Catalog, load_catalog
from bot.domain.command_grammar import DEFAULT_REMIND, UsageError, parse
from bot.domain.commands import (
    ChangeCoordinator,
    CheckinNow,
    Export,
    ForgetMe,
    Help,
    ListActions,
    LogMeeting,
    Pause,
    PinNext,
    Report,
    Resume,
    SetMeeting,
    SetNudge,
    SetRetention,
    SetRole,
    SetSchedule,
    SetSize,
    SetTimezone,
    ShowPicture,
    ShowSummary,
    StopMeeting,
    StopSchedule,
)
from bot.domain.involvement_grammar import (
    ChoosePayment,
    ExportLedger,
    FixLine,
    LogWork,
    MarkPaid,
    RecordChange,
    SetRate,
    SetReportText,
    ShowLedger,
)
from bot.domain.schedule import Spec

CATALOG: Catalog = load_catalog()
TODAY = date(2026, 6, 12)
MENTION = "<@U123|ann>"


def p(text: str):
    return parse(text, CATALOG, today=TODAY)


# Every example the help shows, with what it must parse to.
EXPECTED = {
    "help": Help(),
    "checkin": CheckinNow(None),
    "checkin organisational": CheckinNow(CATALOG.level("organisational")),
    "summary": ShowSummary(None, None),
    "summary group weeks 12": ShowSummary(CATALOG.level("group"), 12),
    "summary picture": ShowPicture(),
    "schedule checkins weekly Tuesday 10:00": SetSchedule("checkins", Spec("weekly", 1, 600, TODAY)),
    "schedule summary monthly Friday 15:00": SetSchedule("summary", Spec("monthly", 4, 900, TODAY)),
    "schedule reflexivity fortnightly Monday 09:30": SetSchedule("reflexivity", Spec("fortnightly", 0, 570, TODAY)),
    "schedule checkins off": StopSchedule("checkins"),
    "meeting every Wednesday 14:00 remind 30": SetMeeting(2, 840, 30),
    "meeting monthly Wednesday 14:00": SetMeeting(2, 840, 30, "monthly"),
    "meeting off": StopMeeting(),
    "met": LogMeeting(),
    "next power-imbalances": PinNext(CATALOG.facilitator("power-imbalances")),
    "coordinators add @name": ChangeCoordinator(True, "U123"),
    "role @name carer": SetRole("U123", "carer"),
    "timezone Europe/London": SetTimezone("Europe/London"),
    "size small": SetSize("small"),
    "retention 24": SetRetention(24),
    "export": Export(),
    "report since 2026-01-01": Report(date(2026, 1, 1)),
    "actions": ListActions(),
    "nudge 48": SetNudge(48),
    "pause until 2027-01-04": Pause(date(2027, 1, 4)),
    "resume": Resume(),
    "log 2h reviewed the participant leaflet": LogWork(None, 120, "reviewed the participant leaflet"),
    "ledger": ShowLedger(),
    "payment voucher": ChoosePayment("voucher"),
    "payment rate 25 GBP per hour": SetRate(2500, "GBP", ""),
    "payment made @name": MarkPaid("U123", None),
    "ledger export": ExportLedger(),
    "changed": RecordChange(),
    "aim To shape the study with carers": SetReportText("aim", "To shape the study with carers"),
    "forget-me": ForgetMe(),
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("log 2026-06-01 90m read the protocol", LogWork(date(2026, 6, 1), 90, "read the protocol")),
        ("log 1.5h met the carers' group", LogWork(None, 90, "met the carers' group")),
        ("payment rate 12.50 eur per hour for meetings", SetRate(1250, "EUR", "meeting")),
        ("payment rate 30 GBP per hour for analysis", SetRate(3000, "GBP", "analysis")),
        ("payment choose none", ChoosePayment("none")),
        ("payment made @name 2026-06-01", MarkPaid("U123", date(2026, 6, 1))),
        ("ledger fix 2 45m writing", FixLine(2, 45, "writing")),
        ("title Living well", SetReportText("title", "Living well")),
    ],
)
def test_involvement_words_parse(text: str, expected: object) -> None:
    assert p(text.replace("@name", MENTION)) == expected


@pytest.mark.parametrize(
    "text, says",
    [
        ("log", "how long and what you did"),
        ("log 2h", "how long and what you did"),
        ("log 0h nothing", "more than nothing"),
        ("log 25h too much", "at most 24 hours"),
        ("log 2026-07-01 1h later", "hasn't come yet"),
        ("log 2026-02-30 1h bad day", "not a date I can read"),
        ("payment rate lots GBP per hour", "Use: `/coprod payment paid`"),
        ("payment rate 25 GBP per hour for lunch", "not an activity I know"),
        ("payment made Ann", "is not a person"),
        ("payment cash", "Use: `/coprod payment paid`"),
        ("ledger everything", "Use: `/coprod ledger`"),
        ("aim", "Tell me the aim"),
        ("changed the agenda", "a form opens"),
    ],
)
def test_bad_involvement_words_say_what_was_wrong(text: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        p(text)
    assert says in str(err.value)


def test_every_help_example_has_an_expectation() -> None:
    """The table below covers exactly the examples /coprod help shows."""
    assert [example for example, _ in commands.EXAMPLES] == list(EXPECTED)


@pytest.mark.parametrize("example", [example for example, _ in commands.EXAMPLES])
def test_every_help_example_parses_to_its_command(example: str) -> None:
    """Each form in the help, with @name as Slack sends a mention, parses to the right command."""
    assert p(example.replace("@name", MENTION)) == EXPECTED[example]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", Help()),
        ("   ", Help()),
        ("?", Help()),
        ("HELP", Help()),
        ("check-in", CheckinNow(None)),
        ("checkin Group/interpersonal", CheckinNow(CATALOG.level("group"))),
        ("checkin interpersonal", CheckinNow(CATALOG.level("group"))),
        ("checkin organizational", CheckinNow(CATALOG.level("organisational"))),
        ("checkin Online-Tools", CheckinNow(CATALOG.facilitator("online-tools"))),
        ("summary weeks 4 societal", ShowSummary(CATALOG.level("societal"), 4)),
        ("summary WEEKS 520", ShowSummary(None, 520)),
        ("summary paradigmatic", ShowSummary(CATALOG.level("paradigmatic"), None)),
        ("schedule checkins biweekly thurs 9am", SetSchedule("checkins", Spec("fortnightly", 3, 540, TODAY))),
        ("schedule Summary Monthly mondays 2:15pm", SetSchedule("summary", Spec("monthly", 0, 855, TODAY))),
        ("schedule reflexivity OFF", StopSchedule("reflexivity")),
        ("meeting every fri 9:30", SetMeeting(4, 570, DEFAULT_REMIND)),
        ("meeting every fri 9:30 remind 0", SetMeeting(4, 570, 0)),
        ("coordinators remove <@W999>", ChangeCoordinator(False, "W999")),
        ("coordinator add <@U1ABC|bob>", ChangeCoordinator(True, "U1ABC")),
        ("role <@U123|ann> service user", SetRole("U123", "service user/patient")),
        ("role <@U123> Policy Maker", SetRole("U123", "policy-maker")),
        ("role <@U123> patient", SetRole("U123", "service user/patient")),
        ("pin societal", PinNext(CATALOG.level("societal"))),
        ("tz America/Toronto", SetTimezone("America/Toronto")),
        ("retention off", SetRetention(None)),
        ("retention 120", SetRetention(120)),
        ("forget", ForgetMe()),
        ("forgetme", ForgetMe()),
    ],
)
def test_other_spellings_parse(text: str, expected) -> None:
    """Case, aliases and the friendlier spellings people type."""
    assert p(text) == expected


def test_fortnightly_schedule_is_anchored_on_today() -> None:
    """The fortnight starts in the week the coordinator set it."""
    command = parse("schedule checkins fortnightly Monday 09:30", CATALOG, today=date(2030, 1, 9))
    assert command.spec.anchor == date(2030, 1, 9)


@pytest.mark.parametrize(
    "text, named",
    [
        ("schedule checkins weekly Funday 10:00", "Funday"),
        ("schedule checkins weekly Monday 25:00", "25:00"),
        ("schedule checkins weekly Monday noon", "noon"),
        ("schedule checkins daily Monday 10:00", "daily"),
        ("schedule holidays weekly Monday 10:00", "holidays"),
        ("schedule checkins weekly Monday 10:00 please", "please"),
        ("meeting every Funday 10:00", "Funday"),
        ("meeting every Monday 9:5", "9:5"),
        ("meeting every Monday 10:00 remind 30 extra", "extra"),
        ("meeting every Monday 10:00 later", "later"),
        ("meeting every Monday 10:00 remind 5000", "5000"),
        ("meeting every Monday 10:00 remind soon", "soon"),
        ("checkin cosmic", "cosmic"),
        ("next cosmic", "cosmic"),
        ("summary cosmic", "cosmic"),
        ("summary weeks 0", "0"),
        ("summary weeks abc", "abc"),
        ("summary weeks 521", "521"),
        ("summary weeks -3", "-3"),
        ("summary weeks ²", "²"),
        ("export now", "now"),
        ("forget-me please", "please"),
        ("dance", "dance"),
        ("Dance party", "Dance"),
        ("role <@U123|ann> astronaut", "astronaut"),
        ("role ann carer", "ann"),
        ("role @ann carer", "@ann"),
        ("coordinators add bob", "bob"),
        ("coordinators add <#C123|general>", "<#C123|general>"),
        ("coordinators add <!channel>", "<!channel>"),
        ("timezone Mars/Olympus", "Mars/Olympus"),
        ("timezone America", "America"),
        ("retention forever", "forever"),
        ("retention 0", "0"),
    ],
)
def test_malformed_command_names_the_wrong_word(text: str, named: str) -> None:
    """The usage message quotes the word that was wrong, so the person can fix it."""
    with pytest.raises(UsageError) as caught:
        p(text)
    assert f"“{named}”" in str(caught.value)


@pytest.mark.parametrize(
    "text, hint",
    [
        ("schedule", "/coprod schedule"),
        ("schedule checkins weekly", "how often, a day and a time"),
        ("meeting", "/coprod meeting every"),
        ("meeting at Monday 10:00", "/coprod meeting every"),
        ("coordinators", "/coprod coordinators add|remove"),
        ("coordinators promote <@U1>", "/coprod coordinators add|remove"),
        (
            "role <@U1>",
            "researcher, practitioner, service user/patient, carer, public, community member, policy-maker, "
            "manager, other",
        ),
        ("next", "/coprod next"),
        ("summary weeks", "how many weeks"),
        ("retention", "/coprod retention"),
        ("timezone", "nothing"),
    ],
)
def test_incomplete_command_shows_how_to_use_it(text: str, hint: str) -> None:
    """A command missing words explains its usage."""
    with pytest.raises(UsageError) as caught:
        p(text)
    assert hint in str(caught.value)


@pytest.mark.parametrize(
    "text, coordinators_only",
    [
        ("help", False),
        ("checkin", False),
        ("summary", False),
        ("forget-me", False),
        ("schedule checkins off", True),
        ("meeting off", True),
        ("export", True),
        ("retention 6", True),
        ("role <@U1> carer", True),
        ("next societal", True),
        ("timezone UTC", True),
        ("coordinators add <@U1>", True),
    ],
)
def test_settings_and_exports_are_for_coordinators(text: str, coordinators_only: bool) -> None:
    """Commands that change settings or read everyone's answers are coordinator-only."""
    assert commands.is_coordinator_only(p(text)) is coordinators_only


def test_help_lines_are_slash_commands() -> None:
    """Every help line starts with /coprod and has a meaning."""
    lines = commands.help_lines()
    assert len(lines) == len(commands.EXAMPLES)
    assert all(usage.startswith("/coprod ") and meaning for usage, meaning in lines)


words = st.one_of(
    st.sampled_from(
        [
            "help",
            "checkin",
            "summary",
            "schedule",
            "meeting",
            "coordinators",
            "role",
            "next",
            "timezone",
            "retention",
            "export",
            "forget-me",
            "weeks",
            "every",
            "remind",
            "off",
            "add",
            "remove",
            "checkins",
            "weekly",
            "monthly",
            "fortnightly",
            "Monday",
            "10:00",
            "9am",
            "12",
            "0",
            "²",
            "<@U1>",
            "<@U1|x>",
            "group",
            "America",
            "Europe/London",
            "../x",
            "carer",
            "service",
            "user",
        ]
    ),
    st.text(min_size=1, max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(words, max_size=7).map(" ".join))
def test_parse_raises_only_usage_error_for_command_like_text(text: str) -> None:
    """Any mix of command words and junk parses or raises UsageError, nothing else."""
    try:
        p(text)
    except UsageError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_raises_only_usage_error_for_arbitrary_text(text: str) -> None:
    """Arbitrary text parses or raises UsageError, nothing else."""
    try:
        p(text)
    except UsageError as exc:
        assert str(exc)
