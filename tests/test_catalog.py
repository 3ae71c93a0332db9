"""The facilitator catalog: fidelity to the paper, plain prompts, a loader that refuses clearly."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from slack_sdk.models.views import View

from bot.domain.catalog import (
    ANSWER_SCALES,
    LEVEL_SCALES,
    Catalog,
    CatalogError,
    Facilitator,
    Level,
    bundled_catalog_path,
    load_catalog,
    parse_catalog,
)
from tests.support.blockkit import valid_blocks
from tests.support.edits import deleting, setting
from tests.support.flows import post_checkin

# The paper's Table 4, shipped with the repository (docs/table4-facilitators.txt).
SEED = Path(__file__).resolve().parents[1] / "docs/table4-facilitators.txt"
DOI = "10.1186/s12961-018-0375-0"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def parse_seed(path: Path) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """The seed's source line, its levels as (name, scale), and its facilitators as (level name, text)."""
    source = ""
    levels: list[tuple[str, str]] = []
    facilitators: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Source: "):
            source = line.removeprefix("Source: ")
        elif heading := re.match(r"^(.+?) \((\w+)\) • (.+)$", line):
            levels.append((heading[1], heading[2]))
            facilitators.append((heading[1], heading[3]))
        elif bullet := re.match(r"^• (.+)$", line):
            facilitators.append((levels[-1][0], bullet[1]))
    return source, levels, facilitators


@pytest.fixture(scope="module")
def seed() -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    if not SEED.is_file():
        pytest.fail(f"the paper's table is missing from the repository: {SEED}")
    return parse_seed(SEED)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def minimal() -> dict[str, object]:
    """A small valid catalog to break one field at a time."""
    return {
        "source": "test",
        "levels": [{"id": "one", "name": "One", "scale": "micro"}, {"id": "two", "name": "Two", "scale": "macro"}],
        "facilitators": [
            {"id": "first", "level": "one", "text": "First thing", "prompt": "How much?", "tags": []},
            {"id": "second", "level": "two", "text": "Second thing", "prompt": "How often?", "tags": []},
        ],
    }


def write(tmp_path: Path, data: object, name: str = "catalog.json") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


# Fidelity to Table 4 of Beckett et al. 2018


def test_seed_parser_reads_the_whole_table(seed):
    """The seed parser itself finds 5 levels and 30 facilitators, so fidelity checks are not vacuous."""
    source, levels, facilitators = seed
    assert source
    assert len(levels) == 5
    assert len(facilitators) == 30


def test_bundled_levels_match_the_paper_in_order(seed, catalog):
    """The bundled catalog has exactly the table's levels, names and scales, in the table's order."""
    _, levels, _ = seed
    assert [(level.name, level.scale) for level in catalog.levels] == levels


def test_bundled_facilitators_match_the_paper_verbatim(seed, catalog):
    """All 30 facilitators, word for word (typographic apostrophes included), in order, under their level."""
    _, _, facilitators = seed
    names = {level.id: level.name for level in catalog.levels}
    assert [(names[fac.level_id], fac.text) for fac in catalog.facilitators] == facilitators
    assert "one’s own values" in catalog.facilitator("reflexivity").text


def test_bundled_source_is_the_papers_citation(seed, catalog):
    """The source field is the seed's citation exactly, DOI included."""
    source, _, _ = seed
    assert catalog.source == source
    assert DOI in catalog.source


def test_level_ids_and_scales_are_the_agreed_ones(catalog):
    """Other modules and users type these level ids; their scales group micro, meso and macro."""
    assert [(level.id, level.scale) for level in catalog.levels] == [
        ("individual", "micro"),
        ("group", "micro"),
        ("organisational", "meso"),
        ("societal", "macro"),
        ("paradigmatic", "macro"),
    ]


# Prompts, ids and tags


def test_every_facilitator_has_a_short_question_prompt(catalog):
    """Each prompt is one plain question under 150 characters, answerable on a 1-5 scale."""
    for fac in catalog.facilitators:
        assert fac.prompt.endswith("?"), fac.id
        assert len(fac.prompt) < 150, fac.id
        assert fac.prompt.count("?") == 1, fac.id
        assert "\n" not in fac.prompt, fac.id


def test_prompts_avoid_research_jargon(catalog):
    """Patient partners new to research should not meet the paper's technical terms in a prompt."""
    jargon = ("boundary span", "iterative", "paradigm", "stakeholder", "dissemination", "reflexiv")
    for fac in catalog.facilitators:
        for word in jargon:
            assert word not in fac.prompt.lower(), (fac.id, word)


def test_ids_are_unique_slugs(catalog):
    """Facilitator ids are short lowercase slugs, each used once."""
    ids = [fac.id for fac in catalog.facilitators]
    assert len(ids) == len(set(ids))
    for fac_id in ids:
        assert SLUG.fullmatch(fac_id), fac_id
        assert len(fac_id) <= 40, fac_id


def test_exactly_one_meeting_and_one_reflexivity_facilitator(catalog):
    """Meeting reminders and reflexivity DMs each hang off exactly one facilitator."""
    assert [fac.id for fac in catalog.tagged("meeting")] == ["regular-meetings"]
    assert [fac.id for fac in catalog.tagged("reflexivity")] == ["reflexivity"]


def test_power_sharing_facilitators_are_tagged_power(catalog):
    """The facilitators about sharing power carry the 'power' tag."""
    power = {fac.id for fac in catalog.tagged("power")}
    assert len(power) >= 3
    assert {"power-imbalances", "shared-ownership", "others-lead", "reflexivity"} <= power


def test_bundled_file_is_two_space_indented_utf8():
    """The shipped JSON keeps its typographic apostrophes as UTF-8 text, indented by two spaces."""
    text = bundled_catalog_path().read_text(encoding="utf-8")
    assert "one’s" in text
    assert "\\u2019" not in text
    assert text.startswith('{\n  "source"')


# Lookups


def test_lookups_by_id(catalog):
    """level() and facilitator() return the item; unknown ids raise KeyError."""
    assert catalog.level("group").name == "Group/interpersonal"
    assert catalog.facilitator("regular-meetings").level_id == "group"
    with pytest.raises(KeyError):
        catalog.level("nope")
    with pytest.raises(KeyError):
        catalog.facilitator("nope")


def test_in_level_lists_a_levels_facilitators_in_order(catalog):
    """in_level gives each level's facilitators in file order, and together they cover the catalog."""
    assert len(catalog.in_level("individual")) == 6
    assert len(catalog.in_level("group")) == 10
    assert catalog.in_level("group")[4].id == "regular-meetings"
    assert sum((catalog.in_level(level.id) for level in catalog.levels), ()) == catalog.facilitators
    assert catalog.in_level("nope") == ()


def test_tagged_with_unknown_tag_is_empty(catalog):
    """An unused tag finds nothing rather than failing."""
    assert catalog.tagged("no-such-tag") == ()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Organisational", "organisational"),
        ("org", "organisational"),
        ("organizational", "organisational"),
        ("  Organisational  ", "organisational"),
        ("GROUP", "group"),
        ("group/interpersonal", "group"),
        ("Group / Interpersonal", "group"),
        ("interpersonal", "group"),
        ("para", "paradigmatic"),
        ("soc", "societal"),
        ("indiv", "individual"),
        ("Individual (micro)", "individual"),
        ("nonsense", None),
        ("", None),
        ("gr", None),
        ("micro", None),
    ],
)
def test_find_level_forgives_how_people_type(catalog, typed, expected):
    """Ids, names, US spelling, name parts and 3+ letter prefixes find a level; nonsense finds none."""
    found = catalog.find_level(typed)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("regular-meetings", Facilitator),
        ("Reflexivity", Facilitator),
        ("org", Level),
        ("GROUP", Level),
        ("nonsense", type(None)),
    ],
)
def test_find_prefers_a_facilitator_id_then_a_level(catalog, typed, expected):
    """find resolves a facilitator id case-insensitively, otherwise falls back to find_level."""
    assert isinstance(catalog.find(typed), expected)


def test_find_level_refuses_an_ambiguous_prefix(tmp_path):
    """A prefix shared by two levels is ambiguous, so nothing is picked."""
    data = minimal()
    data["levels"] = [
        {"id": "societal", "name": "Societal", "scale": "macro"},
        {"id": "social", "name": "Social", "scale": "macro"},
    ]
    data["facilitators"][0]["level"] = "societal"
    data["facilitators"][1]["level"] = "social"
    catalog = load_catalog(write(tmp_path, data))
    assert catalog.find_level("soc") is None
    assert catalog.find_level("socie").id == "societal"
    assert catalog.find_level("social").id == "social"


# Loading


def test_bundled_path_exists_and_loads():
    """The packaged or checkout catalog is where bundled_catalog_path says, and loads as the default."""
    path = bundled_catalog_path()
    assert path.is_file()
    assert load_catalog(path) == load_catalog()


def test_a_custom_translated_catalog_with_two_levels_loads(tmp_path):
    """A valid catalog of our own (fewer levels, other language, no special tags) loads fine."""
    data = {
        "source": "Traduction de Beckett et al. 2018",
        "levels": [
            {"id": "individuel", "name": "Individuel", "scale": "micro"},
            {"id": "organisationnel", "name": "Organisationnel", "scale": "meso"},
        ],
        "facilitators": [
            {
                "id": "confiance",
                "level": "individuel",
                "text": "Confiance, respect et ouverture",
                "prompt": "À quel point vous sentez-vous respecté·e dans l’équipe ?",
            },
            {
                "id": "propriete-partagee",
                "level": "organisationnel",
                "text": "Propriété, pouvoir et contrôle partagés",
                "prompt": "Décidons-nous ensemble ?",
                "tags": ["power"],
            },
        ],
    }
    catalog = load_catalog(write(tmp_path, data))
    assert [level.id for level in catalog.levels] == ["individuel", "organisationnel"]
    assert catalog.facilitator("confiance").tags == ()
    assert catalog.tagged("meeting") == ()
    assert catalog.find_level("orga").id == "organisationnel"
    assert catalog.in_level("organisationnel")[0].prompt == "Décidons-nous ensemble ?"


def test_load_catalog_accepts_a_string_path(tmp_path):
    """COPROD_FACILITATORS arrives as a string; that works as well as a Path."""
    path = write(tmp_path, minimal())
    assert load_catalog(str(path)) == load_catalog(path)


def test_parse_catalog_validates_already_parsed_json():
    """parse_catalog takes plain data and names the given place in its errors."""
    assert len(parse_catalog(minimal()).facilitators) == 2
    with pytest.raises(CatalogError, match=r"^settings: the top level must be a JSON object"):
        parse_catalog([], where="settings")


def test_catalog_items_are_frozen_and_hashable(catalog):
    """Catalog values are immutable and usable as dict keys or in sets."""
    fac = catalog.facilitator("reflexivity")
    with pytest.raises(AttributeError):
        fac.text = "changed"  # type: ignore[misc]
    assert len({fac, catalog.level("individual"), catalog}) == 3
    assert Facilitator("a", "b", "c", "d?", ["x"]).tags == ("x",)  # type: ignore[arg-type]


def test_level_scales_are_micro_meso_macro():
    """The three scales of the social impact model."""
    assert LEVEL_SCALES == ("micro", "meso", "macro")


def _append(key: str, item: dict):
    def change(data: dict) -> dict:
        data[key].append(item)
        return data

    return change


REFUSALS = [
    pytest.param(
        '{\n  "levels": [\n    {"id": "one"}\n    {"id": "two"}\n  ]\n}\n',
        ["not valid JSON at line 4, column 5", "Expecting ',' delimiter"],
        id="bad-json",
    ),
    pytest.param(
        setting(("facilitators", 1, "level"), "three"),
        ["facilitator 'second' names unknown level 'three'"],
        id="unknown-level",
    ),
    pytest.param(
        setting(("facilitators", 1, "id"), "first"), ["duplicate facilitator id 'first'"], id="duplicate-facilitator-id"
    ),
    pytest.param(
        _append("levels", {"id": "one", "name": "Again", "scale": "meso"}),
        ["duplicate level id 'one'"],
        id="duplicate-level-id",
    ),
    pytest.param(
        deleting(("facilitators", 0, "prompt")), ["facilitator 'first'", "missing 'prompt'"], id="missing-prompt"
    ),
    pytest.param(
        setting(("facilitators", 0, "prompt"), "   "), ["facilitator 'first'", "empty 'prompt'"], id="empty-prompt"
    ),
    pytest.param(setting(("facilitators", 0, "text"), ""), ["facilitator 'first'", "empty 'text'"], id="empty-text"),
    pytest.param(
        setting(("levels", 1, "scale"), "mega"), ["level 'two'", "scale 'mega'", "micro, meso, macro"], id="bad-scale"
    ),
    pytest.param(deleting(("levels", 0, "name")), ["level 'one'", "missing 'name'"], id="level-missing-name"),
    pytest.param(
        _append("levels", {"id": "three", "name": "Three", "scale": "meso"}),
        ["level 'three' has no facilitators"],
        id="empty-level",
    ),
    pytest.param(
        setting(("facilitators", 0, "tags"), "power"),
        ["facilitator 'first'", "'tags' must be a list of non-empty strings"],
        id="tags-not-a-list",
    ),
    pytest.param(
        setting(("facilitators", 0, "tags"), ["power", 3]),
        ["facilitator 'first'", "'tags' must be a list of non-empty strings"],
        id="tag-not-a-string",
    ),
    pytest.param(
        setting(("facilitators", 0, "id"), "First Thing"),
        ["facilitator 'First Thing'", "must be a slug"],
        id="id-not-a-slug",
    ),
    pytest.param(
        setting(("facilitators", 0, "id"), "a" * 41), ["must be a slug", "at most 40 characters"], id="id-too-long"
    ),
    pytest.param(
        setting(("facilitators", 0, "text"), 42),
        ["facilitator 'first'", "'text' must be a string, not a number"],
        id="text-not-a-string",
    ),
    pytest.param(
        setting(("facilitators", 1), "second"), ["facilitator #2 must be a JSON object"], id="facilitator-not-an-object"
    ),
    pytest.param(setting(("levels",), []), ["'levels' is empty"], id="no-levels"),
    pytest.param(deleting(("facilitators",)), ["'facilitators' is missing"], id="no-facilitators"),
    pytest.param(setting(("source",), None), ["'source' must be a string, not null"], id="source-not-a-string"),
    pytest.param("[1, 2]", ["the top level must be a JSON object, not a list"], id="top-level-list"),
    pytest.param("", ["not valid JSON at line 1, column 1"], id="empty-file"),
]


@pytest.mark.parametrize(("content", "expected"), REFUSALS)
def test_loader_refuses_a_bad_catalog_in_one_clear_line(tmp_path, content, expected):
    """Each fault is refused with one line naming the file, where in it, and what is wrong."""
    if callable(content):
        data = copy.deepcopy(minimal())
        content(data)
        path = write(tmp_path, data)
    else:
        path = write(tmp_path, content)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    for part in expected:
        assert part in message


def test_loader_refuses_a_missing_file_with_a_hint(tmp_path):
    """A missing file names the path, the reason and how to fix it, in one line."""
    path = tmp_path / "nowhere.json"
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot read {path}: No such file")
    assert "COPROD_FACILITATORS" in message
    assert "unset it to use the bundled one" in message


def test_loader_refuses_a_directory(tmp_path):
    """Pointing at a folder is an unreadable file, not a traceback."""
    with pytest.raises(CatalogError, match=r"^cannot read .*COPROD_FACILITATORS"):
        load_catalog(tmp_path)


def test_loader_refuses_a_file_that_is_not_utf8(tmp_path):
    """Bytes that are not UTF-8 are refused with the file and byte offset."""
    path = tmp_path / "latin1.json"
    path.write_bytes('{"source": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(CatalogError, match=r"not valid UTF-8 at byte 15"):
        load_catalog(path)


def test_loader_accepts_a_byte_order_mark(tmp_path):
    """Editors on Windows may save a BOM; the catalog still loads."""
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8-sig")
    assert len(load_catalog(path).levels) == 2


# ---- issue 23: answer labels fit the question, plain level names ---------------------------------

HOW_OFTEN = {"regular-interaction", "reflexivity", "regular-meetings", "others-lead", "wide-sharing"}


def test_every_bundled_question_names_its_scale_and_how_often_questions_say_so() -> None:
    """A question asking "how often" is answered Never … Always; the rest Not at all … Very much."""
    raw = json.loads(bundled_catalog_path().read_text(encoding="utf-8"))
    assert all(entry.get("scale") in ANSWER_SCALES for entry in raw["facilitators"])
    catalog = load_catalog()
    for fac in catalog.facilitators:
        expected = "how often" if fac.id in HOW_OFTEN else "how much"
        assert fac.answers == expected, fac.id
        assert list(fac.labels.values()) == list(ANSWER_SCALES[expected])
    assert catalog.facilitator("regular-meetings").labels[1] == "Never"


def test_every_bundled_level_has_a_plain_gloss() -> None:
    """Level names carry plain words ("Paradigmatic: how research is done in general")."""
    catalog = load_catalog()
    assert all(level.gloss for level in catalog.levels)
    assert catalog.level("paradigmatic").gloss == "how research is done in general"


def test_a_custom_catalog_may_choose_a_scale_and_defaults_to_how_much() -> None:
    """A custom catalog names a scale per question (or leaves it out: "how much"); an unknown one is refused."""
    data = {
        "levels": [{"id": "one", "name": "One", "scale": "micro"}],
        "facilitators": [
            {"id": "a", "level": "one", "text": "A", "prompt": "How often?", "scale": "how often"},
            {"id": "b", "level": "one", "text": "B", "prompt": "How much?"},
        ],
    }
    catalog = parse_catalog(data)
    assert catalog.facilitator("a").labels[5] == "Always" and catalog.facilitator("b").labels[5] == "Very much"
    data["facilitators"][1]["scale"] = "how loud"
    with pytest.raises(
        CatalogError, match="facilitator 'b' has scale 'how loud'; it must be 'how much' or 'how often'"
    ):
        parse_catalog(data)


def test_a_checkin_leads_with_the_question_on_its_own_scale_and_shows_the_research_on_request(bot) -> None:
    """Through Slack: the header glosses the level, the question comes first with its scale's labels, the
    paper's words are not in the message but one click away in "Where this comes from"."""
    posted = post_checkin(bot, "regular-meetings")
    blocks = valid_blocks(posted.blocks)
    header = blocks[0]["text"]["text"]
    assert header == "Check-in · Group/interpersonal: how we work together as a team"
    assert "From the research" not in json.dumps(blocks)
    assert blocks[1]["text"]["text"].startswith("*How regularly do we meet")
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels[:5] == ["1 · Never", "2 · Rarely", "3 · Sometimes", "4 · Often", "5 · Always"]
    assert "Where this comes from" in labels
    reply = bot.slack.click(
        "source", "regular-meetings", block_id=posted.block_id, user="U2", trigger_id="trigger-source"
    )
    assert reply.status == 200
    [call] = bot.stub.wait_for("views.open", where=lambda c: c.args.get("trigger_id") == "trigger-source")
    view = call.json("view")
    View(**view).validate_json()
    assert "Regular meetings (face-to-face or web-based)" in json.dumps(view) and "Beckett" in json.dumps(view)
