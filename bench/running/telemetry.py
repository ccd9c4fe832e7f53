"""Scrape a target's /metrics every second of a window (its services' METRICS=1).

A thread asks `<target>/metrics` just after each whole second, with a short timeout: a
scrape that fails or comes late is counted as missed and never slows or fails the run
(the point then says how many it lacks). The scrapes become the point's `telemetry`
(bench.results.telemetry).
"""

from __future__ import annotations

import threading
import time

import httpx

from bench.results import telemetry
from bench.results.model import Telemetry

TIMEOUT_S = 0.5  # a scrape takes a few ms; one slower than this is late, and dropped
AFTER_S = 0.1  # just after each whole second


class Scraper:
    """Scrapes from start() to stop(); `result(start, end)` summarises a window."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/metrics"
        self.scrapes: list[telemetry.Scrape] = []
        self.missed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_S) as client:
            self._once(client)
            while not self._stop.wait(1.0 - time.time() % 1.0 + AFTER_S):
                self._once(client)

    def _once(self, client: httpx.Client) -> None:
        at = time.time()
        try:
            answer = client.get(self.url)
        except httpx.HTTPError:
            self.missed += 1
            return
        if answer.status_code != 200:
            self.missed += 1
            return
        self.scrapes.append(telemetry.read(answer.text, at))

    def result(self, start: float, end: float) -> Telemetry | None:
        """The window's telemetry; None when the target answered no scrape at all."""
        if not self.scrapes:
            return None
        return telemetry.summarize(self.scrapes, start, end, self.missed)
