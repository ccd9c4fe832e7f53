"""Parse the service's server-sent events in tests."""

from __future__ import annotations

import json
from typing import Any


def parse_events(raw: bytes) -> list[tuple[str, Any]]:
    """Split an event stream into (event name, decoded data) pairs; unnamed events are "data"."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name, data = "data", None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
        events.append((name, data))
    return events
