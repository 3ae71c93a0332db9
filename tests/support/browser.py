"""The local workspace in a real browser: `coprod run` with nothing configured, and headless Chromium driving its
page through Playwright for Python (the system's Chromium: Playwright's own browser download is not needed).

Shared by the browser tests (``tests/test_browser.py``), the page benchmark (``bench/page_bench.py``) and the
README's screenshot, which is made by this module's own walk through the page:

    python -m tests.support.browser --screenshot docs/local-workspace.png
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.running import coprod_process, free_port

CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
HOW_TO_GET_ONE = (
    "no browser for the browser tests: install Chromium (Debian or Ubuntu: `sudo apt-get install chromium`) and "
    "Playwright for Python (`pip install -e '.[test]'`), or set COPROD_CHROMIUM to a Chromium; CI installs both"
)
ANNOUNCEMENT = re.compile(r"^coprod is running in a local workspace: open (http://127\.0\.0\.1:\d+)$")


def find_chromium() -> str | None:
    """The Chromium to drive: COPROD_CHROMIUM, else the system's."""
    chosen = os.environ.get("COPROD_CHROMIUM", "").strip()
    if chosen:
        return chosen if Path(chosen).is_file() else None
    found = next((c for c in CHROMIUMS if Path(c).is_file()), None)
    return found or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why no browser test can run here (no Playwright, no Chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return HOW_TO_GET_ONE
    return None if find_chromium() else HOW_TO_GET_ONE


# ---- coprod ----------------------------------------------------------------------------------------------


@dataclass
class LocalCoprod:
    """`coprod run` in a local workspace, as a process: its address and what it printed."""

    proc: subprocess.Popen
    url: str
    started: float  # time.perf_counter() before the process was started
    answering: float  # … when the page first answered
    printed: list[str] = field(default_factory=list)  # every stdout line
    logged: list[str] = field(default_factory=list)  # every stderr line

    @property
    def startup(self) -> float:
        """Seconds from starting `coprod run` to the page answering."""
        return self.answering - self.started


@contextlib.contextmanager
def local_coprod(
    folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0, port: int = 0
) -> Iterator[LocalCoprod]:
    """`coprod run [args]` with no Slack settings, in ``folder`` (its database lands there), on ``port`` (a free
    one unless given); stopped with SIGTERM on the way out (and required to exit 0)."""
    port = port or free_port()
    started = time.perf_counter()
    proc = coprod_process(["run", *args], {"PORT": str(port), **(env or {})}, folder)
    printed: list[str] = []
    logged: list[str] = []  # stderr, read as it comes so that a full pipe never stops coprod
    readers = [
        threading.Thread(target=lambda: printed.extend(line.rstrip("\n") for line in proc.stdout), daemon=True),
        threading.Thread(target=lambda: logged.extend(proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = started + timeout
        while not _answers(url):
            if proc.poll() is not None:
                proc.wait()
                for reader in readers:
                    reader.join(timeout=5)
                raise AssertionError(f"coprod run exited early: {''.join(logged)}")
            if time.perf_counter() > deadline:
                raise AssertionError(f"the local workspace did not answer within {timeout} s")
            time.sleep(0.01)
        running = LocalCoprod(proc, url, started, time.perf_counter(), printed, logged)
        while not printed and time.perf_counter() < deadline:
            time.sleep(0.01)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=5)
        if proc.returncode != 0:
            raise AssertionError(f"coprod run exited {proc.returncode}: {''.join(logged)}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


# ---- the browser ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system's) under Playwright; ``--no-sandbox`` when running as root."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(HOW_TO_GET_ONE)
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield browser
        finally:
            browser.close()


class WorkspacePage:
    """The local workspace's page, as a person uses it; screenshots go to ``shots`` (when given)."""

    def __init__(self, page: Any, shots: Path | None = None) -> None:
        self.page = page
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:  # the page never opens one: an alert() would be injected script
        self.errors.append(f"a dialog opened: {dialog.message}")
        dialog.dismiss()

    def open(self, url: str) -> None:
        self.page.goto(url + "/")
        self.messages.first.wait_for()

    @property
    def messages(self) -> Any:
        return self.page.locator("#messages > article")

    def message(self, key: str) -> Any:
        return self.page.locator(f'#messages > article[data-key="{key}"]')

    def checkins(self) -> Any:
        return self.messages.filter(has=self.page.locator(".sk-header", has_text="Check-in ·"))

    @property
    def composer(self) -> Any:
        """The message box (a combobox: typing @ offers the members)."""
        return self.page.get_by_role("combobox", name=re.compile("^Message"))

    def type(self, text: str) -> None:
        box = self.composer
        box.fill(text)
        box.press("Enter")

    def be(self, name: str) -> None:
        """Switch to the member called ``name`` (the switcher's option starting with it)."""
        switcher = self.page.get_by_label("You are")
        value = switcher.locator("option", has_text=name).first.get_attribute("value")
        switcher.select_option(value)
        self.page.wait_for_function(
            "name => document.querySelector('#who').selectedOptions[0].textContent.startsWith(name)", arg=name
        )

    def go(self, label: str) -> None:
        self.page.get_by_role("navigation").get_by_role("button", name=label).click()
        self.page.wait_for_function("label => document.querySelector('#title').textContent === label", arg=label)

    def ephemeral(self, text: str) -> Any:
        return self.page.locator("#messages > article.ephemeral", has_text=text).last

    def post_checkin(self) -> str:
        """`/coprod checkin`; the new check-in's key, once it is on the page."""
        before = self.checkins().count()
        self.type("/coprod checkin")
        self.page.wait_for_function(
            "n => [...document.querySelectorAll('#messages > article .sk-header')]"
            ".filter(h => h.textContent.startsWith('Check-in ·')).length > n",
            arg=before,
        )
        return str(self.checkins().last.get_attribute("data-key"))

    def shot(self, name: str) -> Path | None:
        if self.shots is None:
            return None
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def unlabelled(self) -> list[str]:
        """Controls a screen reader could not name (buttons without text, fields without a label)."""
        return self.page.evaluate(_UNLABELLED)

    def low_contrast(self) -> list[str]:
        """Visible text whose contrast with its background is under 4.5:1 (WCAG AA)."""
        return self.page.evaluate(_CONTRAST)

    def timed_click(self, key: str, rating: int, expected: str) -> tuple[float, float]:
        """Click ``rating`` on check-in ``key``; milliseconds (timed in the page) until its count reads
        ``expected``, and until the private thank-you appears."""
        count, reply = self.page.evaluate(_TIMED_CLICK, [key, f"rate:{rating}", expected])
        return float(count), float(reply)

    def first_message_ms(self) -> float:
        """Milliseconds from the start of navigation to the first message on screen."""
        return float(self.page.evaluate("performance.getEntriesByName('coprod:first-message')[0].startTime"))


_UNLABELLED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('button, input, select, textarea, a[href]')) {
    if (el.closest('[hidden]') || el.type === 'hidden') continue;
    const named = (el.getAttribute('aria-label') || '').trim() || (el.labels && el.labels.length > 0)
      || ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim());
    if (!named) out.push(el.outerHTML.slice(0, 120));
  }
  return out;
}"""

_CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(`${ratio.toFixed(2)}: ${el.tagName} ${el.textContent.trim().slice(0, 40)}`);
  }
  return out;
}"""

_TIMED_CLICK = """([key, action, expected]) => new Promise((resolve, reject) => {
  const box = document.querySelector('#messages');
  const find = () => box.querySelector(`:scope > article[data-key="${key}"]`);
  const counted = () => {
    const m = find();
    return m && m.querySelector('.sk-context').textContent.includes(expected);
  };
  const thanks = () => [...box.querySelectorAll(':scope > article.ephemeral')].filter(
    (m) => m.textContent.includes('Thank you! I recorded your answer')).length;
  const before = thanks();
  const began = performance.now();
  let count = null, reply = null;
  const done = () => { if (count !== null && reply !== null) { watch.disconnect(); resolve([count, reply]); } };
  const watch = new MutationObserver(() => {
    if (count === null && counted()) count = performance.now() - began;
    if (reply === null && thanks() > before) reply = performance.now() - began;
    done();
  });
  watch.observe(box, { childList: true, subtree: true, characterData: true });
  setTimeout(() => { watch.disconnect(); reject(new Error(`the count never read “${expected}”`)); }, 10000);
  find().querySelector(`button[data-action-id="${action}"]`).click();
})"""


# ---- the README's screenshot ------------------------------------------------------------------------------


def readme_screenshot(path: Path) -> None:
    """The local workspace as it first opens, with the coordinator's private summary: the README's picture."""
    with (
        tempfile.TemporaryDirectory(prefix="coprod-screenshot-") as folder,
        local_coprod(Path(folder)) as coprod,
        chromium() as browser,
    ):
        page = WorkspacePage(browser.new_page(viewport={"width": 1280, "height": 1240}))
        page.open(coprod.url)
        page.type("/coprod summary")
        page.ephemeral("How we're doing").wait_for()
        page.page.locator("#messages").evaluate("box => box.scrollTop = box.scrollHeight")
        path.parent.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local workspace in a browser.")
    parser.add_argument("--screenshot", type=Path, required=True, help="where to save the README's screenshot")
    args = parser.parse_args(argv)
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    readme_screenshot(args.screenshot)
    print(args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
