"""`--save-requests`: a point's request rows, joined from every Locust process's part.

Each Locust process writes `<point>.<host>-<pid>.csv` as the test goes
(bench.locustfiles.records); when the point ends the runner joins them into one
`<point>.csv.gz` (one header, every row) and removes the parts. A run that dies keeps
its parts as plain CSV; `bench show --requests` reads both.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from bench.results.requests import COLUMNS

SUFFIX = ".csv.gz"


def parts(base: Path) -> list[Path]:
    """The part files of a point (`base` is requests/<point>)."""
    return sorted(base.parent.glob(f"{base.name}.*.csv"))


def join_parts(base: Path) -> Path | None:
    """Join a point's parts into `<base>.csv.gz`; None when no process wrote any."""
    found = parts(base)
    if not found:
        return None
    target = base.with_name(base.name + SUFFIX)
    with gzip.open(target, "wt", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for part in found:
            with part.open(newline="", encoding="utf-8") as rows:
                reader = csv.reader(rows)
                next(reader, None)  # each part's own header
                writer.writerows(reader)
    for part in found:
        part.unlink()
    return target
