"""The report for funders: `coprod report` writes one self-contained HTML file with every section, the
summary's own figures, nobody's identity and no comment; headless Chromium prints it to PDF."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import reports
from bot.domain.catalog import load_catalog
from bot.store import Store

CATALOG = load_catalog()
TEAM, CHANNEL = "T0001", "C0001"
ROOT = Path(__file__).resolve().parent.parent
SECRET_COMMENT = "only the carer would say this"
SECTIONS = ("picture", "practice", "people", "meetings", "actions", "reflection", "gripp2")


def populate(store: Store, now: datetime, level_name: str | None = None) -> None:
    """Ten weeks of check-ins through the levels, each answered by three or four people (one of them
    anonymously, with a comment), roles for three researchers and one carer, meetings every fortnight."""
    p = store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UC", now=0)
    for n in range(3):
        store.people.set_role(p, f"UNAMED{n}", "researcher")
    store.people.set_role(p, "UCARER", "carer")
    start = now - timedelta(weeks=10)
    for week in range(10):
        at = start + timedelta(weeks=week)
        level = CATALOG.levels[week % 5]
        cid = store.checkins.record_checkin(
            p, facilitator_id=CATALOG.in_level(level.id)[week % 2].id, level_id=level.id, asked_at=int(at.timestamp())
        )
        for n in range(3):
            rating = 2 + (week + n) % 4
            store.answers.record_response(
                TEAM, cid, f"UNAMED{n}", rating=rating, role="researcher", now=int(at.timestamp()) + 60
            )
        if week % 3 == 0:
            store.answers.record_response(
                TEAM, cid, "UCARER", rating=1, comment=SECRET_COMMENT, anonymous=True, now=int(at.timestamp()) + 90
            )
        if week % 2 == 0:
            day = at + timedelta(days=1)
            store.activity.log_meeting(p, held_on=day.date().isoformat(), user="UC", now=int(day.timestamp()))
        if week == 2:  # an action for the week-0 practice, done before it is asked again at week 5
            action = store.plans.plan(
                p,
                what="<b>rotate</b> who chairs",
                facilitator_id=CATALOG.in_level(CATALOG.levels[0].id)[0].id,
                level_id=CATALOG.levels[0].id,
                lead="UNAMED1",
                due_on=None,
                planned_by="UC",
                now=int(at.timestamp()),
            )
            store.plans.close(TEAM, action.id, "done", by="UNAMED1", now=int(at.timestamp()) + 3600)


def coprod_report(store: Store, tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--team", TEAM, "--channel", CHANNEL, "--out", str(out), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COPROD_DB": str(store.path), **env},
        cwd=tmp_path,
    )
    return result, out


def test_the_report_has_every_section_the_summarys_figures_and_no_identity(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    populate(store, now)
    p = store.partnerships.get(TEAM, CHANNEL)
    summary = reports.partnership_summary(store, CATALOG, p, now=now, weeks=12)
    since = summary.window.start.astimezone(UTC).date().isoformat()
    result, out = coprod_report(store, tmp_path, "--since", since)
    assert result.returncode == 0, result.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    html = out.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    # Places for the team's own words, one under each of GRIPP2's five headings, that a browser lets people type in.
    assert html.count('<div class="yours" id="yours-') == 5 and html.count('contenteditable="true"') == 5
    assert "GRIPP2 short form" in html and "BMJ. 2017;358:j3453" in html and "Beckett K" in html
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}" alt="How we looked after', html)
    # Self-contained: nothing is fetched (its one script, which keeps the words typed, is inline).
    assert not re.search(r"<script[^>]*\bsrc=", html) and "http://" not in html and "https://" not in html
    # The same averages as the summary of the same weeks, level by level.
    for s in summary.levels:
        row = re.search(rf"<tr class=\"level\"><td>{re.escape(s.level.name)} \(\w+\)</td>(.*?)</tr>", html)
        assert row, s.level.name
        shown = re.findall(r'<td class="n">([^<]*)</td>', row.group(1))[-1]
        assert shown == (f"{s.mean:.1f}" if s.mean is not None else "too few answers to show"), s.level.name
    people = html.split('<section id="people">')[1].split("</section>")[0]
    assert 'researcher</td><td class="n">3</td>' in people and "carer" not in people  # one carer: not shown
    # The team's composition is no one's answer: GRIPP2's Methods counts every role, however few hold it.
    assert 'carer</td><td class="n">1</td>' in html.split('<section id="gripp2">')[1]
    words = re.sub(r"base64,[A-Za-z0-9+/=]+", "", html)
    assert not re.search(r"\bU[A-Z0-9]{4,}\b", words) and "UNAMED" not in html and "UCARER" not in html
    assert SECRET_COMMENT not in html
    actions = html.split('<section id="actions">')[1].split("</section>")[0]
    assert "&lt;b&gt;rotate&lt;/b&gt; who chairs" in actions and "<b>" not in actions
    assert "1 action planned or closed in the period, 1 done" in actions
    assert re.search(r"<td>\d\.\d → \d\.\d</td>|not enough answers yet to compare", actions)


def test_text_from_a_custom_catalog_is_escaped(store: Store, tmp_path: Path) -> None:
    catalog = json.loads((ROOT / "facilitators.json").read_text(encoding="utf-8"))
    catalog["levels"][0]["name"] = "<script>alert(1)</script>"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    populate(store, datetime.now(UTC))
    result, out = coprod_report(store, tmp_path, COPROD_FACILITATORS=str(path))
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # coprod's own, which keeps the words typed


def test_a_bad_date_changes_nothing_and_says_what_to_type(store: Store, tmp_path: Path) -> None:
    populate(store, datetime.now(UTC))
    result, out = coprod_report(store, tmp_path, "--since", "2026-02-30")
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr and not out.exists()
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_chromium_prints_the_report_to_pdf(store: Store, tmp_path: Path, paper: str, browser) -> None:
    """The file opens in a real browser with every section and prints to PDF on A4 and Letter."""
    populate(store, datetime.now(UTC))
    result, out = coprod_report(store, tmp_path)
    assert result.returncode == 0, result.stderr
    page = browser.new_page()
    page.goto(out.as_uri())
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").is_visible()
    assert page.evaluate("document.querySelector('#picture img').naturalWidth") > 500
    pdf = page.pdf(format=paper, print_background=True)
    (tmp_path / f"report-{paper}.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
