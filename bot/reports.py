"""Reports assembled from the store: a partnership's level summary and the answers export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from bot import summary as summaries
from bot.catalog import Catalog
from bot.store import Partnership, Store
from bot.store.answers import EXPORT_COLUMNS

# The store's export columns, with the practice's words beside its id.
EXPORT_FIELDS = (*EXPORT_COLUMNS[:3], "text", *EXPORT_COLUMNS[3:])


def partnership_summary(
    store: Store,
    catalog: Catalog,
    p: Partnership,
    *,
    now: datetime,
    weeks: int | None = None,
    level_id: str | None = None,
) -> summaries.Summary:
    """The level summary of one partnership."""
    cadence = store.partnerships.schedules(p).get("checkins")
    window = summaries.window_for(
        now,
        p.timezone,
        weeks or p.window_weeks,
        cadence=cadence.cadence if cadence else None,
        level_count=len(catalog.levels),
    )
    since, until = int(window.start.timestamp()), int(window.end.timestamp()) + 1
    seen = store.activity.summary_inputs(p, since=since, until=until)
    return summaries.summarize(
        catalog,
        seen.levels,
        window=window,
        now=now,
        k=p.k,
        members=p.member_count,
        last_meeting=datetime.fromtimestamp(seen.last_meeting, UTC) if seen.last_meeting else None,
        roles=store.people.roles(p).values(),
        answered_roles=seen.answered_roles,
        history=seen.history,
        level_id=level_id,
    )


def export_records(store: Store, catalog: Catalog, team: str, channel: str | None = None) -> Iterator[dict]:
    """Export rows with readable times and the facilitator's wording; anonymous rows carry no identity."""
    for row in store.answers.export_rows(team, channel):
        try:
            text = catalog.facilitator(row["facilitator"]).text
        except KeyError:
            text = ""
        yield {**row, "text": text, "asked_at": _iso(row["asked_at"]), "answered_at": _iso(row["answered_at"])}


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def write_csv(records: Iterable[dict], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    n = 0
    for record in records:
        writer.writerow({k: _csv_safe(v) for k, v in record.items()})
        n += 1
    return n


def _csv_safe(value: object) -> object:
    if isinstance(value, str):
        # The writer quotes a field holding "\n" (our line ending) but not a bare "\r", which a spreadsheet
        # reads as a new row: "ok\r=HYPERLINK(…)" would smuggle a formula past the check below.
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        # A cell starting with = + - @ would run as a formula when the funder opens the file in a spreadsheet.
        if value[:1] in ("=", "+", "-", "@", "\t", "\n"):
            return "'" + value
    return "" if value is None else value


def write_json(records: Iterable[dict], out: TextIO) -> int:
    rows = list(records)
    json.dump([{k: r.get(k) for k in EXPORT_FIELDS} for r in rows], out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(rows)
