"""The package variants of a run (targets with @pins), as a report table.

A run can hold one target at several package versions (`name` and
`name@django==5.1.*`): the table names, for each variant, the packages whose versions
differ from the run's own environment, so that the rows of the report that carry the
variant's name can be read as what they are.
"""

from __future__ import annotations

from bench.reports.tables import Row, Table, TCell
from bench.results.conditions import canonical, display
from bench.results.model import Run

NOTE = (
    "Targets measured with packages of their own (a spec's @pins): each ran in an "
    "environment built from the project's lock with the pins applied, and its rows "
    "above carry the pins in their name. Listed: the packages whose versions differ "
    "from the run's environment."
)


def differences(run: Run) -> list[tuple[str, str, str, str, str]]:
    """(target, pins, package, its version, the run's version) for every variant."""
    base = {canonical(k): v for k, v in run.environment.packages.items()}
    rows: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
    for point in run.points:
        if not point.packages:
            continue
        for name, version in sorted(point.packages.items()):
            if base.get(name) != version:
                rows[(point.target, name)] = (
                    point.target,
                    ", ".join(point.pins),
                    display(name),
                    version or "absent",
                    base.get(name) or "absent",
                )
    return list(rows.values())


def table(run: Run) -> Table | None:
    """The variants table, or None when the run has no variant."""
    found = differences(run)
    if not found:
        return None
    header = ["target", "pins", "package", "version in this target", "the run's version"]
    return Table(header, [Row([TCell(cell, numeric=False) for cell in row]) for row in found])
