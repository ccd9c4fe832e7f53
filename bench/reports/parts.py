"""A part of a report or comparison: one titled block, the same in Markdown and in HTML.

A `Part` is what a reader sees under one heading: a paragraph that introduces it, a
list (items may lead with a bold term and fold a log away), a table and charts, each
optional, in that order. Renderers build parts from results; `markdown` and `section`
lay any part out, so a new table of the report is one function that returns a Part
(docs/architecture.md says where to list it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.reports.page import Section, esc
from bench.reports.tables import Table, html_table, markdown_table, md_escape


@dataclass(frozen=True)
class Item:
    """One entry of a part's list: its text, a bold term before it, a log folded away."""

    text: str
    term: str = ""
    log: str = ""  # HTML only: under a <details>; Markdown keeps the first line


@dataclass(frozen=True)
class Part:
    """A titled block: an introduction, a list, a table and charts (each may be empty)."""

    title: str
    anchor: str = ""  # its id on a page; "" takes one from the title
    intro: str = ""
    items: Sequence[Item] = ()
    table: Table | None = None
    charts: Sequence[str] = ()  # inline SVG: HTML only
    empty: str = ""  # said when it has neither items nor table rows ("": nothing said)

    @property
    def blank(self) -> bool:
        """Whether it has nothing to list or tabulate."""
        return not self.items and (self.table is None or not self.table.rows)

    def id(self) -> str:
        """Its anchor, or one made of its title ("Scenario: hello" -> "scenario-hello")."""
        if self.anchor:
            return self.anchor
        words = "".join(c if c.isalnum() else " " for c in self.title.lower()).split()
        return "-".join(words[:6]) or "part"


def _item_markdown(item: Item) -> str:
    term = f"**{md_escape(item.term)}**: " if item.term else ""
    return f"- {term}{md_escape(item.text)}"


def markdown(part: Part, level: int = 2) -> list[str]:
    """The part as Markdown lines, its title a heading of `level` (charts left out)."""
    out = [f"{'#' * level} {part.title}", ""]
    if part.intro:
        out += [part.intro, ""]
    if part.blank and part.empty:
        return [*out, part.empty, ""]
    if part.items:
        out += [*(_item_markdown(item) for item in part.items), ""]
    if part.table is not None and part.table.rows:
        out += [markdown_table(part.table), ""]
    return out


def _item_html(item: Item) -> str:
    term = f"<b>{esc(item.term)}</b>: " if item.term else ""
    log = f"<details><summary>log</summary><pre>{esc(item.log)}</pre></details>" if item.log else ""
    return f"<li>{term}{esc(item.text)}{log}</li>"


def body(part: Part) -> str:
    """The part's body as HTML: introduction, list, table, charts."""
    out = [f"<p>{esc(part.intro)}</p>"] if part.intro else []
    if part.blank and part.empty:
        return "".join([*out, f"<p>{esc(part.empty)}</p>"])
    if part.items:
        out.append("<ul>" + "".join(_item_html(item) for item in part.items) + "</ul>")
    if part.table is not None and part.table.rows:
        out.append(html_table(part.table))
    if part.charts:
        out.append(f'<div class="charts">{"".join(part.charts)}</div>')
    return "".join(out)


def section(part: Part) -> Section:
    """The part as a section of a page."""
    return Section(part.id(), part.title, body(part))


def sections(parts: Sequence[Part]) -> list[Section]:
    """Every part as a section of a page, in order."""
    return [section(part) for part in parts]
