"""What happens inside a worker process, sampled by one task on its event loop.

Every LAG_INTERVAL_S (0.25 s) the task sleeps and measures how late it wakes: the time the loop
spent on something else past the timer's due time, i.e. how long any request of this
worker would have waited for the loop then. It also reads AnyIO's default thread
limiter (the threadpool of `def` endpoints and sync stream iterators) from the loop it
belongs to. Every second it publishes the GC pauses that the `gc` callback collected and
the worker's CPU time, resident memory and threads.

The GC callback only appends to a deque: it may run inside any allocation, also one made
while a prometheus_client value holds its (non-reentrant) lock, so it never touches one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

import anyio.to_thread
import psutil

from fastapi_app.metrics.series import Series

# A wake-up costs the worker 50 to 150 us of CPU, cold caches included (measured with
# schedstat: a gevent greenlet at 10 Hz cost 1.6 ms per second), so 4 a second, not 10.
# A block of D seconds then shows as a lag between D - 0.25 s and D.
LAG_INTERVAL_S = 0.25
# Process figures and GC pauses are published every this many lag samples (1 s).
SLOW_EVERY = 4
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


class LoopSampler:
    """The task that samples the loop, the threadpool and the process."""

    def __init__(self, series: Series) -> None:
        self.series = series
        self.gc = GCPauses()
        self.process = ProcessFigures()
        self.lag_max = WindowMax(MAX_WINDOW_S)

    async def run(self) -> None:
        limiter = anyio.to_thread.current_default_thread_limiter()
        tick = 0
        while True:
            due = perf_counter() + LAG_INTERVAL_S
            await asyncio.sleep(LAG_INTERVAL_S)
            now = perf_counter()
            self._lag(max(now - due, 0.0), now)
            stats = limiter.statistics()
            self.series.threadpool_borrowed.set(stats.borrowed_tokens)
            self.series.threadpool_total.set(stats.total_tokens)
            self.series.threadpool_waiting.set(stats.tasks_waiting)
            tick += 1
            if tick % SLOW_EVERY == 0:
                self.gc.publish(self.series)
                self.process.publish(self.series)

    def _lag(self, lag: float, now: float) -> None:
        self.series.loop_lag.observe(lag)
        self.series.loop_lag_max.set(self.lag_max.add(lag, now))


@asynccontextmanager
async def sampling(series: Series) -> AsyncIterator[None]:
    """Run the sampler on the current loop (and the GC callback) for the block's length."""
    sampler = LoopSampler(series)
    sampler.process.publish(series)
    gc.callbacks.append(sampler.gc.callback)
    task = asyncio.create_task(sampler.run(), name="metrics-sampler")
    try:
        yield
    finally:
        gc.callbacks.remove(sampler.gc.callback)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
