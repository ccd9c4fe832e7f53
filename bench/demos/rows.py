"""The naming rule for a row of a demo's table, chart or lesson: a target and its client.

A row is one target as it ran: its catalog name with its variant (`{workers=2}`,
`@pins`), and, when the service called its upstream through another client than its
own default, that client, named after it: "fastapi-uvicorn (httpx)". The client is the
point's `client` field; results written before it existed keep it in the target's name
("fastapi-uvicorn[httpx]"), which is read the same way.
"""

from __future__ import annotations

import re

from bench.results.model import Point

DEFAULT_CLIENT = "default"
_SPEC = re.compile(r"^(?P<name>[^\[]+?)(\[(?P<client>[^\]]*)\])?(?P<rest>[{@].*)?$")


def row_name(point: Point) -> str:
    """The row's name: "fastapi-uvicorn", "flask-gunicorn-sync{workers=2}",
    "fastapi-uvicorn (httpx)"."""
    return name(point.target, point.client)


def name(target: str, client: str = DEFAULT_CLIENT) -> str:
    """A target spec and its client as a row's name (the client out of the brackets)."""
    parts = _SPEC.match(target)
    if parts is None:
        return target
    base = parts["name"] + (parts["rest"] or "")
    named = client if client != DEFAULT_CLIENT else parts["client"]
    return f"{base} ({named})" if named else base
