"""Read a service's server-sent events with the time each one arrived.

Through the suite's one event-stream reader (bench.locustfiles.sse), with the contract's
own strictness on top: an event carries `event` and `data` fields only, and its data is
JSON.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.locustfiles.sse import Event as ReadEvent
from bench.locustfiles.sse import EventReader, read_events


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

    def gaps_of(self, interval_s: float) -> int:
        """How many times the events paused for half an upstream interval or more.

        A buffered stream arrives at once (no such pause); a relayed one keeps the
        upstream's gaps. Counted rather than timed from first to last: on a loaded machine
        a first delta came 148 ms late while the last came on time, which shrank the
        first-to-last spread below half of the stream's.
        """
        times = [event.at for event in self.events]
        return sum(1 for a, b in itertools.pairwise(times) if b - a >= interval_s / 2)


# The contract's events carry these fields only; anything else is a service's fault.
CONTRACT_FIELDS = ("event", "data")


def _checked(line: str) -> str:
    if line and line.partition(":")[0] not in CONTRACT_FIELDS:
        raise AssertionError(f"unexpected line in the event stream: {line!r}")
    return line


def _decoded(event: ReadEvent) -> Event:
    return Event(event.name, json.loads(event.data), event.at)


def parse_block(lines: list[str], at: float) -> Event:
    """Decode one event block (its lines without the blank line that ends it)."""
    reader = EventReader()
    for line in lines:
        reader.feed(_checked(line), at)
    event = reader.feed("", at)
    if event is None:
        raise AssertionError(f"an event block without data: {lines!r}")
    return _decoded(event)


def parse_events(raw: str | bytes) -> list[Event]:
    """Decode a whole event stream read at once (all events timed at 0)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    lines = [_checked(line) for line in text.splitlines()]
    return [_decoded(event) for event in read_events(lines)]


def post_stream(
    client: httpx.Client, body: object, headers: dict[str, str] | None = None
) -> StreamAnswer:
    """POST /complete/stream; time each event by the arrival of its data."""
    started = time.perf_counter()
    with client.stream("POST", "/complete/stream", json=body, headers=headers) as response:
        answer = StreamAnswer(response.status_code, response.headers)
        if response.status_code != 200:
            answer.body = response.read()
            return answer
        reader, pending = EventReader(), list[str]()
        for line in response.iter_lines():
            event = reader.feed(_checked(line), time.perf_counter() - started)
            pending = [*pending, line] if line else []
            if event is not None:
                answer.events.append(_decoded(event))
        answer.unterminated = pending
    return answer
