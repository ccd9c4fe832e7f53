"""Watch the mock's /stats during a measurement: requests in flight and answers completed.

The mock counts what it serves; sampling it every quarter of a second gives the
requests in flight at the upstream, the evidence that a target's concurrency limit is
full (its threads, its pool), and the answers completed at any moment of a window.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass

import httpx

INTERVAL_S = 0.25


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
