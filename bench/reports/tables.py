"""The tables of reports and comparisons as one model, rendered as Markdown and as HTML."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from bench.reports import charts
from bench.reports.page import esc, scroll


@dataclass
class TCell:
    """A table cell: its text, and the warning numbers that sit next to it."""

    text: str
    marks: list[int] = field(default_factory=list)
    numeric: bool = True
    wrap: bool = False  # only long prose (warnings, values of the environment) wraps


@dataclass
class Row:
    cells: list[TCell]
    css: str = ""  # "invalid", "warned" or ""


@dataclass
class Table:
    headers: list[str]
    rows: list[Row]


def text_table(headers: list[str], rows: list[list[str]], prose: Collection[str] = ()) -> Table:
    """A table of plain text cells; the columns named in `prose` wrap, the others do not."""
    wraps = [header in prose for header in headers]
    return Table(
        headers,
        [
            Row(
                [
                    TCell(cell, numeric=False, wrap=wrap)
                    for cell, wrap in zip(cells, wraps, strict=True)
                ]
            )
            for cells in rows
        ],
    )


def num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return charts.format_value(value) + (f" {unit}" if unit else "")


def md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_cell(cell: TCell) -> str:
    marks = "".join(f" ⚠{n}" for n in cell.marks)
    return md_escape(cell.text) + marks


def markdown_table(table: Table) -> str:
    """Render a table for GitHub; invalid rows get ✗ in their status, warned ones ⚠."""
    aligns = (
        ["---:" if cell.numeric else "---" for cell in table.rows[0].cells] if table.rows else []
    )
    lines = [
        "| " + " | ".join(md_escape(h) for h in table.headers) + " |",
        "| " + " | ".join(aligns or ["---"] * len(table.headers)) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row.cells) + " |" for row in table.rows]
    return "\n".join(lines)


def _cell_html(cell: TCell) -> str:
    """A cell's text; a number's range ("509 (458-610)") goes on a line of its own."""
    flags = "".join(f' <span class="flag">⚠{n}</span>' for n in cell.marks)
    value, bracket, rest = cell.text.partition(" (")
    if cell.numeric and bracket:
        # The column is as wide as the median or its range, not as both side by side.
        return f'{esc(value)} <span class="range">({esc(rest)}</span>{flags}'
    return esc(cell.text) + flags


def _cell_class(cell: TCell) -> str:
    if cell.numeric:
        return "num"
    return "wrap" if cell.wrap else "text"


def html_table(table: Table, css: str = "") -> str:
    """Render a table; a row's class marks it invalid or warned, flags sit in their cell."""
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = "".join(f'<td class="{_cell_class(c)}">{_cell_html(c)}</td>' for c in row.cells)
        row_cls = f' class="{row.css}"' if row.css else ""
        rows.append(f"<tr{row_cls}>{cells}</tr>")
    table_cls = f' class="{css}"' if css else ""
    return scroll(
        f"<table{table_cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
