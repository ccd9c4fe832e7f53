"""Read a service's server-sent events with the time each one arrived."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    """One event: its name ("message" when unnamed), decoded data, arrival (s after the request)."""

    name: str
    data: Any
    at: float


@dataclass
class StreamAnswer:
    """What POST /complete/stream answered: status, headers, and events or a plain body."""

    status: int
    headers: httpx.Headers
    events: list[Event] = field(default_factory=list)
    body: bytes = b""
    unterminated: list[str] = field(default_factory=list)  # lines after the last blank line

    @property
    def deltas(self) -> list[str]:
        return [event.data["delta"] for event in self.events if event.name == "message"]

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]


def parse_block(lines: list[str], at: float) -> Event:
    """Decode one event block; only the `event` and `data` fields are part of the contract."""
    name, data = "message", None
    for line in lines:
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data = json.loads(value)
        else:
            raise AssertionError(f"unexpected line in the event stream: {line!r}")
    return Event(name, data, at)


def parse_events(raw: str | bytes) -> list[Event]:
    """Decode a whole event stream read at once (all events timed at 0)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    blocks = [block for block in text.split("\n\n") if block]
    return [parse_block(block.split("\n"), 0.0) for block in blocks]


def post_stream(client: httpx.Client, body: object) -> StreamAnswer:
    """POST /complete/stream; time each event by the arrival of its first line."""
    started = time.perf_counter()
    with client.stream("POST", "/complete/stream", json=body) as response:
        answer = StreamAnswer(response.status_code, response.headers)
        if response.status_code != 200:
            answer.body = response.read()
            return answer
        lines: list[str] = []
        first_at = 0.0
        for line in response.iter_lines():
            if line:
                if not lines:
                    first_at = time.perf_counter() - started
                lines.append(line)
            elif lines:
                answer.events.append(parse_block(lines, first_at))
                lines = []
        answer.unterminated = lines
    return answer
