"""The facilitator catalog: levels and facilitators of co-production (Beckett et al. 2018, Table 4).

Pure: plain data in, plain data out. The catalog ships as ``facilitators.json``; a partnership may
point ``COPROD_FACILITATORS`` at its own (translated, extended, shorter) catalog, so validation checks
shape, not content.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LEVEL_SCALES = ("micro", "meso", "macro")
# The five answers to a question, by what it asks: "how much" or "how often". A question that asks how often
# we do something is answered "Never … Always", not "Not at all … Very much".
ANSWER_SCALES: dict[str, tuple[str, str, str, str, str]] = {
    "how much": ("Not at all", "A little", "Somewhat", "Mostly", "Very much"),
    "how often": ("Never", "Rarely", "Sometimes", "Often", "Always"),
}
DEFAULT_ANSWER_SCALE = "how much"

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_MAX = 40
_MIN_PREFIX = 3
_ENV_HINT = "set COPROD_FACILITATORS to a readable JSON catalog or unset it to use the bundled one"
_BUNDLED_HINT = (
    "the bundled catalog is missing: reinstall coprod-bot, or set COPROD_FACILITATORS to a readable JSON catalog"
)


class CatalogError(Exception):
    """One clear line: what is wrong and where (file path, and the level/facilitator id or JSON line)."""


_Fail = Callable[[str], CatalogError]


@dataclass(frozen=True)
class Level:
    id: str
    name: str
    scale: str
    gloss: str = ""  # what the level means in plain words: "how research is done in general"


@dataclass(frozen=True)
class Facilitator:
    id: str
    level_id: str
    text: str
    prompt: str
    tags: tuple[str, ...] = ()
    answers: str = DEFAULT_ANSWER_SCALE  # "how much" or "how often": which five labels its answers carry

    def __post_init__(self) -> None:
        # A list passed by a caller would make the frozen instance unhashable.
        object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def labels(self) -> dict[int, str]:
        """Rating -> its label on this question's scale, 1 to 5."""
        return dict(enumerate(ANSWER_SCALES.get(self.answers, ANSWER_SCALES[DEFAULT_ANSWER_SCALE]), start=1))


def _fold(text: str) -> str:
    """Normalise what a user types: case, surrounding and repeated spaces, -ize/-ise spelling."""
    # "Group/interpersonal", "group - interpersonal" and "group_interpersonal" all read the same.
    text = re.sub(r"[\s_/-]+", " ", text.lower()).strip()
    # "organizational" -> "organisational", "organize" -> "organise"; applied to both sides.
    return re.sub(r"(?<=[a-z])iz(?=(?:e|ed|es|ing|ation|ations|ational)\b)", "is", text)


@dataclass(frozen=True)
class _Index:
    levels: dict[str, Level]
    facilitators: dict[str, Facilitator]
    facilitators_folded: dict[str, Facilitator]
    in_level: dict[str, tuple[Facilitator, ...]]
    tagged: dict[str, tuple[Facilitator, ...]]
    # Tiers of level names a user may type, tried in order; a key shared by two levels is ambiguous.
    level_exact: dict[str, tuple[Level, ...]]
    level_alias: dict[str, tuple[Level, ...]]
    level_prefix_keys: tuple[tuple[str, Level], ...]


def _group(pairs: list[tuple[str, Level]]) -> dict[str, tuple[Level, ...]]:
    grouped: dict[str, list[Level]] = {}
    for key, level in pairs:
        bucket = grouped.setdefault(key, [])
        if level not in bucket:
            bucket.append(level)
    return {key: tuple(levels) for key, levels in grouped.items()}


def _build_index(levels: tuple[Level, ...], facilitators: tuple[Facilitator, ...]) -> _Index:
    in_level: dict[str, list[Facilitator]] = {level.id: [] for level in levels}
    tagged: dict[str, list[Facilitator]] = {}
    for fac in facilitators:
        in_level.setdefault(fac.level_id, []).append(fac)
        for tag in fac.tags:
            tagged.setdefault(tag, []).append(fac)

    exact: list[tuple[str, Level]] = []
    alias: list[tuple[str, Level]] = []
    for level in levels:
        # The paper labels levels "Individual (micro)"; users may copy that.
        exact += [(_fold(level.id), level), (_fold(level.name), level)]
        exact.append((f"{_fold(level.name)} ({level.scale})", level))
        # "Group/interpersonal" is also reachable as "group" or "interpersonal".
        alias += [(_fold(part), level) for part in level.name.split("/") if _fold(part)]
    prefix_keys = tuple(dict.fromkeys(exact + alias))

    return _Index(
        levels={level.id: level for level in levels},
        facilitators={fac.id: fac for fac in facilitators},
        facilitators_folded={fac.id.strip().lower(): fac for fac in facilitators},
        in_level={key: tuple(value) for key, value in in_level.items()},
        tagged={key: tuple(value) for key, value in tagged.items()},
        level_exact=_group(exact),
        level_alias=_group(alias),
        level_prefix_keys=prefix_keys,
    )


@dataclass(frozen=True)
class Catalog:
    source: str
    levels: tuple[Level, ...]
    facilitators: tuple[Facilitator, ...]
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "facilitators", tuple(self.facilitators))
        object.__setattr__(self, "_index", _build_index(self.levels, self.facilitators))

    def level(self, level_id: str) -> Level:
        """The level with this id; KeyError if there is none."""
        return self._index.levels[level_id]

    def facilitator(self, facilitator_id: str) -> Facilitator:
        """The facilitator with this id; KeyError if there is none."""
        return self._index.facilitators[facilitator_id]

    def in_level(self, level_id: str) -> tuple[Facilitator, ...]:
        """The level's facilitators in catalog order; empty for an unknown level."""
        return self._index.in_level.get(level_id, ())

    def tagged(self, tag: str) -> tuple[Facilitator, ...]:
        """Facilitators carrying this tag, in catalog order."""
        return self._index.tagged.get(tag, ())

    def find_level(self, text: str) -> Level | None:
        """The level a user most likely means, forgiving of case, spacing, spelling and abbreviation.

        Tries, in order: id or name; one part of a name such as "interpersonal"; a prefix of at least
        three letters. None when nothing matches or the text could mean more than one level.
        """
        key = _fold(text)
        if not key:
            return None
        index = self._index
        for tier in (index.level_exact, index.level_alias):
            found = tier.get(key)
            if found is not None:
                return found[0] if len(found) == 1 else None
        if sum(ch.isalpha() for ch in key) < _MIN_PREFIX:
            return None
        matches = {level for candidate, level in index.level_prefix_keys if candidate.startswith(key)}
        return matches.pop() if len(matches) == 1 else None

    def find(self, text: str) -> Level | Facilitator | None:
        """A facilitator by id (case-insensitive), or else the level find_level picks."""
        fac = self._index.facilitators_folded.get(text.strip().lower())
        return fac if fac is not None else self.find_level(text)


def bundled_catalog_path() -> Path:
    """The catalog shipped with the package.

    A wheel carries it as bot/facilitators.json (pyproject force-includes it); an editable install or
    a checkout reads the repository's top-level facilitators.json.
    """
    package = Path(__file__).resolve().parent.parent  # bot/, above bot/domain/
    packaged = package / "facilitators.json"
    return packaged if packaged.is_file() else package.parent / "facilitators.json"


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read and validate a catalog file; None reads the bundled one. Raises CatalogError."""
    bundled = path is None
    file = bundled_catalog_path() if path is None else Path(path).expanduser()
    try:
        raw = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise CatalogError(f"{file}: not valid UTF-8 at byte {err.start}: {err.reason}") from None
    except OSError as err:
        reason = _one_line(err.strerror or str(err))
        hint = _BUNDLED_HINT if bundled else _ENV_HINT
        raise CatalogError(f"cannot read {file}: {reason}; {hint}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CatalogError(f"{file}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except (ValueError, RecursionError) as err:
        raise CatalogError(f"{file}: not valid JSON: {_one_line(str(err)) or type(err).__name__}") from None
    return parse_catalog(data, where=str(file))


def parse_catalog(data: object, where: str = "catalog") -> Catalog:
    """Validate already-parsed JSON and build a Catalog. Raises CatalogError naming where."""

    def fail(problem: str) -> CatalogError:
        return CatalogError(f"{where}: {problem}")

    if not isinstance(data, dict):
        raise fail(f"the top level must be a JSON object, not {_kind(data)}")

    source = data.get("source", "")
    if not isinstance(source, str):
        raise fail(f"'source' must be a string, not {_kind(source)}")

    raw_levels = _nonempty_list(data, "levels", fail)
    raw_facilitators = _nonempty_list(data, "facilitators", fail)

    levels: list[Level] = []
    level_ids: set[str] = set()
    for position, entry in enumerate(raw_levels, start=1):
        label = f"level #{position}"
        if not isinstance(entry, dict):
            raise fail(f"{label} must be a JSON object, not {_kind(entry)}")
        level_id = _text(entry, "id", label, fail)
        label = f"level {level_id!r}"
        _check_slug(level_id, label, fail)
        if level_id in level_ids:
            raise fail(f"duplicate level id {level_id!r}")
        name = _text(entry, "name", label, fail)
        scale = _text(entry, "scale", label, fail)
        if scale not in LEVEL_SCALES:
            raise fail(f"{label} has scale {scale!r}; it must be one of {', '.join(LEVEL_SCALES)}")
        gloss = entry.get("gloss", "")
        if not isinstance(gloss, str):
            raise fail(f"{label}: 'gloss' must be a string, not {_kind(gloss)}")
        level_ids.add(level_id)
        levels.append(Level(id=level_id, name=name, scale=scale, gloss=gloss.strip()))

    facilitators: list[Facilitator] = []
    facilitator_ids: set[str] = set()
    for position, entry in enumerate(raw_facilitators, start=1):
        label = f"facilitator #{position}"
        if not isinstance(entry, dict):
            raise fail(f"{label} must be a JSON object, not {_kind(entry)}")
        fac_id = _text(entry, "id", label, fail)
        label = f"facilitator {fac_id!r}"
        _check_slug(fac_id, label, fail)
        if fac_id in facilitator_ids:
            raise fail(f"duplicate facilitator id {fac_id!r}")
        level_id = _text(entry, "level", label, fail)
        if level_id not in level_ids:
            raise fail(f"{label} names unknown level {level_id!r}")
        text = _text(entry, "text", label, fail)
        prompt = _text(entry, "prompt", label, fail)
        tags = _tags(entry, label, fail)
        answers = entry.get("scale", DEFAULT_ANSWER_SCALE)
        if answers not in ANSWER_SCALES:
            choices = " or ".join(repr(name) for name in ANSWER_SCALES)
            raise fail(f"{label} has scale {answers!r}; it must be {choices}")
        facilitator_ids.add(fac_id)
        facilitators.append(
            Facilitator(id=fac_id, level_id=level_id, text=text, prompt=prompt, tags=tags, answers=str(answers))
        )

    covered = {fac.level_id for fac in facilitators}
    for level in levels:
        if level.id not in covered:
            raise fail(f"level {level.id!r} has no facilitators")

    return Catalog(source=source, levels=tuple(levels), facilitators=tuple(facilitators))


def _kind(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _nonempty_list(data: dict[str, object], key: str, fail: _Fail) -> list[object]:
    if key not in data:
        raise fail(f"{key!r} is missing")
    value = data[key]
    if not isinstance(value, list):
        raise fail(f"{key!r} must be a list, not {_kind(value)}")
    if not value:
        raise fail(f"{key!r} is empty")
    return value


def _text(entry: dict[str, object], key: str, label: str, fail: _Fail) -> str:
    if key not in entry:
        raise fail(f"{label} is missing {key!r}")
    value = entry[key]
    if not isinstance(value, str):
        raise fail(f"{label}: {key!r} must be a string, not {_kind(value)}")
    if not value.strip():
        raise fail(f"{label} has an empty {key!r}")
    return value


def _check_slug(value: str, label: str, fail: _Fail) -> None:
    if not _SLUG.fullmatch(value) or len(value) > _SLUG_MAX:
        rule = f"lowercase a-z, 0-9 and single hyphens, at most {_SLUG_MAX} characters"
        raise fail(f"{label}: id must be a slug ({rule})")


def _tags(entry: dict[str, object], label: str, fail: _Fail) -> tuple[str, ...]:
    value = entry.get("tags", [])
    if not isinstance(value, list) or not all(isinstance(tag, str) and tag.strip() for tag in value):
        raise fail(f"{label}: 'tags' must be a list of non-empty strings")
    return tuple(dict.fromkeys(value))
