"""Adding coprod to a workspace as a person does it in a browser (several-workspace mode, OAuth).

1. They open coprod's ``/slack/install`` page, which sets a ``state`` cookie and links to Slack's authorize page.
2. On Slack's page they press "Allow": Slack (the stub's :meth:`SlackStub.grant`) makes a one-time code.
3. Slack sends their browser back to coprod's ``/slack/oauth_redirect?code=…&state=…``, with the cookie;
   coprod exchanges the code (``oauth.v2.access``) and shows them a page.
"""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.slack_stub import SlackStub

COOKIE = "slack-app-oauth-state"
LINK = re.compile(r'href="([^"]+)"')


@dataclass
class Page:
    status: int
    headers: dict[str, list[str]]
    text: str

    @property
    def words(self) -> str:
        """The page's text without its markup."""
        return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", self.text)))


def get(url: str, cookie: str | None = None) -> Page:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            status, headers, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers, exc.read()
    grouped: dict[str, list[str]] = {}
    for key, value in headers.items():
        grouped.setdefault(key.lower(), []).append(value)
    return Page(status, grouped, body.decode("utf-8", "replace"))


@dataclass
class Started:
    """coprod's install page, opened: Slack's authorize URL it links to, its state, and the cookie it set."""

    page: Page
    authorize_url: str
    state: str
    cookie: str


def start(base_url: str) -> Started:
    page = get(base_url.rstrip("/") + "/slack/install")
    assert page.status == 200, page.text
    links = [html.unescape(link) for link in LINK.findall(page.text) if "oauth/v2/authorize" in html.unescape(link)]
    assert len(links) == 1, page.text
    state = parse_qs(urlsplit(links[0]).query)["state"][0]
    jar = SimpleCookie()
    for header in page.headers.get("set-cookie", []):
        jar.load(header)
    assert jar[COOKIE].value == state
    return Started(page, links[0], state, f"{COOKIE}={jar[COOKIE].value}")


def come_back(base_url: str, started: Started, code: str) -> Page:
    """Slack sends the browser back to coprod with ``code`` and the state, carrying the install page's cookie."""
    query = urlencode({"code": code, "state": started.state})
    return get(f"{base_url.rstrip('/')}/slack/oauth_redirect?{query}", cookie=started.cookie)


def install(base_url: str, stub: SlackStub, team: str, installer: str = "U1") -> Page:
    """A person of ``team`` adds coprod, all the way; the page they land on."""
    started = start(base_url)
    return come_back(base_url, started, stub.grant(team, installer=installer))
