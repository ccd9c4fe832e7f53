"""Read a contract event stream line by line and time every event when it arrives.

The contract's events are `data: {"delta": "..."}` per chunk, then `event: done` +
`data: {"tokens_used": N}`, or `event: error` + `data: {"detail": ...}` on a failure
after the stream started. Each `data:` line is one event (the contract never splits
an event's data over several lines).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class StreamFigures:
    """The per-stream figures of METRICS.md, in milliseconds from `sent`."""

    e2e_ms: float
    ttft_ms: float | None
    tpot_ms: float | None
    itl_ms: list[float]

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
    readline: Callable[[], bytes], clock: Callable[[], float] = time.perf_counter
) -> StreamTiming:
    """Read events until the body ends; never raises for what the network or server did.

    Args:
        readline: returns the next line including its b"\\n", or b"" at the end of the body.
        clock: the clock that timed the request's start.
    """
    timing = StreamTiming()
    event = ""
    done = False
    while True:
        try:
            raw = readline()
        except Exception as exc:  # whatever the connection raised is the failure's kind
            timing.error = exc
            break
        now = clock()
        timing.end = now
        if not raw:
            break
        timing.n_bytes += len(raw)
        line = raw.rstrip(b"\r\n")
        if not line:
            event = ""  # a blank line ends an event
            continue
        name, _, value = line.partition(b":")
        value = value.removeprefix(b" ")
        if name == b"event":
            event = value.decode(errors="replace")
        elif name == b"data" and not done:
            if event == "done":
                done = True  # keep reading: E2E ends at the body's last byte
            elif event == "error":
                timing.error = StreamEventError(value.decode(errors="replace"))
                break
            else:
                text = _delta(value)
                if text is None:
                    timing.error = StreamMalformed(value[:200].decode(errors="replace"))
                    break
                if text:  # an empty delta is not a token (METRICS.md: TTFT)
                    timing.token_times.append(now)
    if timing.error is None and not done:
        timing.error = StreamIncomplete(f"the body ended after {len(timing.token_times)} deltas")
    return timing


def _delta(value: bytes) -> str | None:
    """Return the text of a delta event ("" when empty), or None when it is not one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("delta"), str):
        return None
    text: str = data["delta"]
    return text
