"""The report a coordinator can hand to a funder: one self-contained HTML file. Pure: facts in, HTML out.

Laid out for screen and print (A4 and Letter), with the coverage picture embedded, the partnership's
practice per level and per practice, who took part, meetings, actions, reflection, and a section in the
shape of the GRIPP2 short form (Staniszewska et al. 2017) filled with these facts and clearly marked
places for the team's own words. Every figure follows the anonymity rule (bot/domain/anonymity.py); every piece
of text that did not come from coprod's own code is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog
from bot.domain.coverage import Asked, format_mean
from bot.render import gripp_form


class AskedPractice(Asked, Protocol):
    """One check-in as the report reads it (the store's AskedFacts)."""

    @property
    def facilitator_id(self) -> str: ...
    @property
    def kind(self) -> str: ...


BECKETT = (
    "Beckett K, Farr M, Kothari A, Wye L, le May A. Embracing complexity and uncertainty to create impact: "
    "exploring the processes and transformative potential of co-produced research through development of a "
    "social impact model. Health Research Policy and Systems. 2018;16:118. doi:10.1186/s12961-018-0375-0"
)
GRIPP2 = (
    "Staniszewska S, Brett J, Simera I, et al. GRIPP2 reporting checklists: tools to improve reporting of "
    "patient and public involvement in research. BMJ. 2017;358:j3453. doi:10.1136/bmj.j3453"
)
STYLE = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1d; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 1.8rem; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .3rem .5rem;
       border-bottom: 1px solid #ddd; vertical-align: top; } th { background: #f2f2f2; }
td.n, th.n { text-align: right; white-space: nowrap; } td.day { white-space: nowrap; }
tr.level td { font-weight: 600; background: #fafafa; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.yours { border: 2px dashed #7a4d00; background: #fff7e6; padding: .5rem .8rem; margin: .4rem 0; min-height: 3em;
         white-space: pre-wrap; }
.yours::before { content: "Your words: "; font-weight: 700; color: #7a4d00; }
.yours:empty::after { content: attr(data-prompt); color: #8a6d3b; font-style: italic; }
.missing { color: #8a1c1c; font-style: italic; }
.meta { color: #555; } .note { color: #555; font-size: .95em; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { break-after: avoid; }
  .noprint { display: none; } .yours:empty::after { content: ""; }
  table, figure, .yours { break-inside: avoid; } a { color: inherit; } }
@page { size: A4; margin: 16mm; }
@page letter { size: letter; margin: 0.6in; }
"""


@dataclass(frozen=True)
class ReportFacts:
    channel: str  # by its name, like #diabetes-study (its id only when coprod never learned the name)
    timezone: str
    start: datetime
    end: datetime
    made: datetime
    k: int
    members: int | None
    asked: Sequence[AskedPractice]  # check-ins and reflection rounds asked in the period
    meetings: Sequence[int]
    people: int
    role_answers: dict[str, int]
    role_sizes: dict[str, int]
    reflexivity_optouts: int
    actions: Sequence[Mapping[str, object]]  # the actions export's rows of the period (pseudonymous)
    picture_png: bytes
    picture_alt: str
    form: gripp_form.FormFacts
    filename: str


def render(facts: ReportFacts, catalog: Catalog) -> str:
    tz = ZoneInfo(facts.timezone)
    period = f"{facts.start.astimezone(tz):%-d %B %Y} to {facts.end.astimezone(tz):%-d %B %Y}"
    rows, totals = _practice_rows(facts, catalog)
    checkins = sum(1 for a in facts.asked if a.kind == "checkin")
    rounds = sum(1 for a in facts.asked if a.kind == "reflexivity")
    practices = len({a.facilitator_id for a in facts.asked if a.kind == "checkin"})
    low = [name for name, mean in totals if mean is not None and mean <= 2.5]
    unasked = [name for name, mean in totals if mean is None]
    picture = base64.b64encode(facts.picture_png).decode("ascii")
    form = replace(
        facts.form,
        period=period,
        meetings=len(facts.meetings),
        checkins=checkins,
        practices_asked=practices,
        practices=len(catalog.facilitators),
        rounds=rounds,
        low_levels=low,
        unasked_levels=unasked,
        never_asked=len(catalog.facilitators) - practices,
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Co-production report: {escape(facts.channel)}, {escape(period)}</title>",
        f'<style>{STYLE}</style></head><body data-filename="{escape(facts.filename)}">',
        "<header>",
        "<h1>How we worked together: a co-production report</h1>",
        f'<p class="meta">Partnership: Slack channel {escape(facts.channel)}. Period: {escape(period)}. '
        f"Made by coprod on {facts.made.astimezone(tz):%-d %B %Y}.</p>",
        '<p class="note">Every average here comes from check-ins that had closed and that at least '
        f"{facts.k} people answered, so no one person's answer can be worked out. Names and comments are "
        "never included.</p>",
        "</header>",
        '<section id="picture"><h2>The picture</h2><figure>',
        f'<img src="data:image/png;base64,{picture}" alt="{escape(facts.picture_alt)}">',
        f'<figcaption class="note">{escape(facts.picture_alt)}</figcaption></figure></section>',
        '<section id="practice"><h2>Practice by level</h2>',
        "<table><thead><tr><th>Level and practice</th><th>Times asked</th><th>Answers</th>"
        "<th>Average (1 to 5)</th></tr></thead><tbody>",
        *rows,
        "</tbody></table></section>",
        '<section id="people"><h2>Who took part</h2>',
        f"<p>{facts.people} {'person' if facts.people == 1 else 'people'} answered at least one check-in"
        + (f", of {facts.members} members of the channel" if facts.members else "")
        + ".</p>",
        _roles(facts),
        "</section>",
        '<section id="meetings"><h2>Meetings</h2>',
        f"<p>{len(facts.meetings)} {'meeting' if len(facts.meetings) == 1 else 'meetings'} logged in the period"
        + (f", the last on {datetime.fromtimestamp(facts.meetings[-1], tz):%-d %B %Y}" if facts.meetings else "")
        + ".</p></section>",
        '<section id="actions"><h2>Actions</h2>',
        _actions(facts, catalog),
        "</section>",
        '<section id="reflection"><h2>Reflection</h2>',
        f"<p>{rounds} private reflection {'round' if rounds == 1 else 'rounds'} sent. "
        + _optin(facts)
        + " What people reflected is private to them and never reported.</p></section>",
        gripp_form.render(form),
        "<footer><h2>References</h2><ol>",
        f"<li>{escape(BECKETT)}</li><li>{escape(GRIPP2)}</li><li>{escape(gripp_form.UKSPI)}</li>",
        f"</ol></footer><script>{gripp_form.SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _practice_rows(facts: ReportFacts, catalog: Catalog) -> tuple[list[str], list[tuple[str, float | None]]]:
    per: dict[str, list[int]] = {}  # practice id -> [times asked, answers, answers in rated groups, their total]
    for a in facts.asked:
        c = per.setdefault(a.facilitator_id, [0, 0, 0, 0])
        c[0] += 1
        c[1] += a.answers
        if a.total is not None:
            c[2] += a.answers
            c[3] += a.total
    rows, totals = [], []
    for level in catalog.levels:
        items = catalog.in_level(level.id)
        level_sum = [sum(per.get(f.id, [0, 0, 0, 0])[n] for f in items) for n in range(4)]
        mean = level_sum[3] / level_sum[2] if level_sum[2] else None
        totals.append((level.name, mean))
        rows.append(_row(f"{level.name} ({level.scale})", level_sum, mean, css="level"))
        for f in items:
            c = per.get(f.id, [0, 0, 0, 0])
            rows.append(_row(f.text, c, c[3] / c[2] if c[2] else None))
    return rows, totals


def _row(name: str, c: Sequence[int], mean: float | None, css: str = "") -> str:
    shown = format_mean(mean) if mean is not None else ("too few answers to show" if c[0] else "not asked")
    klass = f' class="{css}"' if css else ""
    return (
        f'<tr{klass}><td>{escape(name)}</td><td class="n">{c[0]}</td><td class="n">{c[1]}</td>'
        f'<td class="n">{escape(shown)}</td></tr>'
    )


def _roles(facts: ReportFacts) -> str:
    if not facts.role_sizes:
        return (
            f'<p class="note">Answers by role are shown only for roles at least {facts.k} members hold; '
            "no role is held that widely yet.</p>"
        )
    items = "".join(
        f'<tr><td>{escape(role)}</td><td class="n">{facts.role_sizes[role]}</td>'
        f'<td class="n">{facts.role_answers.get(role, 0)}</td></tr>'
        for role in sorted(facts.role_sizes)
    )
    return (
        "<table><thead><tr><th>Role</th><th>Members</th><th>Named answers</th></tr></thead>"
        f"<tbody>{items}</tbody></table>"
        f'<p class="note">Only roles at least {facts.k} members hold are shown. Anonymous answers keep no role.</p>'
    )


def _actions(facts: ReportFacts, catalog: Catalog) -> str:
    if not facts.actions:
        return "<p>coprod recorded no actions planned in this period.</p>"
    done = sum(1 for a in facts.actions if a["status"] == "done")
    rows = []
    for a in facts.actions:
        try:
            practice = catalog.facilitator(str(a["facilitator"])).text
        except KeyError:
            practice = str(a["facilitator"])
        before, after = a.get("before"), a.get("after")
        change = (
            f"{format_mean(float(before))} → {format_mean(float(after))}"  # type: ignore[arg-type]
            if before is not None and after is not None
            else ("not enough answers yet to compare" if a["status"] == "done" else "")
        )
        rows.append(
            f"<tr><td>{escape(str(a['what']))}</td><td>{escape(practice)}</td><td>{escape(str(a['planned_on']))}</td>"
            f"<td>{escape(str(a['status']))}</td><td>{escape(change)}</td></tr>"
        )
    return (
        f"<p>{len(facts.actions)} {'action' if len(facts.actions) == 1 else 'actions'} planned or closed in the "
        f"period, {done} done. Before and after is the practice's average at the check-in before the action and "
        "the one after, shown only where both meet the same rule as every average.</p>"
        "<table><thead><tr><th>What we said we'd do</th><th>For</th><th>Planned</th><th>Now</th>"
        f"<th>Before → after</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _optin(facts: ReportFacts) -> str:
    if not facts.members:
        return (
            f"{facts.reflexivity_optouts} {'member' if facts.reflexivity_optouts == 1 else 'members'} turned them off."
        )
    share = max(0, facts.members - facts.reflexivity_optouts) / facts.members
    return f"{share:.0%} of the {facts.members} members receive the prompts."
