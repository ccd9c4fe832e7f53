"""Rich tables for the terminal that never cut a word: every column wraps, or folds.

Rich ends a cell that does not fit its column with an ellipsis by default; a warning
or a reason cut to "generator- or stack-bo…" says nothing. Every terminal table of the
suite is made here, so that a long cell wraps at its spaces and folds a word longer
than its column onto the next line, whatever the console's width.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text


def table(title: str | Text | None = None) -> Table:
    """An empty table with its title on the left."""
    return Table(title=title, title_justify="left")


def column(table: Table, header: str | Text, *, numeric: bool = False) -> None:
    """Add a column that wraps at spaces and folds what is longer than a line.

    No column has a minimum width: on a console narrower than the table's minimum, Rich
    would crop the lines (and lose the end of every row) rather than wrap them.
    """
    table.add_column(header, justify="right" if numeric else "left", overflow="fold", no_wrap=False)
