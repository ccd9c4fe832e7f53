"""Watch the mock's /stats during a measurement: requests in flight and answers completed.

The mock counts what it serves; sampling it every quarter of a second gives the
requests in flight at the upstream, the evidence that a target's concurrency limit is
full (its threads, its pool), and the answers completed at any moment of a window.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

INTERVAL_S = 0.25


def stats(mock_base: str | None) -> dict[str, Any] | None:
    """The mock's /stats now, or None without a mock to ask (or no answer)."""
    if mock_base is None:
        return None
    try:
        document: dict[str, Any] = httpx.get(f"{mock_base}/stats", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    return document


def reset(mock_base: str | None) -> None:
    """Zero the mock's counters (its requests in flight stay), when there is a mock."""
    if mock_base is not None:
        # Without an answer the deltas still hold; only the largest cancel is then wider.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{mock_base}/stats/reset", timeout=5)


@dataclass(frozen=True)
class MockCounts:
    """What the mock counted between two /stats: the figures a point checks."""

    completed: int  # answers finished
    accepted: int  # chat requests that entered service
    injected: dict[str, int]  # faults injected, by kind

    @classmethod
    def between(cls, before: dict[str, Any], after: dict[str, Any]) -> MockCounts:
        errors_before = before.get("errors") or {}
        injected = {
            kind: int(n) - int(errors_before.get(kind, 0))
            for kind, n in (after.get("errors") or {}).items()
        }
        return cls(
            completed=int(after["completed"]) - int(before["completed"]),
            accepted=int(after["requests"]) - int(before["requests"]),
            injected={kind: n for kind, n in injected.items() if n},
        )


@dataclass(frozen=True)
class Sample:
    at: float  # Unix seconds
    in_flight: int
    completed: int


class MockWatch:
    """Polls `<mock>/stats` in a thread from start() to stop() (nothing without a mock)."""

    def __init__(self, mock_base: str | None, interval_s: float = INTERVAL_S) -> None:
        self.mock_base = mock_base
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=2.0)

    def __enter__(self) -> MockWatch:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def poll(self) -> Sample | None:
        """Read /stats once now; None when there is no mock to ask."""
        if self.mock_base is None:
            return None
        try:
            stats = self._client.get(f"{self.mock_base}/stats").json()
        except (httpx.HTTPError, ValueError):
            return None
        sample = Sample(time.time(), int(stats["in_flight"]), int(stats["completed"]))
        self.samples.append(sample)
        return sample

    def start(self) -> None:
        if self.mock_base is None:
            return
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._client.close()

    def in_flight(self, start: float, end: float) -> tuple[float, int] | None:
        """Mean and peak of the requests in flight sampled in [start, end)."""
        chosen = [s.in_flight for s in self.samples if start <= s.at < end]
        if not chosen:
            return None
        return sum(chosen) / len(chosen), max(chosen)

    def completed(self, at: float) -> int | None:
        """Answers completed by `at`, from the nearest sample (None without samples)."""
        if not self.samples:
            return None
        times = [s.at for s in self.samples]
        index = bisect.bisect_left(times, at)
        nearby = self.samples[max(0, index - 1) : index + 1]
        return min(nearby, key=lambda s: abs(s.at - at)).completed
