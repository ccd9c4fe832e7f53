"""Which cores this process may use, pinning a child to some of them, and its open-file limit.

Linux has `os.sched_getaffinity` / `os.sched_setaffinity`; macOS and other systems do
not. There every core counts as usable, nothing is pinned, and the run records that
its server and load shared the machine's cores (`pinning_note`).

Every child of a run (server, Locust, mock) also gets its soft open-file limit raised
to the hard one: thousands of requests in flight need thousands of sockets.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Collection


def can_pin() -> bool:
    """Tell whether this system can pin a process to cores."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def usable_cpus() -> list[int]:
    """The cores this process may run on (every core where affinity is unknown)."""
    if can_pin():
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def nofile_limits() -> tuple[int, int]:
    """(soft, hard) open-file limits of this process; the hard one is what children get."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard


def child_nofile() -> int:
    """The open-file limit every child of the run gets (the hard limit, when finite)."""
    soft, hard = nofile_limits()
    return hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def child_setup(cpus: Collection[int]) -> Callable[[], None]:
    """Return a preexec function: raise the open-file limit, pin to `cpus` where possible."""
    cpu_set = set(cpus)
    pin = can_pin() and bool(cpu_set)

    def setup() -> None:
        _raise_nofile()
        if pin:
            os.sched_setaffinity(0, cpu_set)

    return setup


def pinning_note() -> str | None:
    """Say what it means for the figures when nothing could be pinned (None when pinned)."""
    if can_pin():
        return None
    return (
        "not pinned: this system has no sched_setaffinity, so the server, the load "
        "generator and the mock shared every core; figures are not comparable to pinned runs"
    )
