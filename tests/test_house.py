"""The house rules of ``bot/``, checked on its source: each layer imports only its own layer and those below it,
no bot modules import each other in a circle, every module is on the map in docs/architecture.md, and modules
and classes stay short enough to read.

``check_house(root)`` reads the tree under ``root`` without importing it. The last tests build small trees that
break each rule and show the checker reports them, so a check that passes is one that could have failed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = "docs/architecture.md"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250

# The layers, top to bottom (docs/architecture.md, "Layers"). A module belongs to the first entry whose path
# is its own or a folder it is in; a module may import its own layer and the layers below it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("top", ("bot/cli.py", "bot/__main__.py", "bot/localslack/")),
    ("runtime", ("bot/runtime/",)),
    ("slack", ("bot/slack/",)),
    ("reports", ("bot/reports.py", "bot/report_export.py")),
    ("render", ("bot/render/",)),
    ("store", ("bot/store/",)),
    ("bottom", ("bot/domain/", "bot/work/", "bot/settings.py", "bot/__init__.py")),
)

# Libraries that belong to one edge each; ruff's banned-api keeps them out by folder, and this says which edge.
EDGES: dict[str, tuple[str, ...]] = {
    "sqlite3": ("bot/store/",),
    "sqlite_utils": ("bot/store/",),
    "slack_sdk": ("bot/slack/", "bot/runtime/", "bot/localslack/blockkit.py", "bot/store/installations.py"),
    "slack_bolt": ("bot/slack/", "bot/runtime/"),
}


@dataclass(frozen=True)
class Import:
    """One import a module makes: the bot module (its path) or library it names, and where."""

    target: str
    line: int
    typing_only: bool  # under ``if TYPE_CHECKING:``, so it never runs


@dataclass
class House:
    """What breaks the house rules, each list empty when none does."""

    unplaced: list[str] = field(default_factory=list)
    upward: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    too_long: list[str] = field(default_factory=list)


def layer_of(path: str) -> int | None:
    """The layer's place from the top (0 is the top), or None for a module in no layer."""
    for rank, (_, places) in enumerate(LAYERS):
        if any(path == place or (place.endswith("/") and path.startswith(place)) for place in places):
            return rank
    return None


def dotted(path: str) -> str:
    """``bot/slack/app.py`` -> ``bot.slack.app``; a package's ``__init__.py`` is the package."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.AST, package: str) -> Iterator[tuple[str, int, bool]]:
    """Every name imported anywhere in the module (functions and classes included), made absolute, with its
    line and whether it sits under ``if TYPE_CHECKING:``. ``from x import y`` gives ``x.y``: y may be a module."""

    def walk(node: ast.AST, typing_only: bool) -> Iterator[tuple[str, int, bool]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, typing_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno, typing_only
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, True)
            for child in node.orelse:
                yield from walk(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            yield from walk(child, typing_only)

    yield from walk(tree, False)


def resolve(name: str, modules: dict[str, str]) -> str:
    """The bot module a dotted name lands in (its path), or the top-level library it names."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return modules[".".join(parts[:end])]
    return parts[0]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the circles of the graph (components of two or more, or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def check_house(root: Path) -> House:
    """Read every module under ``root/bot`` and say what breaks the house rules."""
    house = House()
    paths = sorted(p.relative_to(root).as_posix() for p in (root / "bot").rglob("*.py"))
    modules = {dotted(path): path for path in paths}
    the_map = (root / MAP).read_text(encoding="utf-8") if (root / MAP).exists() else ""
    runs: dict[str, set[str]] = {path: set() for path in paths}  # imports that run: the graph for circles
    for path in paths:
        source = (root / path).read_text(encoding="utf-8")
        tree = ast.parse(source, filename=path)
        rank = layer_of(path)
        if rank is None:
            house.unplaced.append(path)
        if f"`{path}`" not in the_map:
            house.unmapped.append(path)
        if len(source.splitlines()) > MAX_MODULE_LINES:
            house.too_long.append(f"{path}: {len(source.splitlines())} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (length := node.end_lineno - node.lineno + 1) > MAX_CLASS_LINES:
                house.too_long.append(f"{path}: class {node.name}, {length} lines (at most {MAX_CLASS_LINES})")
        package = dotted(path) if path.endswith("__init__.py") else dotted(path).rpartition(".")[0]
        for name, line, typing_only in imported_names(tree, package):
            target = resolve(name, modules)
            if target in runs:
                if not typing_only and target != path:
                    runs[path].add(target)
                above = layer_of(target)
                if rank is not None and above is not None and above < rank:
                    house.upward.append(
                        f"{path}:{line} ({LAYERS[rank][0]}) imports {target} ({LAYERS[above][0]}, a layer above)"
                    )
            elif target in EDGES and not any(path.startswith(place) for place in EDGES[target]):
                house.edges.append(f"{path}:{line} imports {target}, which belongs in {', '.join(EDGES[target])}")
    house.cycles = strongly_connected(runs)
    return house


def listed(problems: Iterable[str]) -> str:
    return "\n".join(["", *problems])


@pytest.fixture(scope="module")
def house() -> House:
    return check_house(ROOT)


def test_every_module_is_in_a_layer(house):
    """A new top-level module or folder goes into the layer table here and in docs/architecture.md first."""
    assert house.unplaced == [], listed(house.unplaced)


def test_no_module_imports_a_layer_above_its_own(house):
    """Imports inside functions count too: a deferred import is still a dependency. So do imports under
    ``if TYPE_CHECKING:``: a type taken from a layer above ties the module to that layer just the same."""
    assert house.upward == [], listed(house.upward)


def test_no_bot_modules_import_each_other_in_a_circle(house):
    """Imports inside functions count. Imports under ``if TYPE_CHECKING:`` don't: they never run, and naming
    a type for the type checker alone is the one accepted way to refer back without a circle at run time."""
    assert house.cycles == [], listed("circle: " + ", ".join(circle) for circle in house.cycles)


def test_sql_and_slack_libraries_stay_at_their_edges(house):
    assert house.edges == [], listed(house.edges)


def test_every_module_is_on_the_map(house):
    """docs/architecture.md names each module by its path in backticks (`bot/slack/app.py`)."""
    assert house.unmapped == [], listed(house.unmapped)


def test_modules_and_classes_are_short(house):
    assert house.too_long == [], listed(house.too_long)


# ---- the checker fails when it should ---------------------------------------------------------------------


def tree(root: Path, files: dict[str, str], documented: bool = True) -> Path:
    """A small synthetic repository: the modules given, and a map naming them all when ``documented``."""
    for path, source in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(source, encoding="utf-8")
    if documented:
        (root / "docs").mkdir(exist_ok=True)
        (root / MAP).write_text("\n".join(f"- `{path}`" for path in files), encoding="utf-8")
    return root


def test_a_clean_tree_passes(tmp_path):
    root = tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/domain/rotation.py": "from bot.domain import typed\n",
            "bot/domain/typed.py": "import json\n",
            "bot/slack/app.py": "from bot.domain.rotation import next_practice\nimport slack_bolt\n",
        },
    )
    assert check_house(root) == House()


def test_an_upward_import_inside_a_function_is_reported(tmp_path):
    root = tree(
        tmp_path,
        {
            "bot/domain/rotation.py": "def pick():\n    from bot.slack.app import build_app\n",
            "bot/render/messages.py": "from ..slack import app\n",
            "bot/slack/app.py": "",
        },
    )
    assert check_house(root).upward == [
        "bot/domain/rotation.py:2 (bottom) imports bot/slack/app.py (slack, a layer above)",
        "bot/render/messages.py:1 (render) imports bot/slack/app.py (slack, a layer above)",
    ]


def test_a_type_from_a_layer_above_is_reported_but_makes_no_circle(tmp_path):
    root = tree(
        tmp_path,
        {
            "bot/store/said.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from bot.render import blocks\n",
            "bot/render/blocks.py": "from bot.store import said\n",
        },
    )
    found = check_house(root)
    assert found.upward == ["bot/store/said.py:3 (store) imports bot/render/blocks.py (render, a layer above)"]
    assert found.cycles == []


def test_a_circle_is_reported_with_its_modules(tmp_path):
    root = tree(
        tmp_path,
        {
            "bot/runtime/run.py": "def local():\n    from bot.localslack import launch\n",
            "bot/localslack/launch.py": "from bot.runtime.run import Runtime\n",
            "bot/domain/a.py": "from . import b\n",
            "bot/domain/b.py": "from bot.domain.c import x\n",
            "bot/domain/c.py": "import bot.domain.a\n",
            "bot/domain/d.py": "from bot.domain import a\n",
        },
    )
    found = check_house(root)
    assert found.cycles == [
        ["bot/domain/a.py", "bot/domain/b.py", "bot/domain/c.py"],
        ["bot/localslack/launch.py", "bot/runtime/run.py"],
    ]
    assert found.upward == ["bot/runtime/run.py:2 (runtime) imports bot/localslack/launch.py (top, a layer above)"]


def test_a_library_outside_its_edge_is_reported(tmp_path):
    root = tree(
        tmp_path,
        {
            "bot/domain/summary.py": "def f():\n    import sqlite3\n",
            "bot/render/blocks.py": "from slack_sdk.models import blocks\n",
        },
    )
    assert check_house(root).edges == [
        "bot/domain/summary.py:2 imports sqlite3, which belongs in bot/store/",
        "bot/render/blocks.py:1 imports slack_sdk, which belongs in "
        "bot/slack/, bot/runtime/, bot/localslack/blockkit.py, bot/store/installations.py",
    ]


def test_unplaced_unmapped_and_long_modules_are_all_reported_at_once(tmp_path):
    long_class = "class Big:\n" + "    x = 1\n" * 250
    root = tree(
        tmp_path,
        {"bot/helpers.py": "", "bot/domain/long.py": "x = 1\n" * 401, "bot/store/big.py": long_class},
        documented=False,
    )
    found = check_house(root)
    assert found.unplaced == ["bot/helpers.py"]
    assert found.unmapped == ["bot/domain/long.py", "bot/helpers.py", "bot/store/big.py"]
    assert found.too_long == [
        "bot/domain/long.py: 401 lines (at most 400)",
        "bot/store/big.py: class Big, 251 lines (at most 250)",
    ]
