"""Scrape a target's /metrics every second of a window (its services' METRICS=1).

Just after each whole second a scrape of `<target>/metrics` starts in a thread of its
own, so that one that waits (a blocked event loop answers it only when it runs again)
never delays the next: it is kept, at the moment its answer came, when that is within
TIMEOUT_S, else counted as missed. A scrape never slows or fails the run; the point says
how many it lacks. The series are cumulative, so the scrapes that came still give the
window's lag, pauses and times. The scrapes become the point's `telemetry`
(bench.results.telemetry).
"""

from __future__ import annotations

import threading
import time

import httpx

from bench.results import telemetry
from bench.results.model import Telemetry

TIMEOUT_S = 30.0  # a scrape takes a few ms; one that waits longer than this is missed
# At the end, how long the scrapes still waiting may take: a blocked event loop answers
# them after every request queued before them (10 s behind 20 users of 100-ms blocks).
FINISH_S = 15.0
AFTER_S = 0.1  # just after each whole second


class Scraper:
    """Scrapes from start() to stop(); `result(start, end)` summarises a window."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/metrics"
        self.scrapes: list[telemetry.Scrape] = []
        self.missed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=TIMEOUT_S)
        self._pending: list[threading.Thread] = []

    def __enter__(self) -> Scraper:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        # A scrape still waiting (behind a blocked loop) holds the window's last figures.
        deadline = time.monotonic() + FINISH_S
        for thread in self._pending:
            thread.join(max(deadline - time.monotonic(), 0.0))
        self._client.close()

    def _run(self) -> None:
        self._spawn()
        while not self._stop.wait(1.0 - time.time() % 1.0 + AFTER_S):
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._once, daemon=True)
        thread.start()
        self._pending = [t for t in self._pending if t.is_alive()] + [thread]

    def _once(self) -> None:
        try:
            answer = self._client.get(self.url)
        except (httpx.HTTPError, RuntimeError):  # RuntimeError: the client was closed
            with self._lock:
                self.missed += 1
            return
        scraped = telemetry.read(answer.text, time.time()) if answer.status_code == 200 else None
        with self._lock:
            if scraped is None:
                self.missed += 1
            else:
                self.scrapes.append(scraped)

    def so_far(self) -> Telemetry | None:
        """The series from the first scrape to now (the live view draws them as they come)."""
        with self._lock:
            scrapes, missed = list(self.scrapes), self.missed
        if len(scrapes) < 2:
            return None
        return telemetry.summarize(scrapes, min(s.at for s in scrapes), time.time(), missed)

    def result(self, start: float, end: float) -> Telemetry | None:
        """The window's telemetry; None when the target answered no scrape at all."""
        with self._lock:
            scrapes, missed = list(self.scrapes), self.missed
        if not scrapes:
            return None
        return telemetry.summarize(scrapes, start, end, missed)
