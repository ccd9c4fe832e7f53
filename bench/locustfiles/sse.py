"""The suite's one reader of server-sent events, and the stream user's timing on top of it.

`EventReader` follows the event-stream format of the HTML standard (the part that the
contract uses): `field: value` lines, a leading space stripped from the value, lines
starting with ":" ignored as comments, several `data:` lines of one event joined with
"\n", and an event dispatched by the blank line that ends it (an unterminated event at
the end of the body is dropped). Locust's stream user, the runner's verification and
the tests all read streams through it.

The contract's events are `data: {"delta": "..."}` per chunk, then `event: done` +
`data: {"tokens_used": N}`, or `event: error` + `data: {"detail": ...}` on a failure
after the stream started.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One dispatched event: its type ("message" when unnamed), its data, when it arrived."""

    name: str
    data: str
    at: float = 0.0

    def json(self) -> Any:
        """The data decoded as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.data)


class EventReader:
    """Turns lines of an event stream into events, one line at a time."""

    def __init__(self) -> None:
        self._name = ""
        self._data: list[str] = []
        self._at = 0.0

    def feed(self, line: bytes | str, at: float = 0.0) -> Event | None:
        """Take one line (with or without its line ending); return an event it completes."""
        text = line.decode(errors="replace") if isinstance(line, bytes) else line
        text = text.rstrip("\r\n")
        if not text:
            return self._dispatch()
        if text.startswith(":"):
            return None
        name, _, value = text.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._name = value
        elif name == "data":
            self._data.append(value)
            # The text is complete with its data line; the blank line only confirms it.
            self._at = at
        return None

    def _dispatch(self) -> Event | None:
        name, data = self._name or "message", self._data
        self._name, self._data = "", []
        if not data:
            return None
        return Event(name, "\n".join(data), self._at)


def parse_events(body: bytes | str) -> list[Event]:
    """Return every complete event of a whole body."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    return list(read_events(text.splitlines()))


def read_events(lines: Iterable[bytes | str]) -> Iterable[Event]:
    """Yield the events of a sequence of lines as each one completes."""
    reader = EventReader()
    for line in lines:
        event = reader.feed(line)
        if event is not None:
            yield event
    # A final event without its blank line is incomplete: the standard drops it.


class StreamFailure(Exception):
    """A stream that did not end with `event: done`."""


class StreamEventError(StreamFailure):
    """The service sent `event: error`."""


class StreamIncomplete(StreamFailure):
    """The body ended without `event: done`."""


class StreamMalformed(StreamFailure):
    """A `data:` line was not the JSON object the contract promises."""


@dataclass
class StreamTiming:
    """What one stream delivered, on the `time.perf_counter` clock."""

    token_times: list[float] = field(default_factory=list)
    end: float = 0.0
    n_bytes: int = 0
    error: Exception | None = None
    tokens_used: int | None = None  # from the closing `done` event


@dataclass(frozen=True)
class StreamFigures:
    """The per-stream figures of docs/metrics.md, in milliseconds from `sent`."""

    e2e_ms: float
    ttft_ms: float | None
    tpot_ms: float | None
    itl_ms: list[float]

    def late_by(self, lateness_ms: float) -> StreamFigures:
        """The figures of a request sent late: E2E and TTFT count from its intended time."""
        late = max(lateness_ms, 0.0)
        ttft = None if self.ttft_ms is None else self.ttft_ms + late
        return StreamFigures(self.e2e_ms + late, ttft, self.tpot_ms, self.itl_ms)

    @classmethod
    def of(cls, sent: float, timing: StreamTiming) -> StreamFigures:
        times = timing.token_times
        gaps = [(b - a) * 1000.0 for a, b in itertools.pairwise(times)]
        return cls(
            e2e_ms=(timing.end - sent) * 1000.0,
            ttft_ms=(times[0] - sent) * 1000.0 if times else None,
            tpot_ms=(times[-1] - times[0]) * 1000.0 / (len(times) - 1) if len(times) > 1 else None,
            itl_ms=gaps,
        )


def read_stream(
    readline: Callable[[], bytes],
    clock: Callable[[], float] = time.perf_counter,
    stop_after: int | None = None,
) -> StreamTiming:
    """Read events until the body ends; never raises for what the network or server did.

    Args:
        readline: returns the next line including its b"\\n", or b"" at the end of the body.
        clock: the clock that timed the request's start.
        stop_after: stop reading once this many deltas arrived (a client that hangs up);
            reaching it, or `done` before it, is a success.
    """
    timing = StreamTiming()
    reader = EventReader()
    done = False
    while timing.error is None and not (stop_after and len(timing.token_times) >= stop_after):
        try:
            raw = readline()
        except Exception as exc:  # whatever the connection raised is the failure's kind
            timing.error = exc
            break
        timing.end = clock()
        if not raw:
            break
        timing.n_bytes += len(raw)
        event = reader.feed(raw, timing.end)
        # After `done`, keep reading: E2E ends at the body's last byte.
        if event is not None and not done:
            done = _take(event, timing)
    stopped = bool(stop_after) and len(timing.token_times) >= (stop_after or 0)
    if timing.error is None and not done and not stopped:
        timing.error = StreamIncomplete(f"the body ended after {len(timing.token_times)} deltas")
    return timing


def _take(event: Event, timing: StreamTiming) -> bool:
    """Account for one event of the contract; return True when it is the closing `done`."""
    if event.name == "done":
        timing.tokens_used = _tokens_used(event.data)
        return True
    if event.name == "error":
        detail = _detail(event.data)
        timing.error = StreamEventError(detail) if detail else StreamMalformed(event.data[:200])
        return False
    text = _delta(event.data)
    if text is None:
        timing.error = StreamMalformed(event.data[:200])
    elif text:  # an empty delta is not a token (docs/metrics.md: TTFT)
        timing.token_times.append(event.at)
    return False


def _detail(value: str) -> str | None:
    """The `detail` of an error event's data, or None when the data is not the contract's."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or "detail" not in data:
        return None
    return str(data["detail"])


def _tokens_used(value: str) -> int | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    used = data.get("tokens_used") if isinstance(data, dict) else None
    return used if isinstance(used, int) else None


def _delta(value: str) -> str | None:
    """Return the text of a delta event ("" when empty), or None when it is not one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("delta"), str):
        return None
    text: str = data["delta"]
    return text


@dataclass(frozen=True)
class StreamContext:
    """What the plugin needs of one stream beside its E2E: its token figures (ms, from
    the request's intended send in open loop) and its moments (Unix s), for its
    objectives and its row in the request file."""

    ttft_ms: float | None
    itl_max_ms: float | None
    tpot_ms: float | None
    tokens: int
    first_byte_at: float | None
    first_token_at: float | None
    last_token_at: float | None

    def figures(self) -> tuple[float | None, float | None, float | None]:
        """TTFT, the longest gap between tokens, TPOT: as RequestFigures takes them."""
        return self.ttft_ms, self.itl_max_ms, self.tpot_ms

    @classmethod
    def of(
        cls, figures: StreamFigures, timing: StreamTiming, sent: float, started_at: float,
        headers_at: float | None,
    ) -> StreamContext:  # fmt: skip
        """From a stream's figures and its timing (perf_counter from `sent`, which was the
        wall-clock `started_at`)."""

        def wall(at: float | None) -> float | None:
            return None if at is None else started_at + (at - sent)

        times = timing.token_times
        return cls(
            figures.ttft_ms,
            max(figures.itl_ms) if figures.itl_ms else None,
            figures.tpot_ms,
            len(times),
            wall(headers_at),
            wall(times[0]) if times else None,
            wall(times[-1]) if times else None,
        )
