"""The one error of a plan or its options that cannot work, and how a rule states it.

The rules live on the settings objects themselves (Plan, MockSettings, CapacityPlan,
Options and the flag groups' settings), so that every way of building one, the command
line's or a demo's, meets the same rules. Their messages name the flags of `bench`,
since that is where people give these settings; the command line prints one as a single
line with exit status 2.
"""

from __future__ import annotations


class PlanError(ValueError):
    """What was asked cannot work: one line saying what and how to fix it."""


def require(ok: object, message: str) -> None:
    """Raise PlanError(message) unless `ok` holds."""
    if not ok:
        raise PlanError(message)
