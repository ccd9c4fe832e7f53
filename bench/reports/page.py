"""The one page shell of every HTML page the suite writes, and its one stylesheet.

The report (bench.reports.report), a comparison (bench.reports.compare), the history
(bench.reports.history_html), the demos' handout (bench.demos.handout) and the live view
(bench.running.live) are each a `Page`: a title, the lines that say under which
conditions it was measured, an optional lead (the headline, a warning), then sections.
A renderer supplies only what is its own (its sections' bodies, the live view's script);
`render` writes the document around them, so every page has the same head, header,
stylesheet and behaviour at every width.

A page is self-contained: its style is inline and it names no URL, so it opens offline
and can be mailed or archived as one file. Only the live view has a script.

Every width the suite is read at, from a 390 px phone to a 1,920 px screen: prose keeps
a readable line length, a table wider than the page scrolls inside its own box (`scroll`)
instead of widening the page, long cells wrap, and charts shrink with their column.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One titled part of a page (`<section id=anchor>`); its body is HTML, escaped."""

    anchor: str
    title: str  # "" for a section without a heading
    body: str


@dataclass(frozen=True)
class Page:
    """A whole page: its title, conditions, lead and sections (and a script, if any)."""

    title: str
    sections: Sequence[Section]
    conditions: Sequence[str] = ()  # plain text, one line each, under the title
    lead: str = ""  # HTML between the title and the conditions: a headline, a warning
    script: str = ""  # HTML (<script> elements) at the end of the body: the live view's
    kind: str = ""  # the body's class: "report", "compare", "history", "handout", "live"


STYLESHEET = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
 margin:0 auto;max-width:1800px;padding:16px 24px;color:#1a1a1a;line-height:1.45;
 overflow-wrap:break-word}
p,ul,ol,dl,.answer,.warning{max-width:72rem}
h1{font-size:1.6em;margin:.3em 0}
h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.15em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
header .question{font-size:1.2em;font-weight:bold}
.answer{font-size:1.1em;background:#f3f7fb;border-left:4px solid #0072B2;padding:8px 12px}
.conditions,.note{color:#444}
.note{font-size:.9em}
.warning{border:3px solid #c00;background:#fee;color:#900;padding:.5em 1em;font-weight:bold}
code{font-size:.92em}
pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
dt{font-weight:bold}dd{margin:0 0 6px 16px}
dl.facts{display:grid;grid-template-columns:minmax(6rem,9rem) minmax(0,1fr);gap:0 .8rem}
dl.facts dd{margin:0 0 .3rem;overflow-wrap:anywhere}
/* Tables: a wide one scrolls inside its own box; numbers stay whole, prose wraps. */
.scroll{overflow-x:auto;max-width:100%;margin:8px 0}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2;font-weight:600}
td.num{text-align:right;white-space:nowrap}
td.text{white-space:nowrap}
td.wrap{min-width:10em;overflow-wrap:anywhere}
td .range{display:block;color:#555;font-size:.9em}
tr.warned td{background:#fff7e0}
tr.invalid td{background:#fde8e8}
tr.invalid td:first-child{border-left:4px solid #D00000}
.flag{color:#9a6700;font-weight:bold}
tr.invalid .flag{color:#D00000}
table.values td{text-align:right;white-space:nowrap}
table.values td:first-child{text-align:left;white-space:normal;min-width:14em}
td.regression{color:#D00000;font-weight:bold}td.improvement{color:#007A3D;font-weight:bold}
td.differ,th.differ{background:#fff4d6}
table.data td{text-align:right}table.data td:first-child{text-align:left}
td.verdict{font-weight:700}td.holds{color:#1e7b34}td.partly{color:#a15c00}
td.fails{color:#b03a2e}td.open{color:#555}td.bad{color:#c0392b}
/* Charts: as many columns as fit, each chart as wide as its column. */
svg{max-width:100%;height:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));
 gap:12px;margin:8px 0}
.charts.small{grid-template-columns:repeat(auto-fill,minmax(min(100%,380px),1fr))}
.charts svg{border:1px solid #e5e5e5;width:100%;height:auto}
figure{margin:.6rem 0}
/* The handout: a demo's prediction, its lesson, what happened inside. */
.prediction{background:#f4f1e8;border-left:4px solid #E69F00;padding:.4rem .7rem}
.lesson{border-left:4px solid #009E73;padding:.2rem .7rem;background:#eef7f2}
.lesson.no{border-color:#D55E00;background:#fbefe8}
.mechanism{border-left:4px solid #0072B2;padding:.2rem .7rem;background:#eef4fa}
/* The live view: its status and the tiles of the second just measured. */
#text{margin:0 0 .4rem;color:#333;white-space:pre-line}
#status{font-weight:600;margin:.3rem 0 .8rem}
#status.measuring::before{content:"\\25CF  ";color:#c0392b}
#status.done{color:#1e7b34}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.5rem}
.tile{border:1px solid #ddd;border-radius:.4rem;padding:.4rem .6rem}
.tile b{display:block;font-size:1.6rem;font-variant-numeric:tabular-nums}
.tile span{font-size:.8rem;color:#555}
body.live svg{font-size:12px}
#points td{text-align:right;white-space:nowrap}#points td:nth-child(-n+3){text-align:left}
@media (max-width:600px){body{padding:10px 12px}h1{font-size:1.3em}h2{font-size:1.15em}
 .answer{font-size:1em}}
@media print{body{max-width:none;margin:0}body.handout main>section{break-before:page}
 .scroll{overflow:visible}
 .prediction,.lesson,.mechanism{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
"""


def esc(text: object) -> str:
    """Text as HTML, quotes included."""
    return html.escape(str(text), quote=True)


def scroll(table_html: str) -> str:
    """A table in a box of its own that scrolls sideways when the table is wider."""
    return f'<div class="scroll">{table_html}</div>'


def _header(page: Page) -> str:
    conditions = "<br>".join(esc(line) for line in page.conditions)
    line = f'<p class="conditions">{conditions}</p>' if conditions else ""
    return f'<header><h1 id="title">{esc(page.title)}</h1>{page.lead}{line}</header>'


def _section(section: Section) -> str:
    # Single-quoted ids: the handout's sections have always been written so.
    heading = f"<h2>{esc(section.title)}</h2>" if section.title else ""
    return f"<section id='{esc(section.anchor)}'>{heading}{section.body}</section>"


def render(page: Page) -> str:
    """The whole document: head, the stylesheet, the header, the sections, the script."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(page.title)}</title><style>{STYLESHEET}</style></head>",
            f'<body class="{esc(page.kind)}">' if page.kind else "<body>",
            _header(page),
            "<main>",
            *(_section(section) for section in page.sections),
            "</main>",
            *([page.script] if page.script else []),
            "</body></html>",
            "",
        ]
    )
