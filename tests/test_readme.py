"""The README stays true: every command a user can type, and every setting, is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import RUN_HELP, build_parser
from bot.domain.commands import EXAMPLES
from bot.localslack.launch import previous_for
from bot.runtime.runlock import already_running
from tests.support.flows import ask, open_comment_form, plan, post_checkin, submit_comment
from tests.support.stored import rows
from tests.support.waiting import eventually

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


# ---- sentences of the README that once were untrue (issue 26), kept true by what coprod does ----------------

PROSE = " ".join(README.split())  # the README's words, its line breaks as spaces


def test_the_readme_says_anonymous_answers_go_through_add_a_comment_and_they_do(bot):
    """ "people answer with one click, anonymously if they like" was untrue: one click is a named rating (though
    nobody sees it), and answering anonymously is in the **Add a comment** form, which leaves the role out too."""
    assert "anonymously if they like" not in PROSE
    assert (
        "people answer with one click; nobody sees who answered what, and **Add a comment** lets them add a few "
        "words and answer anonymously, their role left out too." in PROSE
    )
    bot.command("schedule checkins weekly Tuesday 10:00")
    bot.command("role <@U2> carer")
    checkin = post_checkin(bot)
    buttons = [e["text"]["text"] for b in checkin.call.json("blocks") if b["type"] == "actions" for e in b["elements"]]
    assert [b[0] for b in buttons[:5]] == ["1", "2", "3", "4", "5"] and "Add a comment" in buttons
    form = open_comment_form(bot, checkin.id, "U2")
    assert "Answer anonymously" in json.dumps(form)
    submit_comment(bot, checkin.id, "U2", 4, "We rush the agenda", anonymous=True, form=form)
    assert eventually(lambda: rows(bot.store.path, "SELECT anonymous, role, rating FROM responses") == [(1, None, 4)])


def test_the_readme_says_the_actions_file_comes_only_when_there_are_actions_and_so_it_does(bot):
    """ "with the actions in a second file" was untrue when nothing was planned: the README says when it comes."""
    assert "and the actions in a second file when any were planned" in PROSE
    bot.command("schedule checkins weekly Tuesday 10:00")
    ask(bot, "export")
    [alone] = bot.stub.wait_for("files.completeUploadExternal", count=1)
    plan(bot)
    ask(bot, "export")
    done = bot.stub.wait_for("files.completeUploadExternal", count=3)
    assert [call.args["initial_comment"].split(" ")[0] for call in done] == ["Here", "Here", "And"]
    assert alone is done[0]


def test_the_help_of_coprod_run_names_the_processes_it_starts_as_the_readme_does():
    """`coprod --help` said `run` was "scheduler and Slack connection in one process"; the scheduled posts and
    clicks' replies are the worker's, a process of its own (the README's `runtime/`, drawn in
    docs/architecture.md), which the README's "Two processes, or one command" names as --help does."""
    help_of_run = " ".join(RUN_HELP.split())
    assert "in one process" not in help_of_run and "with a worker process beside it" in help_of_run
    assert "`coprod run` starts a second process of its own, the worker" in PROSE
    assert "`runtime/`: the processes `coprod run` starts, and the scheduler's jobs they run." in PROSE
    assert "[`docs/architecture.md`](docs/architecture.md) draws coprod's processes" in PROSE
    subparsers = next(a for a in build_parser()._actions if a.choices and "run" in a.choices)
    assert subparsers.choices["run"].description.startswith("Run the bot: the Slack connection")


def test_the_readme_says_fresh_and_demo_keep_the_earlier_data_and_where():
    """`--fresh` deleted the local data without a word, and nothing wrote the history again: the README's
    sentence names `--demo` and the file the earlier data is kept in, which is where coprod keeps it (the
    processes themselves are in tests/test_run_lock.py)."""
    assert "`coprod run --local --demo` starts it again with the six months of history" in PROSE
    assert f"the earlier data is kept beside it in `{previous_for('coprod-local.db')}`" in PROSE
    assert f"`COPROD_DB={previous_for('coprod-local.db')} coprod run --local` opens it" in PROSE
    subparsers = next(a for a in build_parser()._actions if a.choices and "run" in a.choices)
    assert {"--fresh", "--demo"} <= set(subparsers.choices["run"]._option_string_actions)


def test_the_readme_says_one_coprod_runs_on_a_database_at_a_time():
    assert (
        "One coprod runs on a database at a time: a second `coprod run` on the same database stops with one line "
        "naming the one running (its process id and port)." in PROSE
    )
    assert "already running" in already_running("coprod-local.db", "pid 1, port 3000")
