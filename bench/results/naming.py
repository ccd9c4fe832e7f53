"""One naming rule for a target and its variants: a row names what varies in its group.

The same target can be measured several ways in one run: once per upstream client
(`--clients`: points share the catalog name and differ by `client`), or at several
package sets (a spec's pins, "drf-uvicorn@django==5.1.*"). A table's row, a chart's
line and a lesson's sentence name a point (or a level, or a capacity search) by what
sets it apart from the others of its group:

- the target's name, as the run recorded it (pins included, as the spec wrote them);
- plus its upstream client, "fastapi-uvicorn (httpx)", when the group holds more than
  one client (the "[httpx]" a spec may carry in the name is then said this way instead).

`label(member, group)` is the one function; anything with a `target` and a `client`
(Point, Level, Repetitions, Capacity) is a member. Pure, so reports, comparisons and
the demos' lessons call it alike: `label(point, points)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

DEFAULT_CLIENT = "default"


class Member(Protocol):
    """What a name is made of: the target as recorded and its upstream client."""

    @property
    def target(self) -> str: ...

    @property
    def client(self) -> str: ...


def clients_differ(group: Iterable[Member]) -> bool:
    """Whether the group ran more than one upstream client."""
    return len({member.client for member in group}) > 1


def _client_name(client: str) -> str:
    return "default client" if client == DEFAULT_CLIENT else client


def label(member: Member, group: Iterable[Member]) -> str:
    """The member's name within its group: the target, plus its client when clients differ."""
    if not clients_differ(group):
        return member.target
    # A spec names its client right after the catalog name ("fastapi-uvicorn[httpx]"):
    # said once, at the end, like every other row of the group.
    target = member.target.replace(f"[{member.client}]", "", 1)
    return f"{target} ({_client_name(member.client)})"


def labels(group: Iterable[Member]) -> list[str]:
    """Every member's name within the group, in order."""
    members = list(group)
    return [label(member, members) for member in members]
