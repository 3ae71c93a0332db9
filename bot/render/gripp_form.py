"""The report's GRIPP2 short form (Staniszewska et al. 2017): its five headings, in the checklist's words and
order, each filled from what coprod holds or marked "not recorded", with boxes for the team's own words that
a browser lets people type in, and that stay when the page is printed or saved. Pure: facts in, HTML out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from bot.domain.involvement import Change, Totals, hours_text, money_text

HEADINGS = ("Aim", "Methods", "Results", "Discussion and conclusions", "Reflections/critical perspective")
# What each item asks, close to GRIPP2-SF's own words (BMJ 2017;358:j3453, table 2).
ASKS = (
    "Report the aim of patient and public involvement (PPI) in the study.",
    "Provide a clear description of the methods by which patients and the public were involved.",
    "Report the outcomes of PPI in the study, including both positive and negative outcomes.",
    "Comment on the extent to which PPI has influenced the study overall, positive and negative effects.",
    "Comment critically on the study, reflecting on the things that went well and those that did not, "
    "so others can learn from this study.",
)
NOT_RECORDED = '<p class="missing">Not recorded.</p>'
STANDARDS = (
    "Inclusive opportunities",
    "Working together",
    "Support and learning",
    "Communications",
    "Governance",
    "Impact",
)
UKSPI = (
    "UK Standards for Public Involvement. NIHR, Chief Scientist Office, Health and Care Research Wales, "
    "Public Health Agency Northern Ireland; 2019."
)

# Keeps each box's words in the browser while the page is open again, and writes them into the page's own
# HTML when it is saved with the button, so what a person typed survives printing, reopening and saving.
SCRIPT = """
(function () {
  var key = "coprod-report:" + document.title;
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".yours[contenteditable]"));
  var kept = {};
  try { kept = JSON.parse(localStorage.getItem(key) || "{}"); } catch (e) { kept = {}; }
  boxes.forEach(function (box) {
    if (kept[box.id] !== undefined && box.dataset.typed !== "yes") { box.textContent = kept[box.id]; }
    box.addEventListener("input", function () {
      box.dataset.typed = "yes";
      kept[box.id] = box.textContent;
      try { localStorage.setItem(key, JSON.stringify(kept)); } catch (e) {}
    });
  });
  var save = document.getElementById("save-words");
  if (save) {
    save.addEventListener("click", function () {
      boxes.forEach(function (box) { box.setAttribute("data-typed", "yes"); });
      var html = "<!doctype html>\\n" + document.documentElement.outerHTML;
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      link.download = document.body.dataset.filename || "coprod-report.html";
      link.click();
    });
  }
})();
"""


@dataclass(frozen=True)
class FormFacts:
    aim: str | None
    title: str | None
    roles: Mapping[str, int]  # role -> members holding it (not sensitive, not hidden by k)
    unroled: int  # channel members with no role recorded
    involvement: Totals
    changes: Sequence[Change]
    unheard_roles: Sequence[str]  # roles held that no named answer came from
    unpaid: int  # lines still unpaid 30 days after
    # Filled in by the report from the same facts as its other sections (bot/render/gripp_report.py).
    period: str = ""
    meetings: int = 0
    checkins: int = 0
    practices_asked: int = 0
    practices: int = 0
    rounds: int = 0
    low_levels: Sequence[str] = ()  # rated 2.5 or lower
    unasked_levels: Sequence[str] = ()
    never_asked: int = 0  # practices never asked in the period


def _box(n: int, prompt: str) -> str:
    return (
        f'<div class="yours" id="yours-{n}" contenteditable="true" role="textbox" aria-multiline="true" '
        f'aria-label="Your words: {escape(prompt)}" data-prompt="{escape(prompt)}"></div>'
    )


def _table(head: tuple[str, str], rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f'<tr><td>{escape(a)}</td><td class="n">{escape(b)}</td></tr>' for a, b in rows)
    return f'<table><thead><tr><th>{head[0]}</th><th class="n">{head[1]}</th></tr></thead><tbody>{body}</tbody></table>'


def _money(amounts: Mapping[str, int]) -> str:
    return ", ".join(money_text(v, c) for c, v in sorted(amounts.items())) or "none"


def _methods(f: FormFacts) -> str:
    parts = []
    if f.roles or f.unroled:
        rows = [(role, str(n)) for role, n in sorted(f.roles.items())]
        if f.unroled:
            rows.append(("role not recorded", str(f.unroled)))
        parts.append("<p>Team composition, from the roster:</p>" + _table(("Role", "Members"), rows))
    else:
        parts.append("<p>Team composition: not recorded.</p>")
    t = f.involvement
    if t.people:
        parts.append(
            f"<p>{t.people} {'person' if t.people == 1 else 'people'} logged "
            f"{hours_text(sum(t.minutes_by_stage.values()))} of involvement "
            f"(meetings attended and work logged). Payments: owed {_money(t.owed)}, paid {_money(t.paid)}.</p>"
        )
        parts.append(_table(("Study stage", "Hours"), [(s, f"{m / 60:.1f}") for s, m in t.minutes_by_stage.items()]))
        parts.append(_table(("Role group", "Hours"), [(g, f"{m / 60:.1f}") for g, m in t.minutes_by_group.items()]))
    else:
        parts.append("<p>Involvement hours and payments: not recorded.</p>")
    parts.append(
        f"<p>How coprod was used: over {escape(f.period)} coprod asked the team {f.checkins} "
        f"{'check-in' if f.checkins == 1 else 'check-ins'} about {f.practices_asked} of the {f.practices} "
        f"practices of co-production (Beckett et al. 2018), sent {f.rounds} private reflection "
        f"{'round' if f.rounds == 1 else 'rounds'}, and the team logged {f.meetings} "
        f"{'meeting' if f.meetings == 1 else 'meetings'}.</p>"
    )
    return "".join(parts)


def _results(f: FormFacts) -> str:
    if not f.changes:
        return '<p>You said, we changed: <span class="missing">not recorded</span>.</p>'
    rows = "".join(
        f'<tr><td class="day">{escape(c.changed_on)}</td>'
        f"<td>{escape(c.said)}</td><td>{escape(c.what_changed)}</td>"
        f"<td>{escape(c.difference)}</td></tr>"
        for c in f.changes
    )
    return (
        f"<p>You said, we changed: {len(f.changes)} {'change' if len(f.changes) == 1 else 'changes'} recorded, each "
        "told to the people whose input it was.</p>"
        "<table><thead><tr><th>When</th><th>Whose input</th><th>What changed</th><th>The difference it made</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _reflections(f: FormFacts) -> str:
    items = []
    if f.low_levels:
        items.append(f"Levels rated 2.5 or lower: {escape(', '.join(f.low_levels))}.")
    if f.unasked_levels:
        items.append(f"Levels not asked, or with too few answers to show: {escape(', '.join(f.unasked_levels))}.")
    if f.never_asked:
        items.append(f"{f.never_asked} of the {f.practices} practices were never asked about in the period.")
    if f.unheard_roles:
        items.append(f"Role groups we did not hear from in named answers: {escape(', '.join(f.unheard_roles))}.")
    if f.unpaid:
        items.append(f"{f.unpaid} ledger {'line was' if f.unpaid == 1 else 'lines were'} unpaid 30 days after.")
    if not items:
        return "<p>coprod knows of nothing that went badly.</p>"
    return "<p>What coprod saw that did not go well:</p><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _standards(f: FormFacts) -> str:
    t = f.involvement
    shows = (
        f"{len(f.roles)} role groups in the team"
        + (f"; not heard from: {', '.join(f.unheard_roles)}" if f.unheard_roles else ""),
        f"{f.meetings} meetings logged, {f.checkins} check-ins on how the team works together",
        f"{f.rounds} private reflection rounds; payment owed {_money(t.owed)}, paid {_money(t.paid)}",
        f"{len(f.changes)} “you said, we changed” messages told to contributors and posted in the channel",
        "the aim of involvement " + ("is recorded" if f.aim else "is not recorded"),
        f"{len(f.changes)} recorded changes from involvement",
    )
    rows = "".join(f"<tr><td>{escape(s)}</td><td>{escape(w)}</td></tr>" for s, w in zip(STANDARDS, shows, strict=True))
    return (
        "<h4>Against the UK Standards for Public Involvement</h4>"
        f"<table><thead><tr><th>Standard</th><th>What coprod's record shows</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
    )


def render(f: FormFacts) -> str:
    """The GRIPP2 short form section."""
    aim = f"<p>{escape(f.aim)}</p>" if f.aim else NOT_RECORDED + '<p class="note">Record it with `/coprod aim …`.</p>'
    bodies = (
        aim,
        _methods(f),
        _results(f),
        "<p>"
        + (
            f"{len(f.changes)} recorded {'change' if len(f.changes) == 1 else 'changes'} came from involvement."
            if f.changes
            else "Not recorded."
        )
        + "</p>",
        _reflections(f) + _standards(f),
    )
    parts = [
        '<section id="gripp2"><h2>GRIPP2 short form</h2>',
        f"<p><strong>Study:</strong> {escape(f.title) if f.title else 'not recorded'}</p>",
        '<p class="note">Laid out as the GRIPP2 short form (Staniszewska et al. 2017). coprod filled in what it '
        "holds; click a “Your words” box to type in it, then print or save the page. The ratings behind these "
        "figures are single questions, not a validated score.</p>",
        '<p class="noprint"><button type="button" id="save-words">Save this report with your words</button></p>',
    ]
    for n, (heading, ask, body) in enumerate(zip(HEADINGS, ASKS, bodies, strict=True), 1):
        parts += [f"<h3>{n}. {heading}</h3>", f'<p class="note">{escape(ask)}</p>', body, _box(n, ask)]
    parts.append("</section>")
    return "\n".join(parts)
