"""The local workspace in a real browser: `coprod run` with nothing configured, walked through by headless
Chromium as a coordinator and the members would use it. Screenshots go to each test's tmp folder.

Outside CI, with no Chromium or no Playwright, these tests skip, saying how to get them; with ``CI`` set they
must run (a missing browser fails them).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.browser import ANNOUNCEMENT, WorkspacePage, local_coprod
from tests.support.running import free_port

LEVELS = ("Individual", "Group/interpersonal", "Organisational", "Societal", "Paradigmatic")
NEGLECTED = ("Organisational", "Societal", "Paradigmatic")  # as the seeded history leaves them


def open_page(browser, coprod, tmp_path: Path) -> WorkspacePage:
    page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 900}), tmp_path / "screenshots")
    page.open(coprod.url)
    return page


def test_a_checkin_is_asked_answered_commented_summarised_and_a_meeting_logged(browser, tmp_path):
    """The loop in a browser: /coprod checkin, another member clicks 4 and the count changes in place, a third
    comments anonymously through the modal (Slack's own validation first), /coprod summary lists every level
    with the neglected ones flagged, App Home, and We met."""
    with local_coprod(tmp_path) as coprod:
        assert len(coprod.printed) == 1 and ANNOUNCEMENT.match(coprod.printed[0]), coprod.printed
        page = open_page(browser, coprod, tmp_path)
        page.shot("01-opened")

        key = page.post_checkin()
        checkin = page.message(key)
        # Each question carries its own scale's labels (how much, or how often): five of them, 1 to 5.
        for n in range(1, 6):
            assert checkin.get_by_role("button", name=re.compile(rf"^{n} · ")).is_visible()
        assert checkin.get_by_role("button", name="Add a comment").is_visible()
        assert "No answers yet" in checkin.locator(".sk-context").inner_text()
        page.shot("02-checkin")

        page.be("Grace Mensah")
        page.message(key).get_by_role("button", name=re.compile(r"^4 · ")).click()
        page.ephemeral("Thank you! I recorded your answer").wait_for()
        assert "Only visible to you" in page.ephemeral("Thank you!").inner_text()
        page.page.wait_for_function(
            "key => document.querySelector(`#messages > article[data-key='${key}'] .sk-context`)"
            ".textContent.includes('1 answer so far')",
            arg=key,
        )
        assert page.message(key).count() == 1, "the count changed in place, in the same message"
        page.shot("03-rated")

        page.be("Mo Ahmed")
        page.message(key).get_by_role("button", name="Add a comment").click()
        modal = page.page.locator("dialog[open] form")
        modal.wait_for()
        modal.get_by_role("button", name="Save").click()  # no rating yet: Slack says so before coprod hears
        assert "Please complete this required field." in modal.get_by_role("alert").inner_text()
        modal.get_by_label("3 · Somewhat").check()
        modal.get_by_label("Your comment").fill("Could we share the agenda a week ahead? <b>Thanks</b> & more")
        modal.get_by_label("Answer anonymously").check()
        page.shot("04-comment")
        modal.get_by_role("button", name="Save").click()
        thanks = page.page.locator("dialog[open] form", has_text="Thank you")
        thanks.wait_for()
        assert "anonymously" in thanks.inner_text()
        assert "<b>Thanks</b> & more" in thanks.inner_text(), "the comment is shown as typed, never as HTML"
        thanks.get_by_role("button", name="Close").click()
        page.page.wait_for_function(
            "key => document.querySelector(`#messages > article[data-key='${key}'] .sk-context`)"
            ".textContent.includes('2 answers so far')",
            arg=key,
        )

        page.be("Priya Shah")
        page.type("/coprod summary")
        summary = page.ephemeral("How we're doing")
        summary.wait_for()
        levels = summary.locator(".sk-text")
        for level in LEVELS:
            text = levels.filter(has=page.page.locator("strong", has_text=re.compile(f"^{re.escape(level)}$")))
            assert text.count() == 1, f"{level} is in the summary"
            assert ("neglected" in text.inner_text()) == (level in NEGLECTED), text.inner_text()
        assert "Average rating: 2." in levels.filter(has_text="Organisational").inner_text()
        assert "manager" in summary.inner_text(), "the silent role is named"
        page.shot("05-summary")

        page.go("coprod · Home")
        home = page.page.locator("#home .home")
        home.wait_for()
        assert not page.composer.is_visible(), "Slack's Home tab has no message box"
        assert "our-partnership" in home.inner_text() and "practices discussed" in home.inner_text()
        assert home.get_by_role("button", name="Ask a check-in now").is_visible()
        page.shot("06-home")

        page.go("# our-partnership")
        reminder = page.messages.filter(has=page.page.get_by_role("button", name="We met")).last
        reminder_key = reminder.get_attribute("data-key")
        reminder.get_by_role("button", name="We met").click()
        page.page.wait_for_function(
            "key => document.querySelector(`#messages > article[data-key='${key}']`).textContent.includes('logged by')",
            arg=reminder_key,
        )
        page.shot("07-we-met")

        assert page.unlabelled() == []
        assert page.low_contrast() == []
        assert page.errors == []


def test_a_mention_posts_the_summary_dms_hold_prompts_and_the_export_downloads(browser, tmp_path):
    """@coprod summary posts to the channel for everyone; a member's DM holds their reflection prompts; a
    coordinator's export arrives in their DM through Slack's upload flow and downloads as CSV."""
    with local_coprod(tmp_path) as coprod:
        page = open_page(browser, coprod, tmp_path)
        page.type("@coprod summary")
        posted = page.messages.filter(has_text="How we're doing").last
        posted.wait_for()
        assert "ephemeral" not in (posted.get_attribute("class") or "")

        page.type("/coprod export")
        page.ephemeral("I've sent you the export").wait_for()
        page.go("coprod · Messages")
        assert page.messages.filter(has_text="A moment to reflect").count() > 0
        link = page.page.get_by_role("link", name="coprod answers")
        link.wait_for()
        with page.page.expect_download() as fetched:
            link.click()
        rows = list(csv.DictReader(io.StringIO(Path(fetched.value.path()).read_text(encoding="utf-8"))))
        assert rows and {"channel", "level", "person", "rating"} <= set(rows[0])
        assert all(not row["person"] or row["person"].startswith("P-") for row in rows), "no Slack ids in the export"
        page.shot("08-export")
        assert page.errors == []


def test_what_people_type_is_shown_as_text_and_keyboard_reaches_every_button(browser, tmp_path):
    """Markup typed into the composer is shown as text (no script runs, no element appears); rating buttons
    work from the keyboard; a fresh workspace (--fresh) starts empty."""
    with local_coprod(tmp_path, "--fresh") as coprod:
        page = WorkspacePage(browser.new_page(), tmp_path / "screenshots")
        page.page.goto(coprod.url + "/")
        page.composer.wait_for()
        page.type('<img src=x onerror="alert(1)"> <script>alert(2)</script> *bold* <@UPRIYA>')
        typed = page.messages.last
        typed.wait_for()
        assert typed.locator("img, script").count() == 0
        assert '<img src=x onerror="alert(1)">' in typed.inner_text()
        assert typed.locator("strong", has_text="bold").count() == 1

        key = page.post_checkin()
        rate = page.message(key).get_by_role("button", name=re.compile(r"^5 · "))  # its own scale's label
        rate.focus()
        page.page.keyboard.press("Enter")
        page.ephemeral("Thank you! I recorded your answer").wait_for()
        assert page.errors == []


@pytest.mark.parametrize("ci", ["", "true"], ids=["outside CI", "in CI"])
def test_without_a_browser_these_tests_skip_saying_how_to_get_one_but_fail_in_ci(tmp_path, ci):
    """Run one browser test with no Chromium to be found: skipped with how to get one, or failed when CI is set."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(COPROD_CHROMIUM=str(tmp_path / "no-chromium-here"), **({"CI": ci} if ci else {}))
    test = f"{__file__}::test_what_people_type_is_shown_as_text_and_keyboard_reaches_every_button"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0", test],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ci:
        assert run.returncode == 1 and "Failed: no browser for the browser tests" in run.stdout, run.stdout
    else:
        assert run.returncode == 0 and "SKIPPED [1]" in run.stdout, run.stdout
    assert "sudo apt-get install chromium" in run.stdout


def test_the_coverage_picture_shows_in_the_page_like_any_slack_file(browser, tmp_path):
    """`/coprod summary picture` uploads the picture to the person's DM through Slack's upload flow; the page
    shows it inline, drawn, with its words as alt text."""
    with local_coprod(tmp_path) as coprod:
        page = open_page(browser, coprod, tmp_path)
        page.type("/coprod summary picture")
        page.ephemeral("I've sent you the picture").wait_for()
        page.go("coprod · Messages")
        picture = page.page.locator("figure.sk-image img").last
        picture.wait_for()
        assert (picture.get_attribute("alt") or "").startswith("How we looked after each level")
        page.page.wait_for_function("img => img.complete && img.naturalWidth > 500", arg=picture.element_handle())
        page.shot("09-picture")
        assert page.errors == []


def test_an_action_is_planned_from_a_summary_with_a_lead_and_a_date_listed_and_marked_done(browser, tmp_path):
    """The loop closed in a browser: Plan something beside a neglected level in a summary opens the form with
    the practices in their levels' groups (the level's first one picked), a lead from the workspace's members and
    a date from a date picker; the plan is posted in the channel, `/coprod actions` lists it, and Done marks
    the post done."""
    due = date.today() + timedelta(days=14)
    with local_coprod(tmp_path) as coprod:
        page = open_page(browser, coprod, tmp_path)
        page.type("/coprod summary")
        summary = page.ephemeral("How we're doing")
        summary.wait_for()
        summary.locator(".sk-section", has_text="Organisational").get_by_role("button", name="Plan something").click()
        modal = page.page.locator("dialog[open] form", has_text="Plan something")
        modal.wait_for()
        practice = modal.get_by_label("Which practice it helps")
        assert practice.locator("optgroup").evaluate_all("groups => groups.map(g => g.label)") == list(LEVELS)
        assert practice.locator("option:checked").get_attribute("value") == "shared-ownership"
        lead = modal.get_by_label("Who leads it")
        assert "Helen Clarke" in lead.locator("option").all_inner_texts()
        modal.get_by_label("What we will do").fill("Invite the ward manager to our next meeting")
        practice.select_option("clear-scope")
        lead.select_option(label="Helen Clarke")
        modal.get_by_label("By when").fill(due.isoformat())
        page.shot("10-plan-form")
        modal.get_by_role("button", name="Plan it").click()
        page.page.locator("dialog[open]").wait_for(state="detached")

        posted = page.messages.filter(has_text="will try invite the ward manager").last
        posted.wait_for()
        words = posted.inner_text()
        assert "@Helen Clarke will try invite the ward manager to our next meeting" in words
        assert f"by {due:%-d %B}" in words and "Scale, size and scope" in words
        assert posted.get_by_role("button", name="Done").is_visible()
        key = posted.get_attribute("data-key")

        page.type("/coprod actions")
        listed = page.ephemeral("What we said we'd do")
        listed.wait_for()
        assert "invite the ward manager" in listed.inner_text()
        page.shot("11-actions")
        listed.get_by_role("button", name="Done").click()
        page.page.wait_for_function(
            "key => document.querySelector(`#messages > article[data-key='${key}']`).textContent.includes('Done on')",
            arg=key,
        )
        assert page.message(key).get_by_role("button", name="Done").count() == 0, "a done action has no buttons"
        page.shot("12-done")
        assert page.unlabelled() == []
        assert page.errors == []


def test_typing_at_offers_the_members_and_the_one_picked_is_sent_as_slack_sends_a_mention(browser, tmp_path):
    """A coordinator adds a coordinator by typing @ and picking from the list (by mouse), and records a role
    picking by keyboard; coprod answers both, so each mention arrived as Slack encodes it. Home has no
    message box."""
    with local_coprod(tmp_path, "--fresh") as coprod:
        page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 900}), tmp_path / "screenshots")
        page.page.goto(coprod.url + "/")
        page.composer.wait_for()
        page.type("/coprod schedule checkins weekly Tuesday 10:00")  # Priya becomes the channel's coordinator
        page.ephemeral("All set").wait_for()

        page.composer.press_sequentially("/coprod coordinators add @gr")
        offered = page.page.get_by_role("listbox", name="Members")
        offered.wait_for()
        assert offered.get_by_role("option").all_inner_texts() == ["Grace Mensah (patient partner)"]
        page.shot("13-mention-list")
        offered.get_by_role("option", name=re.compile("^Grace Mensah")).click()
        assert page.composer.input_value() == "/coprod coordinators add @Grace Mensah "
        page.composer.press("Enter")
        page.ephemeral("Grace Mensah is now a coordinator here").wait_for()

        page.composer.press_sequentially("/coprod role @hel")
        offered.wait_for()
        page.composer.press("Enter")  # picks the first match, as in Slack
        page.composer.press_sequentially("manager")
        assert page.composer.input_value() == "/coprod role @Helen Clarke manager"
        page.composer.press("Enter")
        page.ephemeral("is recorded as manager").wait_for()
        assert "Helen Clarke" in page.ephemeral("is recorded as manager").inner_text()

        page.go("coprod · Home")
        page.page.locator("#home .home").wait_for()
        assert not page.composer.is_visible(), "Slack's Home tab has no message box"
        assert page.errors == []


def test_the_page_says_when_coprod_is_down_and_reconnects_by_itself_when_it_is_back(browser, tmp_path):
    """coprod stopped: a banner says so at once, and a command typed meanwhile is not sent, says so and stays in
    the message box. coprod started again on the same port: the banner goes, and the same tab (not reloaded)
    shows what happens next."""
    port = free_port()
    with local_coprod(tmp_path, "--fresh", port=port) as coprod:
        page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 900}), tmp_path / "screenshots")
        page.page.goto(coprod.url + "/")
        page.composer.wait_for()
        page.type("Hello before the restart")
        page.messages.filter(has_text="Hello before the restart").wait_for()
    banner = page.page.get_by_role("alert").filter(has_text="isn't answering")
    banner.wait_for()
    page.type("/coprod checkin")
    page.page.get_by_role("alert").filter(has_text="your message was not sent").wait_for()
    assert page.composer.input_value() == "/coprod checkin", "what was typed is kept, to send again"
    page.shot("14-coprod-down")

    with local_coprod(tmp_path, port=port):
        page.page.locator("#banner").wait_for(state="hidden")
        page.composer.press("Enter")
        page.checkins().first.wait_for()
        assert page.messages.filter(has_text="Hello before the restart").count() == 1
        assert page.errors == []
