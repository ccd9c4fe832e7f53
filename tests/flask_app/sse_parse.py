"""Read the service's server-sent events back in tests."""

from __future__ import annotations

import json
from typing import Any


def parse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Split an event stream into (event name, data) pairs; unnamed events are "message"."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name, data = "message", None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
        assert data is not None, f"event without data: {block!r}"
        events.append((name, data))
    return events
