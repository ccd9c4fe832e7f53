"""What happens inside a worker process, sampled in the background.

Under a WSGI worker (sync, gthread, gevent) gunicorn's `post_worker_init` hook starts a
sampler thread (gunicorn_conf.py). Every second it
publishes the GC pauses that the `gc` callback collected and the worker's CPU time,
resident memory and threads. In a gevent worker the sampler is a greenlet (threading is
monkey-patched): it then wakes every LAG_INTERVAL_S and measures how late, which is how
long the hub was kept from switching greenlets, by a greenlet that computed or called
something that does not yield. A gthread worker also reports its configured threads.

Under an ASGI server the middleware starts a sampler task on the event loop with the
first request (Django has no lifespan hook): every LAG_INTERVAL_S it measures how late
its own sleep wakes, the event-loop lag, and every second publishes the same GC pauses
and process figures. Its `worker_process_threads` counts the threads that Django's
sync_to_async hops hold: one per request in a hop (asgiref gives every request a
one-thread executor of its own; AnyIO's thread limiter is not involved).

The GC callback only appends to a deque: it may run inside any allocation, also one made
while a prometheus_client value holds its (non-reentrant) lock, so it never touches one.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
from collections import deque
from time import perf_counter
from typing import Any

import psutil

from drf_app.metrics.series import Series

# A wake-up costs the worker 50 to 150 us of CPU, cold caches included (measured with
# schedstat: a gevent greenlet at 10 Hz cost 1.6 ms per second), so 4 a second, not 10.
# A block of D seconds then shows as a lag between D - 0.25 s and D.
LAG_INTERVAL_S = 0.25
# Process figures and GC pauses are published every second.
PUBLISH_INTERVAL_S = 1.0
# The max gauge covers the current window and the one before: 30 to 60 s.
MAX_WINDOW_S = 30.0


class WindowMax:
    """The largest value of the current window and of the one before it."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._start = perf_counter()
        self._current = 0.0
        self._previous = 0.0

    def add(self, value: float, now: float) -> float:
        """Record a value; return the largest of the last one to two windows."""
        if now - self._start >= self._window_s:
            skipped = now - self._start >= 2 * self._window_s
            self._previous = 0.0 if skipped else self._current
            self._current = 0.0
            self._start = now
        self._current = max(self._current, value)
        return max(self._current, self._previous)


class GCPauses:
    """Collect the duration of every garbage collection, by generation."""

    def __init__(self) -> None:
        self.pauses: deque[tuple[int, float]] = deque(maxlen=100_000)
        self._started = 0.0

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        # Collections never overlap: the interpreter runs one at a time.
        if phase == "start":
            self._started = perf_counter()
        else:
            self.pauses.append((info["generation"], perf_counter() - self._started))

    def publish(self, series: Series) -> None:
        """Move the pauses collected so far into the histogram."""
        pauses = self.pauses
        while pauses:
            generation, seconds = pauses.popleft()
            series.gc_pauses.labels(str(generation)).observe(seconds)


class ProcessFigures:
    """This worker's CPU time, resident memory and threads."""

    def __init__(self) -> None:
        self._process = psutil.Process()

    def publish(self, series: Series) -> None:
        # os.times() is one system call; psutil reads and parses a /proc file for it.
        times = os.times()
        series.cpu_seconds.set(times.user + times.system)
        series.resident_memory.set(self._process.memory_info().rss)
        series.threads.set(threading.active_count())


def gevent_patched() -> bool:
    """Whether gevent has patched this process (gunicorn's gevent worker does, at fork)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("time"))


class WorkerSampler:
    """The background loop of one worker: hub lag (gevent), GC pauses, process figures."""

    def __init__(self, series: Series, *, hub_lag: bool) -> None:
        self.series = series
        self.hub_lag = hub_lag
        self.gc = GCPauses()
        self.process = ProcessFigures()
        self.lag_max = WindowMax(MAX_WINDOW_S)

    def run(self) -> None:
        interval = LAG_INTERVAL_S if self.hub_lag else PUBLISH_INTERVAL_S
        rounds = round(PUBLISH_INTERVAL_S / interval)
        tick = 0
        while True:
            due = perf_counter() + interval
            # Under gevent this is gevent.sleep: the greenlet waits on the hub's timer.
            time.sleep(interval)
            now = perf_counter()
            if self.hub_lag:
                lag = max(now - due, 0.0)
                self.series.hub_lag.observe(lag)
                self.series.hub_lag_max.set(self.lag_max.add(lag, now))
            tick += 1
            if tick % rounds == 0:
                self.gc.publish(self.series)
                self.process.publish(self.series)


def start_worker_sampler(series: Series, worker_class: str, threads: int) -> None:
    """Start the sampler of this worker (a greenlet under gevent, a thread otherwise)."""
    if worker_class == "ThreadWorker":
        series.threads_configured.set(threads)
        series.gthread_busy = series.threads_busy
    sampler = WorkerSampler(series, hub_lag=gevent_patched())
    sampler.process.publish(series)
    gc.callbacks.append(sampler.gc.callback)
    threading.Thread(target=sampler.run, name="metrics-sampler", daemon=True).start()


class LoopSampler:
    """The task that samples the event loop and the process (ASGI servers)."""

    def __init__(self, series: Series) -> None:
        self.series = series
        self.gc = GCPauses()
        self.process = ProcessFigures()
        self.lag_max = WindowMax(MAX_WINDOW_S)

    async def run(self) -> None:
        rounds = round(PUBLISH_INTERVAL_S / LAG_INTERVAL_S)
        tick = 0
        while True:
            due = perf_counter() + LAG_INTERVAL_S
            await asyncio.sleep(LAG_INTERVAL_S)
            now = perf_counter()
            lag = max(now - due, 0.0)
            self.series.loop_lag.observe(lag)
            self.series.loop_lag_max.set(self.lag_max.add(lag, now))
            tick += 1
            if tick % rounds == 0:
                self.gc.publish(self.series)
                self.process.publish(self.series)


# The sampler task of each running loop (one per process under uvicorn), kept referenced
# so that it is not garbage-collected while it sleeps.
_loop_samplers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}


def ensure_loop_sampler(series: Series) -> None:
    """Start the sampler on the running loop unless it runs there already."""
    loop = asyncio.get_running_loop()
    if loop in _loop_samplers:
        return
    sampler = LoopSampler(series)
    sampler.process.publish(series)
    gc.callbacks.append(sampler.gc.callback)
    _loop_samplers[loop] = loop.create_task(sampler.run(), name="metrics-sampler")
