"""The web pages of several-workspace mode: "Add to Slack", and what an installer reads when they come back.

Plain HTML, every word in coprod's voice; anything not written here (a URL, Slack's reason) is escaped.
"""

from __future__ import annotations

from html import escape

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.5;"
    "color:#1d1c1d}a.button{display:inline-block;background:#2c5f5d;color:#fff;padding:.6em 1.2em;"
    "border-radius:6px;text-decoration:none;font-weight:600}"
)
# Slack's reasons an install did not finish, in plain words (anything else gets the last one).
FAILURES = {
    "access_denied": "You chose not to add coprod. Nothing was changed.",
    "invalid_browser": "This page was opened in a different browser from the one that started adding coprod.",
    "invalid_state": "This link has expired: adding coprod has to be finished within 10 minutes.",
    "missing_code": "Slack did not say that you allowed coprod.",
    "invalid_code": "Slack did not accept this link: it may have been used already.",
    "storage_error": "coprod could not save the installation on its side.",
    "token_rotation": (
        "This coprod's Slack app has token rotation turned on, and coprod works only with it off. "
        "Please ask whoever runs coprod to use an app with token rotation off. Nothing was kept."
    ),
}


def kept_for(days: float) -> str:
    """How long a workspace's answers are kept after it removes coprod, in words."""
    if days <= 0:
        return "If your workspace removes coprod, its answers are erased straight away."
    return (
        f"If your workspace removes coprod, its answers are kept for {_days(days)}, so that adding it back "
        "brings everything back; then they are erased for good."
    )


def removed_text(erase_after_days: float) -> str:
    """What a person in a workspace that removed coprod reads when they use it (a Slack message)."""
    text = "coprod has been removed from this workspace, so it can't answer. A workspace admin can add it again"
    if erase_after_days <= 0:
        return text + "."
    days = _days(erase_after_days)
    return f"{text}: for {days} after it was removed, everything your team gave it is still there."


def _days(days: float) -> str:
    whole = int(days) if float(days).is_integer() else days
    return f"{whole} day" if whole == 1 else f"{whole} days"


def _page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def install_page(authorize_url: str, erase_after_days: float) -> str:
    return _page(
        "Add coprod to your Slack workspace",
        "coprod asks your research partnership's channel about one co-production practice at a time, keeps "
        "the answers (anonymous ones too), and tells the team how it is doing.",
        f'<a class="button" href="{escape(authorize_url)}">Add to Slack</a>',
        escape(kept_for(erase_after_days)),
    )


def installed_page(*, welcome_back: bool, erase_after_days: float) -> str:
    first = (
        "Welcome back. Your partnerships' answers were kept, and everything is as you left it: "
        "schedules start again on their next time."
        if welcome_back
        else "coprod is now in your workspace."
    )
    return _page(
        "coprod is ready",
        escape(first),
        "Next: open your partnership's channel in Slack and type <code>/invite @coprod</code>, then "
        "<code>/coprod help</code> to see what it can do.",
        escape(kept_for(erase_after_days)),
    )


def failed_page(reason: str, install_path: str) -> str:
    why = FAILURES.get(reason, "Something went wrong while adding coprod.")
    return _page(
        "coprod was not added",
        escape(why),
        f'You can <a href="{escape(install_path)}">start again</a> whenever you like.',
    )
