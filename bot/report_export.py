"""The exports assembled from the store: the answers, the actions, "you said, we changed" and the involvement
ledger as rows, and rows written as CSV or JSON (formula-safe). Beside ``reports``, which assembles the summary,
the coverage picture and the funder's report."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TextIO

from bot.domain import involvement
from bot.domain import summary as summaries
from bot.domain.catalog import Catalog
from bot.store import Partnership, Store
from bot.store.answers import EXPORT_COLUMNS

# The store's export columns, with the practice's words beside its id.
EXPORT_FIELDS = (*EXPORT_COLUMNS[:3], "text", *EXPORT_COLUMNS[3:])


def export_records(
    store: Store, catalog: Catalog, team: str, channel: str | None = None, *, now: datetime
) -> Iterator[dict]:
    """Pseudonymous export rows with the practice's words (see ``Answers.export_rows`` for what is left out)."""
    for row in store.answers.export_rows(team, channel, now=int(now.timestamp())):
        try:
            text = catalog.facilitator(row["facilitator"]).text
        except KeyError:
            text = ""
        yield {**row, "text": text}


# The actions' export: one row per action, its lead an ``L-`` pseudonym (never their answers' ``P-``).
ACTION_FIELDS = (
    "channel",
    "action",
    "level",
    "facilitator",
    "text",
    "what",
    "lead",
    "planned_on",
    "due_on",
    "status",
    "closed_on",
    "before",
    "after",
)


def actions_note(k: int = summaries.DEFAULT_K) -> str:
    """What the actions' file leaves out, in words for the person who asked for it (``k``: the partnership's)."""
    return (
        "Whoever leads an action is a pseudonym like L-3f9a2c1b, never the P- of their answers; who planned it is "
        f"left out; before and after are shown only where both check-ins closed with at least {k} answers."
    )


def action_records(
    store: Store, catalog: Catalog, team: str, channel: str | None = None, *, now: datetime
) -> Iterator[dict]:
    """The actions of a workspace (or one channel), pseudonymous, with the practice's words
    (see ``Plans.export_rows``)."""
    rows = store.plans.export_rows(team, channel, now=int(now.timestamp()), key=store.answers.responder_key)
    for row in rows:
        try:
            text = catalog.facilitator(row["facilitator"]).text
        except KeyError:
            text = ""
        yield {**row, "text": text}


def export_note(
    store: Store, team: str, channel: str | None = None, *, now: datetime, k: int = summaries.DEFAULT_K
) -> str:
    """What the export leaves out, in words for the person who asked for it (``k``: the partnership's least
    number of people, 3 unless it was changed)."""
    withheld = store.answers.withheld(team, channel, now=int(now.timestamp()))
    note = (
        "Each person is a pseudonym (like P-3f9a2c1b), the same in every export of this channel, never a name. "
        f"Anonymous answers carry no pseudonym; roles are shown only where at least {k} people share one; "
        "private reflections are left out."
    )
    if withheld:
        which = "1 check-in" if withheld == 1 else f"{withheld} check-ins"
        verb = "is" if withheld == 1 else "are"
        note += f" {which} still open or answered by fewer than {k} people {verb} not included yet."
    return note


def write_csv(records: Iterable[dict], out: TextIO, fields: tuple[str, ...] = EXPORT_FIELDS) -> int:
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    n = 0
    for record in records:
        writer.writerow({k: _csv_safe(v) for k, v in record.items()})
        n += 1
    return n


# Raw control characters other than a line break (a tab splits a cell when pasted; others confuse readers).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# A formula can start a cell, or start the part after a ";" a spreadsheet may split the cell at.
_FORMULA = re.compile(r"(^|;)(\s*)([=+\-@])")


def _csv_safe(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str):
        # A bare "\r" reads as a new row: "ok\r=HYPERLINK(…)" would smuggle a formula past the check below.
        value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
        lines = value.split("\n")
        return "\n".join(_FORMULA.sub(r"\1'\2\3", line) for line in lines)
    return "" if value is None else value


def write_json(records: Iterable[dict], out: TextIO, fields: tuple[str, ...] = EXPORT_FIELDS) -> int:
    rows = list(records)
    json.dump([{k: r.get(k) for k in fields} for r in rows], out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(rows)


def ledger_records(store: Store, p: Partnership) -> list[dict]:
    """The partnership's involvement ledger for finance: one row per line, naming people (payment needs names),
    with nothing that joins to any answer (see ``involvement.LEDGER_FIELDS``)."""
    inv = store.involvement
    return involvement.ledger_rows(inv.lines(p), inv.rates(p), inv.choices(p), inv.names(p))


CHANGE_FIELDS = ("changed_on", "source", "said", "what_changed", "difference")


def change_records(store: Store, p: Partnership) -> list[dict]:
    """The "you said, we changed" log with PIRIT's fields: when, whose input (naming nobody), what changed, the
    difference it made."""
    return [
        {
            "changed_on": c.changed_on,
            "source": c.source,
            "said": c.said,
            "what_changed": c.what_changed,
            "difference": c.difference,
        }
        for c in store.involvement.changes(p)
    ]
