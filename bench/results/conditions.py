"""What two runs must share for a fair comparison, what differs, and what was meant to.

Every comparable field of a run (the machine, Python, each package, the mock's
latency model, the window, the suite's commit) belongs to one category. A comparison
declares the categories it varies on purpose (`bench compare --varying packages`):
differences in those name the comparison ("Django 5.1.4 → 5.2.8"); differences in any
other category are conditions that were not meant to change, and are warned about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.results.model import Point, Run

CODE, PACKAGES, PYTHON = "code", "packages", "python"
MACHINE, MOCK, PLAN = "machine", "mock", "plan"
CATEGORIES = (CODE, PACKAGES, PYTHON, MACHINE, MOCK, PLAN)
# Comparing two commits is what `bench compare` is for: the code varies unless told otherwise.
DEFAULT_VARYING = (CODE,)
PLAN_FIELDS = ("duration_s", "warmup_s")
PACKAGE_PREFIX = "environment.packages."

# How people write the best-known names (anything else is shown as its package name).
DISPLAY_NAMES = {
    "django": "Django",
    "djangorestframework": "Django REST framework",
    "fastapi": "FastAPI",
    "flask": "Flask",
    "starlette": "Starlette",
    "werkzeug": "Werkzeug",
    "pydantic": "pydantic",
}
ARROW = "\N{RIGHTWARDS ARROW}"
# CPU the server's cores gave to processes other than the server, per core, above which
# the machine was not quiet during a window (100 = one whole core). Measured on the
# 2-core machine: a quiet window leaves 0.2 to 2.5 (interrupts, the samplers).
QUIET_LIMIT_PCT = 10.0
# Two runs' server cores ran at different speeds (bench.running.speed) when their rates
# differ by more than this: eight readings in a row of the quiet core of the 2-core
# development machine (a shared virtual machine) ranged from 113 to 166, within about a
# fifth of their middle; less than that is one machine's own noise.
SPEED_TOLERANCE = 0.20
SPEED_FIELD = "environment.core_speed"


def canonical(name: str) -> str:
    """A package name as PEP 503 compares them: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def display(package: str) -> str:
    """The name people know a package by ("Django" for django)."""
    return DISPLAY_NAMES.get(canonical(package), package)


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(f"{prefix}.{key}", inner))
        return flat
    return {prefix: value}


def conditions(run: Run) -> dict[str, Any]:
    """Return every field that must match for a fair comparison, flattened."""
    plan = run.plan or {}
    return {
        "run.git_commit": run.info.git_commit,
        **_flatten("environment", run.environment.comparable()),
        **_flatten("mock", run.mock.to_dict()),
        **{f"plan.{name}": plan.get(name) for name in PLAN_FIELDS},
    }


def category(name: str) -> str:
    """The category of a flattened condition field."""
    if name == "run.git_commit":
        return CODE
    if name.startswith(PACKAGE_PREFIX):
        return PACKAGES
    if name == "environment.python":
        return PYTHON
    if name.startswith("mock."):
        return MOCK
    if name.startswith("plan."):
        return PLAN
    return MACHINE


def _short(value: Any) -> str:
    if value is None:
        return "absent"
    return value if isinstance(value, str) else json.dumps(value)


def _commit(value: Any) -> str:
    if not isinstance(value, str):
        return "unknown commit"
    commit, dirty = value.removesuffix("-dirty"), value.endswith("-dirty")
    return commit[:10] + (" with uncommitted changes" if dirty else "")


@dataclass(frozen=True)
class Difference:
    """One comparable field that differs between the reference and a changed run."""

    field: str
    reference: Any
    changed: Any
    scope: str | None = None  # a target, when only that target's points differ

    @property
    def category(self) -> str:
        return category(self.field)

    @property
    def package(self) -> str | None:
        """The package's name, for a package difference."""
        if not self.field.startswith(PACKAGE_PREFIX):
            return None
        return self.field.removeprefix(PACKAGE_PREFIX)

    def change(self) -> str:
        """The change alone, as a title says it: "Django 5.1.4 → 5.2.8"."""
        ref, new = self.reference, self.changed
        if self.package is not None:
            return f"{display(self.package)} {_short(ref)} {ARROW} {_short(new)}"
        if self.category == CODE:
            return f"commit {_commit(ref)} {ARROW} {_commit(new)}"
        if self.category == PYTHON:
            return f"Python {_short(ref)} {ARROW} {_short(new)}"
        if self.field == SPEED_FIELD:
            return f"server core speed {ref:g} {ARROW} {new:g}"
        return f"{self.field} {_short(ref)} {ARROW} {_short(new)}"

    def text(self) -> str:
        """Describe the difference in one line (packages by name and version)."""
        where = f" ({self.scope} only)" if self.scope else ""
        if self.field == SPEED_FIELD:
            ratio = self.changed / self.reference - 1.0
            return (
                f"the server's cores ran {abs(ratio):.0%} {'faster' if ratio > 0 else 'slower'} "
                f"in the changed run ({self.reference:g} vs {self.changed:g} thousand units "
                "a second of the same Python work): figures bound by the server's CPU move "
                "with it"
            )
        if self.package is not None:
            return (
                f"package {self.package}{where}: {_short(self.reference)} (reference) "
                f"vs {_short(self.changed)} (changed)"
            )
        return (
            f"{self.field}{where}: {json.dumps(self.reference)} (reference) "
            f"vs {json.dumps(self.changed)} (changed)"
        )

    def to_dict(self, varying: Sequence[str]) -> dict[str, Any]:
        return {
            "field": self.field,
            "category": self.category,
            "package": self.package,
            "scope": self.scope,
            "reference": self.reference,
            "changed": self.changed,
            "intended": self.category in varying,
        }


def _comparable(name: str, reference: Mapping[str, Any], changed: Mapping[str, Any]) -> bool:
    # A package one run did not record (an older suite, a variant's extra dependency)
    # is unknown there, not absent: only packages both runs recorded are compared.
    return not name.startswith(PACKAGE_PREFIX) or (name in reference and name in changed)


def _diff(
    reference: Mapping[str, Any], changed: Mapping[str, Any], scope: str | None = None
) -> list[Difference]:
    return [
        Difference(name, reference.get(name), changed.get(name), scope)
        for name in {**reference, **changed}
        if reference.get(name) != changed.get(name) and _comparable(name, reference, changed)
    ]


def differences(reference: Run, changed: Run) -> list[Difference]:
    """List every comparable field that differs between two runs (the cores' speed when
    it differs by more than SPEED_TOLERANCE)."""
    found = _diff(conditions(reference), conditions(changed))
    before, after = core_speed(reference), core_speed(changed)
    if before and after and abs(after / before - 1.0) > SPEED_TOLERANCE:
        found.append(Difference(SPEED_FIELD, round(before, 1), round(after, 1)))
    return found


def core_speed(run: Run) -> float | None:
    """The server's cores' speed over a run (bench.running.speed): the slower of its start
    and its end, what bound the figures at one end of it at least."""
    speed = run.environment.core_speed
    if speed is None:
        return None
    found = [v for v in (speed.start, speed.end) if v]
    return min(found) if found else None


def others_pct(point: Point) -> float | None:
    """CPU the server's cores gave to other processes in the window, per core (or None)."""
    busy, own = point.server_cores_busy_pct, point.server.cpu_pct
    if busy is None or own is None:
        return None
    return max(0.0, busy - own) / max(point.server_cores or 1, 1)


def noisy(point: Point) -> float | None:
    """The others' share when it is above QUIET_LIMIT_PCT (the machine was not quiet)."""
    share = others_pct(point)
    return share if share is not None and share > QUIET_LIMIT_PCT else None


def point_packages(run: Run, point: Point) -> dict[str, Any]:
    """The packages a point ran with: the run's, with a variant's own versions on top."""
    return {
        **{canonical(k): v for k, v in run.environment.packages.items()},
        **{canonical(k): v for k, v in (point.packages or {}).items()},
    }


def target_differences(
    reference: Run, changed: Run, pairs: Iterable[tuple[Point, Point]]
) -> list[Difference]:
    """Package differences of matched targets beyond the runs' own (package variants)."""
    run_level = {canonical(d.package or "") for d in differences(reference, changed) if d.package}
    found: dict[tuple[str, str], Difference] = {}
    for old, new in pairs:
        if not old.packages and not new.packages:
            continue
        before = point_packages(reference, old)
        after = point_packages(changed, new)
        for name in before.keys() & after.keys():
            if before[name] != after[name] and name not in run_level:
                key = (new.target, name)
                found[key] = Difference(
                    PACKAGE_PREFIX + name, before[name], after[name], new.target
                )
    return list(found.values())


def intended(found: Iterable[Difference], varying: Sequence[str]) -> list[Difference]:
    """The differences in the categories declared as varying."""
    return [d for d in found if d.category in varying]


def unintended(found: Iterable[Difference], varying: Sequence[str]) -> list[Difference]:
    """The differences nobody declared: conditions that changed under the comparison."""
    return [d for d in found if d.category not in varying]


def describe(found: Sequence[Difference], varying: Sequence[str]) -> str:
    """What the declared variable did: "Django 5.1.4 → 5.2.8", or that it did not change."""
    meant = intended(found, varying)
    if not meant:
        return f"no difference in {' or '.join(varying)}"
    order = {name: i for i, name in enumerate(CATEGORIES)}

    def rank(d: Difference) -> tuple[int, str, bool, bool, str]:
        # Versions that changed before packages added or removed; frameworks first.
        added = d.reference is None or d.changed is None
        known = canonical(d.package or "") not in DISPLAY_NAMES
        return (order[d.category], d.scope or "", added, known, d.field)

    ordered = sorted(meant, key=rank)
    seen: dict[str, None] = {}
    for difference in ordered:
        seen.setdefault(difference.change(), None)
    return ", ".join(seen)


def parse_varying(text: str) -> tuple[str, ...]:
    """Read "packages" or "packages,python"; raise ValueError naming what is unknown."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in CATEGORIES]
    if unknown or not names:
        raise ValueError(
            f"unknown --varying {', '.join(unknown) or text!r}; give one or more of "
            f"{', '.join(CATEGORIES)}, comma-separated"
        )
    return names
