"""The README stays true: every command a user can type, and every setting, is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.commands import EXAMPLES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("verb", sorted({example.split()[0] for example, _ in EXAMPLES}))
def test_every_slash_command_is_in_the_readme(verb):
    """Each `/coprod` verb the help shows is in the README."""
    assert f"/coprod {verb}" in README


def test_every_cli_command_is_in_the_readme():
    """Each `coprod` subcommand is in the README."""
    subparsers = next(a for a in build_parser()._actions if a.choices and "run" in a.choices)
    missing = [name for name in subparsers.choices if f"coprod {name}" not in README]
    assert missing == []


def test_every_setting_read_from_the_environment_is_in_the_readme():
    """Each environment variable the settings read is in the README's configuration table."""
    source = (Path(__file__).resolve().parents[1] / "bot" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"((?:SLACK|COPROD)_[A-Z_]+|PORT)"', source))
    assert names and [name for name in sorted(names) if f"`{name}`" not in README] == []
