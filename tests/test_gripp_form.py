"""The report's GRIPP2 short form: the five headings in GRIPP2's words and order, each filled from the record of
involvement or marked "not recorded"; the channel by its name; and, in Chromium, a "Your words" box a person
types in that is kept when the report is printed to PDF and when it is saved."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.render.gripp_form import HEADINGS, STANDARDS
from bot.store import Store
from tests.test_report import CHANNEL, TEAM, coprod_report, populate


def _headings(html: str) -> list[str]:
    form = html.split('<section id="gripp2">')[1].split("</section>")[0]
    return re.findall(r"<h3>\d\. ([^<]+)</h3>", form)


def test_an_empty_record_shows_the_five_headings_each_marked_not_recorded(store: Store, tmp_path: Path) -> None:
    store.partnerships.ensure(TEAM, CHANNEL, timezone="Europe/London", created_by="UC", now=0)
    result, out = coprod_report(store, tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert _headings(html) == list(HEADINGS)
    form = html.split('<section id="gripp2">')[1]
    assert "Study:</strong> not recorded" in form
    assert form.count("Not recorded.") >= 2 and "not recorded</span>" in form  # the aim, discussion, results
    assert "single questions, not a validated score" in form
    assert all(standard in form for standard in STANDARDS)


def test_the_short_form_is_filled_from_the_record_of_involvement(store: Store, tmp_path: Path) -> None:
    """Aim and title as recorded, the channel by its name, team composition and hours by stage and role group,
    payments in totals, the change log in Results, and what went badly pre-filled in Reflections."""
    now = datetime.now(UTC)
    populate(store, now)
    p = store.partnerships.get(TEAM, CHANNEL)
    inv = store.involvement
    inv.set_text(p, "aim", "To shape the <study> with carers")
    inv.set_text(p, "title", "Living well with diabetes")
    inv.set_text(p, "channel_name", "diabetes-study")
    day = (now - timedelta(days=40)).date().isoformat()
    inv.log_meeting(p, held_on=day, minutes=90, stage="design", people=["UCARER", "UNAMED0"], logged_by="UC", now=0)
    inv.set_rate(p, activity="", pence_per_hour=2500, currency="GBP", set_by="UC")
    inv.record_change(
        p,
        changed_on=now.date().isoformat(),
        source="comment",
        said="A comment on “sharing power”",
        what_changed="Papers go out a week ahead",
        difference="Everyone can read them",
        recorded_by="UC",
        now=0,
    )
    result, out = coprod_report(store, tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert _headings(html) == list(HEADINGS)
    form = html.split('<section id="gripp2">')[1]
    assert "To shape the &lt;study&gt; with carers" in form and "Living well with diabetes" in form
    assert "Slack channel #diabetes-study" in html and "<title>Co-production report: #diabetes-study" in html
    assert "2 people logged 3 hours" in form and "owed 75.00 GBP, paid none" in form
    assert '<td>design</td><td class="n">3.0</td>' in form and '<td>carer</td><td class="n">1.5</td>' in form
    assert "Papers go out a week ahead" in form.split("<h3>3. Results</h3>")[1].split("<h3>4.")[0]
    assert "2 ledger lines were unpaid 30 days after" in form
    assert "UCARER" not in html and "UNAMED" not in html  # totals, never names


def _pdf_text(pdf: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        reason = "needs pdftotext: apt-get install -y poppler-utils"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return subprocess.run([tool, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_words_typed_in_the_browser_are_printed_and_saved(store: Store, tmp_path: Path, browser) -> None:
    """Chromium opens the report; a person types in the Aim's "Your words" box; the PDF Chromium prints has
    their words and the five headings, and the page saved with the button has their words too."""
    populate(store, datetime.now(UTC))
    result, out = coprod_report(store, tmp_path)
    assert result.returncode == 0, result.stderr
    typed = "Carers chose the outcome measures with us"
    page = browser.new_page(accept_downloads=True)
    page.goto(out.as_uri())
    box = page.get_by_role("textbox", name=re.compile("^Your words: Report the aim"))
    box.click()
    page.keyboard.type(typed)
    assert box.inner_text() == typed
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Save this report with your words").click()
    saved = tmp_path / "saved.html"
    download.value.save_as(str(saved))
    filename = download.value.suggested_filename
    text = " ".join(_pdf_text(pdf).split())
    assert typed in text
    positions = [text.find(f"{n}. {heading}") for n, heading in enumerate(HEADINGS, 1)]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "Save this report" not in text  # the button isn't printed
    assert typed in saved.read_text(encoding="utf-8")
    assert re.fullmatch(r"coprod-report-c0001-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.html", filename), filename
