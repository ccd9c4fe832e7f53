"""Probe a target's cheap endpoints while its upstream fails: does it still answer?

A health checker (a load balancer, Kubernetes) asks /health on a new connection every
few hundred milliseconds and gives up after a timeout. When the upstream stalls, a
server that spends a thread per stalled call can run out of threads and leave those
checks waiting; an event loop should not. `Prober` asks each path in turn, each time on
a new connection, and records when it asked, how long the answer took, and whether one
came (a timeout is recorded at the timeout, as a failure).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

PATHS = ("/health", "/hello")
INTERVAL_S = 0.2
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Probe:
    at: float  # Unix seconds when it was sent
    path: str
    latency_ms: float
    ok: bool


class Prober:
    """Asks `paths` of `base_url` in turn, from start() to stop(), in a thread."""

    def __init__(
        self,
        base_url: str,
        paths: tuple[str, ...] = PATHS,
        interval_s: float = INTERVAL_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.base_url = base_url
        self.paths = paths
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.probes: list[Probe] = []
        # One client (its set-up costs tens of milliseconds), but no connection kept
        # between probes: each opens its own, as a health checker does.
        self._client = httpx.Client(
            timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        # No join: a probe still waiting (up to its timeout) must not hold up the end of
        # the window; it finishes on its own and is left out.
        self._stop.set()

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            self.probes.append(self._ask(path))
            self._stop.wait(self.interval_s)
        self._client.close()

    def _ask(self, path: str) -> Probe:
        at, started = time.time(), time.perf_counter()
        try:
            answer = self._client.get(f"{self.base_url}{path}")
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        return Probe(at, path, (time.perf_counter() - started) * 1000, ok)
