"""The coverage picture: the grid it is drawn from (the anonymity rule cell by cell), the drawing (cell colours
read back from the PNG, not compared pixel by pixel), its words, and `coprod picture`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot import reports
from bot.domain import coverage
from bot.domain.catalog import load_catalog
from bot.render import picture
from bot.store import Store

CATALOG = load_catalog()
TEAM, CHANNEL = "T0001", "C0001"
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a Monday
DAY = 86_400
ROOT = Path(__file__).resolve().parent.parent


def ask(store: Store, level: str, at: datetime, ratings: list[int]) -> int:
    """A check-in at ``level`` asked at ``at``, answered by one new person per rating within the hour."""
    p = store.partnerships.get(TEAM, CHANNEL)
    cid = store.checkins.record_checkin(
        p, facilitator_id=CATALOG.in_level(level)[0].id, level_id=level, asked_at=int(at.timestamp())
    )
    for n, rating in enumerate(ratings):
        store.answers.record_response(TEAM, cid, f"U{level[:3]}{n}", rating=rating, now=int(at.timestamp()) + 60)
    return cid


@pytest.fixture
def history(store: Store) -> Store:
    """Eight weeks: Individual rated 4, 4, 5 in week 1 and 2, 2, 3 in week 3; Group asked in week 2 with
    two answers (fewer than k); Organisational's week-8 check-in has three answers but is still open;
    Societal and Paradigmatic never asked; meetings in weeks 1 and 3."""
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UC", now=0)
    ask(store, "individual", START, [4, 4, 5])
    ask(store, "group", START + timedelta(weeks=1), [1, 5])
    ask(store, "individual", START + timedelta(weeks=2), [2, 2, 3])
    ask(store, "organisational", START + timedelta(weeks=7, days=5), [5, 5, 5])
    for week in (0, 2):
        day = START + timedelta(weeks=week, days=1)
        store.activity.log_meeting(p, held_on=day.date().isoformat(), user="UC", now=int(day.timestamp()))
    action = store.plans.plan(
        p,
        what="rotate who chairs",
        facilitator_id=CATALOG.in_level("individual")[0].id,
        level_id="individual",
        lead=None,
        due_on=None,
        planned_by="UC",
        now=int((START + timedelta(weeks=2)).timestamp()),
    )
    done_at = START + timedelta(weeks=3, days=2)
    store.plans.close(TEAM, action.id, "done", by="UC", now=int(done_at.timestamp()))
    return store


def grid_of(store: Store, now: datetime = START + timedelta(weeks=8)) -> coverage.Grid:
    p = store.partnerships.get(TEAM, CHANNEL)
    grid, _, _ = reports.coverage_grid(store, CATALOG, p, start=START, end=START + timedelta(weeks=8), now=now)
    return grid


def test_each_cell_follows_the_anonymity_rule(history: Store) -> None:
    """A cell shows a mean only of closed check-ins k or more people answered; two answers, or an open
    check-in, is "asked, too few answers to show"; no check-in is "not asked"."""
    grid = grid_of(history)
    assert grid.unit == "week" and len(grid.periods) == 9  # the last week has just begun
    assert [(c.state, c.mean) for c in (grid.cell("individual", i) for i in (0, 2))] == [
        (coverage.RATED, pytest.approx(13 / 3)),
        (coverage.RATED, pytest.approx(7 / 3)),
    ]
    assert grid.cell("group", 1) == coverage.Cell(coverage.FEW, 1)  # two answers: below k
    assert grid.cell("organisational", 7) == coverage.Cell(coverage.FEW, 1)  # three, but still open
    assert grid.cell("individual", 1) == coverage.Cell(coverage.NOT_ASKED)
    assert all(
        grid.cell(level, i).state == coverage.NOT_ASKED for level in ("societal", "paradigmatic") for i in range(8)
    )
    assert grid.marks == {"Meetings held": (1, 0, 1, 0, 0, 0, 0, 0, 0), "Actions done": (0, 0, 0, 1, 0, 0, 0, 0, 0)}
    # A week later the organisational check-in has closed with its three answers.
    assert grid_of(history, now=START + timedelta(weeks=9)).cell("organisational", 7).state == coverage.RATED


def test_the_drawing_colours_each_cell_by_its_state_and_mean(history: Store) -> None:
    """Read back from the PNG: each cell's centre has its state's colour (the rounded mean's for a rated
    one); the same data draws the same picture."""
    grid = grid_of(history)
    png = picture.draw(grid)
    assert png == picture.draw(grid)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    box = picture.layout(grid)
    assert image.size == (box.width, box.height)
    seen = {}
    for (level_id, i), (x0, y0, x1, y1) in box.cells.items():
        cell = grid.cell(level_id, i)
        # The centre of a grey cell is clear of its lines; a rated cell's mean is written at its centre.
        below = 0 if cell.state == coverage.FEW else 22
        seen[(level_id, i)] = image.getpixel(((x0 + x1) // 2, (y0 + y1) // 2 + below))
        assert seen[(level_id, i)] == picture.colour(cell.state, cell.mean), (level_id, i, cell)
    assert seen[("individual", 0)] == picture.PALETTE[4]
    assert seen[("individual", 2)] == picture.PALETTE[2]
    assert seen[("group", 1)] == picture.FEW_FILL
    assert seen[("societal", 0)] == picture.NOT_ASKED_FILL
    assert len(set(picture.PALETTE.values()) | {picture.FEW_FILL, picture.NOT_ASKED_FILL}) == 7


def test_a_level_with_no_data_is_drawn_and_said_as_such(store: Store) -> None:
    """A partnership nobody asked yet: every cell "not asked", in the picture and in its words."""
    store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="UC", now=0)
    grid = grid_of(store)
    assert {c.state for c in grid.cells.values()} == {coverage.NOT_ASKED}
    text = coverage.alt_text(grid)
    for level in CATALOG.levels:
        assert f"{level.name} ({level.scale}): " in text
    assert "not asked" in text and "Meetings held: 0." in text and "Actions done: 0." in text
    assert picture.draw(grid).startswith(b"\x89PNG")


def test_the_alt_text_says_what_the_picture_shows(history: Store) -> None:
    text = coverage.alt_text(grid_of(history))
    assert text.startswith("How we looked after each level, 1 Jun 2026 to 27 Jul 2026, by week.")
    assert "Individual (micro): 1 Jun 4.3; 8 Jun not asked; 15 Jun 2.3;" in text
    assert "Group/interpersonal (micro): 1 Jun not asked; 8 Jun asked, too few answers to show;" in text
    assert "Meetings held: 2." in text and "Actions done: 1." in text


def test_five_years_of_weekly_checkins_fit_slacks_alt_text_and_a_readable_width(store: Store) -> None:
    store.partnerships.ensure(TEAM, CHANNEL, timezone="UTC", created_by="UC", now=0)
    for week in range(5 * 52):
        ask(store, CATALOG.levels[week % 5].id, START + timedelta(weeks=week), [3, 4, 5])
    p = store.partnerships.get(TEAM, CHANNEL)
    end = START + timedelta(weeks=5 * 52)
    grid, _, _ = reports.coverage_grid(store, CATALOG, p, start=START, end=end, now=end)
    assert grid.unit == "quarter" and len(grid.periods) == 21
    assert len(coverage.alt_text(grid)) <= 2000
    assert picture.layout(grid).width <= picture.MAX_W


def test_starting_coprod_does_not_import_the_drawing_library() -> None:
    """Pillow is imported only when a picture is drawn: `coprod run`'s modules don't pull it in."""
    code = "import sys, bot.runtime.run, bot.cli, bot.reports, bot.slack.posts; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_coprod_picture_writes_a_private_png(history: Store, tmp_path: Path) -> None:
    env = {**os.environ, "COPROD_DB": str(history.path)}
    out = tmp_path / "coverage.png"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "picture", "--team", TEAM, "--channel", CHANNEL, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and (out.stat().st_mode & 0o777) == 0o600
    assert "How we looked after each level" in result.stdout
