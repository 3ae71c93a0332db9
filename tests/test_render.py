"""What the local workspace's page shows: Block Kit and Slack's mrkdwn as HTML, escaped, as Slack would show them.

Every text coprod sends is mrkdwn that coprod has already Slack-escaped; whatever it holds, the page's HTML
carries only the tags and attributes the renderer makes, and links only to http(s) and mailto.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.catalog import load_catalog
from bot.localslack import render, slacktext
from bot.localslack.workspace import Modal
from bot.render import messages, overview, settings_text

NAMES = slacktext.Names(
    user=lambda u: {"U1": "Ann <Admin>"}.get(u, u), channel=lambda c: {"C1": "our-partnership"}.get(c, c)
)
MADE = {"strong", "em", "s", "code", "pre", "br", "span", "a"}
MADE_ATTRIBUTES = {"class", "role", "aria-label", "href", "rel", "target"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


@pytest.mark.parametrize(
    ("mrkdwn", "html"),
    [
        ("*bold* _italic_ ~gone~", "<strong>bold</strong> <em>italic</em> <s>gone</s>"),
        ("`a *b* c` and ```x\n<y>```", "<code>a *b* c</code> and <pre>x\n&lt;y&gt;</pre>"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
        ("&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;", "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;"),
        ("*<#C1>*  ·  last 8 weeks", '<strong><span class="mention">#our-partnership</span></strong>  ·  last 8 weeks'),
        ("by <@U1>.", 'by <span class="mention">@Ann &lt;Admin&gt;</span>.'),
        ("<@U2|someone>", '<span class="mention">@someone</span>'),
        ("<!here> <!channel>", '<span class="mention">@here</span> <span class="mention">@channel</span>'),
        (
            '<https://example.org/?a=1&amp;b="2"|the &lt;site&gt;>',
            '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;" rel="noopener noreferrer" target="_blank">'
            "the &lt;site&gt;</a>",
        ),
        ("<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"),
        (
            ":warning: and :not_an_emoji:",
            '<span class="emoji" role="img" aria-label="warning">⚠️</span> and :not_an_emoji:',
        ),
        ("one\ntwo", "one<br>two"),
        ("\x000\x00", "\ufffd0\ufffd"),
    ],
)
def test_mrkdwn_reads_as_slack_reads_it_and_escapes_the_rest(mrkdwn, html):
    assert slacktext.mrkdwn(mrkdwn, NAMES) == html


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab <>&\"'*_~`:|@#!\n\x00/=", "javascript:", "https://x", "<@U1>", "&lt;"])).map("".join)
)
def test_whatever_text_holds_the_html_has_only_the_renderers_own_tags(text):
    """Any text, escaped as coprod escapes typed text or raw: only the renderer's own tags and attributes,
    and links only to http(s) and mailto."""
    for given_text in (text, messages.escape(text)):
        html = slacktext.mrkdwn(given_text, NAMES)
        for tag, attrs in parsed(html).tags:
            assert tag in MADE, html
            assert set(attrs) <= MADE_ATTRIBUTES, html
            if tag == "a":
                assert (attrs["href"] or "").startswith(slacktext.LINK_SCHEMES), html


def test_attributes_are_escaped_everywhere_a_value_lands():
    button = render.button(
        {"type": "button", "text": {"type": "plain_text", "text": '<b>"hi"</b>'}, "action_id": 'a"b', "value": "<v>"},
        'blk"',
    )
    tags = parsed(button).tags
    assert [tag for tag, _ in tags] == ["button"]
    assert tags[0][1]["data-action-id"] == 'a"b' and tags[0][1]["data-value"] == "<v>"
    assert tags[0][1]["data-block-id"] == 'blk"'


def every_message_coprod_sends():
    catalog = load_catalog(None)
    level = catalog.levels[0]
    practice = catalog.in_level(level.id)[0]
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    return {
        "check-in": messages.checkin_blocks(level, practice, 7, 3),
        "closed check-in": messages.checkin_blocks(level, practice, 7, 3, closed=True),
        "reflection prompt": messages.checkin_blocks(level, practice, 7, 0, reflexive_channel="C1"),
        "meeting reminder": messages.meeting_reminder_blocks(now, "Europe/London", 30),
        "meeting logged": messages.meeting_logged_blocks("2026-11-30", "U1"),
        "welcome": messages.welcome_blocks(),
        "help": settings_text.help_blocks(),
        "forget-me": messages.forget_me_blocks(),
    }


@pytest.mark.parametrize("name", list(every_message_coprod_sends()))
def test_every_kind_of_message_coprod_sends_is_shown_whole(name):
    """No block or element coprod sends is one the page can't show, and every button is a labelled button."""
    html = render.message(
        {"ts": "1796000000.000100", "text": "fallback", "blocks": every_message_coprod_sends()[name]},
        key="k",
        author="coprod",
        is_app=True,
        names=NAMES,
        timezone="Europe/London",
    )
    assert "can't show" not in html and "fallback" not in html
    for tag, attrs in parsed(html).tags:
        if tag == "button":
            assert attrs.get("type") == "button"


def test_the_summary_and_app_home_are_shown_whole():
    from bot.domain.summary import summarize, window_for

    catalog = load_catalog(None)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    summary = summarize(catalog, {}, window=window_for(now, "Europe/London"), now=now, roles=["carer"])
    blocks = overview.summary_blocks(summary, "Europe/London")
    home = overview.home_view(
        [overview.HomeItem("C1", "Europe/London", summary, {"checkins": now}, None, True, True)], catalog
    )
    for html in (render.blocks(blocks, NAMES), render.home(home, NAMES)):
        assert "can't show" not in html and "neglected" in html
    assert "#our-partnership" in render.home(home, NAMES)


def test_the_comment_modal_is_a_labelled_form_and_shows_errors_beside_their_fields():
    catalog = load_catalog(None)
    view = messages.comment_modal(catalog.facilitators[0], 7, seal="s", rating=None, comment="<mine>", anonymous=True)
    modal = Modal({**view, "id": "V1"}, "U1", errors={"rating": "Please pick a rating from 1 to 5."})
    html = render.modal(modal.view, NAMES, modal.errors)
    tags = parsed(html).tags
    radios = [a for t, a in tags if t == "input" and a.get("type") == "radio"]
    assert len(radios) == 6 and all(a["name"] == radios[0]["name"] for a in radios)  # five ratings and "Not sure yet"
    [box] = [a for t, a in tags if t == "input" and a.get("type") == "checkbox"]
    assert "checked" in box
    [area] = [a for t, a in tags if t == "textarea"]
    assert area["maxlength"] == "2000" and "&lt;mine&gt;</textarea>" in html
    [fieldset] = [a for t, a in tags if t == "fieldset" and a.get("data-block-id") == "rating"]
    assert fieldset["aria-invalid"] == "true"
    assert 'role="alert">Please pick a rating from 1 to 5.</p>' in html
    assert [a.get("type") for t, a in tags if t == "button"] == ["button", "submit"]


def test_an_ephemeral_message_says_only_you_see_it_and_can_be_dismissed():
    html = render.message(
        {"ts": "1796000000.000100", "text": "Thank you!"},
        key="E1",
        author="coprod",
        is_app=True,
        names=NAMES,
        timezone="UTC",
        ephemeral=True,
    )
    assert "Only visible to you" in html and 'data-act="dismiss"' in html and ">Dismiss</button>" in html


def test_every_emoji_shortcode_coprod_writes_is_shown_as_an_emoji_on_the_page():
    """The local page shows an emoji for each shortcode in coprod's words, as Slack does (not ``:grey_question:``
    as typed). The shortcodes are read from the package's source: a new one must be added to the page's table."""
    source = "\n".join(p.read_text() for p in Path(messages.__file__).parent.rglob("*.py"))
    # Docstrings' Sphinx roles and CSS selectors use the same colons; they are not emoji.
    not_emoji = {"class", "meth", "func", "data", "until", "empty"}
    written = set(re.findall(r"(?<![\w:]):([a-z0-9_+-]+):(?![\w:])", source)) - not_emoji
    assert written, "found no shortcode at all: the pattern is wrong"
    assert written <= set(slacktext.EMOJI), sorted(written - set(slacktext.EMOJI))
