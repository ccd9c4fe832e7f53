"""Which cores this process may use, and pinning a child to some of them.

Linux has `os.sched_getaffinity` / `os.sched_setaffinity`; macOS and other systems do
not. There every core counts as usable, nothing is pinned, and the run records that
its server and load shared the machine's cores (`pinning_note`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection


def can_pin() -> bool:
    """Tell whether this system can pin a process to cores."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def usable_cpus() -> list[int]:
    """The cores this process may run on (every core where affinity is unknown)."""
    if can_pin():
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def pinning(cpus: Collection[int]) -> Callable[[], None] | None:
    """Return a preexec function that pins the child to `cpus`, or None where impossible."""
    if not can_pin() or not cpus:
        return None
    cpu_set = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, cpu_set)

    return pin


def pinning_note() -> str | None:
    """Say what it means for the figures when nothing could be pinned (None when pinned)."""
    if can_pin():
        return None
    return (
        "not pinned: this system has no sched_setaffinity, so the server, the load "
        "generator and the mock shared every core; figures are not comparable to pinned runs"
    )
