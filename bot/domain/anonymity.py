"""The anonymity rule, in one place. Pure.

No sequence of views open to a member or a coordinator may let anyone compute one person's rating.
So every figure about ratings describes a *closed group*: the answers to one check-in once it has
closed, when k or more people gave them. A check-in closes when the next one of its kind is posted, or
a week after it was posted, whichever is first; after that its answers can't be added, changed or taken
out (forget-me unlinks them instead: the rating stays in the group, with nothing that ties it to the
person). Groups never change once closed, and a view is only ever a sum of whole groups, so two views
differ by whole groups of k or more, never by one person. docs/rules.md states the rule in full.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

CLOSE_AFTER = timedelta(days=7)
MIN_K = 3  # the fewest answers a figure about ratings may come from; coprod never sets a partnership's k lower


def closes_at(asked_at: int) -> int:
    """When a check-in asked at ``asked_at`` closes at the latest (the next one may close it sooner)."""
    return asked_at + int(CLOSE_AFTER.total_seconds())


def pseudonym(partnership_id: int, responder: str) -> str:
    """A person's stable name in one partnership's export, e.g. ``P-3f9a2c1b``.

    ``responder`` is already a keyed hash of the person; without the key nobody can turn it back into a
    Slack user, and the partnership in the hash keeps one person's exports from two channels apart."""
    return "P-" + hashlib.sha256(f"{partnership_id}:{responder}".encode()).hexdigest()[:8]


def lead_pseudonym(partnership_id: int, responder: str) -> str:
    """Who leads an action, in an export: ``L-`` and 8 hex digits, never their answers' ``P-`` pseudonym.

    Everyone in the channel saw who leads an action; sharing the answers' pseudonym would unmask every
    named answer of that person in the export."""
    return "L-" + hashlib.sha256(f"lead:{partnership_id}:{responder}".encode()).hexdigest()[:8]
