"""Upstream faults (forced by the mock's prompt marker) and what the service must answer."""

from __future__ import annotations

# fault -> status of POST /complete
COMPLETE_FAULTS = [
    ("429", 503),
    ("500", 502),
    ("503", 502),
    ("malformed", 502),
    ("disconnect", 502),
]
# fault -> status of POST /complete/stream, when the fault comes before the stream starts
STREAM_START_FAULTS = [("429", 503), ("500", 502)]
# faults after the stream started: 200, some deltas, then `event: error`
STREAM_MIDWAY_FAULTS = ["malformed", "disconnect"]

# Upstream timeout used by the stall tests, seconds.
SHORT_TIMEOUT_S = 0.5


def faulty(fault: str, max_tokens: int = 8) -> dict[str, object]:
    """Return a request body whose prompt makes the mock inject `fault`."""
    return {"prompt": f"hello [mock-error:{fault}]", "max_tokens": max_tokens}
