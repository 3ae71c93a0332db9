"""Reports assembled from the store: a partnership's level summary and the answers export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from bot import summary as summaries
from bot.catalog import Catalog
from bot.store import Store

EXPORT_FIELDS = ("channel", "level", "facilitator", "text", "kind", "asked_at", "rating", "comment", "anonymous",
                 "user", "role", "answered_at")


def partnership_summary(
    store: Store,
    catalog: Catalog,
    team: str,
    channel: str,
    *,
    now: datetime,
    weeks: int | None = None,
    level_id: str | None = None,
) -> summaries.Summary | None:
    """The level summary of one partnership, or None when the channel has no partnership yet."""
    partnership = store.partnership(team, channel)
    if partnership is None:
        return None
    cadence = store.schedules(team, channel).get("checkins")
    window = summaries.window_for(
        now,
        partnership.timezone,
        weeks or partnership.window_weeks,
        cadence=cadence.cadence if cadence else None,
        level_count=len(catalog.levels),
    )
    since, until = int(window.start.timestamp()), int(window.end.timestamp()) + 1
    activity = store.level_activity(team, channel, since=since, until=until, k=partnership.k)
    last_meeting = store.last_meeting(team, channel)
    return summaries.summarize(
        catalog,
        activity,
        window=window,
        now=now,
        k=partnership.k,
        members=partnership.member_count,
        last_meeting=datetime.fromtimestamp(last_meeting, UTC) if last_meeting else None,
        roles=store.roles(team, channel).values(),
        answered_roles=store.answered_roles(team, channel, since=since, until=until),
        history=store.last_asked(team, channel),
        level_id=level_id,
    )


def export_records(store: Store, catalog: Catalog, team: str, channel: str | None = None) -> Iterator[dict]:
    """Export rows with readable times and the facilitator's wording; anonymous rows carry no identity."""
    for row in store.export_rows(team, channel):
        try:
            text = catalog.facilitator(row["facilitator"]).text
        except KeyError:
            text = ""
        yield {
            **row,
            "text": text,
            "asked_at": _iso(row["asked_at"]),
            "answered_at": _iso(row["answered_at"]),
        }


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def write_csv(records: Iterable[dict], out: io.TextIOBase) -> int:
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


def write_json(records: Iterable[dict], out: io.TextIOBase) -> int:
    rows = list(records)
    json.dump([{k: r.get(k) for k in EXPORT_FIELDS} for r in rows], out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(rows)
