"""The streaming check the service tests share: a relayed stream keeps the upstream's
gaps, a buffered one has none (pure: events with set arrival times)."""

from __future__ import annotations

import httpx

from tests.services.sse import Event, StreamAnswer


def _answer(times: list[float]) -> StreamAnswer:
    events = [Event("message", {"delta": "x"}, at) for at in times]
    return StreamAnswer(200, httpx.Headers(), events)


def test_a_buffered_stream_has_no_gap_and_a_stalled_start_keeps_the_rest() -> None:
    assert _answer([1.27] * 10).gaps_of(0.03) == 0  # everything at once
    # Beside the whole suite a first delta came 148 ms late and the last on time (only
    # those two were recorded): here, the first five together, the other five 30 ms apart.
    stalled = [1.148] * 5 + [1.15 + 0.03 * k for k in range(5)]
    assert stalled[-1] - stalled[0] < 0.5 * 9 * 0.03  # the old end-to-end rule failed it
    assert _answer(stalled).gaps_of(0.03) >= 3
    assert _answer([1.0 + 0.03 * k for k in range(10)]).gaps_of(0.03) == 9
